//! AT Protocol identity: did:plc operations and audit-log validation, and DID documents.
//!
//! - [`op`]: the three did:plc operation shapes (`plc_operation`, `plc_tombstone`, the legacy
//!   `create`), unsigned ([`UnsignedOp`]) and signed ([`SignedOp`]): strict JSON parsing,
//!   DAG-CBOR, CIDs, DID derivation, signing with a [`crypto::Keypair`] and verification.
//! - [`genesis_op`] and the `with_*` methods of [`PlcOperation`]: the operations the relay
//!   submits (DESIGN §4): rotation keys device, recovery, relay; the repo signing key; handle;
//!   PDS.
//! - [`validate_audit_log`]: replays a DID's full audit log as the directory accepted it and
//!   returns the current [`PlcState`] (or that the DID is tombstoned), or an [`AuditError`]
//!   naming the entry that fails.
//! - [`DidDocument`]: the atproto view (handle, signing key, PDS) of any DID document, and
//!   [`PlcState::did_document`], the document the directory serves for a state.
//!
//! Nothing here does I/O: resolving a DID or a handle over the network is a separate layer.
//!
//! ```
//! use crypto::{Algorithm, Keypair};
//! use identity::{genesis_op, parse_audit_log, validate_audit_log, DidDocument};
//!
//! // Rotation keys, highest priority first: the phone's device key, then the relay's own.
//! let device = Keypair::generate(Algorithm::P256);
//! let relay = Keypair::generate(Algorithm::K256);
//! let repo_signing = Keypair::generate(Algorithm::P256);
//!
//! let op = genesis_op(
//!     vec![device.did_key(), relay.did_key()],
//!     &repo_signing.did_key(),
//!     "alice.example.com",
//!     "https://pds.example.com",
//! )?;
//! let signed = op.sign(&relay)?;
//! let did = signed.did()?;
//! assert!(did.starts_with("did:plc:") && did.len() == 32);
//!
//! // The directory would now serve this one-entry audit log; validating it gives the state.
//! let log = serde_json::json!([{
//!     "did": did,
//!     "operation": signed.to_json(),
//!     "cid": signed.cid().to_string(),
//!     "nullified": false,
//!     "createdAt": "2026-11-25T12:00:00.000Z",
//! }]);
//! let audited = validate_audit_log(&did, &parse_audit_log(&log)?)?;
//! let state = audited.state().expect("not tombstoned");
//! assert_eq!(state.handle().as_deref(), Some("alice.example.com"));
//!
//! // The DID document built from that state reads back the same way any resolver would.
//! let doc = DidDocument::parse(&did, &state.did_document())?;
//! assert_eq!(doc.signing_key(), Some(repo_signing.did_key()));
//! assert_eq!(doc.pds_endpoint(), Some("https://pds.example.com"));
//!
//! // An update: new handle, following the current head, signed by a current rotation key.
//! let update = state.update_op(&audited.head).with_handle("alice.example.org")?.sign(&device)?;
//! assert_eq!(update.verify(&state.rotation_keys)?, 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod did_doc;
pub mod error;
pub mod interop;
mod names;
pub mod op;
mod sig;
pub mod state;

pub use audit::{
    parse_audit_log, parse_audit_log_str, validate_audit_log, AuditedLog, LogEntry, PlcStatus,
};
pub use did_doc::{DidDocument, DocService, VerificationMethod};
pub use error::{AuditError, AuditErrorKind, DidDocError, OpError, SigEncoding, SigFailure};
pub use op::{
    LegacyCreate, PlcOperation, PlcTombstone, Service, SignedOp, UnsignedOp, MAX_OP_BYTES,
    MAX_ROTATION_KEYS,
};
pub use state::{genesis_op, PlcState};
