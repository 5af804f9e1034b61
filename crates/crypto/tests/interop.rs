//! The official crypto interop vectors (`atproto-interop-tests/crypto/`), judged by
//! `crypto::interop` so this test and the L1 runner agree.
//!
//! The shared folder comes from `ATPROTO_SHARED`, else `<workspace>/../shared`. When it is missing
//! the test fails under `CI=true` and otherwise passes with a loud skip message, so a checkout
//! without the shared data still builds and tests.

use std::io::Write;
use std::path::PathBuf;

use crypto::interop::{run_file, FixtureFile};

fn crypto_vectors_dir() -> Option<PathBuf> {
    testdata::vectors("atproto-interop-tests/crypto")
}

/// Writes straight to the process's stderr: libtest captures `println!`/`eprintln!` from
/// passing tests, and the counts and skip notice must show in CI logs.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn crypto_interop_vectors() {
    let Some(dir) = crypto_vectors_dir() else {
        return;
    };
    let mut total = 0;
    let mut failed = Vec::new();
    for file in FixtureFile::ALL {
        let report = run_file(&dir, file).unwrap_or_else(|e| panic!("{e}"));
        say(&report.to_string());
        total += report.total;
        if !report.failures.is_empty() {
            failed.push(report.to_string());
        }
    }
    say(&format!("crypto interop: {total} cases run"));
    assert!(
        failed.is_empty(),
        "interop failures:\n{}",
        failed.join("\n")
    );
    // signature-fixtures (6) + P-256 (1) + K-256 (5) at the pinned commit; fewer means a file
    // was truncated or replaced.
    assert!(total >= 12, "only {total} crypto interop cases found");
}
