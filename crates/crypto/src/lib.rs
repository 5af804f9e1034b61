//! Keys and signatures for the AT Protocol: P-256 and K-256 (secp256k1) ECDSA, the way the
//! atproto cryptography spec pins them down.
//!
//! Every signature in atproto (repo commits, PLC operations, inter-service auth tokens) is made
//! the same way, and this crate is the one place that does it:
//!
//! - the message bytes are hashed **once** with SHA-256 and ECDSA runs over that digest;
//! - signatures are the 64-byte compact `r || s` form, never DER;
//! - `s` is always in the lower half of the curve order ("low-S"); verification refuses
//!   high-S signatures, so a signature cannot be tweaked into a second valid one;
//! - public keys travel as *multikey* (`z` + base58btc of a multicodec prefix and the
//!   compressed point) and as `did:key:` + multikey.
//!
//! [`Keypair`] holds a private key (wiped on drop, never printed by `Debug`) and signs;
//! [`PublicKey`] parses every key encoding atproto meets, including the legacy DID-document
//! form, and verifies. Errors are [`CryptoError`], one variant per reason.
//!
//! ```
//! use crypto::{verify_did_key_signature, Algorithm, CryptoError, Keypair, PublicKey};
//!
//! // The relay's repo signing key; in production it comes from sealed storage.
//! let key = Keypair::generate(Algorithm::P256);
//! let did_key = key.did_key();
//! assert!(did_key.starts_with("did:key:zDn"));
//!
//! // Sign the bytes of an (unsigned) commit...
//! let commit_bytes = b"dag-cbor bytes of the unsigned commit";
//! let sig = key.sign(commit_bytes);
//!
//! // ...and anyone holding the did:key from the DID document can check it.
//! let public = PublicKey::from_did_key(&did_key)?;
//! public.verify(commit_bytes, &sig)?;
//! verify_did_key_signature(&did_key, commit_bytes, &sig)?;
//! assert_eq!(
//!     public.verify(b"some other bytes", &sig),
//!     Err(CryptoError::InvalidSignature)
//! );
//!
//! // A K-256 PLC rotation key, configured as hex like the reference PDS does.
//! let rotation = Keypair::from_hex(
//!     Algorithm::K256,
//!     "9085d2bef69286a6cbb51623c8fa258629945cd55ca705cc4e66700396894e0c",
//! )?;
//! assert_eq!(
//!     rotation.did_key(),
//!     "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"
//! );
//! # Ok::<(), CryptoError>(())
//! ```

mod algorithm;
mod error;
mod hex;
pub mod interop;
mod keypair;
mod multikey;
mod public_key;
pub mod recovery;
pub mod seal;

pub use algorithm::Algorithm;
pub use error::CryptoError;
pub use keypair::Keypair;
pub use public_key::PublicKey;

/// Verifies `sig` over `msg` against the key named by a `did:key:z…` string, as found in a DID
/// document's `verificationMethods` or a PLC operation's `rotationKeys`.
///
/// Same rules as [`PublicKey::verify`]; the key parse error is returned if `did_key` is bad.
pub fn verify_did_key_signature(did_key: &str, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    PublicKey::from_did_key(did_key)?.verify(msg, sig)
}
