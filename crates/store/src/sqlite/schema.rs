//! The schema, as embedded migrations numbered by `PRAGMA user_version`.
//!
//! Migration `n` (1-based) moves the database from version `n - 1` to `n`. Each runs in its
//! own `BEGIN IMMEDIATE` transaction together with the version bump, so a crash mid-upgrade
//! leaves the previous version intact. Never edit a migration that has shipped: append one.

use sqlx::{Connection, SqliteConnection};

use crate::{Result, StoreError};

use super::backend;

/// Every migration, oldest first.
const MIGRATIONS: &[&str] = &[V1, V_OAUTH, V_WALLET, V_EMAIL, V_TAKEDOWN];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1.
///
/// * Accounts get an integer `uid`; every per-account table is keyed by it (smaller keys and
///   indexes than repeating the DID) and cascades from `account` on delete.
/// * `block` is a rowid table with a unique `(uid, cid)` index: blocks are often larger than
///   the ~200 bytes where SQLite's WITHOUT ROWID layout stops paying off. `rev` is the revision
///   that (last) wrote the block, for `getRepo?since`.
/// * `record` is the record index; its foreign key to `block` makes "the index points at a
///   block that is gone" impossible, which is what lets `apply_commit` drop removed blocks with
///   one guarded `DELETE`.
/// * `blob.state`: 0 temporary (uploaded, never referenced), 1 referenced, 2 unreferenced
///   (was referenced, the last reference went; waits for `take_unreferenced_blobs`). Two
///   triggers on `record_blob` keep it in step with the references.
/// * `event.seq` is `AUTOINCREMENT`: SQLite then keeps the largest seq ever used in
///   `sqlite_sequence` even after old events are pruned, so a seq is never reused.
const V1: &str = r#"
CREATE TABLE account (
    uid                 INTEGER PRIMARY KEY,
    did                 TEXT NOT NULL UNIQUE,
    handle              TEXT NOT NULL,
    -- lowercased handle: handles are unique case-insensitively
    handle_key          TEXT NOT NULL UNIQUE,
    email               TEXT,
    -- lowercased email, NULL when there is no email
    email_key           TEXT UNIQUE,
    email_confirmed_at  TEXT,
    password_hash       TEXT,
    signing_key_sealed  BLOB NOT NULL,
    created_at          TEXT NOT NULL,
    status              TEXT NOT NULL
        CHECK (status IN ('active', 'deactivated', 'takendown', 'suspended', 'deleted')),
    deactivated_at      TEXT,
    invites_disabled    INTEGER NOT NULL DEFAULT 0,
    head_cid            BLOB,
    head_rev            TEXT,
    CHECK ((head_cid IS NULL) = (head_rev IS NULL))
) STRICT;

CREATE TABLE preference (
    uid   INTEGER PRIMARY KEY REFERENCES account(uid) ON DELETE CASCADE,
    json  TEXT NOT NULL
) STRICT;

