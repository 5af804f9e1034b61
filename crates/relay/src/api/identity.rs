//! `com.atproto.identity` handlers, and the `.well-known` documents that make handles and the
//! service DID resolvable.
//!
//! Handles hosted here resolve from the store; other handles through DNS and HTTPS
//! (`crate::resolver`). A handle change on a did:plc is a PLC operation signed with the relay's
//! rotation key (which the DID must still list), then the store, then an `#identity` event
//! (checklist §13: "On a handle change: PLC op, then #identity").

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use identity::DidDocument;
use serde_json::{json, Value as JsonValue};
use store::{AccountStatus, Store};
use xrpc::atrium_api::types::string::AtIdentifier;
use xrpc::com::atproto::identity::{
    get_recommended_did_credentials, refresh_identity, resolve_did, resolve_handle,
    resolve_identity, update_handle,
};
use xrpc::XrpcError;

use crate::api::sync::from_json;
use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::error::store_error;
use crate::handles::{self, HandleRules};
use crate::http::error_response;
use crate::plc::PlcError;

/// The handle reported for an identity whose handle does not resolve back to it.
const INVALID_HANDLE: &str = "handle.invalid";

impl xrpc::com::atproto::identity::ComAtprotoIdentityHandler<Ctx> for AppState {
    // In api/email.rs, with the other mailed codes.
    async fn request_plc_operation_signature(&self, ctx: Ctx) -> Result<(), XrpcError> {
        self.request_plc_operation_signature_flow(ctx).await
    }

    async fn resolve_handle(
        &self,
        _ctx: Ctx,
        params: resolve_handle::Params,
    ) -> Result<resolve_handle::Output, XrpcError> {
        // A handle under this server's domains that no account holds is HandleNotFound (the
        // lexicon's name, as the reference answers); other failures stay InvalidRequest.
        let hosted = handles::service_domain(
            HandleRules::of(&self.config),
            &params.handle.as_str().to_ascii_lowercase(),
        )
        .is_some();
        let did = self
            .resolve_handle_to_did(&params.handle, false)
            .await
            .map_err(|mut e| {
                if hosted && e.error == "InvalidRequest" {
                    e.error = "HandleNotFound".into();
                }
                e
            })?;
        from_json(json!({ "did": did }))
    }

    async fn update_handle(&self, ctx: Ctx, input: update_handle::Input) -> Result<(), XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        caller.require_identity(permission::IdentityAttr::Handle)?;
        let did = caller.did.as_str();
        self.limit_update_handle(&ctx, did)?;
        self.change_handle(did, input.handle.as_str(), false).await
    }

    async fn sign_plc_operation(
        &self,
        ctx: Ctx,
        input: xrpc::com::atproto::identity::sign_plc_operation::Input,
    ) -> Result<xrpc::com::atproto::identity::sign_plc_operation::Output, XrpcError> {
        let input = serde_json::to_value(&input.data)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid input: {e}")))?;
        from_json(self.sign_plc_op(&ctx, input).await?)
    }

    async fn submit_plc_operation(
        &self,
        ctx: Ctx,
        input: xrpc::com::atproto::identity::submit_plc_operation::Input,
    ) -> Result<(), XrpcError> {
        let input = serde_json::to_value(&input.data)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid input: {e}")))?;
        self.submit_plc_op(&ctx, input).await
    }

    async fn get_recommended_did_credentials(
        &self,
        ctx: Ctx,
    ) -> Result<get_recommended_did_credentials::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let account = self
            .store
            .account_by_did(&caller.did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::invalid_request("Account not found"))?;
        let signing_key = self.repos.signing_key(&caller.did).await?.did_key();
        let mut body = json!({
            "rotationKeys": [self.secrets.plc_rotation_key.did_key()],
            "verificationMethods": { "atproto": signing_key },
            "services": {
                "atproto_pds": {
                    "type": "AtprotoPersonalDataServer",
                    "endpoint": self.config.public_url,
                }
            },
        });
        if !account.handle.is_empty() {
            body["alsoKnownAs"] = json!([format!("at://{}", account.handle)]);
        }
        from_json(body)
    }

    async fn resolve_did(
        &self,
        _ctx: Ctx,
        params: resolve_did::Params,
    ) -> Result<resolve_did::Output, XrpcError> {
        let doc = self.did_document(&params.did).await?;
        from_json(json!({ "didDoc": doc }))
    }

    async fn resolve_identity(
        &self,
        _ctx: Ctx,
        params: resolve_identity::Params,
    ) -> Result<resolve_identity::Output, XrpcError> {
        from_json(self.identity_info(&params.identifier, false).await?)
    }

    async fn refresh_identity(
        &self,
        _ctx: Ctx,
        input: refresh_identity::Input,
    ) -> Result<refresh_identity::Output, XrpcError> {
        let identifier = match &input.identifier {
            AtIdentifier::Did(did) => did.as_str().to_owned(),
            AtIdentifier::Handle(handle) => handle.as_str().to_owned(),
        };
        if identifier.starts_with("did:plc:") {
            self.plc.forget_document(&identifier);
        }
        from_json(self.identity_info(&identifier, true).await?)
    }
}

