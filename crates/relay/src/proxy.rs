//! Service proxying (XRPC spec, "Service Proxying"; PDS checklist §9): XRPC calls this relay
//! does not answer itself are forwarded, on behalf of the signed-in account, to the service an
//! `atproto-proxy: <did>#<service id>` header names, or without the header to the configured
//! default (the AppView, or for `tools.ozone.*` and reports the moderation services), with a
//! fresh inter-service token (iss = the account, aud = `did#service`, lxm = the method, one
//! minute) signed by the account's repo key.
//!
//! Which calls: any NSID the relay has no route for (whatever its namespace), the few known
//! methods the reference PDS leaves to other services ([`UPSTREAM_METHODS`]), and
//! `app.bsky.ageassurance.*` always. Methods served here are answered here even with the header
//! (clients such as the Bluesky app send it on every call), so account management (the
//! reference's protected methods) is never proxied; every decision still goes through
//! [`crate::auth::Caller::allows_rpc`], which also refuses those.
//!
//! What goes out: the method, the original path and query, a POST body (bounded), and the
//! request headers the reference forwards (`accept-encoding`, `accept-language`,
//! `atproto-accept-labelers`, `x-bsky-topics`, every `x-atproto-*`, and for a body
//! `content-type` and `content-encoding`). What comes back: the status, the body streamed as is
//! (no decompression), and the content headers plus `atproto-repo-rev`,
//! `atproto-content-labelers` and `retry-after`. An upstream error (4xx/5xx) becomes an XRPC
//! error with the upstream's name and message (500 turns into 502 `UpstreamFailure`).
//!
//! Limits (the reference's `PDS_PROXY_*` settings): the time to the response headers, the
//! longest pause in the body, and the body size (refused up front when the upstream declares a
//! larger `content-length`, else the stream is cut where it passes the limit). Targets must be
//! https on public addresses (also after DNS; redirects are not followed) unless SSRF
//! protection is off, which by default it is only in dev mode.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::config::ServeArgs;
use crate::http::error_response;

/// Methods the relay has routes for (their lexicons are in `com.atproto`) that the reference
/// PDS does not answer itself and sends on to a service (`createReport` to the report service,
/// the others to the AppView).
pub const UPSTREAM_METHODS: &[&str] = &[
    "com.atproto.label.queryLabels",
    "com.atproto.lexicon.resolveLexicon",
    "com.atproto.moderation.createReport",
    "com.atproto.temp.fetchLabels",
];

/// Service ids the defaults are addressed as.
const APPVIEW_SERVICE_ID: &str = "bsky_appview";
const LABELER_SERVICE_ID: &str = "atproto_labeler";
/// Largest error body read from an upstream (only its `error` and `message` are kept).
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// A service configured by URL and DID (`PDS_BSKY_APP_VIEW_URL` + `_DID`, and the like).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    pub url: String,
    pub did: String,
}

/// Where proxied calls go and the limits they run under.
#[derive(Clone, Debug)]
pub struct ProxySettings {
    pub appview: Option<ServiceConfig>,
    pub mod_service: Option<ServiceConfig>,
    /// `createReport`; the mod service when not set separately (as the reference does).
    pub report_service: Option<ServiceConfig>,
    /// Loopback/private targets and plain http allowed (`PDS_DISABLE_SSRF_PROTECTION`,
    /// default: dev mode).
    pub allow_private: bool,
    pub headers_timeout: Duration,
    pub body_timeout: Duration,
    pub max_response_size: u64,
}

