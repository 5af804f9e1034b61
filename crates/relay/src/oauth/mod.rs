//! The OAuth authorization server (atproto OAuth profile) and the resource-server side of it.
//!
//! * [`server`]: metadata documents, PAR, token, revocation and JWKS endpoints;
//! * [`pages`]: the authorization interface (sign in, choose account, consent) and the session
//!   list, served as plain HTML forms (no JavaScript needed) with server-side 303 redirects;
//! * [`dpop`], [`jose`]: DPoP proofs, server nonces, JWKs;
//! * [`client`]: client metadata, redirect-URI rules and client authentication;
//! * [`tokens`]: access tokens (HS256 JWTs bound to the DPoP key, `cnf.jkt`) and their lifetimes.
//!
//! State lives in the store ([`store::oauth`]); nonces and replay caches are in memory.

pub mod client;
pub mod dpop;
pub mod jose;
pub mod pages;
pub mod permission_sets;
pub mod server;
pub mod tokens;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The scopes this server understands and grants (the permission scopes are open-ended; their
/// resources are listed as the spec suggests).
pub const SCOPES_SUPPORTED: &[&str] = &[
    "atproto",
    "transition:generic",
    "transition:chat.bsky",
    "transition:email",
    "repo",
    "rpc",
    "blob",
    "account",
    "identity",
    "include",
];

/// An OAuth protocol error (RFC 6749 §5.2 shape: `error`, `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
        }
    }
    pub fn invalid_request(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_client", d)
    }
    pub fn invalid_client_metadata(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_client_metadata", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_grant", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_scope", d)
    }
    pub fn invalid_dpop_proof(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "invalid_dpop_proof", d)
    }
    pub fn use_dpop_nonce() -> OAuthError {
        OAuthError::new(
            400,
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        )
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> OAuthError {
        OAuthError::new(400, "unsupported_grant_type", d)
    }
    pub fn server_error(d: impl Into<String>) -> OAuthError {
        OAuthError::new(500, "server_error", d)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (
            status,
            axum::Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("no-store"));
        response
    }
}

impl From<store::StoreError> for OAuthError {
    fn from(e: store::StoreError) -> OAuthError {
        OAuthError::server_error(format!("storage failure: {e}"))
    }
}

/// The authorization server's in-memory state.
pub struct OAuthState {
    pub dpop: dpop::Dpop,
    pub clients: client::Clients,
    pub permission_sets: permission_sets::PermissionSets,
    /// Client-assertion `jti`s already seen, until they could no longer be valid.
    assertion_jtis: crate::service_auth::ReplayCache,
}

impl OAuthState {
    pub fn new(dev_mode: bool) -> OAuthState {
        OAuthState {
            dpop: dpop::Dpop::new(),
            clients: client::Clients::new(dev_mode),
            permission_sets: Default::default(),
            assertion_jtis: Default::default(),
        }
    }

    /// Remembers a client assertion's `jti`; false if it was seen and could still be valid.
    pub fn fresh_assertion_jti(&self, jti: &str, keep_until: i64, now: i64) -> bool {
        self.assertion_jtis.first_use(jti, keep_until, now)
    }
}

/// How often expired OAuth rows (requests, sessions, idle devices) are dropped.
const PRUNE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Devices unseen this long are forgotten (their accounts must sign in again).
const DEVICE_IDLE_SECS: i64 = 365 * 24 * 60 * 60;

/// Drops expired OAuth state now and then. Used requests are kept a day past their expiry so a
/// replayed code or PKCE challenge is still recognised.
pub fn spawn_pruner(state: std::sync::Arc<crate::app::AppState>) -> tokio::task::JoinHandle<()> {
    use store::oauth::OAuthStore;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(PRUNE_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = crate::auth::now_secs();
            if let Err(e) = state
                .store
                .prune_oauth(
                    now,
                    now - tokens::USED_REQUEST_MEMORY_SECS,
                    now - DEVICE_IDLE_SECS,
                )
                .await
            {
                eprintln!("oauth pruning failed (retrying later): {e}");
            }
        }
    })
}
