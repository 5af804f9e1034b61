//! The write path: every change to an account's repo goes through here.
//!
//! Writes to one account are serialised by that account's lock (so no update is lost); writes
//! to different accounts run in parallel. Each account's `Repo` (with the MST nodes it has
//! loaded) stays cached between writes, so a write touches only the O(log n) nodes on its path.
//!
//! Commits are pipelined: under the lock a commit is built and signed in memory and queued
//! with `Store::submit_commit` (blocks, record index, blob references, head and the `#commit`
//! event, applied atomically); the lock is then released and the write waits, without it, for
//! its commit to be durable; only then is it acknowledged. So the next commit of the account
//! is built on the in-memory head while the previous one waits for the fsync, and the store's
//! writer applies them in queue order (one group commit can carry several of them). Every other
//! store write made under the lock (blob uploads and deletions) is queued behind the commits
//! queued before it, so it sees them applied (or refused).
//!
//! If a commit fails, the commits queued after it on its head fail their compare-and-swap
//! (`HeadConflict`) and nothing of them is stored; the cached repo is dropped and reloaded from
//! the store, after the commits still in flight are answered. A write refused with
//! `HeadConflict` is built again on the reloaded repo (a few times at most), so one bad write
//! does not fail the concurrent writes that were queued behind it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crypto::seal::MasterKey;
use crypto::Keypair;
use data::{Cid, Codec, Map, Value};
use repo::{Action, Repo, RepoError, WriteOp};
use store::{
    AccountBlocks, CommitWrite, EventDraft, PendingCommit, RecordIndexOp, RepoHead, Store,
    StoreError,
};
use syntax::TidGenerator;
use xrpc::XrpcError;

use crate::app::Db;
use crate::error::store_error;

/// One record write of a commit.
#[derive(Clone, Debug)]
pub struct Write {
    pub action: Action,
    pub collection: String,
    pub rkey: String,
    /// The record (creates and updates).
    pub record: Option<Value>,
    /// `swapRecord`: `Some(None)` means "must not exist", `Some(Some(cid))` "must be at cid".
    pub swap_record: Option<Option<Cid>>,
    /// putRecord: create or update, whichever the tree holds under the account's lock
    /// (`action` is then only the caller's guess).
    pub upsert: bool,
}

/// Drops an account's cached repo when dropped while armed (see [`RepoManager::write`]).
struct ResetOnDrop<'a>(Option<&'a mut Slot>);

impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.repo = None;
        }
    }
}

/// What a commit did.
#[derive(Clone, Debug)]
pub struct CommitOutcome {
    pub cid: Cid,
    pub rev: String,
    pub seq: Option<i64>,
    /// (path, new CID) per operation, in order; `None` for deletes.
    pub ops: Vec<(String, Option<Cid>)>,
}

/// An account's write lock, held until dropped ([`RepoManager::lock_account`]).
pub struct AccountLock {
    _guard: tokio::sync::OwnedMutexGuard<Slot>,
}

struct Slot {
    repo: Option<Repo<AccountBlocks<Db>>>,
    key: Option<Keypair>,
    /// Bumped each time `repo` is loaded from the store.
    epoch: u64,
    /// Each commit queued and not yet answered holds a read guard; a reload takes the write
    /// guard (under the account lock, so no commit is queued meanwhile) to wait for them.
    in_flight: Arc<tokio::sync::RwLock<()>>,
}

/// A write refused only because the head moved under it (a commit queued before it failed) is
/// built again, this many times at most.
const MAX_WRITE_ATTEMPTS: usize = 4;

/// Cached repos beyond this many are evicted (those not in use) to bound memory.
const MAX_CACHED_REPOS: usize = 2048;

