//! Registration challenges and account creation: the web path (a stock account, the relay
//! holding the rotation key) and the mobile path (account and device key bound in one call;
//! the DID follows with `POST /v1/dids`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use crypto::PublicKey;
use store::sqlite::wallet::{Device, PendingAccount};
use store::Store;
use wallet::api;
use xrpc::com::atproto::server::create_account;
use xrpc::com::atproto::server::ComAtprotoServerHandler as _;
use xrpc::XrpcError;

use crate::api::server::{handle_taken, hash_blocking};
use crate::app::AppState;
use crate::error::store_error;
use crate::handles::{self, HandleRules};

use super::{json, new_id, now_ms, ApiError, ApiResult, V1Request};

/// A challenge must be answered within this time.
const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
const MAX_PASSWORD_LENGTH: usize = 256;
const MAX_DEVICE_NAME_LENGTH: usize = 100;

/// `POST /v1/challenges`.
pub async fn create_challenge(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    state.limit_create_account(&request.ctx)?;
    let challenge = new_id("ch");
    let expires = now_ms() + CHALLENGE_TTL_MS;
    state
        .store
        .put_challenge(&challenge, expires)
        .await
        .map_err(store_error)?;
    json(
        StatusCode::CREATED,
        &api::Challenge {
            challenge,
            expires_at: super::iso(expires),
        },
    )
}

/// `POST /v1/accounts`: com.atproto.server.createAccount under another name, for the web.
pub async fn create_account(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    let body: api::CreateAccount = request.json()?;
    let input: create_account::Input = serde_json::from_value(serde_json::json!({
        "handle": body.handle,
        "email": body.email,
        "password": body.password,
        "inviteCode": body.invite_code,
        "recoveryKey": body.recovery_key,
    }))
    .map_err(|e| XrpcError::invalid_request(format!("Invalid handle: {e}")))?;
    let output = state.create_account(request.ctx, input).await?;
    json(
        StatusCode::CREATED,
        &api::AccountCreated {
            did: output.did.as_str().to_owned(),
            handle: output.handle.as_str().to_owned(),
            access_jwt: output.access_jwt.clone(),
            refresh_jwt: output.refresh_jwt.clone(),
        },
    )
}

/// `POST /v1/accounts/mobile`: an onboarding with its device, checked as createAccount checks
/// its input, the device proving its key by signing a challenge.
pub async fn create_mobile_account(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    state.limit_create_account(&request.ctx)?;
    let body: api::CreateMobileAccount = request.json()?;
    if body.password.is_empty() || body.password.chars().count() > MAX_PASSWORD_LENGTH {
        return Err(XrpcError::invalid_request(format!(
            "The password must be 1 to {MAX_PASSWORD_LENGTH} characters"
        ))
        .into());
    }
    let email = body.email.trim().to_lowercase();
    if !handles::is_valid_email(&email) {
        return Err(XrpcError::invalid_request(
            "This email address is not supported, please use a different email.",
        )
        .into());
    }
    let handle =
        handles::normalize_and_validate_new_handle(HandleRules::of(&state.config), &body.handle)?;
    let invite_code = body
        .invite_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let invite_code = if state.config.invite_required {
        let code = invite_code
            .ok_or_else(|| XrpcError::new(400, "InvalidInviteCode", "No invite code provided"))?;
        state.ensure_invite_available(&code).await?;
        Some(code)
    } else {
        None
    };
    if state
        .store
        .account_by_handle(&handle)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Err(handle_taken(&handle).into());
    }
    if state
        .store
        .account_by_email(&email)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Err(XrpcError::invalid_request(format!("Email already taken: {email}")).into());
    }
    let device_key = check_device_proof(&state, &body.device).await?;

    let password_hash = hash_blocking(body.password).await?;
    let account = PendingAccount {
        id: new_id("acct"),
        handle: handle.clone(),
        email,
        password_hash: Some(password_hash),
        invite_code,
        created_at_ms: now_ms(),
    };
    let device = Device {
        id: new_id("dev"),
        did: None,
        pending_id: Some(account.id.clone()),
        public_key: device_key,
        name: body.device.name.trim().to_owned(),
        created_at_ms: now_ms(),
        revoked_at_ms: None,
    };
    state
        .store
        .create_pending_account(&account, &device)
        .await
        .map_err(|e| match e {
            store::StoreError::HandleTaken => handle_taken(&handle),
            store::StoreError::EmailTaken => {
                XrpcError::invalid_request(format!("Email already taken: {}", account.email))
            }
            other => store_error(other),
        })?;
    json(
        StatusCode::CREATED,
        &api::MobileAccountCreated {
            account_id: account.id,
            device_id: device.id,
            handle,
        },
    )
}

/// Checks a device's registration: a P-256 or K-256 did:key, a name, and the signature over a
/// challenge this relay issued (consumed here, so it serves once). Answers the did:key.
pub(super) async fn check_device_proof(
    state: &AppState,
    proof: &api::DeviceProof,
) -> Result<String, ApiError> {
    let key = proof.public_key.trim();
    PublicKey::from_did_key(key).map_err(|e| {
        XrpcError::invalid_request(format!(
            "The device key must be a P-256 or K-256 did:key ({e})"
        ))
    })?;
    let name = proof.name.trim();
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME_LENGTH {
        return Err(XrpcError::invalid_request(format!(
            "The device name must be 1 to {MAX_DEVICE_NAME_LENGTH} characters"
        ))
        .into());
    }
    // The signature first: a wrong one must not burn someone else's challenge.
    if !wallet::signing::verify_challenge(key, &proof.challenge, &proof.signature) {
        return Err(XrpcError::new(
            400,
            "InvalidProof",
            "The device's signature over the challenge does not verify",
        )
        .into());
    }
    if !state
        .store
        .take_challenge(&proof.challenge)
        .await
        .map_err(store_error)?
    {
        return Err(XrpcError::new(
            400,
            "InvalidChallenge",
            "Unknown, expired or already used challenge: ask POST /v1/challenges for a new one",
        )
        .into());
    }
    Ok(key.to_owned())
}
