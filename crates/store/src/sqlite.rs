//! The embedded backend: one SQLite file in WAL mode.
//!
//! # Concurrency
//! One writer task owns the only write connection. Every mutating method sends a job to it
//! and waits for the answer. The writer takes all the jobs that are waiting (up to
//! [`MAX_BATCH`]), runs them in one `BEGIN IMMEDIATE … COMMIT`, each inside its own
//! `SAVEPOINT` so that a job that fails (a head conflict, a taken handle) is rolled back alone,
//! and answers the jobs only after `COMMIT` has returned. With `synchronous=FULL` that commit
//! is one fsync of the WAL for the whole batch: concurrent writers of different accounts share
//! it (group commit) instead of queueing one fsync each. Firehose events of the batch are
//! broadcast after the commit, in seq order.
//!
//! Reads go to a pool of read-only connections. In WAL mode a reader sees the last committed
//! state and never waits for the writer, and whatever a write call returned is visible to
//! every read that starts after it.
//!
//! ```
//! use store::sqlite::SqliteStore;
//! use store::{NewAccount, Store, StoreError};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let store = SqliteStore::open_temp().await?; // SqliteStore::open(path) in production
//! store
//!     .create_account(NewAccount {
//!         did: "did:plc:alice".into(),
//!         handle: "alice.test".into(),
//!         email: None,
//!         password_hash: None,
//!         signing_key_sealed: vec![],
//!         invite_code: None,
//!         deactivated: false,
//!     })
//!     .await?;
//! // Handles are unique and found case-insensitively.
//! let alice = store.account_by_handle("ALICE.test").await?.unwrap();
//! assert_eq!(alice.did, "did:plc:alice");
//! assert!(matches!(
//!     store.update_handle("did:plc:nobody", "alice.test").await,
//!     Err(StoreError::AccountNotFound)
//! ));
//! store.close().await;
//! # Ok::<(), StoreError>(())
//! # }).unwrap();
//! ```

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use data::Cid;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Row};
use tokio::sync::{broadcast, mpsc, oneshot, Mutex};

use crate::{
    Account, AccountStatus, AppPassword, BlobMeta, CommitWrite, Event, EventDraft, InviteCode,
    NewAccount, PendingCommit, RefreshToken, RepoHead, Result, Store, StoreError, StoredRecord,
};

mod admin;
mod email;
mod migration;
mod oauth;
mod schema;
pub mod wallet;
mod writer;

use writer::{Done, Job, Op};

/// Most jobs one transaction takes. Bounds how long a batch holds the write lock and how
/// much its answers wait for each other.
pub const MAX_BATCH: usize = 256;

/// Capacity of the live event channel; a subscriber further behind than this gets
/// `RecvError::Lagged` and should fall back to `events_after`.
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;

/// Jobs that may wait for the writer before callers are held back.
const QUEUE_CAPACITY: usize = 8192;

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of the writer, for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Transactions committed (one fsync each).
    pub transactions: u64,
    /// Jobs answered from those transactions (successful or refused).
    pub jobs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct StatCounters {
    pub(crate) transactions: AtomicU64,
    pub(crate) jobs: AtomicU64,
}