pub struct RepoManager {
    store: Arc<Db>,
    master_key: Arc<MasterKey>,
    tids: TidGenerator,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

/// The purpose string a repo signing key is sealed under.
pub fn signing_key_purpose(did: &str) -> String {
    format!("repo-signing-key:{did}")
}

impl RepoManager {
    pub fn new(store: Arc<Db>, master_key: Arc<MasterKey>) -> RepoManager {
        RepoManager {
            store,
            master_key,
            tids: TidGenerator::new(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Seals a new account's signing key for storage.
    pub fn seal_signing_key(&self, did: &str, key: &Keypair) -> Vec<u8> {
        let mut plain = vec![match key.algorithm() {
            crypto::Algorithm::P256 => 1u8,
            crypto::Algorithm::K256 => 2u8,
        }];
        plain.extend_from_slice(&key.to_bytes()[..]);
        let sealed = self.master_key.seal(&signing_key_purpose(did), &plain);
        zeroize::Zeroize::zeroize(&mut plain);
        sealed
    }

    /// The account's signing key, unsealed.
    pub async fn signing_key(&self, did: &str) -> Result<Keypair, XrpcError> {
        let sealed = self
            .store
            .signing_key_sealed(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                XrpcError::invalid_request(format!("Could not find repo for DID: {did}"))
            })?;
        let plain = self
            .master_key
            .open(&signing_key_purpose(did), &sealed)
            .map_err(|e| XrpcError::internal(format!("cannot unseal the signing key: {e}")))?;
        let alg = match plain.first() {
            Some(1) => crypto::Algorithm::P256,
            Some(2) => crypto::Algorithm::K256,
            _ => {
                return Err(XrpcError::internal(
                    "sealed signing key has an unknown type",
                ))
            }
        };
        Keypair::from_bytes(alg, &plain[1..])
            .map_err(|e| XrpcError::internal(format!("sealed signing key is invalid: {e}")))
    }

    /// Waits until every commit of the account queued so far is answered (durable or refused),
    /// so that a read of the store afterwards sees them.
    pub async fn settle(&self, did: &str) {
        let in_flight = self.slot(did).lock().await.in_flight.clone();
        drop(in_flight.write().await);
    }

    /// Forgets a cached repo and key (after a key rotation, an import, a deletion).
    pub fn evict(&self, did: &str) {
        self.slots.lock().expect("not poisoned").remove(did);
    }

    /// Takes the account's write lock (the one commits hold) until the guard drops. Blob
    /// uploads and blob deletions take it so they never interleave (see `store::blobstore`).
    pub async fn lock_account(&self, did: &str) -> AccountLock {
        AccountLock {
            _guard: self.slot(did).lock_owned().await,
        }
    }

    fn slot(&self, did: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("not poisoned");
        if slots.len() >= MAX_CACHED_REPOS && !slots.contains_key(did) {
            // Drop repos nobody is using; their trees reload on demand.
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        slots
            .entry(did.to_owned())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(Slot {
                    repo: None,
                    key: None,
                    epoch: 0,
                    in_flight: Arc::new(tokio::sync::RwLock::new(())),
                }))
            })
            .clone()
    }

    /// Applies `writes` as one commit (an empty list makes an empty commit, as a new account's
    /// first commit is). `swap_commit` must match the current head when given. The `#commit`
    /// event is emitted unless `emit` is false (e.g. a deactivated account).
    pub async fn write(
        &self,
        did: &str,
        writes: Vec<Write>,
        swap_commit: Option<Cid>,
        emit: bool,
    ) -> Result<CommitOutcome, XrpcError> {
        let slot = self.slot(did);
        let mut attempt = 1;
        loop {
            let (pending, outcome, epoch, in_flight) = {
                let mut slot = slot.lock().await;
                // If this future is dropped mid-build (the client went away), the tree may hold
                // a half-made commit: the guard drops the cached repo so the next write reloads.
                let mut guard = ResetOnDrop(Some(&mut *slot));
                let submitted = self
                    .submit_locked(
                        guard.0.as_deref_mut().expect("armed"),
                        did,
                        writes.clone(),
                        swap_commit,
                        emit,
                    )
                    .await;
                match submitted {
                    Ok(submitted) => {
                        guard.0 = None; // disarm: the commit is queued, the tree matches it
                        submitted
                    }
                    // The tree may have moved in memory; the guard makes the next write reload.
                    Err(e) => return Err(e),
                }
            };
            // The account is unlocked: its next commit is built while this one is written.
            let result = pending.await;
            // Before locking again: a reload holding the lock waits for this guard.
            drop(in_flight);
            match result {
                Ok(seq) => return Ok(CommitOutcome { seq, ..outcome }),
                Err(e) => {
                    let mut slot = slot.lock().await;
                    // The cached tree holds this commit (and maybe more built on it), unless it
                    // was reloaded since (after this commit was answered).
                    if slot.epoch == epoch {
                        slot.repo = None;
                    }
                    drop(slot);
                    if matches!(e, StoreError::HeadConflict) && attempt < MAX_WRITE_ATTEMPTS {
                        attempt += 1;
                        continue;
                    }
                    return Err(store_error(e));
                }
            }
        }
    }

