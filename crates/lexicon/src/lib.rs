//! Lexicon, the AT Protocol's schema language (atproto.com/specs/lexicon): parse Lexicon
//! documents, gather them in a [`Catalog`], and validate atproto data against them.
//!
//! - [`LexiconDoc`] and [`Def`] model a Lexicon file; [`LexiconDoc::from_json`] (or
//!   `str::parse`) reads one and checks the schema rules (version 1, NSID id, only `main` may
//!   be a primary type, `required` names defined properties, `default`/`const` agree with the
//!   other constraints, which types may appear where, ...).
//! - [`Catalog`] holds documents by NSID and resolves `ref`s and union variants between them.
//! - [`validate_record`] checks a record (a [`data::Value`]) against its collection's schema,
//!   with the reference implementation's messages: `Record/text must be a string`.
//!   [`validate_record_write`] wraps it with the `validate` true/false/unset modes of
//!   createRecord/putRecord/applyWrites and the reference PDS's `InvalidRequest` wording.
//! - [`validate_params`], [`validate_input`], [`validate_output`] and [`validate_message`]
//!   check XRPC parameters and bodies.
//!
//! Validation checks the data against the schema only; the generic data-model rules (blob
//! shape anywhere, `$type` strings, CID codecs) are `data::model::validate`'s job.
//!
//! ```
//! use lexicon::{validate_record, validate_record_write, Catalog, ValidationMode, ValidationStatus};
//!
//! let catalog = Catalog::from_json_values([&serde_json::json!({
//!     "lexicon": 1,
//!     "id": "com.example.post",
//!     "defs": {
//!         "main": {
//!             "type": "record",
//!             "key": "tid",
//!             "record": {
//!                 "type": "object",
//!                 "required": ["text", "createdAt"],
//!                 "properties": {
//!                     "text": {"type": "string", "maxGraphemes": 300},
//!                     "createdAt": {"type": "string", "format": "datetime"}
//!                 }
//!             }
//!         }
//!     }
//! })])
//! .unwrap();
//!
//! let post = data::json::from_json(&serde_json::json!({
//!     "$type": "com.example.post",
//!     "text": "hello",
//!     "createdAt": "2026-11-25T12:00:00.000Z"
//! }))
//! .unwrap();
//! assert!(validate_record(&catalog, "com.example.post", &post).is_ok());
//!
//! let bad = data::json::from_json(&serde_json::json!({
//!     "$type": "com.example.post",
//!     "text": 42,
//!     "createdAt": "2026-11-25T12:00:00.000Z"
//! }))
//! .unwrap();
//! let err = validate_record_write(&catalog, "com.example.post", &bad, ValidationMode::Optimistic)
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "Invalid com.example.post record: Record/text must be a string");
//!
//! // Unknown collections pass as `unknown` unless validation is required.
//! let other = data::json::from_json(&serde_json::json!({"$type": "com.example.other"})).unwrap();
//! let status = validate_record_write(&catalog, "com.example.other", &other, ValidationMode::Optimistic);
//! assert_eq!(status, Ok(Some(ValidationStatus::Unknown)));
//! assert!(validate_record_write(&catalog, "com.example.other", &other, ValidationMode::Required).is_err());
//! ```

mod catalog;
mod check;
mod error;
pub mod interop;
pub mod mime;
mod schema;
mod validate;
mod write;

pub use catalog::Catalog;
pub use error::{CatalogError, SchemaError, ValidationError};
pub use schema::{
    ArrayDef, BlobDef, BodyDef, BooleanDef, BytesDef, CidLinkDef, Def, ErrorDef, IntegerDef,
    LexiconDoc, MessageDef, NullDef, ObjectDef, ParamsDef, PermissionDef, PermissionSetDef,
    ProcedureDef, Properties, QueryDef, RecordDef, RecordKeyType, RefDef, StringDef, StringFormat,
    SubscriptionDef, TokenDef, UnionDef, UnknownDef,
};
pub use validate::{
    validate_def, validate_input, validate_message, validate_output, validate_params,
    validate_record,
};
pub use write::{validate_record_write, RecordWriteError, ValidationMode, ValidationStatus};
