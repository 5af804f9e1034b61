//! The generic `uri` string format (spec: lexicon, "uri": "any URI schema, following the
//! generic RFC-3986", at most 8 KiB).

use crate::error::{fail, Kind, SyntaxError};

/// The spec's limit: 8 kilobytes.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// Checks generic URI syntax: an RFC 3986 scheme (a letter, then letters, digits, `+ - .`), a
/// `:`, then at least one character, with no whitespace or control characters anywhere; at most
/// 8 KiB.
///
/// Characters after the scheme are otherwise free, and that includes non-ASCII: strict RFC 3986
/// would want those percent-encoded, but the reference implementation's Lexicon check accepts
/// any non-whitespace there, so records with raw Unicode links (IRIs) exist and pass the
/// reference PDS; refusing them here would refuse writes it takes.
pub fn validate_uri(s: &str) -> Result<(), SyntaxError> {
    if s.len() > MAX_URI_LEN {
        return fail(Kind::Uri, "longer than 8 KiB (8192 bytes)");
    }
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return fail(
            Kind::Uri,
            "must start with a scheme, whose first character is a letter",
        );
    }
    let scheme_len = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        .count();
    if b.get(scheme_len) != Some(&b':') {
        return fail(
            Kind::Uri,
            "scheme (letters, digits, '+', '-', '.') must be followed by ':'",
        );
    }
    let rest = &s[scheme_len + 1..];
    if rest.is_empty() {
        return fail(Kind::Uri, "nothing after the scheme");
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail(
            Kind::Uri,
            "must not contain whitespace or control characters",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in [
            "https://example.com",
            "dns:example.com",
            "at://did:plc:abc/app.bsky.feed.post/3k",
            "ipld://bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a",
            "https://ja.wikipedia.org/wiki/東京",
            "go://?Mercedes%20Benz",
        ] {
            assert_eq!(validate_uri(ok), Ok(()), "{ok}");
        }
        for (bad, rule) in [
            (
                "",
                "must start with a scheme, whose first character is a letter",
            ),
            (
                "-http://x",
                "must start with a scheme, whose first character is a letter",
            ),
            (
                "example.com",
                "scheme (letters, digits, '+', '-', '.') must be followed by ':'",
            ),
            ("http:", "nothing after the scheme"),
            (
                "https://a b",
                "must not contain whitespace or control characters",
            ),
            (
                "https://a\u{0}b",
                "must not contain whitespace or control characters",
            ),
            (
                "https://a\u{a0}b",
                "must not contain whitespace or control characters",
            ),
        ] {
            assert_eq!(validate_uri(bad).unwrap_err().rule(), rule, "{bad:?}");
        }
        let max = format!("https://example.com/{}", "x".repeat(MAX_URI_LEN - 20));
        assert_eq!(max.len(), MAX_URI_LEN);
        assert_eq!(validate_uri(&max), Ok(()));
        assert!(validate_uri(&format!("{max}x")).is_err());
    }
}
