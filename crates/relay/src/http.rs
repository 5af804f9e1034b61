//! The HTTP edge: routes, body limits, and the glue from axum to the generated XRPC dispatch.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::json;
use xrpc::{HttpMethod, Kind, XrpcError, XrpcRequest};

use crate::app::{AppState, Ctx};

/// Largest JSON body (applyWrites with many records stays well below).
pub const JSON_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Largest CAR upload (importRepo).
pub const CAR_BODY_LIMIT: usize = 1024 * 1024 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/xrpc/_health", get(health))
        .route("/xrpc/{nsid}", any(xrpc_handler))
        .route(
            "/.well-known/atproto-did",
            get(crate::api::identity::well_known_atproto_did),
        )
        .route(
            "/.well-known/did.json",
            get(crate::api::identity::well_known_did_json),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(crate::oauth::server::protected_resource),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(crate::oauth::server::authorization_server),
        )
        .route("/oauth/jwks", get(crate::oauth::server::jwks))
        .route("/oauth/par", post(crate::oauth::server::par))
        .route("/oauth/token", post(crate::oauth::server::token))
        .route("/oauth/revoke", post(crate::oauth::server::revoke))
        .route("/oauth/authorize", get(crate::oauth::pages::authorize))
        .route(
            "/oauth/authorize/sign-in",
            post(crate::oauth::pages::sign_in),
        )
        .route(
            "/oauth/authorize/consent",
            post(crate::oauth::pages::consent),
        )
        .route("/account", get(crate::oauth::pages::account))
        .route(
            "/account/sign-in",
            post(crate::oauth::pages::account_sign_in),
        )
        .route(
            "/account/sign-out",
            post(crate::oauth::pages::account_sign_out),
        )
        .route("/account/revoke", post(crate::oauth::pages::account_revoke))
        .route("/", get(root))
        .merge(crate::v1::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(cors))
        .with_state(state)
}

/// CORS as the reference PDS answers it: any origin, preflights (`OPTIONS` on any path) get 204
/// with the methods and the requested headers allowed for a day. Browser clients (the Bluesky
/// web app) need this to talk to the PDS at all.
async fn cors(request: Request, next: axum::middleware::Next) -> Response {
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let requested = request
            .headers()
            .get("access-control-request-headers")
            .cloned();
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(requested) = requested {
            headers.insert("access-control-allow-headers", requested);
            headers.insert(
                "vary",
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
        }
        headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    // Browser OAuth clients must read the DPoP nonce and the auth challenge.
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("DPoP-Nonce, WWW-Authenticate, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, Retry-After, Atproto-Repo-Rev, Atproto-Content-Labelers"),
    );
    response
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

async fn root() -> &'static str {
    "This is an AT Protocol Personal Data Server (relay). Most API routes are under /xrpc/\n"
}

async fn not_found() -> Response {
    error_response(&XrpcError::new(404, "NotFound", "Not Found"))
}

