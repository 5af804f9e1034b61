//! Keys and shares: the escrowed recovery share (share 2; sealed at rest, every read logged),
//! the account's key-event log, the relay-held repo signing keys (rotation, revocation), and
//! the relay's mode.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use crypto::recovery::Share;
use crypto::{Algorithm, Keypair};
use store::sqlite::wallet::{EscrowShare, RelayKey};
use wallet::api;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;

use super::dids::escrow_purpose;
use super::{iso, json, new_id, not_found, now_ms, ApiError, ApiResult, V1Request};

const DEFAULT_LOG_LIMIT: usize = 50;
const MAX_LOG_LIMIT: usize = 100;

/// The account's escrowed share `id`, or 404.
async fn owned_share(state: &AppState, did: &str, id: &str) -> Result<EscrowShare, ApiError> {
    state
        .store
        .escrow_share(id)
        .await
        .map_err(store_error)?
        .filter(|s| s.did == did)
        .ok_or_else(|| not_found("No such recovery share on this account"))
}

/// `GET /v1/keys/shares/:id`: the escrowed share, unsealed. Logged before it is answered.
pub async fn get_share(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let stored = owned_share(&state, &did, &id).await?;
    let plain = state
        .secrets
        .master_key
        .open(&escrow_purpose(&did, &id), &stored.sealed)
        .map_err(|e| XrpcError::internal(format!("cannot unseal the share: {e}")))?;
    let text = String::from_utf8(plain.to_vec())
        .map_err(|_| XrpcError::internal("the sealed share is not text"))?;
    let share = Share::from_text(&text)
        .map_err(|e| XrpcError::internal(format!("the escrowed share is invalid: {e}")))?;
    state
        .store
        .log_key_event(
            &did,
            "share.read",
            &serde_json::json!({ "shareId": id, "by": caller.actor() }),
        )
        .await
        .map_err(store_error)?;
    json(
        StatusCode::OK,
        &api::EscrowShare {
            id,
            share: Some(text),
            split_id: share.split_id().unwrap_or_default(),
            updated_at: iso(stored.updated_at_ms),
        },
    )
}

/// `PUT /v1/keys/shares/:id`: replaces the escrowed share with share 2 of a new split.
pub async fn put_share(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let body: api::PutShare = request.json()?;
    let previous = owned_share(&state, &did, &id).await?;
    let share = Share::from_text(&body.share)
        .map_err(|e| XrpcError::invalid_request(format!("share is not a recovery share: {e}")))?;
    if share.index() != 2 {
        return Err(XrpcError::invalid_request(format!(
            "The relay escrows share 2 of a split, not share {}",
            share.index()
        ))
        .into());
    }
    let text = share
        .to_text()
        .map_err(|e| XrpcError::internal(format!("cannot encode the share: {e}")))?;
    let now = now_ms();
    let replaced = EscrowShare {
        id: id.clone(),
        did: did.clone(),
        sealed: state
            .secrets
            .master_key
            .seal(&escrow_purpose(&did, &id), text.as_bytes()),
        created_at_ms: previous.created_at_ms,
        updated_at_ms: now,
    };
    state
        .store
        .put_escrow_share(
            &replaced,
            "share.replaced",
            &serde_json::json!({
                "shareId": id,
                "splitId": share.split_id(),
                "by": caller.actor(),
            }),
        )
        .await
        .map_err(store_error)?;
    json(
        StatusCode::OK,
        &api::EscrowShare {
            id,
            share: None,
            split_id: share.split_id().unwrap_or_default(),
            updated_at: iso(now),
        },
    )
}

/// `GET /v1/keys/rotation-log?cursor=&limit=`: share and key events, oldest first.
pub async fn rotation_log(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let mut after = 0i64;
    let mut limit = DEFAULT_LOG_LIMIT;
    for pair in request.query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "cursor" => {
                after = value.parse().ok().filter(|v| *v >= 0).ok_or_else(|| {
                    XrpcError::invalid_request("cursor must be a cursor from a previous page")
                })?
            }
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|v| (1..=MAX_LOG_LIMIT).contains(v))
                    .ok_or_else(|| {
                        XrpcError::invalid_request(format!(
                            "limit must be an integer from 1 to {MAX_LOG_LIMIT}"
                        ))
                    })?
            }
            _ => {}
        }
    }
    let events = state
        .store
        .key_events(&did, after, limit)
        .await
        .map_err(store_error)?;
    let cursor = (events.len() == limit)
        .then(|| events.last().map(|e| e.id.to_string()))
        .flatten();
    json(
        StatusCode::OK,
        &api::RotationLog {
            events: events
                .into_iter()
                .map(|e| api::KeyEvent {
                    id: e.id,
                    kind: e.kind,
                    detail: e.detail,
                    time: iso(e.time_ms),
                })
                .collect(),
            cursor,
        },
    )
}