impl ProxySettings {
    pub fn from_args(args: &ServeArgs) -> Result<ProxySettings, String> {
        let pair = |url: &Option<String>, did: &Option<String>, name: &str| {
            let url = url.as_deref().map(str::trim).filter(|s| !s.is_empty());
            let did = did.as_deref().map(str::trim).filter(|s| !s.is_empty());
            match (url, did) {
                (None, None) => Ok(None),
                (Some(url), Some(did)) => {
                    if syntax::validate_did(did).is_err() {
                        return Err(format!("PDS_{name}_DID {did:?} is not a DID"));
                    }
                    Ok(Some(ServiceConfig {
                        url: url.trim_end_matches('/').to_owned(),
                        did: did.to_owned(),
                    }))
                }
                _ => Err(format!(
                    "PDS_{name}_URL and PDS_{name}_DID must be set together"
                )),
            }
        };
        let mod_service = pair(&args.mod_service_url, &args.mod_service_did, "MOD_SERVICE")?;
        let report_service = pair(
            &args.report_service_url,
            &args.report_service_did,
            "REPORT_SERVICE",
        )?
        .or_else(|| mod_service.clone());
        Ok(ProxySettings {
            appview: pair(
                &args.bsky_app_view_url,
                &args.bsky_app_view_did,
                "BSKY_APP_VIEW",
            )?,
            mod_service,
            report_service,
            allow_private: args.disable_ssrf_protection.unwrap_or(args.dev_mode),
            headers_timeout: Duration::from_millis(args.proxy_headers_timeout.max(1)),
            body_timeout: Duration::from_millis(args.proxy_body_timeout.max(1)),
            max_response_size: args.proxy_max_response_size,
        })
    }
}

/// The outgoing HTTP client.
pub struct Proxy {
    http: reqwest::Client,
}

impl Proxy {
    pub fn new(settings: &ProxySettings) -> Result<Proxy, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.headers_timeout)
            // A redirect could lead anywhere, private addresses included; the client sees it.
            .redirect(reqwest::redirect::Policy::none())
            // Bodies pass through as the upstream encoded them, even if a feature elsewhere in
            // the build turns reqwest's decompression on.
            .no_gzip()
            .no_brotli()
            .no_zstd()
            .no_deflate()
            .dns_resolver(Arc::new(crate::resolver::GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .user_agent(concat!("relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the proxy's HTTP client: {e}"))?;
        Ok(Proxy { http })
    }
}

/// What the relay does with an XRPC call, before anything else.
#[derive(Debug, PartialEq, Eq)]
enum Plan<'a> {
    /// Served here (or answered with the usual "not supported" error).
    Local,
    /// To the service the `atproto-proxy` header names.
    Header(&'a str),
    /// To a configured service, addressed as `did#service_id`.
    Default {
        service_id: &'static str,
        service: &'a ServiceConfig,
    },
}

/// Decides where `nsid` goes; `header` is the `atproto-proxy` value, if any.
fn plan<'a>(nsid: &str, header: Option<&'a str>, settings: &'a ProxySettings) -> Plan<'a> {
    // Age assurance is the AppView's business alone, whatever a future route table says.
    let always_proxied = nsid.starts_with("app.bsky.ageassurance.");
    if !always_proxied {
        if xrpc::route(nsid).is_some() && !UPSTREAM_METHODS.contains(&nsid) {
            return Plan::Local;
        }
        // Only `/xrpc/<valid NSID>` is ever forwarded.
        if syntax::validate_nsid(nsid).is_err() {
            return Plan::Local;
        }
    }
    if let Some(header) = header {
        return Plan::Header(header);
    }
    let (service_id, service) = if nsid.starts_with("tools.ozone.") {
        (LABELER_SERVICE_ID, settings.mod_service.as_ref())
    } else if nsid == "com.atproto.moderation.createReport" {
        (LABELER_SERVICE_ID, settings.report_service.as_ref())
    } else {
        (APPVIEW_SERVICE_ID, settings.appview.as_ref())
    };
    match service {
        Some(service) => Plan::Default {
            service_id,
            service,
        },
        // No service: the usual answer (501 for a known method, 404 for an unknown one).
        None => Plan::Local,
    }
}

/// The outcome of [`intercept`].
pub enum Intercept {
    /// The call was proxied (or refused): this is the answer.
    Answered(Response),
    /// Not for the proxy: serve it here.
    Local(Request),
}

