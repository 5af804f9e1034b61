//! Reading and verifying a full repository CAR (`com.atproto.repo.importRepo`, backfill).
//!
//! The CAR is untrusted. Every block's hash is checked as it is read; blocks may come in any
//! order, repeat, or include extras. The tree is walked from the commit using only the CAR's
//! blocks, and every node is held to the tree rules (canonical encoding, key depths, key
//! order and ranges, no empty leaves, a trimmed root). Only the blocks the walk reaches are
//! returned for storage, so nothing unreferenced gets in.

use std::collections::{HashMap, HashSet};

use data::Cid;

use crate::car::{self, CarError, CarLimits};
use crate::commit::{CommitError, SignedCommit};
use crate::mst::{check_node, root_height, MstError, NodeData};

/// What to check a CAR against.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions<'a> {
    /// The account the repo must belong to.
    pub did: Option<&'a str>,
    /// The key the commit must be signed with.
    pub key: Option<&'a crypto::PublicKey>,
    /// Caps on the CAR.
    pub limits: CarLimits,
}

/// A verified repository, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRepo {
    /// The head commit's CID (the CAR's first root).
    pub commit_cid: Cid,
    pub commit: SignedCommit,
    /// Every record path and CID, in key order.
    pub records: Vec<(String, Cid)>,
    /// The blocks reachable from the commit that the CAR holds: the commit, every MST node,
    /// and the record blocks present, each once. Nothing else.
    pub blocks: Vec<(Cid, Vec<u8>)>,
    /// Records whose block the CAR lacks.
    pub missing_records: Vec<(String, Cid)>,
}

/// Why a CAR is not a valid repository.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("CAR: {0}")]
    Car(#[from] CarError),
    #[error("CAR has no root")]
    NoRoot,
    #[error("the commit block {0} is not in the CAR")]
    MissingCommit(Cid),
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    #[error("the repo is for {found}, not {expected}")]
    WrongDid { expected: String, found: String },
    #[error("MST node {0} is missing from the CAR")]
    MissingNode(Cid),
    #[error("MST node {0} appears twice in the tree")]
    RepeatedNode(Cid),
    #[error("MST: {0}")]
    Tree(#[from] MstError),
}

/// Reads and verifies a full repository CAR.
pub fn import_car(bytes: &[u8], options: &ImportOptions<'_>) -> Result<VerifiedRepo, ImportError> {
    let car = car::read_car(bytes, options.limits)?;
    let commit_cid = *car.roots.first().ok_or(ImportError::NoRoot)?;
    let mut blocks: HashMap<Cid, Vec<u8>> = HashMap::with_capacity(car.blocks.len());
    for (cid, bytes) in car.blocks {
        blocks.insert(cid, bytes);
    }
    let commit_bytes = blocks
        .remove(&commit_cid)
        .ok_or(ImportError::MissingCommit(commit_cid))?;
    let commit = SignedCommit::from_bytes(&commit_bytes)?;
    if let Some(did) = options.did {
        if commit.did() != did {
            return Err(ImportError::WrongDid {
                expected: did.to_string(),
                found: commit.did().to_string(),
            });
        }
    }
    if let Some(key) = options.key {
        commit.verify(key)?;
    }

    let mut out_blocks = vec![(commit_cid, commit_bytes)];
    let mut records = Vec::new();
    let mut missing_records = Vec::new();
    let mut seen_nodes = HashSet::new();
    let mut seen_records = HashSet::new();

    // Depth-first, in key order, with each node's depth and key range.
    struct Pending {
        cid: Cid,
        height: Option<u8>,
        lo: Option<String>,
        hi: Option<String>,
    }
    let mut stack = vec![Pending {
        cid: commit.data(),
        height: None,
        lo: None,
        hi: None,
    }];
    while let Some(p) = stack.pop() {
        if !seen_nodes.insert(p.cid) {
            return Err(ImportError::RepeatedNode(p.cid));
        }
        let bytes = blocks
            .remove(&p.cid)
            .ok_or(ImportError::MissingNode(p.cid))?;
        let data = NodeData::decode(&bytes).map_err(|e| e.at(p.cid))?;
        let height = p.height.unwrap_or_else(|| root_height(&data));
        check_node(
            &data,
            p.cid,
            height,
            p.lo.as_deref(),
            p.hi.as_deref(),
            p.height.is_none(),
        )?;
        out_blocks.push((p.cid, bytes));

        // Children are pushed in reverse so they pop in key order.
        let mut children = Vec::new();
        let mut lo = p.lo.clone();
        if let Some(left) = data.left {
            let hi = data.entries.first().map(|e| e.key.clone()).or(p.hi.clone());
            children.push((left, lo.clone(), hi));
        }
        for (i, entry) in data.entries.iter().enumerate() {
            lo = Some(entry.key.clone());
            if let Some(right) = entry.right {
                let hi = data
                    .entries
                    .get(i + 1)
                    .map(|e| e.key.clone())
                    .or(p.hi.clone());
                children.push((right, lo.clone(), hi));
            }
        }
        for entry in data.entries {
            if seen_records.contains(&entry.value) {
                records.push((entry.key, entry.value));
                continue;
            }
            match blocks.remove(&entry.value) {
                Some(bytes) => {
                    seen_records.insert(entry.value);
                    out_blocks.push((entry.value, bytes));
                    records.push((entry.key, entry.value));
                }
                None => {
                    records.push((entry.key.clone(), entry.value));
                    missing_records.push((entry.key, entry.value));
                }
            }
        }
        let below = match children.is_empty() {
            true => 0,
            false => height.checked_sub(1).ok_or_else(|| MstError::Invalid {
                cid: p.cid,
                reason: "a node at depth 0 has a subtree".into(),
            })?,
        };
        for (cid, lo, hi) in children.into_iter().rev() {
            stack.push(Pending {
                cid,
                height: Some(below),
                lo,
                hi,
            });
        }
    }
    records.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(VerifiedRepo {
        commit_cid,
        commit,
        records,
        blocks: out_blocks,
        missing_records,
    })
}
