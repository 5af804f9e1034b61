//! The shares of a split, their checks, and their text encoding.
//!
//! Binary layout (version 1), 55 bytes:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (`1`) |
//! | 16 | split id: an 8-byte random nonce ‖ 8 bytes of SHA-256(tag ‖ nonce ‖ seed) |
//! | 1 | index (the Shamir x coordinate, 1..=3) |
//! | 1 | threshold (`2`) |
//! | 32 | the share's value (one GF(256) point per seed byte) |
//! | 4 | checksum: the first 4 bytes of SHA-256 of everything before it |
//!
//! The second half of the split id commits to the seed, so [`combine`] checks the seed it
//! rebuilt against it: shares of different splits, or a BIP-39 phrase (which carries only the
//! value, see `mnemonic.rs`) from another split, are refused even though they look well formed.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{RecoverySeed, ShareError};

/// Shares made by a split.
pub const SHARE_COUNT: u8 = 3;
/// Shares needed to rebuild the seed.
pub const THRESHOLD: u8 = 2;

const VERSION: u8 = 1;
const SPLIT_ID_LEN: usize = 16;
const VALUE_LEN: usize = 32;
const CHECKSUM_LEN: usize = 4;
const ENCODED_LEN: usize = 1 + SPLIT_ID_LEN + 1 + 1 + VALUE_LEN + CHECKSUM_LEN;
/// Text form: this prefix, then the 55 bytes in lowercase hex.
const TEXT_PREFIX: &str = "wallet-share-v1:";
const SPLIT_TAG: &[u8] = b"atproto-wallet split id v1";

/// One share of a recovery seed.
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    /// `None` for a share read from a BIP-39 phrase, which has no room for it.
    pub(super) split_id: Option<[u8; SPLIT_ID_LEN]>,
    pub(super) index: u8,
    pub(super) value: Zeroizing<[u8; VALUE_LEN]>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .field("split", &self.split_id.map(|id| hex(&id[..8])))
            .finish_non_exhaustive()
    }
}

/// Splits `seed` into three shares, any two of which rebuild it.
pub fn split(seed: &RecoverySeed) -> [Share; 3] {
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).expect("the OS random source is available");
    let split_id = split_id(&nonce, seed.as_bytes());
    let dealt: Vec<blahaj::Share> = blahaj::Sharks(THRESHOLD)
        .dealer(seed.as_bytes())
        .take(SHARE_COUNT as usize)
        .collect();
    let shares: Vec<Share> = dealt
        .iter()
        .map(|dealt| {
            let bytes = Zeroizing::new(Vec::from(dealt));
            let mut value = Zeroizing::new([0u8; VALUE_LEN]);
            value.copy_from_slice(&bytes[1..]);
            Share {
                split_id: Some(split_id),
                index: bytes[0],
                value,
            }
        })
        .collect();
    shares.try_into().expect("the dealer made three shares")
}

/// Rebuilds the seed from two or three shares of one split.
///
/// Refuses fewer than [`THRESHOLD`] distinct indexes, shares whose split ids differ, and a
/// result that does not match the split id the shares carry (shares of another split that
/// claim to be of this one, or a phrase from another split).
pub fn combine(shares: &[Share]) -> Result<RecoverySeed, ShareError> {
    let mut distinct: Vec<&Share> = Vec::new();
    for share in shares {
        match distinct.iter().find(|s| s.index == share.index) {
            Some(same) if same.value != share.value => return Err(ShareError::DifferentSplits),
            Some(_) => {}
            None => distinct.push(share),
        }
    }
    if distinct.len() < THRESHOLD as usize {
        return Err(ShareError::NotEnoughShares(distinct.len()));
    }
    let mut ids = distinct.iter().filter_map(|s| s.split_id);
    // Only share 3 can come as a phrase, so two distinct shares include one with an id.
    let split_id = ids.next().ok_or(ShareError::NotEnoughShares(1))?;
    if ids.any(|other| other != split_id) {
        return Err(ShareError::DifferentSplits);
    }
    let points: Vec<blahaj::Share> = distinct
        .iter()
        .map(|s| {
            let mut bytes = Zeroizing::new(Vec::with_capacity(1 + VALUE_LEN));
            bytes.push(s.index);
            bytes.extend_from_slice(s.value.as_ref());
            blahaj::Share::try_from(bytes.as_slice()).expect("a share has at least two bytes")
        })
        .collect();
    let secret = Zeroizing::new(
        blahaj::Sharks(THRESHOLD)
            .recover(&points)
            .map_err(|_| ShareError::NotEnoughShares(distinct.len()))?,
    );
    let seed: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| ShareError::DifferentSplits)?;
    let nonce: [u8; 8] = split_id[..8].try_into().expect("8 bytes");
    if self::split_id(&nonce, &seed) != split_id {
        return Err(ShareError::DifferentSplits);
    }
    Ok(RecoverySeed::from_bytes(seed))
}

