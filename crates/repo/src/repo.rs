//! One account's repository: its head commit, its tree, and the write path.

use std::collections::HashSet;
use std::ops::Bound;

use data::{cbor, Cid, Value};
use syntax::Tid;

use crate::blockstore::{BlockStore, StoreError};
use crate::car::CarError;
use crate::commit::{CommitError, SignedCommit, UnsignedCommit};
use crate::diff::{Action, CommitResult, PreparedCommit, RecordOp};
use crate::mst::{validate_key, Mst, MstError};

/// A record write, as `com.atproto.repo.applyWrites` takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// Creates a record that must not exist yet. `record` is its DAG-CBOR encoding.
    Create {
        collection: String,
        rkey: String,
        record: Vec<u8>,
    },
    /// Replaces a record that must exist.
    Update {
        collection: String,
        rkey: String,
        record: Vec<u8>,
    },
    /// Deletes a record that must exist.
    Delete { collection: String, rkey: String },
}

impl WriteOp {
    pub fn create(
        collection: impl Into<String>,
        rkey: impl Into<String>,
        record: &Value,
    ) -> WriteOp {
        WriteOp::Create {
            collection: collection.into(),
            rkey: rkey.into(),
            record: cbor::encode(record),
        }
    }

    pub fn update(
        collection: impl Into<String>,
        rkey: impl Into<String>,
        record: &Value,
    ) -> WriteOp {
        WriteOp::Update {
            collection: collection.into(),
            rkey: rkey.into(),
            record: cbor::encode(record),
        }
    }

    pub fn delete(collection: impl Into<String>, rkey: impl Into<String>) -> WriteOp {
        WriteOp::Delete {
            collection: collection.into(),
            rkey: rkey.into(),
        }
    }

    pub fn collection(&self) -> &str {
        match self {
            WriteOp::Create { collection, .. }
            | WriteOp::Update { collection, .. }
            | WriteOp::Delete { collection, .. } => collection,
        }
    }

    pub fn rkey(&self) -> &str {
        match self {
            WriteOp::Create { rkey, .. }
            | WriteOp::Update { rkey, .. }
            | WriteOp::Delete { rkey, .. } => rkey,
        }
    }

    /// `<collection>/<rkey>`, the MST key.
    pub fn path(&self) -> String {
        format!("{}/{}", self.collection(), self.rkey())
    }

    fn record(&self) -> Option<&[u8]> {
        match self {
            WriteOp::Create { record, .. } | WriteOp::Update { record, .. } => Some(record),
            WriteOp::Delete { .. } => None,
        }
    }
}

/// Limits that keep every commit emittable on the firehose (Sync v1.1, §Commit Size Limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitLimits {
    /// Most record operations in one commit.
    pub max_ops: usize,
    /// Largest record, in bytes of DAG-CBOR.
    pub max_record_bytes: usize,
    /// Largest diff CAR (`blocks` of the `#commit` event).
    pub max_diff_bytes: usize,
}

impl Default for CommitLimits {
    fn default() -> Self {
        CommitLimits {
            max_ops: 200,
            max_record_bytes: 1_000_000,
            max_diff_bytes: 2_000_000,
        }
    }
}

impl CommitLimits {
    /// No limits (bulk loads that never reach a firehose).
    pub const UNLIMITED: CommitLimits = CommitLimits {
        max_ops: usize::MAX,
        max_record_bytes: usize::MAX,
        max_diff_bytes: usize::MAX,
    };
}

