//! The two key types atproto uses, and the names each goes by in other formats.

use crate::CryptoError;

/// A curve and its signature scheme: ECDSA with SHA-256 over P-256 or secp256k1 (K-256).
///
/// These are the only two the atproto cryptography spec allows for repo signing and PLC
/// rotation keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// NIST P-256 (secp256r1), JWT `ES256`.
    P256,
    /// secp256k1, JWT `ES256K`.
    K256,
}

impl Algorithm {
    /// Both algorithms, for code that has to try or test each.
    pub const ALL: [Algorithm; 2] = [Algorithm::P256, Algorithm::K256];

    /// The multicodec code of the compressed public key (`p256-pub`, `secp256k1-pub`).
    pub const fn multicodec(self) -> u64 {
        match self {
            Algorithm::P256 => 0x1200,
            Algorithm::K256 => 0xe7,
        }
    }

    /// The algorithm whose public key has this multicodec code, if atproto uses it.
    pub fn from_multicodec(code: u64) -> Result<Algorithm, CryptoError> {
        match code {
            0x1200 => Ok(Algorithm::P256),
            0xe7 => Ok(Algorithm::K256),
            other => Err(CryptoError::UnsupportedKeyType(other)),
        }
    }

    /// The JOSE / JWT `alg` name, as used in inter-service auth tokens.
    pub const fn jwt_alg(self) -> &'static str {
        match self {
            Algorithm::P256 => "ES256",
            Algorithm::K256 => "ES256K",
        }
    }

    /// Parses a JOSE / JWT `alg` name (`ES256` or `ES256K`).
    pub fn from_jwt_alg(alg: &str) -> Result<Algorithm, CryptoError> {
        match alg {
            "ES256" => Ok(Algorithm::P256),
            "ES256K" => Ok(Algorithm::K256),
            other => Err(CryptoError::UnsupportedAlgorithm(other.to_owned())),
        }
    }

    /// The legacy DID-document verification method type whose `publicKeyMultibase` holds a raw
    /// point of this curve (see [`crate::PublicKey::from_legacy_multibase`]).
    pub const fn legacy_verification_suite(self) -> &'static str {
        match self {
            Algorithm::P256 => "EcdsaSecp256r1VerificationKey2019",
            Algorithm::K256 => "EcdsaSecp256k1VerificationKey2019",
        }
    }

    /// Parses a legacy DID-document verification method type.
    pub fn from_legacy_verification_suite(suite: &str) -> Result<Algorithm, CryptoError> {
        match suite {
            "EcdsaSecp256r1VerificationKey2019" => Ok(Algorithm::P256),
            "EcdsaSecp256k1VerificationKey2019" => Ok(Algorithm::K256),
            other => Err(CryptoError::UnsupportedAlgorithm(other.to_owned())),
        }
    }
}
