//! The PLC operations of a migration: asking for an emailed token, signing an operation with
//! this server's rotation key (with the token), and submitting an operation the account's new
//! host signed, after checking it leaves the account servable here.

use std::collections::BTreeMap;

use identity::{PlcOperation, Service, SignedOp};
use serde_json::{json, Value as Json};
use store::Store;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::error::store_error;
use crate::mail::Purpose;
use crate::plc::PlcError;

impl AppState {
    /// `signPlcOperation`: the DID's current state with the given fields replaced, signed with
    /// this server's rotation key, for the caller to submit at its new host. Needs the mailed
    /// token.
    pub(crate) async fn sign_plc_op(&self, ctx: &Ctx, input: Json) -> Result<Json, XrpcError> {
        let caller = self.caller(ctx, Access::Full).await?;
        let did = caller.did.as_str();
        let token = input["token"]
            .as_str()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                XrpcError::invalid_request(
                    "email confirmation token required to sign PLC operations",
                )
            })?;
        self.consume_email_token(did, Purpose::PlcOperation, token)
            .await?;
        let audited = self
            .plc
            .audited(did)
            .await
            .map_err(|e| plc_failure("could not read the DID's log", &e))?;
        let state = audited
            .state()
            .ok_or_else(|| XrpcError::invalid_request("Did is tombstoned"))?;
        let mut op: PlcOperation = state.update_op(&audited.head);
        if let Some(keys) = input.get("rotationKeys").filter(|v| !v.is_null()) {
            op.rotation_keys = strings(keys, "rotationKeys")?;
        }
        if let Some(aka) = input.get("alsoKnownAs").filter(|v| !v.is_null()) {
            op.also_known_as = strings(aka, "alsoKnownAs")?;
        }
        if let Some(methods) = input.get("verificationMethods").filter(|v| !v.is_null()) {
            op.verification_methods = string_map(methods, "verificationMethods")?;
        }
        if let Some(services) = input.get("services").filter(|v| !v.is_null()) {
            op.services = service_map(services)?;
        }
        let signed = op
            .sign(&self.secrets.plc_rotation_key)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid operation: {e}")))?;
        Ok(json!({ "operation": signed.to_json() }))
    }

    /// `submitPlcOperation`: refuses an operation that would leave this server unable to serve
    /// the account (its rotation key, endpoint, the account's signing key and handle must stay),
    /// then sends it to the directory and emits `#identity`.
    pub(crate) async fn submit_plc_op(&self, ctx: &Ctx, input: Json) -> Result<(), XrpcError> {
        let caller = self.caller(ctx, Access::Full).await?;
        let did = caller.did.as_str();
        let signed = SignedOp::from_json(&input["operation"])
            .map_err(|e| XrpcError::invalid_request(format!("Invalid operation: {e}")))?;
        let identity::UnsignedOp::Operation(op) = signed.op() else {
            return Err(XrpcError::invalid_request("Invalid operation"));
        };
        if !op
            .rotation_keys
            .contains(&self.secrets.plc_rotation_key.did_key())
        {
            return Err(XrpcError::invalid_request(
                "Rotation keys do not include server's rotation key",
            ));
        }
        let pds = op.services.get("atproto_pds");
        if pds.map(|s| s.service_type.as_str()) != Some("AtprotoPersonalDataServer") {
            return Err(XrpcError::invalid_request(
                "Missing atproto_pds service type",
            ));
        }
        if pds.map(|s| s.endpoint.as_str()) != Some(self.config.public_url.as_str()) {
            return Err(XrpcError::invalid_request(
                "Incorrect endpoint on atproto_pds service",
            ));
        }
        let signing_key = self.repos.signing_key(did).await?.did_key();
        if op.verification_methods.get("atproto") != Some(&signing_key) {
            return Err(XrpcError::invalid_request("Incorrect signing key"));
        }
        let account = self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::invalid_request("Account not found"))?;
        if !account.handle.is_empty()
            && op.also_known_as.first().map(String::as_str)
                != Some(format!("at://{}", account.handle).as_str())
        {
            return Err(XrpcError::invalid_request(
                "Incorrect handle in alsoKnownAs",
            ));
        }
        self.plc
            .submit(did, &signed)
            .await
            .map_err(|e| plc_failure("the PLC directory refused the operation", &e))?;
        self.sequence_identity(did, Some(&account.handle)).await?;
        Ok(())
    }
}

fn strings(value: &Json, field: &str) -> Result<Vec<String>, XrpcError> {
    value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| XrpcError::invalid_request(format!("{field} must be a list of strings")))
}

fn string_map(value: &Json, field: &str) -> Result<BTreeMap<String, String>, XrpcError> {
    value
        .as_object()
        .and_then(|o| {
            o.iter()
                .map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .ok_or_else(|| XrpcError::invalid_request(format!("{field} must map ids to strings")))
}

fn service_map(value: &Json) -> Result<BTreeMap<String, Service>, XrpcError> {
    let bad = || XrpcError::invalid_request("services must map ids to {type, endpoint}");
    let object = value.as_object().ok_or_else(bad)?;
    object
        .iter()
        .map(|(id, s)| {
            Ok((
                id.clone(),
                Service {
                    service_type: s["type"].as_str().ok_or_else(bad)?.to_owned(),
                    endpoint: s["endpoint"].as_str().ok_or_else(bad)?.to_owned(),
                },
            ))
        })
        .collect()
}

fn plc_failure(what: &str, e: &PlcError) -> XrpcError {
    eprintln!("PLC directory: {what}: {e}");
    XrpcError::upstream_failure(format!("{what}: {e}"))
}