/// What can go wrong with a repository operation.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    Mst(#[from] MstError),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Car(#[from] CarError),
    #[error("block {0} is missing from the store")]
    MissingBlock(Cid),
    #[error("invalid DID {0:?}: {1}")]
    InvalidDid(String, String),
    #[error("invalid repo path {0:?}: {1}")]
    InvalidPath(String, String),
    #[error("{0} is written twice in one commit")]
    DuplicatePath(String),
    #[error("record {0} already exists")]
    RecordExists(String),
    #[error("record {0} does not exist")]
    RecordNotFound(String),
    #[error("record {path} is not valid DAG-CBOR: {reason}")]
    InvalidRecord { path: String, reason: String },
    #[error("rev {proposed} is not after the current rev {current}")]
    RevNotIncreasing { current: Tid, proposed: Tid },
    #[error("the repository has no commit yet")]
    NoCommit,
    #[error("a prepared commit is outstanding: finish or discard it first")]
    PendingCommit,
    #[error("this commit was not prepared by this repo, or was already finished")]
    NotPending,
    #[error("{0} operations in one commit (limit {1})")]
    TooManyOps(usize, usize),
    #[error("record {path} is {size} bytes (limit {limit})")]
    RecordTooLarge {
        path: String,
        size: usize,
        limit: usize,
    },
    #[error("the commit's diff would be {size} bytes (limit {limit})")]
    DiffTooLarge { size: usize, limit: usize },
}

/// One account's repository over a block store.
///
/// It holds the head commit and a lazily loaded tree; reads and writes fetch only the nodes
/// they need. Writes go through [`Repo::apply_writes`] (or [`Repo::prepare_commit`] and a
/// signature from elsewhere) and come back as a [`CommitResult`] that the caller stores
/// (for example with [`CommitResult::persist`]) and emits; the repo does not write to its
/// store.
pub struct Repo<S: BlockStore> {
    store: S,
    did: String,
    head: Option<(Cid, SignedCommit)>,
    tree: Mst,
    pending: Option<UnsignedCommit>,
    limits: CommitLimits,
}

impl<S: BlockStore> std::fmt::Debug for Repo<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("did", &self.did)
            .field("head", &self.head())
            .field("rev", &self.rev())
            .finish_non_exhaustive()
    }
}

impl<S: BlockStore> Repo<S> {
    /// A new, empty repository with no commit yet; the first write makes the first commit.
    pub fn create(store: S, did: impl Into<String>) -> Result<Repo<S>, RepoError> {
        let did = did.into();
        syntax::validate_did(&did)
            .map_err(|e| RepoError::InvalidDid(did.clone(), e.to_string()))?;
        Ok(Repo {
            store,
            did,
            head: None,
            tree: Mst::new(),
            pending: None,
            limits: CommitLimits::default(),
        })
    }

    /// Opens the repository whose head commit is `head`. Reads the commit only.
    pub async fn open(store: S, head: Cid) -> Result<Repo<S>, RepoError> {
        let bytes = store
            .get(&head)
            .await?
            .ok_or(RepoError::MissingBlock(head))?;
        let commit = SignedCommit::from_bytes(&bytes)?;
        Ok(Repo {
            did: commit.did().to_string(),
            tree: Mst::load(commit.data()),
            head: Some((head, commit)),
            store,
            pending: None,
            limits: CommitLimits::default(),
        })
    }

    /// Replaces the commit limits (default: the firehose's).
    pub fn with_limits(mut self, limits: CommitLimits) -> Repo<S> {
        self.limits = limits;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }

    pub fn did(&self) -> &str {
        &self.did
    }

    /// The head commit's CID; `None` before the first commit.
    pub fn head(&self) -> Option<Cid> {
        self.head.as_ref().map(|(cid, _)| *cid)
    }

    /// The head commit.
    pub fn commit(&self) -> Option<&SignedCommit> {
        self.head.as_ref().map(|(_, c)| c)
    }

    /// The current rev.
    pub fn rev(&self) -> Option<Tid> {
        self.commit().map(SignedCommit::rev)
    }

    /// The MST root of the head commit (the empty tree's before the first commit).
    pub fn data(&self) -> Cid {
        self.commit()
            .map(SignedCommit::data)
            .unwrap_or_else(Mst::empty_root)
    }

