//! The repo engine (`repo::Repo`, `repo::import_car`, `repo::export_car`) as the cross-check
//! drives it: import and re-export of the reference's CARs, and building repos of our own.

use std::collections::{BTreeMap, HashSet};

use crypto::{Keypair, PublicKey};
use data::{Cid, Value};
use repo::car::{read_car, CarLimits};
use repo::{export_car, import_car, CommitLimits, ImportOptions, MemoryBlockStore, Repo, WriteOp};
use syntax::Tid;

use super::block_on;
use super::manifest::Manifest;

/// Imports a reference CAR with our engine (DID and signature checked), compares what it found
/// with the manifest, then exports the imported blocks again and compares the block sets.
pub fn import_export(
    m: &Manifest,
    bytes: &[u8],
    blocks: &BTreeMap<Cid, Vec<u8>>,
) -> Result<(), String> {
    let key = PublicKey::from_did_key(&m.signing_key).map_err(|e| e.to_string())?;
    let verified = import_car(
        bytes,
        &ImportOptions {
            did: Some(&m.did),
            key: Some(&key),
            ..Default::default()
        },
    )
    .map_err(|e| format!("import_car: {e}"))?;
    if verified.commit_cid.to_string() != m.commit {
        return Err(format!(
            "import_car: commit {}, manifest {}",
            verified.commit_cid, m.commit
        ));
    }
    if !verified.missing_records.is_empty() {
        return Err(format!(
            "import_car: {} records missing",
            verified.missing_records.len()
        ));
    }
    let got: Vec<(String, String)> = verified
        .records
        .iter()
        .map(|(k, c)| (k.clone(), c.to_string()))
        .collect();
    let want: Vec<(String, String)> = m.records.iter().map(|r| (r.key(), r.cid.clone())).collect();
    if got != want {
        return Err(format!(
            "import_car: {} records, manifest {}, or they differ",
            got.len(),
            want.len()
        ));
    }
    let kept: HashSet<Cid> = verified.blocks.iter().map(|(c, _)| *c).collect();
    let all: HashSet<Cid> = blocks.keys().copied().collect();
    if kept != all {
        return Err(format!(
            "import_car kept {} blocks of the CAR's {}",
            kept.len(),
            all.len()
        ));
    }

    let store = MemoryBlockStore::from_blocks(verified.blocks);
    let out = block_on(export_car(&store, verified.commit_cid))
        .map_err(|e| format!("export_car: {e}"))?;
    let again = read_car(&out, CarLimits::default()).map_err(|e| format!("our export: {e}"))?;
    if again.roots != [verified.commit_cid] {
        return Err(format!("our export has roots {:?}", again.roots));
    }
    let mut seen = HashSet::new();
    for (cid, bytes) in &again.blocks {
        if !seen.insert(*cid) {
            return Err(format!("our export writes block {cid} twice"));
        }
        if blocks.get(cid) != Some(bytes) {
            return Err(format!(
                "our export has block {cid}, which the reference's CAR does not"
            ));
        }
    }
    if seen.len() != all.len() {
        return Err(format!(
            "our export has {} blocks, the reference's {}",
            seen.len(),
            all.len()
        ));
    }
    Ok(())
}

/// A repo we build and sign, tracking what it should hold.
pub struct OurRepo {
    pub repo: Repo<MemoryBlockStore>,
    pub key: Keypair,
    /// key -> record CID, as our own bookkeeping says it should be
    pub records: BTreeMap<String, Cid>,
    pub commits: usize,
    pub ops: usize,
    next_rev: u64,
    clock_id: u16,
}

impl OurRepo {
    pub fn new(
        did: &str,
        key: Keypair,
        first_rev_micros: u64,
        clock_id: u16,
    ) -> Result<OurRepo, String> {
        let repo = Repo::create(MemoryBlockStore::new(), did)
            .map_err(|e| e.to_string())?
            .with_limits(CommitLimits::UNLIMITED);
        Ok(OurRepo {
            repo,
            key,
            records: BTreeMap::new(),
            commits: 0,
            ops: 0,
            next_rev: first_rev_micros,
            clock_id,
        })
    }

    /// Applies `writes` as one signed commit and stores its blocks.
    pub fn commit(
        &mut self,
        writes: &[(WriteKind, String, String, Option<Value>)],
    ) -> Result<(), String> {
        let mut ops = Vec::with_capacity(writes.len());
        for (kind, collection, rkey, record) in writes {
            let key = format!("{collection}/{rkey}");
            ops.push(match (kind, record) {
                (WriteKind::Create, Some(r)) => {
                    WriteOp::create(collection.as_str(), rkey.as_str(), r)
                }
                (WriteKind::Update, Some(r)) => {
                    WriteOp::update(collection.as_str(), rkey.as_str(), r)
                }
                (WriteKind::Delete, _) => WriteOp::delete(collection.as_str(), rkey.as_str()),
                _ => return Err(format!("{key}: a create or update needs a record")),
            });
            match record {
                Some(r) => {
                    self.records
                        .insert(key, Cid::for_dag_cbor(&data::cbor::encode(r)));
                }
                None => {
                    self.records.remove(&key);
                }
            }
        }
        // revs a few milliseconds apart, as a busy account makes them
        self.next_rev += 3_000 + u64::from(self.clock_id);
        let rev = Tid::from_parts(self.next_rev, self.clock_id).map_err(|e| e.to_string())?;
        let result = block_on(self.repo.apply_writes(&ops, rev, &self.key))
            .map_err(|e| format!("apply_writes: {e}"))?;
        block_on(result.persist(self.repo.store())).map_err(|e| format!("persist: {e}"))?;
        self.commits += 1;
        self.ops += writes.len();
        Ok(())
    }

    pub fn export(&self) -> Result<Vec<u8>, String> {
        block_on(self.repo.export_car()).map_err(|e| format!("export_car: {e}"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
    Delete,
}
