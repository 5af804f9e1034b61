//! `com.atproto.server`: the server's description, accounts (creation with a did:plc, status),
//! sessions (password and app-password logins, refresh-token rotation), app passwords and
//! invite codes. Names, messages and statuses of errors follow the reference PDS.

use std::sync::OnceLock;

use crypto::{Algorithm, Keypair, PublicKey};
use data::{Map, Value};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use store::{Account, AccountStatus, EventDraft, Store};
use xrpc::atrium_api::types::string::{Cid as AtCid, Datetime as AtDatetime, Did, Handle};
use xrpc::atrium_api::types::Unknown;
use xrpc::com::atproto::server::{
    check_account_status, confirm_email, create_account, create_app_password, create_invite_code,
    create_invite_codes, create_session, deactivate_account, delete_account, describe_server,
    get_account_invite_codes, get_service_auth, get_session, list_app_passwords, refresh_session,
    request_email_update, request_password_reset, reset_password, revoke_app_password,
    update_email,
};
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::{self, Access, Claims, Scope};
use crate::error::store_error;
use crate::handles::{self, HandleRules};
use crate::plc::PlcError;

/// Longest password a new account may set, and longest one a login may try (the reference's
/// limits: older accounts may have longer passwords than new ones may set).
const NEW_PASSWORD_MAX_LENGTH: usize = 256;
const OLD_PASSWORD_MAX_LENGTH: usize = 512;
/// Invite codes: at most this many per createInviteCodes call, and uses per code.
const MAX_INVITE_CODES_PER_CALL: i64 = 1000;

impl xrpc::com::atproto::server::ComAtprotoServerHandler<Ctx> for AppState {
    // The email flows live in api/email.rs.
    async fn request_email_confirmation(&self, ctx: Ctx) -> Result<(), XrpcError> {
        self.request_email_confirmation_flow(ctx).await
    }

    async fn confirm_email(&self, ctx: Ctx, input: confirm_email::Input) -> Result<(), XrpcError> {
        self.confirm_email_flow(ctx, input).await
    }

    async fn request_email_update(
        &self,
        ctx: Ctx,
    ) -> Result<request_email_update::Output, XrpcError> {
        self.request_email_update_flow(ctx).await
    }

    async fn update_email(&self, ctx: Ctx, input: update_email::Input) -> Result<(), XrpcError> {
        self.update_email_flow(ctx, input).await
    }

    async fn request_password_reset(
        &self,
        ctx: Ctx,
        input: request_password_reset::Input,
    ) -> Result<(), XrpcError> {
        self.request_password_reset_flow(ctx, input).await
    }

    async fn reset_password(
        &self,
        ctx: Ctx,
        input: reset_password::Input,
    ) -> Result<(), XrpcError> {
        self.reset_password_flow(ctx, input).await
    }

    async fn request_account_delete(&self, ctx: Ctx) -> Result<(), XrpcError> {
        self.request_account_delete_flow(ctx).await
    }

    async fn delete_account(
        &self,
        ctx: Ctx,
        input: delete_account::Input,
    ) -> Result<(), XrpcError> {
        self.delete_account_flow(ctx, input).await
    }

    async fn describe_server(&self, _ctx: Ctx) -> Result<describe_server::Output, XrpcError> {
        use xrpc::atrium_api::com::atproto::server::describe_server::{ContactData, LinksData};
        Ok(describe_server::Output::from(
            xrpc::atrium_api::com::atproto::server::describe_server::OutputData {
                available_user_domains: self.config.handle_domains.clone(),
                blob_upload_limit: i64::try_from(self.config.blob_upload_limit).ok(),
                contact: Some(
                    ContactData {
                        email: self.config.contact_email_address.clone(),
                    }
                    .into(),
                ),
                did: did_value(&self.config.service_did)?,
                invite_code_required: Some(self.config.invite_required),
                links: Some(
                    LinksData {
                        privacy_policy: self.config.privacy_policy_url.clone(),
                        terms_of_service: self.config.terms_of_service_url.clone(),
                    }
                    .into(),
                ),
                phone_verification_required: None,
            },
        ))
    }

