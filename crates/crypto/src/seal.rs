//! Secrets sealed at rest: repo signing keys, rotation keys and recovery-share escrow are stored
//! encrypted under a 32-byte master key, never in the clear.
//!
//! Format: `0x01` (version) ‖ 24-byte random nonce ‖ XChaCha20-Poly1305 ciphertext and tag. The
//! associated data names what the secret is for (e.g. `repo-signing-key:did:plc:…`), so a sealed
//! value moved into another slot refuses to open there.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::CryptoError;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// A 32-byte master key that seals and opens secrets.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// A new random master key.
    pub fn generate() -> MasterKey {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut()).expect("the OS random source is available");
        MasterKey(key)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, CryptoError> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidLength {
            what: "master key",
            expected: "32 bytes",
            actual: bytes.len(),
        })?;
        Ok(MasterKey(Zeroizing::new(key)))
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }

    /// Encrypts `secret`, binding it to `purpose`.
    pub fn seal(&self, purpose: &str, secret: &[u8]) -> Vec<u8> {
        let cipher =
            XChaCha20Poly1305::new_from_slice(self.0.as_ref()).expect("the key is 32 bytes");
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("the OS random source is available");
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: purpose.as_bytes(),
                },
            )
            .expect("encryption into a Vec cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Decrypts a value sealed for `purpose`; fails if it was sealed under another key or
    /// purpose, or altered.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(CryptoError::SealedData);
        }
        let cipher =
            XChaCha20Poly1305::new_from_slice(self.0.as_ref()).expect("the key is 32 bytes");
        let nonce =
            XNonce::try_from(&sealed[1..1 + NONCE_LEN]).map_err(|_| CryptoError::SealedData)?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: purpose.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::SealedData)
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let key = MasterKey::generate();
        let sealed = key.seal("repo-signing-key:did:plc:abc", b"secret bytes");
        assert_eq!(
            &*key.open("repo-signing-key:did:plc:abc", &sealed).unwrap(),
            b"secret bytes"
        );
        // another purpose, another key, or a flipped bit: refused
        assert!(key.open("repo-signing-key:did:plc:xyz", &sealed).is_err());
        assert!(MasterKey::generate()
            .open("repo-signing-key:did:plc:abc", &sealed)
            .is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open("repo-signing-key:did:plc:abc", &tampered).is_err());
        assert!(key.open("x", &[]).is_err());
        // the nonce is random: sealing twice differs
        assert_ne!(
            sealed,
            key.seal("repo-signing-key:did:plc:abc", b"secret bytes")
        );
    }
}