    /// Builds, signs and queues the commit; answers the queued commit, the outcome (without
    /// seq), the epoch of the tree it was built on and the in-flight guard to hold until the
    /// commit is answered.
    async fn submit_locked(
        &self,
        slot: &mut Slot,
        did: &str,
        writes: Vec<Write>,
        swap_commit: Option<Cid>,
        emit: bool,
    ) -> Result<
        (
            PendingCommit,
            CommitOutcome,
            u64,
            tokio::sync::OwnedRwLockReadGuard<()>,
        ),
        XrpcError,
    > {
        if slot.key.is_none() {
            slot.key = Some(self.signing_key(did).await?);
        }
        if slot.repo.is_none() {
            // Commits still in flight may yet move the head: wait until they are answered.
            drop(slot.in_flight.write().await);
            slot.epoch += 1;
            let blocks = AccountBlocks::new(self.store.clone(), did);
            let repo = match self.store.repo_head(did).await.map_err(store_error)? {
                Some(head) => Repo::open(blocks, head.cid).await.map_err(repo_error)?,
                None => Repo::create(blocks, did).map_err(repo_error)?,
            };
            slot.repo = Some(repo);
        }
        let key = slot.key.as_ref().expect("loaded above");
        let repo = slot.repo.as_mut().expect("loaded above");
        let prev_head = repo.head();
        if let Some(expected) = swap_commit {
            if prev_head != Some(expected) {
                return Err(invalid_swap(format!(
                    "Commit was at {}",
                    prev_head
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "null".into())
                )));
            }
        }
        let mut ops = Vec::with_capacity(writes.len());
        let mut index_blobs: HashMap<String, Vec<Cid>> = HashMap::new();
        for w in &writes {
            let current = if w.swap_record.is_some() || w.upsert {
                repo.get_record_cid(&w.collection, &w.rkey)
                    .await
                    .map_err(repo_error)?
            } else {
                None
            };
            if let Some(expected) = &w.swap_record {
                if current != *expected {
                    return Err(invalid_swap(format!(
                        "Record was at {}",
                        current
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| "null".into())
                    )));
                }
            }
            let action = match (w.upsert, current) {
                (true, Some(_)) => Action::Update,
                (true, None) => Action::Create,
                (false, _) => w.action,
            };
            let path = format!("{}/{}", w.collection, w.rkey);
            ops.push(match (action, &w.record) {
                (Action::Create, Some(record)) => WriteOp::create(&w.collection, &w.rkey, record),
                (Action::Update, Some(record)) => WriteOp::update(&w.collection, &w.rkey, record),
                (Action::Delete, _) => WriteOp::delete(&w.collection, &w.rkey),
                (_, None) => {
                    return Err(XrpcError::invalid_request(format!(
                        "{path}: a record is required"
                    )))
                }
            });
            if let Some(record) = &w.record {
                index_blobs.insert(path, blob_refs(record));
            }
        }
        let rev = self
            .tids
            .next_above(repo.rev().as_ref())
            .map_err(|e| XrpcError::internal(format!("no rev available: {e}")))?;
        let result = repo
            .apply_writes(&ops, rev, key)
            .await
            .map_err(repo_error)?;
        let rev_str = result.rev().to_string();
        let record_ops = result
            .ops
            .iter()
            .map(|op| {
                let (collection, rkey) = op.path.split_once('/').unwrap_or((&op.path, ""));
                RecordIndexOp {
                    collection: collection.to_owned(),
                    rkey: rkey.to_owned(),
                    cid: op.cid,
                    blobs: index_blobs.remove(&op.path).unwrap_or_default(),
                }
            })
            .collect();
        let event = emit.then(|| EventDraft {
            kind: "#commit",
            did: did.to_owned(),
            body: commit_event_body(did, &result),
        });
        let outcome_ops = result
            .ops
            .iter()
            .map(|op| (op.path.clone(), op.cid))
            .collect();
        let cid = result.cid;
        let in_flight = slot.in_flight.clone().read_owned().await;
        let pending = self
            .store
            .submit_commit(CommitWrite {
                did: did.to_owned(),
                prev_head,
                new_head: RepoHead {
                    cid,
                    rev: rev_str.clone(),
                },
                new_blocks: result.new_blocks,
                // The store keeps an old record block that another path still indexes.
                removed_blocks: result
                    .removed
                    .iter()
                    .chain(result.removed_records.iter())
                    .copied()
                    .collect(),
                record_ops,
                event,
            })
            .await
            .map_err(store_error)?;
        Ok((
            pending,
            CommitOutcome {
                cid,
                rev: rev_str,
                seq: None,
                ops: outcome_ops,
            },
            slot.epoch,
            in_flight,
        ))
    }
}