    async fn create_account(
        &self,
        ctx: Ctx,
        input: create_account::Input,
    ) -> Result<create_account::Output, XrpcError> {
        self.limit_create_account(&ctx)?;
        let input = input.data;
        if input.plc_op.is_some() {
            return Err(XrpcError::invalid_request("Unsupported input: \"plcOp\""));
        }
        if let Some(did) = input.did.clone() {
            // Migration: the account arrives with its DID (crate::migration).
            return self
                .create_migrated_account(&ctx, did.as_str(), input)
                .await;
        }
        if input
            .password
            .as_ref()
            .is_some_and(|p| p.chars().count() > NEW_PASSWORD_MAX_LENGTH)
        {
            return Err(XrpcError::invalid_request(format!(
                "Password too long. Maximum length is {NEW_PASSWORD_MAX_LENGTH} characters."
            )));
        }
        let invite_code = input
            .invite_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        if self.config.invite_required && invite_code.is_none() {
            return Err(XrpcError::new(
                400,
                "InvalidInviteCode",
                "No invite code provided",
            ));
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
        let handle = handles::normalize_and_validate_new_handle(
            HandleRules::of(&self.config),
            input.handle.as_str(),
        )?;
        let invite_code = if self.config.invite_required {
            let code = invite_code.expect("checked above").to_owned();
            self.ensure_invite_available(&code).await?;
            Some(code)
        } else {
            None
        };
        if self
            .store
            .account_by_handle(&handle)
            .await
            .map_err(store_error)?
            .is_some()
        {
            return Err(handle_taken(&handle));
        }
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
        // Rotation keys, highest priority first: the client's recovery key (if any), then ours.
        let mut rotation_keys = Vec::new();
        if let Some(key) = input.recovery_key.as_deref().map(str::trim) {
            PublicKey::from_did_key(key).map_err(|e| {
                XrpcError::invalid_request(format!(
                    "Invalid recoveryKey: must be a P-256 or K-256 did:key ({e})"
                ))
            })?;
            rotation_keys.push(key.to_owned());
        }
        let relay_key = self.secrets.plc_rotation_key.did_key();
        if !rotation_keys.contains(&relay_key) {
            rotation_keys.push(relay_key);
        }
        let signing_key = Keypair::generate(Algorithm::P256);
        let genesis = identity::genesis_op(
            rotation_keys,
            &signing_key.did_key(),
            &handle,
            &self.config.public_url,
        )
        .and_then(|op| op.sign(&self.secrets.plc_rotation_key))
        .map_err(|e| XrpcError::invalid_request(format!("Cannot build the DID: {e}")))?;
        let did = genesis
            .did()
            .map_err(|e| XrpcError::internal(format!("cannot derive the DID: {e}")))?;
        let state = genesis
            .to_state(&did)
            .ok_or_else(|| XrpcError::internal("the genesis operation has no state"))?;
        self.plc
            .submit(&did, &genesis)
            .await
            .map_err(|e| plc_failure("could not register the DID", &e))?;
        // The document as the directory serves it (what resolvers will see), as the reference
        // answers; the one our state implies if the directory cannot be read back right now.
        let did_doc = match self.plc.cached_did_document(&did).await {
            Some(doc) => doc,
            None => state.did_document(),
        };

        let password_hash = match input.password {
            Some(password) => Some(hash_blocking(password).await?),
            None => None,
        };
        self.open_account(store::NewAccount {
            did: did.clone(),
            handle: handle.clone(),
            email: Some(email),
            password_hash,
            signing_key_sealed: self.repos.seal_signing_key(&did, &signing_key),
            invite_code,
            deactivated: false,
        })
        .await?;

        let (access_jwt, refresh_jwt) = self
            .create_session_tokens(&did, Scope::Access, None)
            .await?;
        Ok(create_account::Output::from(
            xrpc::atrium_api::com::atproto::server::create_account::OutputData {
                access_jwt,
                did: did_value(&did)?,
                did_doc: to_unknown(did_doc),
                handle: handle_value(&handle),
                refresh_jwt,
            },
        ))
    }

    async fn create_session(
        &self,
        ctx: Ctx,
        input: create_session::Input,
    ) -> Result<create_session::Output, XrpcError> {
        let input = input.data;
        self.limit_create_session(&ctx, &input.identifier)?;
        if input.password.chars().count() > OLD_PASSWORD_MAX_LENGTH {
            return Err(XrpcError::authentication_required(
                "Password too long. Consider resetting your password.",
            ));
        }
        let Some(account) = self.login_account(&input.identifier).await? else {
            // Do the work a failed check of a real account does (the password, then the app
            // passwords), so unknown identifiers cannot be told apart by the time it takes.
            let _ = verify_blocking(input.password.clone(), None).await;
            let password = input.password;
            let _ = tokio::task::spawn_blocking(move || app_password_hash("", &password)).await;
            return Err(invalid_login());
        };
        let soft_deleted = matches!(
            account.status,
            AccountStatus::Takendown | AccountStatus::Suspended
        );
        let stored_hash = self
            .store
            .password_hash(&account.did)
            .await
            .map_err(store_error)?;
        let valid = verify_blocking(input.password.clone(), stored_hash).await?;
        let mut app_password = None;
        if !valid {
            // Taken-down and suspended accounts cannot log in with an app password.
            if soft_deleted {
                return Err(invalid_login());
            }
            app_password = self
                .match_app_password(&account.did, &input.password)
                .await?;
            if app_password.is_none() {
                return Err(invalid_login());
            }
        }
        if soft_deleted {
            return Err(account_takedown());
        }
        if app_password.is_none() {
            self.check_email_auth_factor(&account, input.auth_factor_token.as_deref())
                .await?;
        }
        let scope = match &app_password {
            None => Scope::Access,
            Some(p) if p.privileged => Scope::AppPassPrivileged,
            Some(_) => Scope::AppPass,
        };
        let (access_jwt, refresh_jwt) = self
            .create_session_tokens(&account.did, scope, app_password.map(|p| p.name))
            .await?;
        let info = self.session_info(&account).await;
        Ok(create_session::Output::from(
            xrpc::atrium_api::com::atproto::server::create_session::OutputData {
                access_jwt,
                refresh_jwt,
                active: info.active,
                did: did_value(&account.did)?,
                did_doc: info.did_doc,
                email: info.email,
                email_auth_factor: self.email_auth_factor_enabled(&account.did).await,
                email_confirmed: info.email_confirmed,
                handle: info.handle,
                status: info.status,
            },
        ))
    }

    async fn get_session(&self, ctx: Ctx) -> Result<get_session::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let account = self.account(&caller.did).await?;
        let mut info = self.session_info(&account).await;
        if !caller.sees_email() {
            info.email = None;
            info.email_confirmed = None;
        }
        Ok(get_session::Output::from(
            xrpc::atrium_api::com::atproto::server::get_session::OutputData {
                active: info.active,
                did: did_value(&account.did)?,
                did_doc: info.did_doc,
                email: info.email,
                email_auth_factor: self.email_auth_factor_enabled(&account.did).await,
                email_confirmed: info.email_confirmed,
                handle: info.handle,
                status: info.status,
            },
        ))
    }

