//! The sovereign-identity tables behind the relay's /v1 API: onboardings in progress, device
//! keys, the escrowed recovery share, the key-event log, the relay's retired signing keys, and
//! the single-use challenges and request nonces.
//!
//! Secrets arrive here already sealed by the caller (`crypto::seal`); the store never sees a
//! key or a share in the clear. Writes go through the writer task like every other write, as
//! short lists of statements run in one transaction ([`Statement`]).

use sqlx::Row;

use crate::{Result, StoreError};

use super::{backend, email_key, handle_key, now_ms, SqliteStore};

/// Onboardings not finished within this time no longer hold their handle and email.
pub const PENDING_ACCOUNT_TTL_MS: i64 = 60 * 60 * 1000;

/// An account being onboarded through `POST /v1/accounts/mobile`: it has a handle, an email,
/// a password and a device, but no DID until `POST /v1/dids`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAccount {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub password_hash: Option<String>,
    /// Consumed when the account is created.
    pub invite_code: Option<String>,
    pub created_at_ms: i64,
}

/// A device key registered to an account (or to an onboarding, before the DID exists).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub did: Option<String>,
    pub pending_id: Option<String>,
    /// The device's public key as a did:key (P-256 or K-256).
    pub public_key: String,
    pub name: String,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

/// One entry of an account's key-event log (share reads and writes, key rotations, device
/// changes), as `GET /v1/keys/rotation-log` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyEvent {
    pub id: i64,
    pub did: String,
    pub kind: String,
    pub detail: serde_json::Value,
    pub time_ms: i64,
}

/// The escrowed recovery share (share 2), sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscrowShare {
    pub id: String,
    pub did: String,
    pub sealed: Vec<u8>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A repo signing key the relay holds or held for an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayKey {
    pub key_id: String,
    pub did: String,
    pub did_key: String,
    /// `active`, `retired` (replaced by a rotation, still sealed here) or `revoked` (wiped).
    pub status: String,
    pub sealed: Option<Vec<u8>>,
    pub created_at_ms: i64,
}

/// A bound value of a [`Statement`].
#[derive(Clone, Debug)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Blob(Vec<u8>),
}

/// One SQL statement with its arguments, run by the writer.
#[derive(Clone, Debug)]
pub(crate) struct Statement {
    pub sql: &'static str,
    pub args: Vec<Arg>,
}

fn stmt(sql: &'static str, args: Vec<Arg>) -> Statement {
    Statement { sql, args }
}

fn text(s: &str) -> Arg {
    Arg::Text(s.to_owned())
}

/// Runs the statements in order inside the writer's transaction; the rows each changed.
pub(crate) async fn run(
    conn: &mut sqlx::SqliteConnection,
    statements: Vec<Statement>,
) -> Result<Vec<u64>> {
    let mut counts = Vec::with_capacity(statements.len());
    for statement in statements {
        let mut query = sqlx::query(statement.sql);
        for arg in statement.args {
            query = match arg {
                Arg::Text(v) => query.bind(v),
                Arg::OptText(v) => query.bind(v),
                Arg::Int(v) => query.bind(v),
                Arg::Blob(v) => query.bind(v),
            };
        }
        let done = query.execute(&mut *conn).await.map_err(constraint)?;
        counts.push(done.rows_affected());
    }
    Ok(counts)
}

/// Unique-constraint failures the caller answers with a specific error.
fn constraint(e: sqlx::Error) -> StoreError {
    let text = e.to_string();
    if text.contains("v1_pending_account.handle_key") {
        StoreError::HandleTaken
    } else if text.contains("v1_pending_account.email_key") {
        StoreError::EmailTaken
    } else {
        backend(text)
    }
}

impl SqliteStore {
    async fn statements(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        match self.write(super::writer::Op::Wallet(statements)).await? {
            super::writer::Done::Counts(counts) => Ok(counts),
            other => Err(backend(format!("unexpected answer {other:?}"))),
        }
    }