CREATE TABLE app_password (
    uid            INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    privileged     INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (uid, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE refresh_token (
    id                 TEXT PRIMARY KEY,
    uid                INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    app_password_name  TEXT,
    expires_at         INTEGER NOT NULL,
    next_id            TEXT
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_token_uid ON refresh_token(uid);

CREATE TABLE invite_code (
    code         TEXT PRIMARY KEY,
    available    INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0,
    for_account  TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX invite_code_for_account ON invite_code(for_account);

CREATE TABLE invite_code_use (
    code     TEXT NOT NULL REFERENCES invite_code(code) ON DELETE CASCADE,
    used_by  TEXT NOT NULL,
    used_at  TEXT NOT NULL,
    PRIMARY KEY (code, used_by)
) STRICT, WITHOUT ROWID;

CREATE TABLE block (
    id     INTEGER PRIMARY KEY,
    uid    INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    cid    BLOB NOT NULL CHECK (length(cid) = 36),
    rev    TEXT NOT NULL,
    bytes  BLOB NOT NULL,
    UNIQUE (uid, cid)
) STRICT;
CREATE INDEX block_rev ON block(uid, rev);

CREATE TABLE record (
    uid         INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    rkey        TEXT NOT NULL,
    cid         BLOB NOT NULL,
    rev         TEXT NOT NULL,
    PRIMARY KEY (uid, collection, rkey),
    FOREIGN KEY (uid, cid) REFERENCES block(uid, cid)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_cid ON record(uid, cid);

CREATE TABLE blob (
    uid             INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    cid             BLOB NOT NULL CHECK (length(cid) = 36),
    mime_type       TEXT NOT NULL,
    size            INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    -- created_at as unix seconds, for expiring temporary uploads
    created_unix    INTEGER NOT NULL,
    state           INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    -- the rev that last made it referenced (listBlobs?since)
    referenced_rev  TEXT,
    PRIMARY KEY (uid, cid)
) STRICT, WITHOUT ROWID;
CREATE INDEX blob_temporary ON blob(created_unix) WHERE state = 0;
CREATE INDEX blob_unreferenced ON blob(uid) WHERE state = 2;

CREATE TABLE record_blob (
    uid         INTEGER NOT NULL,
    collection  TEXT NOT NULL,
    rkey        TEXT NOT NULL,
    blob_cid    BLOB NOT NULL,
    PRIMARY KEY (uid, collection, rkey, blob_cid),
    FOREIGN KEY (uid, collection, rkey) REFERENCES record(uid, collection, rkey) ON DELETE CASCADE,
    FOREIGN KEY (uid, blob_cid) REFERENCES blob(uid, cid)
) STRICT, WITHOUT ROWID;
CREATE INDEX record_blob_blob ON record_blob(uid, blob_cid);

-- Blob states follow their references here, whatever statement changes them: a blob that
-- gains a reference is referenced (taking the record's rev if it was not before), and one
-- that loses its last reference becomes unreferenced.
CREATE TRIGGER record_blob_added AFTER INSERT ON record_blob BEGIN
    UPDATE blob SET
        referenced_rev = CASE WHEN state = 1 THEN referenced_rev ELSE
            (SELECT rev FROM record
             WHERE uid = NEW.uid AND collection = NEW.collection AND rkey = NEW.rkey) END,
        state = 1
    WHERE uid = NEW.uid AND cid = NEW.blob_cid;
END;
CREATE TRIGGER record_blob_removed AFTER DELETE ON record_blob BEGIN
    UPDATE blob SET state = 2
    WHERE uid = OLD.uid AND cid = OLD.blob_cid AND state = 1
      AND NOT EXISTS (SELECT 1 FROM record_blob WHERE uid = OLD.uid AND blob_cid = OLD.blob_cid);
END;

CREATE TABLE event (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    did      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    time_ms  INTEGER NOT NULL,
    frame    BLOB NOT NULL
) STRICT;
CREATE INDEX event_time ON event(time_ms);
"#;

/// The OAuth authorization server's state (see `crate::oauth`).
///
/// * `oauth_request.code` is unique while present; a row stays a day after its code was used so
///   a replayed code (or PKCE challenge) is recognised, and the sessions it produced revoked.
/// * `oauth_session` cascades from `account`; `oauth_used_refresh` from `oauth_session`, so
///   revoking a session forgets its old tokens too.
/// * `oauth_device_account` links browser devices to the accounts signed in on them.
const V_OAUTH: &str = r#"
CREATE TABLE oauth_request (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    client_auth     TEXT NOT NULL,
    params          TEXT NOT NULL,
    dpop_jkt        TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    state           TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    did             TEXT,
    device_id       TEXT,
    code            TEXT UNIQUE,
    code_used       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX oauth_request_challenge ON oauth_request(code_challenge);
CREATE INDEX oauth_request_state ON oauth_request(client_id, state);
CREATE INDEX oauth_request_expiry ON oauth_request(expires_at);

CREATE TABLE oauth_session (
    id                  TEXT PRIMARY KEY,
    uid                 INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    client_id           TEXT NOT NULL,
    client_auth         TEXT NOT NULL,
    dpop_jkt            TEXT NOT NULL,
    scope               TEXT NOT NULL,
    device_id           TEXT,
    code                TEXT,
    refresh_token       TEXT NOT NULL UNIQUE,
    refresh_expires_at  INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    expires_at          INTEGER
) STRICT;
CREATE INDEX oauth_session_uid ON oauth_session(uid);
CREATE INDEX oauth_session_code ON oauth_session(code);

CREATE TABLE oauth_used_refresh (
    refresh_token  TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES oauth_session(id) ON DELETE CASCADE
) STRICT;
CREATE INDEX oauth_used_refresh_session ON oauth_used_refresh(session_id);

CREATE TABLE oauth_device (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE oauth_device_account (
    device_id         TEXT NOT NULL REFERENCES oauth_device(id) ON DELETE CASCADE,
    uid               INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    authenticated_at  INTEGER NOT NULL,
    PRIMARY KEY (device_id, uid)
) STRICT;
"#;

/// Sovereign identity (the /v1 API, `sqlite/wallet.rs`): onboardings awaiting their DID,
/// device keys, the escrowed recovery share (sealed), the key-event log, the relay's signing
/// keys per account (sealed; the active one is also `account.signing_key_sealed`), and the
/// single-use registration challenges and request nonces. Keyed by DID, not `uid`: devices and
/// onboardings exist before the account row does.
const V_WALLET: &str = r#"
CREATE TABLE v1_pending_account (
    id             TEXT PRIMARY KEY,
    handle         TEXT NOT NULL,
    handle_key     TEXT NOT NULL UNIQUE,
    email          TEXT NOT NULL,
    email_key      TEXT NOT NULL UNIQUE,
    password_hash  TEXT,
    invite_code    TEXT,
    created_at_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE v1_device (
    id             TEXT PRIMARY KEY,
    did            TEXT,
    pending_id     TEXT,
    public_key     TEXT NOT NULL,
    name           TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    revoked_at_ms  INTEGER
) STRICT;
CREATE INDEX v1_device_did ON v1_device(did);
CREATE INDEX v1_device_pending ON v1_device(pending_id);

CREATE TABLE v1_escrow_share (
    id             TEXT PRIMARY KEY,
    did            TEXT NOT NULL,
    sealed         BLOB NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX v1_escrow_share_did ON v1_escrow_share(did);

CREATE TABLE v1_key_event (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    did      TEXT NOT NULL,
    kind     TEXT NOT NULL,
    detail   TEXT NOT NULL,
    time_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX v1_key_event_did ON v1_key_event(did, id);

CREATE TABLE v1_relay_key (
    key_id         TEXT PRIMARY KEY,
    did            TEXT NOT NULL,
    did_key        TEXT NOT NULL,
    status         TEXT NOT NULL,
    sealed         BLOB,
    created_at_ms  INTEGER NOT NULL
) STRICT;
CREATE INDEX v1_relay_key_did ON v1_relay_key(did);

CREATE TABLE v1_challenge (
    challenge      TEXT PRIMARY KEY,
    expires_at_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE v1_nonce (
    device_id      TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) STRICT;
"#;

/// Email tokens (`crate::email`): one per purpose per account, gone with the account.
const V_EMAIL: &str = r#"
CREATE TABLE email_token (
    purpose       TEXT NOT NULL,
    uid           INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    token         TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    PRIMARY KEY (purpose, uid)
) STRICT;
CREATE UNIQUE INDEX email_token_token ON email_token(purpose, token);
-- Accounts whose password sign-ins also need a mailed code (updateEmail emailAuthFactor).
CREATE TABLE email_auth_factor (
    uid  INTEGER PRIMARY KEY REFERENCES account(uid) ON DELETE CASCADE
) STRICT;
"#;

/// Takedowns (`com.atproto.admin.updateSubjectStatus`): one row per taken-down subject, with
/// the moderator's reference. `subject` is '' for the account, `collection/rkey` for a record
/// and the CID string for a blob. Rows go with the account.
const V_TAKEDOWN: &str = r#"
CREATE TABLE takedown (
    uid        INTEGER NOT NULL REFERENCES account(uid) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('account', 'record', 'blob')),
    subject    TEXT NOT NULL,
    reference  TEXT NOT NULL,
    PRIMARY KEY (uid, kind, subject)
) STRICT, WITHOUT ROWID;
"#;

/// Brings the database up to [`VERSION`]; refuses a database written by a newer build.
pub(crate) async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    let current: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    if current > VERSION {
        return Err(StoreError::Backend(format!(
            "the database has schema version {current}, newer than this build's {VERSION}"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        // PRAGMA takes no bind parameters; `version` is our own integer.
        sqlx::raw_sql(&format!("PRAGMA user_version = {version}"))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
    }
    Ok(())
}
