//! Record keys (spec: record-key, "Record Key Syntax") and repo paths (spec: repository,
//! "Repository Paths").

use crate::error::{fail, Kind, SyntaxError};
use crate::newtype::{keep, string_newtype};
use crate::nsid::validate_nsid;

/// The spec's limit on a record key.
pub const MAX_RECORD_KEY_LEN: usize = 512;

/// Checks record-key syntax: 1–512 characters from `A-Z a-z 0-9 . - _ : ~`, and not `.` or
/// `..` (which would be relative path segments in an AT-URI). Case-sensitive.
pub fn validate_record_key(s: &str) -> Result<(), SyntaxError> {
    if s.is_empty() {
        return fail(Kind::RecordKey, "empty");
    }
    if s.len() > MAX_RECORD_KEY_LEN {
        return fail(Kind::RecordKey, "longer than 512 characters");
    }
    if !s.bytes().all(is_record_key_byte) {
        return fail(Kind::RecordKey, "may only contain A-Z a-z 0-9 . - _ : ~");
    }
    if s == "." || s == ".." {
        return fail(Kind::RecordKey, "'.' and '..' are not allowed");
    }
    Ok(())
}

fn is_record_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':' | b'~')
}

string_newtype!(
    /// A syntactically valid record key, kept as given (record keys are case-sensitive).
    RecordKey,
    validate_record_key,
    keep
);

/// Splits and checks a repo path `<collection>/<record key>`: exactly two segments, no leading
/// slash, a valid NSID and a valid record key. Returns `(collection, rkey)` borrowed from
/// `path`, so MST code can check every key without allocating.
pub fn validate_repo_path(path: &str) -> Result<(&str, &str), SyntaxError> {
    if path.starts_with('/') {
        return fail(Kind::RepoPath, "must not start with '/'");
    }
    let Some((collection, rkey)) = path.split_once('/') else {
        return fail(Kind::RepoPath, "must be <collection>/<record key>");
    };
    if rkey.contains('/') {
        return fail(
            Kind::RepoPath,
            "must have exactly two segments (<collection>/<record key>)",
        );
    }
    validate_nsid(collection)
        .map_err(|e| SyntaxError::caused_by(Kind::RepoPath, "collection is not a valid NSID", e))?;
    validate_record_key(rkey)
        .map_err(|e| SyntaxError::caused_by(Kind::RepoPath, "record key is not valid", e))?;
    Ok((collection, rkey))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_key_limits() {
        assert_eq!(validate_record_key(&"o".repeat(512)), Ok(()));
        assert_eq!(
            validate_record_key(&"o".repeat(513)).unwrap_err().rule(),
            "longer than 512 characters"
        );
        assert_eq!(validate_record_key("").unwrap_err().rule(), "empty");
        for dots in [".", ".."] {
            assert_eq!(
                validate_record_key(dots).unwrap_err().rule(),
                "'.' and '..' are not allowed"
            );
        }
        for ok in [
            "...",
            "self.",
            ":",
            "~",
            "_",
            "-",
            "3jui7kd54zh2y",
            "lang:",
            "Self",
        ] {
            assert_eq!(validate_record_key(ok), Ok(()), "{ok}");
        }
        for bad in ["a/b", "a b", "a%20", "a#b", "é", "dHJ1ZQ=="] {
            assert_eq!(
                validate_record_key(bad).unwrap_err().rule(),
                "may only contain A-Z a-z 0-9 . - _ : ~",
                "{bad}"
            );
        }
    }

    #[test]
    fn repo_paths() {
        assert_eq!(
            validate_repo_path("app.bsky.feed.post/3jui7kd54zh2y"),
            Ok(("app.bsky.feed.post", "3jui7kd54zh2y"))
        );
        for (bad, rule) in [
            ("/app.bsky.feed.post/abc", "must not start with '/'"),
            ("app.bsky.feed.post", "must be <collection>/<record key>"),
            (
                "app.bsky.feed.post/a/b",
                "must have exactly two segments (<collection>/<record key>)",
            ),
            ("a/b", "collection is not a valid NSID"),
            ("app.bsky.feed.post/..", "record key is not valid"),
            ("app.bsky.feed.post/", "record key is not valid"),
        ] {
            assert_eq!(validate_repo_path(bad).unwrap_err().rule(), rule, "{bad}");
        }
    }
}
