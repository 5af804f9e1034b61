//! The `sig` field: strict base64url in and out, and verification against an ordered list of
//! rotation keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeError, Engine};
use crypto::{CryptoError, PublicKey};

use crate::error::{OpError, SigEncoding, SigFailure};

/// Encodes a compact signature the one way the spec allows: base64url, no padding.
pub(crate) fn encode(sig: &[u8; 64]) -> String {
    URL_SAFE_NO_PAD.encode(sig)
}

/// Decodes `sig`, refusing every non-canonical spelling (did:plc spec v0.2.1, signature step 4).
///
/// The base64 engine already refuses padding, foreign characters and non-zero trailing bits;
/// the explicit checks before it only make the error name the actual defect.
pub(crate) fn decode(sig: &str) -> Result<[u8; 64], SigEncoding> {
    if sig.is_empty() {
        return Err(SigEncoding::Empty);
    }
    if sig.contains('=') {
        return Err(SigEncoding::PaddingChars);
    }
    if sig.chars().any(char::is_whitespace) {
        return Err(SigEncoding::Whitespace);
    }
    let bytes = URL_SAFE_NO_PAD.decode(sig).map_err(|e| match e {
        DecodeError::InvalidLastSymbol(..) => SigEncoding::NonZeroPaddingBits,
        DecodeError::InvalidPadding => SigEncoding::PaddingChars,
        DecodeError::InvalidByte(..) | DecodeError::InvalidLength(_) => {
            SigEncoding::InvalidCharacter
        }
    })?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| SigEncoding::Length(len))
}

/// Returns the index of the first key in `keys` that made `sig` over `msg`.
///
/// The index is the key's priority (0 is highest), which nullification compares. With duplicate
/// keys the first position counts, as the reference directory's `indexOf` does.
pub(crate) fn verify_any(keys: &[String], msg: &[u8], sig: &[u8; 64]) -> Result<usize, OpError> {
    if keys.is_empty() {
        return Err(OpError::Signature(SigFailure::NoKeys));
    }
    let mut high_s = false;
    let mut malformed = false;
    for (index, key) in keys.iter().enumerate() {
        let public = PublicKey::from_did_key(key).map_err(|reason| OpError::BadRotationKey {
            key: key.clone(),
            reason,
        })?;
        match public.verify(msg, sig) {
            Ok(()) => return Ok(index),
            Err(CryptoError::HighSSignature) => high_s = true,
            Err(CryptoError::MalformedSignature) => malformed = true,
            Err(_) => {}
        }
    }
    // Only now, with every key refusing it, is it safe to call the bytes DER: a genuine compact
    // signature can happen to have the same shape, so the shape alone must never reject.
    let failure = if looks_like_der(sig) {
        SigFailure::Der
    } else if high_s {
        SigFailure::HighS
    } else if malformed {
        SigFailure::Malformed
    } else {
        SigFailure::NoMatchingKey
    };
    Err(OpError::Signature(failure))
}

/// Whether 64 bytes parse exactly as an ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }`.
fn looks_like_der(sig: &[u8; 64]) -> bool {
    if sig[0] != 0x30 || usize::from(sig[1]) != sig.len() - 2 {
        return false;
    }
    let mut pos = 2;
    for _ in 0..2 {
        if sig.get(pos) != Some(&0x02) {
            return false;
        }
        let Some(&len) = sig.get(pos + 1) else {
            return false;
        };
        let len = usize::from(len);
        if len == 0 || len > 33 {
            return false;
        }
        pos += 2 + len;
    }
    pos == sig.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let sig = [7u8; 64];
        let text = encode(&sig);
        assert_eq!(text.len(), 86);
        assert_eq!(decode(&text), Ok(sig));
        assert_eq!(decode(""), Err(SigEncoding::Empty));
        assert_eq!(decode(&format!("{text}==")), Err(SigEncoding::PaddingChars));
        assert_eq!(decode(&format!("{text}\n")), Err(SigEncoding::Whitespace));
        assert_eq!(
            decode(&text.replace('H', "+")),
            Err(SigEncoding::InvalidCharacter)
        );
        // The last symbol of 64 bytes carries 4 payload bits and 2 padding bits.
        let mut bad_bits = text.clone();
        bad_bits.pop();
        bad_bits.push('x');
        assert_eq!(decode(&bad_bits), Err(SigEncoding::NonZeroPaddingBits));
        assert_eq!(decode(&encode(&sig)[..84]), Err(SigEncoding::Length(63)));
    }

    #[test]
    fn der_shape() {
        let mut der = [0x11u8; 64];
        der[..4].copy_from_slice(&[0x30, 62, 0x02, 29]);
        der[33] = 0x02;
        der[34] = 29;
        assert!(looks_like_der(&der));
        der[34] = 28;
        assert!(!looks_like_der(&der));
        assert!(!looks_like_der(&[0x30; 64]));
    }
}
