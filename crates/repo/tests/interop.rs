//! The official interop vectors (`atproto-interop-tests`) for the repo engine, through
//! [`repo::interop`]. The vectors are found under `$ATPROTO_SHARED` if set, else
//! `<CARGO_MANIFEST_DIR>/../../../shared`; without them the test fails under `CI=true` and
//! skips loudly otherwise.

use std::path::PathBuf;

use serde_json::Value;

fn shared() -> Option<PathBuf> {
    testdata::vectors("atproto-interop-tests")
}

fn run(file: &str, cases: Vec<Value>, check: fn(&Value) -> Result<(), String>) {
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if let Err(e) = check(case) {
            failures.push(format!("  case {i}: {e}"));
        }
    }
    eprintln!(
        "{file}: {} passed, {} failed",
        cases.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
}

fn json_cases(dir: &std::path::Path, file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    match serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}")) {
        Value::Array(cases) => cases,
        _ => panic!("{file}: not an array"),
    }
}

#[test]
fn mst_key_heights() {
    let Some(dir) = shared() else { return };
    let file = "mst/key_heights.json";
    run(file, json_cases(&dir, file), repo::interop::key_height_case);
}

#[test]
fn mst_common_prefix() {
    let Some(dir) = shared() else { return };
    let file = "mst/common_prefix.json";
    run(
        file,
        json_cases(&dir, file),
        repo::interop::common_prefix_case,
    );
}

#[test]
fn mst_example_keys() {
    let Some(dir) = shared() else { return };
    let file = "mst/example_keys.txt";
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let cases = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Value::String(l.trim().to_string()))
        .collect();
    run(file, cases, repo::interop::example_key_case);
}

#[test]
fn firehose_commit_proofs() {
    let Some(dir) = shared() else { return };
    let file = "firehose/commit-proof-fixtures.json";
    run(
        file,
        json_cases(&dir, file),
        repo::interop::commit_proof_case,
    );
}