    /// Records an onboarding and its first device in one transaction, after dropping
    /// onboardings that expired. Fails with `HandleTaken`/`EmailTaken` when another unfinished
    /// onboarding holds them (the caller checks finished accounts itself).
    pub async fn create_pending_account(
        &self,
        account: &PendingAccount,
        device: &Device,
    ) -> Result<()> {
        let expired = now_ms() - PENDING_ACCOUNT_TTL_MS;
        self.statements(vec![
            stmt(
                "DELETE FROM v1_device WHERE pending_id IN \
                 (SELECT id FROM v1_pending_account WHERE created_at_ms < ?1)",
                vec![Arg::Int(expired)],
            ),
            stmt(
                "DELETE FROM v1_pending_account WHERE created_at_ms < ?1",
                vec![Arg::Int(expired)],
            ),
            stmt(
                "INSERT INTO v1_pending_account \
                 (id, handle, handle_key, email, email_key, password_hash, invite_code, created_at_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                vec![
                    text(&account.id),
                    text(&account.handle),
                    Arg::Text(handle_key(&account.handle)),
                    text(&account.email),
                    Arg::Text(email_key(&account.email)),
                    Arg::OptText(account.password_hash.clone()),
                    Arg::OptText(account.invite_code.clone()),
                    Arg::Int(account.created_at_ms),
                ],
            ),
            insert_device(device),
        ])
        .await
        .map(|_| ())
    }

    /// The unfinished onboarding, if it has not expired.
    pub async fn pending_account(&self, id: &str) -> Result<Option<PendingAccount>> {
        let row = sqlx::query(
            "SELECT id, handle, email, password_hash, invite_code, created_at_ms FROM v1_pending_account \
             WHERE id = ?1 AND created_at_ms >= ?2",
        )
        .bind(id)
        .bind(now_ms() - PENDING_ACCOUNT_TTL_MS)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(PendingAccount {
                id: r.try_get("id").map_err(backend)?,
                handle: r.try_get("handle").map_err(backend)?,
                email: r.try_get("email").map_err(backend)?,
                password_hash: r.try_get("password_hash").map_err(backend)?,
                invite_code: r.try_get("invite_code").map_err(backend)?,
                created_at_ms: r.try_get("created_at_ms").map_err(backend)?,
            })
        })
        .transpose()
    }

    /// Whether an unexpired onboarding holds this handle or email.
    pub async fn pending_holds(&self, handle: &str, email: &str) -> Result<(bool, bool)> {
        let since = now_ms() - PENDING_ACCOUNT_TTL_MS;
        let handle_held: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM v1_pending_account WHERE handle_key = ?1 AND created_at_ms >= ?2",
        )
        .bind(handle_key(handle))
        .bind(since)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        let email_held: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM v1_pending_account WHERE email_key = ?1 AND created_at_ms >= ?2",
        )
        .bind(email_key(email))
        .bind(since)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok((handle_held.is_some(), email_held.is_some()))
    }

    /// Ends an onboarding once its account exists: its devices move to the DID, the escrowed
    /// share is stored, and the key events are logged, in one transaction.
    pub async fn finish_pending_account(
        &self,
        pending_id: &str,
        did: &str,
        escrow: Option<&EscrowShare>,
        signing_key: &RelayKey,
        events: &[(String, serde_json::Value)],
    ) -> Result<()> {
        let mut statements = vec![
            stmt(
                "UPDATE v1_device SET did = ?2, pending_id = NULL WHERE pending_id = ?1",
                vec![text(pending_id), text(did)],
            ),
            stmt(
                "DELETE FROM v1_pending_account WHERE id = ?1",
                vec![text(pending_id)],
            ),
            insert_relay_key(signing_key),
        ];
        if let Some(share) = escrow {
            statements.push(upsert_escrow(share));
        }
        statements.extend(
            events
                .iter()
                .map(|(kind, detail)| log_event(did, kind, detail)),
        );
        self.statements(statements).await.map(|_| ())
    }

    pub async fn put_device(&self, device: &Device) -> Result<()> {
        self.statements(vec![insert_device(device)])
            .await
            .map(|_| ())
    }

    pub async fn device(&self, id: &str) -> Result<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM v1_device WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|r| device_from_row(&r)).transpose()
    }

    /// The account's devices, revoked ones included, oldest first.
    pub async fn devices_of(&self, did: &str) -> Result<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM v1_device WHERE did = ?1 ORDER BY created_at_ms, id"
        ))
        .bind(did)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter().map(device_from_row).collect()
    }

    /// Marks a device revoked and logs it; false if it was not an active device of `did`.
    pub async fn revoke_device(
        &self,
        did: &str,
        id: &str,
        detail: &serde_json::Value,
    ) -> Result<bool> {
        let counts = self
            .statements(vec![
                stmt(
                    "UPDATE v1_device SET revoked_at_ms = ?3 \
                     WHERE id = ?1 AND did = ?2 AND revoked_at_ms IS NULL",
                    vec![text(id), text(did), Arg::Int(now_ms())],
                ),
                stmt(
                    "INSERT INTO v1_key_event (did, kind, detail, time_ms) \
                     SELECT ?1, 'device.revoked', ?2, ?3 WHERE changes() > 0",
                    vec![text(did), Arg::Text(detail.to_string()), Arg::Int(now_ms())],
                ),
            ])
            .await?;
        Ok(counts[0] == 1)
    }

    /// Stores a relay challenge a device must sign to register.
    pub async fn put_challenge(&self, challenge: &str, expires_at_ms: i64) -> Result<()> {
        self.statements(vec![
            stmt(
                "DELETE FROM v1_challenge WHERE expires_at_ms < ?1",
                vec![Arg::Int(now_ms())],
            ),
            stmt(
                "INSERT INTO v1_challenge (challenge, expires_at_ms) VALUES (?1, ?2)",
                vec![text(challenge), Arg::Int(expires_at_ms)],
            ),
        ])
        .await
        .map(|_| ())
    }

    /// Consumes a challenge: true once, if it was issued and has not expired.
    pub async fn take_challenge(&self, challenge: &str) -> Result<bool> {
        let counts = self
            .statements(vec![stmt(
                "DELETE FROM v1_challenge WHERE challenge = ?1 AND expires_at_ms >= ?2",
                vec![text(challenge), Arg::Int(now_ms())],
            )])
            .await?;
        Ok(counts[0] == 1)
    }

    /// Records a signed request's nonce: true the first time, false for a replay. Nonces are
    /// kept until `expires_at_ms` (past the request's timestamp window), then forgotten.
    pub async fn use_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at_ms: i64,
    ) -> Result<bool> {
        let counts = self
            .statements(vec![
                stmt(
                    "DELETE FROM v1_nonce WHERE expires_at_ms < ?1",
                    vec![Arg::Int(now_ms())],
                ),
                stmt(
                    "INSERT OR IGNORE INTO v1_nonce (device_id, nonce, expires_at_ms) \
                     VALUES (?1, ?2, ?3)",
                    vec![text(device_id), text(nonce), Arg::Int(expires_at_ms)],
                ),
            ])
            .await?;
        Ok(counts[1] == 1)
    }

    /// Stores or replaces an escrowed share, logging the event.
    pub async fn put_escrow_share(
        &self,
        share: &EscrowShare,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.statements(vec![
            upsert_escrow(share),
            log_event(&share.did, kind, detail),
        ])
        .await
        .map(|_| ())
    }

    /// Reads an escrowed share; the caller logs the read (see `log_key_event`).
    pub async fn escrow_share(&self, id: &str) -> Result<Option<EscrowShare>> {
        let row = sqlx::query(
            "SELECT id, did, sealed, created_at_ms, updated_at_ms FROM v1_escrow_share WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        row.map(|r| {
            Ok(EscrowShare {
                id: r.try_get("id").map_err(backend)?,
                did: r.try_get("did").map_err(backend)?,
                sealed: r.try_get("sealed").map_err(backend)?,
                created_at_ms: r.try_get("created_at_ms").map_err(backend)?,
                updated_at_ms: r.try_get("updated_at_ms").map_err(backend)?,
            })
        })
        .transpose()
    }

    /// The ids of the account's escrowed shares.
    pub async fn escrow_share_ids(&self, did: &str) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT id FROM v1_escrow_share WHERE did = ?1 ORDER BY id")
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)
    }

    pub async fn log_key_event(
        &self,
        did: &str,
        kind: &str,
        detail: &serde_json::Value,
    ) -> Result<()> {
        self.statements(vec![log_event(did, kind, detail)])
            .await
            .map(|_| ())
    }

    /// The account's key events after `after` (an event id), oldest first.
    pub async fn key_events(&self, did: &str, after: i64, limit: usize) -> Result<Vec<KeyEvent>> {
        let rows = sqlx::query(
            "SELECT id, did, kind, detail, time_ms FROM v1_key_event \
             WHERE did = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )
        .bind(did)
        .bind(after)
        .bind(limit.min(1000) as i64)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get("detail").map_err(backend)?;
                Ok(KeyEvent {
                    id: r.try_get("id").map_err(backend)?,
                    did: r.try_get("did").map_err(backend)?,
                    kind: r.try_get("kind").map_err(backend)?,
                    detail: serde_json::from_str(&detail).map_err(backend)?,
                    time_ms: r.try_get("time_ms").map_err(backend)?,
                })
            })
            .collect()
    }

    /// The signing keys the relay holds or held for the account, newest first.
    pub async fn relay_keys(&self, did: &str) -> Result<Vec<RelayKey>> {
        let rows = sqlx::query(
            "SELECT key_id, did, did_key, status, sealed, created_at_ms FROM v1_relay_key \
             WHERE did = ?1 ORDER BY created_at_ms DESC, key_id",
        )
        .bind(did)
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(RelayKey {
                    key_id: r.try_get("key_id").map_err(backend)?,
                    did: r.try_get("did").map_err(backend)?,
                    did_key: r.try_get("did_key").map_err(backend)?,
                    status: r.try_get("status").map_err(backend)?,
                    sealed: r.try_get("sealed").map_err(backend)?,
                    created_at_ms: r.try_get("created_at_ms").map_err(backend)?,
                })
            })
            .collect()
    }

    /// Records a rotation of the account's signing key: the new key becomes active (its sealed
    /// copy also lives in the account row, where commits read it), the old one retired.
    pub async fn rotate_relay_key(
        &self,
        new_key: &RelayKey,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let sealed = new_key.sealed.clone().unwrap_or_default();
        self.statements(vec![
            stmt(
                "UPDATE v1_relay_key SET status = 'retired' WHERE did = ?1 AND status = 'active'",
                vec![text(&new_key.did)],
            ),
            insert_relay_key(new_key),
            stmt(
                "UPDATE account SET signing_key_sealed = ?2 WHERE did = ?1",
                vec![text(&new_key.did), Arg::Blob(sealed)],
            ),
            log_event(&new_key.did, "relay-key.rotated", detail),
        ])
        .await
        .map(|_| ())
    }

    /// Wipes a retired key's sealed copy; false if it is not a retired key of `did`.
    pub async fn revoke_relay_key(
        &self,
        did: &str,
        key_id: &str,
        detail: &serde_json::Value,
    ) -> Result<bool> {
        let counts = self
            .statements(vec![
                stmt(
                    "UPDATE v1_relay_key SET status = 'revoked', sealed = NULL \
                     WHERE did = ?1 AND key_id = ?2 AND status = 'retired'",
                    vec![text(did), text(key_id)],
                ),
                stmt(
                    "INSERT INTO v1_key_event (did, kind, detail, time_ms) \
                     SELECT ?1, 'relay-key.revoked', ?2, ?3 WHERE changes() > 0",
                    vec![text(did), Arg::Text(detail.to_string()), Arg::Int(now_ms())],
                ),
            ])
            .await?;
        Ok(counts[0] == 1)
    }
}

