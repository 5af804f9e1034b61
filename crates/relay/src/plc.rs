//! The PLC directory client: submits did:plc operations and reads a DID's state, log and
//! document (did:plc spec v0.3, "Directory HTTP API").
//!
//! The directory is a fixed, operator-configured host (`PDS_DID_PLC_URL`), not a URL a user
//! chose, so this is not the SSRF-hardened client: it refuses plain http outside dev mode, caps
//! every answer's size and the time a call may take, and follows no redirects. Every error names
//! the directory and what it answered, so an operator can tell a bad operation from an outage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use identity::{AuditedLog, LogEntry, PlcState, Service, SignedOp};
use serde_json::Value as Json;

/// A call (connect, send, read the whole answer) gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest document, state or single operation accepted (an operation is at most 7,500 bytes).
const MAX_DOC_BYTES: usize = 256 * 1024;
/// Largest audit log accepted (a log of many updates; each entry is under 8 KB).
const MAX_LOG_BYTES: usize = 8 * 1024 * 1024;
/// DID documents are cached this long for session responses (`didDoc` in getSession etc.).
const DOC_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
const DOC_CACHE_MAX: usize = 10_000;

/// What went wrong talking to the directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlcError {
    /// The directory could not be reached, or the connection failed mid-answer.
    #[error("the PLC directory at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    /// The directory does not know the DID (404).
    #[error("the PLC directory at {url} does not know {did}")]
    NotFound { url: String, did: String },
    /// The DID was deactivated with a tombstone (the directory answers 410).
    #[error("{did} is tombstoned (deactivated) at the PLC directory at {url}")]
    Tombstoned { url: String, did: String },
    /// Any other non-success answer, with the directory's own message.
    #[error("the PLC directory at {url} answered {status}: {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    /// The answer was larger than this client accepts.
    #[error("the PLC directory at {url} sent more than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    /// The answer did not parse, or does not hold together (bad operation, invalid log).
    #[error("the PLC directory at {url} sent an invalid answer: {reason}")]
    Invalid { url: String, reason: String },
}

/// A client for one PLC directory.
pub struct PlcClient {
    base: String,
    http: reqwest::Client,
    docs: Mutex<HashMap<String, (Instant, Json)>>,
}