/// The SQLite [`Store`].
pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    stats: Arc<StatCounters>,
    read: SqlitePool,
    events: broadcast::Sender<Event>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    path: PathBuf,
    /// Set by [`SqliteStore::open_temp`]: the directory goes when the store does.
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating on first run) the database at `path` and brings its schema up to date.
    ///
    /// Must be called inside a tokio runtime: it spawns the writer task there.
    pub async fn open(path: &Path) -> Result<Arc<SqliteStore>> {
        SqliteStore::open_with(path, None).await
    }

    /// A store in a fresh temporary directory that is removed when the store is dropped: for
    /// tests. It is a real file (WAL needs one), so it behaves exactly like [`open`](Self::open).
    pub async fn open_temp() -> Result<Arc<SqliteStore>> {
        let dir = TempDir::new().map_err(backend)?;
        let path = dir.path().join("relay.sqlite");
        SqliteStore::open_with(&path, Some(dir)).await
    }

    async fn open_with(path: &Path, temp: Option<TempDir>) -> Result<Arc<SqliteStore>> {
        let mut conn = write_options(path).connect().await.map_err(backend)?;
        schema::migrate(&mut conn).await?;

        // Reads are short and partly I/O-bound: a few more connections than cores.
        let readers =
            std::thread::available_parallelism().map_or(4, |n| (2 * n.get()).clamp(4, 16)) as u32;
        let read = SqlitePoolOptions::new()
            .max_connections(readers)
            .min_connections(1)
            .connect_with(read_options(path))
            .await
            .map_err(backend)?;

        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        let stats = Arc::new(StatCounters::default());
        let writer = writer::Writer::start(conn, events.clone(), stats.clone()).await?;
        let handle = tokio::spawn(writer.run(queue));
        Ok(Arc::new(SqliteStore {
            jobs,
            stats,
            read,
            events,
            writer: Mutex::new(Some(handle)),
            path: path.to_path_buf(),
            _temp: temp,
        }))
    }

    /// How many transactions the writer committed for how many jobs: `jobs / transactions`
    /// is the group-commit factor.
    pub fn write_stats(&self) -> WriteStats {
        WriteStats {
            transactions: self.stats.transactions.load(Ordering::Relaxed),
            jobs: self.stats.jobs.load(Ordering::Relaxed),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Dropping the last `Arc` also stops the writer (once its queue is drained) and closes
    /// the connections in the background; `close` waits for that.
    ///
    /// Stops taking writes, waits for the ones already queued to finish, and closes every
    /// connection. Calls made after it fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        let handle = self.writer.lock().await.take();
        if let Some(handle) = handle {
            let (tx, rx) = oneshot::channel();
            // The writer answers a shutdown job after the jobs queued before it and then stops.
            if self
                .jobs
                .send(Job {
                    op: Op::Shutdown,
                    reply: tx,
                })
                .await
                .is_ok()
            {
                let _ = rx.await;
            }
            let _ = handle.await;
        }
        self.read.close().await;
    }

    async fn write(&self, op: Op) -> Result<Done> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { op, reply })
            .await
            .map_err(|_| StoreError::Backend("the store is closed".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the store's writer stopped".into()))?
    }

    async fn write_unit(&self, op: Op) -> Result<()> {
        match self.write(op).await? {
            Done::Unit => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    async fn write_cids(&self, op: Op) -> Result<Vec<Cid>> {
        match self.write(op).await? {
            Done::Cids(cids) => Ok(cids),
            other => Err(unexpected(other)),
        }
    }

    async fn account_where(&self, column: &str, value: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE {column} = ?1");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map(|r| account_from_row(&r).map(|(a, _)| a))
            .transpose()
    }
}

fn write_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode FULL syncs the WAL at every commit: a returned write survives power loss.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .statement_cache_capacity(256)
        .pragma("cache_size", "-16384")
        .pragma("journal_size_limit", "67108864")
}

fn read_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(BUSY_TIMEOUT)
        .pragma("cache_size", "-8192")
}

pub(crate) fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}

fn unexpected(done: Done) -> StoreError {
    StoreError::Backend(format!(
        "the writer answered with the wrong kind of result: {done:?}"
    ))
}

pub(crate) fn cid_from_bytes(bytes: &[u8]) -> Result<Cid> {
    Cid::from_bytes(bytes).map_err(|e| StoreError::Backend(format!("a stored CID is invalid: {e}")))
}

/// CIDs as one BLOB of 36-byte binary CIDs back to back, for the `cid_list` CTE: one bound
/// parameter (and one cached statement) for any number of CIDs.
pub(crate) fn cid_list(cids: impl IntoIterator<Item = Cid>) -> Vec<u8> {
    cids.into_iter().flat_map(|c| c.to_bytes()).collect()
}

