//! The OpenAPI 3.1 document of the /v1 API, served at `/v1/openapi.json`. The tests below check
//! it against [`super::ROUTES`] (the table the router is built from) and against the shapes of
//! `wallet::api`, so the document cannot drift from the code unnoticed.

use serde_json::{json, Value};

use super::ApiResult;

/// `GET /v1/openapi.json`.
pub async fn serve() -> ApiResult {
    super::json(axum::http::StatusCode::OK, &document())
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

/// The error answers every operation may give, by status.
fn errors(statuses: &[&str]) -> Vec<(String, Value)> {
    statuses
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                json!({ "description": "Error", "content": json_content(schema_ref("Error")) }),
            )
        })
        .collect()
}

struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: &'static [&'static str],
    params: &'static [(&'static str, &'static str)],
    body: Option<&'static str>,
    status: &'static str,
    response: &'static str,
    error_statuses: &'static [&'static str],
}

const SESSION_OR_DEVICE: &[&str] = &["session", "device"];
const DEVICE: &[&str] = &["device"];
const NONE: &[&str] = &[];

const OPS: &[Op] = &[
    Op { method: "get", path: "/v1/openapi.json", summary: "This document", auth: NONE, params: &[], body: None, status: "200", response: "OpenApi", error_statuses: &[] },
    Op { method: "post", path: "/v1/challenges", summary: "A single-use challenge a device signs to register its key", auth: NONE, params: &[], body: None, status: "201", response: "Challenge", error_statuses: &["400", "429"] },
    Op { method: "post", path: "/v1/accounts", summary: "Create an account from the web (the relay holds the rotation key)", auth: NONE, params: &[], body: Some("CreateAccount"), status: "201", response: "AccountCreated", error_statuses: &["400", "429", "502"] },
    Op { method: "post", path: "/v1/accounts/mobile", summary: "Create an account and bind the phone's device key in one call", auth: NONE, params: &[], body: Some("CreateMobileAccount"), status: "201", response: "MobileAccountCreated", error_statuses: &["400", "429"] },
    Op { method: "post", path: "/v1/dids", summary: "Create the DID from the client's keys: rotation keys [device, recovery, relay]", auth: DEVICE, params: &[], body: Some("CreateDid"), status: "201", response: "DidCreated", error_statuses: &["400", "401", "502"] },
    Op { method: "post", path: "/v1/dids/{did}/rotate", summary: "Submit a PLC operation the client signed with one of its rotation keys", auth: DEVICE, params: &[("did", "The account's DID")], body: Some("RotateDid"), status: "200", response: "DidRotated", error_statuses: &["400", "401", "403", "502"] },
    Op { method: "post", path: "/v1/devices", summary: "Register another device (it signs a challenge)", auth: SESSION_OR_DEVICE, params: &[], body: Some("DeviceProof"), status: "201", response: "Device", error_statuses: &["400", "401", "409"] },
    Op { method: "get", path: "/v1/devices/{id}/status", summary: "A device of the account", auth: SESSION_OR_DEVICE, params: &[("id", "Device id")], body: None, status: "200", response: "Device", error_statuses: &["400", "401", "404"] },
    Op { method: "delete", path: "/v1/devices/{id}", summary: "Revoke a device: it can no longer sign requests", auth: SESSION_OR_DEVICE, params: &[("id", "Device id")], body: None, status: "200", response: "Device", error_statuses: &["400", "401", "404"] },
    Op { method: "get", path: "/v1/keys/shares/{id}", summary: "Read the escrowed recovery share (logged)", auth: SESSION_OR_DEVICE, params: &[("id", "Share id")], body: None, status: "200", response: "EscrowShare", error_statuses: &["400", "401", "404"] },
    Op { method: "put", path: "/v1/keys/shares/{id}", summary: "Replace the escrowed recovery share with share 2 of a new split", auth: SESSION_OR_DEVICE, params: &[("id", "Share id")], body: Some("PutShare"), status: "200", response: "EscrowShare", error_statuses: &["400", "401", "404"] },
    Op { method: "get", path: "/v1/keys/rotation-log", summary: "Share and key events of the account, oldest first", auth: SESSION_OR_DEVICE, params: &[], body: None, status: "200", response: "RotationLog", error_statuses: &["400", "401"] },
    Op { method: "post", path: "/v1/relay/keys", summary: "Rotate the account's repo signing key (PLC operation, then a commit signed with the new key)", auth: SESSION_OR_DEVICE, params: &[], body: None, status: "201", response: "RelayKeyRotated", error_statuses: &["400", "401", "409", "502"] },
    Op { method: "delete", path: "/v1/relay/keys/{keyId}", summary: "Revoke (wipe) a retired repo signing key", auth: SESSION_OR_DEVICE, params: &[("keyId", "Relay key id")], body: None, status: "200", response: "RelayKey", error_statuses: &["400", "401", "404", "409"] },
    Op { method: "get", path: "/v1/relay/mode", summary: "The relay's mode", auth: NONE, params: &[], body: None, status: "200", response: "RelayMode", error_statuses: &[] },
];

