//! The L1 run as a test, so `cargo test` alone also fails on a broken vector.

#[test]
fn every_vector_file_passes() {
    let shared = vectors::shared_dir();
    if !shared.join("atproto-interop-tests").is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but the vectors are missing at {}",
            shared.display()
        );
        eprintln!("SKIPPED: no vectors at {}", shared.display());
        return;
    }
    let (reports, _) = vectors::run_all(&shared);
    let failures: Vec<String> = reports
        .iter()
        .flat_map(|r| r.failures.iter().map(move |f| format!("{}: {f}", r.file)))
        .collect();
    let passed: usize = reports.iter().map(|r| r.passed).sum();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(passed > 1000, "suspiciously few vectors ran: {passed}");
}
