//! The AT Protocol data model: values, strict DAG-CBOR, CIDs, and the JSON form.
//!
//! Everything atproto hashes or signs (records, commits, MST nodes, PLC operations) is a
//! [`Value`] encoded with [`cbor::encode`], and addressed by a [`Cid`]. Decoding is strict:
//! input that is not in the one canonical form is refused, so bytes that decode always
//! re-encode to themselves.
//!
//! ```
//! use data::{cbor, json, Cid, Value};
//!
//! let record = json::from_json(&serde_json::json!({
//!     "$type": "app.bsky.feed.post",
//!     "text": "hello",
//!     "createdAt": "2026-11-25T00:00:00.000Z",
//! })).unwrap();
//! let bytes = cbor::encode(&record);
//! assert_eq!(cbor::decode(&bytes).unwrap(), record);
//! let cid = Cid::for_dag_cbor(&bytes);
//! assert!(cid.to_string().starts_with("bafyrei"));
//! # let _ = Value::Null;
//! ```

pub mod base32;
pub mod cbor;
pub mod cid;
pub mod interop;
pub mod json;
pub mod model;
pub mod value;

pub use cid::{Cid, CidError, Codec};
pub use value::{Map, Value};
