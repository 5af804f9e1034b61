//! (iii) Writes repos built by our engine, for the reference to verify
//! (`vectors/reference/verify-cars.mjs`): full-repo CARs with manifests (P-256 and K-256, several
//! sizes, histories with multi-op commits, updates and deletes, a repo deleted down to empty),
//! with record proofs (`<name>.proofs.json`: records present, deleted, never written), and
//! `commit-sigs.json`, many signed commits per curve.
//!
//! Each manifest's record list comes from our own bookkeeping of the writes, not from reading
//! the engine's tree, so the reference checks the engine against what was asked of it. Before
//! a CAR is handed over, our own `import_car` must accept it and agree (group `ours write`).

use std::path::Path;

use crypto::{Algorithm, Keypair, PublicKey};
use data::Cid;
use repo::commit::UnsignedCommit;
use repo::{import_car, ImportOptions};

use super::block_on;
use super::engine::{OurRepo, WriteKind};
use super::gen::{random_did, random_record, random_tid, KeySource, Rng};
use super::manifest::{Manifest, RecordEntry};
use super::ref_cars::{hex_of, ProofClaim};
use super::Tally;

const GROUP: &str = "ours write";

/// A step of a commit: how many of which write.
#[derive(Clone, Copy)]
enum Step {
    Create(usize),
    Update(usize),
    Delete(usize),
}

struct Plan {
    name: String,
    alg: Algorithm,
    /// Commits, each a list of steps.
    commits: Vec<Vec<Step>>,
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::P256 => "p256",
        Algorithm::K256 => "k256",
    }
}

pub fn keypair(rng: &mut Rng, alg: Algorithm) -> Keypair {
    loop {
        // out-of-range scalars are astronomically rare; draw again if one comes up
        if let Ok(k) = Keypair::from_bytes(alg, &rng.bytes::<32>()) {
            return k;
        }
    }
}

fn plans() -> Vec<Plan> {
    use Step::*;
    let mut out = Vec::new();
    for alg in Algorithm::ALL {
        let a = alg_name(alg);
        let plan = |name: String, commits: Vec<Vec<Step>>| Plan { name, alg, commits };
        // a repo's first commit with no records, as Repo.create with no writes makes it
        out.push(plan(format!("rust-{a}-0"), vec![vec![]]));
        out.push(plan(format!("rust-{a}-1"), vec![vec![Create(1)]]));
        out.push(plan(format!("rust-{a}-10"), vec![vec![Create(10)]]));
        out.push(plan(
            format!("rust-{a}-100"),
            vec![vec![Create(60)], vec![Create(40)]],
        ));
        // a firehose-sized commit at a time
        out.push(plan(format!("rust-{a}-1000"), vec![vec![Create(200)]; 5]));
        out.push(plan(
            format!("rust-{a}-history"),
            vec![
                vec![Create(150)],
                vec![Create(150)],
                vec![Create(20), Update(10), Delete(10)],
                vec![Delete(120)],
                vec![Create(1)],
                vec![Update(1)],
                vec![Delete(1)],
                vec![Create(50), Delete(50)],
                vec![Update(30), Create(5)],
            ],
        ));
        out.push(plan(
            format!("rust-{a}-delete-all"),
            vec![
                vec![Create(40)],
                vec![Delete(40)],
                vec![Create(3)],
                vec![Delete(2)],
            ],
        ));
        out.push(plan(
            format!("rust-{a}-empty"),
            vec![vec![Create(5)], vec![Delete(5)]],
        ));
    }
    out.push(Plan {
        name: "rust-k256-5000".into(),
        alg: Algorithm::K256,
        commits: vec![
            vec![Create(5000)],
            vec![Create(100), Update(100), Delete(100)],
        ],
    });
    out
}

pub fn write(dir: &Path, seed: u64, tally: &mut Tally) {
    if let Err(e) = std::fs::create_dir_all(dir) {
        tally.record(GROUP, Err(format!("{}: {e}", dir.display())));
        return;
    }
    let mut rng = Rng::new(seed);
    let mut records = 0;
    let plans = plans();
    for plan in &plans {
        let mut r = rng.fork();
        match build(plan, &mut r).and_then(|(m, car, proofs)| {
            records += m.records.len();
            self_check(&m, &car)?;
            save(dir, &m, &car, &proofs)
        }) {
            Ok(()) => tally.record(GROUP, Ok(())),
            Err(e) => tally.record(GROUP, Err(format!("{}: {e}", plan.name))),
        }
    }
    tally.note(
        GROUP,
        format!(
            "{} CARs, {records} records -> {}",
            plans.len(),
            dir.display()
        ),
    );
    let mut r = rng.fork();
    tally.record(GROUP, commit_sigs(dir, &mut r));
}