const DEVICE_COLUMNS: &str = "id, did, pending_id, public_key, name, created_at_ms, revoked_at_ms";

fn device_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Device> {
    Ok(Device {
        id: r.try_get("id").map_err(backend)?,
        did: r.try_get("did").map_err(backend)?,
        pending_id: r.try_get("pending_id").map_err(backend)?,
        public_key: r.try_get("public_key").map_err(backend)?,
        name: r.try_get("name").map_err(backend)?,
        created_at_ms: r.try_get("created_at_ms").map_err(backend)?,
        revoked_at_ms: r.try_get("revoked_at_ms").map_err(backend)?,
    })
}

fn insert_device(device: &Device) -> Statement {
    stmt(
        "INSERT INTO v1_device (id, did, pending_id, public_key, name, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            text(&device.id),
            Arg::OptText(device.did.clone()),
            Arg::OptText(device.pending_id.clone()),
            text(&device.public_key),
            text(&device.name),
            Arg::Int(device.created_at_ms),
        ],
    )
}

fn insert_relay_key(key: &RelayKey) -> Statement {
    stmt(
        "INSERT INTO v1_relay_key (key_id, did, did_key, status, sealed, created_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vec![
            text(&key.key_id),
            text(&key.did),
            text(&key.did_key),
            text(&key.status),
            Arg::Blob(key.sealed.clone().unwrap_or_default()),
            Arg::Int(key.created_at_ms),
        ],
    )
}

