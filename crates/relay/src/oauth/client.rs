//! OAuth clients: the client metadata document behind a `client_id` (fetched with a hardened
//! HTTP client, cached briefly), the `http://localhost` development client, the redirect-URI
//! rules per application type, and `private_key_jwt` client authentication.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::jose::{Jwk, Jws};
use super::OAuthError;

/// Largest client metadata or JWKS document accepted.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Time allowed for one fetch, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a fetched document is trusted. Short, so a confidential client that removes a
/// leaked key sees its sessions refused soon after.
const CACHE_SECS: i64 = 5 * 60;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A validated client metadata document (or the virtual one of a localhost client).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub client_id: String,
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub application_type: Option<String>,
    #[serde(default)]
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub response_types: Vec<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_signing_alg: Option<String>,
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    #[serde(default)]
    pub jwks: Option<Value>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

impl ClientMetadata {
    pub fn is_native(&self) -> bool {
        self.application_type.as_deref() == Some("native")
    }

    pub fn is_confidential(&self) -> bool {
        self.token_endpoint_auth_method.as_deref() == Some("private_key_jwt")
    }

    pub fn allows_refresh(&self) -> bool {
        self.grant_types.iter().any(|g| g == "refresh_token")
    }

    /// The redirect URI to use: the requested one if registered (loopback IPs match whatever
    /// the port, RFC 8252 §7.3), or the only registered one when none is asked for.
    pub fn redirect_uri(&self, requested: Option<&str>) -> Result<String, OAuthError> {
        let Some(requested) = requested else {
            return match self.redirect_uris.as_slice() {
                [only] => Ok(only.clone()),
                _ => Err(OAuthError::invalid_request(
                    "redirect_uri is required when the client registers several",
                )),
            };
        };
        if self.redirect_uris.iter().any(|r| r == requested) {
            return Ok(requested.to_owned());
        }
        let loopback_match = Url::parse(requested)
            .ok()
            .filter(is_loopback_ip_url)
            .is_some_and(|req| {
                self.redirect_uris.iter().any(|r| {
                    Url::parse(r)
                        .ok()
                        .filter(is_loopback_ip_url)
                        .is_some_and(|reg| {
                            reg.scheme() == req.scheme()
                                && reg.host() == req.host()
                                && reg.path() == req.path()
                                && reg.query() == req.query()
                        })
                })
            });
        if loopback_match {
            Ok(requested.to_owned())
        } else {
            Err(OAuthError::invalid_request(
                "redirect_uri is not registered in the client metadata",
            ))
        }
    }
}

fn is_loopback_ip_url(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
}

/// How a client authenticated (kept with the request and the session, compared at refresh).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method")]
pub enum ClientAuth {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "private_key_jwt")]
    PrivateKeyJwt { jkt: String },
}

/// Fetches and caches client metadata.
pub struct Clients {
    dev_mode: bool,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (i64, ClientMetadata)>>,
}

