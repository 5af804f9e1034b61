//! What one commit changes, and the CAR slice ("diff") that carries it (repository spec,
//! §Repository Diffs; Sync v1.1).
//!
//! A commit's diff holds the signed commit (the CAR's first root), every MST node new in this
//! revision, the unchanged MST nodes a receiver needs to invert the operations (the nodes
//! around each changed key, see [`crate::mst`]), and the blocks of created and updated records.
//! Deleted records and old versions are left out.

use data::Cid;
use syntax::Tid;

use crate::blockstore::BlockStore;
use crate::car;
use crate::commit::{SignedCommit, UnsignedCommit};
use crate::StoreError;

/// What a record operation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// The name used in `#commit` ops: `create`, `update`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    /// Parses the `#commit` op name.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// One record operation of a commit, as a `#commit` event's `ops` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordOp {
    pub action: Action,
    /// `<collection>/<rkey>`.
    pub path: String,
    /// The record's CID after the commit; `None` for a delete.
    pub cid: Option<Cid>,
    /// The record's CID before the commit; `None` for a create.
    pub prev: Option<Cid>,
}

/// A commit built but not signed yet, with everything its diff needs.
///
/// Sign it through the [`Repo`](crate::Repo) that prepared it, or send
/// [`bytes_to_sign`](UnsignedCommit::bytes_to_sign) to the signer and come back with the
/// signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedCommit {
    pub commit: UnsignedCommit,
    /// The previous commit's rev (`since` on the event); `None` for the first commit.
    pub since: Option<Tid>,
    /// The previous commit's MST root (`prevData`); `None` for the first commit.
    pub prev_data: Option<Cid>,
    /// The record operations, in the order of the writes (no-op updates left out).
    pub ops: Vec<RecordOp>,
    /// New MST nodes (children before parents), then created/updated record blocks.
    pub new_blocks: Vec<(Cid, Vec<u8>)>,
    /// Unchanged MST nodes the diff carries so that the ops can be inverted.
    pub proof_blocks: Vec<(Cid, Vec<u8>)>,
    /// Blocks no longer referenced: the replaced MST nodes and the previous commit. Exact,
    /// found from the edited nodes alone.
    pub removed: Vec<Cid>,
    /// The old record blocks of updated and deleted records that no op of this commit still
    /// points at. Another path may still hold the same record (same bytes, same CID), which only
    /// the store's record index can tell: drop one only if no path references it any more.
    pub removed_records: Vec<Cid>,
}

/// A signed commit and everything it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitResult {
    /// The new commit's CID (the new head).
    pub cid: Cid,
    pub commit: SignedCommit,
    /// The commit block.
    pub commit_bytes: Vec<u8>,
    /// The previous rev, if any.
    pub since: Option<Tid>,
    /// The previous MST root, if any.
    pub prev_data: Option<Cid>,
    pub ops: Vec<RecordOp>,
    /// The blocks to store: the commit, then new MST nodes (children first), then record blocks.
    pub new_blocks: Vec<(Cid, Vec<u8>)>,
    /// Already-stored MST nodes that the diff carries for inversion.
    pub proof_blocks: Vec<(Cid, Vec<u8>)>,
    /// Blocks to drop (see [`PreparedCommit::removed`]).
    pub removed: Vec<Cid>,
    /// Record blocks to drop if no other path uses them (see
    /// [`PreparedCommit::removed_records`]).
    pub removed_records: Vec<Cid>,
}

impl PreparedCommit {
    /// Adds the signature, without checking it.
    pub(crate) fn into_result(self, sig: Vec<u8>) -> CommitResult {
        let commit = self.commit.with_signature(sig);
        let commit_bytes = commit.to_bytes();
        let cid = Cid::for_dag_cbor(&commit_bytes);
        let mut new_blocks = Vec::with_capacity(self.new_blocks.len() + 1);
        new_blocks.push((cid, commit_bytes.clone()));
        new_blocks.extend(self.new_blocks);
        CommitResult {
            cid,
            commit,
            commit_bytes,
            since: self.since,
            prev_data: self.prev_data,
            ops: self.ops,
            new_blocks,
            proof_blocks: self.proof_blocks,
            removed: self.removed,
            removed_records: self.removed_records,
        }
    }

    /// The size of the diff CAR this commit will have, with a signature of `sig_len` bytes.
    pub fn diff_size(&self, sig_len: usize) -> usize {
        // "sig" (4 bytes) and a byte-string header (2 bytes for 24..=255 bytes)
        let commit_len = self.commit.bytes_to_sign().len() + 6 + sig_len;
        car_size(
            std::iter::once(commit_len).chain(
                self.new_blocks
                    .iter()
                    .chain(&self.proof_blocks)
                    .map(|(_, b)| b.len()),
            ),
        )
    }
}

impl CommitResult {
    /// The new rev.
    pub fn rev(&self) -> Tid {
        self.commit.rev()
    }

    /// The new MST root.
    pub fn data(&self) -> Cid {
        self.commit.data()
    }

    /// Every block of the diff, commit first.
    pub fn diff_blocks(&self) -> impl Iterator<Item = (Cid, &[u8])> {
        self.new_blocks
            .iter()
            .chain(&self.proof_blocks)
            .map(|(c, b)| (*c, b.as_slice()))
    }

    /// The diff as a CAR (`blocks` of a `#commit` event), the new commit as its root.
    pub fn diff_car(&self) -> Vec<u8> {
        car::write_car(&[self.cid], self.diff_blocks())
    }

    /// Writes the new blocks to `store` and drops the [`removed`](Self::removed) ones (MST nodes
    /// and the previous commit), for stores that keep only blocks. Record blocks are kept: a
    /// block store cannot tell whether another path still uses them (see
    /// [`removed_records`](Self::removed_records)). A database store would do all this, with
    /// its record index, in the same transaction as moving the head.
    pub async fn persist<S: BlockStore>(&self, store: &S) -> Result<(), StoreError> {
        store.put_many(self.new_blocks.clone()).await?;
        store.remove_many(&self.removed).await
    }
}

/// Bytes of a CAR with one root and blocks of these lengths.
pub(crate) fn car_size(block_lens: impl Iterator<Item = usize>) -> usize {
    // header: a one-byte varint, then {roots: [link], version: 1} in 58 bytes
    let mut total = 59;
    for len in block_lens {
        let section = data::cid::CID_LEN + len;
        total += varint_len(section) + section;
    }
    total
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}