fn operation(op: &Op) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(
        op.status.to_owned(),
        json!({ "description": "Success", "content": json_content(schema_ref(op.response)) }),
    );
    for (status, value) in errors(op.error_statuses) {
        responses.insert(status, value);
    }
    let mut value = json!({
        "summary": op.summary,
        "operationId": format!("{}{}", op.method, op.path.replace(['/', '{', '}', '.', '-'], "_")),
        "responses": responses,
    });
    if !op.auth.is_empty() {
        value["security"] = Value::Array(op.auth.iter().map(|a| json!({ *a: [] })).collect());
    }
    let mut params: Vec<Value> = op
        .params
        .iter()
        .map(|(name, description)| {
            json!({
                "name": name, "in": "path", "required": true, "description": description,
                "schema": { "type": "string", "minLength": 1 },
            })
        })
        .collect();
    if op.path == "/v1/keys/rotation-log" {
        params.push(json!({ "name": "cursor", "in": "query", "required": false,
            "schema": { "type": "string", "pattern": "^[0-9]+$" } }));
        params.push(json!({ "name": "limit", "in": "query", "required": false,
            "schema": { "type": "integer", "minimum": 1, "maximum": 100 } }));
    }
    if !params.is_empty() {
        value["parameters"] = Value::Array(params);
    }
    if let Some(body) = op.body {
        value["requestBody"] =
            json!({ "required": true, "content": json_content(schema_ref(body)) });
    }
    value
}

fn string() -> Value {
    json!({ "type": "string" })
}

fn did_key() -> Value {
    json!({ "type": "string", "description": "A P-256 or K-256 did:key", "pattern": "^did:key:z" })
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": properties, "required": required })
}