fn key_to_api(key: &RelayKey) -> api::RelayKey {
    api::RelayKey {
        key_id: key.key_id.clone(),
        public_key: key.did_key.clone(),
        status: key.status.clone(),
        created_at: iso(key.created_at_ms),
    }
}

/// `POST /v1/relay/keys`: a new repo signing key for the caller's account. The DID document
/// names it first (a PLC operation signed with the relay's rotation key), then the relay signs
/// a new commit with it; the old key is retired (kept sealed until revoked).
pub async fn rotate_relay_key(State(state): State<Arc<AppState>>, request: Request) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    if !did.starts_with("did:plc:") {
        return Err(
            XrpcError::invalid_request("Only did:plc accounts can rotate keys here").into(),
        );
    }
    let lock = state.repos.lock_account(&did).await;
    let audited = state
        .plc
        .audited(&did)
        .await
        .map_err(|e| XrpcError::upstream_failure(e.to_string()))?;
    let current = audited
        .state()
        .ok_or_else(|| XrpcError::invalid_request("The DID is tombstoned"))?;
    let relay_key = &state.secrets.plc_rotation_key;
    if !current.rotation_keys.contains(&relay_key.did_key()) {
        return Err(XrpcError::new(
            409,
            "RelayKeyRemoved",
            "The relay's rotation key is no longer in the DID: update the signing key with a key you hold (POST /v1/dids/:did/rotate)",
        )
        .into());
    }
    let new_key = Keypair::generate(Algorithm::P256);
    let op = current
        .update_op(&audited.head)
        .with_signing_key(&new_key.did_key())
        .and_then(|op| op.sign(relay_key))
        .map_err(|e| XrpcError::internal(format!("cannot build the operation: {e}")))?;
    state
        .plc
        .submit(&did, &op)
        .await
        .map_err(|e| XrpcError::upstream_failure(format!("the PLC directory refused: {e}")))?;
    let previous = state
        .store
        .relay_keys(&did)
        .await
        .map_err(store_error)?
        .into_iter()
        .find(|k| k.status == "active");
    let record = RelayKey {
        key_id: new_id("rk"),
        did: did.clone(),
        did_key: new_key.did_key(),
        status: "active".into(),
        sealed: Some(state.repos.seal_signing_key(&did, &new_key)),
        created_at_ms: now_ms(),
    };
    state
        .store
        .rotate_relay_key(
            &record,
            &serde_json::json!({
                "keyId": record.key_id,
                "publicKey": record.did_key,
                "previousKeyId": previous.as_ref().map(|k| &k.key_id),
                "plcCid": op.cid().to_string(),
                "by": caller.actor(),
            }),
        )
        .await
        .map_err(store_error)?;
    drop(lock);
    // The cached key goes; the next commit is signed with the new one.
    state.repos.evict(&did);
    let handle = current.handle();
    state.sequence_identity(&did, handle.as_deref()).await?;
    let commit = state.repos.write(&did, Vec::new(), None, true).await?;
    json(
        StatusCode::CREATED,
        &api::RelayKeyRotated {
            key: key_to_api(&record),
            previous_key_id: previous.map(|k| k.key_id),
            rev: commit.rev,
        },
    )
}

/// `DELETE /v1/relay/keys/:keyId`: wipes a retired signing key. The active key cannot be
/// revoked (rotate first): the account would have no key to sign its commits.
pub async fn revoke_relay_key(
    State(state): State<Arc<AppState>>,
    Path(key_id): Path<String>,
    request: Request,
) -> ApiResult {
    let request = V1Request::read(request).await?;
    let caller = state.v1_caller(&request).await?;
    let did = caller.did()?.to_owned();
    let keys = state.store.relay_keys(&did).await.map_err(store_error)?;
    let Some(key) = keys.iter().find(|k| k.key_id == key_id) else {
        return Err(not_found("No such relay key on this account"));
    };
    match key.status.as_str() {
        "active" => {
            return Err(XrpcError::new(
                409,
                "KeyInUse",
                "This is the account's active signing key: rotate it first (POST /v1/relay/keys)",
            )
            .into())
        }
        "revoked" => return Err(not_found("This key is already revoked")),
        _ => {}
    }
    let detail = serde_json::json!({ "keyId": key_id, "by": caller.actor() });
    if !state
        .store
        .revoke_relay_key(&did, &key_id, &detail)
        .await
        .map_err(store_error)?
    {
        return Err(not_found("No such retired relay key on this account"));
    }
    let mut revoked = key.clone();
    revoked.status = "revoked".into();
    json(StatusCode::OK, &key_to_api(&revoked))
}

/// `GET /v1/relay/mode`: `mobile-only` in v0.1 (the relay is the PDS and signs every commit).
pub async fn relay_mode(State(_state): State<Arc<AppState>>) -> ApiResult {
    json(
        StatusCode::OK,
        &api::RelayMode {
            mode: "mobile-only".into(),
        },
    )
}
