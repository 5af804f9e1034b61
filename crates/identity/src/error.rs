//! Errors, one enum per layer: a single operation ([`OpError`]), a whole audit log
//! ([`AuditError`], which names the failing entry), and DID documents ([`DidDocError`]).
//! Each variant says what the protocol objects to, so callers map them to their own answers
//! (an XRPC error, a CLI message) without parsing text.

use std::fmt;

use crypto::CryptoError;

/// Why the `sig` string of an operation is not a strictly encoded signature (did:plc spec v0.2.1,
/// "Operation Serialization, Signing, and Validation", step 4). Any of these would let a third
/// party re-encode a signature, and so change the operation's CID, without invalidating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigEncoding {
    /// The string is empty.
    Empty,
    /// `=` padding characters are present; the spec wants unpadded base64url.
    PaddingChars,
    /// Whitespace (a newline, say) is present.
    Whitespace,
    /// A character outside the base64url alphabet (`+` or `/` included).
    InvalidCharacter,
    /// The bits left over after the last whole byte are not zero (RFC 4648 §3.5).
    NonZeroPaddingBits,
    /// The decoded signature is not the 64 bytes of compact `r || s`.
    Length(usize),
}

impl fmt::Display for SigEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigEncoding::Empty => f.write_str("empty signature"),
            SigEncoding::PaddingChars => f.write_str("base64url padding characters ('=')"),
            SigEncoding::Whitespace => f.write_str("whitespace in base64url"),
            SigEncoding::InvalidCharacter => {
                f.write_str("character outside the base64url alphabet")
            }
            SigEncoding::NonZeroPaddingBits => f.write_str("non-zero base64url padding bits"),
            SigEncoding::Length(n) => write!(f, "decodes to {n} bytes, not 64"),
        }
    }
}

/// Why a signature was not accepted by any of the keys allowed to sign the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigFailure {
    /// No key may sign here (the previous operation listed no rotation keys).
    NoKeys,
    /// The 64 bytes are an ASN.1 DER signature, not compact `r || s`.
    Der,
    /// `s` is in the upper half of the curve order.
    HighS,
    /// `r` or `s` is zero or not below the curve order.
    Malformed,
    /// Well formed, but none of the allowed keys made it.
    NoMatchingKey,
}

impl fmt::Display for SigFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigFailure::NoKeys => "there are no rotation keys to verify against",
            SigFailure::Der => "DER-encoded signature (compact r||s required)",
            SigFailure::HighS => "high-S signature (low-S required)",
            SigFailure::Malformed => "signature r or s out of range",
            SigFailure::NoMatchingKey => "no allowed rotation key made this signature",
        })
    }
}

/// Why one PLC operation is refused, on its own, before any log context is considered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    #[error("operation is not a JSON object")]
    NotAnObject,
    #[error("operation has no string `type`")]
    MissingType,
    #[error("unknown operation type {0:?}")]
    UnknownType(String),
    #[error("missing field `{0}`")]
    MissingField(String),
    #[error("field `{field}` must be {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("unexpected field `{0}`")]
    UnexpectedField(String),
    #[error("operation is {0} bytes as DAG-CBOR; the limit is 7500")]
    TooLarge(usize),
    #[error("{0} rotation keys; 1 to 5 are allowed")]
    RotationKeyCount(usize),
    #[error("rotation key listed twice: {0}")]
    DuplicateRotationKey(String),
    #[error("rotation key {key} is not a P-256/K-256 did:key: {reason}")]
    BadRotationKey { key: String, reason: CryptoError },
    #[error("verification method `{id}` is not a did:key: {key}")]
    BadVerificationMethod { id: String, key: String },
    #[error("signing key {key} is not a P-256/K-256 did:key: {reason}")]
    BadSigningKey { key: String, reason: CryptoError },
    #[error("`prev` is not a dag-cbor CID in canonical base32 form: {0:?}")]
    BadPrev(String),
    #[error("invalid handle {0:?}")]
    BadHandle(String),
    #[error("PDS endpoint must be a bare http(s) origin, got {0:?}")]
    BadEndpoint(String),
    #[error("exceeds the directory's limit: {0}")]
    Limit(String),
    #[error("signature encoding: {0}")]
    SigEncoding(SigEncoding),
    #[error("signature: {0}")]
    Signature(SigFailure),
    #[error("the signing key {0} is not one of the genesis operation's rotation keys")]
    SignerNotRotationKey(String),
    #[error("not a genesis operation (prev is set, or it is a tombstone)")]
    NotGenesis,
}

