//! `cargo run --release -p vectors --bin bench -- <dir>`: our side of the benchmark against the
//! reference (`vectors/reference/bench.sh` runs both; see `vectors/reference/README.md`).
//!
//! Reads the workload `<dir>/bench-input.json` that `bench.mjs` wrote (the same keys, CIDs,
//! records and keys as the reference used), times the same operations on a
//! [`MemoryBlockStore`], writes `<dir>/bench-ours.json`, and, when `<dir>/bench-ref.json` is
//! there, prints the table: operation, reference (ms), ours (ms), ratio (reference / ours), and
//! whether both computed the same result. Not a test: nothing fails on a slow number.
//!
//! `bench <dir> --only <id-prefix>` runs only the matching operations (`mst-build`, `mst-bulk`,
//! `mst-inserts`, `sign-verify`, `car-export`), for profiling one of them with `perf record`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crypto::{Algorithm, Keypair};
use data::Cid;
use repo::commit::UnsignedCommit;
use repo::mst::Mst;
use repo::{BlockStore, CommitLimits, MemoryBlockStore, Repo, WriteOp};
use serde::Deserialize;
use serde_json::json;
use syntax::Tid;
use vectors::reference::block_on;
use vectors::reference::ref_cars::hex_of;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    tree: usize,
    inserts: usize,
    signs: usize,
    keys: Vec<String>,
    cids: Vec<String>,
    repo_records: Vec<(String, serde_json::Value)>,
    did: String,
    priv_p256: String,
    priv_k256: String,
}

struct Row {
    id: String,
    op: String,
    ms: f64,
    check: Option<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: bench <dir> [--only <id-prefix>]   (run vectors/reference/bench.sh)");
        return ExitCode::from(2);
    };
    let only = match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("--only"), Some(id)) => Some(id.clone()),
        (None, _) => None,
        _ => {
            eprintln!("usage: bench <dir> [--only <id-prefix>]");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; benchmark numbers need --release");
    }
    match run(&dir, only.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &Path, only: Option<&str>) -> Result<(), String> {
    let wanted = |id: &str| only.is_none_or(|o| id.starts_with(o));
    let text = std::fs::read(dir.join("bench-input.json"))
        .map_err(|e| format!("bench-input.json: {e}"))?;
    let input: Input =
        serde_json::from_slice(&text).map_err(|e| format!("bench-input.json: {e}"))?;
    let cids: Vec<Cid> = input
        .cids
        .iter()
        .map(|c| c.parse().map_err(|e| format!("{c}: {e}")))
        .collect::<Result<_, String>>()?;
    let keys = &input.keys;
    let (tree_n, inserts) = (input.tree, input.inserts);
    let mut rows = Vec::new();
    let mut report = |id: &str, op: String, ms: f64, check: Option<String>| {
        println!("  ours {op:<48} {ms:>12.3} ms");
        rows.push(Row {
            id: id.into(),
            op,
            ms,
            check,
        });
    };
    let store = MemoryBlockStore::new();
    let err = |e: repo::mst::MstError| e.to_string();

    // 1. MST build: one by one, in the workload's order, root at the end.
    let sorted: BTreeMap<&str, Cid> = (0..tree_n).map(|i| (keys[i].as_str(), cids[i])).collect();
    let mut base = None;
    if wanted("mst-build") {
        let t = Instant::now();
        let mut tree = Mst::new();
        for i in 0..tree_n {
            block_on(tree.insert(&store, &keys[i], cids[i])).map_err(err)?;
        }
        let root = tree.root();
        report(
            "mst-build",
            format!("mst build {tree_n} keys (one by one, root at end)"),
            ms(t),
            Some(root.to_string()),
        );
        base = Some(tree);
    }

    // 1b. The same map built at once from sorted keys (the reference has no such operation).
    if wanted("mst-bulk") {
        let t = Instant::now();
        let mut bulk = Mst::from_sorted(sorted.iter().map(|(k, c)| (*k, *c))).map_err(err)?;
        let bulk_root = bulk.root();
        report(
            "mst-bulk",
            format!("mst build {tree_n} keys (bulk, from sorted)"),
            ms(t),
            Some(bulk_root.to_string()),
        );
    }

    // 2. Inserts into a stored tree, the new root after each.
    if wanted("mst-inserts") {
        let mut tree = match base.take() {
            Some(t) => t,
            None => Mst::from_sorted(sorted.iter().map(|(k, c)| (*k, *c))).map_err(err)?,
        };
        let changes = tree.take_changes();
        block_on(store.put_many(changes.new_nodes)).map_err(|e| e.to_string())?;
        let mut tree = Mst::load(changes.root);
        let t = Instant::now();
        for i in tree_n..tree_n + inserts {
            block_on(tree.insert(&store, &keys[i], cids[i])).map_err(err)?;
            tree.root();
        }
        let root = tree.root();
        report(
            "mst-inserts",
            format!("mst {inserts} inserts into {tree_n} (root after each)"),
            ms(t),
            Some(root.to_string()),
        );
    }

    // 3. Commit sign + verify, per operation.
    let rev: Tid = "3l3qo2vutsw2b".parse().map_err(|e| format!("{e}"))?;
    for (alg, label, hex) in [
        (Algorithm::P256, "P-256", &input.priv_p256),
        (Algorithm::K256, "K-256", &input.priv_k256),
    ] {
        if !wanted(&format!("sign-verify-{label}")) {
            continue;
        }
        let key = Keypair::from_hex(alg, hex).map_err(|e| e.to_string())?;
        let public = key.public_key();
        let t = Instant::now();
        let mut last = Vec::new();
        for cid in cids.iter().take(input.signs) {
            let commit = UnsignedCommit::new(input.did.clone(), *cid, rev).sign(&key);
            commit.verify(&public).map_err(|e| e.to_string())?;
            last = commit.sig;
        }
        report(
            &format!("sign-verify-{label}"),
            format!("commit sign+verify {label} (per op)"),
            ms(t) / input.signs as f64,
            Some(format!("last sig {}…", &hex_of(&last)[..16])),
        );
    }

    // 4. Full CAR export of a repo (all records in one commit, as Repo.create makes it).
    if wanted("car-export") {
        car_export(&input, rev, &mut report)?;
    }

    let peak = peak_rss_mib();
    if let Some(p) = peak {
        println!("  ours peak RSS {p:.0} MiB");
    }
    let out = json!({
        "runtime": "rust (release)",
        "peakRssMiB": peak,
        "results": rows.iter().map(|r| json!({"id": r.id, "op": r.op, "ms": r.ms, "check": r.check})).collect::<Vec<_>>(),
    });
    std::fs::write(dir.join("bench-ours.json"), out.to_string()).map_err(|e| e.to_string())?;
    if let Ok(reference) = std::fs::read(dir.join("bench-ref.json")) {
        let reference: serde_json::Value =
            serde_json::from_slice(&reference).map_err(|e| e.to_string())?;
        table(&reference, &rows, peak);
    }
    Ok(())
}

