//! Where the relay keeps its state: accounts, sessions, repos (blocks, record index), blobs,
//! preferences and the firehose event log.
//!
//! [`Store`] is the interface the relay programs against. [`sqlite::SqliteStore`] is the embedded
//! default (one SQLite file in WAL mode, no setup); a PostgreSQL backend implements the same trait
//! later, and both run the same test suite.
//!
//! # Writes, durability and concurrency
//! Every change of a repo goes through [`Store::apply_commit`] as one [`CommitWrite`]: the new
//! blocks, the blocks to drop, the record-index and blob-reference changes, the new head and the
//! firehose event. It is applied atomically, and only if the account's head is still the one the
//! commit was built on (compare-and-swap), so a lost update is impossible even if two writers race.
//! The event's `seq` is assigned inside the same transaction, strictly increasing and never reused,
//! and the call returns only after the transaction is durable (fsync): an acknowledged write
//! survives a crash. The SQLite backend funnels writes into a writer task that group-commits
//! concurrent transactions (many accounts' writes share one fsync); reads use a separate pool and
//! never wait for writes (WAL). Serialising writes *per account* (building commits one after the
//! other) is the caller's job; the store only guarantees the compare-and-swap.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use data::Cid;

pub mod admin;
pub mod blobstore;
pub mod email;
pub mod migration;
pub mod oauth;
pub mod sqlite;

/// A failure of the store. Constraint violations that a caller must answer with a specific
/// XRPC error have their own variants.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("handle already taken")]
    HandleTaken,
    #[error("email already taken")]
    EmailTaken,
    #[error("account already exists")]
    DidTaken,
    #[error("invite code is invalid or used up")]
    InvalidInviteCode,
    #[error("no such account")]
    AccountNotFound,
    /// The head moved since the commit was built (a concurrent write won): rebuild and retry.
    #[error("repo head changed concurrently")]
    HeadConflict,
    #[error("a referenced blob is missing: {0}")]
    BlobNotFound(Cid),
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Hosting status of an account (account-lifecycle spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Deactivated,
    Takendown,
    Suspended,
    Deleted,
}

