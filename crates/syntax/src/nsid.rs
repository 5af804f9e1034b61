//! Namespaced identifiers (spec: nsid, "NSID Syntax").

use crate::error::{fail, Kind, SyntaxError};
use crate::handle::check_label;
use crate::newtype::{keep, string_newtype};

/// 253 for the domain authority, 1 for the dot, 63 for the name.
pub const MAX_NSID_LEN: usize = 317;
/// The spec's limit on the name segment.
pub const MAX_NAME_LEN: usize = 63;

/// Checks NSID syntax: at most 317 ASCII characters in at least three `.`-separated segments.
/// The domain authority (all but the last segment) follows the handle label rules, and its
/// first segment (the TLD) must not start with a digit. The name (last segment) is 1–63
/// letters and digits, starting with a letter.
///
/// The spec also caps the domain authority at 253 characters, but the official valid vectors
/// include an NSID whose authority is 283 characters long (the reference implementation runs the
/// same file), so that cap is not enforced (see the crate README). Such an authority could never
/// resolve through DNS, which is where it would fail anyway.
pub fn validate_nsid(s: &str) -> Result<(), SyntaxError> {
    name_start(s).map(|_| ())
}

/// Validates `s` and returns the byte offset of the name segment.
fn name_start(s: &str) -> Result<usize, SyntaxError> {
    if s.len() > MAX_NSID_LEN {
        return fail(Kind::Nsid, "longer than 317 characters");
    }
    if s.split('.').nth(2).is_none() {
        return fail(Kind::Nsid, "must have at least 3 segments");
    }
    let dot = s.rfind('.').unwrap_or(0);
    let (authority, name) = (&s[..dot], &s[dot + 1..]);
    for segment in authority.split('.') {
        check_label(segment.as_bytes()).map_err(|rule| SyntaxError::new(Kind::Nsid, rule))?;
    }
    if authority.as_bytes()[0].is_ascii_digit() {
        return fail(
            Kind::Nsid,
            "first segment (the top-level domain) must not start with a digit",
        );
    }
    let name_bytes = name.as_bytes();
    if name_bytes.is_empty() {
        return fail(Kind::Nsid, "name segment is empty");
    }
    if name_bytes.len() > MAX_NAME_LEN {
        return fail(Kind::Nsid, "name segment longer than 63 characters");
    }
    if !name_bytes.iter().all(u8::is_ascii_alphanumeric) {
        return fail(
            Kind::Nsid,
            "name segment may only contain ASCII letters and digits",
        );
    }
    if !name_bytes[0].is_ascii_alphabetic() {
        return fail(Kind::Nsid, "name segment must start with a letter");
    }
    Ok(dot + 1)
}

string_newtype!(
    /// A syntactically valid NSID, kept as given: the spec says implementations should not
    /// force-lowercase NSIDs.
    Nsid,
    validate_nsid,
    keep
);

impl Nsid {
    /// The domain authority as written in the NSID, e.g. `com.example` for
    /// `com.example.fooBar`.
    pub fn authority(&self) -> &str {
        &self.0[..self.split_at() - 1]
    }

    /// The domain authority as a lowercase hostname, e.g. `example.com` for
    /// `com.example.fooBar` (the name Lexicon resolution looks up under `_lexicon.`).
    pub fn authority_domain(&self) -> String {
        let mut segments: Vec<&str> = self.authority().split('.').collect();
        segments.reverse();
        segments.join(".").to_ascii_lowercase()
    }

    /// The name segment, e.g. `fooBar`.
    pub fn name(&self) -> &str {
        &self.0[self.split_at()..]
    }

    fn split_at(&self) -> usize {
        // Validation guarantees at least three segments, so there is a last '.'.
        self.0.rfind('.').map_or(0, |dot| dot + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_segment_rules() {
        for ok in [
            "com.example.fooBar",
            "com.example.fooBarV2",
            "com.example.f00",
            "a.b.c",
        ] {
            assert_eq!(validate_nsid(ok), Ok(()), "{ok}");
        }
        for (bad, rule) in [
            ("com.example.3", "name segment must start with a letter"),
            (
                "com.example.fooBar.2",
                "name segment must start with a letter",
            ),
            (
                "a-0.b-1.c-3",
                "name segment may only contain ASCII letters and digits",
            ),
            ("com.example.", "name segment is empty"),
            ("com.example", "must have at least 3 segments"),
            ("com", "must have at least 3 segments"),
            (
                "0com.example.foo",
                "first segment (the top-level domain) must not start with a digit",
            ),
            ("com.example-.foo", "label must not start or end with '-'"),
            (
                "com..example.foo",
                "empty label (leading, trailing or repeated '.')",
            ),
            (
                "com.exa💩ple.foo",
                "labels may only contain ASCII letters, digits and '-'",
            ),
        ] {
            assert_eq!(validate_nsid(bad).unwrap_err().rule(), rule, "{bad}");
        }
    }

    #[test]
    fn length_limits() {
        let name63 = "a".repeat(63);
        assert_eq!(validate_nsid(&format!("com.example.{name63}")), Ok(()));
        assert_eq!(
            validate_nsid(&format!("com.example.{name63}b"))
                .unwrap_err()
                .rule(),
            "name segment longer than 63 characters"
        );
        assert_eq!(
            validate_nsid(&format!("com.{}.foo", "o".repeat(64)))
                .unwrap_err()
                .rule(),
            "label longer than 63 characters"
        );
        // An NSID of exactly 317 characters: middle segments, then a name filling the rest.
        let mut s = String::from("com");
        while s.len() + 7 <= 317 - 1 - 10 {
            s.push_str(".middle");
        }
        let name = "n".repeat(317 - s.len() - 1);
        let exact = format!("{s}.{name}");
        assert_eq!(exact.len(), 317);
        assert_eq!(validate_nsid(&exact), Ok(()));
        assert_eq!(
            validate_nsid(&format!("{exact}x")).unwrap_err().rule(),
            "longer than 317 characters"
        );
    }

    #[test]
    fn accessors() {
        let n: Nsid = "edu.University.dept.getBlogPost".parse().unwrap();
        assert_eq!(n.authority(), "edu.University.dept");
        assert_eq!(n.authority_domain(), "dept.university.edu");
        assert_eq!(n.name(), "getBlogPost");
        assert_eq!(n.as_str(), "edu.University.dept.getBlogPost");
    }
}
