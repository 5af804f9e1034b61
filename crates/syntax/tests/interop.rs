//! The official syntax vectors, both copies, run next to the code they check.
//!
//! Data: `$ATPROTO_SHARED/atproto-interop-tests/`, or `../shared` beside the workspace. If it is
//! missing the tests fail under `CI=true` and print a loud skip otherwise.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use syntax::interop::{check_syntax_text, Counts, Verdict, DELIBERATE_DIVERGENCES};

/// The main set's files; all must be present and checked.
const MAIN_FILES: &[&str] = &[
    "atidentifier_syntax_invalid.txt",
    "atidentifier_syntax_valid.txt",
    "aturi_syntax_invalid.txt",
    "aturi_syntax_valid.txt",
    "cid_syntax_invalid.txt",
    "cid_syntax_valid.txt",
    "datetime_parse_invalid.txt",
    "datetime_syntax_invalid.txt",
    "datetime_syntax_valid.txt",
    "did_syntax_invalid.txt",
    "did_syntax_valid.txt",
    "handle_syntax_invalid.txt",
    "handle_syntax_valid.txt",
    "language_parse_invalid.txt",
    "language_syntax_invalid.txt",
    "language_syntax_valid.txt",
    "nsid_syntax_invalid.txt",
    "nsid_syntax_valid.txt",
    "recordkey_syntax_invalid.txt",
    "recordkey_syntax_valid.txt",
    "tid_syntax_invalid.txt",
    "tid_syntax_valid.txt",
    "uri_syntax_invalid.txt",
    "uri_syntax_valid.txt",
];

fn vectors_root() -> Option<PathBuf> {
    testdata::vectors("atproto-interop-tests/syntax")?;
    Some(testdata::shared_dir().join("atproto-interop-tests"))
}

/// Runs every `.txt` in `dir`; returns (file, line) of every divergence seen, and the number of
/// vector lines checked. Panics listing every failure.
fn run_dir(dir: &Path) -> (HashSet<(String, String)>, usize) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut failures = Vec::new();
    let mut diverged = HashSet::new();
    let mut total = 0;
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let outcomes =
            check_syntax_text(name, &text).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(!outcomes.is_empty(), "{name} has no vectors");
        total += outcomes.len();
        for o in &outcomes {
            match &o.verdict {
                Verdict::Pass => {}
                Verdict::Diverged(_) => {
                    diverged.insert((name.clone(), o.line.clone()));
                }
                Verdict::Fail(why) => failures.push(format!("{name}: {:?}: {why}", o.line)),
            }
        }
        eprintln!("{}/{name}: {}", dir.display(), Counts::of(&outcomes));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    (diverged, total)
}

#[test]
fn main_set() {
    let Some(root) = vectors_root() else { return };
    let dir = root.join("syntax");
    for f in MAIN_FILES {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let (_, total) = run_dir(&dir);
    // 536 vector lines in the pinned snapshot; a big drop means files were truncated or misread.
    assert!(total >= 500, "only {total} vectors checked");
}

#[test]
fn monorepo_copy() {
    let Some(root) = vectors_root() else { return };
    let dir = root.join("from-atproto-monorepo/syntax");
    if !dir.is_dir() {
        eprintln!("SKIPPED: no monorepo copy at {}", dir.display());
        return;
    }
    run_dir(&dir);
}

/// Every listed divergence must still be needed: if one stops diverging, the list (and the
/// README) are out of date.
#[test]
fn every_divergence_is_exercised() {
    let Some(root) = vectors_root() else { return };
    let mut seen = run_dir(&root.join("syntax")).0;
    let mono = root.join("from-atproto-monorepo/syntax");
    if mono.is_dir() {
        seen.extend(run_dir(&mono).0);
    }
    for (file, line, _) in DELIBERATE_DIVERGENCES {
        assert!(
            seen.contains(&(file.to_string(), line.to_string())),
            "divergence ({file}, {line}) no longer happens"
        );
    }
    assert_eq!(seen.len(), DELIBERATE_DIVERGENCES.len());
}

/// The monorepo-only valid TIDs (first character a letter) pass in every copy.
#[test]
fn letter_first_tids() {
    for tid in ["a222222222222", "j222222222222", "azzzzzzzzzzzz"] {
        assert_eq!(syntax::validate_tid(tid), Ok(()), "{tid}");
    }
}
