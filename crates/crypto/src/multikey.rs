//! The byte framing atproto puts around public keys: multibase (base58btc, `z` prefix) around a
//! multicodec varint code followed by the compressed point. See the atproto cryptography spec,
//! "Public Key Encoding", and the multiformats unsigned-varint spec.

use crate::CryptoError;

/// The method prefix of a `did:key` identifier. DID methods are case-sensitive, so no folding.
pub(crate) const DID_KEY_PREFIX: &str = "did:key:";

/// The multibase prefix for base58btc, the only base atproto uses for key material.
const BASE58BTC: char = 'z';

/// multiformats caps unsigned varints at 9 bytes (63 bits).
const MAX_VARINT_LEN: usize = 9;

/// Decodes `z<base58btc>` into bytes.
pub(crate) fn decode_base58btc(multibase: &str) -> Result<Vec<u8>, CryptoError> {
    let mut chars = multibase.chars();
    match chars.next() {
        Some(BASE58BTC) => bs58::decode(chars.as_str())
            .into_vec()
            .map_err(|e| CryptoError::InvalidBase58(e.to_string())),
        other => Err(CryptoError::UnsupportedMultibase(other)),
    }
}

/// Encodes bytes as `z<base58btc>`.
pub(crate) fn encode_base58btc(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(1 + bytes.len() * 138 / 100 + 1);
    out.push(BASE58BTC);
    out.push_str(&bs58::encode(bytes).into_string());
    out
}

/// Splits a leading multicodec varint from `bytes`, returning the code and the rest.
///
/// Non-minimal encodings (a trailing zero group) are refused: the spec requires the shortest
/// form, and accepting others would give one key several valid did:key strings.
pub(crate) fn split_multicodec(bytes: &[u8]) -> Result<(u64, &[u8]), CryptoError> {
    let mut code: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_VARINT_LEN) {
        code |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return Err(CryptoError::MalformedMulticodec);
            }
            return Ok((code, &bytes[i + 1..]));
        }
    }
    Err(CryptoError::MalformedMulticodec)
}

/// Appends `code` as an unsigned varint.
pub(crate) fn push_multicodec(mut code: u64, out: &mut Vec<u8>) {
    loop {
        // Truncation is the point: we take the low seven bits of each group.
        let group = (code & 0x7f) as u8;
        code >>= 7;
        if code == 0 {
            out.push(group);
            return;
        }
        out.push(group | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_prefixes_match_the_spec_bytes() {
        let mut p256 = Vec::new();
        push_multicodec(0x1200, &mut p256);
        assert_eq!(p256, [0x80, 0x24]);
        let mut k256 = Vec::new();
        push_multicodec(0xe7, &mut k256);
        assert_eq!(k256, [0xe7, 0x01]);
        assert_eq!(
            split_multicodec(&[0x80, 0x24, 9]).unwrap(),
            (0x1200, &[9u8][..])
        );
        assert_eq!(split_multicodec(&[0xe7, 0x01]).unwrap(), (0xe7, &[][..]));
    }

    #[test]
    fn varint_rejects_truncated_overlong_and_non_minimal() {
        assert_eq!(split_multicodec(&[]), Err(CryptoError::MalformedMulticodec));
        assert_eq!(
            split_multicodec(&[0x80]),
            Err(CryptoError::MalformedMulticodec)
        );
        assert_eq!(
            split_multicodec(&[0xff; 10]),
            Err(CryptoError::MalformedMulticodec)
        );
        assert_eq!(
            split_multicodec(&[0xe7, 0x81, 0x00]),
            Err(CryptoError::MalformedMulticodec)
        );
    }

    #[test]
    fn varint_round_trips() {
        for code in [
            0,
            1,
            0x7f,
            0x80,
            0xe7,
            0xed,
            0x1200,
            0x3fff,
            0x4000,
            u64::MAX >> 1,
        ] {
            let mut buf = Vec::new();
            push_multicodec(code, &mut buf);
            buf.push(0xaa);
            assert_eq!(split_multicodec(&buf).unwrap(), (code, &[0xaa][..]));
        }
    }

    #[test]
    fn base58btc_needs_the_z_prefix() {
        assert_eq!(decode_base58btc("z2").unwrap(), [1]);
        assert_eq!(encode_base58btc(&[0, 1]), "z12");
        assert_eq!(
            decode_base58btc("f00"),
            Err(CryptoError::UnsupportedMultibase(Some('f')))
        );
        assert_eq!(
            decode_base58btc(""),
            Err(CryptoError::UnsupportedMultibase(None))
        );
        assert!(matches!(
            decode_base58btc("z0OIl"),
            Err(CryptoError::InvalidBase58(_))
        ));
    }
}