/// What is wrong with an audit log, at the entry [`AuditError`] points to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditErrorKind {
    #[error("audit log is not a JSON array of entries")]
    NotAnArray,
    #[error("audit log is empty")]
    Empty,
    #[error("malformed entry: {0}")]
    MalformedEntry(String),
    #[error("entry is for {found}, not this DID")]
    WrongDid { found: String },
    #[error(transparent)]
    Op(#[from] OpError),
    #[error("recorded CID {recorded} does not match the operation's CID {computed}")]
    CidMismatch { recorded: String, computed: String },
    #[error("createdAt {0:?} is not an RFC 3339 datetime")]
    BadTimestamp(String),
    #[error("the first entry is not a genesis operation")]
    FirstNotGenesis,
    #[error("the genesis operation derives {derived}, not this DID")]
    GenesisDidMismatch { derived: String },
    #[error("a second genesis operation (prev is null)")]
    UnexpectedGenesis,
    #[error("the same operation appears twice")]
    DuplicateOperation,
    #[error("prev {0} is not an earlier operation of this DID")]
    UnknownPrev(String),
    #[error("prev {0} was nullified; only operations on the active history can be built on")]
    PrevNullified(String),
    #[error("prev {0} is a tombstone; nothing may follow a tombstone")]
    PrevTombstoned(String),
    #[error("createdAt is not after the operation it follows")]
    TimestampOrder,
    #[error(
        "nullification signed by rotation key #{signer}, but the overridden operation was signed \
         by #{disputed}; only a strictly higher-priority key may override"
    )]
    NullificationPriority { signer: usize, disputed: usize },
    #[error("nullification {elapsed_ms} ms after the overridden operation; the window is 72 h")]
    LateRecovery { elapsed_ms: i64 },
    #[error("entry is marked nullified: {recorded}, but replaying the log gives {computed}")]
    NullifiedFlagMismatch { recorded: bool, computed: bool },
}

/// An audit log failed validation; `index` (0-based) and `cid` name the entry that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditError {
    /// Position of the failing entry in the log; `None` for faults of the log as a whole.
    pub index: Option<usize>,
    /// The CID the failing entry records, when it has one.
    pub cid: Option<String>,
    pub kind: AuditErrorKind,
}

impl AuditError {
    pub(crate) fn log(kind: AuditErrorKind) -> AuditError {
        AuditError {
            index: None,
            cid: None,
            kind,
        }
    }

    pub(crate) fn at(
        index: usize,
        cid: Option<&str>,
        kind: impl Into<AuditErrorKind>,
    ) -> AuditError {
        AuditError {
            index: Some(index),
            cid: cid.map(str::to_owned),
            kind: kind.into(),
        }
    }
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.index, &self.cid) {
            (Some(i), Some(cid)) => write!(f, "audit log entry {i} ({cid}): {}", self.kind),
            (Some(i), None) => write!(f, "audit log entry {i}: {}", self.kind),
            _ => write!(f, "audit log: {}", self.kind),
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.kind)
    }
}

/// Why a DID document could not be read at all. Missing or invalid atproto entries are not
/// errors: the accessors of [`crate::DidDocument`] return `None` for them instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidDocError {
    #[error("not a valid DID: {0:?}")]
    InvalidDid(String),
    #[error("DID document is not valid JSON: {0}")]
    Json(String),
    #[error("DID document is not a JSON object")]
    NotAnObject,
    #[error("DID document has no string `id`")]
    MissingId,
    #[error("DID document id {found:?} does not match the DID {expected:?}")]
    IdMismatch { expected: String, found: String },
    #[error("DID document field `{0}` has the wrong type")]
    WrongType(&'static str),
}
