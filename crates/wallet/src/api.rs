//! The bodies of the relay's /v1 API (DESIGN.md §5), shared by the relay and its clients. The
//! relay's OpenAPI document (`/v1/openapi.json`) describes these same shapes.

use serde::{Deserialize, Serialize};

/// Every error: `{"error": "Name", "message": "..."}`, as XRPC errors are.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// `POST /v1/challenges`: a single-use challenge a device signs to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub challenge: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// A device key and the proof that the device holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceProof {
    /// did:key of a P-256 or K-256 key.
    pub public_key: String,
    pub name: String,
    /// From `POST /v1/challenges`.
    pub challenge: String,
    /// base64url of the signature over `signing::challenge_message`.
    pub signature: String,
}

/// `POST /v1/accounts/mobile`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateMobileAccount {
    pub handle: String,
    pub email: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    pub device: DeviceProof,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MobileAccountCreated {
    /// The onboarding's id; the account gets its DID from `POST /v1/dids`.
    pub account_id: String,
    pub device_id: String,
    pub handle: String,
}

/// `POST /v1/accounts` (web): a stock account whose rotation key the relay holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAccount {
    pub handle: String,
    pub email: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invite_code: Option<String>,
    /// Optional did:key placed first in the rotation keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_key: Option<String>,
}

/// An account with its session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountCreated {
    pub did: String,
    pub handle: String,
    pub access_jwt: String,
    pub refresh_jwt: String,
}

/// `POST /v1/dids`, signed by the device registered with the onboarding.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateDid {
    /// did:key of the device key (must be the registered one).
    pub device_key: String,
    /// did:key of the recovery key.
    pub recovery_key: String,
    /// Share 2 of the recovery seed, in its text form (`wallet-share-v1:…`).
    pub escrow_share: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidCreated {
    pub did: String,
    pub handle: String,
    /// Highest priority first: device, recovery, relay.
    pub rotation_keys: Vec<String>,
    /// did:key of the repo signing key the relay holds (`#atproto`).
    pub signing_key: String,
    pub escrow_share_id: String,
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub did_doc: serde_json::Value,
}

/// `POST /v1/dids/:did/rotate`: a did:plc operation the client signed with one of its
/// rotation keys, which the relay checks and submits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateDid {
    pub operation: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidRotated {
    pub did: String,
    pub cid: String,
    pub rotation_keys: Vec<String>,
}

/// A registered device.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub name: String,
    pub public_key: String,
    /// `active` or `revoked`.
    pub status: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `PUT /v1/keys/shares/:id`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutShare {
    /// Share 2 of a (new) split, text form.
    pub share: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscrowShare {
    pub id: String,
    /// Present when the share itself was asked for (`GET`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    pub split_id: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEvent {
    pub id: i64,
    pub kind: String,
    pub detail: serde_json::Value,
    pub time: String,
}

/// `GET /v1/keys/rotation-log`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationLog {
    pub events: Vec<KeyEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A repo signing key held by the relay.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayKey {
    pub key_id: String,
    pub public_key: String,
    /// `active`, `retired` or `revoked`.
    pub status: String,
    pub created_at: String,
}

/// `POST /v1/relay/keys`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayKeyRotated {
    pub key: RelayKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_key_id: Option<String>,
    /// The rev of the first commit signed with the new key.
    pub rev: String,
}

/// `GET /v1/relay/mode`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayMode {
    /// `mobile-only` in v0.1: the relay is the PDS and signs every commit.
    pub mode: String,
}
