//! Recovery of a did:plc identity without the operator: a 32-byte recovery seed, the recovery
//! key derived from it, and the seed split 2-of-3 with Shamir's secret sharing (DESIGN.md §4).
//!
//! - [`RecoverySeed`] is the secret; [`RecoverySeed::recovery_key`] derives the K-256 key that
//!   sits second in the DID's rotation keys. The seed, not the key, is what gets split, so any
//!   two shares rebuild the very same key.
//! - [`split`] makes three [`Share`]s; [`combine`] takes any two (or all three) back to the
//!   seed. Each share carries a version, the id of its split, its index and a checksum, so a
//!   corrupted share, or shares of two different splits, are refused with a [`ShareError`]
//!   instead of silently yielding a wrong key.
//! - Shares travel as text ([`Share::to_text`]) or, for share 3, as a standard 24-word BIP-39
//!   phrase ([`Share::to_phrase`]) that any BIP-39 tool accepts.
//!
//! Nothing here does I/O beyond asking the OS for randomness, so a mobile app can bind to it.
//!
//! ```
//! use crypto::recovery::{combine, split, RecoverySeed, Share};
//!
//! let seed = RecoverySeed::generate();
//! let [one, two, three] = split(&seed);
//!
//! // Share 3 on paper, as 24 words; read back and combined with share 1.
//! let words = three.to_phrase()?;
//! let three = Share::from_phrase(&words)?;
//! let again = combine(&[one.clone(), three])?;
//! assert_eq!(again.recovery_key().did_key(), seed.recovery_key().did_key());
//!
//! // One share alone is not enough.
//! assert!(combine(&[two]).is_err());
//! # Ok::<(), crypto::recovery::ShareError>(())
//! ```

mod mnemonic;
mod share;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Algorithm, Keypair};

pub use share::{combine, split, Share, SHARE_COUNT, THRESHOLD};

/// Domain separation for the key derivation, so the seed's hash is used for nothing else.
const KEY_DERIVATION_TAG: &[u8] = b"atproto-wallet recovery key v1";

/// The 32-byte secret from which the recovery key is derived. Wiped when dropped.
#[derive(Clone)]
pub struct RecoverySeed(Zeroizing<[u8; 32]>);

impl RecoverySeed {
    /// A fresh seed from the operating system's random source.
    pub fn generate() -> RecoverySeed {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).expect("the OS random source is available");
        RecoverySeed(seed)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> RecoverySeed {
        RecoverySeed(Zeroizing::new(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The recovery key: a K-256 key whose scalar is SHA-256(tag ‖ seed ‖ counter) for the
    /// first counter giving a valid scalar (the first one, but for odds of about 2^-128).
    pub fn recovery_key(&self) -> Keypair {
        for counter in 0u32.. {
            let mut hasher = Sha256::new();
            hasher.update(KEY_DERIVATION_TAG);
            hasher.update(self.0.as_ref());
            hasher.update(counter.to_be_bytes());
            let scalar = Zeroizing::new(<[u8; 32]>::from(hasher.finalize()));
            if let Ok(key) = Keypair::from_bytes(Algorithm::K256, scalar.as_ref()) {
                return key;
            }
        }
        unreachable!("a valid K-256 scalar is found long before the counter wraps")
    }
}

impl std::fmt::Debug for RecoverySeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoverySeed(..)")
    }
}

/// Why shares were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The text or bytes are not a share at all.
    #[error("not a recovery share: {0}")]
    Malformed(String),
    /// A share format this build does not know.
    #[error("recovery share version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u8),
    /// The share's checksum does not match: it was mistyped or damaged.
    #[error("recovery share {index} is corrupted (its checksum does not match)")]
    Corrupted { index: u8 },
    /// The words are not a valid BIP-39 phrase (unknown word, wrong count, bad checksum).
    #[error("not a valid BIP-39 phrase: {0}")]
    InvalidPhrase(String),
    /// Fewer distinct shares than the threshold.
    #[error("{THRESHOLD} different shares are needed to recover the key, got {0}")]
    NotEnoughShares(usize),
    /// The shares come from different splits (or one of them is not what it claims).
    #[error("the shares come from different splits and cannot be combined")]
    DifferentSplits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recovery_key_is_a_k256_key_fixed_by_the_seed() {
        let seed = RecoverySeed::from_bytes([7; 32]);
        let key = seed.recovery_key();
        assert_eq!(key.algorithm(), Algorithm::K256);
        assert_eq!(key.did_key(), seed.recovery_key().did_key());
        assert_ne!(
            key.did_key(),
            RecoverySeed::from_bytes([8; 32]).recovery_key().did_key()
        );
        assert!(key.did_key().starts_with("did:key:zQ3s"));
    }
}
