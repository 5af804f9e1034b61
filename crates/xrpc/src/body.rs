//! Request and response bodies as the generated dispatcher sees them.
//!
//! The server framework (axum, in the relay) turns its request into an
//! [`XrpcRequest`] and an [`XrpcResponse`] back into HTTP; nothing here knows
//! about sockets or a particular framework.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::XrpcError;

/// The JSON media type.
pub const JSON: &str = "application/json";

/// Non-JSON bytes with their media type: a blob upload or download, a CAR
/// import or export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBody {
    /// The media type, e.g. `image/png` or `application/vnd.ipld.car`.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// An incoming XRPC call, already split by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrpcRequest<'a> {
    /// The NSID from the path `/xrpc/<nsid>`.
    pub nsid: &'a str,
    /// The raw query string, without `?` (empty if none).
    pub query: &'a str,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The request body (empty if none).
    pub body: Vec<u8>,
}

impl XrpcRequest<'_> {
    /// Decodes a JSON body declared with `encoding`, checking the content type.
    pub fn json_input<T: DeserializeOwned>(&self, encoding: &str) -> Result<T, XrpcError> {
        self.check_encoding(encoding)?;
        serde_json::from_slice(&self.body)
            .map_err(|e| XrpcError::invalid_request(format!("invalid input: {e}")))
    }

    /// Takes a non-JSON body declared with `encoding` (`*/*` accepts any type).
    pub fn raw_input(self, encoding: &str) -> Result<RawBody, XrpcError> {
        let content_type = self.check_encoding(encoding)?;
        Ok(RawBody {
            content_type,
            bytes: self.body,
        })
    }

    /// Checks that a method without a declared input got no body.
    pub fn no_input(&self) -> Result<(), XrpcError> {
        if self.body.is_empty() {
            Ok(())
        } else {
            Err(XrpcError::invalid_request(
                "a request body was provided when none was expected",
            ))
        }
    }

    fn check_encoding(&self, encoding: &str) -> Result<String, XrpcError> {
        let Some(content_type) = self.content_type.filter(|c| !c.trim().is_empty()) else {
            if encoding == "*/*" {
                return Ok("application/octet-stream".to_owned());
            }
            return Err(XrpcError::invalid_request(format!(
                "request encoding (Content-Type) required: {encoding}"
            )));
        };
        if encoding != "*/*" && !media_type_matches(content_type, encoding) {
            return Err(XrpcError::invalid_request(format!(
                "wrong request encoding (Content-Type): {content_type}, expected {encoding}"
            )));
        }
        Ok(content_type.to_owned())
    }
}

/// `true` if `content_type` (which may carry parameters such as `charset`)
/// names the media type `expected`, ignoring case.
fn media_type_matches(content_type: &str, expected: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(expected)
}

/// A successful XRPC response body (the status is always 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrpcResponse {
    /// The media type, or `None` when the method has no output.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

impl XrpcResponse {
    /// An empty 200 response, for methods without output.
    pub fn empty() -> Self {
        Self {
            content_type: None,
            body: Vec::new(),
        }
    }

    /// A JSON response.
    pub fn json<T: Serialize>(value: &T) -> Result<Self, XrpcError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| XrpcError::internal(format!("could not encode output: {e}")))?;
        Ok(Self {
            content_type: Some(JSON.to_owned()),
            body,
        })
    }

    /// A raw (blob or CAR) response.
    pub fn raw(body: RawBody) -> Self {
        Self {
            content_type: Some(body.content_type),
            body: body.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: Option<&'static str>, body: &[u8]) -> XrpcRequest<'static> {
        XrpcRequest {
            nsid: "com.atproto.repo.uploadBlob",
            query: "",
            content_type,
            body: body.to_vec(),
        }
    }

    #[test]
    fn json_input_checks_media_type_with_parameters() {
        let ok: serde_json::Value = request(Some("application/json; charset=utf-8"), b"{}")
            .json_input(JSON)
            .unwrap();
        assert_eq!(ok, serde_json::json!({}));
        let err = request(Some("text/plain"), b"{}")
            .json_input::<serde_json::Value>(JSON)
            .unwrap_err();
        assert_eq!(err.error, "InvalidRequest");
        assert!(request(None, b"{}")
            .json_input::<serde_json::Value>(JSON)
            .is_err());
        assert!(request(Some(JSON), b"{")
            .json_input::<serde_json::Value>(JSON)
            .is_err());
    }

    #[test]
    fn raw_input_accepts_any_type_for_star() {
        let body = request(Some("image/png"), b"png").raw_input("*/*").unwrap();
        assert_eq!(body.content_type, "image/png");
        let body = request(None, b"x").raw_input("*/*").unwrap();
        assert_eq!(body.content_type, "application/octet-stream");
        assert!(request(Some("image/png"), b"x")
            .raw_input("application/vnd.ipld.car")
            .is_err());
    }

    #[test]
    fn no_input_rejects_a_body() {
        assert!(request(None, b"").no_input().is_ok());
        assert!(request(None, b"x").no_input().is_err());
    }
}
