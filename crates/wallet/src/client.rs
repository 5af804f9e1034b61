//! The /v1 provisioning client, without I/O: each step builds a [`Request`] (method, path,
//! headers, body) and reads a [`Response`]; the caller sends the bytes with whatever HTTP stack
//! it has (reqwest in the CLI, URLSession on iOS) and supplies the clock and the nonces.

use crypto::Keypair;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api;
use crate::signing;

/// An HTTP request to send to the relay (the path is relative to its base URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// The relay's answer, as the caller received it.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The relay refused, with its `{"error","message"}`.
    #[error("the relay answered {status} {error}: {message}")]
    Api {
        status: u16,
        error: String,
        message: String,
    },
    /// The answer is not the expected JSON.
    #[error("the relay's answer does not parse: {0}")]
    Decode(String),
    /// A signed request before the device is registered.
    #[error("the device is not registered yet (no device id)")]
    NotRegistered,
}

/// A device talking to one relay: its key, and its id once registered.
pub struct Provisioner {
    key: Keypair,
    device_id: Option<String>,
}

impl Provisioner {
    pub fn new(key: Keypair, device_id: Option<String>) -> Provisioner {
        Provisioner { key, device_id }
    }

    pub fn device_key(&self) -> &Keypair {
        &self.key
    }

    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    pub fn set_device_id(&mut self, id: String) {
        self.device_id = Some(id);
    }

    /// Step 1: ask for a registration challenge.
    pub fn challenge(&self) -> Request {
        json_request("POST", "/v1/challenges", &serde_json::json!({}), Vec::new())
    }

    /// Step 2: create the account and bind this device in one call, proving the key with the
    /// challenge.
    pub fn create_mobile_account(
        &self,
        handle: &str,
        email: &str,
        password: &str,
        invite_code: Option<&str>,
        device_name: &str,
        challenge: &api::Challenge,
    ) -> Request {
        let body = api::CreateMobileAccount {
            handle: handle.to_owned(),
            email: email.to_owned(),
            password: password.to_owned(),
            invite_code: invite_code.map(str::to_owned),
            device: self.proof(device_name, challenge),
        };
        json_request("POST", "/v1/accounts/mobile", &body, Vec::new())
    }

    /// A registration proof for this device's key.
    pub fn proof(&self, device_name: &str, challenge: &api::Challenge) -> api::DeviceProof {
        api::DeviceProof {
            public_key: self.key.did_key(),
            name: device_name.to_owned(),
            challenge: challenge.challenge.clone(),
            signature: signing::sign_challenge(&self.key, &challenge.challenge),
        }
    }

    /// Step 3: the DID, from this device's key, the recovery key and the escrow share.
    pub fn create_did(
        &self,
        recovery_key: &str,
        escrow_share: &str,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Request, ClientError> {
        let body = api::CreateDid {
            device_key: self.key.did_key(),
            recovery_key: recovery_key.to_owned(),
            escrow_share: escrow_share.to_owned(),
        };
        self.signed("POST", "/v1/dids", Some(&body), timestamp, nonce)
    }

    /// Any request, signed by this device (method, path, timestamp, nonce, body hash).
    pub fn signed<T: Serialize>(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&T>,
        timestamp: i64,
        nonce: &str,
    ) -> Result<Request, ClientError> {
        let device_id = self
            .device_id
            .as_deref()
            .ok_or(ClientError::NotRegistered)?;
        let body = match body {
            Some(body) => serde_json::to_vec(body).expect("API bodies serialize"),
            None => Vec::new(),
        };
        let mut headers =
            signing::sign_request(&self.key, device_id, method, path, timestamp, nonce, &body);
        if !body.is_empty() {
            headers.push(("content-type", "application/json".into()));
        }
        Ok(Request {
            method,
            path: path.to_owned(),
            headers,
            body,
        })
    }
}

fn json_request<T: Serialize>(
    method: &'static str,
    path: &str,
    body: &T,
    mut headers: Vec<(&'static str, String)>,
) -> Request {
    headers.push(("content-type", "application/json".into()));
    Request {
        method,
        path: path.to_owned(),
        headers,
        body: serde_json::to_vec(body).expect("API bodies serialize"),
    }
}

/// Reads a successful answer as `T`, or the relay's error.
pub fn read<T: DeserializeOwned>(response: &Response) -> Result<T, ClientError> {
    if !(200..300).contains(&response.status) {
        let error: api::ErrorBody =
            serde_json::from_slice(&response.body).unwrap_or_else(|_| api::ErrorBody {
                error: "Unknown".into(),
                message: String::from_utf8_lossy(&response.body).into_owned(),
            });
        return Err(ClientError::Api {
            status: response.status,
            error: error.error,
            message: error.message,
        });
    }
    serde_json::from_slice(&response.body).map_err(|e| ClientError::Decode(e.to_string()))
}