fn schemas() -> Value {
    json!({
        "Error": object(json!({ "error": string(), "message": string() }), &["error", "message"]),
        "OpenApi": { "type": "object" },
        "Challenge": object(json!({ "challenge": string(), "expiresAt": { "type": "string", "format": "date-time" } }), &["challenge", "expiresAt"]),
        "DeviceProof": object(json!({
            "publicKey": did_key(), "name": string(), "challenge": string(),
            "signature": { "type": "string", "description": "base64url of the signature over the challenge message" },
        }), &["publicKey", "name", "challenge", "signature"]),
        "CreateAccount": object(json!({
            "handle": string(), "email": string(), "password": string(),
            "inviteCode": string(), "recoveryKey": did_key(),
        }), &["handle", "email", "password"]),
        "AccountCreated": object(json!({ "did": string(), "handle": string(), "accessJwt": string(), "refreshJwt": string() }), &["did", "handle", "accessJwt", "refreshJwt"]),
        "CreateMobileAccount": object(json!({
            "handle": string(), "email": string(), "password": string(), "inviteCode": string(),
            "device": schema_ref("DeviceProof"),
        }), &["handle", "email", "password", "device"]),
        "MobileAccountCreated": object(json!({ "accountId": string(), "deviceId": string(), "handle": string() }), &["accountId", "deviceId", "handle"]),
        "CreateDid": object(json!({
            "deviceKey": did_key(), "recoveryKey": did_key(),
            "escrowShare": { "type": "string", "description": "Share 2 of the recovery seed, text form (wallet-share-v1:...)" },
        }), &["deviceKey", "recoveryKey", "escrowShare"]),
        "DidCreated": object(json!({
            "did": string(), "handle": string(),
            "rotationKeys": { "type": "array", "items": did_key() },
            "signingKey": did_key(), "escrowShareId": string(),
            "accessJwt": string(), "refreshJwt": string(), "didDoc": { "type": "object" },
        }), &["did", "handle", "rotationKeys", "signingKey", "escrowShareId", "accessJwt", "refreshJwt", "didDoc"]),
        "RotateDid": object(json!({ "operation": { "type": "object", "description": "A signed did:plc operation" } }), &["operation"]),
        "DidRotated": object(json!({ "did": string(), "cid": string(), "rotationKeys": { "type": "array", "items": string() } }), &["did", "cid", "rotationKeys"]),
        "Device": object(json!({
            "id": string(), "name": string(), "publicKey": did_key(),
            "status": { "type": "string", "enum": ["active", "revoked"] },
            "createdAt": { "type": "string", "format": "date-time" },
            "revokedAt": { "type": "string", "format": "date-time" },
        }), &["id", "name", "publicKey", "status", "createdAt"]),
        "PutShare": object(json!({ "share": string() }), &["share"]),
        "EscrowShare": object(json!({
            "id": string(), "share": string(), "splitId": string(),
            "updatedAt": { "type": "string", "format": "date-time" },
        }), &["id", "splitId", "updatedAt"]),
        "KeyEvent": object(json!({
            "id": { "type": "integer" }, "kind": string(), "detail": { "type": "object" },
            "time": { "type": "string", "format": "date-time" },
        }), &["id", "kind", "detail", "time"]),
        "RotationLog": object(json!({ "events": { "type": "array", "items": schema_ref("KeyEvent") }, "cursor": string() }), &["events"]),
        "RelayKey": object(json!({
            "keyId": string(), "publicKey": did_key(),
            "status": { "type": "string", "enum": ["active", "retired", "revoked"] },
            "createdAt": { "type": "string", "format": "date-time" },
        }), &["keyId", "publicKey", "status", "createdAt"]),
        "RelayKeyRotated": object(json!({ "key": schema_ref("RelayKey"), "previousKeyId": string(), "rev": string() }), &["key", "rev"]),
        "RelayMode": object(json!({ "mode": { "type": "string", "enum": ["mobile-only"] } }), &["mode"]),
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in OPS {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Relay provisioning API",
            "version": "0.1.0",
            "description": "Accounts, the DID ceremony, devices, recovery-share escrow and key custody (DESIGN.md section 5, v0.1). Errors are {\"error\",\"message\"}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": { "type": "http", "scheme": "bearer", "description": "An account session's access token" },
                "device": {
                    "type": "apiKey", "in": "header", "name": "x-wallet-signature",
                    "description": "A request signed by a registered device: headers x-wallet-device, x-wallet-timestamp (Unix seconds, within 60 s), x-wallet-nonce (single use) and x-wallet-signature (base64url of the signature over the method, path, timestamp, nonce and the body's SHA-256)",
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let doc = document();
        let mut documented: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.to_uppercase(), path.clone()));
            }
        }
        let mut served: Vec<(String, String)> = super::super::ROUTES
            .iter()
            .map(|(m, _, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        documented.sort();
        served.sort();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for piece in text.split("#/components/schemas/").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "unresolved schema {name}");
        }
    }

    /// Each schema's properties are the fields the shared wire type writes (a sample of each
    /// type, serialized, has only documented properties and every required one).
    #[test]
    fn the_schemas_match_the_wire_types() {
        use wallet::api;
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let check = |name: &str, sample: Value| {
            let schema = &schemas[name];
            let props = schema["properties"].as_object().unwrap();
            let sample = sample.as_object().unwrap().clone();
            for key in sample.keys() {
                assert!(props.contains_key(key), "{name}: {key} is not documented");
            }
            for required in schema["required"].as_array().unwrap() {
                assert!(
                    sample.contains_key(required.as_str().unwrap()),
                    "{name}: {required} is not written"
                );
            }
        };
        let s = String::new;
        check(
            "Challenge",
            serde_json::to_value(api::Challenge {
                challenge: s(),
                expires_at: s(),
            })
            .unwrap(),
        );
        let proof = api::DeviceProof {
            public_key: s(),
            name: s(),
            challenge: s(),
            signature: s(),
        };
        check("DeviceProof", serde_json::to_value(&proof).unwrap());
        check(
            "CreateMobileAccount",
            serde_json::to_value(api::CreateMobileAccount {
                handle: s(),
                email: s(),
                password: s(),
                invite_code: Some(s()),
                device: proof,
            })
            .unwrap(),
        );
        check(
            "MobileAccountCreated",
            serde_json::to_value(api::MobileAccountCreated {
                account_id: s(),
                device_id: s(),
                handle: s(),
            })
            .unwrap(),
        );
        check(
            "CreateAccount",
            serde_json::to_value(api::CreateAccount {
                handle: s(),
                email: s(),
                password: s(),
                invite_code: Some(s()),
                recovery_key: Some(s()),
            })
            .unwrap(),
        );
        check(
            "AccountCreated",
            serde_json::to_value(api::AccountCreated {
                did: s(),
                handle: s(),
                access_jwt: s(),
                refresh_jwt: s(),
            })
            .unwrap(),
        );
        check(
            "CreateDid",
            serde_json::to_value(api::CreateDid {
                device_key: s(),
                recovery_key: s(),
                escrow_share: s(),
            })
            .unwrap(),
        );
        check(
            "DidCreated",
            serde_json::to_value(api::DidCreated {
                did: s(),
                handle: s(),
                rotation_keys: vec![],
                signing_key: s(),
                escrow_share_id: s(),
                access_jwt: s(),
                refresh_jwt: s(),
                did_doc: json!({}),
            })
            .unwrap(),
        );
        check(
            "RotateDid",
            serde_json::to_value(api::RotateDid {
                operation: json!({}),
            })
            .unwrap(),
        );
        check(
            "DidRotated",
            serde_json::to_value(api::DidRotated {
                did: s(),
                cid: s(),
                rotation_keys: vec![],
            })
            .unwrap(),
        );
        check(
            "Device",
            serde_json::to_value(api::Device {
                id: s(),
                name: s(),
                public_key: s(),
                status: s(),
                created_at: s(),
                revoked_at: Some(s()),
            })
            .unwrap(),
        );
        check(
            "PutShare",
            serde_json::to_value(api::PutShare { share: s() }).unwrap(),
        );
        check(
            "EscrowShare",
            serde_json::to_value(api::EscrowShare {
                id: s(),
                share: Some(s()),
                split_id: s(),
                updated_at: s(),
            })
            .unwrap(),
        );
        check(
            "KeyEvent",
            serde_json::to_value(api::KeyEvent {
                id: 1,
                kind: s(),
                detail: json!({}),
                time: s(),
            })
            .unwrap(),
        );
        check(
            "RotationLog",
            serde_json::to_value(api::RotationLog {
                events: vec![],
                cursor: Some(s()),
            })
            .unwrap(),
        );
        let key = api::RelayKey {
            key_id: s(),
            public_key: s(),
            status: s(),
            created_at: s(),
        };
        check("RelayKey", serde_json::to_value(&key).unwrap());
        check(
            "RelayKeyRotated",
            serde_json::to_value(api::RelayKeyRotated {
                key,
                previous_key_id: Some(s()),
                rev: s(),
            })
            .unwrap(),
        );
        check(
            "RelayMode",
            serde_json::to_value(api::RelayMode { mode: s() }).unwrap(),
        );
    }
}
