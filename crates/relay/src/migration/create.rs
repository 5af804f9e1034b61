//! `createAccount` with an existing DID: the arriving half of a migration.

use crypto::{Algorithm, Keypair};
use store::Store;
use xrpc::com::atproto::server::create_account;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::Scope;
use crate::error::store_error;
use crate::handles::{self, HandleRules};
use crate::service_auth::verify_service_jwt;

const CREATE_ACCOUNT: &str = "com.atproto.server.createAccount";

impl AppState {
    /// Opens a deactivated account for `did`, which the caller proves it controls with a
    /// service JWT signed by the DID's current key (minted by its current host with
    /// `getServiceAuth`, `aud` = this server, `lxm` = createAccount). The repo starts empty
    /// and nothing is emitted until `activateAccount`.
    pub(crate) async fn create_migrated_account(
        &self,
        ctx: &Ctx,
        did: &str,
        input: xrpc::atrium_api::com::atproto::server::create_account::InputData,
    ) -> Result<create_account::Output, XrpcError> {
        let missing_auth = || {
            XrpcError::authentication_required(format!(
                "Missing auth to create account with did: {did}"
            ))
        };
        let token = ctx.bearer().ok_or_else(missing_auth)?;
        let caller =
            verify_service_jwt(self, token, &self.config.service_did, Some(CREATE_ACCOUNT)).await?;
        if caller.did != did || caller.service_id.is_some() {
            return Err(missing_auth());
        }
        if self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Err(XrpcError::invalid_request(format!(
                "Account already exists: {did}"
            )));
        }
        let email = match input.email.as_deref().map(str::trim) {
            None | Some("") => return Err(XrpcError::invalid_request("Email is required")),
            Some(email) if !handles::is_valid_email(email) => {
                return Err(XrpcError::invalid_request(
                    "This email address is not supported, please use a different email.",
                ))
            }
            Some(email) => email.to_lowercase(),
        };
        let handle = self.migrating_handle(did, input.handle.as_str()).await?;
        let invite_code = if self.config.invite_required {
            let code = input
                .invite_code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| XrpcError::new(400, "InvalidInviteCode", "No invite code provided"))?
                .to_owned();
            self.ensure_invite_available(&code).await?;
            Some(code)
        } else {
            None
        };
        if self
            .store
            .account_by_email(&email)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Err(XrpcError::invalid_request(format!(
                "Email already taken: {email}"
            )));
        }
        let password_hash = match input.password {
            Some(password) if password.chars().count() > 256 => {
                return Err(XrpcError::invalid_request(
                    "Password too long. Maximum length is 256 characters.",
                ))
            }
            Some(password) => Some(crate::api::server::hash_blocking(password).await?),
            None => None,
        };
        // A key of this server's: the DID is pointed at it by the PLC operation to come
        // (getRecommendedDidCredentials names it). Of the same curve as the DID's current key
        // (K-256, the network's usual, when unknown): the reference PDS, verifying a service
        // JWT against a cached document, refuses outright when the token's `alg` differs from
        // the cached key's instead of re-resolving, which would break a later move back.
        let algorithm = self
            .resolve_did_document(did, false)
            .await
            .ok()
            .and_then(|doc| doc.signing_key())
            .and_then(|key| crypto::PublicKey::from_did_key(&key).ok())
            .map_or(Algorithm::K256, |key| key.algorithm());
        let signing_key = Keypair::generate(algorithm);
        self.store
            .create_account(store::NewAccount {
                did: did.to_owned(),
                handle: handle.clone(),
                email: Some(email),
                password_hash,
                signing_key_sealed: self.repos.seal_signing_key(did, &signing_key),
                invite_code,
                deactivated: true,
            })
            .await
            .map_err(|e| match e {
                store::StoreError::HandleTaken => crate::api::server::handle_taken(&handle),
                other => store_error(other),
            })?;
        // An empty repo, so the account is whole before anything is imported; not emitted.
        if let Err(e) = self.repos.write(did, Vec::new(), None, false).await {
            self.repos.evict(did);
            let _ = self.store.delete_account(did).await;
            return Err(e);
        }
        let did_doc = match did.starts_with("did:plc:") {
            true => self.plc.cached_did_document(did).await,
            false => None,
        };
        let (access_jwt, refresh_jwt) =
            self.create_session_tokens(did, Scope::Access, None).await?;
        Ok(create_account::Output::from(
            xrpc::atrium_api::com::atproto::server::create_account::OutputData {
                access_jwt,
                did: did
                    .parse()
                    .map_err(|_| XrpcError::invalid_request("Invalid DID"))?,
                did_doc: did_doc.and_then(|d| serde_json::from_value(d).ok()),
                handle: handle
                    .parse()
                    .map_err(|_| XrpcError::invalid_request("Invalid handle"))?,
                refresh_jwt,
            },
        ))
    }

    /// The handle a migrating account may keep: one of this server's domains under the usual
    /// rules, or any other handle that resolves to the DID (the reference's rule).
    async fn migrating_handle(&self, did: &str, handle: &str) -> Result<String, XrpcError> {
        let rules = HandleRules::of(&self.config);
        let handle = handles::normalize_and_validate_syntax(rules, handle)?;
        if handles::service_domain(rules, &handle).is_some() {
            let handle = handles::normalize_and_validate_new_handle(rules, &handle)?;
            if self
                .store
                .account_by_handle(&handle)
                .await
                .map_err(store_error)?
                .is_some()
            {
                return Err(crate::api::server::handle_taken(&handle));
            }
            return Ok(handle);
        }
        match self.handle_resolver.resolve_fresh(&handle).await {
            Some(resolved) if resolved == did => Ok(handle),
            _ => Err(XrpcError::invalid_request(
                "External handle did not resolve to DID",
            )),
        }
    }
}