impl Clients {
    pub fn new(dev_mode: bool) -> Clients {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .user_agent(concat!(
                "relay/",
                env!("CARGO_PKG_VERSION"),
                " (atproto PDS)"
            ))
            .build()
            .expect("the HTTP client builds");
        Clients {
            dev_mode,
            http,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The metadata of `client_id`, validated.
    pub async fn get(&self, client_id: &str, now: i64) -> Result<ClientMetadata, OAuthError> {
        let url = Url::parse(client_id)
            .map_err(|_| OAuthError::invalid_client("client_id is not a URL"))?;
        if url.scheme() == "http" && url.host_str() == Some("localhost") {
            return localhost_client(client_id, &url);
        }
        if let Some((at, meta)) = self.cache.lock().expect("not poisoned").get(client_id) {
            if now - at < CACHE_SECS {
                return Ok(meta.clone());
            }
        }
        self.check_client_id_url(&url)?;
        let doc = self.fetch_json(&url).await.map_err(|e| {
            OAuthError::invalid_client(format!("could not fetch the client metadata: {e}"))
        })?;
        let meta: ClientMetadata = serde_json::from_value(doc)
            .map_err(|e| OAuthError::invalid_client(format!("invalid client metadata: {e}")))?;
        if meta.client_id != client_id {
            return Err(OAuthError::invalid_client(
                "client metadata client_id does not match the URL it was fetched from",
            ));
        }
        self.validate(&meta, &url)?;
        self.cache
            .lock()
            .expect("not poisoned")
            .insert(client_id.to_owned(), (now, meta.clone()));
        Ok(meta)
    }

    fn check_client_id_url(&self, url: &Url) -> Result<(), OAuthError> {
        let bad = |m: &str| Err(OAuthError::invalid_client(m.to_owned()));
        if !url.username().is_empty() || url.password().is_some() {
            return bad("client_id must not carry credentials");
        }
        if url.fragment().is_some() {
            return bad("client_id must not have a fragment");
        }
        match url.scheme() {
            "https" if url.port().is_none() || self.dev_mode => Ok(()),
            "https" => bad("client_id must not have a port"),
            "http" if self.dev_mode => Ok(()),
            _ => bad("client_id must be an https URL"),
        }
    }

    fn validate(&self, meta: &ClientMetadata, client_url: &Url) -> Result<(), OAuthError> {
        let bad = |m: String| Err(OAuthError::invalid_client_metadata(m));
        if meta.dpop_bound_access_tokens != Some(true) {
            return bad("dpop_bound_access_tokens must be true".into());
        }
        if !meta.response_types.iter().any(|r| r == "code") {
            return bad("response_types must include code".into());
        }
        if !meta.grant_types.iter().any(|g| g == "authorization_code") {
            return bad("grant_types must include authorization_code".into());
        }
        if let Some(g) = meta
            .grant_types
            .iter()
            .find(|g| !matches!(g.as_str(), "authorization_code" | "refresh_token"))
        {
            return bad(format!("unsupported grant type {g:?}"));
        }
        let scope = meta.scope.as_deref().unwrap_or("");
        if !scope.split(' ').any(|s| s == "atproto") {
            return bad("scope must include atproto".into());
        }
        match meta.application_type.as_deref() {
            None | Some("web") | Some("native") => {}
            Some(other) => return bad(format!("unsupported application_type {other:?}")),
        }
        if meta.redirect_uris.is_empty() {
            return bad("at least one redirect_uri is required".into());
        }
        for uri in &meta.redirect_uris {
            self.check_redirect_uri(meta, client_url, uri)
                .map_err(|m| {
                    OAuthError::invalid_client_metadata(format!("redirect_uri {uri:?}: {m}"))
                })?;
        }
        match meta.token_endpoint_auth_method.as_deref() {
            None | Some("none") => {
                if meta.jwks.is_some() || meta.jwks_uri.is_some() {
                    // Harmless, but a sign of a confused client: say so early.
                    return bad(
                        "a public client (token_endpoint_auth_method none) must not publish keys"
                            .into(),
                    );
                }
            }
            Some("private_key_jwt") => {
                match meta.token_endpoint_auth_signing_alg.as_deref() {
                    None | Some("ES256") | Some("ES256K") => {}
                    Some(other) => {
                        return bad(format!(
                            "unsupported token_endpoint_auth_signing_alg {other:?}"
                        ))
                    }
                }
                if meta.jwks.is_some() == meta.jwks_uri.is_some() {
                    return bad(
                        "a confidential client needs exactly one of jwks and jwks_uri".into(),
                    );
                }
                if let Some(uri) = &meta.jwks_uri {
                    let ok = Url::parse(uri).is_ok_and(|u| {
                        u.scheme() == "https" || (self.dev_mode && u.scheme() == "http")
                    });
                    if !ok {
                        return bad("jwks_uri must be an https URL".into());
                    }
                }
            }
            Some(other) => return bad(format!("unsupported token_endpoint_auth_method {other:?}")),
        }
        Ok(())
    }

    /// The redirect-URI rules of the atproto OAuth profile.
    fn check_redirect_uri(
        &self,
        meta: &ClientMetadata,
        client_url: &Url,
        uri: &str,
    ) -> Result<(), String> {
        let url = Url::parse(uri).map_err(|_| "not a URL".to_owned())?;
        if url.fragment().is_some() {
            return Err("must not have a fragment".into());
        }
        let same_origin = url.origin() == client_url.origin();
        match url.scheme() {
            "https" if same_origin => Ok(()),
            "https" if meta.is_native() => {
                Err("an https redirect_uri must share the client_id's origin".into())
            }
            "https" => Err("must share the client_id's origin".into()),
            "http" if is_loopback_ip_url(&url) && (meta.is_native() || self.dev_mode) => Ok(()),
            "http" if self.dev_mode && same_origin => Ok(()),
            "http" => Err("http is only allowed for loopback IPs of native clients".into()),
            scheme if meta.is_native() => {
                // A private-use scheme: the client_id's host reversed (RFC 8252 §7.1), then
                // ":/" and a path, with no authority.
                let host = client_url.host_str().unwrap_or("");
                let reversed: Vec<&str> = host.split('.').rev().collect();
                if scheme != reversed.join(".") {
                    return Err(format!(
                        "a custom scheme must be the client_id's host reversed ({})",
                        reversed.join(".")
                    ));
                }
                let rest = &uri[scheme.len()..];
                if !rest.starts_with(":/") || rest.starts_with("://") {
                    return Err("a custom scheme must be followed by \":/\" and a path".into());
                }
                Ok(())
            }
            _ => Err("custom schemes are only for native clients".into()),
        }
    }

    /// Authenticates the client of a PAR or token request. Public clients must not send an
    /// assertion; confidential ones must send a valid one, signed by a key of their metadata.
    pub async fn authenticate(
        &self,
        meta: &ClientMetadata,
        form: &HashMap<String, String>,
        audiences: &[&str],
        replay: &(dyn Fn(&str, i64) -> bool + Sync),
        now: i64,
    ) -> Result<ClientAuth, OAuthError> {
        let assertion_type = form.get("client_assertion_type");
        let assertion = form.get("client_assertion");
        if !meta.is_confidential() {
            if assertion.is_some() || assertion_type.is_some() {
                return Err(OAuthError::invalid_client(
                    "this client is public (token_endpoint_auth_method none) and must not authenticate",
                ));
            }
            return Ok(ClientAuth::None);
        }
        if assertion_type.map(String::as_str) != Some(ASSERTION_TYPE) {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        let assertion =
            assertion.ok_or_else(|| OAuthError::invalid_client("client_assertion is required"))?;
        let jws = Jws::parse(assertion)
            .map_err(|e| OAuthError::invalid_client(format!("client_assertion: {e}")))?;
        let alg = jws.header_str("alg").unwrap_or("");
        if let Some(expected) = &meta.token_endpoint_auth_signing_alg {
            if alg != expected {
                return Err(OAuthError::invalid_client(format!(
                    "client_assertion must be signed with {expected}"
                )));
            }
        }
        let keys = self.client_keys(meta).await?;
        let kid = jws.header_str("kid");
        let candidates: Vec<&Jwk> = keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .collect();
        let key = candidates
            .into_iter()
            .find(|k| jws.verify(&k.key).is_ok())
            .ok_or_else(|| {
                OAuthError::invalid_client("client_assertion is not signed by a key of the client")
            })?;
        if jws.claim_str("iss") != Some(meta.client_id.as_str())
            || jws.claim_str("sub") != Some(meta.client_id.as_str())
        {
            return Err(OAuthError::invalid_client(
                "client_assertion iss and sub must be the client_id",
            ));
        }
        let aud_ok = match jws.claims.get("aud") {
            Some(Value::String(a)) => audiences.contains(&a.as_str()),
            Some(Value::Array(list)) => list
                .iter()
                .any(|a| a.as_str().is_some_and(|a| audiences.contains(&a))),
            _ => false,
        };
        if !aud_ok {
            return Err(OAuthError::invalid_client(
                "client_assertion aud must be this server",
            ));
        }
        let exp = jws.claim_i64("exp");
        let iat = jws.claim_i64("iat");
        if exp.is_some_and(|e| e <= now) {
            return Err(OAuthError::invalid_client("client_assertion has expired"));
        }
        let Some(iat) = iat.filter(|i| *i <= now + 60 && *i > now - 10 * 60) else {
            return Err(OAuthError::invalid_client(
                "client_assertion iat is missing or not recent",
            ));
        };
        let jti = jws
            .claim_str("jti")
            .filter(|j| !j.is_empty())
            .ok_or_else(|| OAuthError::invalid_client("client_assertion has no jti"))?;
        if !replay(jti, iat + 11 * 60) {
            return Err(OAuthError::invalid_client(
                "client_assertion was already used",
            ));
        }
        Ok(ClientAuth::PrivateKeyJwt {
            jkt: key.thumbprint.clone(),
        })
    }

    /// The public keys of a confidential client (from `jwks`, or fetched from `jwks_uri`).
    async fn client_keys(&self, meta: &ClientMetadata) -> Result<Vec<Jwk>, OAuthError> {
        let jwks = match (&meta.jwks, &meta.jwks_uri) {
            (Some(jwks), _) => jwks.clone(),
            (None, Some(uri)) => {
                let url = Url::parse(uri)
                    .map_err(|_| OAuthError::invalid_client("jwks_uri is not a URL"))?;
                self.fetch_json(&url).await.map_err(|e| {
                    OAuthError::invalid_client(format!("could not fetch jwks_uri: {e}"))
                })?
            }
            (None, None) => return Err(OAuthError::invalid_client("the client has no keys")),
        };
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| OAuthError::invalid_client("client jwks has no keys array"))?;
        Ok(keys
            .iter()
            .filter_map(Value::as_object)
            .filter(|k| {
                k.get("use")
                    .and_then(Value::as_str)
                    .is_none_or(|u| u == "sig")
            })
            .filter_map(|k| Jwk::from_json(k).ok())
            .collect())
    }

    /// GETs a JSON document: status exactly 200, JSON content type, bounded size and time, no
    /// redirects, and (outside dev mode) only public addresses.
    pub async fn fetch_json(&self, url: &Url) -> Result<Value, String> {
        let host = url.host_str().ok_or("no host")?.to_owned();
        if !self.dev_mode {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs: Vec<_> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .collect();
            if addrs.is_empty() || addrs.iter().any(|a| !is_public(a.ip())) {
                return Err(format!("{host} resolves to a private or reserved address"));
            }
        }
        let mut response = self
            .http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!(
                "status {} (expected 200)",
                response.status().as_u16()
            ));
        }
        let json_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/json")
            });
        if !json_type {
            return Err("content-type is not application/json".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("read failed: {e}"))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(format!("document larger than {MAX_DOCUMENT_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err("not a JSON object".into()),
        }
    }
}