    async fn refresh_session(&self, ctx: Ctx) -> Result<refresh_session::Output, XrpcError> {
        let claims = self.refresh_claims(&ctx)?;
        let token_id = claims.jti.clone().unwrap_or_default();
        let account = self
            .store
            .account_by_did(&claims.sub)
            .await
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted)
            .ok_or_else(|| {
                XrpcError::invalid_request(format!(
                    "Could not find user info for account: {}",
                    claims.sub
                ))
            })?;
        if matches!(
            account.status,
            AccountStatus::Takendown | AccountStatus::Suspended
        ) {
            return Err(account_takedown());
        }
        let (access_jwt, refresh_jwt) = self.rotate_refresh_token(&account.did, &token_id).await?;
        let info = self.session_info(&account).await;
        Ok(refresh_session::Output::from(
            xrpc::atrium_api::com::atproto::server::refresh_session::OutputData {
                access_jwt,
                refresh_jwt,
                active: info.active,
                did: did_value(&account.did)?,
                did_doc: info.did_doc,
                email: info.email,
                email_auth_factor: self.email_auth_factor_enabled(&account.did).await,
                email_confirmed: info.email_confirmed,
                handle: info.handle,
                status: info.status,
            },
        ))
    }

    async fn delete_session(&self, ctx: Ctx) -> Result<(), XrpcError> {
        let claims = self.refresh_claims(&ctx)?;
        if let Some(id) = &claims.jti {
            self.store
                .delete_refresh_token(id)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn create_app_password(
        &self,
        ctx: Ctx,
        input: create_app_password::Input,
    ) -> Result<create_app_password::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Full).await?;
        let input = input.data;
        let name = input.name.trim().to_owned();
        if name.is_empty() {
            return Err(XrpcError::invalid_request("App password name is required"));
        }
        let privileged = input.privileged.unwrap_or(false);
        let existing = self
            .store
            .list_app_passwords(&caller.did)
            .await
            .map_err(store_error)?;
        if existing.iter().any(|p| p.name == name) {
            return Err(XrpcError::invalid_request(
                "could not create app-specific password",
            ));
        }
        let password = new_app_password();
        let password_hash = {
            let (did, password) = (caller.did.clone(), password.clone());
            tokio::task::spawn_blocking(move || app_password_hash(&did, &password))
                .await
                .map_err(|_| XrpcError::internal("password hashing failed"))?
        };
        let created_at = now_iso();
        self.store
            .create_app_password(
                &caller.did,
                store::AppPassword {
                    name: name.clone(),
                    password_hash,
                    privileged,
                    created_at: created_at.clone(),
                },
            )
            .await
            .map_err(store_error)?;
        Ok(create_app_password::Output::from(
            xrpc::atrium_api::com::atproto::server::create_app_password::AppPasswordData {
                created_at: datetime_value(&created_at),
                name,
                password,
                privileged: Some(privileged),
            },
        ))
    }

    async fn list_app_passwords(&self, ctx: Ctx) -> Result<list_app_passwords::Output, XrpcError> {
        use xrpc::atrium_api::com::atproto::server::list_app_passwords::AppPasswordData;
        let caller = self.caller(&ctx, Access::Full).await?;
        let passwords = self
            .store
            .list_app_passwords(&caller.did)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|p| {
                AppPasswordData {
                    created_at: datetime_value(&p.created_at),
                    name: p.name,
                    privileged: Some(p.privileged),
                }
                .into()
            })
            .collect();
        Ok(list_app_passwords::Output::from(
            xrpc::atrium_api::com::atproto::server::list_app_passwords::OutputData { passwords },
        ))
    }

    async fn revoke_app_password(
        &self,
        ctx: Ctx,
        input: revoke_app_password::Input,
    ) -> Result<(), XrpcError> {
        let caller = self.caller(&ctx, Access::Full).await?;
        self.store
            .delete_app_password(&caller.did, input.data.name.trim())
            .await
            .map_err(store_error)
    }

    async fn create_invite_code(
        &self,
        ctx: Ctx,
        input: create_invite_code::Input,
    ) -> Result<create_invite_code::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let input = input.data;
        check_use_count(input.use_count)?;
        let account = input
            .for_account
            .map(|d| d.as_str().to_owned())
            .unwrap_or_else(|| "admin".to_owned());
        let code = self.new_invite_code();
        self.store
            .create_invite_codes(&[store::InviteCode {
                code: code.clone(),
                available: input.use_count,
                disabled: false,
                for_account: account,
                created_by: "admin".to_owned(),
                created_at: now_iso(),
                uses: Vec::new(),
            }])
            .await
            .map_err(store_error)?;
        Ok(create_invite_code::Output::from(
            xrpc::atrium_api::com::atproto::server::create_invite_code::OutputData { code },
        ))
    }

    async fn create_invite_codes(
        &self,
        ctx: Ctx,
        input: create_invite_codes::Input,
    ) -> Result<create_invite_codes::Output, XrpcError> {
        use xrpc::atrium_api::com::atproto::server::create_invite_codes::AccountCodesData;
        self.require_admin(&ctx)?;
        let input = input.data;
        check_use_count(input.use_count)?;
        if !(1..=MAX_INVITE_CODES_PER_CALL).contains(&input.code_count) {
            return Err(XrpcError::invalid_request(format!(
                "codeCount must be between 1 and {MAX_INVITE_CODES_PER_CALL}"
            )));
        }
        let accounts: Vec<String> = match input.for_accounts {
            Some(list) if !list.is_empty() => list.iter().map(|d| d.as_str().to_owned()).collect(),
            _ => vec!["admin".to_owned()],
        };
        let created_at = now_iso();
        let mut rows = Vec::new();
        let mut out = Vec::new();
        for account in accounts {
            let codes: Vec<String> = (0..input.code_count)
                .map(|_| self.new_invite_code())
                .collect();
            rows.extend(codes.iter().map(|code| store::InviteCode {
                code: code.clone(),
                available: input.use_count,
                disabled: false,
                for_account: account.clone(),
                created_by: "admin".to_owned(),
                created_at: created_at.clone(),
                uses: Vec::new(),
            }));
            out.push(AccountCodesData { account, codes }.into());
        }
        self.store
            .create_invite_codes(&rows)
            .await
            .map_err(store_error)?;
        Ok(create_invite_codes::Output::from(
            xrpc::atrium_api::com::atproto::server::create_invite_codes::OutputData { codes: out },
        ))
    }

    async fn get_account_invite_codes(
        &self,
        ctx: Ctx,
        params: get_account_invite_codes::Params,
    ) -> Result<get_account_invite_codes::Output, XrpcError> {
        use xrpc::atrium_api::com::atproto::server::defs::{InviteCodeData, InviteCodeUseData};
        let caller = self.caller(&ctx, Access::Standard).await?;
        // Codes are only made by an admin here (no earned codes), so `createAvailable` has
        // nothing to create.
        let codes = self
            .store
            .invite_codes_for(&caller.did)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|c| params.include_used || (c.uses.len() as i64) < c.available)
            .map(|c| {
                let uses = c
                    .uses
                    .iter()
                    .filter_map(|(by, at)| {
                        Some(
                            InviteCodeUseData {
                                used_at: datetime_value(at),
                                used_by: Did::new(by.clone()).ok()?,
                            }
                            .into(),
                        )
                    })
                    .collect();
                InviteCodeData {
                    available: c.available,
                    code: c.code,
                    created_at: datetime_value(&c.created_at),
                    created_by: c.created_by,
                    disabled: c.disabled,
                    for_account: c.for_account,
                    uses,
                }
                .into()
            })
            .collect();
        Ok(get_account_invite_codes::Output::from(
            xrpc::atrium_api::com::atproto::server::get_account_invite_codes::OutputData { codes },
        ))
    }

    async fn activate_account(&self, ctx: Ctx) -> Result<(), XrpcError> {
        let caller = self.caller(&ctx, Access::Full).await?;
        let account = self.account(&caller.did).await?;
        match account.status {
            // Already active: announced again below, as the reference does (a way to make
            // consumers resynchronise).
            AccountStatus::Active | AccountStatus::Deactivated => {}
            AccountStatus::Takendown | AccountStatus::Suspended => {
                return Err(account_takedown());
            }
            AccountStatus::Deleted => {
                return Err(XrpcError::new(400, "AccountNotFound", "user not found"));
            }
        }
        if let Some(problem) = self.did_document_problem(&account.did).await? {
            return Err(XrpcError::invalid_request(problem));
        }
        if account.status == AccountStatus::Deactivated {
            self.store
                .set_account_status(&account.did, AccountStatus::Active)
                .await
                .map_err(store_error)?;
        }
        // #account active, #identity, then a #sync naming the current commit, so consumers
        // resynchronise without a new commit (the reference's order; sync 1.1). A migrated
        // account's imported head is first re-signed with its key here (a #commit), and blobs
        // uploaded after the import are linked to their records (crate::migration).
        self.link_imported_blobs(&account.did).await?;
        self.sequence_account(&account.did, AccountStatus::Active)
            .await?;
        self.sequence_identity(&account.did, Some(&account.handle))
            .await?;
        self.resign_foreign_head(&account.did).await?;
        self.sequence_sync(&account.did).await?;
        Ok(())
    }

    async fn deactivate_account(
        &self,
        ctx: Ctx,
        input: deactivate_account::Input,
    ) -> Result<(), XrpcError> {
        // `deleteAfter` is a retention hint; accounts are only deleted on request here.
        let _ = input;
        let caller = self.caller(&ctx, Access::Full).await?;
        let account = self.account(&caller.did).await?;
        match account.status {
            AccountStatus::Deactivated => Ok(()),
            AccountStatus::Active => {
                self.store
                    .set_account_status(&account.did, AccountStatus::Deactivated)
                    .await
                    .map_err(store_error)?;
                self.sequence_account(&account.did, AccountStatus::Deactivated)
                    .await?;
                Ok(())
            }
            AccountStatus::Takendown | AccountStatus::Suspended => Err(account_takedown()),
            AccountStatus::Deleted => Err(XrpcError::invalid_request("Account not found")),
        }
    }

    async fn check_account_status(
        &self,
        ctx: Ctx,
    ) -> Result<check_account_status::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let account = self.account(&caller.did).await?;
        let did = &account.did;
        let head = self
            .store
            .repo_head(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                XrpcError::invalid_request(format!("Could not find repo for DID: {did}"))
            })?;
        ctx.set_repo_rev(&head.rev);
        let repo_blocks = self.store.all_blocks(did).await.map_err(store_error)?.len() as i64;
        let indexed_records = self.store.record_count(did).await.map_err(store_error)?;
        let private_state_values = self
            .store
            .preferences(did)
            .await
            .map_err(store_error)?
            .len() as i64;
        // Counted over the records' references, so they move as a migration uploads blobs.
        let (expected_blobs, imported_blobs) = self.referenced_blob_counts(did).await?;
        let valid_did = self.did_document_problem(did).await?.is_none();
        let repo_commit: AtCid = head
            .cid
            .to_string()
            .parse()
            .map_err(|_| XrpcError::internal("the repo head is not a valid CID"))?;
        Ok(check_account_status::Output::from(
            xrpc::atrium_api::com::atproto::server::check_account_status::OutputData {
                activated: account.status == AccountStatus::Active,
                expected_blobs,
                imported_blobs,
                indexed_records,
                private_state_values,
                repo_blocks,
                repo_commit,
                repo_rev: head.rev,
                valid_did,
            },
        ))
    }

    async fn get_service_auth(
        &self,
        ctx: Ctx,
        params: get_service_auth::Params,
    ) -> Result<get_service_auth::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let get_service_auth::Params { aud, exp, lxm } = params;
        if !is_atproto_audience(&aud) {
            return Err(XrpcError::invalid_request(
                "aud must be a valid atproto DID or did#serviceId reference",
            ));
        }
        if caller.oauth.is_some() {
            // An app may only mint tokens for what it may call itself (OAuth spec,
            // `transition:generic`: "service auth tokens for the specific API endpoints the
            // client has access to").
            let aud_str: &str = aud.as_ref();
            if !caller.allows_rpc(lxm.as_deref().unwrap_or("*"), aud_str) {
                return Err(auth::scope_missing(&format!(
                    "rpc:{}?aud={aud_str}",
                    lxm.as_deref().unwrap_or("*")
                )));
            }
        }
        if let Some(lxm) = &lxm {
            if caller.scope == Scope::AppPass && lxm_in(PRIVILEGED_METHODS, lxm) {
                return Err(XrpcError::invalid_request(format!(
                    "insufficient access to request a service auth token for the following method: {lxm}"
                )));
            }
        }
        let now = auth::now_secs();
        // Like the reference, `exp=0` counts as absent for the bounds (but is still used).
        if let Some(exp) = exp.filter(|e| *e != 0) {
            let bad = |msg: &str| XrpcError::new(400, "BadExpiration", msg);
            // Compared in milliseconds, as the reference does.
            let diff = exp.saturating_mul(1000).saturating_sub(now_millis());
            if diff < 0 {
                return Err(bad("expiration is in past"));
            } else if diff > SERVICE_AUTH_MAX_SECS * 1000 {
                return Err(bad(
                    "cannot request a token with an expiration more than an hour in the future",
                ));
            } else if lxm.is_none() && diff > SERVICE_AUTH_DEFAULT_SECS * 1000 {
                return Err(bad(
                    "cannot request a method-less token with an expiration more than a minute in the future",
                ));
            }
        }
        if let Some(lxm) = &lxm {
            if lxm_in(PROTECTED_METHODS, lxm) {
                return Err(XrpcError::invalid_request(format!(
                    "cannot request a service auth token for the following protected method: {lxm}"
                )));
            }
        }
        let key = self.repos.signing_key(&caller.did).await?;
        let token = service_jwt(
            &key,
            &ServiceClaims {
                iat: now,
                iss: &caller.did,
                aud: &aud,
                exp: exp.unwrap_or(now + SERVICE_AUTH_DEFAULT_SECS),
                lxm: lxm.as_deref(),
                jti: &random_hex(16),
            },
        );
        Ok(get_service_auth::Output::from(
            xrpc::atrium_api::com::atproto::server::get_service_auth::OutputData { token },
        ))
    }
}

