//! Devices of an account: registration (with proof of the key), status, revocation.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use store::sqlite::wallet::Device;
use wallet::api;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;

use super::{iso, json, new_id, not_found, now_ms, ApiResult, V1Request};

pub(super) fn to_api(device: &Device) -> api::Device {
    api::Device {
        id: device.id.clone(),
        name: device.name.clone(),
        public_key: device.public_key.clone(),
        status: if device.revoked_at_ms.is_some() {
            "revoked".into()
        } else {
            "active".into()
        },
        created_at: iso(device.created_at_ms),
        revoked_at: device.revoked_at_ms.map(iso),
    }
}

/// `POST /v1/devices`: another device for the caller's account.
pub async fn register(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let proof: api::DeviceProof = request.json()?;
    let public_key = super::accounts::check_device_proof(&state, &proof).await?;
    let devices = state.store.devices_of(&did).await.map_err(store_error)?;
    if devices
        .iter()
        .any(|d| d.revoked_at_ms.is_none() && d.public_key == public_key)
    {
        return Err(XrpcError::new(
            409,
            "DeviceExists",
            "This key is already registered to the account",
        )
        .into());
    }
    let device = Device {
        id: new_id("dev"),
        did: Some(did.clone()),
        pending_id: None,
        public_key,
        name: proof.name.trim().to_owned(),
        created_at_ms: now_ms(),
        revoked_at_ms: None,
    };
    state.store.put_device(&device).await.map_err(store_error)?;
    state
        .store
        .log_key_event(
            &did,
            "device.registered",
            &serde_json::json!({
                "deviceId": device.id,
                "publicKey": device.public_key,
                "by": caller.actor(),
            }),
        )
        .await
        .map_err(store_error)?;
    json(StatusCode::CREATED, &to_api(&device))
}

/// `GET /v1/devices/:id/status`.
pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?;
    let device = state
        .store
        .device(&id)
        .await
        .map_err(store_error)?
        .filter(|d| d.did.as_deref() == Some(did))
        .ok_or_else(|| not_found("No such device on this account"))?;
    json(StatusCode::OK, &to_api(&device))
}

/// `DELETE /v1/devices/:id`: the device can no longer sign requests. (Its key stays in the
/// DID's rotation keys until a rotation removes it; that is the user's call, made with
/// `POST /v1/dids/:did/rotate`.)
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let detail = serde_json::json!({ "deviceId": id, "by": caller.actor() });
    if !state
        .store
        .revoke_device(&did, &id, &detail)
        .await
        .map_err(store_error)?
    {
        return Err(not_found("No such active device on this account"));
    }
    let device = state
        .store
        .device(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| not_found("No such device on this account"))?;
    json(StatusCode::OK, &to_api(&device))
}