/// The virtual metadata of an `http://localhost` client (OAuth spec, "Localhost Client
/// Development"): redirect URIs and scope from the query, public, native.
fn localhost_client(client_id: &str, url: &Url) -> Result<ClientMetadata, OAuthError> {
    if url.port().is_some() || !matches!(url.path(), "" | "/") {
        return Err(OAuthError::invalid_client(
            "a localhost client_id must be http://localhost with no port and no path",
        ));
    }
    let mut redirect_uris = Vec::new();
    let mut scope = None;
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "redirect_uri" => {
                let ok = Url::parse(&v).is_ok_and(|u| is_loopback_ip_url(&u));
                if !ok {
                    return Err(OAuthError::invalid_client(
                        "a localhost client's redirect_uri must be http://127.0.0.1 or http://[::1]",
                    ));
                }
                redirect_uris.push(v.into_owned());
            }
            "scope" if scope.is_none() => scope = Some(v.into_owned()),
            "scope" => return Err(OAuthError::invalid_client("scope may be given once")),
            _ => {}
        }
    }
    if redirect_uris.is_empty() {
        redirect_uris = vec!["http://127.0.0.1/".into(), "http://[::1]/".into()];
    }
    let scope = scope.unwrap_or_else(|| "atproto".into());
    if !scope.split(' ').any(|s| s == "atproto") {
        return Err(OAuthError::invalid_client("scope must include atproto"));
    }
    Ok(ClientMetadata {
        client_id: client_id.to_owned(),
        client_name: Some("Development client (localhost)".into()),
        application_type: Some("native".into()),
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        scope: Some(scope),
        redirect_uris,
        token_endpoint_auth_method: Some("none".into()),
        token_endpoint_auth_signing_alg: None,
        dpop_bound_access_tokens: Some(true),
        jwks: None,
        jwks_uri: None,
    })
}

