//! Verifying incoming inter-service auth tokens (XRPC spec, "Inter-Service Authentication";
//! PDS checklist §10): JWTs another service, or an account's own PDS, signed with the issuing
//! DID's `#atproto` key (`#atproto_label` for an `iss` of `did#atproto_labeler`).
//!
//! A token is accepted when, in this order (the reference PDS's order, so the same bad token
//! gets the same error name): it is a compact JWS with an `alg` header; its `typ` is not one of
//! the session or DPoP types; its payload has `iss`, `aud` and `exp`; it has not expired and
//! does not live longer than [`MAX_LIFETIME_SECS`]; `aud` is this service; `lxm` is the method
//! called (when the caller requires one); `iss` is a DID (optionally `#service`); the signature
//! (64-byte compact, low-S, ES256 or ES256K matching the key) verifies against the key in the
//! issuer's DID document, re-resolved once on failure in case the key was just rotated; and its
//! `jti` has not been seen before (kept until the token expires).
//!
//! Every refusal is a 401 with the reference's error name (`BadJwt`, `BadJwtType`,
//! `JwtExpired`, `BadJwtAudience`, `BadJwtLexiconMethod`, `BadJwtIss`, `BadJwtSignature`;
//! `AuthenticationRequired` when the issuer does not resolve). The reference keeps no replay
//! cache; a replayed `jti` is refused here as `BadJwt`.
//!
//! Where the reference PDS accepts service auth, and so where handlers call
//! [`verify_service_jwt`]:
//! - `com.atproto.server.createAccount` with an existing DID (account migration): optional
//!   service auth, `lxm` = `com.atproto.server.createAccount`, `aud` = this PDS; the account's
//!   DID is the token's bare `iss`.
//! - `com.atproto.repo.uploadBlob` (done: [`probe_caller`] before the body,
//!   `AppState::caller_or_service_did` in the handler): a Bearer token carrying `lxm` is taken
//!   as service auth (`lxm` = `com.atproto.repo.uploadBlob`) instead of a session.
//! - `com.atproto.admin.*` (the reference's "moderator" auth): service auth whose `iss` is the
//!   configured moderation service DID (or `did#atproto_labeler`), as an alternative to the
//!   admin password; the caller checks [`ServiceCaller::iss`] against that DID.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use crypto::{Algorithm, PublicKey};
use serde_json::Value as Json;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::did_docs::DidDocError;

/// The longest lifetime a token may have left: what `getServiceAuth` grants at most (an hour),
/// plus a minute of clock drift. Longer-lived tokens are refused, and no replay entry is kept
/// longer than this.
pub const MAX_LIFETIME_SECS: i64 = 60 * 60 + 60;
/// Replay entries kept at most; beyond this the ones expiring soonest are dropped first.
const MAX_REPLAY_ENTRIES: usize = 100_000;
/// The service id under which DID documents name a PDS; a token addressed to
/// `<our did>#atproto_pds` is addressed to us.
const OWN_SERVICE_ID: &str = "atproto_pds";

/// Who called, as an authenticated service token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCaller {
    /// The issuing DID, without any `#service` suffix (for a migration: the account's DID).
    pub did: String,
    /// The full `iss` claim (`did` or `did#service`).
    pub iss: String,
    /// The service id of `iss`, if it had one (`atproto_labeler`).
    pub service_id: Option<String>,
    pub aud: String,
    pub lxm: Option<String>,
    pub jti: String,
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceAuthError {
    #[error("poorly formatted jwt")]
    Malformed,
    #[error("Invalid jwt type \"{0}\"")]
    WrongType(String),
    #[error("jwt expired")]
    Expired,
    #[error("jwt lifetime is too long")]
    TooLongLived,
    #[error("jwt audience does not match service did")]
    WrongAudience,
    #[error("missing jwt lexicon method (\"lxm\"). must match: {0}")]
    MissingLxm(String),
    #[error("bad jwt lexicon method (\"lxm\"). must match: {0}")]
    WrongLxm(String),
    #[error("jwt iss is not a valid did")]
    BadIss,
    #[error("jwt has no jti")]
    MissingJti,
    #[error("could not resolve iss did")]
    Unresolvable,
    #[error("missing or bad key in did doc")]
    NoKey,
    #[error("jwt signature does not match jwt issuer")]
    BadSignature,
    #[error("jwt replayed: its jti was already used")]
    Replayed,
}

