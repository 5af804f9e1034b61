//! The authorization server's endpoints: metadata, PAR, token, revocation, JWKS.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::oauth::{OAuthRequest, OAuthSession, OAuthStore, RefreshLookup};
use store::Store;

use super::client::{parse_form, ClientAuth, ClientMetadata};
use super::dpop::DpopError;
use super::jose::sha256_b64url;
use super::tokens::{self, AccessClaims, Confirmation};
use super::{OAuthError, SCOPES_SUPPORTED};
use crate::app::AppState;
use crate::auth::now_secs;

pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// Largest form body accepted at PAR, token and revocation.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The authorization request as PAR received it (kept as JSON with the request).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationParams {
    pub client_id: String,
    pub redirect_uri: String,
    /// True if the client named the redirect URI (then the token request must repeat it).
    pub redirect_uri_given: bool,
    pub state: String,
    pub scope: String,
    pub code_challenge: String,
    pub login_hint: Option<String>,
    pub response_mode: String,
    pub prompt: Option<String>,
    /// The `include:` scopes, resolved at PAR.
    #[serde(default)]
    pub permission_sets: Vec<ResolvedSet>,
}

/// A permission set as resolved for one `include:` scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResolvedSet {
    /// The `include:` scope itself.
    pub include: String,
    pub title: Option<String>,
    pub detail: Option<String>,
    /// What it grants.
    pub scopes: Vec<String>,
}

impl AuthorizationParams {
    /// The scope a token carries: the requested scope plus what its permission sets grant, so
    /// the resource server needs no resolution of its own.
    pub fn granted_scope(&self) -> String {
        let mut tokens: Vec<&str> = self.scope.split(' ').filter(|t| !t.is_empty()).collect();
        for set in &self.permission_sets {
            for scope in &set.scopes {
                if !tokens.contains(&scope.as_str()) {
                    tokens.push(scope);
                }
            }
        }
        tokens.join(" ")
    }
}

