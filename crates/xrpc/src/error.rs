//! The XRPC error: the one place where a failure becomes an error name, a
//! message and an HTTP status.
//!
//! The wire form is the JSON object `{"error": "Name", "message": "..."}`
//! (atproto spec, "HTTP API (XRPC)", section "Error Responses"). The status is
//! not part of the body; it travels as the HTTP status line.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An XRPC error response: a name from the spec or from a lexicon's `errors`,
/// an optional human-readable message, and the HTTP status to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XrpcError {
    /// HTTP status code. Not serialised: it is the response's status line.
    #[serde(skip, default = "default_status")]
    pub status: u16,
    /// Error name, e.g. `InvalidRequest` or a lexicon-declared name such as
    /// `RecordNotFound`.
    pub error: Cow<'static, str>,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn default_status() -> u16 {
    400
}

impl XrpcError {
    /// An error with an explicit status, name and message.
    pub fn new(
        status: u16,
        error: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: error.into(),
            message: Some(message.into()),
        }
    }

    /// 400 `InvalidRequest`: the request does not match the lexicon (bad
    /// params, bad body, wrong content type).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidRequest", message)
    }

    /// 400 `ExpiredToken`.
    pub fn expired_token(message: impl Into<String>) -> Self {
        Self::new(400, "ExpiredToken", message)
    }

    /// 400 `InvalidToken`.
    pub fn invalid_token(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidToken", message)
    }

    /// 401 `AuthenticationRequired`.
    pub fn authentication_required(message: impl Into<String>) -> Self {
        Self::new(401, "AuthenticationRequired", message)
    }

    /// 403 `Forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    /// 404 `XRPCNotSupported`: the NSID is not served here and cannot be
    /// proxied.
    pub fn not_supported(nsid: &str) -> Self {
        Self::new(
            404,
            "XRPCNotSupported",
            format!("method not supported: {nsid}"),
        )
    }

    /// 413 `PayloadTooLarge`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(413, "PayloadTooLarge", message)
    }

    /// 429 `RateLimitExceeded`.
    pub fn rate_limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(429, "RateLimitExceeded", message)
    }

    /// 500 `InternalServerError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalServerError", message)
    }

    /// 501 `MethodNotImplemented`: a known NSID this server does not (yet)
    /// implement. Used by the generated handler traits' default methods.
    pub fn method_not_implemented(nsid: &str) -> Self {
        Self::new(
            501,
            "MethodNotImplemented",
            format!("method not implemented: {nsid}"),
        )
    }

    /// 502 `UpstreamFailure`.
    pub fn upstream_failure(message: impl Into<String>) -> Self {
        Self::new(502, "UpstreamFailure", message)
    }

    /// 503 `NotEnoughResources`.
    pub fn not_enough_resources(message: impl Into<String>) -> Self {
        Self::new(503, "NotEnoughResources", message)
    }

    /// 504 `UpstreamTimeout`.
    pub fn upstream_timeout(message: impl Into<String>) -> Self {
        Self::new(504, "UpstreamTimeout", message)
    }

    /// A lexicon-declared error (status 400, as the reference server answers
    /// declared errors), without a message.
    pub fn declared(name: &'static str) -> Self {
        Self {
            status: 400,
            error: Cow::Borrowed(name),
            message: None,
        }
    }

    /// Replaces the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Replaces the HTTP status.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The response body: `{"error": ..., "message": ...}` as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising a struct of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl fmt::Display for XrpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.error, self.status)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for XrpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_name_and_message_but_not_status() {
        let err = XrpcError::invalid_request("bad");
        let body: serde_json::Value = serde_json::from_slice(&err.to_json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "InvalidRequest", "message": "bad"})
        );
        assert_eq!(err.status, 400);
    }

    #[test]
    fn declared_error_omits_absent_message() {
        let err = XrpcError::declared("RecordNotFound");
        assert_eq!(err.to_json(), br#"{"error":"RecordNotFound"}"#);
        assert_eq!(err.to_string(), "RecordNotFound (400)");
    }

    #[test]
    fn not_implemented_is_501() {
        let err = XrpcError::method_not_implemented("com.atproto.temp.checkSignupQueue");
        assert_eq!(err.status, 501);
        assert_eq!(err.error, "MethodNotImplemented");
    }
}