/// Every `/xrpc/<nsid>` request.
async fn xrpc_handler(
    State(state): State<Arc<AppState>>,
    Path(nsid): Path<String>,
    request: Request,
) -> Response {
    let request = match crate::proxy::intercept(&state, &nsid, request).await {
        crate::proxy::Intercept::Answered(response) => return with_dpop_nonce(&state, response),
        crate::proxy::Intercept::Local(request) => request,
    };
    let Some(route) = xrpc::route(&nsid) else {
        return error_response(&XrpcError::not_supported(&nsid));
    };
    let (parts, body) = request.into_parts();
    let remote = remote_addr(&parts);
    let standing = match global_limit(&state, &parts, remote) {
        Ok(standing) => standing,
        Err(response) => return *response,
    };
    let query = parts.uri.query().unwrap_or("").to_owned();
    if route.kind == Kind::Subscription {
        return crate::firehose::upgrade(state, &nsid, &query, parts).await;
    }
    let expected = match route.method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
    };
    let method_ok =
        parts.method == expected || (expected == Method::GET && parts.method == Method::HEAD);
    if !method_ok {
        return error_response(&XrpcError::invalid_request(format!(
            "Incorrect HTTP method ({}) expected {}",
            parts.method, expected
        )));
    }
    let limit = match route.input {
        Some("*/*") => state.config.blob_upload_limit as usize,
        Some("application/vnd.ipld.car") => CAR_BODY_LIMIT,
        _ => JSON_BODY_LIMIT,
    };
    // Blob and CAR bodies (uploadBlob, importRepo) may be far larger than any JSON body, and
    // both methods need a session: check it before buffering, so an anonymous client cannot
    // make the server hold up to the limit in memory (or wait for it) per request.
    let mut ctx = Ctx::new(parts.headers.clone(), remote);
    ctx.method = parts.method.clone();
    ctx.path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    if matches!(route.input, Some(input) if input != "application/json") {
        match crate::service_auth::probe_caller(&state, &ctx, &nsid).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return error_response(&XrpcError::new(
                    401,
                    "AuthMissing",
                    "Authentication Required",
                ))
            }
            Err(e) => return error_response(&e),
        }
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&XrpcError::payload_too_large(format!(
                "request entity too large (limit {limit} bytes)"
            )))
        }
    };
    let content_type = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if route.input == Some("application/json") {
        ctx.json_body = Some(body.clone());
    }
    let response_headers = ctx.response_headers.clone();
    let outcome = xrpc::dispatch(
        &*state,
        ctx,
        XrpcRequest {
            nsid: &nsid,
            query: &query,
            content_type: content_type.as_deref(),
            body: body.to_vec(),
        },
    )
    .await;
    let mut response = match outcome {
        Ok(out) => {
            let mut response = Response::new(Body::from(out.body));
            if let Some(ct) = out.content_type {
                if let Ok(v) = HeaderValue::from_str(&ct) {
                    response.headers_mut().insert("content-type", v);
                }
            }
            response
        }
        Err(e) => error_response(&e),
    };
    // The global standing; a method's own limit (set through the context below) replaces it.
    set_headers(
        &mut response,
        standing
            .iter()
            .flat_map(crate::ratelimit::Standing::headers),
    );
    let asked: Vec<_> = response_headers
        .lock()
        .expect("not poisoned")
        .drain(..)
        .collect();
    set_headers(&mut response, asked);
    if parts.headers.contains_key("dpop") {
        response = with_dpop_nonce(&state, response);
    }
    // A 401 names the schemes that would work (RFC 9110 §11.6.1); DPoP failures set their own.
    if response.status() == StatusCode::UNAUTHORIZED
        && !response.headers().contains_key("www-authenticate")
    {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Bearer, DPoP algs=\"ES256 ES256K\""),
        );
    }
    response
}

/// Adds the current DPoP nonce: clients must refuse a response to a DPoP request that carries
/// none (OAuth spec), and it costs nothing on other responses.
pub(crate) fn with_dpop_nonce(state: &AppState, mut response: Response) -> Response {
    let nonce = state.oauth.dpop.current_nonce(crate::auth::now_secs());
    if let Ok(v) = HeaderValue::from_str(&nonce) {
        response.headers_mut().insert("dpop-nonce", v);
    }
    response
}

/// The peer address. Present when served with connect info (the server and the tests are);
/// axum 0.8 has no optional extractor for it.
pub(crate) fn remote_addr(parts: &axum::http::request::Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// The global per-IP limit, for local and proxied calls alike; over it, the 429 response.
pub(crate) fn global_limit(
    state: &AppState,
    parts: &axum::http::request::Parts,
    remote: Option<SocketAddr>,
) -> Result<Option<crate::ratelimit::Standing>, Box<Response>> {
    state
        .rate_limits
        .check_global(&parts.headers, remote)
        .map_err(|exceeded| {
            let mut response = error_response(&exceeded.error());
            set_headers(&mut response, exceeded.headers());
            Box::new(response)
        })
}

/// Sets response headers, skipping values that are not valid header text.
pub(crate) fn set_headers(
    response: &mut Response,
    values: impl IntoIterator<Item = (&'static str, String)>,
) {
    for (name, value) in values {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
}

/// An XRPC error as its HTTP response: the status and `{"error","message"}`.
pub fn error_response(e: &XrpcError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, e.to_json()).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
