//! The `cid` string format (spec: lexicon "String Formats", data-model "Link and CID
//! Formats"), checked by shape only.
//!
//! Decoding a CID (multibase, varints, multihash) belongs to the data-model crate. A Lexicon
//! `cid` string field only needs the shape checked, and the official vectors accept any
//! multibase (base32 `b…`, base58 `z…`, base64 `m…`, hex `f…`, octal `7…`).

use crate::error::{fail, Kind, SyntaxError};

/// Shorter than any real CID; keeps out words like `noop`.
pub const MIN_CID_LEN: usize = 8;
/// A generous bound on hostile input; a sha-256 CIDv1 in base32 is 59 characters.
pub const MAX_CID_LEN: usize = 256;

/// Checks CID string syntax: 8–256 characters from `A-Z a-z 0-9 + =` (the union of the common
/// multibase alphabets), and not a CIDv0, which atproto does not use. Every CIDv0 string is
/// base58 of a sha-256 multihash and so starts `Qm`, a prefix no CIDv1 multibase uses.
pub fn validate_cid_string(s: &str) -> Result<(), SyntaxError> {
    if s.len() < MIN_CID_LEN {
        return fail(Kind::Cid, "shorter than 8 characters");
    }
    if s.len() > MAX_CID_LEN {
        return fail(Kind::Cid, "longer than 256 characters");
    }
    if !s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'=')
    {
        return fail(
            Kind::Cid,
            "may only contain ASCII letters, digits, '+' and '='",
        );
    }
    if s.starts_with("Qm") {
        return fail(Kind::Cid, "CIDv0 ('Qm…') is not supported; use CIDv1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(
            validate_cid_string("bafyreidfayvfuwqa7qlnopdjiqrxzs6blmoeu4rujcjtnci5beludirz2a"),
            Ok(())
        );
        for (bad, rule) in [
            ("noop", "shorter than 8 characters"),
            (
                "bafy rei",
                "may only contain ASCII letters, digits, '+' and '='",
            ),
            (
                "cid:bafyreidfayvfuwqa7",
                "may only contain ASCII letters, digits, '+' and '='",
            ),
            (
                "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR",
                "CIDv0 ('Qm…') is not supported; use CIDv1",
            ),
        ] {
            assert_eq!(validate_cid_string(bad).unwrap_err().rule(), rule, "{bad}");
        }
        assert!(validate_cid_string(&"b".repeat(256)).is_ok());
        assert!(validate_cid_string(&"b".repeat(257)).is_err());
    }
}
