//! Who is calling: legacy session JWTs (access `at+jwt`, refresh `refresh+jwt`, HS256), app
//! passwords, and the admin password. OAuth (DPoP-bound tokens) and inter-service JWTs join here
//! later.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};

/// Access tokens live 2 hours, refresh tokens 90 days (the reference PDS's lifetimes).
pub const ACCESS_TTL_SECS: i64 = 2 * 60 * 60;
pub const REFRESH_TTL_SECS: i64 = 90 * 24 * 60 * 60;
/// After a refresh, the old refresh token still works this long (a client that lost the
/// response can retry).
pub const REFRESH_GRACE_SECS: i64 = 2 * 60 * 60;

/// The `scope` claim of a session token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A full session (password login).
    Access,
    /// An app-password session.
    AppPass,
    /// An app-password session with privileged access (DMs).
    AppPassPrivileged,
    Refresh,
    /// An OAuth access token: what it may do is in [`Caller::oauth`].
    OAuth,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Access => "com.atproto.access",
            Scope::AppPass => "com.atproto.appPass",
            Scope::AppPassPrivileged => "com.atproto.appPassPrivileged",
            Scope::Refresh => "com.atproto.refresh",
            Scope::OAuth => "oauth",
        }
    }

    fn parse(s: &str) -> Option<Scope> {
        [
            Scope::Access,
            Scope::AppPass,
            Scope::AppPassPrivileged,
            Scope::Refresh,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Claims {
    pub scope: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jti: Option<String>,
}

/// Which sessions a method accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Any session, app passwords included.
    Standard,
    /// Full sessions and privileged app passwords.
    Privileged,
    /// Full (password) sessions only: deleting the account, managing credentials.
    Full,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub did: String,
    pub scope: Scope,
    /// For OAuth callers: the grant (session, client, scopes).
    pub oauth: Option<std::sync::Arc<OAuthGrant>>,
}

/// What an OAuth access token grants.
#[derive(Debug)]
pub struct OAuthGrant {
    pub session_id: String,
    pub client_id: String,
    pub scopes: permission::ScopeSet,
}

impl Caller {
    pub fn is_app_password(&self) -> bool {
        matches!(self.scope, Scope::AppPass | Scope::AppPassPrivileged)
    }

    /// A legacy session (password or app password).
    pub fn legacy(did: String, scope: Scope) -> Caller {
        Caller {
            did,
            scope,
            oauth: None,
        }
    }

    /// Refuses the call unless the caller may write records of `collection` (`action`).
    pub fn require_repo(
        &self,
        collection: &str,
        action: permission::RepoAction,
    ) -> Result<(), XrpcError> {
        match &self.oauth {
            Some(g) if !g.scopes.allows_repo(collection, action) => Err(scope_missing(&format!(
                "repo:{collection}?action={}",
                action.as_str()
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses the call unless the caller may upload a blob of type `mime`.
    pub fn require_blob(&self, mime: &str) -> Result<(), XrpcError> {
        match &self.oauth {
            Some(g) if !g.scopes.allows_blob(mime) => Err(scope_missing(&format!("blob:{mime}"))),
            _ => Ok(()),
        }
    }

    /// Refuses the call unless the caller may read or manage the account attribute.
    pub fn require_account(
        &self,
        attr: permission::AccountAttr,
        action: permission::AccountAction,
    ) -> Result<(), XrpcError> {
        match &self.oauth {
            Some(g) if !g.scopes.allows_account(attr, action) => Err(scope_missing(&format!(
                "account:{}?action={}",
                attr.as_str(),
                action.as_str()
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses the call unless the caller may change the identity attribute.
    pub fn require_identity(&self, attr: permission::IdentityAttr) -> Result<(), XrpcError> {
        match &self.oauth {
            Some(g) if !g.scopes.allows_identity(attr) => {
                Err(scope_missing(&format!("identity:{}", attr.as_str())))
            }
            _ => Ok(()),
        }
    }

    /// Does the caller see the account's email (getSession)?
    pub fn sees_email(&self) -> bool {
        match &self.oauth {
            Some(g) => g.scopes.allows_account(
                permission::AccountAttr::Email,
                permission::AccountAction::Read,
            ),
            None => true,
        }
    }
    /// Whether this session may have the PDS call `lxm` on the service `aud` (`did#service`)
    /// on its behalf: proxied calls (`crate::proxy`) and service tokens. Account management
    /// (the reference's protected methods) is never reachable that way. App-password sessions
    /// without the privileged flag may not reach DMs (all of `chat.bsky.*`, as the
    /// `transition:chat.bsky` OAuth scope draws the line) nor the reference's other privileged
    /// methods (account creation). `aud` matters only to OAuth `rpc:` scopes.
    pub fn allows_rpc(&self, lxm: &str, aud: &str) -> bool {
        if crate::api::server::is_protected_method(lxm) {
            return false;
        }
        if let Some(grant) = &self.oauth {
            return grant.scopes.allows_rpc(lxm, aud);
        }
        let privileged_only = crate::api::server::is_privileged_method(lxm)
            || lxm
                .get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case("chat.bsky."));
        match self.scope {
            Scope::Access | Scope::AppPassPrivileged => true,
            Scope::AppPass => !privileged_only,
            Scope::Refresh | Scope::OAuth => false,
        }
    }
}

/// 403 for an OAuth token whose scope does not cover the call.
pub fn scope_missing(scope: &str) -> XrpcError {
    XrpcError::new(
        403,
        "ScopeMissingError",
        format!("Missing required scope \"{scope}\""),
    )
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Signs `claims` as an HS256 JWT of type `typ`.
pub fn sign_jwt(secret: &[u8], typ: &str, claims: &Claims) -> String {
    let header = serde_json::json!({ "typ": typ, "alg": "HS256" });
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("json"));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json")));
    let sig = hmac_sha256(secret, token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig));
    token
}

pub(crate) fn hmac_sha256(secret: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Checks an HMAC-SHA256 tag in constant time.
pub(crate) fn hmac_verify(secret: &[u8], msg: &[u8], tag: &[u8]) -> bool {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(msg);
    mac.verify_slice(tag).is_ok()
}

/// Verifies an HS256 JWT of type `typ` and returns its claims. Checks the signature (in constant
/// time), the type, the expiry and the audience.
pub fn verify_jwt(secret: &[u8], typ: &str, aud: &str, token: &str) -> Result<Claims, XrpcError> {
    let bad = || XrpcError::invalid_token("Token could not be verified");
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(XrpcError::invalid_token("Token is not a JWT"));
    };
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    mac.verify_slice(&sig).map_err(|_| bad())?;
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| bad())?)
            .map_err(|_| bad())?;
    if header["alg"] != "HS256" {
        return Err(bad());
    }
    if header["typ"] != typ {
        return Err(XrpcError::invalid_token("Invalid token type"));
    }
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| bad())?)
        .map_err(|_| bad())?;
    if claims.exp <= now_secs() {
        return Err(XrpcError::expired_token("Token has expired"));
    }
    if claims.aud != aud {
        return Err(XrpcError::invalid_token("Token audience does not match"));
    }
    Ok(claims)
}

/// A fresh random id (for refresh-token `jti`s and the like).
pub fn random_id() -> String {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How many argon2 computations this process has run: a failed login must cost the same work
/// whether or not the identifier exists (otherwise its time tells which emails are registered),
/// and this makes that checkable without timing anything.
static ARGON2_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn argon2_runs() -> u64 {
    ARGON2_RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn count_argon2_run() {
    ARGON2_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Hashes a password (argon2id, salted) into a PHC string.
pub fn hash_password(password: &str) -> String {
    count_argon2_run();
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the OS random source is available");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .map(|parsed| {
            count_argon2_run();
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl AppState {
    /// Issues an access and a refresh token for `did`; stores the refresh token.
    pub async fn create_session_tokens(
        &self,
        did: &str,
        scope: Scope,
        app_password_name: Option<String>,
    ) -> Result<(String, String), XrpcError> {
        let now = now_secs();
        let access = sign_jwt(
            &self.secrets.jwt_secret,
            "at+jwt",
            &Claims {
                scope: scope.as_str().to_owned(),
                sub: did.to_owned(),
                aud: self.config.service_did.clone(),
                iat: now,
                exp: now + ACCESS_TTL_SECS,
                jti: None,
            },
        );
        let jti = random_id();
        let refresh = sign_jwt(
            &self.secrets.jwt_secret,
            "refresh+jwt",
            &Claims {
                scope: Scope::Refresh.as_str().to_owned(),
                sub: did.to_owned(),
                aud: self.config.service_did.clone(),
                iat: now,
                exp: now + REFRESH_TTL_SECS,
                jti: Some(jti.clone()),
            },
        );
        use store::Store;
        self.store
            .put_refresh_token(store::RefreshToken {
                id: jti,
                did: did.to_owned(),
                app_password_name,
                expires_at: now + REFRESH_TTL_SECS,
                next_id: None,
            })
            .await
            .map_err(crate::error::store_error)?;
        Ok((access, refresh))
    }

    /// The caller behind an access token, if the request carries one; errors for a bad token.
    pub fn optional_caller(&self, ctx: &Ctx) -> Result<Option<Caller>, XrpcError> {
        ctx.auth_memo
            .get_or_init(|| self.work_out_caller(ctx))
            .clone()
    }

    fn work_out_caller(&self, ctx: &Ctx) -> Result<Option<Caller>, XrpcError> {
        if let Some(token) = ctx
            .header("authorization")
            .and_then(|h| h.strip_prefix("DPoP "))
        {
            return self.oauth_caller(ctx, token.trim()).map(Some);
        }
        let Some(token) = ctx.bearer() else {
            return Ok(None);
        };
        if crate::oauth::tokens::is_dpop_bound(token) {
            return Err(XrpcError::new(
                401,
                "InvalidToken",
                "This is a DPoP-bound OAuth token: send it with the DPoP authorization scheme and a DPoP proof, not as Bearer",
            ));
        }
        let claims = verify_jwt(
            &self.secrets.jwt_secret,
            "at+jwt",
            &self.config.service_did,
            token,
        )?;
        let scope = Scope::parse(&claims.scope)
            .filter(|s| *s != Scope::Refresh)
            .ok_or_else(|| XrpcError::invalid_token("Bad token scope"))?;
        Ok(Some(Caller::legacy(claims.sub, scope)))
    }

    /// The caller behind a DPoP-bound OAuth access token: the token (signature, audience,
    /// expiry), then the proof (key binding, method, URL, token hash, nonce, replay). A stale
    /// nonce answers 401 `use_dpop_nonce` with `WWW-Authenticate` (RFC 9449 §9); the response
    /// carries the fresh nonce either way (see `http.rs`).
    fn oauth_caller(&self, ctx: &Ctx, token: &str) -> Result<Caller, XrpcError> {
        use crate::oauth::dpop::DpopError;
        use crate::oauth::tokens::{verify_access_token, TokenError};
        let now = now_secs();
        let claims = verify_access_token(
            &self.secrets.jwt_secret,
            token,
            &self.config.service_did,
            now,
        )
        .map_err(|e| {
            let (error, message) = match e {
                TokenError::Expired => ("ExpiredToken", "Token has expired"),
                TokenError::Invalid => ("InvalidToken", "Token could not be verified"),
            };
            ctx.set_response_header(
                "www-authenticate",
                format!("DPoP error=\"invalid_token\", error_description=\"{message}\""),
            );
            XrpcError::new(401, error, message)
        })?;
        let proof = ctx
            .header("dpop")
            .ok_or_else(|| XrpcError::invalid_token("DPoP proof required"))?;
        let url = format!("{}{}", self.config.public_url, ctx.path);
        let verified = self
            .oauth
            .dpop
            .verify(proof, ctx.method.as_str(), &url, Some(token), now)
            .map_err(|e| match e {
                DpopError::UseNonce => {
                    ctx.set_response_header(
                        "www-authenticate",
                        "DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce in DPoP proof\"".to_owned(),
                    );
                    XrpcError::new(401, "use_dpop_nonce", "Resource server requires nonce in DPoP proof")
                }
                DpopError::Invalid(m) => {
                    ctx.set_response_header(
                        "www-authenticate",
                        "DPoP error=\"invalid_dpop_proof\"".to_owned(),
                    );
                    XrpcError::new(401, "invalid_dpop_proof", m)
                }
            })?;
        if verified.jkt != claims.cnf.jkt {
            ctx.set_response_header(
                "www-authenticate",
                "DPoP error=\"invalid_token\", error_description=\"DPoP proof key does not match the token's binding\"".to_owned(),
            );
            return Err(XrpcError::new(
                401,
                "InvalidToken",
                "DPoP proof key does not match the token's binding",
            ));
        }
        let scopes: permission::ScopeSet = claims
            .scope
            .parse()
            .map_err(|_| XrpcError::invalid_token("Bad token scope"))?;
        if !scopes.has_atproto() {
            return Err(XrpcError::invalid_token("Token lacks the atproto scope"));
        }
        Ok(Caller {
            did: claims.sub,
            scope: Scope::OAuth,
            oauth: Some(std::sync::Arc::new(OAuthGrant {
                session_id: claims.jti,
                client_id: claims.client_id,
                scopes,
            })),
        })
    }

    /// The caller, who must have a session of at least `access`, and whose account must not be
    /// taken down or deleted.
    pub async fn caller(&self, ctx: &Ctx, access: Access) -> Result<Caller, XrpcError> {
        // Credentials of another kind (admin Basic) on a session method: the reference's 400.
        if let Some(header) = ctx.header("authorization") {
            if !header.starts_with("Bearer ") && !header.starts_with("DPoP ") {
                return Err(XrpcError::invalid_token("Unexpected authorization type"));
            }
        }
        // The reference names a missing credential `AuthMissing` (401).
        let caller = self
            .optional_caller(ctx)?
            .ok_or_else(|| XrpcError::new(401, "AuthMissing", "Authentication Required"))?;
        match (access, caller.scope) {
            (Access::Full, Scope::AppPass | Scope::AppPassPrivileged)
            | (Access::Privileged, Scope::AppPass) => {
                return Err(XrpcError::invalid_token("Bad token scope"));
            }
            // Deleting the account, app passwords and the like are for the user's own password
            // sessions, never for an app.
            (Access::Full, Scope::OAuth) => {
                return Err(XrpcError::new(
                    403,
                    "ScopeMissingError",
                    "This method is not available to OAuth clients",
                ));
            }
            (Access::Privileged, Scope::OAuth) => {
                let ok = caller.oauth.as_ref().is_some_and(|g| {
                    g.scopes.has_transition_chat_bsky() && g.scopes.has_transition_generic()
                });
                if !ok {
                    return Err(scope_missing("transition:chat.bsky"));
                }
            }
            _ => {}
        }
        use store::Store;
        if let Some(grant) = &caller.oauth {
            use store::oauth::OAuthStore;
            // Revoked sessions end at once, not when the access token expires.
            let live = self
                .store
                .oauth_session(&grant.session_id)
                .await
                .map_err(crate::error::store_error)?
                .is_some_and(|s| s.did == caller.did);
            if !live {
                ctx.set_response_header(
                    "www-authenticate",
                    "DPoP error=\"invalid_token\", error_description=\"Token has been revoked\""
                        .to_owned(),
                );
                return Err(XrpcError::new(
                    401,
                    "InvalidToken",
                    "Token has been revoked",
                ));
            }
        }
        let account = self
            .store
            .account_by_did(&caller.did)
            .await
            .map_err(crate::error::store_error)?
            .ok_or_else(|| XrpcError::invalid_token("Account not found"))?;
        match account.status {
            store::AccountStatus::Takendown => Err(XrpcError::new(
                401,
                "AccountTakedown",
                "Account has been taken down",
            )),
            store::AccountStatus::Deleted => Err(XrpcError::invalid_token("Account not found")),
            _ => Ok(caller),
        }
    }

    /// The refresh token's claims, for refreshSession / deleteSession.
    pub fn refresh_claims(&self, ctx: &Ctx) -> Result<Claims, XrpcError> {
        let token = ctx
            .bearer()
            .ok_or_else(|| XrpcError::authentication_required("Authentication Required"))?;
        let claims = verify_jwt(
            &self.secrets.jwt_secret,
            "refresh+jwt",
            &self.config.service_did,
            token,
        )?;
        if claims.scope != Scope::Refresh.as_str() || claims.jti.is_none() {
            return Err(XrpcError::invalid_token("Bad token scope"));
        }
        Ok(claims)
    }

    /// Checks HTTP basic auth `admin:<PDS_ADMIN_PASSWORD>`.
    pub fn require_admin(&self, ctx: &Ctx) -> Result<(), XrpcError> {
        let header = ctx
            .header("authorization")
            .ok_or_else(|| XrpcError::authentication_required("Authentication Required"))?;
        let ok = header
            .strip_prefix("Basic ")
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| u == "admin" && constant_time_eq(p, &self.secrets.admin_password))
            })
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(XrpcError::authentication_required(
                "Invalid admin credentials",
            ))
        }
    }
}

/// Compares two byte strings in time independent of where they differ (their lengths may
/// show): rate-limit bypass keys, app-password hashes, CSRF tokens, email codes.
pub(crate) fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Compares two secrets in time independent of where they differ and of their lengths
/// (comparing fixed-size digests, so the length of the stored secret does not leak either).
fn constant_time_eq(a: &str, b: &str) -> bool {
    use sha2::Digest;
    bytes_equal(&Sha256::digest(a.as_bytes()), &Sha256::digest(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_round_trip_and_rejections() {
        let claims = Claims {
            scope: "com.atproto.access".into(),
            sub: "did:plc:abc".into(),
            aud: "did:web:localhost".into(),
            iat: now_secs(),
            exp: now_secs() + 60,
            jti: None,
        };
        let token = sign_jwt(b"secret", "at+jwt", &claims);
        let back = verify_jwt(b"secret", "at+jwt", "did:web:localhost", &token).unwrap();
        assert_eq!(back.sub, "did:plc:abc");
        assert_eq!(
            verify_jwt(b"other", "at+jwt", "did:web:localhost", &token)
                .unwrap_err()
                .error,
            "InvalidToken"
        );
        assert!(verify_jwt(b"secret", "refresh+jwt", "did:web:localhost", &token).is_err());
        assert!(verify_jwt(b"secret", "at+jwt", "did:web:other", &token).is_err());
        let expired = sign_jwt(
            b"secret",
            "at+jwt",
            &Claims {
                exp: now_secs() - 1,
                ..claims
            },
        );
        assert_eq!(
            verify_jwt(b"secret", "at+jwt", "did:web:localhost", &expired)
                .unwrap_err()
                .error,
            "ExpiredToken"
        );
    }

    #[test]
    fn rpc_rules_of_legacy_sessions() {
        let caller = |scope| Caller::legacy("did:plc:abc".into(), scope);
        let aud = "did:web:api.bsky.chat#bsky_chat";
        let full = caller(Scope::Access);
        let app = caller(Scope::AppPass);
        let privileged = caller(Scope::AppPassPrivileged);
        assert!(full.allows_rpc("app.bsky.feed.getTimeline", aud));
        assert!(app.allows_rpc("app.bsky.feed.getTimeline", aud));
        assert!(full.allows_rpc("chat.bsky.convo.listConvos", aud));
        assert!(privileged.allows_rpc("chat.bsky.convo.listConvos", aud));
        // DMs need a privileged app password: the listed methods and the rest of chat.bsky.
        assert!(!app.allows_rpc("chat.bsky.convo.listConvos", aud));
        assert!(!app.allows_rpc("chat.bsky.convo.addReaction", aud));
        assert!(!app.allows_rpc("CHAT.BSKY.convo.sendMessage", aud));
        assert!(!app.allows_rpc("com.atproto.server.createAccount", aud));
        // Account management is never reached through the PDS, whatever the session.
        for session in [&full, &app, &privileged] {
            assert!(!session.allows_rpc("com.atproto.server.deactivateAccount", aud));
            assert!(!session.allows_rpc("com.atproto.identity.updateHandle", aud));
        }
        assert!(!caller(Scope::Refresh).allows_rpc("app.bsky.feed.getTimeline", aud));
    }

    #[test]
    fn passwords() {
        let hash = hash_password("hunter2");
        assert!(verify_password("hunter2", &hash));
        assert!(!verify_password("hunter3", &hash));
        assert!(!verify_password("hunter2", "garbage"));
    }
}