fn upsert_escrow(share: &EscrowShare) -> Statement {
    stmt(
        "INSERT INTO v1_escrow_share (id, did, sealed, created_at_ms, updated_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?4) \
         ON CONFLICT(id) DO UPDATE SET sealed = excluded.sealed, updated_at_ms = excluded.updated_at_ms \
         WHERE v1_escrow_share.did = excluded.did",
        vec![
            text(&share.id),
            text(&share.did),
            Arg::Blob(share.sealed.clone()),
            Arg::Int(share.updated_at_ms),
        ],
    )
}

fn log_event(did: &str, kind: &str, detail: &serde_json::Value) -> Statement {
    stmt(
        "INSERT INTO v1_key_event (did, kind, detail, time_ms) VALUES (?1, ?2, ?3, ?4)",
        vec![
            text(did),
            text(kind),
            Arg::Text(detail.to_string()),
            Arg::Int(now_ms()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str, pending: Option<&str>) -> Device {
        Device {
            id: id.into(),
            did: None,
            pending_id: pending.map(str::to_owned),
            public_key: "did:key:zDnaexample".into(),
            name: "phone".into(),
            created_at_ms: now_ms(),
            revoked_at_ms: None,
        }
    }

    fn pending(id: &str, handle: &str, email: &str, created_at_ms: i64) -> PendingAccount {
        PendingAccount {
            id: id.into(),
            handle: handle.into(),
            email: email.into(),
            password_hash: None,
            invite_code: None,
            created_at_ms,
        }
    }

    #[tokio::test]
    async fn nonces_and_challenges_serve_once() {
        let store = SqliteStore::open_temp().await.unwrap();
        let later = now_ms() + 60_000;
        assert!(store.use_nonce("dev_a", "n1", later).await.unwrap());
        assert!(!store.use_nonce("dev_a", "n1", later).await.unwrap());
        assert!(store.use_nonce("dev_b", "n1", later).await.unwrap());
        store.put_challenge("ch_1", later).await.unwrap();
        store.put_challenge("ch_old", now_ms() - 1).await.unwrap();
        assert!(store.take_challenge("ch_1").await.unwrap());
        assert!(!store.take_challenge("ch_1").await.unwrap());
        assert!(!store.take_challenge("ch_old").await.unwrap());
        assert!(!store.take_challenge("never").await.unwrap());
    }

    #[tokio::test]
    async fn onboardings_hold_handles_and_emails_until_they_expire() {
        let store = SqliteStore::open_temp().await.unwrap();
        let a = pending("acct_a", "Alice.test", "a@example.com", now_ms());
        store
            .create_pending_account(&a, &device("dev_a", Some("acct_a")))
            .await
            .unwrap();
        assert_eq!(
            store
                .pending_holds("alice.test", "A@example.com")
                .await
                .unwrap(),
            (true, true)
        );
        let same_handle = pending("acct_b", "alice.test", "b@example.com", now_ms());
        assert!(matches!(
            store
                .create_pending_account(&same_handle, &device("dev_b", Some("acct_b")))
                .await,
            Err(StoreError::HandleTaken)
        ));
        let same_email = pending("acct_c", "carol.test", "a@example.com", now_ms());
        assert!(matches!(
            store
                .create_pending_account(&same_email, &device("dev_c", Some("acct_c")))
                .await,
            Err(StoreError::EmailTaken)
        ));
        // An expired onboarding gives way, and its device goes with it.
        let stale = pending(
            "acct_d",
            "dora.test",
            "d@example.com",
            now_ms() - PENDING_ACCOUNT_TTL_MS - 1,
        );
        store
            .create_pending_account(&stale, &device("dev_d", Some("acct_d")))
            .await
            .unwrap();
        assert!(store.pending_account("acct_d").await.unwrap().is_none());
        let fresh = pending("acct_e", "dora.test", "e@example.com", now_ms());
        store
            .create_pending_account(&fresh, &device("dev_e", Some("acct_e")))
            .await
            .unwrap();
        assert!(store.device("dev_d").await.unwrap().is_none());
        assert_eq!(
            store
                .pending_account("acct_e")
                .await
                .unwrap()
                .unwrap()
                .handle,
            "dora.test"
        );
    }
}
