//! (ii) Verifies the full-repo CARs the reference wrote (`ref-cars/`, by
//! `vectors/reference/gen-cars.mjs`), each against its manifest.
//!
//! Groups, one outcome per CAR each:
//! - `ref car read`: our CAR reader takes it (every block hashes to its CID), one root, the
//!   manifest's commit;
//! - `ref commit signature`: the root block parses as a strict v3 commit for the manifest's DID,
//!   rev and MST root, and its signature verifies against the manifest's did:key;
//! - `ref records`: walking the tree from the commit (every node checked as it loads) gives
//!   exactly the manifest's keys and CIDs, and every record block is there, is canonical
//!   DAG-CBOR, and is a valid record of its collection's `$type`;
//! - `ref mst structure`: our tree built from the manifest's pairs has the commit's root and
//!   consists of exactly the CAR's MST nodes, so the CAR holds the commit, the nodes and the
//!   records and nothing else;
//! - `ref commit rebuilt`: signing the same (did, data, rev) with the manifest's test key gives
//!   the same commit block, byte for byte (RFC 6979 signatures are deterministic);
//! - `ref import`: our repo engine imports the CAR (its own full verification) and exports it
//!   again with the same blocks;
//! - `ref proofs`: each record proof the reference made (`<name>.proofs.json`, from its
//!   `getRecords`) passes our `verify_record_proof`, showing the record's CID or its absence as
//!   the reference claims, and fails for a record key it does not cover.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crypto::{Algorithm, Keypair, PublicKey};
use data::{cbor, Cid, Value};
use repo::car::{read_car, CarLimits};
use repo::commit::{SignedCommit, UnsignedCommit};
use repo::mst::Mst;
use repo::{verify_record_proof, MemoryBlockStore, RecordProof};
use serde::Deserialize;

use super::manifest::{self, Manifest};
use super::{block_on, Tally};

pub fn algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "p256" => Ok(Algorithm::P256),
        "k256" => Ok(Algorithm::K256),
        other => Err(format!("unknown algorithm {other:?}")),
    }
}

pub fn check(dir: &Path, tally: &mut Tally) {
    let cars = match manifest::list(dir) {
        Ok(c) if !c.is_empty() => c,
        Ok(_) => {
            tally.record("ref car read", Err(format!("no CARs in {}", dir.display())));
            return;
        }
        Err(e) => {
            tally.record("ref car read", Err(e));
            return;
        }
    };
    let records: usize = cars.iter().map(|(m, _)| m.records.len()).sum();
    tally.note(
        "ref car read",
        format!("{} CARs from the reference, {records} records", cars.len()),
    );
    for (m, path) in &cars {
        check_one(m, path, tally);
    }
}

fn check_one(m: &Manifest, path: &Path, tally: &mut Tally) {
    let name = &m.name;
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return tally.record("ref car read", Err(format!("{name}: {e}"))),
    };
    let car = match read_car(&bytes, CarLimits::default()) {
        Ok(c) => c,
        Err(e) => return tally.record("ref car read", Err(format!("{name}: {e}"))),
    };
    let want_commit: Cid = match m.commit.parse() {
        Ok(c) => c,
        Err(e) => {
            return tally.record("ref car read", Err(format!("{name}: manifest commit: {e}")))
        }
    };
    tally.record(
        "ref car read",
        if car.roots == [want_commit] {
            Ok(())
        } else {
            Err(format!(
                "{name}: roots {:?}, manifest commit {want_commit}",
                car.roots
            ))
        },
    );
    let blocks: BTreeMap<Cid, Vec<u8>> = car.blocks.iter().cloned().collect();

    // the commit and its signature
    let commit = match commit_checks(m, &blocks, want_commit) {
        Ok(c) => {
            tally.record("ref commit signature", Ok(()));
            c
        }
        Err(e) => return tally.record("ref commit signature", Err(format!("{name}: {e}"))),
    };

    // the records, walking the tree as stored
    let store = MemoryBlockStore::from_blocks(car.blocks.iter().cloned());
    tally.record(
        "ref records",
        record_checks(m, &store, &blocks, commit.data()).map_err(|e| format!("{name}: {e}")),
    );

    // the tree shape, rebuilt from the manifest alone
    tally.record(
        "ref mst structure",
        structure_checks(m, &blocks, want_commit, commit.data())
            .map_err(|e| format!("{name}: {e}")),
    );

    // the same commit, byte for byte
    tally.record(
        "ref commit rebuilt",
        rebuild_commit(m, &commit, &blocks[&want_commit]).map_err(|e| format!("{name}: {e}")),
    );

    // the repo engine's own import and export
    tally.record(
        "ref import",
        super::engine::import_export(m, &bytes, &blocks).map_err(|e| format!("{name}: {e}")),
    );

    // record proofs
    let proofs = path.with_extension("proofs.json");
    if proofs.is_file() {
        match read_proofs(&proofs) {
            Ok(list) => {
                for p in &list {
                    tally.record(
                        "ref proofs",
                        check_proof(m, p).map_err(|e| format!("{name}: {e}")),
                    );
                }
            }
            Err(e) => tally.record("ref proofs", Err(format!("{name}: {e}"))),
        }
    }
}