impl ServiceAuthError {
    /// The reference's error name for this refusal.
    pub fn name(&self) -> &'static str {
        use ServiceAuthError as E;
        match self {
            E::Malformed | E::TooLongLived | E::MissingJti | E::Replayed => "BadJwt",
            E::WrongType(_) => "BadJwtType",
            E::Expired => "JwtExpired",
            E::WrongAudience => "BadJwtAudience",
            E::MissingLxm(_) | E::WrongLxm(_) => "BadJwtLexiconMethod",
            E::BadIss => "BadJwtIss",
            E::Unresolvable | E::NoKey => "AuthenticationRequired",
            E::BadSignature => "BadJwtSignature",
        }
    }
}

impl From<ServiceAuthError> for XrpcError {
    fn from(e: ServiceAuthError) -> XrpcError {
        XrpcError::new(401, e.name(), e.to_string())
    }
}

/// A token split and decoded, not yet checked.
#[derive(Debug)]
struct Parsed<'t> {
    alg: String,
    signing_input: &'t str,
    signature: Vec<u8>,
    iss: String,
    aud: String,
    /// Seconds; the reference accepts any JSON number.
    exp: f64,
    lxm: Option<String>,
    jti: Option<String>,
}

fn parse(token: &str) -> Result<Parsed<'_>, ServiceAuthError> {
    use ServiceAuthError::Malformed;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed);
    };
    let json = |b64: &str| -> Result<Json, ServiceAuthError> {
        let bytes = URL_SAFE_NO_PAD.decode(b64).map_err(|_| Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| Malformed)
    };
    let header = json(h)?;
    let alg = header["alg"].as_str().ok_or(Malformed)?.to_owned();
    // Session tokens, refresh tokens and DPoP proofs are not service tokens, whatever they say.
    if let Some(typ @ ("at+jwt" | "refresh+jwt" | "dpop+jwt")) = header["typ"].as_str() {
        return Err(ServiceAuthError::WrongType(typ.to_owned()));
    }
    let payload = json(p)?;
    let text = |name: &str| payload[name].as_str().map(str::to_owned);
    let optional_text = |name: &str| match &payload[name] {
        Json::Null => Ok(None),
        Json::String(s) => Ok(Some(s.clone())),
        _ => Err(Malformed),
    };
    let parsed = Parsed {
        alg,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature: URL_SAFE_NO_PAD.decode(s).map_err(|_| Malformed)?,
        iss: text("iss").ok_or(Malformed)?,
        aud: text("aud").ok_or(Malformed)?,
        exp: payload["exp"].as_f64().ok_or(Malformed)?,
        lxm: optional_text("lxm")?,
        jti: optional_text("jti")?,
    };
    Ok(parsed)
}

/// Whether `aud` names this service: its DID, or its DID with the PDS's own service id.
fn audience_matches(aud: &str, expected: &str) -> bool {
    if aud == expected {
        return true;
    }
    if expected.contains('#') {
        return false;
    }
    aud.strip_prefix(expected)
        .and_then(|rest| rest.strip_prefix('#'))
        .is_some_and(|id| id == OWN_SERVICE_ID)
}