impl AppState {
    /// The DID a handle points at: an active account hosted here, or (for handles outside the
    /// service domains) what DNS or HTTPS says.
    async fn resolve_handle_to_did(&self, handle: &str, fresh: bool) -> Result<String, XrpcError> {
        let handle = handle.trim().to_ascii_lowercase();
        let unresolvable = || XrpcError::invalid_request("Unable to resolve handle");
        if let Some(account) = self
            .store
            .account_by_handle(&handle)
            .await
            .map_err(store_error)?
        {
            if account.status == AccountStatus::Active {
                return Ok(account.did);
            }
        }
        let rules = HandleRules::of(&self.config);
        let ours = handles::service_domain(rules, &handle).is_some()
            || rules
                .domains
                .iter()
                .any(|domain| domain.strip_prefix('.') == Some(handle.as_str()));
        if ours {
            // A handle of this server's domains that the store does not have is nobody's.
            return Err(unresolvable());
        }
        let did = if fresh {
            self.handle_resolver.resolve_fresh(&handle).await
        } else {
            self.handle_resolver.resolve(&handle).await
        };
        did.ok_or_else(unresolvable)
    }

    /// A DID's current document: from the PLC directory (did:plc) or its host (did:web).
    pub async fn did_document(&self, did: &str) -> Result<JsonValue, XrpcError> {
        let not_found = || XrpcError::new(400, "DidNotFound", format!("DID not found: {did}"));
        if did.starts_with("did:plc:") {
            return match self.plc.did_document(did).await {
                Ok(doc) => Ok(doc),
                Err(PlcError::NotFound { .. }) => Err(not_found()),
                Err(PlcError::Tombstoned { .. }) => Err(XrpcError::new(
                    400,
                    "DidDeactivated",
                    format!("DID deactivated: {did}"),
                )),
                Err(e) => Err(plc_failure("could not resolve the DID", &e)),
            };
        }
        if did.starts_with("did:web:") {
            return match self.handle_resolver.did_web_document(did).await {
                Ok(Some(doc)) => Ok(doc),
                Ok(None) => Err(not_found()),
                Err(reason) => {
                    eprintln!("did:web resolution of {did}: {reason}");
                    Err(not_found())
                }
            };
        }
        Err(XrpcError::invalid_request(format!(
            "Unsupported DID method: {did}"
        )))
    }

    /// `com.atproto.identity.defs#identityInfo` for a DID or handle: the DID, its document,
    /// and the handle only if it points back at the DID (`handle.invalid` otherwise).
    async fn identity_info(&self, identifier: &str, fresh: bool) -> Result<JsonValue, XrpcError> {
        let (did, claimed_handle) = if identifier.starts_with("did:") {
            (identifier.to_owned(), None)
        } else {
            let handle = identifier.trim().to_ascii_lowercase();
            let did = self
                .resolve_handle_to_did(&handle, fresh)
                .await
                .map_err(|_| {
                    XrpcError::new(
                        400,
                        "HandleNotFound",
                        format!("Unable to resolve handle: {handle}"),
                    )
                })?;
            (did, Some(handle))
        };
        let doc = self.did_document(&did).await?;
        let doc_handle = DidDocument::parse(&did, &doc)
            .ok()
            .and_then(|parsed| parsed.handle());
        let handle = match (claimed_handle, doc_handle) {
            // Asked by handle: it resolved to the DID; the document must claim it too.
            (Some(asked), Some(claimed)) if asked == claimed => asked,
            (Some(_), _) => INVALID_HANDLE.to_owned(),
            // Asked by DID: the document's handle must resolve back to the DID.
            (None, Some(claimed)) => match self.resolve_handle_to_did(&claimed, fresh).await {
                Ok(back) if back == did => claimed,
                _ => INVALID_HANDLE.to_owned(),
            },
            (None, None) => INVALID_HANDLE.to_owned(),
        };
        Ok(json!({ "did": did, "handle": handle, "didDoc": doc }))
    }