/// Resolves every `include:` of `scope`; a set that cannot be resolved fails the request (the
/// client asked for it by name, and granting less than it shows would surprise everyone).
async fn resolve_includes(state: &AppState, scope: &str) -> Result<Vec<ResolvedSet>, OAuthError> {
    let set: permission::ScopeSet = scope
        .parse()
        .map_err(|e| OAuthError::invalid_scope(format!("invalid scope: {e}")))?;
    let mut out = Vec::new();
    for include in set.includes() {
        let doc = state
            .oauth
            .permission_sets
            .resolve(state, &include.nsid)
            .await
            .map_err(|e| {
                OAuthError::invalid_scope(format!(
                    "the permission set {} could not be resolved: {e}",
                    include.nsid.as_str()
                ))
            })?;
        let expanded = permission::expand_permission_set(include, &doc)
            .map_err(|e| OAuthError::invalid_scope(format!("{}: {e}", include.nsid.as_str())))?;
        out.push(ResolvedSet {
            include: include.to_string(),
            title: expanded.title,
            detail: expanded.detail,
            scopes: expanded.scopes.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(out)
}

/// `/.well-known/oauth-protected-resource`
pub async fn protected_resource(State(state): State<Arc<AppState>>) -> Response {
    let issuer = &state.config.public_url;
    json_no_cache(json!({
        "resource": issuer,
        "authorization_servers": [issuer],
        "scopes_supported": [],
        "bearer_methods_supported": ["header"],
        "resource_documentation": "https://atproto.com",
    }))
}

/// `/.well-known/oauth-authorization-server`
pub async fn authorization_server(State(state): State<Arc<AppState>>) -> Response {
    let issuer = &state.config.public_url;
    json_no_cache(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "pushed_authorization_request_endpoint": format!("{issuer}/oauth/par"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "jwks_uri": format!("{issuer}/oauth/jwks"),
        "require_pushed_authorization_requests": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES256K"],
        "revocation_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "dpop_signing_alg_values_supported": ["ES256", "ES256K"],
        "scopes_supported": SCOPES_SUPPORTED,
        "subject_types_supported": ["public"],
        "authorization_response_iss_parameter_supported": true,
        "client_id_metadata_document_supported": true,
        "protected_resources": [issuer],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
    }))
}

/// `/oauth/jwks`: access tokens are MACed with a server secret, so there is no public key to
/// publish; the document exists because clients and the metadata expect it.
pub async fn jwks() -> Response {
    json_no_cache(json!({ "keys": [] }))
}

fn json_no_cache(value: serde_json::Value) -> Response {
    let mut response = Json(value).into_response();
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

fn outcome<T: IntoResponse>(state: &AppState, result: Result<T, OAuthError>) -> Response {
    let response = match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    crate::http::with_dpop_nonce(state, response)
}

/// Verifies the request's DPoP proof for `path`; returns the key thumbprint.
fn require_dpop(state: &AppState, headers: &HeaderMap, path: &str) -> Result<String, OAuthError> {
    let proof = headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OAuthError::invalid_dpop_proof("DPoP proof required"))?;
    let url = format!("{}{path}", state.config.public_url);
    match state
        .oauth
        .dpop
        .verify(proof, "POST", &url, None, now_secs())
    {
        Ok(p) => Ok(p.jkt),
        Err(DpopError::UseNonce) => Err(OAuthError::use_dpop_nonce()),
        Err(DpopError::Invalid(m)) => Err(OAuthError::invalid_dpop_proof(m)),
    }
}

async fn authenticate_client(
    state: &AppState,
    meta: &ClientMetadata,
    form: &HashMap<String, String>,
    endpoint: &str,
) -> Result<ClientAuth, OAuthError> {
    let issuer = state.config.public_url.clone();
    let endpoint_url = format!("{issuer}{endpoint}");
    let now = now_secs();
    let replay = |jti: &str, until: i64| state.oauth.fresh_assertion_jti(jti, until, now);
    state
        .oauth
        .clients
        .authenticate(
            meta,
            form,
            &[issuer.as_str(), endpoint_url.as_str()],
            &replay,
            now,
        )
        .await
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    form.get(name).map(String::as_str).filter(|v| !v.is_empty())
}

/// PKCE code challenges and verifiers: 43–128 unreserved characters (RFC 7636 §4.1).
fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `POST /oauth/par`
pub async fn par(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let result = par_inner(&state, &headers, &body).await;
    outcome(&state, result.map(|r| (StatusCode::CREATED, Json(r))))
}

async fn par_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, OAuthError> {
    let form = parse_form(body)?;
    let jkt = require_dpop(state, headers, "/oauth/par")?;
    let client_id = field(&form, "client_id")
        .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    let meta = state.oauth.clients.get(client_id, now_secs()).await?;
    let client_auth = authenticate_client(state, &meta, &form, "/oauth/par").await?;
    if form.contains_key("request") {
        return Err(OAuthError::invalid_request(
            "request objects are not supported",
        ));
    }
    if field(&form, "response_type") != Some("code") {
        return Err(OAuthError {
            status: 400,
            error: "unsupported_response_type",
            description: "response_type must be code".into(),
        });
    }
    match field(&form, "code_challenge_method") {
        Some("S256") => {}
        Some("plain") => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method plain is not allowed; use S256",
            ))
        }
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "unsupported code_challenge_method",
            ))
        }
        None => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method S256 is required",
            ))
        }
    }
    let code_challenge = field(&form, "code_challenge")
        .filter(|c| is_pkce_value(c))
        .ok_or_else(|| OAuthError::invalid_request("a valid code_challenge is required"))?;
    let oauth_state = field(&form, "state")
        .filter(|s| s.len() <= 1024)
        .ok_or_else(|| OAuthError::invalid_request("state is required"))?;
    let requested_redirect = field(&form, "redirect_uri");
    let redirect_uri = meta.redirect_uri(requested_redirect)?;
    if let Some(dpop_jkt) = field(&form, "dpop_jkt") {
        if dpop_jkt != jkt {
            return Err(OAuthError::invalid_dpop_proof(
                "dpop_jkt does not match the DPoP proof",
            ));
        }
    }
    let scope = field(&form, "scope")
        .or(meta.scope.as_deref())
        .unwrap_or("atproto")
        .to_owned();
    check_scope(&scope, &meta)?;
    let permission_sets = resolve_includes(state, &scope).await?;
    let response_mode = match field(&form, "response_mode") {
        None | Some("query") => "query",
        Some("fragment") => "fragment",
        Some(_) => {
            return Err(OAuthError::invalid_request(
                "response_mode must be query or fragment",
            ))
        }
    };
    let login_hint = field(&form, "login_hint")
        .filter(|h| h.len() <= 512)
        .map(|h| h.trim().trim_start_matches('@').to_owned());
    let prompt = field(&form, "prompt").map(str::to_owned);
    if let Some(p) = &prompt {
        if !matches!(p.as_str(), "none" | "login" | "consent" | "select_account") {
            return Err(OAuthError::invalid_request("unsupported prompt value"));
        }
    }
    if state.store.code_challenge_seen(code_challenge).await? {
        return Err(OAuthError::invalid_request(
            "code_challenge was already used",
        ));
    }
    if state.store.state_seen(client_id, oauth_state).await? {
        return Err(OAuthError::invalid_request("state was already used"));
    }
    let params = AuthorizationParams {
        client_id: client_id.to_owned(),
        redirect_uri,
        redirect_uri_given: requested_redirect.is_some(),
        state: oauth_state.to_owned(),
        scope,
        code_challenge: code_challenge.to_owned(),
        login_hint,
        response_mode: response_mode.to_owned(),
        prompt,
        permission_sets,
    };
    let id = tokens::random_token("req");
    state
        .store
        .put_oauth_request(OAuthRequest {
            id: id.clone(),
            client_id: client_id.to_owned(),
            client_auth: serde_json::to_string(&client_auth).expect("json"),
            params: serde_json::to_string(&params).expect("json"),
            dpop_jkt: jkt,
            code_challenge: code_challenge.to_owned(),
            state: oauth_state.to_owned(),
            expires_at: now_secs() + tokens::REQUEST_TTL_SECS,
            did: None,
            device_id: None,
            code: None,
            code_used: false,
        })
        .await?;
    Ok(json!({
        "request_uri": format!("{REQUEST_URI_PREFIX}{id}"),
        "expires_in": tokens::REQUEST_TTL_SECS,
    }))
}