/// One record proof with the claim it makes: `cid` for a record that exists, `None` for one
/// that does not.
#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofClaim {
    pub collection: String,
    pub rkey: String,
    pub cid: Option<String>,
    pub proof_hex: String,
}

pub fn read_proofs(path: &Path) -> Result<Vec<ProofClaim>, String> {
    let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn check_proof(m: &Manifest, p: &ProofClaim) -> Result<(), String> {
    let at = format!("{}/{}", p.collection, p.rkey);
    let key = PublicKey::from_did_key(&m.signing_key).map_err(|e| e.to_string())?;
    let bytes = from_hex(&p.proof_hex).ok_or_else(|| format!("{at}: proof is not hex"))?;
    let shown = verify_record_proof(&bytes, &m.did, &key, &p.collection, &p.rkey)
        .map_err(|e| format!("{at}: our verify_record_proof refuses the reference's proof: {e}"))?;
    let claimed = match &p.cid {
        Some(c) => RecordProof::Present(c.parse().map_err(|e| format!("{at}: {e}"))?),
        None => RecordProof::Absent,
    };
    if shown != claimed {
        return Err(format!(
            "{at}: the proof shows {shown:?}, the reference claims {claimed:?}"
        ));
    }
    // another key must never be shown present by this proof (at most absent, when its path
    // runs through the same nodes)
    let other = format!("{}~", p.rkey);
    match verify_record_proof(&bytes, &m.did, &key, &p.collection, &other) {
        Ok(RecordProof::Present(c)) => Err(format!(
            "{at}: the proof also shows {}/{other} present as {c}",
            p.collection
        )),
        _ => Ok(()),
    }
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn commit_checks(
    m: &Manifest,
    blocks: &BTreeMap<Cid, Vec<u8>>,
    root: Cid,
) -> Result<SignedCommit, String> {
    let bytes = blocks
        .get(&root)
        .ok_or("the root commit block is not in the CAR")?;
    let commit = SignedCommit::from_bytes(bytes).map_err(|e| e.to_string())?;
    if commit.did() != m.did {
        return Err(format!("commit did {}, manifest {}", commit.did(), m.did));
    }
    if commit.rev().as_str() != m.rev {
        return Err(format!("commit rev {}, manifest {}", commit.rev(), m.rev));
    }
    if commit.data().to_string() != m.data {
        return Err(format!(
            "commit data {}, manifest {}",
            commit.data(),
            m.data
        ));
    }
    if commit.prev().is_some() {
        return Err("prev is not null".into());
    }
    let key = PublicKey::from_did_key(&m.signing_key).map_err(|e| format!("signing key: {e}"))?;
    if key.algorithm() != algorithm(&m.algorithm)? {
        return Err(format!("{} is not a {} key", m.signing_key, m.algorithm));
    }
    commit.verify(&key).map_err(|e| e.to_string())?;
    if commit.sig.len() != 64 {
        return Err(format!("signature of {} bytes", commit.sig.len()));
    }
    // and a different key must not verify it
    let other = Keypair::from_bytes(key.algorithm(), &[7u8; 32]).map_err(|e| e.to_string())?;
    if commit.verify(&other.public_key()).is_ok() {
        return Err("signature verifies against an unrelated key".into());
    }
    Ok(commit)
}

fn record_checks(
    m: &Manifest,
    store: &MemoryBlockStore,
    blocks: &BTreeMap<Cid, Vec<u8>>,
    data: Cid,
) -> Result<(), String> {
    let mut tree = Mst::load(data);
    let entries = block_on(tree.entries(store)).map_err(|e| format!("walking the tree: {e}"))?;
    let want: Vec<(String, String)> = m.records.iter().map(|r| (r.key(), r.cid.clone())).collect();
    let got: Vec<(String, String)> = entries
        .iter()
        .map(|(k, c)| (k.clone(), c.to_string()))
        .collect();
    if got != want {
        let gs: HashSet<_> = got.iter().collect();
        let ws: HashSet<_> = want.iter().collect();
        let missing: Vec<_> = ws.difference(&gs).take(3).collect();
        let extra: Vec<_> = gs.difference(&ws).take(3).collect();
        return Err(format!(
            "tree has {} entries, manifest {}; missing {missing:?}; unexpected {extra:?}",
            got.len(),
            want.len()
        ));
    }
    for (key, cid) in &entries {
        let bytes = blocks
            .get(cid)
            .ok_or_else(|| format!("{key}: record block {cid} is not in the CAR"))?;
        let value = cbor::decode(bytes)
            .map_err(|e| format!("{key}: record {cid} is not canonical DAG-CBOR: {e}"))?;
        data::model::validate(&value).map_err(|e| format!("{key}: {e}"))?;
        let collection = key.split('/').next().unwrap_or_default();
        let ty = value
            .as_map()
            .and_then(|m| m.get("$type"))
            .and_then(Value::as_str);
        if ty != Some(collection) {
            return Err(format!("{key}: $type {ty:?}"));
        }
    }
    Ok(())
}

fn structure_checks(
    m: &Manifest,
    blocks: &BTreeMap<Cid, Vec<u8>>,
    commit: Cid,
    data: Cid,
) -> Result<(), String> {
    let mut pairs = Vec::with_capacity(m.records.len());
    for r in &m.records {
        let cid: Cid = r.cid.parse().map_err(|e| format!("{}: {e}", r.cid))?;
        pairs.push((r.key(), cid));
    }
    let mut tree =
        Mst::from_sorted(pairs.iter().map(|(k, c)| (k.as_str(), *c))).map_err(|e| e.to_string())?;
    let all = tree.take_changes();
    if all.root != data {
        return Err(format!(
            "our tree from the manifest has root {}, the commit names {data}",
            all.root
        ));
    }
    let nodes: HashSet<Cid> = all.new_nodes.iter().map(|(c, _)| *c).collect();
    let records: HashSet<Cid> = pairs.iter().map(|(_, c)| *c).collect();
    for (cid, bytes) in &all.new_nodes {
        match blocks.get(cid) {
            None => return Err(format!("MST node {cid} is not in the CAR")),
            Some(b) if b != bytes => {
                return Err(format!("MST node {cid} has other bytes in the CAR"))
            }
            Some(_) => {}
        }
    }
    let stray: Vec<&Cid> = blocks
        .keys()
        .filter(|c| **c != commit && !nodes.contains(c) && !records.contains(c))
        .collect();
    if !stray.is_empty() {
        return Err(format!(
            "{} blocks in the CAR are not part of the repo, e.g. {}",
            stray.len(),
            stray[0]
        ));
    }
    Ok(())
}

fn rebuild_commit(m: &Manifest, commit: &SignedCommit, block: &[u8]) -> Result<(), String> {
    let Some(hex) = &m.private_key_hex else {
        return Err("the manifest has no test key".into());
    };
    let key = Keypair::from_hex(algorithm(&m.algorithm)?, hex).map_err(|e| e.to_string())?;
    if key.did_key() != m.signing_key {
        return Err(format!(
            "the test key is {}, manifest says {}",
            key.did_key(),
            m.signing_key
        ));
    }
    let ours = UnsignedCommit::new(m.did.clone(), commit.data(), commit.rev()).sign(&key);
    if ours.to_bytes() != block {
        return Err(format!(
            "our commit differs: signature {} vs the reference's {}",
            hex_of(&ours.sig),
            hex_of(&commit.sig)
        ));
    }
    Ok(())
}

pub fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
