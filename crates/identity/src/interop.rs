//! The did:plc audit-log interop vectors (`did-plc-interop-tests/audit_log/{valid,invalid}`),
//! checked one file at a time, for this crate's tests and for the L1 runner that prints counts.

use std::path::{Path, PathBuf};

use crate::audit::{parse_audit_log_str, validate_audit_log};
use crate::error::{AuditErrorKind, OpError, SigEncoding, SigFailure};

/// Checks one audit log against the expectation: `expect_valid` logs must validate, the others
/// must be rejected, and for the others the rejection must be the one the file name announces
/// (`log_invalid_sig_p256_high_s.json` must fail on high-S, not on something else).
///
/// `path_or_json` is a file path, or the JSON text itself when it starts with `[` (then no
/// name tells the reason, and any rejection counts). The DID is the first entry's `did`.
pub fn check_audit_log_file(path_or_json: &str, expect_valid: bool) -> Result<(), String> {
    let (text, name) = if path_or_json.trim_start().starts_with('[') {
        (path_or_json.to_owned(), None)
    } else {
        let path = Path::new(path_or_json);
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path_or_json}: {e}"))?;
        (
            text,
            path.file_name().map(|n| n.to_string_lossy().into_owned()),
        )
    };

    let outcome = parse_audit_log_str(&text).and_then(|entries| {
        let did = entries.first().map(|e| e.did.clone()).unwrap_or_default();
        validate_audit_log(&did, &entries)
    });

    match (outcome, expect_valid) {
        (Ok(_), true) => Ok(()),
        (Err(e), true) => Err(format!("expected valid, but rejected: {e}")),
        (Ok(_), false) => Err("expected a rejection, but the log validated".to_owned()),
        (Err(e), false) => match name.as_deref().and_then(expected_rejection) {
            Some((reason, matches)) if !matches(&e.kind) => Err(format!(
                "rejected for the wrong reason (file name says {reason}): {e}"
            )),
            _ => Ok(()),
        },
    }
}

type KindCheck = fn(&AuditErrorKind) -> bool;

/// The rejection an invalid vector's name announces, if the name is one this code knows.
fn expected_rejection(file_name: &str) -> Option<(&'static str, KindCheck)> {
    use AuditErrorKind as K;
    let table: [(&str, &str, KindCheck); 9] = [
        (
            "sig_b64_padding_bits",
            "non-zero base64 padding bits",
            |k| {
                matches!(
                    k,
                    K::Op(OpError::SigEncoding(SigEncoding::NonZeroPaddingBits))
                )
            },
        ),
        ("sig_b64_padding_chars", "base64 padding characters", |k| {
            matches!(k, K::Op(OpError::SigEncoding(SigEncoding::PaddingChars)))
        }),
        ("sig_b64_newline", "whitespace in base64", |k| {
            matches!(k, K::Op(OpError::SigEncoding(SigEncoding::Whitespace)))
        }),
        ("high_s", "high-S signature", |k| {
            matches!(k, K::Op(OpError::Signature(SigFailure::HighS)))
        }),
        ("sig_der", "DER signature", |k| {
            matches!(k, K::Op(OpError::Signature(SigFailure::Der)))
        }),
        ("nullification_too_slow", "late recovery", |k| {
            matches!(k, K::LateRecovery { .. })
        }),
        (
            "nullification_reused_key",
            "nullification without a higher-priority key",
            |k| matches!(k, K::NullificationPriority { .. }),
        ),
        ("update_nullified", "prev is nullified", |k| {
            matches!(k, K::PrevNullified(_))
        }),
        ("update_tombstoned", "prev is a tombstone", |k| {
            matches!(k, K::PrevTombstoned(_))
        }),
    ];
    table
        .into_iter()
        .find(|(needle, ..)| file_name.contains(needle))
        .map(|(_, reason, check)| (reason, check))
}

/// The audit-log vector files under `shared`, sorted, each with whether it must validate
/// (`valid/`) or be rejected (`invalid/`).
pub fn audit_log_vectors(shared: &Path) -> Result<Vec<(PathBuf, bool)>, String> {
    let mut out = Vec::new();
    for (folder, expect_valid) in [("valid", true), ("invalid", false)] {
        let dir = shared.join("did-plc-interop-tests/audit_log").join(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|p| (p, expect_valid)));
    }
    Ok(out)
}
