//! Lexicon validation of record writes (createRecord, putRecord, applyWrites), with the
//! three `validate` modes of atproto.com/specs/lexicon#validation-options and the reference
//! PDS's error messages (the relay answers them as `InvalidRequest`).

use data::Value;

use crate::catalog::Catalog;
use crate::error::ValidationError;
use crate::validate::validate_record;

/// The `validate` flag of a record write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationMode {
    /// `validate: true`: the lexicon must be known and the record must pass it.
    Required,
    /// `validate: false`: no lexicon validation (data-model rules still apply elsewhere).
    Skip,
    /// `validate` unset: validate when the lexicon is known, accept otherwise ("fail-open").
    #[default]
    Optimistic,
}

impl ValidationMode {
    /// The mode for the request's optional `validate` boolean.
    pub fn from_flag(flag: Option<bool>) -> ValidationMode {
        match flag {
            Some(true) => ValidationMode::Required,
            Some(false) => ValidationMode::Skip,
            None => ValidationMode::Optimistic,
        }
    }
}

/// The `validationStatus` a write reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStatus {
    Valid,
    Unknown,
}

impl ValidationStatus {
    /// The wire value: `valid` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValidationStatus::Valid => "valid",
            ValidationStatus::Unknown => "unknown",
        }
    }
}

/// Why a record write is refused; `Display` is the reference PDS's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordWriteError {
    /// The record has no string `$type`.
    #[error("No $type provided")]
    NoType,
    /// The record's `$type` is not the collection it is written to.
    #[error("Invalid $type: expected {expected}, got {found}")]
    CollectionMismatch { expected: String, found: String },
    /// `validate: true` and the catalog lacks a schema the record needs.
    #[error("{0}")]
    LexiconNotFound(ValidationError),
    /// The record breaks its schema, e.g. `Invalid app.bsky.feed.post record: Record/text
    /// must be a string`.
    #[error("Invalid {collection} record: {source}")]
    Invalid {
        collection: String,
        #[source]
        source: ValidationError,
    },
}

/// Validates a record about to be written to `collection`, as the reference PDS does
/// (`prepareCreate`/`prepareUpdate`). Returns the `validationStatus` to report: `None` when
/// validation was skipped, `Some(Unknown)` when the lexicon is not known and the mode is
/// optimistic.
///
/// The reference fills a missing `$type` with the collection before this step; do the same
/// first if the relay follows it (a record reaching here without a string `$type` is
/// refused with `No $type provided`). Beyond the schema, a string `createdAt` must be a
/// valid datetime, as the reference checks for every record type.
pub fn validate_record_write(
    catalog: &Catalog,
    collection: &str,
    record: &Value,
    mode: ValidationMode,
) -> Result<Option<ValidationStatus>, RecordWriteError> {
    if mode == ValidationMode::Skip {
        return Ok(None);
    }
    let record_type = match record.as_map().and_then(|m| m.get("$type")) {
        Some(Value::String(t)) if !t.is_empty() => t,
        _ => return Err(RecordWriteError::NoType),
    };
    if record_type != collection {
        return Err(RecordWriteError::CollectionMismatch {
            expected: collection.to_owned(),
            found: record_type.clone(),
        });
    }
    let invalid = |source| RecordWriteError::Invalid {
        collection: collection.to_owned(),
        source,
    };
    match validate_record(catalog, collection, record) {
        Ok(()) => {}
        Err(e) if e.is_lexicon_not_found() => {
            return match mode {
                ValidationMode::Required => Err(RecordWriteError::LexiconNotFound(e)),
                _ => Ok(Some(ValidationStatus::Unknown)),
            }
        }
        Err(e) => return Err(invalid(e)),
    }
    if let Some(Value::String(created_at)) = record.as_map().and_then(|m| m.get("createdAt")) {
        if syntax::validate_datetime(created_at).is_err() {
            return Err(invalid(ValidationError::Invalid {
                path: "createdAt".into(),
                reason: "must be an valid atproto datetime (both RFC-3339 and ISO-8601)".into(),
            }));
        }
    }
    Ok(Some(ValidationStatus::Valid))
}
