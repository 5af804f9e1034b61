//! Checking a commit by operation inversion (Sync v1.1, "inductive firehose").
//!
//! A `#commit` event carries the new commit, a partial tree (its diff blocks), the list of
//! record operations, and `prevData`, the previous MST root. Starting from the new root and
//! using only the diff's blocks, undo every operation (delete what was created, put back the
//! previous CID of what was updated or deleted). If the operations are complete and true, the
//! tree ends where it was before the commit: its root equals `prevData`. A relay or any other
//! consumer does this for each event, and so can check a repo's whole history without
//! holding any of it.

use std::collections::{HashMap, HashSet};

use data::Cid;

use crate::blockstore::{run_ready, BlockMap, MapStore};
use crate::car::{self, CarError, CarLimits};
use crate::commit::{CommitError, SignedCommit};
use crate::diff::{Action, RecordOp};
use crate::mst::{validate_key, Mst, MstError};

/// Why a commit does not check out.
#[derive(Debug, thiserror::Error)]
pub enum InversionError {
    #[error("diff CAR: {0}")]
    Car(#[from] CarError),
    #[error("diff CAR has no root")]
    NoRoot,
    #[error("the commit block {0} is not in the diff")]
    MissingCommit(Cid),
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    #[error("the commit is for {found}, not {expected}")]
    WrongDid { expected: String, found: String },
    #[error("op {index} ({path}): {reason}")]
    BadOp {
        index: usize,
        path: String,
        reason: String,
    },
    #[error("op {index}: {path} is touched by more than one op")]
    DuplicatePath { index: usize, path: String },
    #[error("inverting op {index} ({path}) needs MST node {cid}, which the diff does not carry")]
    MissingBlock {
        index: usize,
        path: String,
        cid: Cid,
    },
    #[error("inverting op {index} ({path}): {source}")]
    Tree {
        index: usize,
        path: String,
        source: MstError,
    },
    #[error(
        "op {index} ({action} {path}) says the record is {expected} but the new tree has {found}"
    )]
    OpMismatch {
        index: usize,
        action: &'static str,
        path: String,
        expected: String,
        found: String,
    },
    #[error("the block of record {cid} ({path}) is not in the diff")]
    MissingRecord { path: String, cid: Cid },
    #[error("after inverting every op the root is {found}, not prevData {expected}")]
    RootMismatch { expected: Cid, found: Cid },
    #[error("internal error: an in-memory tree walk did not finish")]
    Stalled,
}

/// A commit that passed [`verify_commit_diff`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCommit {
    pub cid: Cid,
    pub commit: SignedCommit,
}

/// Inverts `ops` on the tree rooted at `data`, reading only `blocks`, and checks that the
/// result is the tree rooted at `prev_data`.
///
/// Each op must be well formed (create: `cid` and no `prev`; update: both, different; delete:
/// `prev` and no `cid`) and agree with the new tree; paths must be distinct. The first
/// failure is returned, naming the op, the path and what did not match.
pub fn invert_ops(
    blocks: &BlockMap,
    data: Cid,
    prev_data: Cid,
    ops: &[RecordOp],
) -> Result<(), InversionError> {
    let mut seen = HashSet::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let bad = |reason: &str| InversionError::BadOp {
            index,
            path: op.path.clone(),
            reason: reason.to_string(),
        };
        validate_key(&op.path).map_err(|e| bad(&e.to_string()))?;
        match (op.action, op.cid, op.prev) {
            (Action::Create, Some(_), None) | (Action::Delete, None, Some(_)) => {}
            (Action::Update, Some(cid), Some(prev)) if cid != prev => {}
            (Action::Update, Some(_), Some(_)) => return Err(bad("an update to the same CID")),
            (Action::Create, _, _) => return Err(bad("a create needs cid and no prev")),
            (Action::Update, _, _) => return Err(bad("an update needs cid and prev")),
            (Action::Delete, _, _) => return Err(bad("a delete needs prev and no cid")),
        }
        if !seen.insert(op.path.as_str()) {
            return Err(InversionError::DuplicatePath {
                index,
                path: op.path.clone(),
            });
        }
    }

    let store = MapStore(blocks);
    let mut tree = Mst::load(data);
    for (index, op) in ops.iter().enumerate().rev() {
        let tree_err = |e: MstError| match e {
            MstError::MissingBlock(cid) => InversionError::MissingBlock {
                index,
                path: op.path.clone(),
                cid,
            },
            source => InversionError::Tree {
                index,
                path: op.path.clone(),
                source,
            },
        };
        let found = match op.action {
            Action::Create => run_ready(tree.remove(&store, &op.path)),
            Action::Update | Action::Delete => {
                let prev = op.prev.expect("checked above");
                run_ready(tree.insert(&store, &op.path, prev))
            }
        }
        .ok_or(InversionError::Stalled)?
        .map_err(tree_err)?;
        if found != op.cid {
            let show = |c: Option<Cid>| c.map_or("no record".to_string(), |c| c.to_string());
            return Err(InversionError::OpMismatch {
                index,
                action: op.action.as_str(),
                path: op.path.clone(),
                expected: show(op.cid),
                found: show(found),
            });
        }
    }
    let found = tree.root();
    if found != prev_data {
        return Err(InversionError::RootMismatch {
            expected: prev_data,
            found,
        });
    }
    Ok(())
}

/// Verifies a `#commit` event's `blocks` (a diff CAR) against its `ops` and `prevData`: the
/// commit is the CAR's first root and parses strictly; it names `did` and is signed by `key`
/// when those are given; every created or updated record's block is present; and the ops
/// invert to `prev_data`.
pub fn verify_commit_diff(
    car_bytes: &[u8],
    ops: &[RecordOp],
    prev_data: Cid,
    did: Option<&str>,
    key: Option<&crypto::PublicKey>,
) -> Result<VerifiedCommit, InversionError> {
    let limits = CarLimits {
        max_total_bytes: 8 * 1024 * 1024,
        max_blocks: 100_000,
        ..CarLimits::default()
    };
    let car = car::read_car(car_bytes, limits)?;
    let cid = *car.roots.first().ok_or(InversionError::NoRoot)?;
    let blocks: BlockMap = car.blocks.into_iter().collect::<HashMap<_, _>>();
    let commit_bytes = blocks.get(&cid).ok_or(InversionError::MissingCommit(cid))?;
    let commit = SignedCommit::from_bytes(commit_bytes)?;
    if let Some(did) = did {
        if commit.did() != did {
            return Err(InversionError::WrongDid {
                expected: did.to_string(),
                found: commit.did().to_string(),
            });
        }
    }
    if let Some(key) = key {
        commit.verify(key)?;
    }
    for op in ops {
        if let Some(record) = op.cid {
            if !blocks.contains_key(&record) {
                return Err(InversionError::MissingRecord {
                    path: op.path.clone(),
                    cid: record,
                });
            }
        }
    }
    invert_ops(&blocks, commit.data(), prev_data, ops)?;
    Ok(VerifiedCommit { cid, commit })
}