/// Splits the BLOB bound as `?{param}` (see [`cid_list`]) into rows `ids(cid)`.
pub(crate) fn cid_list_cte(param: u8) -> String {
    format!(
        "WITH RECURSIVE ids(i, cid) AS (\
           SELECT 0, substr(?{param}, 1, 36) \
           UNION ALL SELECT i + 1, substr(?{param}, (i + 1) * 36 + 1, 36) FROM ids \
           WHERE (i + 1) * 36 < length(?{param}))"
    )
}

/// [`cid_list_cte`] for scripts of anonymous parameters: the list is the statement's first
/// `?` and is referenced once (`list` is a constant subquery, evaluated once).
pub(crate) fn cid_list_cte_anonymous() -> &'static str {
    "WITH RECURSIVE list(b) AS (SELECT ?), \
       ids(i, cid) AS (\
         SELECT 0, substr((SELECT b FROM list), 1, 36) \
         UNION ALL SELECT i + 1, substr((SELECT b FROM list), (i + 1) * 36 + 1, 36) FROM ids \
         WHERE (i + 1) * 36 < length((SELECT b FROM list)))"
}

pub(crate) fn status_str(status: AccountStatus) -> &'static str {
    status.as_status_str().unwrap_or("active")
}

fn parse_status(s: &str) -> Result<AccountStatus> {
    Ok(match s {
        "active" => AccountStatus::Active,
        "deactivated" => AccountStatus::Deactivated,
        "takendown" => AccountStatus::Takendown,
        "suspended" => AccountStatus::Suspended,
        "deleted" => AccountStatus::Deleted,
        other => {
            return Err(StoreError::Backend(format!(
                "unknown account status {other:?}"
            )))
        }
    })
}

/// Handles compare case-insensitively; they are ASCII.
pub(crate) fn handle_key(handle: &str) -> String {
    handle.to_ascii_lowercase()
}

pub(crate) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