    /// The tree, for walks beyond what the repo offers.
    pub fn tree(&mut self) -> (&mut Mst, &S) {
        (&mut self.tree, &self.store)
    }

    /// The CID of a record, if it exists.
    pub async fn get_record_cid(
        &mut self,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<Cid>, RepoError> {
        let path = repo_path(collection, rkey)?;
        Ok(self.tree.get(&self.store, &path).await?)
    }

    /// A record's CID and bytes, if it exists.
    pub async fn get_record(
        &mut self,
        collection: &str,
        rkey: &str,
    ) -> Result<Option<(Cid, Vec<u8>)>, RepoError> {
        let Some(cid) = self.get_record_cid(collection, rkey).await? else {
            return Ok(None);
        };
        let bytes = self
            .store
            .get(&cid)
            .await?
            .ok_or(RepoError::MissingBlock(cid))?;
        Ok(Some((cid, bytes)))
    }

    /// Record keys and CIDs of one collection: ascending from after `cursor`, or descending
    /// from before it if `reverse`, at most `limit`.
    pub async fn list_records(
        &mut self,
        collection: &str,
        cursor: Option<&str>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(String, Cid)>, RepoError> {
        syntax::validate_nsid(collection)
            .map_err(|e| RepoError::InvalidPath(collection.to_string(), e.to_string()))?;
        // Every key of the collection lies strictly between "<nsid>/" and "<nsid>0".
        let start = format!("{collection}/");
        let end = format!("{collection}0");
        let at = cursor.map(|c| format!("{collection}/{c}"));
        let (lo, hi) = match (&at, reverse) {
            (Some(at), false) => (Bound::Excluded(at.as_str()), Bound::Excluded(end.as_str())),
            (Some(at), true) => (
                Bound::Excluded(start.as_str()),
                Bound::Excluded(at.as_str()),
            ),
            (None, _) => (
                Bound::Excluded(start.as_str()),
                Bound::Excluded(end.as_str()),
            ),
        };
        let list = self.tree.list(&self.store, lo, hi, limit, reverse).await?;
        Ok(list
            .into_iter()
            .map(|(k, v)| (k[start.len()..].to_string(), v))
            .collect())
    }

    /// Applies `writes` as one commit at `rev`, signed with `key`.
    pub async fn apply_writes(
        &mut self,
        writes: &[WriteOp],
        rev: Tid,
        key: &crypto::Keypair,
    ) -> Result<CommitResult, RepoError> {
        let prepared = self.prepare_commit(writes, rev).await?;
        let sig = key.sign(&prepared.commit.bytes_to_sign()).to_vec();
        self.finish_commit(prepared, sig, None)
    }

    /// Applies `writes` to the tree and builds the unsigned commit at `rev` with its diff.
    ///
    /// The repo then waits for [`finish_commit`](Self::finish_commit) (with the signature) or
    /// [`discard_prepared`](Self::discard_prepared); it refuses other writes meanwhile. On
    /// error nothing changes. `rev` must be after the current rev; pick it with
    /// `TidGenerator::next_above(repo.rev().as_ref())`.
    pub async fn prepare_commit(
        &mut self,
        writes: &[WriteOp],
        rev: Tid,
    ) -> Result<PreparedCommit, RepoError> {
        if self.pending.is_some() {
            return Err(RepoError::PendingCommit);
        }
        if let Some(current) = self.rev() {
            if rev <= current {
                return Err(RepoError::RevNotIncreasing {
                    current,
                    proposed: rev,
                });
            }
        }
        let checked = self.check_writes(writes)?;
        let prev_data = self.commit().map(SignedCommit::data);
        match self.build(checked, rev).await {
            Ok(prepared) => {
                self.pending = Some(prepared.commit.clone());
                Ok(PreparedCommit {
                    prev_data,
                    ..prepared
                })
            }
            Err(err) => {
                // The tree may be half-edited: go back to the head's tree (stored), dropping
                // the cache.
                self.tree = match self.commit() {
                    Some(c) => Mst::load(c.data()),
                    None => Mst::new(),
                };
                Err(err)
            }
        }
    }

    /// Signs a prepared commit with `key` and makes it the head.
    pub fn sign_commit(
        &mut self,
        prepared: PreparedCommit,
        key: &crypto::Keypair,
    ) -> Result<CommitResult, RepoError> {
        let sig = key.sign(&prepared.commit.bytes_to_sign()).to_vec();
        self.finish_commit(prepared, sig, None)
    }

    /// Attaches a signature made elsewhere over `prepared.commit.bytes_to_sign()` and makes the
    /// commit the head; checks the signature first if `verify_with` is given.
    pub fn finish_commit(
        &mut self,
        prepared: PreparedCommit,
        sig: Vec<u8>,
        verify_with: Option<&crypto::PublicKey>,
    ) -> Result<CommitResult, RepoError> {
        if self.pending.as_ref() != Some(&prepared.commit) {
            return Err(RepoError::NotPending);
        }
        if let Some(key) = verify_with {
            key.verify(&prepared.commit.bytes_to_sign(), &sig)
                .map_err(CommitError::from)?;
        }
        let result = prepared.into_result(sig);
        self.pending = None;
        self.head = Some((result.cid, result.commit.clone()));
        Ok(result)
    }

    /// Abandons a prepared commit: the tree goes back to the head's.
    pub fn discard_prepared(&mut self) {
        if self.pending.take().is_some() {
            self.tree = match self.commit() {
                Some(c) => Mst::load(c.data()),
                None => Mst::new(),
            };
        }
    }

    /// The CAR proving a record's presence or absence at the head (`sync.getRecord`).
    pub async fn record_proof(
        &mut self,
        collection: &str,
        rkey: &str,
    ) -> Result<Vec<u8>, RepoError> {
        let path = repo_path(collection, rkey)?;
        let (head, commit) = self.head.as_ref().ok_or(RepoError::NoCommit)?;
        let commit_block = (*head, commit.to_bytes());
        crate::proof::prove(&mut self.tree, &self.store, commit_block, &path).await
    }

    /// The whole repository as a CAR (`sync.getRepo`), in streamable order.
    pub async fn export_car(&self) -> Result<Vec<u8>, RepoError> {
        let head = self.head().ok_or(RepoError::NoCommit)?;
        crate::export::export_car(&self.store, head).await
    }

    fn check_writes<'w>(&self, writes: &'w [WriteOp]) -> Result<Vec<Checked<'w>>, RepoError> {
        if writes.len() > self.limits.max_ops {
            return Err(RepoError::TooManyOps(writes.len(), self.limits.max_ops));
        }
        let mut seen = HashSet::with_capacity(writes.len());
        let mut out = Vec::with_capacity(writes.len());
        for write in writes {
            let path = repo_path(write.collection(), write.rkey())?;
            if !seen.insert(path.clone()) {
                return Err(RepoError::DuplicatePath(path));
            }
            let cid = match write.record() {
                None => None,
                Some(bytes) => {
                    if bytes.len() > self.limits.max_record_bytes {
                        return Err(RepoError::RecordTooLarge {
                            path,
                            size: bytes.len(),
                            limit: self.limits.max_record_bytes,
                        });
                    }
                    // Only canonical DAG-CBOR has one CID; records are objects.
                    match cbor::decode(bytes) {
                        Ok(Value::Map(_)) => {}
                        Ok(_) => {
                            return Err(RepoError::InvalidRecord {
                                path,
                                reason: "a record must be an object".into(),
                            })
                        }
                        Err(e) => {
                            return Err(RepoError::InvalidRecord {
                                path,
                                reason: e.to_string(),
                            })
                        }
                    }
                    Some(Cid::for_dag_cbor(bytes))
                }
            };
            out.push(Checked { write, path, cid });
        }
        Ok(out)
    }