    /// Points a did:plc's `alsoKnownAs` at `handle` with an operation signed by the relay's
    /// rotation key.
    pub(crate) async fn set_plc_handle(&self, did: &str, handle: &str) -> Result<(), XrpcError> {
        let audited = self
            .plc
            .audited(did)
            .await
            .map_err(|e| plc_failure("could not read the DID's log", &e))?;
        let state = audited.state().ok_or_else(|| {
            XrpcError::invalid_request(format!("{did} is deactivated (tombstoned)"))
        })?;
        if state.handle().as_deref() == Some(handle) {
            return Ok(());
        }
        let key = &self.secrets.plc_rotation_key;
        if !state.rotation_keys.contains(&key.did_key()) {
            return Err(XrpcError::invalid_request(
                "This server's rotation key is no longer a rotation key of the DID: update the handle in the DID document with your own key",
            ));
        }
        let op = state
            .update_op(&audited.head)
            .with_handle(handle)
            .and_then(|op| op.sign(key))
            .map_err(|e| XrpcError::invalid_request(format!("Invalid handle operation: {e}")))?;
        self.plc
            .submit(did, &op)
            .await
            .map_err(|e| plc_failure("the PLC directory refused the handle update", &e))
    }
}

fn plc_failure(what: &str, e: &PlcError) -> XrpcError {
    eprintln!("PLC directory: {what}: {e}");
    XrpcError::upstream_failure(format!("{what}: {e}"))
}

/// `GET /.well-known/atproto-did` on a hosted handle's host: the DID as plain text.
pub async fn well_known_atproto_did(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
        .unwrap_or_default();
    match state.store.account_by_handle(&host).await {
        Ok(Some(account)) if account.status == AccountStatus::Active => account.did.into_response(),
        Ok(Some(_)) => error_response(&XrpcError::new(404, "NotFound", "User not found")),
        Ok(None) => error_response(&XrpcError::new(404, "NotFound", "User not found")),
        Err(e) => error_response(&crate::error::store_error(e)),
    }
}

/// `GET /.well-known/did.json`: the service's did:web document.
pub async fn well_known_did_json(State(state): State<Arc<AppState>>) -> Response {
    let hostname = &state.config.hostname;
    if !state.config.service_did.ends_with(hostname.as_str()) {
        return error_response(&XrpcError::new(404, "NotFound", "Not Found"));
    }
    Json(serde_json::json!({
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": state.config.service_did,
        "service": [{
            "id": "#atproto_pds",
            "type": "AtprotoPersonalDataServer",
            "serviceEndpoint": state.config.public_url,
        }],
    }))
    .into_response()
}

impl AppState {
    /// Gives `did` the handle `requested` (updateHandle, and the admin's updateAccountHandle with
    /// `by_admin`, which may also hand out reserved names): syntax, service-domain rules or, for
    /// a domain of the user's own, a fresh resolution to the DID; not another account's; through
    /// the PLC directory for did:plc; then `#identity`.
    pub(crate) async fn change_handle(
        &self,
        did: &str,
        requested: &str,
        by_admin: bool,
    ) -> Result<(), XrpcError> {
        let rules = HandleRules::of(&self.config);
        let handle = handles::normalize_and_validate_syntax(rules, requested)?;
        match handles::service_domain(rules, &handle) {
            Some(domain) => match handles::check_service_label(&handle, domain) {
                // The admin may hand out reserved names (www, admin, …), as the reference allows.
                Err(e) if by_admin && e.error == "HandleNotAvailable" => {}
                other => other?,
            },
            None => {
                // A domain of the user's own must already point at this DID.
                if self.handle_resolver.resolve_fresh(&handle).await.as_deref() != Some(did) {
                    return Err(XrpcError::invalid_request(
                        "External handle did not resolve to DID",
                    ));
                }
            }
        }
        let holder = self
            .store
            .account_by_handle(&handle)
            .await
            .map_err(store_error)?;
        match holder {
            Some(account) if account.did != did => {
                return Err(crate::api::server::handle_taken(&handle));
            }
            // Already this account's handle: only announce it again.
            Some(_) => {}
            None => {
                if did.starts_with("did:plc:") {
                    self.set_plc_handle(did, &handle).await?;
                } else {
                    let doc = self.did_document(did).await?;
                    let parsed = DidDocument::parse(did, &doc).map_err(|e| {
                        XrpcError::invalid_request(format!("Invalid DID document: {e}"))
                    })?;
                    if parsed.handle().as_deref() != Some(handle.as_str()) {
                        return Err(XrpcError::invalid_request(
                            "DID is not properly configured for handle",
                        ));
                    }
                }
                self.store
                    .update_handle(did, &handle)
                    .await
                    .map_err(store_error)?;
            }
        }
        if let Err(e) = self.sequence_identity(did, Some(&handle)).await {
            // The handle changed; relays also learn it from the DID document.
            eprintln!("failed to sequence the #identity event of {did}: {e}");
        }
        Ok(())
    }
}