/// The hook at the top of the XRPC handler: proxies `request` when it is not for this relay.
pub async fn intercept(state: &Arc<AppState>, nsid: &str, request: Request) -> Intercept {
    let header = request
        .headers()
        .get("atproto-proxy")
        .map(|v| v.to_str().unwrap_or("\u{fffd}").to_owned());
    // Event streams (WebSocket upgrades) are not proxied.
    let websocket = request
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if websocket {
        return Intercept::Local(request);
    }
    let target = match plan(nsid, header.as_deref(), &state.config.proxy) {
        Plan::Local => return Intercept::Local(request),
        Plan::Header(h) => Target::Header(h.to_owned()),
        Plan::Default {
            service_id,
            service,
        } => Target::Configured {
            did: service.did.clone(),
            service_id,
            url: service.url.clone(),
        },
    };
    let (parts, body) = request.into_parts();
    let remote = crate::http::remote_addr(&parts);
    // The PDS's rate limits still apply to proxied calls (XRPC spec, "Service Proxying").
    let standing = match crate::http::global_limit(state, &parts, remote) {
        Ok(standing) => standing,
        Err(response) => return Intercept::Answered(*response),
    };
    let call = Call {
        nsid,
        method: parts.method,
        path_and_query: parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| format!("/xrpc/{nsid}")),
        headers: parts.headers,
        remote,
        body,
    };
    let mut response = match forward(state, call, target).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    };
    crate::http::set_headers(
        &mut response,
        standing
            .iter()
            .flat_map(crate::ratelimit::Standing::headers),
    );
    Intercept::Answered(response)
}

/// Where a call goes, before resolution.
enum Target {
    Header(String),
    Configured {
        did: String,
        service_id: &'static str,
        url: String,
    },
}

/// The incoming call, taken apart.
struct Call<'a> {
    nsid: &'a str,
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    remote: Option<SocketAddr>,
    body: Body,
}

/// The reference's refusal for a method a session may not reach through the PDS.
fn bad_token_method() -> XrpcError {
    XrpcError::new(400, "InvalidToken", "Bad token method")
}

async fn forward(state: &AppState, call: Call<'_>, target: Target) -> Result<Response, XrpcError> {
    let settings = &state.config.proxy;
    let method = match call.method {
        Method::GET => reqwest::Method::GET,
        Method::HEAD => reqwest::Method::HEAD,
        Method::POST => reqwest::Method::POST,
        _ => {
            return Err(XrpcError::invalid_request(
                "XRPC requests only supports GET and POST",
            ))
        }
    };
    if crate::api::server::is_protected_method(call.nsid) {
        return Err(bad_token_method());
    }
    // Who asks comes first: an anonymous client makes the relay resolve nothing.
    let mut ctx = Ctx::new(call.headers.clone(), call.remote);
    // DPoP proofs name the method and URL of the request they sign.
    ctx.method = call.method.clone();
    ctx.path = call.path_and_query.clone();
    let caller = state.caller(&ctx, Access::Standard).await?;
    let (did, service_id, endpoint) = match target {
        Target::Header(header) => resolve_header(state, &header).await?,
        Target::Configured {
            did,
            service_id,
            url,
        } => (did, service_id.to_owned(), url),
    };
    let aud = format!("{did}#{service_id}");
    if !caller.allows_rpc(call.nsid, &aud) {
        if caller.oauth.is_some() {
            return Err(crate::auth::scope_missing(&format!(
                "rpc:{}?aud={aud}",
                call.nsid
            )));
        }
        return Err(bad_token_method());
    }
    let origin = checked_origin(&endpoint, settings.allow_private)?;
    let token = state
        .mint_service_jwt(&caller.did, &aud, Some(call.nsid))
        .await?;
    let url = format!("{origin}{}", call.path_and_query);
    let mut upstream = state.proxy.http.request(method.clone(), &url);
    upstream = upstream.header(
        "accept-encoding",
        call.headers
            .get("accept-encoding")
            .cloned()
            .unwrap_or(HeaderValue::from_static("identity")),
    );
    for (name, value) in &call.headers {
        let name = name.as_str();
        let forwarded = matches!(
            name,
            "accept-language" | "atproto-accept-labelers" | "x-bsky-topics"
        ) || name.starts_with("x-atproto-");
        if forwarded {
            upstream = upstream.header(name, value.clone());
        }
    }
    if method == reqwest::Method::POST {
        for name in ["content-type", "content-encoding"] {
            if let Some(value) = call.headers.get(name) {
                upstream = upstream.header(name, value.clone());
            }
        }
        let limit = crate::http::JSON_BODY_LIMIT.max(state.config.blob_upload_limit as usize);
        let body = axum::body::to_bytes(call.body, limit).await.map_err(|_| {
            XrpcError::payload_too_large(format!("request entity too large (limit {limit} bytes)"))
        })?;
        upstream = upstream.body(body);
    }
    upstream = upstream.bearer_auth(token);
    let response = match tokio::time::timeout(settings.headers_timeout, upstream.send()).await {
        Err(_) => {
            return Err(XrpcError::upstream_failure(
                "Upstream service did not answer in time",
            ))
        }
        Ok(Err(e)) => {
            eprintln!("proxy: {url}: {e}");
            return Err(XrpcError::upstream_failure("Upstream service unreachable"));
        }
        Ok(Ok(response)) => response,
    };
    if response.status().as_u16() >= 400 {
        return Ok(upstream_error(response, settings.body_timeout).await);
    }
    if response
        .content_length()
        .is_some_and(|n| n > settings.max_response_size)
    {
        return Err(XrpcError::upstream_failure("upstream response too large"));
    }
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::OK);
    let headers = forwarded_response_headers(response.headers(), true);
    let mut answer = Response::new(limited_body(
        response,
        settings.max_response_size,
        settings.body_timeout,
    ));
    *answer.status_mut() = status;
    answer.headers_mut().extend(headers);
    Ok(answer)
}

