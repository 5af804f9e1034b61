//! Errors of this crate, one enum per layer: schema documents, the catalog, data validation.

use std::path::PathBuf;

/// A Lexicon document that is not valid Lexicon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The JSON does not have the shape of a Lexicon document (wrong JSON types, unknown
    /// `type`, missing required fields, ...).
    #[error("malformed lexicon: {0}")]
    Malformed(String),
    /// The shape is right but a schema rule is broken; `path` is slash-separated from the
    /// document root, e.g. `defs/main/record/required`.
    #[error("invalid lexicon at {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// A failure to build a [`crate::Catalog`].
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {source}")]
    Schema {
        /// The file or document id the bad schema came from.
        origin: String,
        #[source]
        source: SchemaError,
    },
    #[error("lexicon {0} is already in the catalog")]
    Duplicate(String),
}

/// Data that does not validate against its Lexicon. `Display` gives the reference
/// implementation's wording (e.g. `Record/text must be a string`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A definition the data needs is not in the catalog (`lex:nsid` or `lex:nsid#name`).
    /// With optimistic validation a PDS lets the write through as `unknown`.
    #[error("Lexicon not found: lex:{0}")]
    LexiconNotFound(String),
    /// The definition exists but is not of a type this operation can use.
    #[error("Not a {expected} lexicon: lex:{reference}")]
    WrongDefType {
        reference: String,
        expected: &'static str,
    },
    /// A record's `$type` is not the NSID it is validated as.
    #[error("Invalid $type: must be lex:{expected}, got {found}")]
    TypeMismatch { expected: String, found: String },
    /// A reference resolved to a definition that can not describe data (e.g. a token).
    #[error("Unexpected lexicon type: {0}")]
    UnexpectedDefType(&'static str),
    /// The value at `path` breaks its schema; `reason` continues the sentence.
    #[error("{path} {reason}")]
    Invalid { path: String, reason: String },
}

impl ValidationError {
    /// True when validation failed only because a schema is missing from the catalog.
    pub fn is_lexicon_not_found(&self) -> bool {
        matches!(self, ValidationError::LexiconNotFound(_))
    }
}
