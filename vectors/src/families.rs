//! Which crate runs which vector file.

use std::path::Path;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::FileReport;

/// Runs one vector file (`rel` is its path under the shared folder).
pub fn run_file(_shared: &Path, rel: &str, path: &Path, report: &mut FileReport) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let sub = rel.split_once('/').map(|(_, rest)| rest).unwrap_or(rel);
    match sub {
        "data-model/data-model-fixtures.json" => cases(path, report, data::interop::check_fixture),
        "data-model/data-model-valid.json" => cases(path, report, data::interop::check_valid),
        "data-model/data-model-invalid.json" => cases(path, report, data::interop::check_invalid),
        "crypto/signature-fixtures.json" => {
            cases(path, report, crypto::interop::check_signature_fixture)
        }
        "crypto/w3c_didkey_P256.json" => cases(path, report, |c| {
            crypto::interop::check_didkey_fixture(crypto::Algorithm::P256, c)
        }),
        "crypto/w3c_didkey_K256.json" => cases(path, report, |c| {
            crypto::interop::check_didkey_fixture(crypto::Algorithm::K256, c)
        }),
        "lexicon/lexicon-valid.json" => cases(path, report, lexicon::interop::check_lexicon_valid),
        "lexicon/lexicon-invalid.json" => {
            cases(path, report, lexicon::interop::check_lexicon_invalid)
        }
        "lexicon/record-data-valid.json" | "lexicon/record-data-invalid.json" => {
            match lexicon::interop::load_catalog(&dir.join("catalog")) {
                Ok(catalog) if sub.ends_with("-valid.json") => cases(path, report, |c| {
                    lexicon::interop::check_record_valid(&catalog, c)
                }),
                Ok(catalog) => cases(path, report, |c| {
                    lexicon::interop::check_record_invalid(&catalog, c)
                }),
                Err(e) => report.fail(e),
            }
        }
        s if s.starts_with("lexicon/catalog/") => catalog_file(path, report),
        "mst/key_heights.json" => cases(path, report, repo::interop::key_height_case),
        "mst/common_prefix.json" => cases(path, report, repo::interop::common_prefix_case),
        "mst/example_keys.txt" => lines(path, report, repo::interop::example_key_case),
        "firehose/commit-proof-fixtures.json" => {
            cases(path, report, repo::interop::commit_proof_case)
        }
        s if s.starts_with("audit_log/valid/") => report.record(
            "audit log",
            identity::interop::check_audit_log_file(&path.to_string_lossy(), true),
        ),
        s if s.starts_with("audit_log/invalid/") => report.record(
            "audit log",
            identity::interop::check_audit_log_file(&path.to_string_lossy(), false),
        ),
        s if s.starts_with("unmerged/bnewbold-permission/permission/") => {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    for (case, outcome) in permission::interop::check_scope_file(name, &text) {
                        report.record(format!("{case:?}"), outcome);
                    }
                }
                Err(e) => report.fail(format!("cannot read: {e}")),
            }
        }
        s if s.starts_with("syntax/") || s.starts_with("from-atproto-monorepo/syntax/") => {
            syntax_file(path, report)
        }
        _ => report.fail("no runner for this file: add one to vectors/src/families.rs"),
    }
}

/// A catalog schema the record vectors validate against: it must parse as a valid lexicon.
/// (Its references may point outside the catalog, e.g. to app.bsky.actor.defs, so they are
/// exercised by the record vectors rather than resolved here.)
fn catalog_file(path: &Path, report: &mut FileReport) {
    let outcome = read_json(path).and_then(|doc| {
        lexicon::LexiconDoc::from_json(&doc)
            .map(|_| ())
            .map_err(|e| format!("not a valid lexicon: {e}"))
    });
    report.record("schema", outcome);
}

/// A line-per-vector syntax file; the file name says what each line must do.
fn syntax_file(path: &Path, report: &mut FileReport) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return report.fail(format!("cannot read: {e}")),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match syntax::interop::check_syntax_text(name, &text) {
        Ok(outcomes) => {
            for o in outcomes {
                match o.verdict {
                    syntax::interop::Verdict::Pass => report.passed += 1,
                    syntax::interop::Verdict::Diverged(reason) => {
                        report.passed += 1;
                        report
                            .notes
                            .push(format!("{:?} decided against: {reason}", o.line));
                    }
                    syntax::interop::Verdict::Fail(why) => {
                        report.failures.push(format!("{:?}: {why}", o.line))
                    }
                }
            }
        }
        Err(e) => report.fail(format!("no syntax check for this file: {e}")),
    }
}

/// Runs each non-empty line of a text file through `check` (as a JSON string).
fn lines(path: &Path, report: &mut FileReport, check: impl Fn(&Json) -> Result<(), String>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return report.fail(format!("cannot read: {e}")),
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        report.record(line, check(&Json::String(line.to_owned())));
    }
}

/// Runs a JSON array of cases through `check`, labelling each by its comment or note.
fn cases(path: &Path, report: &mut FileReport, check: impl Fn(&Json) -> Result<(), String>) {
    let list = match read_json(path) {
        Ok(Json::Array(list)) => list,
        Ok(_) => return report.fail("not a JSON array of cases"),
        Err(e) => return report.fail(e),
    };
    for (i, case) in list.iter().enumerate() {
        report.record(label(i, case), check(case));
    }
}

fn label(i: usize, case: &Json) -> String {
    ["comment", "note", "name"]
        .iter()
        .find_map(|k| case.get(*k).and_then(Json::as_str))
        .map(|s| format!("#{i} {s}"))
        .unwrap_or_else(|| format!("#{i}"))
}

fn read_json(path: &Path) -> Result<Json, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

/// The main set ships `SHA256SUMS`; every listed file must match, so the runner knows it is
/// testing the vectors it thinks it is.
pub fn check_sha256sums(shared: &Path) -> Option<FileReport> {
    let root = shared.join("atproto-interop-tests");
    let sums = std::fs::read_to_string(root.join("SHA256SUMS")).ok()?;
    let mut report = FileReport::new("atproto-interop-tests/SHA256SUMS (integrity)");
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let Some((want, name)) = line.split_once("  ") else {
            report.fail(format!("unreadable line: {line}"));
            continue;
        };
        let outcome = match std::fs::read(root.join(name)) {
            Ok(bytes) => {
                let got: String = Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if got == want {
                    Ok(())
                } else {
                    Err(format!("sha256 {got}, listed {want}"))
                }
            }
            Err(e) => Err(format!("cannot read: {e}")),
        };
        report.record(name, outcome);
    }
    Some(report)
}
