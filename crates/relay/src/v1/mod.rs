//! The relay's /v1 API (DESIGN.md §5, the v0.1 row): provisioning, devices, keys and recovery
//! shares, beside XRPC. JSON in and out; errors are `{"error","message"}` like XRPC's; the
//! OpenAPI 3.1 document at `/v1/openapi.json` describes every route in [`ROUTES`] (a test checks
//! that the two agree).
//!
//! - `auth.rs`: who is calling: an account session, or a request signed by a registered device.
//! - `accounts.rs`: registration challenges, `POST /v1/accounts` and `/v1/accounts/mobile`.
//! - `dids.rs`: the DID ceremony (`POST /v1/dids`) and client-signed rotations.
//! - `devices.rs`, `keys.rs`: devices; escrowed share, key-event log, relay signing keys, mode.
//!
//! The wire types are `wallet::api`, shared with the client.

mod accounts;
mod auth;
mod devices;
mod dids;
mod keys;
pub mod openapi;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};

/// Largest /v1 request body.
const BODY_LIMIT: usize = 64 * 1024;

/// Every /v1 route: method, axum path, OpenAPI path. The router is built from this table and
/// the OpenAPI test checks the document against it.
pub const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/v1/openapi.json", "/v1/openapi.json"),
    ("POST", "/v1/challenges", "/v1/challenges"),
    ("POST", "/v1/accounts", "/v1/accounts"),
    ("POST", "/v1/accounts/mobile", "/v1/accounts/mobile"),
    ("POST", "/v1/dids", "/v1/dids"),
    ("POST", "/v1/dids/{did}/rotate", "/v1/dids/{did}/rotate"),
    ("POST", "/v1/devices", "/v1/devices"),
    ("GET", "/v1/devices/{id}/status", "/v1/devices/{id}/status"),
    ("DELETE", "/v1/devices/{id}", "/v1/devices/{id}"),
    ("GET", "/v1/keys/shares/{id}", "/v1/keys/shares/{id}"),
    ("PUT", "/v1/keys/shares/{id}", "/v1/keys/shares/{id}"),
    ("GET", "/v1/keys/rotation-log", "/v1/keys/rotation-log"),
    ("POST", "/v1/relay/keys", "/v1/relay/keys"),
    ("DELETE", "/v1/relay/keys/{keyId}", "/v1/relay/keys/{keyId}"),
    ("GET", "/v1/relay/mode", "/v1/relay/mode"),
];

/// The /v1 routes, to merge into the relay's router.
pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    let mut paths: Vec<&str> = ROUTES.iter().map(|(_, path, _)| *path).collect();
    paths.dedup();
    for path in paths {
        let methods = ROUTES
            .iter()
            .filter(|(_, p, _)| *p == path)
            .map(|(method, _, _)| handler(method, path))
            .reduce(MethodRouter::merge)
            .expect("the path is in the table");
        router = router.route(path, methods);
    }
    router.layer(axum::middleware::map_response(json_errors))
}

/// Answers axum gives by itself (405 for a method a route lacks, 400 for a path it cannot
/// decode) come as plain text; every /v1 error is `{"error","message"}`, so those are rewritten.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (name, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("MethodNotAllowed", "Method not allowed on this route"),
        StatusCode::PAYLOAD_TOO_LARGE => ("PayloadTooLarge", "Request entity too large"),
        s if s.is_server_error() => ("InternalServerError", "Internal Server Error"),
        _ => ("InvalidRequest", "Invalid request"),
    };
    let allow = response.headers().get("allow").cloned();
    let mut rewritten = ApiError(XrpcError::new(status.as_u16(), name, message)).into_response();
    if let Some(allow) = allow {
        rewritten.headers_mut().insert("allow", allow);
    }
    rewritten
}

fn handler(method: &str, path: &str) -> MethodRouter<Arc<AppState>> {
    match (method, path) {
        ("GET", "/v1/openapi.json") => get(openapi::serve),
        ("POST", "/v1/challenges") => post(accounts::create_challenge),
        ("POST", "/v1/accounts") => post(accounts::create_account),
        ("POST", "/v1/accounts/mobile") => post(accounts::create_mobile_account),
        ("POST", "/v1/dids") => post(dids::create_did),
        ("POST", "/v1/dids/{did}/rotate") => post(dids::rotate_did),
        ("POST", "/v1/devices") => post(devices::register),
        ("GET", "/v1/devices/{id}/status") => get(devices::status),
        ("DELETE", "/v1/devices/{id}") => delete(devices::revoke),
        ("GET", "/v1/keys/shares/{id}") => get(keys::get_share),
        ("PUT", "/v1/keys/shares/{id}") => put(keys::put_share),
        ("GET", "/v1/keys/rotation-log") => get(keys::rotation_log),
        ("POST", "/v1/relay/keys") => post(keys::rotate_relay_key),
        ("DELETE", "/v1/relay/keys/{keyId}") => delete(keys::revoke_relay_key),
        ("GET", "/v1/relay/mode") => get(keys::relay_mode),
        _ => unreachable!("every route in ROUTES has a handler: {method} {path}"),
    }
}

/// An error answer: the XRPC error shape and status.
pub struct ApiError(pub XrpcError);

impl From<XrpcError> for ApiError {
    fn from(e: XrpcError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::http::error_response(&self.0)
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// A JSON answer with `status`.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> ApiResult {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| XrpcError::internal(format!("cannot encode the answer: {e}")))?;
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A /v1 request, read whole: what authentication and the handlers need.
pub struct V1Request {
    pub method: Method,
    /// Path and query, exactly as sent (what a device signs).
    pub path_and_query: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub ctx: Ctx,
}

impl V1Request {
    pub async fn read(request: Request) -> Result<V1Request, ApiError> {
        let (parts, body) = request.into_parts();
        let remote = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
            XrpcError::payload_too_large(format!(
                "request entity too large (limit {BODY_LIMIT} bytes)"
            ))
        })?;
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        Ok(V1Request {
            method: parts.method,
            query: parts.uri.query().unwrap_or("").to_owned(),
            path_and_query,
            ctx: Ctx::new(parts.headers.clone(), remote),
            headers: parts.headers,
            body,
        })
    }

    /// The body as `T`; a missing or malformed body is `InvalidRequest` (400).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let is_json = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(XrpcError::invalid_request(
                "Wrong request encoding (Content-Type): application/json required",
            )
            .into());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid request body: {e}")).into())
    }
}

pub fn not_found(what: &str) -> ApiError {
    ApiError(XrpcError::new(404, "NotFound", what))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub fn iso(ms: i64) -> String {
    syntax::Datetime::from_unix_micros(ms.saturating_mul(1000))
        .map(|d| d.to_rfc3339_millis())
        .unwrap_or_default()
}

/// A random id with a prefix naming what it is (`dev_…`, `acct_…`).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}
