//! The official data-model vectors, run next to the code they check.

use std::path::PathBuf;

fn vectors_dir() -> Option<PathBuf> {
    testdata::vectors("atproto-interop-tests/data-model")
}

fn run(file: &str, check: fn(&serde_json::Value) -> Result<(), String>) {
    let Some(dir) = vectors_dir() else { return };
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(!cases.is_empty());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            check(c)
                .err()
                .map(|e| format!("{}: {e}", c.get("note").unwrap_or(c)))
        })
        .collect();
    assert!(failures.is_empty(), "{file}: {failures:#?}");
    eprintln!("{file}: {} cases passed", cases.len());
}

#[test]
fn fixtures() {
    run("data-model-fixtures.json", data::interop::check_fixture);
}

#[test]
fn valid() {
    run("data-model-valid.json", data::interop::check_valid);
}

#[test]
fn invalid() {
    run("data-model-invalid.json", data::interop::check_invalid);
}