/// The requested scope must parse, include `atproto`, and be within what the client declared.
fn check_scope(scope: &str, meta: &ClientMetadata) -> Result<(), OAuthError> {
    let requested: permission::ScopeSet = scope
        .parse()
        .map_err(|e| OAuthError::invalid_scope(format!("invalid scope: {e}")))?;
    if !requested.has_atproto() {
        return Err(OAuthError::invalid_scope("the atproto scope is required"));
    }
    let declared: permission::ScopeSet = meta
        .scope
        .as_deref()
        .unwrap_or("atproto")
        .parse()
        .map_err(|e| OAuthError::invalid_client_metadata(format!("invalid scope: {e}")))?;
    if !requested.is_subset_of(&declared) {
        return Err(OAuthError::invalid_scope(
            "scope must be a subset of the scope declared in the client metadata",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
    sub: String,
}

/// `POST /oauth/token`
pub async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = token_inner(&state, &headers, &body).await;
    outcome(&state, result.map(Json))
}

async fn token_inner(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let form = parse_form(body)?;
    let jkt = require_dpop(state, headers, "/oauth/token")?;
    let client_id = field(&form, "client_id")
        .ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
    let meta = state.oauth.clients.get(client_id, now_secs()).await?;
    let client_auth = authenticate_client(state, &meta, &form, "/oauth/token").await?;
    match field(&form, "grant_type") {
        Some("authorization_code") => exchange_code(state, &form, &meta, client_auth, jkt).await,
        Some("refresh_token") => {
            if !meta.allows_refresh() {
                return Err(OAuthError::unsupported_grant_type(
                    "this client did not declare the refresh_token grant",
                ));
            }
            refresh(state, &form, client_auth, jkt).await
        }
        Some(_) => Err(OAuthError::unsupported_grant_type("unsupported grant_type")),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    }
}

async fn exchange_code(
    state: &AppState,
    form: &HashMap<String, String>,
    meta: &ClientMetadata,
    client_auth: ClientAuth,
    jkt: String,
) -> Result<TokenResponse, OAuthError> {
    let now = now_secs();
    let code =
        field(form, "code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let verifier = field(form, "code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required"))?;
    let request = state
        .store
        .oauth_request_by_code(code)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("invalid code"))?;
    // A code presented twice: the first exchange may have been an attacker's, so everything it
    // produced goes (RFC 6749 §4.1.2, OAuth spec "PKCE").
    if request.code_used || !state.store.use_oauth_code(code).await? {
        state.store.delete_oauth_sessions_by_code(code).await?;
        return Err(OAuthError::invalid_grant("code was already used"));
    }
    if request.client_id != meta.client_id {
        return Err(OAuthError::invalid_grant(
            "code was issued to another client",
        ));
    }
    if request.expires_at < now {
        return Err(OAuthError::invalid_grant("code has expired"));
    }
    let params: AuthorizationParams = serde_json::from_str(&request.params)
        .map_err(|_| OAuthError::server_error("stored request is unreadable"))?;
    match field(form, "redirect_uri") {
        Some(uri) if uri != params.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ))
        }
        None if params.redirect_uri_given => {
            return Err(OAuthError::invalid_request("redirect_uri is required"))
        }
        _ => {}
    }
    if !is_pkce_value(verifier) || sha256_b64url(verifier) != params.code_challenge {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    if jkt != request.dpop_jkt {
        return Err(OAuthError::invalid_dpop_proof(
            "DPoP key differs from the one used for the authorization request",
        ));
    }
    let stored_auth: ClientAuth = serde_json::from_str(&request.client_auth)
        .map_err(|_| OAuthError::server_error("stored request is unreadable"))?;
    if stored_auth != client_auth {
        return Err(OAuthError::invalid_grant(
            "client authentication differs from the authorization request's",
        ));
    }
    let did = request
        .did
        .clone()
        .ok_or_else(|| OAuthError::invalid_grant("code was not issued"))?;
    ensure_account_usable(state, &did).await?;
    let confidential = matches!(client_auth, ClientAuth::PrivateKeyJwt { .. });
    let (refresh_ttl, session_end) = if confidential {
        (tokens::CONFIDENTIAL_REFRESH_TTL_SECS, None)
    } else {
        (
            tokens::PUBLIC_REFRESH_TTL_SECS,
            Some(now + tokens::PUBLIC_SESSION_TTL_SECS),
        )
    };
    let session = OAuthSession {
        id: tokens::random_token("ses"),
        did: did.clone(),
        client_id: meta.client_id.clone(),
        client_auth: request.client_auth.clone(),
        dpop_jkt: jkt,
        scope: params.granted_scope(),
        device_id: request.device_id.clone(),
        code: Some(code.to_owned()),
        refresh_token: tokens::random_token("ref"),
        refresh_expires_at: session_end.map_or(now + refresh_ttl, |end| end.min(now + refresh_ttl)),
        created_at: now,
        updated_at: now,
        expires_at: session_end,
    };
    state.store.create_oauth_session(session.clone()).await?;
    Ok(token_response(state, &session, meta.allows_refresh(), now))
}

