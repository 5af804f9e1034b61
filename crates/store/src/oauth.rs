//! What the OAuth authorization server keeps: pending authorization requests (from PAR to the
//! code exchange), sessions (one per grant, with the current refresh token), the refresh tokens
//! already used (to detect a replayed one), and browser devices with the accounts signed in on
//! them (the authorization pages' cookie sessions).
//!
//! Times are Unix seconds. JSON columns (`params`, `client_auth`) are the relay's business; the
//! store keeps them as text.

use std::future::Future;

use crate::Result;

/// An authorization request, from PAR until its code is exchanged (kept a day after, so a reused
/// code or a reused PKCE challenge is recognised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthRequest {
    /// The `request_uri` suffix (random).
    pub id: String,
    pub client_id: String,
    /// How the client authenticated at PAR (JSON), to check the same method at the token endpoint.
    pub client_auth: String,
    /// The authorization request parameters (JSON).
    pub params: String,
    /// RFC 7638 thumbprint of the DPoP key used at PAR.
    pub dpop_jkt: String,
    pub code_challenge: String,
    /// The client's `state`, to refuse its reuse.
    pub state: String,
    pub expires_at: i64,
    /// Set once the user approved: who, on which device, and the code handed to the client.
    pub did: Option<String>,
    pub device_id: Option<String>,
    pub code: Option<String>,
    /// True once the code was exchanged.
    pub code_used: bool,
}

/// An OAuth session: one grant of one account to one client on one DPoP key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthSession {
    /// Stable for the session's life; the access tokens' `jti`.
    pub id: String,
    pub did: String,
    pub client_id: String,
    pub client_auth: String,
    pub dpop_jkt: String,
    pub scope: String,
    pub device_id: Option<String>,
    /// The code the session came from, to revoke it if that code is presented again.
    pub code: Option<String>,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// The end of the whole session, whatever the refreshes (`None`: no limit).
    pub expires_at: Option<i64>,
}

/// What a refresh token names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefreshLookup {
    Current(Box<OAuthSession>),
    /// Already exchanged for a newer one: a replay (or a stolen token). Names the session.
    Used {
        session_id: String,
    },
    Unknown,
}

/// A browser that signed in on the authorization pages (a cookie holds its id and secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthDevice {
    pub id: String,
    /// SHA-256 of the cookie secret, hex.
    pub secret_hash: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// The OAuth state of a store. Writes are durable when they return.
pub trait OAuthStore: Send + Sync {
    fn put_oauth_request(&self, request: OAuthRequest) -> impl Future<Output = Result<()>> + Send;
    fn oauth_request(&self, id: &str) -> impl Future<Output = Result<Option<OAuthRequest>>> + Send;
    /// The request that was handed `code`, used or not.
    fn oauth_request_by_code(
        &self,
        code: &str,
    ) -> impl Future<Output = Result<Option<OAuthRequest>>> + Send;
    /// True if a request (pending or exchanged, not yet pruned) already used this PKCE challenge.
    fn code_challenge_seen(&self, challenge: &str) -> impl Future<Output = Result<bool>> + Send;
    /// True if a request of `client_id` (not yet pruned) already used this `state`.
    fn state_seen(&self, client_id: &str, state: &str)
        -> impl Future<Output = Result<bool>> + Send;
    /// Records the user's approval: the account, the device and the code (valid until
    /// `code_expires_at`). False if the request is gone or was approved already.
    fn approve_oauth_request(
        &self,
        id: &str,
        did: &str,
        device_id: Option<&str>,
        code: &str,
        code_expires_at: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Marks the request's code exchanged; false if it already was (a reused code).
    fn use_oauth_code(&self, code: &str) -> impl Future<Output = Result<bool>> + Send;
    fn delete_oauth_request(&self, id: &str) -> impl Future<Output = Result<()>> + Send;

    fn create_oauth_session(
        &self,
        session: OAuthSession,
    ) -> impl Future<Output = Result<()>> + Send;
    fn oauth_session(&self, id: &str) -> impl Future<Output = Result<Option<OAuthSession>>> + Send;
    fn oauth_session_by_refresh(
        &self,
        refresh_token: &str,
    ) -> impl Future<Output = Result<RefreshLookup>> + Send;
    /// Replaces the session's refresh token if it is still `old` (compare-and-swap, so two
    /// concurrent refreshes cannot both win); the old token is remembered as used.
    fn rotate_oauth_refresh(
        &self,
        session_id: &str,
        old: &str,
        new: &str,
        refresh_expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    fn delete_oauth_session(&self, id: &str) -> impl Future<Output = Result<()>> + Send;
    fn delete_oauth_sessions_by_code(&self, code: &str) -> impl Future<Output = Result<()>> + Send;
    fn delete_oauth_sessions_for(&self, did: &str) -> impl Future<Output = Result<()>> + Send;
    fn list_oauth_sessions(
        &self,
        did: &str,
    ) -> impl Future<Output = Result<Vec<OAuthSession>>> + Send;

    fn put_oauth_device(&self, device: OAuthDevice) -> impl Future<Output = Result<()>> + Send;
    fn oauth_device(&self, id: &str) -> impl Future<Output = Result<Option<OAuthDevice>>> + Send;
    /// Signs `did` in on the device (or refreshes when it last authenticated).
    fn add_device_account(
        &self,
        device_id: &str,
        did: &str,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    fn remove_device_account(
        &self,
        device_id: &str,
        did: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The accounts signed in on the device, most recent first, with when they authenticated.
    fn device_accounts(
        &self,
        device_id: &str,
    ) -> impl Future<Output = Result<Vec<(String, i64)>>> + Send;

    /// Drops requests that expired before `requests_before`, sessions past their end or their
    /// refresh token's, and devices unseen since `devices_before`. Returns how many rows went.
    fn prune_oauth(
        &self,
        now: i64,
        requests_before: i64,
        devices_before: i64,
    ) -> impl Future<Output = Result<u64>> + Send;
}
