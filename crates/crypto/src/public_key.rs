//! Public keys: the did:key / multikey encodings, the legacy DID-document form, and
//! verification.

use std::fmt;
use std::hash::{Hash, Hasher};

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::elliptic_curve::scalar::IsHigh;
use sha2::{Digest, Sha256};

use crate::multikey::{
    decode_base58btc, encode_base58btc, push_multicodec, split_multicodec, DID_KEY_PREFIX,
};
use crate::{Algorithm, CryptoError};

/// A P-256 or K-256 public key.
///
/// Equality compares the curve and the point, so two encodings of one key (compressed,
/// uncompressed, did:key, legacy multibase) give equal values.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    point: Point,
}

#[derive(Clone, PartialEq, Eq)]
enum Point {
    P256(p256::ecdsa::VerifyingKey),
    K256(k256::ecdsa::VerifyingKey),
}

impl PublicKey {
    pub(crate) fn from_p256(key: p256::ecdsa::VerifyingKey) -> PublicKey {
        PublicKey {
            point: Point::P256(key),
        }
    }

    pub(crate) fn from_k256(key: k256::ecdsa::VerifyingKey) -> PublicKey {
        PublicKey {
            point: Point::K256(key),
        }
    }

    /// The curve of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self.point {
            Point::P256(_) => Algorithm::P256,
            Point::K256(_) => Algorithm::K256,
        }
    }

    /// Parses a `did:key:z…` identifier (atproto cryptography spec, "Public Key Encoding").
    pub fn from_did_key(did: &str) -> Result<PublicKey, CryptoError> {
        let multikey = did
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or_else(|| CryptoError::MalformedDidKey(did.to_owned()))?;
        PublicKey::from_multikey(multikey)
    }

    /// Parses a multikey: `z` + base58btc of the multicodec varint (`80 24` for P-256, `e7 01`
    /// for K-256) followed by the 33-byte compressed point. This is the `publicKeyMultibase` of a
    /// `Multikey` verification method in a DID document.
    ///
    /// Uncompressed points are refused here: the spec requires compression, and accepting both
    /// would give one key two did:key strings.
    pub fn from_multikey(multibase: &str) -> Result<PublicKey, CryptoError> {
        let bytes = decode_base58btc(multibase)?;
        let (code, point) = split_multicodec(&bytes)?;
        let alg = Algorithm::from_multicodec(code)?;
        if point.len() != 33 {
            return Err(CryptoError::InvalidLength {
                what: "multikey point",
                expected: "33 (compressed)",
                actual: point.len(),
            });
        }
        PublicKey::from_compressed(alg, point)
    }

    /// Parses a SEC1 point: 33 bytes compressed (`02`/`03` prefix) or 65 bytes uncompressed
    /// (`04` prefix). Points not on the curve, and the point at infinity, are refused.
    pub fn from_compressed(alg: Algorithm, bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        match (bytes.len(), bytes.first()) {
            (33, Some(0x02 | 0x03)) | (65, Some(0x04)) => {}
            (33 | 65, _) => return Err(CryptoError::InvalidPublicKey(alg)),
            (actual, _) => {
                return Err(CryptoError::InvalidLength {
                    what: "public key",
                    expected: "33 (compressed) or 65 (uncompressed)",
                    actual,
                })
            }
        }
        let invalid = |_| CryptoError::InvalidPublicKey(alg);
        Ok(match alg {
            Algorithm::P256 => PublicKey::from_p256(
                p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(invalid)?,
            ),
            Algorithm::K256 => PublicKey::from_k256(
                k256::ecdsa::VerifyingKey::from_sec1_bytes(bytes).map_err(invalid)?,
            ),
        })
    }

    /// Parses the legacy DID-document form (atproto DID spec, "Legacy Representation"): the
    /// `publicKeyMultibase` of an `EcdsaSecp256r1VerificationKey2019` or
    /// `EcdsaSecp256k1VerificationKey2019` method, which is `z` + base58btc of the raw SEC1
    /// point (uncompressed or compressed) with no multicodec prefix. The curve comes from the
    /// method's `type`, see [`Algorithm::from_legacy_verification_suite`].
    pub fn from_legacy_multibase(
        alg: Algorithm,
        multibase: &str,
    ) -> Result<PublicKey, CryptoError> {
        let bytes = decode_base58btc(multibase)?;
        PublicKey::from_compressed(alg, &bytes)
    }

    /// The 33-byte SEC1 compressed point.
    pub fn to_compressed(&self) -> [u8; 33] {
        let mut out = [0u8; 33];
        match &self.point {
            Point::P256(key) => out.copy_from_slice(key.to_sec1_point(true).as_bytes()),
            Point::K256(key) => out.copy_from_slice(key.to_sec1_point(true).as_bytes()),
        }
        out
    }

    /// The 65-byte SEC1 uncompressed point, for formats that want it (JWK `x`/`y`, legacy docs).
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        match &self.point {
            Point::P256(key) => out.copy_from_slice(key.to_sec1_point(false).as_bytes()),
            Point::K256(key) => out.copy_from_slice(key.to_sec1_point(false).as_bytes()),
        }
        out
    }

    /// The multikey string, `z…`: multicodec prefix plus compressed point, in base58btc.
    pub fn multikey(&self) -> String {
        let mut bytes = Vec::with_capacity(35);
        push_multicodec(self.algorithm().multicodec(), &mut bytes);
        bytes.extend_from_slice(&self.to_compressed());
        encode_base58btc(&bytes)
    }

    /// `did:key:` followed by [`PublicKey::multikey`].
    pub fn did_key(&self) -> String {
        let mut did = String::from(DID_KEY_PREFIX);
        did.push_str(&self.multikey());
        did
    }

    /// Verifies a signature made as [`crate::Keypair::sign`] makes them: 64-byte compact
    /// `r || s`, low-S, ECDSA over SHA-256(`msg`).
    ///
    /// DER encodings, other lengths and high-S signatures are refused with their own error
    /// before any curve arithmetic, as the atproto cryptography spec requires; the verification
    /// itself is the library's, never a byte comparison.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let compact: &[u8; 64] = sig.try_into().map_err(|_| wrong_signature_length(sig))?;
        match &self.point {
            Point::P256(key) => {
                let sig = p256::ecdsa::Signature::from_slice(compact)
                    .map_err(|_| CryptoError::MalformedSignature)?;
                if bool::from(sig.s().is_high()) {
                    return Err(CryptoError::HighSSignature);
                }
                // ring's P-256 verification is about 4x faster than the generic arithmetic of
                // the `p256` crate (measured here: ~80 us against ~330 us), and verifying is what
                // a PDS does most (every firehose consumer, every import). Same inputs, same
                // verdict: the encoding and low-S checks above run first.
                let point = key.to_sec1_point(false);
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::ECDSA_P256_SHA256_FIXED,
                    point.as_bytes(),
                )
                .verify(msg, compact)
                .map_err(|_| CryptoError::InvalidSignature)
            }
            Point::K256(key) => {
                let sig = k256::ecdsa::Signature::from_slice(compact)
                    .map_err(|_| CryptoError::MalformedSignature)?;
                if bool::from(sig.s().is_high()) {
                    return Err(CryptoError::HighSSignature);
                }
                key.verify_prehash(&Sha256::digest(msg), &sig)
                    .map_err(|_| CryptoError::InvalidSignature)
            }
        }
    }
}

