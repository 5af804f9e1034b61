//! Private keys: generation, import/export of the raw scalar, and signing.

use std::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::elliptic_curve::Generate;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{hex, Algorithm, CryptoError, PublicKey};

/// A private signing key on P-256 or K-256.
///
/// The secret scalar is wiped from memory when the value is dropped, and `Debug` shows only the
/// algorithm and the public did:key, so a keypair can sit in a config struct that gets logged.
#[derive(Clone)]
pub struct Keypair {
    secret: Secret,
}

// Both RustCrypto signing keys zeroize their scalar on drop.
#[derive(Clone)]
enum Secret {
    P256(p256::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
}

impl Keypair {
    /// Generates a fresh key from the operating system's random number generator.
    ///
    /// # Panics
    /// If the operating system cannot supply randomness, which leaves no safe way to make a key.
    pub fn generate(alg: Algorithm) -> Keypair {
        let secret = match alg {
            Algorithm::P256 => Secret::P256(p256::ecdsa::SigningKey::generate()),
            Algorithm::K256 => Secret::K256(k256::ecdsa::SigningKey::generate()),
        };
        Keypair { secret }
    }

    /// Imports a private key from its 32-byte big-endian scalar.
    ///
    /// Fails if the length is wrong or the scalar is zero or not below the curve order.
    pub fn from_bytes(alg: Algorithm, secret: &[u8]) -> Result<Keypair, CryptoError> {
        if secret.len() != 32 {
            return Err(CryptoError::InvalidLength {
                what: "private key",
                expected: "32",
                actual: secret.len(),
            });
        }
        let invalid = |_| CryptoError::InvalidPrivateKey(alg);
        let secret = match alg {
            Algorithm::P256 => {
                Secret::P256(p256::ecdsa::SigningKey::from_slice(secret).map_err(invalid)?)
            }
            Algorithm::K256 => {
                Secret::K256(k256::ecdsa::SigningKey::from_slice(secret).map_err(invalid)?)
            }
        };
        Ok(Keypair { secret })
    }

    /// Imports a private key from 64 hex digits (either case), the form the reference PDS reads
    /// from `PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX`.
    ///
    /// Surrounding whitespace is ignored, since values read from files or `.env` lines often
    /// carry a trailing newline.
    pub fn from_hex(alg: Algorithm, hex: &str) -> Result<Keypair, CryptoError> {
        let bytes = hex::decode(hex.trim())?;
        Keypair::from_bytes(alg, &bytes)
    }

    /// Exports the 32-byte big-endian scalar, in a buffer that is wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut repr = match &self.secret {
            Secret::P256(key) => key.to_bytes(),
            Secret::K256(key) => key.to_bytes(),
        };
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&repr);
        repr.as_mut_slice().zeroize();
        out
    }

    /// Exports the scalar as 64 lowercase hex digits, the inverse of [`Keypair::from_hex`].
    pub fn to_hex(&self) -> Zeroizing<String> {
        hex::encode(&*self.to_bytes())
    }

    /// The curve of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self.secret {
            Secret::P256(_) => Algorithm::P256,
            Secret::K256(_) => Algorithm::K256,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.secret {
            Secret::P256(key) => PublicKey::from_p256(*key.verifying_key()),
            Secret::K256(key) => PublicKey::from_k256(*key.verifying_key()),
        }
    }

    /// The `did:key` of the public key, as listed in `rotationKeys` or `verificationMethods`.
    pub fn did_key(&self) -> String {
        self.public_key().did_key()
    }

    /// Signs `msg` the way atproto requires: SHA-256 of the bytes once, ECDSA (RFC 6979
    /// deterministic nonce) over that digest, `s` normalised to the low half of the order, and
    /// the result as 64-byte compact `r || s`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let digest = Sha256::digest(msg);
        let mut out = [0u8; 64];
        // `sign_prehash` cannot fail for a valid key and a 32-byte digest: the RFC 6979 loop
        // retries internally until it finds a nonce giving non-zero r and s.
        const INFALLIBLE: &str = "ECDSA signing with a valid key over a SHA-256 digest";
        match &self.secret {
            Secret::P256(key) => {
                // P-256 signers do not normalise by default (NIST permits high-S); atproto
                // rejects it, so flip s here.
                let sig: p256::ecdsa::Signature = key.sign_prehash(&digest).expect(INFALLIBLE);
                out.copy_from_slice(&sig.normalize_s().to_bytes());
            }
            Secret::K256(key) => {
                // k256 already emits low-S; normalising again is a no-op kept so the rule does
                // not depend on a library default.
                let sig: k256::ecdsa::Signature = key.sign_prehash(&digest).expect(INFALLIBLE);
                out.copy_from_slice(&sig.normalize_s().to_bytes());
            }
        }
        out
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("algorithm", &self.algorithm())
            .field("public", &self.did_key())
            .finish_non_exhaustive()
    }
}