/// The body of a `#commit` event (com.atproto.sync.subscribeRepos#commit), without `seq`.
pub fn commit_event_body(did: &str, result: &repo::CommitResult) -> Map {
    let mut body = Map::new();
    body.insert("rebase".into(), Value::Bool(false));
    body.insert("tooBig".into(), Value::Bool(false));
    body.insert("repo".into(), Value::String(did.to_owned()));
    body.insert("commit".into(), Value::Link(result.cid));
    body.insert("rev".into(), Value::String(result.rev().to_string()));
    body.insert(
        "since".into(),
        result
            .since
            .as_ref()
            .map(|t| Value::String(t.to_string()))
            .unwrap_or(Value::Null),
    );
    body.insert("blocks".into(), Value::Bytes(result.diff_car()));
    let ops = result
        .ops
        .iter()
        .map(|op| {
            let mut m = Map::new();
            m.insert(
                "action".into(),
                Value::String(op.action.as_str().to_owned()),
            );
            m.insert("path".into(), Value::String(op.path.clone()));
            m.insert("cid".into(), op.cid.map(Value::Link).unwrap_or(Value::Null));
            if let Some(prev) = op.prev {
                m.insert("prev".into(), Value::Link(prev));
            }
            Value::Map(m)
        })
        .collect();
    body.insert("ops".into(), Value::Array(ops));
    body.insert("blobs".into(), Value::Array(Vec::new()));
    if let Some(prev_data) = result.prev_data {
        body.insert("prevData".into(), Value::Link(prev_data));
    }
    body.insert(
        "time".into(),
        Value::String(syntax::Datetime::now().to_rfc3339_millis()),
    );
    body
}

/// The blob CIDs a record references (`{$type: "blob", ref: <raw cid>}` anywhere inside).
pub fn blob_refs(record: &Value) -> Vec<Cid> {
    let mut out = Vec::new();
    collect_blob_refs(record, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect_blob_refs(value: &Value, out: &mut Vec<Cid>) {
    match value {
        Value::Map(map) => {
            if map.get("$type").and_then(Value::as_str) == Some("blob") {
                if let Some(Value::Link(cid)) = map.get("ref") {
                    if cid.codec() == Codec::Raw {
                        out.push(*cid);
                    }
                }
            }
            map.values().for_each(|v| collect_blob_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_blob_refs(v, out)),
        _ => {}
    }
}

fn invalid_swap(message: String) -> XrpcError {
    XrpcError::new(400, "InvalidSwap", message)
}

/// Repo-engine errors as XRPC errors: the client's mistakes are 400s, the rest 500s.
pub fn repo_error(e: RepoError) -> XrpcError {
    match e {
        RepoError::RecordExists(path) => {
            XrpcError::invalid_request(format!("Record already exists: {path}"))
        }
        RepoError::RecordNotFound(path) => {
            XrpcError::invalid_request(format!("Could not find record: {path}"))
        }
        RepoError::InvalidPath(path, why) => {
            XrpcError::invalid_request(format!("Invalid record path {path}: {why}"))
        }
        RepoError::DuplicatePath(path) => {
            XrpcError::invalid_request(format!("Duplicate write to {path}"))
        }
        RepoError::InvalidRecord { path, reason } => {
            XrpcError::invalid_request(format!("Invalid record {path}: {reason}"))
        }
        e @ (RepoError::TooManyOps(..)
        | RepoError::RecordTooLarge { .. }
        | RepoError::DiffTooLarge { .. }) => XrpcError::invalid_request(e.to_string()),
        other => {
            eprintln!("repo failure: {other}");
            XrpcError::internal("Internal Server Error")
        }
    }
}
