//! Hexadecimal for private keys, as the reference PDS takes them from its environment
//! (`PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX`). Hand-written to keep the tree lean; buffers that
//! may hold secrets are zeroized.

use zeroize::Zeroizing;

use crate::CryptoError;

fn nibble(digit: u8) -> Result<u8, CryptoError> {
    match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        b'A'..=b'F' => Ok(digit - b'A' + 10),
        _ => Err(CryptoError::InvalidHex("non-hex character")),
    }
}

/// Decodes hex (either case) into bytes.
pub(crate) fn decode(hex: &str) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let digits = hex.as_bytes();
    if digits.len() % 2 != 0 {
        return Err(CryptoError::InvalidHex("odd number of digits"));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        out.push((nibble(pair[0])? << 4) | nibble(pair[1])?);
    }
    Ok(out)
}

/// Encodes bytes as lowercase hex.
pub(crate) fn encode(bytes: &[u8]) -> Zeroizing<String> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_cases_and_round_trips() {
        assert_eq!(*decode("00ffAb").unwrap(), [0x00, 0xff, 0xab]);
        assert_eq!(*encode(&[0x00, 0xff, 0xab]), "00ffab");
        assert_eq!(*decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn rejects_bad_digits_and_odd_length() {
        assert!(matches!(decode("abc"), Err(CryptoError::InvalidHex(_))));
        assert!(matches!(decode("0g"), Err(CryptoError::InvalidHex(_))));
        assert!(matches!(decode("0x00"), Err(CryptoError::InvalidHex(_))));
    }
}
