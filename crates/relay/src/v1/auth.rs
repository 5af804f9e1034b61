//! Who is calling a /v1 route: an account session (bearer access token), or a request signed
//! by a registered device key (`wallet::signing`): the timestamp must be within ±60 s of the
//! relay's clock, the signature must cover method, path, timestamp, nonce and body hash, and
//! each nonce is accepted once per device.

use store::sqlite::wallet::Device;
use wallet::signing::{self, MAX_SKEW_SECS};
use xrpc::XrpcError;

use crate::app::AppState;
use crate::auth::Access;
use crate::error::store_error;

use super::{ApiError, V1Request};

/// An authenticated caller.
pub enum Caller {
    /// An account session.
    Session { did: String },
    /// A registered, unrevoked device; `device.did` is `None` while its onboarding waits for
    /// its DID.
    Device { device: Device },
}

impl Caller {
    /// The account's DID; an onboarding device without one is refused.
    pub fn did(&self) -> Result<&str, ApiError> {
        match self {
            Caller::Session { did } => Ok(did),
            Caller::Device { device } => device.did.as_deref().ok_or_else(|| {
                ApiError(XrpcError::invalid_request(
                    "This device's account has no DID yet: finish onboarding with POST /v1/dids",
                ))
            }),
        }
    }

    /// For the key-event log: who did it.
    pub fn actor(&self) -> serde_json::Value {
        match self {
            Caller::Session { .. } => serde_json::json!({ "session": true }),
            Caller::Device { device } => serde_json::json!({ "deviceId": device.id }),
        }
    }
}

impl AppState {
    /// The caller of a /v1 request: a device signature when the request carries one, else the
    /// session. Neither is `AuthMissing` (401).
    pub(crate) async fn v1_caller(&self, request: &V1Request) -> Result<Caller, ApiError> {
        if request.headers.contains_key(signing::HEADER_DEVICE)
            || request.headers.contains_key(signing::HEADER_SIGNATURE)
        {
            return self
                .signed_device(request)
                .await
                .map(|device| Caller::Device { device });
        }
        let caller = self.caller(&request.ctx, Access::Full).await?;
        Ok(Caller::Session { did: caller.did })
    }

    /// The device that signed the request; every check refuses with 401.
    pub(crate) async fn signed_device(&self, request: &V1Request) -> Result<Device, ApiError> {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| bad_signature(format!("The {name} header is missing")))
        };
        let device_id = header(signing::HEADER_DEVICE)?;
        let timestamp: i64 = header(signing::HEADER_TIMESTAMP)?
            .parse()
            .map_err(|_| bad_signature("The timestamp is not a number of seconds".into()))?;
        let nonce = header(signing::HEADER_NONCE)?;
        let signature = header(signing::HEADER_SIGNATURE)?;
        let now = super::now_ms() / 1000;
        if (now - timestamp).abs() > MAX_SKEW_SECS {
            return Err(bad_signature(format!(
                "The request's timestamp is more than {MAX_SKEW_SECS} s from the relay's clock"
            )));
        }
        if !signing::is_valid_nonce(nonce) {
            return Err(bad_signature(
                "The nonce must be 16 to 64 characters of A-Z a-z 0-9 - _".into(),
            ));
        }
        let device = self
            .store
            .device(device_id)
            .await
            .map_err(store_error)?
            .filter(|d| d.revoked_at_ms.is_none())
            .ok_or_else(|| bad_signature("Unknown or revoked device".into()))?;
        let verified = signing::verify_request(
            &device.public_key,
            request.method.as_str(),
            &request.path_and_query,
            timestamp,
            nonce,
            &request.body,
            signature,
        );
        if !verified {
            return Err(bad_signature(
                "The request signature does not verify".into(),
            ));
        }
        // As for sessions: a device speaks for an account only while the relay hosts it. (A user
        // whose account was taken down still controls the DID: the wallet submits to the PLC
        // directory itself.)
        if let Some(did) = &device.did {
            use store::Store;
            let account = self
                .store
                .account_by_did(did)
                .await
                .map_err(store_error)?
                .ok_or_else(|| XrpcError::invalid_token("Account not found"))?;
            match account.status {
                store::AccountStatus::Takendown => {
                    return Err(ApiError(XrpcError::new(
                        401,
                        "AccountTakedown",
                        "Account has been taken down",
                    )))
                }
                store::AccountStatus::Deleted => {
                    return Err(ApiError(XrpcError::invalid_token("Account not found")))
                }
                _ => {}
            }
        }
        // Kept past the end of the window, so a replay inside it is always seen.
        let keep_until = (timestamp + 2 * MAX_SKEW_SECS) * 1000;
        if !self
            .store
            .use_nonce(&device.id, nonce, keep_until)
            .await
            .map_err(store_error)?
        {
            return Err(bad_signature("The nonce was already used".into()));
        }
        Ok(device)
    }
}

fn bad_signature(message: String) -> ApiError {
    ApiError(XrpcError::new(401, "InvalidSignature", message))
}
