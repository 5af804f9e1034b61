//! The draft permission-scope vectors (`unmerged/bnewbold-permission/permission/`), every case.
//!
//! Data: `$ATPROTO_SHARED/atproto-interop-tests/`, or `../shared` beside the workspace. If it is
//! missing the tests fail under `CI=true` and print a loud skip otherwise.

use std::path::PathBuf;

use permission::interop::{check_scope_file, DISPUTED};

const FILES: &[&str] = &[
    "permission_scopes_valid.txt",
    "permission_scopes_invalid.txt",
    "generic_scopes_valid.json",
    "generic_scopes_invalid.txt",
];

fn vectors_dir() -> Option<PathBuf> {
    testdata::vectors("atproto-interop-tests/unmerged/bnewbold-permission/permission")
}

#[test]
fn every_draft_vector() {
    let Some(dir) = vectors_dir() else { return };
    let mut failures = Vec::new();
    for name in FILES {
        let text = std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()));
        let outcomes = check_scope_file(name, &text);
        assert!(!outcomes.is_empty(), "{name} has no cases");
        let failed: Vec<_> = outcomes.iter().filter(|(_, r)| r.is_err()).collect();
        eprintln!(
            "{name}: {} cases, {} pass, {} fail",
            outcomes.len(),
            outcomes.len() - failed.len(),
            failed.len()
        );
        for (case, result) in failed {
            failures.push(format!(
                "{name}: {case:?}: {}",
                result.as_ref().unwrap_err()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every line of the files is accounted for: the case counts match the non-comment lines.
#[test]
fn counts_match_the_files() {
    let Some(dir) = vectors_dir() else { return };
    for name in FILES.iter().filter(|n| n.ends_with(".txt")) {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let lines = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .count();
        assert_eq!(check_scope_file(name, &text).len(), lines, "{name}");
    }
    let json = std::fs::read_to_string(dir.join("generic_scopes_valid.json")).unwrap();
    let cases = check_scope_file("generic_scopes_valid.json", &json);
    assert_eq!(cases.len(), json.matches("\"scope\"").count());
}

#[test]
fn disputed_entries_name_real_cases() {
    let Some(dir) = vectors_dir() else { return };
    for (file, case, reason) in DISPUTED {
        assert!(FILES.contains(file), "{file}");
        assert!(!reason.is_empty());
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(
            check_scope_file(file, &text).iter().any(|(c, _)| c == case),
            "{file}: {case:?} is not a case"
        );
    }
}
