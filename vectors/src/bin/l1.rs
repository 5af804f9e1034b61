//! `cargo run -p vectors --bin l1`: runs every official vector file and prints a count per file,
//! then `N passed, M failed`. Exits non-zero on any failure, or, under `CI=true`, when the vector
//! folders are missing.

use std::process::ExitCode;

fn main() -> ExitCode {
    let shared = vectors::shared_dir();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !shared.join("atproto-interop-tests").is_dir()
        || !shared.join("did-plc-interop-tests").is_dir()
    {
        eprintln!(
            "the vector folders are missing under {} (set ATPROTO_SHARED)",
            shared.display()
        );
        println!("0 passed, 1 failed");
        return if ci {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let (reports, skipped) = vectors::run_all(&shared);
    let mut passed = 0;
    let mut failed = 0;
    for r in &reports {
        let status = if r.failures.is_empty() {
            "ok  "
        } else {
            "FAIL"
        };
        println!(
            "{status} {:<80} {:>5} passed, {} failed",
            r.file,
            r.passed,
            r.failures.len()
        );
        for note in &r.notes {
            println!("       note: {note}");
        }
        for f in &r.failures {
            println!("       failed: {f}");
        }
        passed += r.passed;
        failed += r.failures.len();
    }
    println!(
        "({} files hold no vectors: {})",
        skipped.len(),
        skipped.join(", ")
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