pub(crate) fn now_rfc3339() -> String {
    syntax::Datetime::now().to_rfc3339_millis()
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

const ACCOUNT_COLUMNS: &str = "did, handle, email, email_confirmed_at, created_at, status, \
    deactivated_at, invites_disabled, head_cid, head_rev";

fn account_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<(Account, Option<RepoHead>)> {
    let get = |e: sqlx::Error| backend(e);
    let status: String = row.try_get(5).map_err(get)?;
    let head_cid: Option<Vec<u8>> = row.try_get(8).map_err(get)?;
    let head_rev: Option<String> = row.try_get(9).map_err(get)?;
    let head = match (head_cid, head_rev) {
        (Some(cid), Some(rev)) => Some(RepoHead {
            cid: cid_from_bytes(&cid)?,
            rev,
        }),
        _ => None,
    };
    let account = Account {
        did: row.try_get(0).map_err(get)?,
        handle: row.try_get(1).map_err(get)?,
        email: row.try_get(2).map_err(get)?,
        email_confirmed_at: row.try_get(3).map_err(get)?,
        created_at: row.try_get(4).map_err(get)?,
        status: parse_status(&status)?,
        deactivated_at: row.try_get(6).map_err(get)?,
        invites_disabled: row.try_get(7).map_err(get)?,
    };
    Ok((account, head))
}

fn blocks_from_rows(rows: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<(Cid, Vec<u8>)>> {
    rows.into_iter()
        .map(|(cid, bytes)| Ok((cid_from_bytes(&cid)?, bytes)))
        .collect()
}

fn record_from_row(
    collection: String,
    rkey: String,
    cid: Vec<u8>,
    bytes: Option<Vec<u8>>,
) -> Result<StoredRecord> {
    let cid = cid_from_bytes(&cid)?;
    let bytes = bytes.ok_or_else(|| {
        StoreError::Backend(format!(
            "the block of record {collection}/{rkey} ({cid}) is missing"
        ))
    })?;
    Ok(StoredRecord {
        collection,
        rkey,
        cid,
        bytes,
    })
}

async fn invite_uses(pool: &SqlitePool, codes: &[String]) -> Result<Vec<Vec<(String, String)>>> {
    let mut out = vec![Vec::new(); codes.len()];
    if codes.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(codes).map_err(backend)?;
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT code, used_by, used_at FROM invite_code_use \
         WHERE code IN (SELECT value FROM json_each(?1)) ORDER BY used_at, used_by",
    )
    .bind(list)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    for (code, by, at) in rows {
        if let Some(i) = codes.iter().position(|c| *c == code) {
            out[i].push((by, at));
        }
    }
    Ok(out)
}

type InviteRow = (String, i64, bool, String, String, String);

/// id, did, app_password_name, expires_at, next_id
type RefreshRow = (String, String, Option<String>, i64, Option<String>);

async fn invite_codes_from_rows(
    pool: &SqlitePool,
    rows: Vec<InviteRow>,
) -> Result<Vec<InviteCode>> {
    let codes: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let uses = invite_uses(pool, &codes).await?;
    Ok(rows
        .into_iter()
        .zip(uses)
        .map(
            |((code, available, disabled, for_account, created_by, created_at), uses)| InviteCode {
                code,
                available,
                disabled,
                for_account,
                created_by,
                created_at,
                uses,
            },
        )
        .collect())
}

const INVITE_COLUMNS: &str = "code, available, disabled, for_account, created_by, created_at";

/// `uid` of a DID, as a scalar subquery on `?1`.
const UID_OF_DID: &str = "(SELECT uid FROM account WHERE did = ?1)";

impl Store for SqliteStore {
    // --- accounts ---

    async fn create_account(&self, account: NewAccount) -> Result<()> {
        self.write_unit(Op::CreateAccount(account)).await
    }

    async fn account_by_did(&self, did: &str) -> Result<Option<Account>> {
        self.account_where("did", did).await
    }

    async fn account_by_handle(&self, handle: &str) -> Result<Option<Account>> {
        self.account_where("handle_key", &handle_key(handle)).await
    }

    async fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        self.account_where("email_key", &email_key(email)).await
    }

    async fn password_hash(&self, did: &str) -> Result<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_hash FROM account WHERE did = ?1")
                .bind(did)
                .fetch_optional(&self.read)
                .await
                .map_err(backend)?;
        Ok(hash.flatten())
    }

    async fn set_password_hash(&self, did: &str, hash: &str) -> Result<()> {
        self.write_unit(Op::SetPasswordHash {
            did: did.into(),
            hash: hash.into(),
        })
        .await
    }

    async fn signing_key_sealed(&self, did: &str) -> Result<Option<Vec<u8>>> {
        sqlx::query_scalar("SELECT signing_key_sealed FROM account WHERE did = ?1")
            .bind(did)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)
    }

    async fn set_signing_key_sealed(&self, did: &str, sealed: &[u8]) -> Result<()> {
        self.write_unit(Op::SetSigningKeySealed {
            did: did.into(),
            sealed: sealed.to_vec(),
        })
        .await
    }

    async fn update_handle(&self, did: &str, handle: &str) -> Result<()> {
        self.write_unit(Op::UpdateHandle {
            did: did.into(),
            handle: handle.into(),
        })
        .await
    }

    async fn update_email(
        &self,
        did: &str,
        email: Option<&str>,
        confirmed_at: Option<&str>,
    ) -> Result<()> {
        self.write_unit(Op::UpdateEmail {
            did: did.into(),
            email: email.map(str::to_string),
            confirmed_at: confirmed_at.map(str::to_string),
        })
        .await
    }

    async fn set_account_status(&self, did: &str, status: AccountStatus) -> Result<()> {
        self.write_unit(Op::SetAccountStatus {
            did: did.into(),
            status,
        })
        .await
    }

    async fn set_invites_disabled(&self, did: &str, disabled: bool) -> Result<()> {
        self.write_unit(Op::SetInvitesDisabled {
            did: did.into(),
            disabled,
        })
        .await
    }

    async fn list_accounts(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Account, Option<RepoHead>)>> {
        let sql =
            format!("SELECT {ACCOUNT_COLUMNS} FROM account WHERE did > ?1 ORDER BY did LIMIT ?2");
        let rows = sqlx::query(&sql)
            .bind(cursor.unwrap_or(""))
            .bind(limit_param(limit))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.iter().map(account_from_row).collect()
    }

    async fn delete_account(&self, did: &str) -> Result<Vec<Cid>> {
        self.write_cids(Op::DeleteAccount { did: did.into() }).await
    }

    // --- app passwords and sessions ---

    async fn create_app_password(&self, did: &str, password: AppPassword) -> Result<()> {
        self.write_unit(Op::CreateAppPassword {
            did: did.into(),
            password,
        })
        .await
    }

    async fn list_app_passwords(&self, did: &str) -> Result<Vec<AppPassword>> {
        let sql = format!(
            "SELECT name, password_hash, privileged, created_at FROM app_password \
             WHERE uid = {UID_OF_DID} ORDER BY created_at, name"
        );
        let rows: Vec<(String, String, bool, String)> = sqlx::query_as(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(
                |(name, password_hash, privileged, created_at)| AppPassword {
                    name,
                    password_hash,
                    privileged,
                    created_at,
                },
            )
            .collect())
    }

    async fn delete_app_password(&self, did: &str, name: &str) -> Result<()> {
        self.write_unit(Op::DeleteAppPassword {
            did: did.into(),
            name: name.into(),
        })
        .await
    }

    async fn put_refresh_token(&self, token: RefreshToken) -> Result<()> {
        self.write_unit(Op::PutRefreshToken(token)).await
    }

    async fn refresh_token(&self, id: &str) -> Result<Option<RefreshToken>> {
        let row: Option<RefreshRow> = sqlx::query_as(
            "SELECT t.id, a.did, t.app_password_name, t.expires_at, t.next_id \
             FROM refresh_token t JOIN account a ON a.uid = t.uid WHERE t.id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)?;
        Ok(row.map(
            |(id, did, app_password_name, expires_at, next_id)| RefreshToken {
                id,
                did,
                app_password_name,
                expires_at,
                next_id,
            },
        ))
    }

    async fn rotate_refresh_token(
        &self,
        old_id: &str,
        grace_expires_at: i64,
        next: RefreshToken,
    ) -> Result<()> {
        self.write_unit(Op::RotateRefreshToken {
            old_id: old_id.into(),
            grace_expires_at,
            next,
        })
        .await
    }

    async fn delete_refresh_token(&self, id: &str) -> Result<()> {
        self.write_unit(Op::DeleteRefreshToken { id: id.into() })
            .await
    }

    async fn delete_refresh_tokens_for(&self, did: &str) -> Result<()> {
        self.write_unit(Op::DeleteRefreshTokensFor { did: did.into() })
            .await
    }

    // --- invite codes ---

    async fn create_invite_codes(&self, codes: &[InviteCode]) -> Result<()> {
        self.write_unit(Op::CreateInviteCodes(codes.to_vec())).await
    }

    async fn invite_code(&self, code: &str) -> Result<Option<InviteCode>> {
        let sql = format!("SELECT {INVITE_COLUMNS} FROM invite_code WHERE code = ?1");
        let rows: Vec<InviteRow> = sqlx::query_as(&sql)
            .bind(code)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        Ok(invite_codes_from_rows(&self.read, rows).await?.pop())
    }

    async fn invite_codes_for(&self, did: &str) -> Result<Vec<InviteCode>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM invite_code WHERE for_account = ?1 ORDER BY created_at, code"
        );
        let rows: Vec<InviteRow> = sqlx::query_as(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        invite_codes_from_rows(&self.read, rows).await
    }

    async fn disable_invite_codes(&self, codes: &[String], accounts: &[String]) -> Result<()> {
        self.write_unit(Op::DisableInviteCodes {
            codes: codes.to_vec(),
            accounts: accounts.to_vec(),
        })
        .await
    }

    // --- repos ---

    async fn repo_head(&self, did: &str) -> Result<Option<RepoHead>> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> =
            sqlx::query_as("SELECT head_cid, head_rev FROM account WHERE did = ?1")
                .bind(did)
                .fetch_optional(&self.read)
                .await
                .map_err(backend)?;
        match row {
            Some((Some(cid), Some(rev))) => Ok(Some(RepoHead {
                cid: cid_from_bytes(&cid)?,
                rev,
            })),
            _ => Ok(None),
        }
    }

    async fn get_block(&self, did: &str, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let sql = format!("SELECT bytes FROM block WHERE uid = {UID_OF_DID} AND cid = ?2");
        sqlx::query_scalar(&sql)
            .bind(did)
            .bind(cid.to_bytes().to_vec())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)
    }

    async fn get_blocks(&self, did: &str, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>> {
        match cids {
            [] => return Ok(Vec::new()),
            [one] => return Ok(vec![self.get_block(did, one).await?]),
            _ => {}
        }
        let sql = format!(
            "{} SELECT b.cid, b.bytes FROM block b \
             WHERE b.uid = {UID_OF_DID} AND b.cid IN (SELECT cid FROM ids)",
            cid_list_cte(2)
        );
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(did)
            .bind(cid_list(cids.iter().copied()))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        let mut found: std::collections::HashMap<Cid, Vec<u8>> =
            blocks_from_rows(rows)?.into_iter().collect();
        // Answer in the order asked; a CID asked twice gets its bytes twice.
        let mut out = Vec::with_capacity(cids.len());
        for (i, cid) in cids.iter().enumerate() {
            let again = cids[i + 1..].contains(cid);
            out.push(if again {
                found.get(cid).cloned()
            } else {
                found.remove(cid)
            });
        }
        Ok(out)
    }

    async fn all_blocks(&self, did: &str) -> Result<Vec<(Cid, Vec<u8>)>> {
        let sql = format!("SELECT cid, bytes FROM block WHERE uid = {UID_OF_DID}");
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        blocks_from_rows(rows)
    }

    async fn blocks_since(&self, did: &str, rev: &str) -> Result<Vec<(Cid, Vec<u8>)>> {
        let sql = format!("SELECT cid, bytes FROM block WHERE uid = {UID_OF_DID} AND rev > ?2");
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(&sql)
            .bind(did)
            .bind(rev)
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        blocks_from_rows(rows)
    }

    async fn apply_commit(&self, write: CommitWrite) -> Result<Option<i64>> {
        self.submit_commit(write).await?.await
    }

    async fn submit_commit(&self, write: CommitWrite) -> Result<PendingCommit> {
        let (reply, answer) = oneshot::channel();
        // The queue is FIFO and the writer applies its jobs in queue order.
        self.jobs
            .send(Job {
                op: Op::ApplyCommit(Box::new(write)),
                reply,
            })
            .await
            .map_err(|_| StoreError::Backend("the store is closed".into()))?;
        Ok(PendingCommit::new(async move {
            let done = answer
                .await
                .map_err(|_| StoreError::Backend("the store's writer stopped".into()))??;
            match done {
                Done::Seq(seq) => Ok(seq),
                other => Err(unexpected(other)),
            }
        }))
    }

    async fn get_record(
        &self,
        did: &str,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<StoredRecord>> {
        let sql = format!(
            "SELECT r.cid, b.bytes FROM record r LEFT JOIN block b ON b.uid = r.uid AND b.cid = r.cid \
             WHERE r.uid = {UID_OF_DID} AND r.collection = ?2 AND r.rkey = ?3"
        );
        let row: Option<(Vec<u8>, Option<Vec<u8>>)> = sqlx::query_as(&sql)
            .bind(did)
            .bind(collection)
            .bind(rkey)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        row.map(|(cid, bytes)| record_from_row(collection.into(), rkey.into(), cid, bytes))
            .transpose()
    }

    async fn list_records(
        &self,
        did: &str,
        collection: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<StoredRecord>> {
        // Newest first (rkey descending) unless `reverse`; the cursor is the last rkey seen.
        // (Two statements rather than a NULL test on the cursor, so that the cursor is a
        // range bound of the index seek.)
        let (cmp, order) = if reverse { (">", "ASC") } else { ("<", "DESC") };
        let (cursor_clause, limit_p) = if cursor.is_some() {
            (format!("AND r.rkey {cmp} ?3"), "?4")
        } else {
            (String::new(), "?3")
        };
        let sql = format!(
            "SELECT r.rkey, r.cid, b.bytes FROM record r \
             LEFT JOIN block b ON b.uid = r.uid AND b.cid = r.cid \
             WHERE r.uid = {UID_OF_DID} AND r.collection = ?2 {cursor_clause} \
             ORDER BY r.rkey {order} LIMIT {limit_p}"
        );
        let mut query = sqlx::query_as(&sql).bind(did).bind(collection);
        if let Some(cursor) = cursor {
            query = query.bind(cursor);
        }
        let rows: Vec<(String, Vec<u8>, Option<Vec<u8>>)> = query
            .bind(limit_param(limit))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.into_iter()
            .map(|(rkey, cid, bytes)| record_from_row(collection.into(), rkey, cid, bytes))
            .collect()
    }

    async fn list_collections(&self, did: &str) -> Result<Vec<String>> {
        // A skip scan over the (uid, collection, rkey) key: one index seek per collection
        // instead of reading every record.
        let sql = format!(
            "WITH RECURSIVE c(name) AS ( \
               SELECT min(collection) FROM record WHERE uid = {UID_OF_DID} \
               UNION ALL \
               SELECT (SELECT min(collection) FROM record WHERE uid = {UID_OF_DID} AND collection > c.name) \
               FROM c WHERE c.name IS NOT NULL) \
             SELECT name FROM c WHERE name IS NOT NULL"
        );
        sqlx::query_scalar(&sql)
            .bind(did)
            .fetch_all(&self.read)
            .await
            .map_err(backend)
    }

    async fn record_count(&self, did: &str) -> Result<i64> {
        let sql = format!("SELECT count(*) FROM record WHERE uid = {UID_OF_DID}");
        sqlx::query_scalar(&sql)
            .bind(did)
            .fetch_one(&self.read)
            .await
            .map_err(backend)
    }

    // --- blobs ---

    async fn put_temp_blob(&self, did: &str, meta: BlobMeta) -> Result<()> {
        self.write_unit(Op::PutTempBlob {
            did: did.into(),
            meta,
        })
        .await
    }

    async fn blob_meta(&self, did: &str, cid: &Cid) -> Result<Option<BlobMeta>> {
        let sql = format!(
            "SELECT mime_type, size, state, created_at FROM blob WHERE uid = {UID_OF_DID} AND cid = ?2"
        );
        let row: Option<(String, i64, i64, String)> = sqlx::query_as(&sql)
            .bind(did)
            .bind(cid.to_bytes().to_vec())
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        Ok(row.map(|(mime_type, size, state, created_at)| BlobMeta {
            cid: *cid,
            mime_type,
            size,
            temporary: state == writer::BLOB_TEMPORARY,
            created_at,
        }))
    }

    async fn list_blobs(
        &self,
        did: &str,
        since: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Cid>> {
        // The cursor is the last CID returned; CIDs are listed in binary order, which is the
        // order SQLite compares BLOBs in. A cursor that is not a CID lists nothing.
        let after = match cursor {
            None => Vec::new(),
            Some(c) => match Cid::from_str(c) {
                Ok(cid) => cid.to_bytes().to_vec(),
                Err(_) => return Ok(Vec::new()),
            },
        };
        let sql = format!(
            "SELECT cid FROM blob WHERE uid = {UID_OF_DID} AND state = {} AND cid > ?2 \
             AND (?3 IS NULL OR referenced_rev > ?3) ORDER BY cid LIMIT ?4",
            writer::BLOB_REFERENCED
        );
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(&sql)
            .bind(did)
            .bind(after)
            .bind(since)
            .bind(limit_param(limit))
            .fetch_all(&self.read)
            .await
            .map_err(backend)?;
        rows.iter().map(|c| cid_from_bytes(c)).collect()
    }

    async fn take_expired_temp_blobs(&self, before: i64) -> Result<Vec<(String, Cid)>> {
        match self.write(Op::TakeExpiredTempBlobs { before }).await? {
            Done::DidCids(list) => Ok(list),
            other => Err(unexpected(other)),
        }
    }

    async fn take_unreferenced_blobs(&self, did: &str) -> Result<Vec<Cid>> {
        self.write_cids(Op::TakeUnreferencedBlobs { did: did.into() })
            .await
    }

    // --- preferences ---

    async fn preferences(&self, did: &str) -> Result<Vec<serde_json::Value>> {
        let sql = format!("SELECT json FROM preference WHERE uid = {UID_OF_DID}");
        let json: Option<String> = sqlx::query_scalar(&sql)
            .bind(did)
            .fetch_optional(&self.read)
            .await
            .map_err(backend)?;
        match json {
            None => Ok(Vec::new()),
            Some(json) => serde_json::from_str(&json).map_err(backend),
        }
    }

    async fn put_preferences(&self, did: &str, prefs: Vec<serde_json::Value>) -> Result<()> {
        let json = serde_json::to_string(&prefs).map_err(backend)?;
        self.write_unit(Op::PutPreferences {
            did: did.into(),
            json,
        })
        .await
    }

    // --- firehose ---

    async fn sequence_event(&self, event: EventDraft) -> Result<i64> {
        match self.write(Op::SequenceEvent(event)).await? {
            Done::Seq(Some(seq)) => Ok(seq),
            other => Err(unexpected(other)),
        }
    }

    async fn events_after(&self, after: i64, limit: usize) -> Result<Vec<Event>> {
        let rows: Vec<(i64, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT seq, did, time_ms, frame FROM event WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(after)
        .bind(limit_param(limit))
        .fetch_all(&self.read)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|(seq, did, time_ms, frame)| Event {
                seq,
                did,
                time_ms,
                frame: Arc::new(frame),
            })
            .collect())
    }

    async fn last_seq(&self) -> Result<i64> {
        // sqlite_sequence remembers the largest seq even after the events are pruned.
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0), \
                        coalesce((SELECT max(seq) FROM event), 0))",
        )
        .fetch_one(&self.read)
        .await
        .map_err(backend)?;
        Ok(seq.unwrap_or(0))
    }

    async fn first_seq_since(&self, time_ms: i64) -> Result<Option<i64>> {
        // The writer never lets time_ms go down as seq goes up, so the first entry of the time
        // index at or after `time_ms` holds the lowest such seq.
        sqlx::query_scalar(
            "SELECT seq FROM event WHERE time_ms >= ?1 ORDER BY time_ms, seq LIMIT 1",
        )
        .bind(time_ms)
        .fetch_optional(&self.read)
        .await
        .map_err(backend)
    }

    async fn prune_events(&self, before_ms: i64) -> Result<u64> {
        match self.write(Op::PruneEvents { before_ms }).await? {
            Done::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// SQLite's LIMIT takes an i64; `usize::MAX` means no limit.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A directory under the system temp dir, removed (with its contents) on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> std::io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "relay-store-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