/// Resolves `did#service` from an `atproto-proxy` header to (did, service id, endpoint URL),
/// with the reference's checks and messages.
async fn resolve_header(
    state: &AppState,
    header: &str,
) -> Result<(String, String, String), XrpcError> {
    let (did, service_id) = parse_proxy_header(header)?;
    // The configured AppView is reached at its configured URL, without resolving its DID.
    if let Some(appview) = &state.config.proxy.appview {
        if did == appview.did && service_id == APPVIEW_SERVICE_ID {
            return Ok((did.to_owned(), service_id.to_owned(), appview.url.clone()));
        }
    }
    let doc = state
        .resolve_did_document(did, false)
        .await
        .map_err(|_| XrpcError::invalid_request("could not resolve proxy did"))?;
    let endpoint = doc
        .service_endpoint_by_id(service_id)
        .ok_or_else(|| XrpcError::invalid_request("could not resolve proxy did service url"))?;
    Ok((did.to_owned(), service_id.to_owned(), endpoint.to_owned()))
}

/// Splits an `atproto-proxy` value into the DID and the service id.
fn parse_proxy_header(header: &str) -> Result<(&str, &str), XrpcError> {
    let bad = |m: &str| XrpcError::invalid_request(m);
    let (did, service_id) = match header.split_once('#') {
        Some(("", _)) => return Err(bad("no did specified in proxy header")),
        Some((_, "")) | None => return Err(bad("no service id specified in proxy header")),
        Some(parts) => parts,
    };
    if service_id.contains('#') {
        return Err(bad("invalid proxy header format"));
    }
    if header.contains(' ') {
        return Err(bad("proxy header cannot contain spaces"));
    }
    if syntax::validate_did(did).is_err() {
        return Err(bad("could not resolve proxy did"));
    }
    Ok((did, service_id))
}