/// Service-auth tokens: default lifetime (and the longest for a method-less token), and the
/// longest any token may be requested for.
const SERVICE_AUTH_DEFAULT_SECS: i64 = 60;
const SERVICE_AUTH_MAX_SECS: i64 = 60 * 60;

/// Methods a service-auth token may be bound to only by full sessions and privileged app
/// passwords (the reference's list: DMs, and account creation for migrations).
const PRIVILEGED_METHODS: &[&str] = &[
    "chat.bsky.actor.deleteAccount",
    "chat.bsky.actor.exportAccountData",
    "chat.bsky.convo.deleteMessageForSelf",
    "chat.bsky.convo.getConvo",
    "chat.bsky.convo.getConvoForMembers",
    "chat.bsky.convo.getLog",
    "chat.bsky.convo.getMessages",
    "chat.bsky.convo.leaveConvo",
    "chat.bsky.convo.listConvos",
    "chat.bsky.convo.muteConvo",
    "chat.bsky.convo.sendMessage",
    "chat.bsky.convo.sendMessageBatch",
    "chat.bsky.convo.unmuteConvo",
    "chat.bsky.convo.updateRead",
    "com.atproto.server.createAccount",
];

/// Account-management methods no service-auth token may be bound to (the reference's list).
const PROTECTED_METHODS: &[&str] = &[
    "com.atproto.admin.sendEmail",
    "com.atproto.identity.requestPlcOperationSignature",
    "com.atproto.identity.signPlcOperation",
    "com.atproto.identity.updateHandle",
    "com.atproto.server.activateAccount",
    "com.atproto.server.confirmEmail",
    "com.atproto.server.createAppPassword",
    "com.atproto.server.deactivateAccount",
    "com.atproto.server.getAccountInviteCodes",
    "com.atproto.server.getSession",
    "com.atproto.server.listAppPasswords",
    "com.atproto.server.requestAccountDelete",
    "com.atproto.server.requestEmailConfirmation",
    "com.atproto.server.requestEmailUpdate",
    "com.atproto.server.revokeAppPassword",
    "com.atproto.server.updateEmail",
];

