//! Strict syntax for AT Protocol identifiers and string formats, and the TID generator.
//!
//! Every identifier that crosses a trust boundary (an XRPC parameter, a record field, a key in
//! an imported repo) is checked here first. Each format has a validator returning
//! `Result<(), SyntaxError>`, written by hand from the spec pages (no regex engine, no
//! allocation on the happy path), and the identifiers later crates pass around have newtypes
//! that can only hold valid values:
//!
//! | format | validator | type |
//! |---|---|---|
//! | DID | [`validate_did`] | [`Did`] |
//! | handle | [`validate_handle`] | [`Handle`] (lowercased) |
//! | DID or handle | [`validate_at_identifier`] | [`AtIdentifier`] |
//! | NSID | [`validate_nsid`] | [`Nsid`] |
//! | record key | [`validate_record_key`] | [`RecordKey`] |
//! | repo path | [`validate_repo_path`] | `(collection, rkey)` |
//! | TID | [`validate_tid`] | [`Tid`], made by [`TidGenerator`] |
//! | AT-URI | [`validate_at_uri`] | [`AtUri`] |
//! | datetime | [`validate_datetime`], [`parse_datetime`] | [`Datetime`] |
//! | language | [`validate_language`], [`parse_language`] | [`LanguageTag`] |
//! | CID string | [`validate_cid_string`] | |
//! | URI | [`validate_uri`] | |
//!
//! Validators check syntax only: `did:example:123` passes although no PDS can resolve it, and
//! `laptop.local` passes although it can never be registered. The spec wants those reported as
//! application errors, apart from syntax.
//!
//! ```
//! use syntax::{validate_handle, AtUri, Handle, Tid, TidGenerator};
//!
//! // Validators say which rule was broken.
//! let err = validate_handle("john..test").unwrap_err();
//! assert_eq!(err.to_string(), "invalid handle: empty label (leading, trailing or repeated '.')");
//!
//! // Newtypes hold only valid (and, for handles, normalised) values.
//! let handle: Handle = "Alice.Example.COM".parse()?;
//! assert_eq!(handle.as_str(), "alice.example.com");
//!
//! let uri: AtUri = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3k5nobkf2w72g".parse()?;
//! assert_eq!(uri.collection().unwrap().name(), "post");
//! assert_eq!(uri.rkey().unwrap().as_str(), "3k5nobkf2w72g");
//!
//! // TIDs from one generator strictly increase, and sort as strings.
//! let tids = TidGenerator::new();
//! let a = tids.next()?;
//! let b = tids.next()?;
//! assert!(a < b && a.as_str() < b.as_str());
//!
//! // A repo's next rev stays above its last one even if that came from a clock running ahead.
//! let last_rev = Tid::from_parts(a.timestamp_micros() + 60_000_000, 0)?;
//! assert!(tids.next_above(Some(&last_rev))? > last_rev);
//! # Ok::<(), syntax::SyntaxError>(())
//! ```
//!
//! [`interop`] runs the official vector files through these validators for the L1 runner.

mod at_uri;
mod cid;
mod datetime;
mod did;
mod error;
mod handle;
pub mod interop;
mod language;
mod newtype;
mod nsid;
mod record_key;
mod tid;
mod uri;

pub use at_uri::{validate_at_identifier, validate_at_uri, AtIdentifier, AtUri, MAX_AT_URI_LEN};
pub use cid::{validate_cid_string, MAX_CID_LEN, MIN_CID_LEN};
pub use datetime::{parse_datetime, validate_datetime, Datetime, MAX_DATETIME_LEN};
pub use did::{validate_did, Did, MAX_DID_LEN};
pub use error::{Kind, SyntaxError};
pub use handle::{
    validate_handle, Handle, DISALLOWED_TLDS, INVALID_HANDLE, MAX_HANDLE_LEN, MAX_LABEL_LEN,
};
pub use language::{parse_language, validate_language, LanguageTag};
pub use nsid::{validate_nsid, Nsid, MAX_NAME_LEN, MAX_NSID_LEN};
pub use record_key::{validate_record_key, validate_repo_path, RecordKey, MAX_RECORD_KEY_LEN};
pub use tid::{
    system_clock_micros, validate_tid, Tid, TidGenerator, MAX_CLOCK_ID, MAX_TIMESTAMP_MICROS,
    TID_LEN,
};
pub use uri::{validate_uri, MAX_URI_LEN};
