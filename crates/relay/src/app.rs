//! The server's shared state and the per-request context handlers receive.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

use crate::config::Config;
use crate::repos::RepoManager;
use crate::secrets::Secrets;

/// The backend the relay runs on. One place to change when PostgreSQL arrives.
pub type Db = store::sqlite::SqliteStore;

/// Everything handlers share. Handlers are the xrpc traits implemented on this type.
pub struct AppState {
    pub config: Config,
    pub secrets: Secrets,
    pub store: Arc<Db>,
    pub blobs: Arc<store::blobstore::DiskBlobStore>,
    pub repos: RepoManager,
    /// Schemas of known collections, for record validation.
    pub lexicons: lexicon::Catalog,
    /// The PLC directory (did:plc operations and documents).
    pub plc: crate::plc::PlcClient,
    /// Handle → DID over DNS and HTTPS, for handles not hosted here.
    pub handle_resolver: crate::resolver::HandleResolver,
    /// Rate limits (per IP, per endpoint, repo write points).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// The OAuth authorization server's in-memory state (DPoP nonces, replay caches, clients).
    pub oauth: crate::oauth::OAuthState,
    /// Outgoing email (`crate::mail`).
    pub mailer: crate::mail::Mailer,
    /// DID documents of other identities (service-token issuers, proxy targets), cached.
    pub did_docs: crate::did_docs::DidDocs,
    /// Incoming service tokens: the replay cache.
    pub service_auth: crate::service_auth::ServiceAuth,
    /// The client that forwards proxied XRPC calls.
    pub proxy: crate::proxy::Proxy,
}

/// What a handler knows about its request, besides the typed params and body.
#[derive(Clone)]
pub struct Ctx {
    pub headers: HeaderMap,
    /// The caller's address, for rate limits.
    pub remote: Option<std::net::SocketAddr>,
    /// Response headers a handler wants set (e.g. `Atproto-Repo-Rev`).
    pub response_headers: Arc<Mutex<Vec<(&'static str, String)>>>,
    /// The raw body of a JSON request, for what the typed input cannot say (putRecord's
    /// `swapRecord: null`, "must not exist", reads as absent there). `None` for other bodies.
    pub json_body: Option<axum::body::Bytes>,
    /// The request's method and path (with query), for DPoP proofs (`htm`, `htu`).
    pub method: axum::http::Method,
    pub path: String,
    /// The caller, once worked out: a DPoP proof may be checked only once (its `jti` is then
    /// spent), so every later question about the caller reads this.
    pub auth_memo: Arc<std::sync::OnceLock<Result<Option<crate::auth::Caller>, xrpc::XrpcError>>>,
}

impl Ctx {
    pub fn new(headers: HeaderMap, remote: Option<std::net::SocketAddr>) -> Ctx {
        Ctx {
            headers,
            remote,
            response_headers: Arc::new(Mutex::new(Vec::new())),
            json_body: None,
            method: axum::http::Method::GET,
            path: String::new(),
            auth_memo: Arc::default(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The bearer token of the `Authorization` header.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// Asks for a response header.
    pub fn set_response_header(&self, name: &'static str, value: String) {
        self.response_headers
            .lock()
            .expect("not poisoned")
            .push((name, value));
    }

    /// Sets `Atproto-Repo-Rev` (authenticated responses carry the caller's repo rev).
    pub fn set_repo_rev(&self, rev: &str) {
        self.set_response_header("atproto-repo-rev", rev.to_owned());
    }
}