impl PublicKey {
    /// Builds a key from the affine coordinates of a JWK (`x`, `y`: 32 bytes each, big-endian),
    /// as DPoP proofs and OAuth client keys carry them. Points not on the curve are refused.
    pub fn from_jwk_coordinates(
        alg: Algorithm,
        x: &[u8],
        y: &[u8],
    ) -> Result<PublicKey, CryptoError> {
        if x.len() != 32 || y.len() != 32 {
            return Err(CryptoError::InvalidPublicKey(alg));
        }
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(x);
        point[33..].copy_from_slice(y);
        PublicKey::from_compressed(alg, &point)
    }

    /// Verifies a JOSE `ES256` / `ES256K` signature (RFC 7518 §3.4: 64-byte `r || s` over
    /// SHA-256 of the signing input).
    ///
    /// Unlike [`PublicKey::verify`], a high-S signature is accepted: JOSE does not ask for
    /// low-S and WebCrypto (what browsers and Node sign DPoP proofs with) produces either half.
    /// ECDSA accepts `(r, s)` exactly when it accepts `(r, n - s)`, so the signature is
    /// normalised and then checked as usual.
    pub fn verify_jose(&self, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
        let compact: &[u8; 64] = sig.try_into().map_err(|_| wrong_signature_length(sig))?;
        let low: [u8; 64] = match &self.point {
            Point::P256(_) => {
                let sig = p256::ecdsa::Signature::from_slice(compact)
                    .map_err(|_| CryptoError::MalformedSignature)?;
                let sig = sig.normalize_s();
                let mut out = [0u8; 64];
                out.copy_from_slice(&sig.to_bytes());
                out
            }
            Point::K256(_) => {
                let sig = k256::ecdsa::Signature::from_slice(compact)
                    .map_err(|_| CryptoError::MalformedSignature)?;
                let sig = sig.normalize_s();
                let mut out = [0u8; 64];
                out.copy_from_slice(&sig.to_bytes());
                out
            }
        };
        self.verify(msg, &low)
    }
}

/// Tells a DER signature (`30 <len> 02 …`) apart from plain junk, so callers learn that the
/// producer used the wrong encoding. A 64-byte input is never taken for DER: compact signatures
/// may start with 0x30 too.
fn wrong_signature_length(sig: &[u8]) -> CryptoError {
    let looks_like_der =
        sig.len() >= 8 && sig[0] == 0x30 && usize::from(sig[1]) == sig.len() - 2 && sig[2] == 0x02;
    if looks_like_der {
        CryptoError::DerSignature
    } else {
        CryptoError::InvalidLength {
            what: "signature",
            expected: "64 (compact r||s)",
            actual: sig.len(),
        }
    }
}

impl Hash for PublicKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The compressed point names the key uniquely per curve, consistent with `Eq`.
        self.algorithm().hash(state);
        self.to_compressed().hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PublicKey").field(&self.did_key()).finish()
    }
}

/// Shows the did:key, the form atproto documents and logs use.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.did_key())
    }
}