/// Whether `lxm` is in `list`, ignoring case (as the reference compares them).
fn lxm_in(list: &[&str], lxm: &str) -> bool {
    list.iter().any(|m| m.eq_ignore_ascii_case(lxm))
}

/// Whether `aud` is an atproto DID (`did:plc`, or `did:web` without path or, except for
/// localhost, port), optionally followed by a `#fragment` naming a service.
fn is_atproto_audience(aud: &str) -> bool {
    let (did, fragment) = match aud.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (aud, None),
    };
    if let Some(fragment) = fragment {
        if fragment.is_empty() || !is_uri_fragment(fragment) {
            return false;
        }
    }
    if let Some(id) = did.strip_prefix("did:plc:") {
        return id.len() == 24 && id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'));
    }
    let Some(host) = did.strip_prefix("did:web:") else {
        return false;
    };
    if syntax::validate_did(did).is_err() || host.is_empty() || host.contains(':') {
        return false;
    }
    let localhost = host == "localhost" || host.starts_with("localhost%3A");
    localhost || !host.contains("%3A")
}

/// RFC 3986 `fragment` characters: pchar, `/` and `?`, with `%` escapes of two hex digits.
fn is_uri_fragment(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit())
                {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' | b'@' | b'/' | b'?' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// The payload of an inter-service auth token, in the reference's key order.
#[derive(serde::Serialize)]
struct ServiceClaims<'a> {
    iat: i64,
    iss: &'a str,
    aud: &'a str,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lxm: Option<&'a str>,
    jti: &'a str,
}