/// The claim checks that need no network, in the reference's order. `now` in seconds.
fn check_claims(
    token: &Parsed<'_>,
    now: f64,
    expected_aud: &str,
    lxm: Option<&str>,
) -> Result<(), ServiceAuthError> {
    if now > token.exp {
        return Err(ServiceAuthError::Expired);
    }
    if token.exp - now > MAX_LIFETIME_SECS as f64 {
        return Err(ServiceAuthError::TooLongLived);
    }
    if !audience_matches(&token.aud, expected_aud) {
        return Err(ServiceAuthError::WrongAudience);
    }
    if let Some(expected) = lxm {
        match token.lxm.as_deref() {
            None => return Err(ServiceAuthError::MissingLxm(expected.to_owned())),
            // NSIDs compare case-insensitively, as the reference's method sets do.
            Some(found) if !found.eq_ignore_ascii_case(expected) => {
                return Err(ServiceAuthError::WrongLxm(expected.to_owned()))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `iss` split into its DID and optional service id, if it is well formed.
fn split_iss(iss: &str) -> Option<(&str, Option<&str>)> {
    let (did, service) = match iss.split_once('#') {
        Some((did, service)) => {
            if service.is_empty() || service.contains('#') {
                return None;
            }
            (did, Some(service))
        }
        None => (iss, None),
    };
    syntax::validate_did(did).ok()?;
    Some((did, service))
}

/// Verifies `signature` over `input` with `did_key`, the key's algorithm having to match the
/// token's `alg`.
fn signature_ok(did_key: &str, alg: &str, input: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = PublicKey::from_did_key(did_key) else {
        return false;
    };
    Algorithm::from_jwt_alg(alg).is_ok_and(|a| a == key.algorithm())
        && key.verify(input, signature).is_ok()
}

/// Verifies an incoming service token: see the module documentation. `expected_aud` is this
/// service's DID (`state.config.service_did`); `lxm` the method being called, when the token
/// must be bound to it (`None` accepts a token bound to any method or none).
pub async fn verify_service_jwt(
    state: &AppState,
    token: &str,
    expected_aud: &str,
    lxm: Option<&str>,
) -> Result<ServiceCaller, XrpcError> {
    verify(state, token, expected_aud, lxm, true).await
}

/// [`verify_service_jwt`] without recording the `jti`: an early look (before a large body is
/// read) at a token the handler then verifies for real.
pub async fn preverify_service_jwt(
    state: &AppState,
    token: &str,
    expected_aud: &str,
    lxm: Option<&str>,
) -> Result<ServiceCaller, XrpcError> {
    verify(state, token, expected_aud, lxm, false).await
}

async fn verify(
    state: &AppState,
    token: &str,
    expected_aud: &str,
    lxm: Option<&str>,
    record_jti: bool,
) -> Result<ServiceCaller, XrpcError> {
    let parsed = parse(token)?;
    check_claims(&parsed, now_secs_f64(), expected_aud, lxm)?;
    let (did, service_id) = split_iss(&parsed.iss).ok_or(ServiceAuthError::BadIss)?;
    let jti = parsed.jti.clone().ok_or(ServiceAuthError::MissingJti)?;
    // A labeler speaks with its label key (XRPC spec, "Inter-Service Authentication").
    let key_id = if service_id == Some("atproto_labeler") {
        "atproto_label"
    } else {
        "atproto"
    };
    let input = parsed.signing_input.as_bytes();
    let key = issuer_key(state, did, key_id, false).await?;
    if !signature_ok(&key, &parsed.alg, input, &parsed.signature) {
        // The key may have been rotated since the document was cached: look once more.
        let fresh = issuer_key(state, did, key_id, true).await?;
        if fresh == key || !signature_ok(&fresh, &parsed.alg, input, &parsed.signature) {
            return Err(ServiceAuthError::BadSignature.into());
        }
    }
    // Seconds; `exp` passed the lifetime check, so it fits.
    let exp = parsed.exp.ceil() as i64;
    let replay_key = format!("{}\n{jti}", parsed.iss);
    let replay = &state.service_auth.replay;
    let fresh = if record_jti {
        replay.first_use(&replay_key, exp, now_secs())
    } else {
        !replay.contains(&replay_key)
    };
    if !fresh {
        return Err(ServiceAuthError::Replayed.into());
    }
    Ok(ServiceCaller {
        did: did.to_owned(),
        service_id: service_id.map(str::to_owned),
        iss: parsed.iss.clone(),
        aud: parsed.aud,
        lxm: parsed.lxm,
        jti,
        exp,
    })
}

/// Whether a bearer token is certainly a service token rather than a session: it carries an
/// `lxm` claim, which session tokens never do (the reference's test, used by handlers that
/// accept either, such as `uploadBlob`). Says nothing about validity.
pub fn is_definitely_service_auth(token: &str) -> bool {
    token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice::<Json>(&bytes).ok())
        .is_some_and(|payload| !payload["lxm"].is_null())
}

impl AppState {
    /// The service caller of a request: its bearer token verified as a service token addressed
    /// to this PDS and bound to `lxm` (the method being served).
    pub async fn service_caller(
        &self,
        ctx: &crate::app::Ctx,
        lxm: &str,
    ) -> Result<ServiceCaller, XrpcError> {
        let token = ctx
            .bearer()
            .ok_or_else(|| XrpcError::new(401, "MissingJwt", "missing jwt"))?;
        verify_service_jwt(self, token, &self.config.service_did, Some(lxm)).await
    }
}

/// Who a request claims to be, checked before its body is read: a session's account, or for
/// a token that is certainly a service token, its issuer if the token would be accepted for
/// `lxm` (its `jti` is not recorded: the handler verifies it for real). `None` without a token.
pub async fn probe_caller(
    state: &AppState,
    ctx: &crate::app::Ctx,
    lxm: &str,
) -> Result<Option<String>, XrpcError> {
    match ctx.bearer() {
        Some(token) if is_definitely_service_auth(token) => {
            let caller =
                preverify_service_jwt(state, token, &state.config.service_did, Some(lxm)).await?;
            Ok(Some(caller.did))
        }
        _ => Ok(state.optional_caller(ctx)?.map(|c| c.did)),
    }
}

impl AppState {
    /// The account a method that also takes service auth acts for (the reference's
    /// `authorizationOrUserServiceAuth`, used by `uploadBlob`): with a token that is certainly a
    /// service token, its issuer, who must be an account hosted here and not taken down;
    /// otherwise the session's account, with at least `access`.
    pub async fn caller_or_service_did(
        &self,
        ctx: &crate::app::Ctx,
        access: crate::auth::Access,
        lxm: &str,
    ) -> Result<String, XrpcError> {
        if !ctx.bearer().is_some_and(is_definitely_service_auth) {
            return Ok(self.caller(ctx, access).await?.did);
        }
        let caller = self.service_caller(ctx, lxm).await?;
        use store::Store;
        let account = self
            .store
            .account_by_did(&caller.did)
            .await
            .map_err(crate::error::store_error)?
            .filter(|a| a.status != store::AccountStatus::Deleted)
            .ok_or_else(|| XrpcError::invalid_token("Account not found"))?;
        if account.status == store::AccountStatus::Takendown {
            return Err(XrpcError::new(
                401,
                "AccountTakedown",
                "Account has been taken down",
            ));
        }
        Ok(caller.did)
    }
}

/// The did:key of `did`'s verification method `#key_id`.
async fn issuer_key(
    state: &AppState,
    did: &str,
    key_id: &str,
    fresh: bool,
) -> Result<String, ServiceAuthError> {
    let doc = state.resolve_did_document(did, fresh).await.map_err(|e| {
        if !matches!(e, DidDocError::NotFound(_) | DidDocError::Unsupported(_)) {
            eprintln!("service auth: {e}");
        }
        ServiceAuthError::Unresolvable
    })?;
    doc.verification_key(key_id).ok_or(ServiceAuthError::NoKey)
}

fn now_secs() -> i64 {
    crate::auth::now_secs()
}

fn now_secs_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What verification keeps between requests.
#[derive(Default)]
pub struct ServiceAuth {
    pub replay: ReplayCache,
}

impl ServiceAuth {
    pub fn new() -> ServiceAuth {
        ServiceAuth::default()
    }
}

/// The `jti`s of accepted tokens, each until its token expires, bounded in size.
#[derive(Default)]
pub struct ReplayCache {
    inner: Mutex<ReplayEntries>,
}

#[derive(Default)]
struct ReplayEntries {
    seen: HashSet<String>,
    /// The same keys ordered by expiry, to drop expired ones cheaply.
    by_exp: BTreeSet<(i64, String)>,
}

impl ReplayCache {
    /// Whether `key` was recorded (and not yet dropped).
    pub fn contains(&self, key: &str) -> bool {
        self.inner.lock().expect("not poisoned").seen.contains(key)
    }

    /// Records `key` (issuer and jti) until `exp`; false if it was already there.
    pub fn first_use(&self, key: &str, exp: i64, now: i64) -> bool {
        let mut entries = self.inner.lock().expect("not poisoned");
        let ReplayEntries { seen, by_exp } = &mut *entries;
        while let Some(first) = by_exp.first() {
            // Full: drop the entries expiring soonest, even unexpired ones, rather than refuse
            // every new token (a flood of valid tokens could otherwise lock services out).
            if first.0 >= now && seen.len() < MAX_REPLAY_ENTRIES {
                break;
            }
            let (_, old) = by_exp.pop_first().expect("not empty");
            seen.remove(&old);
        }
        if !seen.insert(key.to_owned()) {
            return false;
        }
        by_exp.insert((exp, key.to_owned()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto::Keypair;

    fn token(key: &Keypair, header: Json, payload: Json) -> String {
        let mut t = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap()));
        let sig = key.sign(t.as_bytes());
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(sig));
        t
    }

    fn claims(exp: f64, aud: &str, lxm: Option<&str>) -> Json {
        let mut c = serde_json::json!({ "iss": "did:plc:abc", "aud": aud, "exp": exp, "jti": "x" });
        if let Some(lxm) = lxm {
            c["lxm"] = lxm.into();
        }
        c
    }

    #[test]
    fn claim_checks_in_order() {
        let key = Keypair::generate(Algorithm::P256);
        let header = serde_json::json!({ "typ": "JWT", "alg": "ES256" });
        let now = 1_000_000.0;
        let ours = "did:web:pds.example.com";
        let check = |payload: Json, lxm: Option<&str>| {
            let t = token(&key, header.clone(), payload);
            check_claims(&parse(&t).unwrap(), now, ours, lxm)
        };
        assert_eq!(
            check(claims(now + 60.0, ours, Some("a.b.c")), Some("a.b.c")),
            Ok(())
        );
        assert_eq!(
            check(claims(now + 60.0, ours, Some("A.b.C")), Some("a.b.c")),
            Ok(())
        );
        assert_eq!(check(claims(now + 60.0, ours, None), None), Ok(()));
        let own_service = format!("{ours}#atproto_pds");
        assert_eq!(check(claims(now + 60.0, &own_service, None), None), Ok(()));
        assert_eq!(
            check(
                claims(now + 60.0, &format!("{ours}#bsky_appview"), None),
                None
            ),
            Err(ServiceAuthError::WrongAudience)
        );
        assert_eq!(
            check(claims(now + 60.0, "did:web:pds.example.co", None), None),
            Err(ServiceAuthError::WrongAudience)
        );
        assert_eq!(
            check(claims(now - 1.0, "did:web:other", None), None),
            Err(ServiceAuthError::Expired),
            "expiry is checked before the audience"
        );
        assert_eq!(
            check(claims(now + 2.0 * 3600.0, ours, None), None),
            Err(ServiceAuthError::TooLongLived)
        );
        assert_eq!(
            check(claims(now + 60.0, ours, None), Some("a.b.c")),
            Err(ServiceAuthError::MissingLxm("a.b.c".into()))
        );
        assert_eq!(
            check(claims(now + 60.0, ours, Some("a.b.d")), Some("a.b.c")),
            Err(ServiceAuthError::WrongLxm("a.b.c".into()))
        );
    }

    #[test]
    fn malformed_tokens() {
        let key = Keypair::generate(Algorithm::K256);
        assert_eq!(parse("a.b").unwrap_err(), ServiceAuthError::Malformed);
        assert_eq!(parse("a.b.c.d").unwrap_err(), ServiceAuthError::Malformed);
        assert_eq!(parse("!!.e30.AA").unwrap_err(), ServiceAuthError::Malformed);
        let no_alg = token(
            &key,
            serde_json::json!({ "typ": "JWT" }),
            claims(1.0, "x", None),
        );
        assert_eq!(parse(&no_alg).unwrap_err(), ServiceAuthError::Malformed);
        let session = token(
            &key,
            serde_json::json!({ "typ": "at+jwt", "alg": "ES256K" }),
            claims(1.0, "x", None),
        );
        assert_eq!(
            parse(&session).unwrap_err(),
            ServiceAuthError::WrongType("at+jwt".into())
        );
        let no_exp = token(
            &key,
            serde_json::json!({ "alg": "ES256K" }),
            serde_json::json!({ "iss": "did:plc:abc", "aud": "x" }),
        );
        assert_eq!(parse(&no_exp).unwrap_err(), ServiceAuthError::Malformed);
        let bad_lxm = token(
            &key,
            serde_json::json!({ "alg": "ES256K" }),
            serde_json::json!({ "iss": "did:plc:abc", "aud": "x", "exp": 1, "lxm": 5 }),
        );
        assert_eq!(parse(&bad_lxm).unwrap_err(), ServiceAuthError::Malformed);
    }

    #[test]
    fn signatures_need_the_matching_algorithm_and_low_s() {
        let key = Keypair::generate(Algorithm::K256);
        let did_key = key.did_key();
        let t = token(
            &key,
            serde_json::json!({ "alg": "ES256K" }),
            claims(1.0, "x", None),
        );
        let p = parse(&t).unwrap();
        assert!(signature_ok(
            &did_key,
            "ES256K",
            p.signing_input.as_bytes(),
            &p.signature
        ));
        assert!(!signature_ok(
            &did_key,
            "ES256",
            p.signing_input.as_bytes(),
            &p.signature
        ));
        assert!(!signature_ok(&did_key, "ES256K", b"other", &p.signature));
        let other = Keypair::generate(Algorithm::K256).did_key();
        assert!(!signature_ok(
            &other,
            "ES256K",
            p.signing_input.as_bytes(),
            &p.signature
        ));
    }

    #[test]
    fn service_tokens_are_told_from_sessions() {
        let key = Keypair::generate(Algorithm::P256);
        let header = serde_json::json!({ "alg": "ES256" });
        assert!(is_definitely_service_auth(&token(
            &key,
            header.clone(),
            claims(1.0, "x", Some("a.b.c"))
        )));
        assert!(!is_definitely_service_auth(&token(
            &key,
            header,
            claims(1.0, "x", None)
        )));
        assert!(!is_definitely_service_auth("garbage"));
    }

    #[test]
    fn issuers() {
        assert_eq!(split_iss("did:plc:abc"), Some(("did:plc:abc", None)));
        assert_eq!(
            split_iss("did:web:l.example.com#atproto_labeler"),
            Some(("did:web:l.example.com", Some("atproto_labeler")))
        );
        assert_eq!(split_iss("did:plc:abc#"), None);
        assert_eq!(split_iss("did:plc:abc#a#b"), None);
        assert_eq!(split_iss("not a did"), None);
    }

    #[test]
    fn replay_cache_keeps_jtis_until_expiry() {
        let cache = ReplayCache::default();
        assert!(cache.first_use("iss\na", 100, 10));
        assert!(!cache.first_use("iss\na", 100, 50));
        assert!(cache.contains("iss\na"));
        assert!(!cache.contains("iss\nb"));
        assert!(cache.first_use("iss\nb", 20, 50));
        // After its expiry the entry is dropped (the token itself is refused as expired).
        assert!(cache.first_use("iss\nc", 200, 150));
        assert!(cache.first_use("iss\na", 300, 150));
    }

    #[test]
    fn replay_cache_is_bounded() {
        let cache = ReplayCache::default();
        for i in 0..(MAX_REPLAY_ENTRIES + 10) {
            assert!(cache.first_use(&format!("k{i}"), 1_000 + i as i64, 0));
        }
        let entries = cache.inner.lock().unwrap();
        assert!(entries.seen.len() <= MAX_REPLAY_ENTRIES);
        assert_eq!(entries.seen.len(), entries.by_exp.len());
        // The newest entries are the ones kept.
        assert!(entries
            .seen
            .contains(&format!("k{}", MAX_REPLAY_ENTRIES + 9)));
        assert!(!entries.seen.contains("k0"));
    }
}
