//! MIME type patterns of a blob schema's `accept` list: `type/subtype`, `type/*`, or `*/*`.
//! "Partial globs (`text/ht*`) or stand-alone wildcard (`*`) are not supported."

/// Whether `pattern` is a well-formed `accept` entry.
pub fn is_valid_pattern(pattern: &str) -> bool {
    if pattern == "*/*" {
        return true;
    }
    let Some((kind, sub)) = pattern.split_once('/') else {
        return false;
    };
    !kind.is_empty()
        && !sub.is_empty()
        && !kind.contains('*')
        && !sub.contains('/')
        && (sub == "*" || !sub.contains('*'))
}

/// Whether `mime_type` matches `pattern`, as the reference PDS compares them: `*/*` takes
/// anything, `type/*` takes any `type/...`, anything else must be equal (case-sensitive).
pub fn matches(pattern: &str, mime_type: &str) -> bool {
    if pattern == "*/*" {
        return true;
    }
    match pattern.strip_suffix("/*") {
        Some(kind) => {
            mime_type.len() > kind.len() + 1
                && mime_type.starts_with(kind)
                && mime_type.as_bytes()[kind.len()] == b'/'
        }
        None => pattern == mime_type,
    }
}

/// Whether `mime_type` matches any pattern of an `accept` list.
pub fn accepted(accept: &[String], mime_type: &str) -> bool {
    accept.iter().any(|p| matches(p, mime_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for ok in ["*/*", "image/*", "image/png", "application/vnd.ipld.car"] {
            assert!(is_valid_pattern(ok), "{ok}");
        }
        for bad in [
            "*",
            "",
            "image",
            "image/",
            "/png",
            "*/png",
            "text/ht*",
            "a/b/c",
            "im*ge/png",
        ] {
            assert!(!is_valid_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn matching() {
        assert!(matches("image/*", "image/png"));
        assert!(matches("image/png", "image/png"));
        assert!(!matches("image/png", "IMAGE/PNG"));
        assert!(matches("*/*", "text/plain"));
        assert!(!matches("image/*", "text/plain"));
        assert!(!matches("image/png", "image/jpeg"));
        assert!(!matches("image/*", "image/"));
        assert!(!matches("image/*", "imagex/png"));
        assert!(accepted(
            &["video/mp4".into(), "image/*".into()],
            "image/webp"
        ));
        assert!(!accepted(&[], "image/webp"));
    }
}