fn build(plan: &Plan, rng: &mut Rng) -> Result<(Manifest, Vec<u8>, Vec<ProofClaim>), String> {
    let key = keypair(rng, plan.alg);
    let did = random_did(rng);
    let start = random_tid(rng);
    let mut repo = OurRepo::new(&did, key, start.timestamp_micros(), start.clock_id())?;
    let mut keys = KeySource::new(rng);
    let mut deleted = Vec::new();
    for commit in &plan.commits {
        let mut writes = Vec::new();
        let mut touched = std::collections::HashSet::new();
        for step in commit {
            match *step {
                Step::Create(n) => {
                    for _ in 0..n {
                        let (collection, rkey) = keys.next(rng);
                        let record = random_record(rng, &collection);
                        touched.insert(format!("{collection}/{rkey}"));
                        writes.push((WriteKind::Create, collection, rkey, Some(record)));
                    }
                }
                Step::Update(n) | Step::Delete(n) => {
                    let mut candidates: Vec<String> = repo
                        .records
                        .keys()
                        .filter(|k| !touched.contains(*k))
                        .cloned()
                        .collect();
                    rng.shuffle(&mut candidates);
                    for key in candidates.into_iter().take(n) {
                        touched.insert(key.clone());
                        let (collection, rkey) = key.split_once('/').expect("keys have a slash");
                        let (collection, rkey) = (collection.to_owned(), rkey.to_owned());
                        if matches!(step, Step::Update(_)) {
                            let record = random_record(rng, &collection);
                            writes.push((WriteKind::Update, collection, rkey, Some(record)));
                        } else {
                            deleted.push(key.clone());
                            writes.push((WriteKind::Delete, collection, rkey, None));
                        }
                    }
                }
            }
        }
        repo.commit(&writes)?;
    }
    let car = repo.export()?;
    let commit = repo.repo.commit().ok_or("no commit")?;
    let manifest = Manifest {
        name: plan.name.clone(),
        producer: format!(
            "relay repo engine (vectors crosscheck {})",
            env!("CARGO_PKG_VERSION")
        ),
        did,
        algorithm: alg_name(plan.alg).into(),
        signing_key: repo.key.did_key(),
        private_key_hex: Some(repo.key.to_hex().to_string()),
        commit: repo.repo.head().ok_or("no head")?.to_string(),
        rev: commit.rev().to_string(),
        data: commit.data().to_string(),
        commits: repo.commits,
        ops: repo.ops,
        records: repo
            .records
            .iter()
            .map(|(k, c)| {
                let (collection, rkey) = k.split_once('/').expect("keys have a slash");
                RecordEntry {
                    collection: collection.into(),
                    rkey: rkey.into(),
                    cid: c.to_string(),
                }
            })
            .collect(),
    };
    // proofs: up to 8 records present, up to 4 deleted ones and 2 never written
    let mut present: Vec<String> = repo.records.keys().cloned().collect();
    rng.shuffle(&mut present);
    let mut absent: Vec<String> = deleted
        .into_iter()
        .filter(|k| !repo.records.contains_key(k))
        .collect();
    rng.shuffle(&mut absent);
    absent.truncate(4);
    for _ in 0..2 {
        let (c, r) = keys.next(rng);
        absent.push(format!("{c}/{r}"));
    }
    let mut proofs = Vec::new();
    for key in present.into_iter().take(8).chain(absent) {
        let (collection, rkey) = key.split_once('/').expect("keys have a slash");
        let proof = block_on(repo.repo.record_proof(collection, rkey))
            .map_err(|e| format!("record_proof {key}: {e}"))?;
        proofs.push(ProofClaim {
            collection: collection.into(),
            rkey: rkey.into(),
            cid: repo.records.get(&key).map(Cid::to_string),
            proof_hex: hex_of(&proof),
        });
    }
    Ok((manifest, car, proofs))
}

/// Our own import must accept what we hand over, and agree with the bookkeeping.
fn self_check(m: &Manifest, car: &[u8]) -> Result<(), String> {
    let key = PublicKey::from_did_key(&m.signing_key).map_err(|e| e.to_string())?;
    let v = import_car(
        car,
        &ImportOptions {
            did: Some(&m.did),
            key: Some(&key),
            ..Default::default()
        },
    )
    .map_err(|e| format!("our own import_car refuses our export: {e}"))?;
    let got: Vec<(String, String)> = v
        .records
        .iter()
        .map(|(k, c)| (k.clone(), c.to_string()))
        .collect();
    let want: Vec<(String, String)> = m.records.iter().map(|r| (r.key(), r.cid.clone())).collect();
    if got != want || v.commit_cid.to_string() != m.commit {
        return Err(format!(
            "the exported repo holds {} records at {}, the writes say {} at {}",
            got.len(),
            v.commit_cid,
            want.len(),
            m.commit
        ));
    }
    Ok(())
}

fn save(dir: &Path, m: &Manifest, car: &[u8], proofs: &[ProofClaim]) -> Result<(), String> {
    let json = serde_json::to_string_pretty(m).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(format!("{}.json", m.name)), json + "\n").map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(proofs).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(format!("{}.proofs.json", m.name)), json + "\n")
        .map_err(|e| e.to_string())?;
    std::fs::write(dir.join(format!("{}.car", m.name)), car).map_err(|e| e.to_string())
}

/// 200 signed commits per curve, over 20 keys, for the reference to verify one by one.
fn commit_sigs(dir: &Path, rng: &mut Rng) -> Result<(), String> {
    let mut out = Vec::new();
    for alg in Algorithm::ALL {
        for _ in 0..20 {
            let key = keypair(rng, alg);
            let public = key.public_key();
            for _ in 0..10 {
                let data = Cid::for_dag_cbor(&rng.bytes::<32>());
                let commit = UnsignedCommit::new(random_did(rng), data, random_tid(rng)).sign(&key);
                commit
                    .verify(&public)
                    .map_err(|e| format!("commit-sigs: our own signature does not verify: {e}"))?;
                let bytes = commit.to_bytes();
                out.push(serde_json::json!({
                    "algorithm": alg_name(alg),
                    "signingKey": key.did_key(),
                    "privateKeyHex": key.to_hex().to_string(),
                    "cid": Cid::for_dag_cbor(&bytes).to_string(),
                    "blockHex": hex_of(&bytes),
                }));
            }
        }
    }
    let json = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("commit-sigs.json"), json + "\n")
        .map_err(|e| format!("commit-sigs.json: {e}"))
}