fn car_export(
    input: &Input,
    rev: Tid,
    report: &mut impl FnMut(&str, String, f64, Option<String>),
) -> Result<(), String> {
    let key = Keypair::from_hex(Algorithm::P256, &input.priv_p256).map_err(|e| e.to_string())?;
    let mut repo = Repo::create(MemoryBlockStore::new(), input.did.clone())
        .map_err(|e| e.to_string())?
        .with_limits(CommitLimits::UNLIMITED);
    let mut writes = Vec::with_capacity(input.repo_records.len());
    for (path, record) in &input.repo_records {
        let (collection, rkey) = path.split_once('/').ok_or("a record path without '/'")?;
        let value = data::json::from_json(record).map_err(|e| format!("{path}: {e}"))?;
        writes.push(WriteOp::create(collection, rkey, &value));
    }
    let commit = block_on(repo.apply_writes(&writes, rev, &key)).map_err(|e| e.to_string())?;
    block_on(commit.persist(repo.store())).map_err(|e| e.to_string())?;
    let mut car = block_on(repo.export_car()).map_err(|e| e.to_string())?;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        car = block_on(repo.export_car()).map_err(|e| e.to_string())?;
        best = best.min(ms(t));
    }
    report(
        "car-export",
        format!("car export {}-record repo", input.repo_records.len()),
        best,
        Some(format!("{} {} bytes", repo.data(), car.len())),
    );
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Peak resident set of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn table(reference: &serde_json::Value, rows: &[Row], peak: Option<f64>) {
    let empty = Vec::new();
    let ref_rows = reference["results"].as_array().unwrap_or(&empty);
    println!();
    println!(
        "| {:<48} | {:>14} | {:>12} | {:>8} | {:<11} |",
        "operation", "reference (ms)", "ours (ms)", "ratio", "same result"
    );
    println!(
        "|{:-<50}|{:->16}|{:->14}|{:->10}|{:-<13}|",
        "", "", "", "", ""
    );
    for row in rows {
        let r = ref_rows.iter().find(|r| r["id"] == row.id.as_str());
        let ref_ms = r.and_then(|r| r["ms"].as_f64());
        // the bulk build must reach the root the reference's one-by-one build reached
        let check_id = if row.id == "mst-bulk" {
            "mst-build"
        } else {
            row.id.as_str()
        };
        let same = match (reference["checks"][check_id].as_str(), &row.check) {
            (Some(a), Some(b)) => {
                if a == b {
                    "yes"
                } else {
                    "NO"
                }
            }
            _ => "n/a",
        };
        let (ref_s, ratio) = match ref_ms {
            Some(m) => (fmt_ms(m), format!("{:.1}x", m / row.ms)),
            None => ("n/a".to_string(), "n/a".to_string()),
        };
        println!(
            "| {:<48} | {:>14} | {:>12} | {:>8} | {:<11} |",
            row.op,
            ref_s,
            fmt_ms(row.ms),
            ratio,
            same
        );
    }
    let ref_peak = reference["peakRssMiB"].as_f64();
    println!(
        "| {:<48} | {:>14} | {:>12} | {:>8} | {:<11} |",
        "peak RSS of the process (MiB)",
        ref_peak.map_or("n/a".into(), |p| format!("{p:.0}")),
        peak.map_or("n/a".into(), |p| format!("{p:.0}")),
        match (ref_peak, peak) {
            (Some(a), Some(b)) => format!("{:.1}x", a / b),
            _ => "n/a".into(),
        },
        ""
    );
    for row in rows {
        if let (Some(a), Some(b)) = (reference["checks"][&row.id].as_str(), &row.check) {
            if a != b {
                println!("  {}: the reference computed {a}, we computed {b}", row.id);
            }
        }
    }
}

fn fmt_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.4}")
    } else if ms < 100.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}
