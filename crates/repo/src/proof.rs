//! Proofs that a record is, or is not, in a repository (`com.atproto.sync.getRecord`).
//!
//! A proof is a CAR whose root is the signed commit, holding the MST nodes from the root down
//! to the node that holds the key (or to the empty slot where it would be), and the record
//! block when present. Anyone with the account's public key can check it offline.

use std::collections::HashMap;

use data::{cbor, Cid};

use crate::blockstore::{run_ready, BlockMap, BlockStore, MapStore};
use crate::car::{self, CarError, CarLimits};
use crate::commit::{CommitError, SignedCommit};
use crate::mst::{validate_key, Mst, MstError, Reach};
use crate::repo::RepoError;

/// What a valid proof shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordProof {
    /// The record exists, with this CID; its block was in the proof and hashed to it.
    Present(Cid),
    /// The record does not exist.
    Absent,
}

/// Why a proof does not prove anything.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("proof CAR: {0}")]
    Car(#[from] CarError),
    #[error("proof CAR has no root")]
    NoRoot,
    #[error("the commit block {0} is not in the proof")]
    MissingCommit(Cid),
    #[error("commit: {0}")]
    Commit(#[from] CommitError),
    #[error("the commit is for {found}, not {expected}")]
    WrongDid { expected: String, found: String },
    #[error("invalid repo path {0:?}")]
    InvalidPath(String),
    #[error("the proof is incomplete: MST node {0} is missing")]
    Incomplete(Cid),
    #[error("MST: {0}")]
    Tree(MstError),
    #[error("the record block {0} is not in the proof")]
    MissingRecord(Cid),
    #[error("the record block is not valid DAG-CBOR: {0}")]
    InvalidRecord(cbor::CborError),
}

/// Builds the proof CAR for `path` from a tree, its store and the commit block naming it.
pub(crate) async fn prove<S: BlockStore>(
    tree: &mut Mst,
    store: &S,
    commit: (Cid, Vec<u8>),
    path: &str,
) -> Result<Vec<u8>, RepoError> {
    tree.ensure(store, path, Reach::Path).await?;
    tree.root();
    let mut nodes = Vec::new();
    tree.reach_nodes(path.as_bytes(), Reach::Path, &mut nodes);
    let mut blocks: Vec<(Cid, Vec<u8>)> = Vec::with_capacity(nodes.len() + 2);
    let root = commit.0;
    blocks.push(commit);
    for node in nodes {
        blocks.push((node.cid.expect("hashed above"), node.encode()));
    }
    if let Some(cid) = tree.get_loaded(path.as_bytes()) {
        let bytes = store.get(&cid).await?.ok_or(RepoError::MissingBlock(cid))?;
        blocks.push((cid, bytes));
    }
    Ok(car::write_car(&[root], blocks))
}

/// Builds the proof CAR for `<collection>/<rkey>` in the repository whose head commit is
/// `head`.
pub async fn record_proof<S: BlockStore>(
    store: &S,
    head: Cid,
    collection: &str,
    rkey: &str,
) -> Result<Vec<u8>, RepoError> {
    let path = crate::repo::repo_path(collection, rkey)?;
    let bytes = store
        .get(&head)
        .await?
        .ok_or(RepoError::MissingBlock(head))?;
    let commit = SignedCommit::from_bytes(&bytes)?;
    let mut tree = Mst::load(commit.data());
    prove(&mut tree, store, (head, bytes), &path).await
}

/// Checks a proof CAR for `<collection>/<rkey>` in `did`'s repository, signed by `key`.
///
/// Verifies the commit signature and DID, walks from the commit's MST root to the key using
/// only the proof's blocks (checking each node's hash, encoding, key depths and order), and
/// for a present record checks that its block is included and is valid DAG-CBOR.
pub fn verify_record_proof(
    car_bytes: &[u8],
    did: &str,
    key: &crypto::PublicKey,
    collection: &str,
    rkey: &str,
) -> Result<RecordProof, ProofError> {
    let path = format!("{collection}/{rkey}");
    validate_key(&path).map_err(|_| ProofError::InvalidPath(path.clone()))?;
    let limits = CarLimits {
        max_blocks: 10_000,
        max_total_bytes: 16 * 1024 * 1024,
        ..CarLimits::default()
    };
    let car = car::read_car(car_bytes, limits)?;
    let root = *car.roots.first().ok_or(ProofError::NoRoot)?;
    let blocks: BlockMap = car.blocks.into_iter().collect::<HashMap<_, _>>();
    let commit_bytes = blocks.get(&root).ok_or(ProofError::MissingCommit(root))?;
    let commit = SignedCommit::from_bytes(commit_bytes)?;
    if commit.did() != did {
        return Err(ProofError::WrongDid {
            expected: did.to_string(),
            found: commit.did().to_string(),
        });
    }
    commit.verify(key)?;

    let mut tree = Mst::load(commit.data());
    let found = run_ready(tree.get(&MapStore(&blocks), &path))
        .expect("in-memory lookups never wait")
        .map_err(|e| match e {
            MstError::MissingBlock(cid) => ProofError::Incomplete(cid),
            other => ProofError::Tree(other),
        })?;
    match found {
        None => Ok(RecordProof::Absent),
        Some(cid) => {
            let record = blocks.get(&cid).ok_or(ProofError::MissingRecord(cid))?;
            cbor::decode(record).map_err(ProofError::InvalidRecord)?;
            Ok(RecordProof::Present(cid))
        }
    }
}
