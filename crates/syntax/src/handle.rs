//! Handles: DNS hostnames with a few atproto restrictions (spec: handle, "Handle Identifier
//! Syntax").

use crate::error::{fail, Kind, SyntaxError};
use crate::newtype::string_newtype;

/// The DNS limit on a whole name.
pub const MAX_HANDLE_LEN: usize = 253;
/// The DNS limit on one label.
pub const MAX_LABEL_LEN: usize = 63;

/// The value API responses use for an account with no bidirectionally valid handle.
pub const INVALID_HANDLE: &str = "handle.invalid";

/// TLDs that pass syntax but must fail registration and resolution (spec: handle,
/// "Additional Non-Syntax Restrictions"). `.test` is not here: the spec allows it in
/// development, so the caller decides.
pub const DISALLOWED_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

/// Checks handle syntax: at most 253 ASCII characters, at least two `.`-separated labels of
/// 1–63 characters from `a-z A-Z 0-9 -`, no label starting or ending with `-`, and a last
/// label (the TLD) that does not start with a digit. Reserved TLDs pass: they are refused at
/// registration and resolution, not at syntax.
pub fn validate_handle(s: &str) -> Result<(), SyntaxError> {
    if s.len() > MAX_HANDLE_LEN {
        return fail(Kind::Handle, "longer than 253 characters");
    }
    let mut labels = 0;
    let mut last = "";
    for label in s.split('.') {
        check_label(label.as_bytes()).map_err(|rule| SyntaxError::new(Kind::Handle, rule))?;
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return fail(
            Kind::Handle,
            "must have at least two labels (a bare top-level domain is not a handle)",
        );
    }
    // This is what keeps IPv4 addresses out.
    if last.as_bytes()[0].is_ascii_digit() {
        return fail(
            Kind::Handle,
            "top-level domain (last label) must not start with a digit",
        );
    }
    Ok(())
}

/// One DNS label as handles and NSID authorities allow it. Returns the rule broken.
pub(crate) fn check_label(label: &[u8]) -> Result<(), &'static str> {
    if label.is_empty() {
        return Err("empty label (leading, trailing or repeated '.')");
    }
    if label.len() > MAX_LABEL_LEN {
        return Err("label longer than 63 characters");
    }
    if !label
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    {
        return Err("labels may only contain ASCII letters, digits and '-'");
    }
    if label[0] == b'-' || label[label.len() - 1] == b'-' {
        return Err("label must not start or end with '-'");
    }
    Ok(())
}

string_newtype!(
    /// A syntactically valid handle, normalised to lowercase (handles are case-insensitive,
    /// and the spec says only the lowercase form is stored or sent on).
    Handle,
    validate_handle,
    |s: &mut String| s.make_ascii_lowercase()
);

impl Handle {
    /// The last label, e.g. `social` for `alice.bsky.social`.
    pub fn tld(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or("")
    }

    /// True if the TLD is one the spec says must never be registered or resolved.
    pub fn has_disallowed_tld(&self) -> bool {
        DISALLOWED_TLDS.contains(&self.tld())
    }

    /// True for the special `handle.invalid` placeholder.
    pub fn is_invalid_handle(&self) -> bool {
        self.0 == INVALID_HANDLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_and_total_limits() {
        let label63 = "a".repeat(63);
        assert_eq!(validate_handle(&format!("{label63}.test")), Ok(()));
        assert_eq!(
            validate_handle(&format!("{label63}a.test"))
                .unwrap_err()
                .rule(),
            "label longer than 63 characters"
        );
        // 253 exactly: four 62-char labels, dots, and a 2-char tld -> 4*62 + 4 + 1 = 253.
        let l62 = "b".repeat(62);
        let max = format!("{l62}.{l62}.{l62}.{l62}.co");
        assert_eq!(max.len(), 254);
        let max = format!("{l62}.{l62}.{l62}.{l62}.c");
        assert_eq!(max.len(), 253);
        assert_eq!(validate_handle(&max), Ok(()));
        assert_eq!(
            validate_handle(&format!("a{max}")).unwrap_err().rule(),
            "longer than 253 characters"
        );
    }

    #[test]
    fn rules() {
        for (bad, rule) in [
            ("", "empty label (leading, trailing or repeated '.')"),
            (
                "john",
                "must have at least two labels (a bare top-level domain is not a handle)",
            ),
            (
                "john.test.",
                "empty label (leading, trailing or repeated '.')",
            ),
            (
                ".john.test",
                "empty label (leading, trailing or repeated '.')",
            ),
            (
                "john..test",
                "empty label (leading, trailing or repeated '.')",
            ),
            ("-john.test", "label must not start or end with '-'"),
            ("john.tes-", "label must not start or end with '-'"),
            (
                "jo_hn.test",
                "labels may only contain ASCII letters, digits and '-'",
            ),
            (
                "jo hn.test",
                "labels may only contain ASCII letters, digits and '-'",
            ),
            (
                "bücher.test",
                "labels may only contain ASCII letters, digits and '-'",
            ),
            (
                "127.0.0.1",
                "top-level domain (last label) must not start with a digit",
            ),
            (
                "john.0",
                "top-level domain (last label) must not start with a digit",
            ),
        ] {
            assert_eq!(validate_handle(bad).unwrap_err().rule(), rule, "{bad:?}");
        }
        for ok in [
            "8.cn",
            "name.t--t",
            "xn--ls8h.test",
            "example.t",
            "laptop.local",
        ] {
            assert_eq!(validate_handle(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn newtype_lowercases() {
        let h: Handle = "Foo.COM".parse().unwrap();
        assert_eq!(h.as_str(), "foo.com");
        assert_eq!(h.tld(), "com");
        assert!(!h.has_disallowed_tld());
        assert!(Handle::new("laptop.LOCAL").unwrap().has_disallowed_tld());
        assert!(Handle::new("handle.invalid").unwrap().is_invalid_handle());
        let h = Handle::try_from(String::from("XX.LCS.MIT.EDU")).unwrap();
        assert_eq!(h, "xx.lcs.mit.edu");
    }
}
