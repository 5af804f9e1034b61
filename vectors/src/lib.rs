//! The L1 conformance runner.
//!
//! Every file of `atproto-interop-tests/` and `did-plc-interop-tests/` is either run, case by case,
//! by the crate whose code it concerns (through that crate's `interop` module), or named here as
//! not being a vector file (licences, READMEs). A file the runner does not know is a failure, so
//! a new upstream file can never be skipped silently.

use std::path::{Path, PathBuf};

pub mod families;
pub mod reference;

/// Where `../shared` is: `ATPROTO_SHARED`, else beside the workspace.
pub fn shared_dir() -> PathBuf {
    testdata::shared_dir()
}

/// The outcome of one vector file.
#[derive(Debug, Default)]
pub struct FileReport {
    /// Path relative to the shared folder.
    pub file: String,
    pub passed: usize,
    pub failures: Vec<String>,
    /// Cases the project deliberately decides against, each with its reason (counted as passed).
    pub notes: Vec<String>,
}

impl FileReport {
    pub fn new(file: impl Into<String>) -> Self {
        FileReport {
            file: file.into(),
            ..Default::default()
        }
    }

    /// Records one case's outcome.
    pub fn record(&mut self, label: impl std::fmt::Display, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.passed += 1,
            Err(e) => self.failures.push(format!("{label}: {e}")),
        }
    }

    pub fn fail(&mut self, reason: impl Into<String>) {
        self.failures.push(reason.into());
    }
}

/// Files in the vector folders that hold no vectors.
const NOT_VECTORS: &[&str] = &[
    "README.md",
    "PROVENANCE.md",
    "SHA256SUMS",
    "LICENSE-CC0",
    "LICENSE.txt",
    "LICENSE-MIT.txt",
    "LICENSE-APACHE.txt",
];

/// Runs every vector file under the shared folder. Returns the reports and the files that hold
/// no vectors.
pub fn run_all(shared: &Path) -> (Vec<FileReport>, Vec<String>) {
    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for family_root in ["atproto-interop-tests", "did-plc-interop-tests"] {
        let root = shared.join(family_root);
        let mut files = Vec::new();
        collect_files(&root, &mut files);
        files.sort();
        if files.is_empty() {
            let mut r = FileReport::new(family_root);
            r.fail(format!("no vector files under {}", root.display()));
            reports.push(r);
            continue;
        }
        for path in files {
            let rel = path
                .strip_prefix(shared)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if NOT_VECTORS.contains(&name) {
                skipped.push(rel);
                continue;
            }
            let mut report = FileReport::new(rel.clone());
            families::run_file(shared, &rel, &path, &mut report);
            reports.push(report);
        }
    }
    if let Some(r) = families::check_sha256sums(shared) {
        reports.push(r);
    }
    (reports, skipped)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}