impl PlcClient {
    /// A client for the directory at `base_url` (`https://plc.directory`). Plain `http` is
    /// accepted only in dev mode, where the directory is a local one.
    pub fn new(base_url: &str, dev_mode: bool) -> Result<PlcClient, String> {
        let base = base_url.trim_end_matches('/').to_owned();
        let rest = if let Some(rest) = base.strip_prefix("https://") {
            rest
        } else if let Some(rest) = base.strip_prefix("http://") {
            if !dev_mode {
                return Err(format!(
                    "the PLC directory URL {base:?} must be https (plain http needs PDS_DEV_MODE=true)"
                ));
            }
            rest
        } else {
            return Err(format!(
                "the PLC directory URL {base:?} must start with https://"
            ));
        };
        if rest.is_empty() || rest.contains(['?', '#', '@']) {
            return Err(format!(
                "the PLC directory URL {base:?} must be a plain origin such as https://plc.directory"
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(PlcClient {
            base,
            http,
            docs: Mutex::new(HashMap::new()),
        })
    }

    /// The directory's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Submits a signed operation for `did` (`POST /:did`). The directory checks it against the
    /// DID's log and answers 200 when it is accepted.
    pub async fn submit(&self, did: &str, op: &SignedOp) -> Result<(), PlcError> {
        let url = format!("{}/{}", self.base, did);
        let response = self
            .http
            .post(&url)
            .json(&op.to_json())
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        self.forget_document(did);
        self.read(response, did, MAX_DOC_BYTES).await.map(|_| ())
    }

    /// The DID's current state (`GET /:did/data`).
    pub async fn data(&self, did: &str) -> Result<PlcState, PlcError> {
        let json = self
            .get_json(&format!("{did}/data"), did, MAX_DOC_BYTES)
            .await?;
        parse_state(did, &json).map_err(|reason| self.invalid(reason))
    }

    /// The last operation of the DID's active history (`GET /:did/log/last`).
    pub async fn last_op(&self, did: &str) -> Result<SignedOp, PlcError> {
        let json = self
            .get_json(&format!("{did}/log/last"), did, MAX_DOC_BYTES)
            .await?;
        SignedOp::from_json(&json).map_err(|e| self.invalid(format!("last operation: {e}")))
    }

    /// Every operation the directory accepted for the DID, nullified ones included
    /// (`GET /:did/log/audit`), parsed but not validated.
    pub async fn audit_log(&self, did: &str) -> Result<Vec<LogEntry>, PlcError> {
        let json = self
            .get_json(&format!("{did}/log/audit"), did, MAX_LOG_BYTES)
            .await?;
        identity::parse_audit_log(&json).map_err(|e| self.invalid(format!("audit log: {e}")))
    }

    /// The audit log, replayed and checked: the DID's current state and the head an update
    /// must follow. Nothing the directory says is trusted without this check.
    pub async fn audited(&self, did: &str) -> Result<AuditedLog, PlcError> {
        let entries = self.audit_log(did).await?;
        identity::validate_audit_log(did, &entries)
            .map_err(|e| self.invalid(format!("audit log of {did}: {e}")))
    }

    /// The DID document (`GET /:did`).
    pub async fn did_document(&self, did: &str) -> Result<Json, PlcError> {
        let doc = self.get_json(did, did, MAX_DOC_BYTES).await?;
        if doc.get("id").and_then(Json::as_str) != Some(did) {
            return Err(self.invalid(format!("the document's id is not {did}")));
        }
        Ok(doc)
    }

    /// The DID document from a short-lived cache, fetched when missing; `None` when it cannot
    /// be had (session responses carry `didDoc` only when it resolves, as the reference's do).
    pub async fn cached_did_document(&self, did: &str) -> Option<Json> {
        if let Some((at, doc)) = self.docs.lock().expect("not poisoned").get(did) {
            if at.elapsed() < DOC_CACHE_TTL {
                return Some(doc.clone());
            }
        }
        let doc = self.did_document(did).await.ok()?;
        let mut docs = self.docs.lock().expect("not poisoned");
        if docs.len() >= DOC_CACHE_MAX {
            docs.retain(|_, (at, _)| at.elapsed() < DOC_CACHE_TTL);
            if docs.len() >= DOC_CACHE_MAX {
                docs.clear();
            }
        }
        docs.insert(did.to_owned(), (Instant::now(), doc.clone()));
        Some(doc)
    }

    /// Drops a cached document (after an operation changed it).
    pub fn forget_document(&self, did: &str) {
        self.docs.lock().expect("not poisoned").remove(did);
    }

    async fn get_json(&self, path: &str, did: &str, limit: usize) -> Result<Json, PlcError> {
        let url = format!("{}/{}", self.base, path);
        let response = self
            .http
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let body = self.read(response, did, limit).await?;
        serde_json::from_slice(&body).map_err(|e| self.invalid(format!("not JSON: {e}")))
    }

    /// Reads an answer whole, within `limit` bytes, turning failures into [`PlcError`]s.
    async fn read(
        &self,
        mut response: reqwest::Response,
        did: &str,
        limit: usize,
    ) -> Result<Vec<u8>, PlcError> {
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(self.too_large(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(&e))? {
            if body.len() + chunk.len() > limit {
                return Err(self.too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        match status.as_u16() {
            404 => Err(PlcError::NotFound {
                url: self.base.clone(),
                did: did.to_owned(),
            }),
            410 => Err(PlcError::Tombstoned {
                url: self.base.clone(),
                did: did.to_owned(),
            }),
            code => Err(PlcError::Refused {
                url: self.base.clone(),
                status: code,
                message: error_message(&body),
            }),
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> PlcError {
        let reason = if e.is_timeout() {
            format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
        } else if e.is_connect() {
            "connection failed".to_owned()
        } else {
            e.to_string()
        };
        PlcError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }

    fn too_large(&self, limit: usize) -> PlcError {
        PlcError::TooLarge {
            url: self.base.clone(),
            limit,
        }
    }

    fn invalid(&self, reason: impl Into<String>) -> PlcError {
        PlcError::Invalid {
            url: self.base.clone(),
            reason: reason.into(),
        }
    }
}

/// The directory's error message: its JSON `message` when there is one, else the text itself
/// (shortened).
fn error_message(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<Json>(body) {
        if let Some(message) = json.get("message").and_then(Json::as_str) {
            return message.to_owned();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no message".to_owned();
    }
    text.chars().take(300).collect()
}

/// Parses the `/:did/data` form into a [`PlcState`].
fn parse_state(did: &str, json: &Json) -> Result<PlcState, String> {
    let strings = |field: &str| -> Result<Vec<String>, String> {
        json.get(field)
            .and_then(Json::as_array)
            .ok_or_else(|| format!("`{field}` is not an array"))?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{field}` holds a non-string"))
            })
            .collect()
    };
    if let Some(got) = json.get("did").and_then(Json::as_str) {
        if got != did {
            return Err(format!("state is for {got}, not {did}"));
        }
    }
    let verification_methods = json
        .get("verificationMethods")
        .and_then(Json::as_object)
        .ok_or("`verificationMethods` is not an object")?
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_owned()))
                .ok_or_else(|| format!("verification method {k} is not a string"))
        })
        .collect::<Result<_, _>>()?;
    let services = json
        .get("services")
        .and_then(Json::as_object)
        .ok_or("`services` is not an object")?
        .iter()
        .map(|(k, v)| {
            let field = |name: &str| {
                v.get(name)
                    .and_then(Json::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("service {k} has no string `{name}`"))
            };
            Ok((
                k.clone(),
                Service {
                    service_type: field("type")?,
                    endpoint: field("endpoint")?,
                },
            ))
        })
        .collect::<Result<_, String>>()?;
    Ok(PlcState {
        did: did.to_owned(),
        rotation_keys: strings("rotationKeys")?,
        verification_methods,
        also_known_as: strings("alsoKnownAs")?,
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_outside_dev_mode() {
        assert!(PlcClient::new("https://plc.directory/", false).is_ok());
        assert_eq!(
            PlcClient::new("https://plc.directory/", false)
                .unwrap()
                .url(),
            "https://plc.directory"
        );
        let err = PlcClient::new("http://localhost:2582", false)
            .err()
            .unwrap();
        assert!(err.contains("PDS_DEV_MODE"), "{err}");
        assert!(PlcClient::new("http://localhost:2582", true).is_ok());
        assert!(PlcClient::new("ftp://plc.directory", true).is_err());
        assert!(PlcClient::new("https://user@plc.directory", true).is_err());
        assert!(PlcClient::new("https://", true).is_err());
    }

    #[test]
    fn state_round_trips_through_the_data_form() {
        let key = crypto::Keypair::generate(crypto::Algorithm::K256);
        let op = identity::genesis_op(
            vec![key.did_key()],
            &key.did_key(),
            "alice.test",
            "https://pds.example.com",
        )
        .unwrap()
        .sign(&key)
        .unwrap();
        let did = op.did().unwrap();
        let state = op.to_state(&did).unwrap();
        assert_eq!(parse_state(&did, &state.to_json()).unwrap(), state);
        assert!(parse_state("did:plc:other", &state.to_json()).is_err());
        assert!(parse_state(&did, &serde_json::json!({"did": did})).is_err());
    }

    #[test]
    fn error_messages_come_from_the_directory() {
        assert_eq!(
            error_message(br#"{"message":"Invalid signature"}"#),
            "Invalid signature"
        );
        assert_eq!(error_message(b"  oops "), "oops");
        assert_eq!(error_message(b""), "no message");
    }
}
