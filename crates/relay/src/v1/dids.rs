//! The DID ceremony (DESIGN.md §4) and rotations the client signs.
//!
//! `POST /v1/dids`: the device registered by `/v1/accounts/mobile` sends its key, the recovery
//! key and share 2. The relay builds the genesis operation (rotation keys device, recovery,
//! relay; its own new repo signing key as `#atproto`; the handle; its URL), signs it with its
//! rotation key, registers it at the PLC directory, escrows the share sealed, then opens the
//! account the way createAccount does (#identity, #account, #commit).

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use crypto::recovery::Share;
use crypto::{Algorithm, Keypair, PublicKey};
use identity::SignedOp;
use store::sqlite::wallet::{EscrowShare, RelayKey};
use wallet::api;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::auth::Scope;
use crate::error::store_error;

use super::auth::Caller;
use super::{json, new_id, now_ms, ApiResult, V1Request};

/// The share the relay escrows.
const ESCROW_SHARE_INDEX: u8 = 2;

/// The purpose an escrowed share is sealed under.
pub(super) fn escrow_purpose(did: &str, id: &str) -> String {
    format!("recovery-share:{did}:{id}")
}

/// `POST /v1/dids`.
pub async fn create_did(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    let device = state.signed_device(&request).await?;
    let body: api::CreateDid = request.json()?;
    let Some(pending_id) = device.pending_id.clone() else {
        return Err(XrpcError::invalid_request("This device's account already has its DID").into());
    };
    let pending = state
        .store
        .pending_account(&pending_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            XrpcError::invalid_request(
                "The onboarding expired: start again with POST /v1/accounts/mobile",
            )
        })?;
    if body.device_key.trim() != device.public_key {
        return Err(
            XrpcError::invalid_request("deviceKey is not the key this device registered").into(),
        );
    }
    let recovery_key = body.recovery_key.trim().to_owned();
    PublicKey::from_did_key(&recovery_key).map_err(|e| {
        XrpcError::invalid_request(format!(
            "recoveryKey must be a P-256 or K-256 did:key ({e})"
        ))
    })?;
    let relay_key = state.secrets.plc_rotation_key.did_key();
    if recovery_key == device.public_key || recovery_key == relay_key {
        return Err(XrpcError::invalid_request(
            "recoveryKey must differ from the device key and the relay's key",
        )
        .into());
    }
    let share = Share::from_text(&body.escrow_share).map_err(|e| {
        XrpcError::invalid_request(format!("escrowShare is not a recovery share: {e}"))
    })?;
    if share.index() != ESCROW_SHARE_INDEX {
        return Err(XrpcError::invalid_request(format!(
            "escrowShare must be share {ESCROW_SHARE_INDEX} of the split, not share {}",
            share.index()
        ))
        .into());
    }

    let rotation_keys = vec![device.public_key.clone(), recovery_key, relay_key];
    let signing_key = Keypair::generate(Algorithm::P256);
    let genesis = identity::genesis_op(
        rotation_keys.clone(),
        &signing_key.did_key(),
        &pending.handle,
        &state.config.public_url,
    )
    .and_then(|op| op.sign(&state.secrets.plc_rotation_key))
    .map_err(|e| XrpcError::invalid_request(format!("Cannot build the DID: {e}")))?;
    let did = genesis
        .did()
        .map_err(|e| XrpcError::internal(format!("cannot derive the DID: {e}")))?;
    state
        .plc
        .submit(&did, &genesis)
        .await
        .map_err(|e| XrpcError::upstream_failure(format!("could not register the DID: {e}")))?;

    let signing_key_sealed = state.repos.seal_signing_key(&did, &signing_key);
    state
        .open_account(store::NewAccount {
            did: did.clone(),
            handle: pending.handle.clone(),
            email: Some(pending.email.clone()),
            password_hash: pending.password_hash.clone(),
            signing_key_sealed: signing_key_sealed.clone(),
            invite_code: pending.invite_code.clone(),
            deactivated: false,
        })
        .await?;

    let share_id = new_id("share");
    let share_text = share
        .to_text()
        .map_err(|e| XrpcError::internal(format!("cannot encode the share: {e}")))?;
    let now = now_ms();
    let escrow = EscrowShare {
        id: share_id.clone(),
        did: did.clone(),
        sealed: state
            .secrets
            .master_key
            .seal(&escrow_purpose(&did, &share_id), share_text.as_bytes()),
        created_at_ms: now,
        updated_at_ms: now,
    };
    let key_record = RelayKey {
        key_id: new_id("rk"),
        did: did.clone(),
        did_key: signing_key.did_key(),
        status: "active".into(),
        sealed: Some(signing_key_sealed),
        created_at_ms: now,
    };
    let events = vec![
        (
            "did.created".to_owned(),
            serde_json::json!({
                "rotationKeys": rotation_keys,
                "signingKey": signing_key.did_key(),
                "cid": genesis.cid().to_string(),
            }),
        ),
        (
            "device.registered".to_owned(),
            serde_json::json!({ "deviceId": device.id, "publicKey": device.public_key }),
        ),
        (
            "share.escrowed".to_owned(),
            serde_json::json!({
                "shareId": share_id,
                "index": ESCROW_SHARE_INDEX,
                "splitId": share.split_id(),
            }),
        ),
    ];
    state
        .store
        .finish_pending_account(&pending_id, &did, Some(&escrow), &key_record, &events)
        .await
        .map_err(store_error)?;

    let (access_jwt, refresh_jwt) = state
        .create_session_tokens(&did, Scope::Access, None)
        .await?;
    let did_doc = match state.plc.cached_did_document(&did).await {
        Some(doc) => doc,
        None => genesis
            .to_state(&did)
            .map(|s| s.did_document())
            .unwrap_or_default(),
    };
    json(
        StatusCode::CREATED,
        &api::DidCreated {
            did,
            handle: pending.handle,
            rotation_keys,
            signing_key: signing_key.did_key(),
            escrow_share_id: share_id,
            access_jwt,
            refresh_jwt,
            did_doc,
        },
    )
}