async fn refresh(
    state: &AppState,
    form: &HashMap<String, String>,
    client_auth: ClientAuth,
    jkt: String,
) -> Result<TokenResponse, OAuthError> {
    let now = now_secs();
    let presented = field(form, "refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let session = match state.store.oauth_session_by_refresh(presented).await? {
        RefreshLookup::Current(s) => *s,
        RefreshLookup::Used { session_id } => {
            // A replayed refresh token means two parties hold the session: end it.
            state.store.delete_oauth_session(&session_id).await?;
            return Err(OAuthError::invalid_grant(
                "refresh token was already used; the session is revoked",
            ));
        }
        RefreshLookup::Unknown => return Err(OAuthError::invalid_grant("invalid refresh token")),
    };
    if field(form, "client_id") != Some(session.client_id.as_str()) {
        return Err(OAuthError::invalid_grant(
            "refresh token was issued to another client",
        ));
    }
    if session.dpop_jkt != jkt {
        return Err(OAuthError::invalid_grant(
            "DPoP key differs from the one the session is bound to",
        ));
    }
    let stored_auth: ClientAuth = serde_json::from_str(&session.client_auth)
        .map_err(|_| OAuthError::server_error("stored session is unreadable"))?;
    if stored_auth != client_auth {
        return Err(OAuthError::invalid_grant(
            "client authentication differs from the session's (was the key removed?)",
        ));
    }
    if session.refresh_expires_at < now || session.expires_at.is_some_and(|e| e < now) {
        state.store.delete_oauth_session(&session.id).await?;
        return Err(OAuthError::invalid_grant("refresh token has expired"));
    }
    ensure_account_usable(state, &session.did).await?;
    let confidential = matches!(client_auth, ClientAuth::PrivateKeyJwt { .. });
    let ttl = if confidential {
        tokens::CONFIDENTIAL_REFRESH_TTL_SECS
    } else {
        tokens::PUBLIC_REFRESH_TTL_SECS
    };
    let refresh_expires_at = session
        .expires_at
        .map_or(now + ttl, |end| end.min(now + ttl));
    let next = tokens::random_token("ref");
    if !state
        .store
        .rotate_oauth_refresh(&session.id, presented, &next, refresh_expires_at, now)
        .await?
    {
        return Err(OAuthError::invalid_grant("refresh token was already used"));
    }
    let session = OAuthSession {
        refresh_token: next,
        refresh_expires_at,
        updated_at: now,
        ..session
    };
    Ok(token_response(state, &session, true, now))
}

