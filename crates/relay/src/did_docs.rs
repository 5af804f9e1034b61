//! DID documents of any supported method (did:plc from the configured PLC directory, did:web
//! over the hardened HTTPS client), parsed, and cached briefly: the lookups behind verifying
//! inter-service tokens (`crate::service_auth`) and finding proxy targets (`crate::proxy`).
//!
//! Callers that must not trust the cache (a signature that failed to verify may mean the key
//! was just rotated) ask for a fresh document, which also refreshes the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use identity::DidDocument;

use crate::app::AppState;
use crate::plc::PlcError;

/// Cached documents are used this long (the DID spec allows caching; short keeps key rotations
/// and service moves visible quickly).
const TTL: Duration = Duration::from_secs(5 * 60);
const MAX_ENTRIES: usize = 10_000;

/// Why a DID has no document here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidDocError {
    /// Not `did:plc` or `did:web` (or not a valid DID at all).
    #[error("unsupported DID method: {0}")]
    Unsupported(String),
    /// The directory or host says there is no such DID (or it is tombstoned).
    #[error("{0} does not resolve")]
    NotFound(String),
    /// The lookup failed (unreachable, refused, too large, not a valid document).
    #[error("cannot resolve {did}: {reason}")]
    Failed { did: String, reason: String },
}

/// The cache of parsed documents.
#[derive(Default)]
pub struct DidDocs {
    cache: Mutex<HashMap<String, (Instant, DidDocument)>>,
}

impl DidDocs {
    pub fn new() -> DidDocs {
        DidDocs::default()
    }

    fn cached(&self, did: &str) -> Option<DidDocument> {
        let cache = self.cache.lock().expect("not poisoned");
        cache
            .get(did)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, doc)| doc.clone())
    }

    fn remember(&self, doc: &DidDocument) {
        let mut cache = self.cache.lock().expect("not poisoned");
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, (at, _)| at.elapsed() < TTL);
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(doc.did().to_owned(), (Instant::now(), doc.clone()));
    }
}

impl AppState {
    /// The DID document of `did`, from the cache unless `fresh`.
    pub async fn resolve_did_document(
        &self,
        did: &str,
        fresh: bool,
    ) -> Result<DidDocument, DidDocError> {
        if syntax::validate_did(did).is_err() {
            return Err(DidDocError::Unsupported(did.to_owned()));
        }
        if !fresh {
            if let Some(doc) = self.did_docs.cached(did) {
                return Ok(doc);
            }
        }
        let failed = |reason: String| DidDocError::Failed {
            did: did.to_owned(),
            reason,
        };
        let json = if did.starts_with("did:plc:") {
            match self.plc.did_document(did).await {
                Ok(json) => json,
                Err(PlcError::NotFound { .. } | PlcError::Tombstoned { .. }) => {
                    return Err(DidDocError::NotFound(did.to_owned()))
                }
                Err(e) => return Err(failed(e.to_string())),
            }
        } else if did.starts_with("did:web:") {
            match self.handle_resolver.did_web_document(did).await {
                Ok(Some(json)) => json,
                Ok(None) => return Err(DidDocError::NotFound(did.to_owned())),
                Err(reason) => return Err(failed(reason)),
            }
        } else {
            return Err(DidDocError::Unsupported(did.to_owned()));
        };
        let doc = DidDocument::parse(did, &json).map_err(|e| failed(e.to_string()))?;
        self.did_docs.remember(&doc);
        Ok(doc)
    }
}