fn split_id(nonce: &[u8; 8], seed: &[u8; 32]) -> [u8; SPLIT_ID_LEN] {
    let mut hasher = Sha256::new();
    hasher.update(SPLIT_TAG);
    hasher.update(nonce);
    hasher.update(seed);
    let digest = hasher.finalize();
    let mut id = [0u8; SPLIT_ID_LEN];
    id[..8].copy_from_slice(nonce);
    id[8..].copy_from_slice(&digest[..8]);
    id
}

impl Share {
    /// The share's index (1, 2 or 3): which of the split's shares it is.
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The id of the split the share belongs to, as hex (`None` for a share read from words).
    pub fn split_id(&self) -> Option<String> {
        self.split_id.map(|id| hex(&id))
    }

    /// The 55-byte binary form (see the module docs). Fails for a share read from a phrase,
    /// which lacks the split id.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>, ShareError> {
        let split_id = self.split_id.ok_or_else(|| {
            ShareError::Malformed("a share read from words has no split id to encode".into())
        })?;
        let mut out = Zeroizing::new(Vec::with_capacity(ENCODED_LEN));
        out.push(VERSION);
        out.extend_from_slice(&split_id);
        out.push(self.index);
        out.push(THRESHOLD);
        out.extend_from_slice(self.value.as_ref());
        let checksum = Sha256::digest(&out[..]);
        out.extend_from_slice(&checksum[..CHECKSUM_LEN]);
        Ok(out)
    }

    /// Reads the binary form, checking version, length, index, threshold and checksum.
    pub fn from_bytes(bytes: &[u8]) -> Result<Share, ShareError> {
        let Some(&version) = bytes.first() else {
            return Err(ShareError::Malformed("empty".into()));
        };
        if version != VERSION {
            return Err(ShareError::UnsupportedVersion(version));
        }
        if bytes.len() != ENCODED_LEN {
            return Err(ShareError::Malformed(format!(
                "{} bytes, a version 1 share has {ENCODED_LEN}",
                bytes.len()
            )));
        }
        let (body, checksum) = bytes.split_at(ENCODED_LEN - CHECKSUM_LEN);
        let index = body[1 + SPLIT_ID_LEN];
        if Sha256::digest(body)[..CHECKSUM_LEN] != *checksum {
            return Err(ShareError::Corrupted { index });
        }
        if !(1..=SHARE_COUNT).contains(&index) {
            return Err(ShareError::Malformed(format!("share index {index}")));
        }
        let threshold = body[2 + SPLIT_ID_LEN];
        if threshold != THRESHOLD {
            return Err(ShareError::Malformed(format!(
                "threshold {threshold}, this build splits 2-of-3"
            )));
        }
        let mut split_id = [0u8; SPLIT_ID_LEN];
        split_id.copy_from_slice(&body[1..1 + SPLIT_ID_LEN]);
        let mut value = Zeroizing::new([0u8; VALUE_LEN]);
        value.copy_from_slice(&body[3 + SPLIT_ID_LEN..]);
        Ok(Share {
            split_id: Some(split_id),
            index,
            value,
        })
    }

    /// The text form: `wallet-share-v1:` and the binary form in hex.
    pub fn to_text(&self) -> Result<Zeroizing<String>, ShareError> {
        let bytes = self.to_bytes()?;
        Ok(Zeroizing::new(format!("{TEXT_PREFIX}{}", hex(&bytes))))
    }

    /// Reads the text form (surrounding whitespace ignored).
    pub fn from_text(text: &str) -> Result<Share, ShareError> {
        let text = text.trim();
        let digits = text.strip_prefix(TEXT_PREFIX).ok_or_else(|| {
            ShareError::Malformed(format!("the text does not start with {TEXT_PREFIX:?}"))
        })?;
        let bytes = Zeroizing::new(
            unhex(digits).ok_or_else(|| ShareError::Malformed("not hexadecimal".into()))?,
        );
        Share::from_bytes(&bytes)
    }

    /// Reads a share from either form: a 24-word phrase or the text form.
    pub fn parse(text: &str) -> Result<Share, ShareError> {
        if text.trim().starts_with(TEXT_PREFIX) {
            Share::from_text(text)
        } else {
            Share::from_phrase(text)
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_two_shares_rebuild_the_seed_and_one_does_not() {
        let seed = RecoverySeed::generate();
        let [a, b, c] = split(&seed);
        assert_eq!([a.index(), b.index(), c.index()], [1, 2, 3]);
        for pair in [[&a, &b], [&a, &c], [&b, &c]] {
            let again = combine(&[pair[0].clone(), pair[1].clone()]).unwrap();
            assert_eq!(again.as_bytes(), seed.as_bytes());
        }
        let all = combine(&[a.clone(), b.clone(), c.clone()]).unwrap();
        assert_eq!(all.as_bytes(), seed.as_bytes());
        for one in [&a, &b, &c] {
            assert_eq!(
                combine(std::slice::from_ref(one)).unwrap_err(),
                ShareError::NotEnoughShares(1)
            );
            assert_eq!(
                combine(&[one.clone(), one.clone()]).unwrap_err(),
                ShareError::NotEnoughShares(1)
            );
        }
    }

    #[test]
    fn shares_of_two_splits_refuse_to_combine() {
        let seed = RecoverySeed::generate();
        let [a, _, _] = split(&seed);
        let [_, b2, _] = split(&seed);
        let [_, _, c3] = split(&RecoverySeed::generate());
        assert_eq!(
            combine(&[a.clone(), b2]).unwrap_err(),
            ShareError::DifferentSplits
        );
        // A phrase carries no split id: the rebuilt seed fails the split's commitment.
        let words = Share::from_phrase(&c3.to_phrase().unwrap()).unwrap();
        assert_eq!(
            combine(&[a, words]).unwrap_err(),
            ShareError::DifferentSplits
        );
    }

    #[test]
    fn a_forged_split_id_does_not_pass() {
        let [a, _, _] = split(&RecoverySeed::generate());
        let [_, mut b, _] = split(&RecoverySeed::generate());
        b.split_id = a.split_id;
        assert_eq!(combine(&[a, b]).unwrap_err(), ShareError::DifferentSplits);
    }

    #[test]
    fn corruption_and_wrong_versions_are_named() {
        let [a, _, _] = split(&RecoverySeed::generate());
        let mut bytes = a.to_bytes().unwrap().to_vec();
        bytes[30] ^= 0x01;
        assert_eq!(
            Share::from_bytes(&bytes).unwrap_err(),
            ShareError::Corrupted { index: 1 }
        );
        bytes[0] = 2;
        assert_eq!(
            Share::from_bytes(&bytes).unwrap_err(),
            ShareError::UnsupportedVersion(2)
        );
        assert!(matches!(
            Share::from_text("wallet-share-v1:zz"),
            Err(ShareError::Malformed(_))
        ));
        assert!(matches!(
            Share::from_text("hello"),
            Err(ShareError::Malformed(_))
        ));
    }
}