    async fn build(
        &mut self,
        writes: Vec<Checked<'_>>,
        rev: Tid,
    ) -> Result<PreparedCommit, RepoError> {
        let mut ops = Vec::with_capacity(writes.len());
        let mut records: Vec<(Cid, Vec<u8>)> = Vec::new();
        let mut record_seen = HashSet::new();
        for w in &writes {
            let (action, prev) = match w.write {
                WriteOp::Create { .. } => {
                    let cid = w.cid.expect("records have a CID");
                    if self.tree.insert(&self.store, &w.path, cid).await?.is_some() {
                        return Err(RepoError::RecordExists(w.path.clone()));
                    }
                    (Action::Create, None)
                }
                WriteOp::Update { .. } => {
                    let cid = w.cid.expect("records have a CID");
                    match self.tree.insert(&self.store, &w.path, cid).await? {
                        None => return Err(RepoError::RecordNotFound(w.path.clone())),
                        // Same record again: the tree is unchanged, and so is the op list.
                        Some(prev) if prev == cid => continue,
                        Some(prev) => (Action::Update, Some(prev)),
                    }
                }
                WriteOp::Delete { .. } => match self.tree.remove(&self.store, &w.path).await? {
                    None => return Err(RepoError::RecordNotFound(w.path.clone())),
                    Some(prev) => (Action::Delete, Some(prev)),
                },
            };
            if let (Some(cid), Some(bytes)) = (w.cid, w.write.record()) {
                if record_seen.insert(cid) {
                    records.push((cid, bytes.to_vec()));
                }
            }
            ops.push(RecordOp {
                action,
                path: w.path.clone(),
                cid: w.cid,
                prev,
            });
        }

        let changes = self.tree.take_changes();

        // The unchanged nodes around each changed key, so that receivers can invert the ops.
        let mut skip: HashSet<Cid> = changes.new_nodes.iter().map(|(c, _)| *c).collect();
        let mut proof_blocks = Vec::new();
        for op in &ops {
            self.tree
                .covering_nodes(&self.store, &op.path, &mut skip, &mut proof_blocks)
                .await?;
        }

        let mut removed = changes.removed;
        if let Some((head, _)) = &self.head {
            removed.push(*head);
        }
        let still_used: HashSet<Cid> = ops.iter().filter_map(|op| op.cid).collect();
        let mut removed_records: Vec<Cid> = ops
            .iter()
            .filter_map(|op| op.prev)
            .filter(|cid| !still_used.contains(cid))
            .collect();
        removed_records.sort_unstable();
        removed_records.dedup();

        let mut new_blocks = changes.new_nodes;
        new_blocks.extend(records);
        let prepared = PreparedCommit {
            commit: UnsignedCommit::new(self.did.clone(), changes.root, rev),
            since: self.rev(),
            prev_data: None,
            ops,
            new_blocks,
            proof_blocks,
            removed,
            removed_records,
        };
        let size = prepared.diff_size(64);
        if size > self.limits.max_diff_bytes {
            return Err(RepoError::DiffTooLarge {
                size,
                limit: self.limits.max_diff_bytes,
            });
        }
        Ok(prepared)
    }
}

struct Checked<'a> {
    write: &'a WriteOp,
    path: String,
    cid: Option<Cid>,
}

/// `<collection>/<rkey>` after checking both parts (repository spec, §Repo Paths).
pub(crate) fn repo_path(collection: &str, rkey: &str) -> Result<String, RepoError> {
    let path = format!("{collection}/{rkey}");
    syntax::validate_nsid(collection)
        .map_err(|e| RepoError::InvalidPath(path.clone(), e.to_string()))?;
    syntax::validate_record_key(rkey)
        .map_err(|e| RepoError::InvalidPath(path.clone(), e.to_string()))?;
    validate_key(&path).map_err(|e| RepoError::InvalidPath(path.clone(), e.to_string()))?;
    Ok(path)
}
