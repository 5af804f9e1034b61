//! did-plc-interop-tests: every `audit_log/valid` file must validate and every
//! `audit_log/invalid` file must be rejected for the reason its name gives.

use identity::interop::{audit_log_vectors, check_audit_log_file};

#[test]
fn did_plc_audit_log_vectors() {
    if testdata::vectors("did-plc-interop-tests").is_none() {
        return;
    }
    let shared = testdata::shared_dir();
    let vectors = audit_log_vectors(&shared).expect("listing the vector folders");
    let mut failures = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for (path, expect_valid) in &vectors {
        match check_audit_log_file(path.to_str().expect("UTF-8 path"), *expect_valid) {
            Ok(()) if *expect_valid => valid += 1,
            Ok(()) => invalid += 1,
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    eprintln!(
        "did-plc audit logs: {valid} valid accepted, {invalid} invalid rejected, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    // The pinned vector set has 10 + 10 files; fewer means the folders were not read.
    assert!(
        valid >= 10 && invalid >= 10,
        "only {valid} valid and {invalid} invalid vectors found"
    );
}

#[test]
fn raw_json_input_is_accepted() {
    assert!(check_audit_log_file("[]", false).is_ok());
    assert!(check_audit_log_file("[]", true).is_err());
    assert!(check_audit_log_file("/nonexistent/log.json", true).is_err());
}