/// An inter-service auth JWT signed with the account's repo key: ES256 (P-256) or ES256K
/// (K-256), the signature being the 64-byte low-S `r||s` over SHA-256 of the signing input.
fn service_jwt(key: &Keypair, claims: &ServiceClaims<'_>) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = serde_json::json!({ "typ": "JWT", "alg": key.algorithm().jwt_alg() });
    let mut token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("json"));
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("json")));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `bytes` random bytes as lower-case hex.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// What session responses (createSession, getSession, refreshSession) say about the account.
struct SessionInfo {
    handle: Handle,
    email: Option<String>,
    email_confirmed: Option<bool>,
    did_doc: Option<Unknown>,
    active: Option<bool>,
    status: Option<String>,
}

impl AppState {
    /// The account behind an authenticated caller.
    async fn account(&self, did: &str) -> Result<Account, XrpcError> {
        self.store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted)
            .ok_or_else(|| XrpcError::invalid_request("Account not found"))
    }

    async fn session_info(&self, account: &Account) -> SessionInfo {
        let did_doc = if account.did.starts_with("did:plc:") {
            self.plc.cached_did_document(&account.did).await
        } else {
            None
        };
        SessionInfo {
            handle: handle_value(&account.handle),
            email: account.email.clone(),
            email_confirmed: Some(account.email_confirmed_at.is_some()),
            did_doc: did_doc.and_then(to_unknown),
            active: Some(account.status == AccountStatus::Active),
            status: account.status.as_status_str().map(str::to_owned),
        }
    }

    /// The account a login identifier names: an email (it has an `@`), a DID, or a handle
    /// (case-insensitive). Deleted accounts are not found.
    pub(crate) async fn login_account(
        &self,
        identifier: &str,
    ) -> Result<Option<Account>, XrpcError> {
        let identifier = identifier.trim();
        let found = if identifier.contains('@') {
            self.store
                .account_by_email(&identifier.to_lowercase())
                .await
        } else if identifier.starts_with("did:") {
            if syntax::validate_did(identifier).is_err() {
                return Ok(None);
            }
            self.store.account_by_did(identifier).await
        } else {
            let handle = identifier.to_ascii_lowercase();
            if syntax::validate_handle(&handle).is_err() {
                return Ok(None);
            }
            self.store.account_by_handle(&handle).await
        };
        Ok(found
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted))
    }

    /// The app password `password` is, if any. App passwords are hashed with a per-account
    /// salt, so one hash finds the match among them.
    async fn match_app_password(
        &self,
        did: &str,
        password: &str,
    ) -> Result<Option<store::AppPassword>, XrpcError> {
        let stored = self
            .store
            .list_app_passwords(did)
            .await
            .map_err(store_error)?;
        // Hashed even when there are none: how long a failed login takes must not tell which
        // accounts exist or have app passwords.
        let hash = {
            let (did, password) = (did.to_owned(), password.to_owned());
            tokio::task::spawn_blocking(move || app_password_hash(&did, &password))
                .await
                .map_err(|_| XrpcError::internal("password hashing failed"))?
        };
        Ok(stored
            .into_iter()
            .find(|p| auth::bytes_equal(p.password_hash.as_bytes(), hash.as_bytes())))
    }

    /// Rotates a refresh token: the old one keeps working (returning the same successor) for a
    /// grace period, then stops; a revoked or expired one fails with `ExpiredToken`.
    async fn rotate_refresh_token(
        &self,
        did: &str,
        token_id: &str,
    ) -> Result<(String, String), XrpcError> {
        let revoked = || XrpcError::new(400, "ExpiredToken", "Token has been revoked");
        let token = self
            .store
            .refresh_token(token_id)
            .await
            .map_err(store_error)?
            .filter(|t| t.did == did)
            .ok_or_else(revoked)?;
        let now = auth::now_secs();
        if token.expires_at <= now {
            return Err(revoked());
        }
        let scope = match &token.app_password_name {
            None => Scope::Access,
            Some(name) => {
                let passwords = self
                    .store
                    .list_app_passwords(did)
                    .await
                    .map_err(store_error)?;
                match passwords.iter().find(|p| &p.name == name) {
                    Some(p) if p.privileged => Scope::AppPassPrivileged,
                    Some(_) => Scope::AppPass,
                    // The app password was revoked, and its sessions with it.
                    None => return Err(revoked()),
                }
            }
        };
        let (next_id, next_expires_at) = match &token.next_id {
            // Reused within the grace period: hand out the same successor again, if it has
            // not been revoked meanwhile.
            Some(next_id) => {
                let next = self
                    .store
                    .refresh_token(next_id)
                    .await
                    .map_err(store_error)?
                    .filter(|t| t.expires_at > now)
                    .ok_or_else(revoked)?;
                (next.id, next.expires_at)
            }
            None => {
                let next = store::RefreshToken {
                    id: auth::random_id(),
                    did: did.to_owned(),
                    app_password_name: token.app_password_name.clone(),
                    expires_at: now + auth::REFRESH_TTL_SECS,
                    next_id: None,
                };
                let grace = (now + auth::REFRESH_GRACE_SECS).min(token.expires_at);
                let (id, expires_at) = (next.id.clone(), next.expires_at);
                self.store
                    .rotate_refresh_token(token_id, grace, next)
                    .await
                    .map_err(store_error)?;
                (id, expires_at)
            }
        };
        let access = auth::sign_jwt(
            &self.secrets.jwt_secret,
            "at+jwt",
            &Claims {
                scope: scope.as_str().to_owned(),
                sub: did.to_owned(),
                aud: self.config.service_did.clone(),
                iat: now,
                exp: now + auth::ACCESS_TTL_SECS,
                jti: None,
            },
        );
        let refresh = auth::sign_jwt(
            &self.secrets.jwt_secret,
            "refresh+jwt",
            &Claims {
                scope: Scope::Refresh.as_str().to_owned(),
                sub: did.to_owned(),
                aud: self.config.service_did.clone(),
                iat: now,
                exp: next_expires_at,
                jti: Some(next_id),
            },
        );
        Ok((access, refresh))
    }

    /// Fails with `InvalidInviteCode` unless the code exists, is enabled and has uses left. (The
    /// store consumes it atomically with the account; this gives the early, precise error.)
    pub(crate) async fn ensure_invite_available(&self, code: &str) -> Result<(), XrpcError> {
        let available = self
            .store
            .invite_code(code)
            .await
            .map_err(store_error)?
            .is_some_and(|c| !c.disabled && (c.uses.len() as i64) < c.available);
        if available {
            Ok(())
        } else {
            Err(XrpcError::new(
                400,
                "InvalidInviteCode",
                "Provided invite code not available",
            ))
        }
    }

    /// `<hostname with dashes>-<5 chars>-<5 chars>`, the reference's shape.
    fn new_invite_code(&self) -> String {
        format!(
            "{}-{}-{}",
            self.config.hostname.replace('.', "-"),
            random_base32(5),
            random_base32(5)
        )
    }

    /// Why the DID document does not let this server host the account (it must name this
    /// server's URL as `atproto_pds` and the account's signing key as `atproto`); `None` when it
    /// does. did:web documents are not resolved here yet and pass.
    async fn did_document_problem(&self, did: &str) -> Result<Option<String>, XrpcError> {
        if !did.starts_with("did:plc:") {
            return Ok(None);
        }
        let state = match self.plc.data(did).await {
            Ok(state) => state,
            Err(e @ (PlcError::NotFound { .. } | PlcError::Tombstoned { .. })) => {
                return Ok(Some(format!("DID document not found: {e}")))
            }
            Err(e) => return Err(plc_failure("could not resolve the DID", &e)),
        };
        if state.pds_endpoint() != Some(self.config.public_url.as_str()) {
            return Ok(Some(format!(
                "DID document atproto_pds service endpoint does not match this server ({})",
                self.config.public_url
            )));
        }
        let key = self.repos.signing_key(did).await?.did_key();
        if state.signing_key() != Some(key.as_str()) {
            return Ok(Some(
                "DID document atproto verification method does not match the account's signing key"
                    .to_owned(),
            ));
        }
        Ok(None)
    }

    /// Stores a new account whose DID is registered, and starts its repo: the account row,
    /// then its events in order, #identity, #account and its first (empty) #commit. On a
    /// failure past the row the account is removed again, so its handle and email are free.
    /// Shared by createAccount and the /v1 DID ceremony.
    pub(crate) async fn open_account(&self, account: store::NewAccount) -> Result<(), XrpcError> {
        let did = account.did.clone();
        let handle = account.handle.clone();
        self.store
            .create_account(account)
            .await
            .map_err(|e| match e {
                store::StoreError::HandleTaken => handle_taken(&handle),
                other => store_error(other),
            })?;
        // A new account's events, in order, as the reference sequences them: #identity, #account,
        // its first (empty) #commit, then a #sync naming that commit (sync 1.1).
        let first_commit = async {
            self.sequence_identity(&did, Some(&handle)).await?;
            self.sequence_account(&did, AccountStatus::Active).await?;
            self.repos.write(&did, Vec::new(), None, true).await?;
            self.sequence_sync(&did).await
        }
        .await;
        if let Err(e) = first_commit {
            // Its DID stays orphaned at the directory, as with the reference after a failure
            // past that point.
            self.repos.evict(&did);
            if self.store.delete_account(&did).await.is_ok() {
                let _ = self.sequence_account(&did, AccountStatus::Deleted).await;
            }
            return Err(e);
        }
        Ok(())
    }

    /// `#identity {did, time, handle?}` (com.atproto.sync.subscribeRepos#identity).
    pub async fn sequence_identity(
        &self,
        did: &str,
        handle: Option<&str>,
    ) -> Result<i64, XrpcError> {
        let mut body = Map::new();
        body.insert("did".into(), Value::String(did.to_owned()));
        body.insert("time".into(), Value::String(now_iso()));
        if let Some(handle) = handle {
            body.insert("handle".into(), Value::String(handle.to_owned()));
        }
        self.store
            .sequence_event(EventDraft {
                kind: "#identity",
                did: did.to_owned(),
                body,
            })
            .await
            .map_err(store_error)
    }

    /// `#sync {did, rev, blocks, time}` (com.atproto.sync.subscribeRepos#sync): the account's
    /// current commit, `blocks` a CAR holding only the commit block, rooted at it.
    pub async fn sequence_sync(&self, did: &str) -> Result<i64, XrpcError> {
        let head = self
            .store
            .repo_head(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::internal(format!("{did} has no commit to #sync")))?;
        let commit = self
            .store
            .get_block(did, &head.cid)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                XrpcError::internal(format!("{did}: commit block {} missing", head.cid))
            })?;
        let mut body = Map::new();
        body.insert("did".into(), Value::String(did.to_owned()));
        body.insert("rev".into(), Value::String(head.rev));
        body.insert(
            "blocks".into(),
            Value::Bytes(repo::car::write_car(&[head.cid], [(head.cid, commit)])),
        );
        body.insert("time".into(), Value::String(now_iso()));
        self.store
            .sequence_event(EventDraft {
                kind: "#sync",
                did: did.to_owned(),
                body,
            })
            .await
            .map_err(store_error)
    }

    /// `#account {did, time, active, status?}` (com.atproto.sync.subscribeRepos#account).
    pub async fn sequence_account(
        &self,
        did: &str,
        status: AccountStatus,
    ) -> Result<i64, XrpcError> {
        let mut body = Map::new();
        body.insert("did".into(), Value::String(did.to_owned()));
        body.insert("time".into(), Value::String(now_iso()));
        body.insert(
            "active".into(),
            Value::Bool(status == AccountStatus::Active),
        );
        if let Some(status) = status.as_status_str() {
            body.insert("status".into(), Value::String(status.to_owned()));
        }
        self.store
            .sequence_event(EventDraft {
                kind: "#account",
                did: did.to_owned(),
                body,
            })
            .await
            .map_err(store_error)
    }
}

