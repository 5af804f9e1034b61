//! One error type for the crate, with a variant per reason the protocol gives for refusing a key
//! or a signature, so callers can map each to their own layer (an XRPC error name, a PLC audit
//! failure) without parsing messages.

use crate::Algorithm;

/// Why a key, an encoding or a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The string is not a `did:key:` identifier.
    #[error("not a did:key: {0}")]
    MalformedDidKey(String),

    /// A multibase string did not start with `z` (base58btc), the only base atproto uses for keys.
    #[error("unsupported multibase prefix {0:?}; atproto keys use base58btc ('z')")]
    UnsupportedMultibase(Option<char>),

    /// The text after the multibase prefix is not valid base58btc.
    #[error("invalid base58btc: {0}")]
    InvalidBase58(String),

    /// The multicodec varint prefix is truncated, too long or not minimally encoded.
    #[error("malformed multicodec varint prefix")]
    MalformedMulticodec,

    /// A well-formed multicodec that names a key type atproto does not use (e.g. ed25519-pub 0xed).
    #[error("unsupported key type: multicodec 0x{0:x}")]
    UnsupportedKeyType(u64),

    /// A name that does not denote P-256 or K-256 (a JWT `alg`, a DID document suite).
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),

    /// Input of the wrong size for what it claims to be.
    #[error("{what} must be {expected} bytes, got {actual}")]
    InvalidLength {
        /// What was being decoded.
        what: &'static str,
        /// The accepted length(s), in words.
        expected: &'static str,
        /// The length that was given.
        actual: usize,
    },

    /// Text that should be hexadecimal contains something else.
    #[error("invalid hex: {0}")]
    InvalidHex(&'static str),

    /// The bytes are not a point on the curve (or not a SEC1 encoding of one).
    #[error("invalid {0:?} public key")]
    InvalidPublicKey(Algorithm),

    /// The scalar is zero or not below the curve order.
    #[error("invalid {0:?} private key")]
    InvalidPrivateKey(Algorithm),

    /// An ASN.1 DER signature was given; atproto only accepts the 64-byte compact `r||s` form.
    #[error("DER-encoded signature; atproto requires 64-byte compact r||s")]
    DerSignature,

    /// `r` or `s` is zero or not below the curve order, so this cannot be a signature at all.
    #[error("malformed signature: r or s out of range")]
    MalformedSignature,

    /// `s` is in the upper half of the order; atproto rejects these to rule out malleability.
    #[error("high-S signature; atproto requires low-S")]
    HighSSignature,

    /// The signature is well formed but does not verify for this key and message.
    #[error("signature does not verify")]
    InvalidSignature,

    /// A sealed secret is malformed, altered, or was sealed under another key or purpose.
    #[error("sealed secret cannot be opened (wrong master key, wrong purpose, or altered)")]
    SealedData,
}