impl AccountStatus {
    /// The name used in `#account` events and `getRepoStatus` (`None` for active).
    pub fn as_status_str(self) -> Option<&'static str> {
        match self {
            AccountStatus::Active => None,
            AccountStatus::Deactivated => Some("deactivated"),
            AccountStatus::Takendown => Some("takendown"),
            AccountStatus::Suspended => Some("suspended"),
            AccountStatus::Deleted => Some("deleted"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    pub email_confirmed_at: Option<String>,
    /// RFC 3339 with milliseconds.
    pub created_at: String,
    pub status: AccountStatus,
    pub deactivated_at: Option<String>,
    pub invites_disabled: bool,
}

/// What `create_account` needs. The account, its repo head (if a first commit is given) and the
/// invite use are written in one transaction.
#[derive(Clone, Debug)]
pub struct NewAccount {
    pub did: String,
    pub handle: String,
    pub email: Option<String>,
    /// A password hash (the relay's format); `None` for accounts without a password.
    pub password_hash: Option<String>,
    /// The repo signing key, sealed by the caller (never stored in the clear).
    pub signing_key_sealed: Vec<u8>,
    /// Consumed atomically; `InvalidInviteCode` if it has no uses left.
    pub invite_code: Option<String>,
    /// Migration: the account starts deactivated.
    pub deactivated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoHead {
    pub cid: Cid,
    pub rev: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPassword {
    pub name: String,
    pub password_hash: String,
    pub privileged: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// The token's `jti`.
    pub id: String,
    pub did: String,
    /// Set when the session was made with an app password.
    pub app_password_name: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// After rotation: the id of the token that replaced it (a short grace period lets a client
    /// that lost the response retry).
    pub next_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InviteCode {
    pub code: String,
    pub available: i64,
    pub disabled: bool,
    pub for_account: String,
    pub created_by: String,
    pub created_at: String,
    /// (used by DID, used at)
    pub uses: Vec<(String, String)>,
}

/// One change of the record index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordIndexOp {
    pub collection: String,
    pub rkey: String,
    /// The record's new CID; `None` deletes the entry.
    pub cid: Option<Cid>,
    /// Blobs the new record version references (replaces the previous version's references).
    pub blobs: Vec<Cid>,
}

/// A firehose event to sequence. The store inserts `seq` into `body` and writes the frame
/// (`{op: 1, t: kind}` header then body, both DAG-CBOR) as one blob, ready to send.
#[derive(Clone, Debug)]
pub struct EventDraft {
    /// `#commit`, `#sync`, `#identity` or `#account`.
    pub kind: &'static str,
    pub did: String,
    /// The event body without `seq` (it must carry `time` and everything else).
    pub body: data::Map,
}

/// A sequenced event, as stored and as broadcast to live subscribers.
#[derive(Clone, Debug)]
pub struct Event {
    pub seq: i64,
    pub did: String,
    /// When it was sequenced, unix milliseconds.
    pub time_ms: i64,
    /// The complete event-stream frame (header and body).
    pub frame: Arc<Vec<u8>>,
}

/// Everything one commit changes, applied atomically.
#[derive(Clone, Debug)]
pub struct CommitWrite {
    pub did: String,
    /// The head this commit was built on (`None` for the first commit); compare-and-swap.
    pub prev_head: Option<Cid>,
    pub new_head: RepoHead,
    /// Blocks to store (commit, MST nodes, records), tagged with `new_head.rev` for `getRepo?since`.
    pub new_blocks: Vec<(Cid, Vec<u8>)>,
    /// Blocks no longer referenced. The store keeps a record block still indexed at another path.
    pub removed_blocks: Vec<Cid>,
    pub record_ops: Vec<RecordIndexOp>,
    /// The firehose event; `None` for writes that must not be emitted (an imported repo of a
    /// deactivated account).
    pub event: Option<EventDraft>,
}

/// A queued commit ([`Store::submit_commit`]): resolves once it is applied and durable, with
/// the event's seq.
#[must_use = "a commit is not acknowledged until its PendingCommit resolves"]
pub struct PendingCommit(Pin<Box<dyn Future<Output = Result<Option<i64>>> + Send + 'static>>);

impl PendingCommit {
    pub fn new(answer: impl Future<Output = Result<Option<i64>>> + Send + 'static) -> Self {
        PendingCommit(Box::pin(answer))
    }
}

impl Future for PendingCommit {
    type Output = Result<Option<i64>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for PendingCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCommit").finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    pub cid: Cid,
    pub mime_type: String,
    pub size: i64,
    /// Uploaded but not referenced by any record yet.
    pub temporary: bool,
    pub created_at: String,
}

/// A record as read from the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    pub collection: String,
    pub rkey: String,
    pub cid: Cid,
    pub bytes: Vec<u8>,
}

/// The relay's state. All methods take `&self`; implementations are shared behind an `Arc`.
pub trait Store: Send + Sync + 'static {
    // --- accounts ---
    fn create_account(&self, account: NewAccount) -> impl Future<Output = Result<()>> + Send;
    fn account_by_did(&self, did: &str) -> impl Future<Output = Result<Option<Account>>> + Send;
    fn account_by_handle(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<Option<Account>>> + Send;
    fn account_by_email(&self, email: &str)
        -> impl Future<Output = Result<Option<Account>>> + Send;
    fn password_hash(&self, did: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    fn set_password_hash(&self, did: &str, hash: &str) -> impl Future<Output = Result<()>> + Send;
    fn signing_key_sealed(&self, did: &str)
        -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn set_signing_key_sealed(
        &self,
        did: &str,
        sealed: &[u8],
    ) -> impl Future<Output = Result<()>> + Send;
    fn update_handle(&self, did: &str, handle: &str) -> impl Future<Output = Result<()>> + Send;
    fn update_email(
        &self,
        did: &str,
        email: Option<&str>,
        confirmed_at: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn set_account_status(
        &self,
        did: &str,
        status: AccountStatus,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `com.atproto.admin.disableAccountInvites` / `enableAccountInvites`.
    fn set_invites_disabled(
        &self,
        did: &str,
        disabled: bool,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Accounts in DID order after `cursor`, with their repo heads.
    fn list_accounts(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(Account, Option<RepoHead>)>>> + Send;
    /// Removes the account and everything it owns (blocks, records, blobs, sessions,
    /// preferences); returns the blob CIDs whose files the caller's blob store must delete.
    fn delete_account(&self, did: &str) -> impl Future<Output = Result<Vec<Cid>>> + Send;

    // --- app passwords and sessions ---
    fn create_app_password(
        &self,
        did: &str,
        password: AppPassword,
    ) -> impl Future<Output = Result<()>> + Send;
    fn list_app_passwords(
        &self,
        did: &str,
    ) -> impl Future<Output = Result<Vec<AppPassword>>> + Send;
    /// Also revokes the sessions made with it.
    fn delete_app_password(&self, did: &str, name: &str)
        -> impl Future<Output = Result<()>> + Send;
    fn put_refresh_token(&self, token: RefreshToken) -> impl Future<Output = Result<()>> + Send;
    fn refresh_token(&self, id: &str) -> impl Future<Output = Result<Option<RefreshToken>>> + Send;
    /// Marks `old_id` as replaced by `next`, shortens its life to `grace_expires_at`, and stores `next`.
    fn rotate_refresh_token(
        &self,
        old_id: &str,
        grace_expires_at: i64,
        next: RefreshToken,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete_refresh_token(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn delete_refresh_tokens_for(&self, did: &str) -> impl Future<Output = Result<()>> + Send;

    // --- invite codes ---
    fn create_invite_codes(&self, codes: &[InviteCode]) -> impl Future<Output = Result<()>> + Send;
    fn invite_code(&self, code: &str) -> impl Future<Output = Result<Option<InviteCode>>> + Send;
    fn invite_codes_for(&self, did: &str) -> impl Future<Output = Result<Vec<InviteCode>>> + Send;
    fn disable_invite_codes(
        &self,
        codes: &[String],
        accounts: &[String],
    ) -> impl Future<Output = Result<()>> + Send;

    // --- repos ---
    fn repo_head(&self, did: &str) -> impl Future<Output = Result<Option<RepoHead>>> + Send;
    fn get_block(
        &self,
        did: &str,
        cid: &Cid,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;
    fn get_blocks(
        &self,
        did: &str,
        cids: &[Cid],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>>> + Send;
    /// Every block of the repo (for a full export), in no particular order.
    fn all_blocks(&self, did: &str) -> impl Future<Output = Result<Vec<(Cid, Vec<u8>)>>> + Send;
    /// Blocks written by revisions after `rev` (for `getRepo?since`).
    fn blocks_since(
        &self,
        did: &str,
        rev: &str,
    ) -> impl Future<Output = Result<Vec<(Cid, Vec<u8>)>>> + Send;
    /// Applies a commit atomically and durably (see the crate docs); returns the event's seq.
    /// The same as awaiting [`submit_commit`](Store::submit_commit) and then its answer.
    fn apply_commit(&self, write: CommitWrite) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// Queues a commit for the writer and resolves as soon as it is queued (waiting only while
    /// the writer's queue is full), with a [`PendingCommit`] that resolves once the commit is
    /// applied and durable, with what [`apply_commit`](Store::apply_commit) would answer.
    ///
    /// Commits are applied in the order they were queued: a caller that awaits one
    /// `submit_commit` before making the next may build the second on the first's head
    /// (`prev_head` = the first's `new_head`) without waiting for the first to be durable. If
    /// the first fails, the second fails its compare-and-swap (`HeadConflict`) and nothing of
    /// either is stored. Dropping the `PendingCommit` does not withdraw the commit.
    fn submit_commit(
        &self,
        write: CommitWrite,
    ) -> impl Future<Output = Result<PendingCommit>> + Send;
    fn get_record(
        &self,
        did: &str,
        collection: &str,
        rkey: &str,
    ) -> impl Future<Output = Result<Option<StoredRecord>>> + Send;
    /// Records of one collection in rkey order (descending unless `reverse`), after `cursor`.
    fn list_records(
        &self,
        did: &str,
        collection: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> impl Future<Output = Result<Vec<StoredRecord>>> + Send;
    fn list_collections(&self, did: &str) -> impl Future<Output = Result<Vec<String>>> + Send;
    fn record_count(&self, did: &str) -> impl Future<Output = Result<i64>> + Send;

    // --- blobs (metadata; bytes live in a BlobStore) ---
    fn put_temp_blob(&self, did: &str, meta: BlobMeta) -> impl Future<Output = Result<()>> + Send;
    fn blob_meta(
        &self,
        did: &str,
        cid: &Cid,
    ) -> impl Future<Output = Result<Option<BlobMeta>>> + Send;
    /// Committed (referenced) blobs, in CID order after `cursor`, optionally only those first
    /// referenced after revision `since`.
    fn list_blobs(
        &self,
        did: &str,
        since: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Cid>>> + Send;
    /// Temporary blobs older than `before` (unix seconds), removed from the index; returns
    /// (did, cid) so the caller deletes the bytes.
    fn take_expired_temp_blobs(
        &self,
        before: i64,
    ) -> impl Future<Output = Result<Vec<(String, Cid)>>> + Send;
    /// Blobs no record references any more (after deletes), removed from the index.
    fn take_unreferenced_blobs(&self, did: &str) -> impl Future<Output = Result<Vec<Cid>>> + Send;

    // --- preferences ---
    fn preferences(&self, did: &str)
        -> impl Future<Output = Result<Vec<serde_json::Value>>> + Send;
    fn put_preferences(
        &self,
        did: &str,
        prefs: Vec<serde_json::Value>,
    ) -> impl Future<Output = Result<()>> + Send;

    // --- firehose ---
    /// Sequences an event that is not part of a commit (`#identity`, `#account`, `#sync`).
    fn sequence_event(&self, event: EventDraft) -> impl Future<Output = Result<i64>> + Send;
    /// Events with seq > `after`, oldest first, at most `limit`.
    fn events_after(
        &self,
        after: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>>> + Send;
    /// The highest seq ever assigned (0 if none).
    fn last_seq(&self) -> impl Future<Output = Result<i64>> + Send;
    /// The lowest seq sequenced at or after `time_ms` (for the backfill window).
    fn first_seq_since(&self, time_ms: i64) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// Deletes events sequenced before `before_ms` (unix milliseconds): the log keeps a
    /// backfill window, not the whole history. Seqs stay unique: `last_seq` and the next seq
    /// do not go down. Returns how many events were deleted.
    fn prune_events(&self, before_ms: i64) -> impl Future<Output = Result<u64>> + Send;
    /// Live events, in seq order, as they become durable.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event>;
}

/// One account's blocks behind the repo engine's [`repo::blockstore::BlockStore`]. Reads only:
/// the engine never writes (a commit is persisted with [`Store::apply_commit`]). Owns an `Arc`
/// of the store so a relay can keep an account's `Repo` (and its cached tree) between requests.
pub struct AccountBlocks<S: Store> {
    store: Arc<S>,
    did: String,
}

impl<S: Store> AccountBlocks<S> {
    pub fn new(store: Arc<S>, did: impl Into<String>) -> Self {
        AccountBlocks {
            store,
            did: did.into(),
        }
    }
}

impl<S: Store> repo::blockstore::BlockStore for AccountBlocks<S> {
    async fn get(
        &self,
        cid: &Cid,
    ) -> std::result::Result<Option<Vec<u8>>, repo::blockstore::StoreError> {
        self.store
            .get_block(&self.did, cid)
            .await
            .map_err(repo::blockstore::StoreError::new)
    }

    async fn get_many(
        &self,
        cids: &[Cid],
    ) -> std::result::Result<Vec<Option<Vec<u8>>>, repo::blockstore::StoreError> {
        self.store
            .get_blocks(&self.did, cids)
            .await
            .map_err(repo::blockstore::StoreError::new)
    }

    async fn has(&self, cid: &Cid) -> std::result::Result<bool, repo::blockstore::StoreError> {
        Ok(self.get(cid).await?.is_some())
    }

    async fn put(
        &self,
        _cid: Cid,
        _bytes: Vec<u8>,
    ) -> std::result::Result<(), repo::blockstore::StoreError> {
        Err(repo::blockstore::StoreError::new(
            "blocks are written with Store::apply_commit",
        ))
    }

    async fn remove_many(
        &self,
        _cids: &[Cid],
    ) -> std::result::Result<(), repo::blockstore::StoreError> {
        Err(repo::blockstore::StoreError::new(
            "blocks are removed with Store::apply_commit",
        ))
    }
}