/// The origin (`scheme://host[:port]`) of a service endpoint, if the proxy may call it: https
/// on a public address, unless private targets are allowed (dev mode). Names are checked again
/// when they resolve (the client's guarded resolver).
fn checked_origin(endpoint: &str, allow_private: bool) -> Result<String, XrpcError> {
    let refused =
        |why: &str| XrpcError::invalid_request(format!("proxy target {endpoint:?} refused: {why}"));
    let url = reqwest::Url::parse(endpoint).map_err(|_| refused("not a URL"))?;
    let host = url.host_str().ok_or_else(|| refused("no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(refused("not https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refused("credentials in the URL"));
    }
    if !allow_private {
        if let Some(ip) = crate::resolver::literal_ip(host) {
            if !crate::resolver::is_public(ip) {
                return Err(refused("not a public address"));
            }
        }
    }
    Ok(url.origin().ascii_serialization())
}

/// The response headers passed back: content headers (on success) and the atproto ones.
fn forwarded_response_headers(upstream: &reqwest::header::HeaderMap, content: bool) -> HeaderMap {
    const CONTENT: &[&str] = &[
        "content-length",
        "content-encoding",
        "content-type",
        "content-language",
    ];
    const ALWAYS: &[&str] = &[
        "atproto-repo-rev",
        "atproto-content-labelers",
        "retry-after",
    ];
    let mut out = HeaderMap::new();
    let names = ALWAYS
        .iter()
        .chain(CONTENT.iter().filter(|_| content))
        .copied();
    for name in names {
        let values: Vec<&str> = upstream
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            continue;
        }
        if let Ok(v) = HeaderValue::from_str(&values.join(",")) {
            out.insert(name, v);
        }
    }
    out
}

/// An upstream 4xx/5xx as an XRPC error response: its status (500 becomes 502), and its
/// `error` and `message` when the body is JSON, read within a bound.
async fn upstream_error(mut response: reqwest::Response, body_timeout: Duration) -> Response {
    let status = response.status().as_u16();
    let headers = forwarded_response_headers(response.headers(), false);
    // Without a content type the body may still be JSON (the reference tries it too).
    let json = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().is_ok_and(is_json_content_type))
        .unwrap_or(true);
    let mut body = Vec::new();
    if json {
        loop {
            match tokio::time::timeout(body_timeout, response.chunk()).await {
                Ok(Ok(Some(chunk))) if (body.len() + chunk.len()) as u64 <= MAX_ERROR_BODY => {
                    body.extend_from_slice(&chunk)
                }
                Ok(Ok(None)) => break,
                _ => {
                    body.clear();
                    break;
                }
            }
        }
    }
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |name: &str| parsed.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let status = if status == 500 { 502 } else { status };
    let name = text("error").map(Cow::Owned).unwrap_or_else(|| {
        Cow::Borrowed(match status {
            400 => "InvalidRequest",
            401 => "AuthenticationRequired",
            403 => "Forbidden",
            404 => "XRPCNotSupported",
            413 => "PayloadTooLarge",
            429 => "RateLimitExceeded",
            501 => "MethodNotImplemented",
            503 => "NotEnoughResources",
            504 => "UpstreamTimeout",
            _ => "UpstreamFailure",
        })
    });
    let mut answer = error_response(&XrpcError {
        status,
        error: name,
        message: text("message"),
    });
    // `Retry-After` and the labelers header ride along on the error response.
    answer.headers_mut().extend(headers);
    answer
}