async fn ensure_account_usable(state: &AppState, did: &str) -> Result<(), OAuthError> {
    let account = state
        .store
        .account_by_did(did)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the account no longer exists"))?;
    match account.status {
        store::AccountStatus::Takendown => {
            Err(OAuthError::invalid_grant("the account is taken down"))
        }
        store::AccountStatus::Deleted => {
            Err(OAuthError::invalid_grant("the account no longer exists"))
        }
        _ => Ok(()),
    }
}

fn token_response(
    state: &AppState,
    session: &OAuthSession,
    with_refresh: bool,
    now: i64,
) -> TokenResponse {
    let access_token = tokens::sign_access_token(
        &state.secrets.jwt_secret,
        &AccessClaims {
            iss: state.config.public_url.clone(),
            aud: state.config.service_did.clone(),
            sub: session.did.clone(),
            scope: session.scope.clone(),
            client_id: session.client_id.clone(),
            cnf: Confirmation {
                jkt: session.dpop_jkt.clone(),
            },
            jti: session.id.clone(),
            iat: now,
            exp: now + tokens::ACCESS_TTL_SECS,
        },
    );
    TokenResponse {
        access_token,
        token_type: "DPoP",
        expires_in: tokens::ACCESS_TTL_SECS,
        refresh_token: with_refresh.then(|| session.refresh_token.clone()),
        scope: session.scope.clone(),
        sub: session.did.clone(),
    }
}

/// `POST /oauth/revoke` (RFC 7009): answers 200 for any well-formed request, so it tells
/// nobody whether a token existed.
pub async fn revoke(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let result = async {
        let form = parse_form(&body)?;
        let token = field(&form, "token")
            .ok_or_else(|| OAuthError::invalid_request("token is required"))?;
        if let RefreshLookup::Current(s) = state.store.oauth_session_by_refresh(token).await? {
            state.store.delete_oauth_session(&s.id).await?;
        } else if let Ok(claims) = tokens::verify_access_token(
            &state.secrets.jwt_secret,
            token,
            &state.config.service_did,
            now_secs(),
        ) {
            state.store.delete_oauth_session(&claims.jti).await?;
        }
        Ok(Json(json!({})))
    }
    .await;
    outcome(&state, result)
}