pub(crate) fn handle_taken(handle: &str) -> XrpcError {
    XrpcError::new(
        400,
        "HandleNotAvailable",
        format!("Handle already taken: {handle}"),
    )
}

fn invalid_login() -> XrpcError {
    XrpcError::authentication_required("Invalid identifier or password")
}

fn account_takedown() -> XrpcError {
    XrpcError::new(401, "AccountTakedown", "Account has been taken down")
}

fn plc_failure(what: &str, e: &PlcError) -> XrpcError {
    eprintln!("PLC directory: {what}: {e}");
    XrpcError::upstream_failure(format!("{what}: {e}"))
}

fn check_use_count(use_count: i64) -> Result<(), XrpcError> {
    if use_count < 1 {
        return Err(XrpcError::invalid_request("useCount must be at least 1"));
    }
    Ok(())
}

pub(crate) fn now_iso() -> String {
    syntax::Datetime::now().to_rfc3339_millis()
}

fn did_value(did: &str) -> Result<Did, XrpcError> {
    Did::new(did.to_owned()).map_err(|e| XrpcError::internal(format!("invalid DID {did}: {e}")))
}

/// A stored handle as the lexicon type; `handle.invalid` if it somehow does not parse.
fn handle_value(handle: &str) -> Handle {
    Handle::new(handle.to_owned())
        .unwrap_or_else(|_| Handle::new("handle.invalid".to_owned()).expect("a valid handle"))
}