/// `application/json` or `application/<something>+json`.
fn is_json_content_type(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

/// The upstream body as a stream that ends in an error (cutting the response short) when it
/// passes `max` bytes or pauses longer than `pause`.
fn limited_body(response: reqwest::Response, max: u64, pause: Duration) -> Body {
    let cut = |why: &str| std::io::Error::other(why.to_owned());
    let stream = futures_util::stream::unfold(Some((response, 0u64)), move |state| async move {
        let (mut response, seen) = state?;
        match tokio::time::timeout(pause, response.chunk()).await {
            Err(_) => Some((Err(cut("upstream body stalled")), None)),
            Ok(Err(e)) => Some((Err(std::io::Error::other(e)), None)),
            Ok(Ok(None)) => None,
            Ok(Ok(Some(chunk))) => {
                let seen = seen + chunk.len() as u64;
                if seen > max {
                    Some((Err(cut("upstream response too large")), None))
                } else {
                    Some((Ok::<Bytes, std::io::Error>(chunk), Some((response, seen))))
                }
            }
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(appview: bool) -> ProxySettings {
        ProxySettings {
            appview: appview.then(|| ServiceConfig {
                url: "https://api.example.com".into(),
                did: "did:web:api.example.com".into(),
            }),
            mod_service: None,
            report_service: None,
            allow_private: false,
            headers_timeout: Duration::from_secs(1),
            body_timeout: Duration::from_secs(1),
            max_response_size: 1024,
        }
    }

    #[test]
    fn what_is_proxied() {
        let with = settings(true);
        let without = settings(false);
        let h = Some("did:web:x.example.com#svc");
        // Served here, header or not.
        assert_eq!(plan("com.atproto.repo.getRecord", h, &with), Plan::Local);
        assert_eq!(plan("app.bsky.actor.getPreferences", h, &with), Plan::Local);
        assert_eq!(plan("com.atproto.server.getSession", h, &with), Plan::Local);
        // Any other NSID, whatever its namespace.
        assert_eq!(
            plan("com.example.fancy.doThing", h, &without),
            Plan::Header("did:web:x.example.com#svc")
        );
        assert!(matches!(
            plan("app.bsky.feed.getTimeline", None, &with),
            Plan::Default {
                service_id: "bsky_appview",
                ..
            }
        ));
        assert!(matches!(
            plan("chat.bsky.convo.listConvos", None, &with),
            Plan::Default {
                service_id: "bsky_appview",
                ..
            }
        ));
        // Without a service, the usual error.
        assert_eq!(
            plan("app.bsky.feed.getTimeline", None, &without),
            Plan::Local
        );
        // Known methods left to services.
        assert!(matches!(
            plan("com.atproto.label.queryLabels", None, &with),
            Plan::Default { .. }
        ));
        assert_eq!(
            plan("com.atproto.moderation.createReport", None, &with),
            Plan::Local,
            "no report service configured"
        );
        assert!(matches!(
            plan("app.bsky.ageassurance.getState", None, &with),
            Plan::Default { .. }
        ));
        // Not an NSID: never forwarded.
        assert_eq!(plan("not-an-nsid", h, &with), Plan::Local);
    }

    #[test]
    fn proxy_headers() {
        assert_eq!(
            parse_proxy_header("did:web:api.bsky.app#bsky_appview").unwrap(),
            ("did:web:api.bsky.app", "bsky_appview")
        );
        for (value, message) in [
            ("#svc", "no did specified in proxy header"),
            ("did:web:x.com", "no service id specified in proxy header"),
            ("did:web:x.com#", "no service id specified in proxy header"),
            ("did:web:x.com#a#b", "invalid proxy header format"),
            ("did:web:x.com#a b", "proxy header cannot contain spaces"),
            ("nodid#svc", "could not resolve proxy did"),
        ] {
            let e = parse_proxy_header(value).unwrap_err();
            assert_eq!(e.error, "InvalidRequest");
            assert_eq!(e.message.as_deref(), Some(message), "{value}");
        }
    }

    #[test]
    fn targets() {
        assert_eq!(
            checked_origin("https://api.example.com/some/path", false).unwrap(),
            "https://api.example.com"
        );
        assert!(checked_origin("http://api.example.com", false).is_err());
        assert!(checked_origin("https://127.0.0.1:8080", false).is_err());
        assert!(checked_origin("https://[::1]", false).is_err());
        assert!(checked_origin("https://10.0.0.1", false).is_err());
        assert!(checked_origin("https://user:pw@api.example.com", false).is_err());
        assert!(checked_origin("ftp://api.example.com", true).is_err());
        assert_eq!(
            checked_origin("http://127.0.0.1:8080/", true).unwrap(),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("application/json; charset=utf-8"));
        assert!(is_json_content_type("application/problem+json"));
        assert!(!is_json_content_type("text/html"));
    }
}
