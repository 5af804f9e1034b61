//! OAuth access tokens and lifetimes.
//!
//! An access token is an HS256 JWT (`typ` `at+jwt`, RFC 9068) signed with the server's JWT
//! secret, bound to the client's DPoP key by `cnf.jkt`. Its `jti` is the session id, so the
//! resource server can see at once whether the session was revoked (one indexed lookup), which
//! the spec asks of servers that give tokens more than 15 minutes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Access tokens live 15 minutes (the spec: under 30 minutes in all cases).
pub const ACCESS_TTL_SECS: i64 = 15 * 60;
/// A public client's refresh token is good for a day of inactivity, its session for a week
/// (the spec's limits for untrusted public clients).
pub const PUBLIC_REFRESH_TTL_SECS: i64 = 24 * 60 * 60;
pub const PUBLIC_SESSION_TTL_SECS: i64 = 7 * 24 * 60 * 60;
/// A confidential client's refresh token lasts 180 days; its session has no overall end.
pub const CONFIDENTIAL_REFRESH_TTL_SECS: i64 = 180 * 24 * 60 * 60;
/// PAR request URIs expire after 5 minutes; codes a minute after they are issued.
pub const REQUEST_TTL_SECS: i64 = 5 * 60;
pub const CODE_TTL_SECS: i64 = 60;
/// Used codes and PKCE challenges are remembered this long.
pub const USED_REQUEST_MEMORY_SECS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub scope: String,
    pub client_id: String,
    pub cnf: Confirmation,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

pub fn sign_access_token(secret: &[u8], claims: &AccessClaims) -> String {
    let header = serde_json::json!({ "typ": "at+jwt", "alg": "HS256" });
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("json"));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json")));
    let sig = crate::auth::hmac_sha256(secret, token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig));
    token
}

/// Why an access token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not one of our OAuth access tokens (bad signature, wrong type, malformed).
    Invalid,
    Expired,
}

/// Checks an access token's signature, type, audience and expiry.
pub fn verify_access_token(
    secret: &[u8],
    token: &str,
    aud: &str,
    now: i64,
) -> Result<AccessClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| TokenError::Invalid)?;
    if !crate::auth::hmac_verify(secret, format!("{h}.{p}").as_bytes(), &sig) {
        return Err(TokenError::Invalid);
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|_| TokenError::Invalid)?)
            .map_err(|_| TokenError::Invalid)?;
    if header["alg"] != "HS256" || header["typ"] != "at+jwt" {
        return Err(TokenError::Invalid);
    }
    let claims: AccessClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).map_err(|_| TokenError::Invalid)?)
            .map_err(|_| TokenError::Invalid)?;
    if claims.aud != aud {
        return Err(TokenError::Invalid);
    }
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

/// True if `token` looks like one of our DPoP-bound access tokens (a `cnf` claim), whatever its
/// validity: used to refuse such a token sent with the `Bearer` scheme with a clear message.
pub fn is_dpop_bound(token: &str) -> bool {
    token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok())
        .is_some_and(|c| c.get("cnf").is_some())
}

/// A random opaque token with a readable prefix (`ref-…`, `cod-…`, `req-…`).
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{prefix}-{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://pds.example".into(),
            aud: "did:web:pds.example".into(),
            sub: "did:plc:abc".into(),
            scope: "atproto".into(),
            client_id: "https://app.example/meta.json".into(),
            cnf: Confirmation { jkt: "x".into() },
            jti: "s1".into(),
            iat: 0,
            exp,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let t = sign_access_token(b"k", &claims(100));
        assert_eq!(
            verify_access_token(b"k", &t, "did:web:pds.example", 50)
                .unwrap()
                .jti,
            "s1"
        );
        assert_eq!(
            verify_access_token(b"other", &t, "did:web:pds.example", 50).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            verify_access_token(b"k", &t, "did:web:else", 50).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            verify_access_token(b"k", &t, "did:web:pds.example", 100).unwrap_err(),
            TokenError::Expired
        );
        assert!(is_dpop_bound(&t));
        assert!(!is_dpop_bound("a.e30.b"));
    }
}