/// True for addresses on the public internet: not loopback, private, link-local, shared
/// (CGNAT), documentation, multicast, unspecified or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0x2001 && seg[1] == 0x0db8))
        }
    }
}

/// The form's fields (a form may not repeat a field: OAuth forbids it).
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, OAuthError> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if out.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(OAuthError::invalid_request("a parameter is repeated"));
        }
    }
    Ok(out)
}

/// Keeps only string members of an object (for JSON kept in the store).
pub fn string_map(value: &Map<String, Value>) -> HashMap<String, String> {
    value
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(app: &str, redirects: &[&str]) -> ClientMetadata {
        ClientMetadata {
            client_id: "https://app.example.com/client-metadata.json".into(),
            client_name: None,
            application_type: Some(app.into()),
            grant_types: vec!["authorization_code".into()],
            response_types: vec!["code".into()],
            scope: Some("atproto".into()),
            redirect_uris: redirects.iter().map(|s| s.to_string()).collect(),
            token_endpoint_auth_method: None,
            token_endpoint_auth_signing_alg: None,
            dpop_bound_access_tokens: Some(true),
            jwks: None,
            jwks_uri: None,
        }
    }

    #[test]
    fn redirect_uri_rules() {
        let clients = Clients::new(false);
        let url = Url::parse("https://app.example.com/client-metadata.json").unwrap();
        let web = meta("web", &[]);
        let native = meta("native", &[]);
        let check = |m: &ClientMetadata, u: &str| clients.check_redirect_uri(m, &url, u).is_ok();
        assert!(check(&web, "https://app.example.com/callback"));
        assert!(!check(&web, "https://other.example.com/callback"));
        assert!(!check(&web, "http://127.0.0.1/callback"));
        assert!(!check(&web, "com.example.app:/callback"));
        assert!(check(&native, "com.example.app:/callback"));
        assert!(!check(&native, "com.example.app://callback"));
        assert!(!check(&native, "com.evil.app:/callback"));
        assert!(check(&native, "http://127.0.0.1/callback"));
        assert!(check(&native, "http://[::1]/cb"));
        assert!(!check(&native, "http://localhost/cb"));
        assert!(!check(&web, "https://app.example.com/cb#frag"));
    }

    #[test]
    fn loopback_redirects_match_any_port() {
        let m = meta(
            "native",
            &["http://127.0.0.1/cb", "https://app.example.com/a"],
        );
        assert!(m.redirect_uri(Some("http://127.0.0.1:5555/cb")).is_ok());
        assert!(m.redirect_uri(Some("http://127.0.0.1:5555/other")).is_err());
        assert!(m.redirect_uri(Some("https://app.example.com/a")).is_ok());
        assert!(m.redirect_uri(Some("https://app.example.com/b")).is_err());
        assert!(m.redirect_uri(None).is_err());
        assert!(meta("web", &["https://app.example.com/a"])
            .redirect_uri(None)
            .is_ok());
    }

    #[test]
    fn localhost_clients() {
        let id = "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&scope=atproto%20transition%3Ageneric";
        let m = localhost_client(id, &Url::parse(id).unwrap()).unwrap();
        assert_eq!(m.redirect_uris, ["http://127.0.0.1/cb"]);
        assert_eq!(m.scope.as_deref(), Some("atproto transition:generic"));
        assert!(m.is_native() && !m.is_confidential());
        for bad in [
            "http://localhost:8080",
            "http://localhost/path",
            "http://localhost?redirect_uri=https%3A%2F%2Fevil.com%2F",
            "http://localhost?scope=transition%3Ageneric",
        ] {
            assert!(
                localhost_client(bad, &Url::parse(bad).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