/// A stored timestamp as the lexicon type (now, if it somehow does not parse).
fn datetime_value(text: &str) -> AtDatetime {
    text.parse().unwrap_or_else(|_| AtDatetime::now())
}

fn to_unknown(json: Json) -> Option<Unknown> {
    serde_json::from_value(json).ok()
}

pub(crate) async fn hash_blocking(password: String) -> Result<String, XrpcError> {
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| XrpcError::internal("password hashing failed"))
}

pub(crate) async fn verify_blocking(
    password: String,
    hash: Option<String>,
) -> Result<bool, XrpcError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => auth::verify_password(&password, &hash),
        // No password: fail in the time a check takes.
        None => {
            auth::verify_password(&password, dummy_password_hash());
            false
        }
    })
    .await
    .map_err(|_| XrpcError::internal("password check failed"))
}

/// A hash of a random password, checked against for unknown identifiers.
fn dummy_password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| auth::hash_password(&auth::random_id()))
}

/// An app password's hash: argon2id with a salt derived from the account's DID, so a login
/// hashes once and compares with each stored hash. App passwords are random (80 bits), so a
/// per-account salt is enough.
fn app_password_hash(did: &str, password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let digest = Sha256::digest(format!("relay app password:{did}").as_bytes());
    let salt = SaltString::encode_b64(&digest[..16]).expect("16 bytes is a valid salt");
    auth::count_argon2_run();
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters")
        .to_string()
}

/// `xxxx-xxxx-xxxx-xxxx` in lower-case base32, as the reference's app passwords look.
fn new_app_password() -> String {
    let raw = random_base32(16);
    let chars: Vec<char> = raw.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// `len` random characters of the lower-case base32 alphabet.
fn random_base32(len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes
        .iter()
        .map(|b| ALPHABET[(b & 31) as usize] as char)
        .collect()
}

/// The minting and the method lists above, for the proxy (`crate::proxy`) and the session
/// rules (`crate::auth::Caller::allows_rpc`), so service tokens are made in one place.
impl AppState {
    /// A service-auth token for the account `iss` (bare DID), addressed to `aud`
    /// (`did#service`), bound to `lxm`, valid for the default minute.
    pub(crate) async fn mint_service_jwt(
        &self,
        iss: &str,
        aud: &str,
        lxm: Option<&str>,
    ) -> Result<String, XrpcError> {
        let key = self.repos.signing_key(iss).await?;
        let now = auth::now_secs();
        Ok(service_jwt(
            &key,
            &ServiceClaims {
                iat: now,
                iss,
                aud,
                exp: now + SERVICE_AUTH_DEFAULT_SECS,
                lxm,
                jti: &random_hex(16),
            },
        ))
    }
}

/// Whether `lxm` needs a full session or a privileged app password (DMs, account creation).
pub(crate) fn is_privileged_method(lxm: &str) -> bool {
    lxm_in(PRIVILEGED_METHODS, lxm)
}

/// Whether `lxm` is account management that must be called directly, never proxied nor
/// service-authed.
pub(crate) fn is_protected_method(lxm: &str) -> bool {
    lxm_in(PROTECTED_METHODS, lxm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_passwords_look_like_the_references() {
        let p = new_app_password();
        assert_eq!(p.len(), 19, "{p}");
        let groups: Vec<&str> = p.split('-').collect();
        assert_eq!(groups.len(), 4);
        assert!(groups.iter().all(|g| g.len() == 4
            && g.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))));
        assert_ne!(new_app_password(), p);
    }

    #[test]
    fn app_password_hashes_are_per_account_and_deterministic() {
        let a = app_password_hash("did:plc:aaa", "abcd-efgh-ijkl-mnop");
        assert_eq!(a, app_password_hash("did:plc:aaa", "abcd-efgh-ijkl-mnop"));
        assert_ne!(a, app_password_hash("did:plc:bbb", "abcd-efgh-ijkl-mnop"));
        assert_ne!(a, app_password_hash("did:plc:aaa", "abcd-efgh-ijkl-mnoq"));
        assert!(auth::verify_password("abcd-efgh-ijkl-mnop", &a));
    }
}
