//! DIDs, as atproto restricts them (spec: did, "AT Protocol DID Identifier Syntax").

use crate::error::{fail, Kind, SyntaxError};
use crate::newtype::{keep, string_newtype};

/// atproto's hard limit on a DID's length; DID Core itself sets none.
pub const MAX_DID_LEN: usize = 2048;

/// Checks generic DID syntax: `did:<method>:<identifier>`, the method lowercase `a-z`, the
/// identifier from `A-Z a-z 0-9 . _ : % -`, every `%` followed by two hex digits, no trailing
/// `:`, at most 2048 characters. Any method passes: unsupported methods are an application
/// error, not a syntax error (spec: lexicon, "String Formats").
pub fn validate_did(s: &str) -> Result<(), SyntaxError> {
    let b = s.as_bytes();
    if b.len() > MAX_DID_LEN {
        return fail(Kind::Did, "longer than 2048 characters");
    }
    let Some(rest) = b.strip_prefix(b"did:") else {
        return fail(Kind::Did, "must start with lowercase \"did:\"");
    };
    let method_len = rest.iter().take_while(|c| c.is_ascii_lowercase()).count();
    if method_len == 0 {
        return fail(
            Kind::Did,
            "method must be one or more lowercase letters a-z",
        );
    }
    let Some(id) = rest[method_len..].strip_prefix(b":") else {
        return fail(
            Kind::Did,
            "method must be lowercase letters a-z followed by ':'",
        );
    };
    if id.is_empty() {
        return fail(Kind::Did, "identifier after the method is empty");
    }
    let mut i = 0;
    while i < id.len() {
        match id[i] {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b':' | b'-' => i += 1,
            b'%' => {
                // The spec says a '%' "must always be followed by two hex characters"; checking
                // it here also covers its other rule, that a DID may not end in '%'.
                let hex = id.get(i + 1..i + 3);
                if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                    return fail(Kind::Did, "'%' must be followed by two hex digits");
                }
                i += 3;
            }
            _ => {
                return fail(
                    Kind::Did,
                    "identifier may only contain A-Z a-z 0-9 . _ : % - (no query or fragment)",
                )
            }
        }
    }
    if id.ends_with(b":") {
        return fail(Kind::Did, "must not end with ':'");
    }
    Ok(())
}

string_newtype!(
    /// A syntactically valid DID, kept exactly as given (DIDs are case-sensitive).
    Did,
    validate_did,
    keep
);

impl Did {
    /// The method, e.g. `plc` for `did:plc:…`.
    pub fn method(&self) -> &str {
        self.parts().0
    }

    /// Everything after `did:<method>:`.
    pub fn identifier(&self) -> &str {
        self.parts().1
    }

    fn parts(&self) -> (&str, &str) {
        // Validation guarantees "did:" + method + ":" + non-empty identifier.
        let rest = &self.0[4..];
        let colon = rest.find(':').unwrap_or(rest.len());
        (&rest[..colon], rest.get(colon + 1..).unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_generic_dids() {
        for ok in [
            "did:plc:z72i7hdynmk6r22z27h6tvur",
            "did:web:blueskyweb.xyz",
            "did:web:localhost%3A1234",
            "did:m:v",
            "did:method::::val",
            "did:method:-:_:.",
            "did:method:%ab",
            "did:method:a%ABb",
        ] {
            assert_eq!(validate_did(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_with_the_rule_broken() {
        for (bad, rule) in [
            ("DID:plc:abc", "must start with lowercase \"did:\""),
            (
                "did:PLC:abc",
                "method must be one or more lowercase letters a-z",
            ),
            (
                "did:m1:abc",
                "method must be lowercase letters a-z followed by ':'",
            ),
            (
                "did:plc",
                "method must be lowercase letters a-z followed by ':'",
            ),
            ("did:plc:", "identifier after the method is empty"),
            ("did:plc:abc:", "must not end with ':'"),
            ("did:plc:abc%", "'%' must be followed by two hex digits"),
            ("did:plc:abc%4", "'%' must be followed by two hex digits"),
            ("did:plc:abc%zz", "'%' must be followed by two hex digits"),
        ] {
            assert_eq!(validate_did(bad).unwrap_err().rule(), rule, "{bad}");
        }
        for bad in [
            "did:plc:a/b",
            "did:plc:a?b",
            "did:plc:a#b",
            "did:plc:a b",
            "did:plc:é",
        ] {
            assert!(validate_did(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn length_limit_is_2048() {
        let at_limit = format!("did:plc:{}", "a".repeat(MAX_DID_LEN - 8));
        assert_eq!(at_limit.len(), 2048);
        assert_eq!(validate_did(&at_limit), Ok(()));
        let over = format!("{at_limit}a");
        assert_eq!(
            validate_did(&over).unwrap_err().rule(),
            "longer than 2048 characters"
        );
    }

    #[test]
    fn newtype_accessors() {
        let did: Did = "did:web:example.com".parse().unwrap();
        assert_eq!(did.method(), "web");
        assert_eq!(did.identifier(), "example.com");
        assert_eq!(did.as_str(), "did:web:example.com");
        assert_eq!(did.to_string(), "did:web:example.com");
        let did = Did::new("did:method::x").unwrap();
        assert_eq!((did.method(), did.identifier()), ("method", ":x"));
        assert!(Did::try_from(String::from("did:x")).is_err());
    }
}