/// `POST /v1/dids/:did/rotate`: a did:plc operation the client signed with one of the DID's
/// rotation keys (typically the device or recovery key), sent by one of the account's devices.
/// The directory has the last word on it (it checks the signature, the `prev` and, for an
/// operation that replaces a recent one, the 72-hour window); the relay logs what changed.
pub async fn rotate_did(
    State(state): State<Arc<AppState>>,
    Path(did): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.signed_device(&request).await?;
    let caller = Caller::Device { device: caller };
    if caller.did()? != did {
        return Err(XrpcError::forbidden("The device does not belong to this DID").into());
    }
    let body: api::RotateDid = request.json()?;
    let op = SignedOp::from_json(&body.operation)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid PLC operation: {e}")))?;
    let audited = state
        .plc
        .audited(&did)
        .await
        .map_err(|e| XrpcError::upstream_failure(e.to_string()))?;
    let state_now = audited
        .state()
        .ok_or_else(|| XrpcError::invalid_request("The DID is tombstoned"))?;
    // Early, clear refusals for the common mistakes; the directory checks everything again.
    if op.op().prev().is_none() {
        return Err(XrpcError::invalid_request("The operation has no prev").into());
    }
    if op.op().prev() == Some(audited.head.to_string().as_str())
        && op.verify(&state_now.rotation_keys).is_err()
    {
        return Err(XrpcError::new(
            400,
            "InvalidSignature",
            "The operation is not signed by one of the DID's rotation keys",
        )
        .into());
    }
    state.plc.submit(&did, &op).await.map_err(|e| {
        XrpcError::new(
            400,
            "OperationRejected",
            format!("The PLC directory refused: {e}"),
        )
    })?;
    let rotation_keys = op.rotation_keys().unwrap_or_default();
    let detail = serde_json::json!({
        "by": caller.actor(),
        "cid": op.cid().to_string(),
        "prev": op.op().prev(),
        "rotationKeys": rotation_keys,
    });
    state
        .store
        .log_key_event(&did, "did.rotated", &detail)
        .await
        .map_err(store_error)?;
    let handle = state.plc.data(&did).await.ok().and_then(|s| s.handle());
    let _ = state.sequence_identity(&did, handle.as_deref()).await;
    json(
        StatusCode::OK,
        &api::DidRotated {
            did,
            cid: op.cid().to_string(),
            rotation_keys,
        },
    )
}
