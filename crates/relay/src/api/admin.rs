//! `com::atproto::admin` handlers: account views and search, invite codes, takedowns of
//! accounts, records and blobs, and the admin's account changes (email, handle, password,
//! deletion, a message by email). Every method needs the admin password (HTTP basic
//! `admin:<password>`).

use serde_json::{json, Value as Json};
use store::admin::{AdminStore, InviteSort, Subject};
use store::{Account, InviteCode, Store};
use xrpc::atrium_api::com::atproto::admin::defs::StatusAttr;
use xrpc::atrium_api::com::atproto::admin::update_subject_status::InputSubjectRefs;
use xrpc::atrium_api::types::Union;
use xrpc::com::atproto::admin::{
    delete_account, disable_account_invites, disable_invite_codes, enable_account_invites,
    get_account_info, get_account_infos, get_invite_codes, get_subject_status, search_accounts,
    send_email, update_account_email, update_account_handle, update_account_password,
    update_subject_status,
};
use xrpc::XrpcError;

use crate::api::sync::from_json;
use crate::app::{AppState, Ctx};
use crate::error::store_error;
use crate::handles;

/// The longest password a new one may be (as createAccount).
const PASSWORD_MAX_LENGTH: usize = 256;

impl xrpc::com::atproto::admin::ComAtprotoAdminHandler<Ctx> for AppState {
    async fn get_account_info(
        &self,
        ctx: Ctx,
        params: get_account_info::Params,
    ) -> Result<get_account_info::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let account = self
            .find_account(&params.did)
            .await?
            .ok_or_else(|| XrpcError::new(400, "NotFound", "Account not found"))?;
        from_json(self.account_view(&account).await?)
    }

    async fn get_account_infos(
        &self,
        ctx: Ctx,
        params: get_account_infos::Params,
    ) -> Result<get_account_infos::Output, XrpcError> {
        self.require_admin(&ctx)?;
        // Unknown DIDs are left out, as the reference does.
        let mut infos = Vec::new();
        for did in &params.dids {
            if let Some(account) = self.find_account(did).await? {
                infos.push(self.account_view(&account).await?);
            }
        }
        from_json(json!({ "infos": infos }))
    }

    async fn search_accounts(
        &self,
        ctx: Ctx,
        params: search_accounts::Params,
    ) -> Result<search_accounts::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let limit = usize::try_from(params.limit).unwrap_or(50);
        let found = self
            .store
            .search_accounts(params.email.as_deref(), params.cursor.as_deref(), limit)
            .await
            .map_err(store_error)?;
        let cursor = (found.len() == limit)
            .then(|| found.last().map(|a| a.did.clone()))
            .flatten();
        let accounts: Vec<Json> = found.iter().map(basic_view).collect();
        from_json(json!({ "accounts": accounts, "cursor": cursor }))
    }

    async fn get_invite_codes(
        &self,
        ctx: Ctx,
        params: get_invite_codes::Params,
    ) -> Result<get_invite_codes::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let sort = match params.sort.as_str() {
            "recent" => InviteSort::Recent,
            "usage" => InviteSort::Usage,
            other => {
                return Err(XrpcError::invalid_request(format!(
                    "Unknown sort method: {other}"
                )))
            }
        };
        let limit = usize::try_from(params.limit).unwrap_or(100);
        let (codes, cursor) = self
            .store
            .list_invite_codes(sort, params.cursor.as_deref(), limit)
            .await
            .map_err(store_error)?;
        let codes: Vec<Json> = codes.iter().map(invite_code_view).collect();
        from_json(json!({ "codes": codes, "cursor": cursor }))
    }

    async fn disable_account_invites(
        &self,
        ctx: Ctx,
        input: disable_account_invites::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        self.store
            .set_invites_disabled(input.data.account.as_str(), true)
            .await
            .map_err(store_error)
    }

    async fn enable_account_invites(
        &self,
        ctx: Ctx,
        input: enable_account_invites::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        self.store
            .set_invites_disabled(input.data.account.as_str(), false)
            .await
            .map_err(store_error)
    }

    async fn disable_invite_codes(
        &self,
        ctx: Ctx,
        input: disable_invite_codes::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        let codes = input.data.codes.unwrap_or_default();
        let accounts = input.data.accounts.unwrap_or_default();
        if accounts.iter().any(|a| a == "admin") {
            return Err(XrpcError::invalid_request(
                "Cannot disable admin invite codes",
            ));
        }
        self.store
            .disable_invite_codes(&codes, &accounts)
            .await
            .map_err(store_error)
    }

    async fn get_subject_status(
        &self,
        ctx: Ctx,
        params: get_subject_status::Params,
    ) -> Result<get_subject_status::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let not_found = || XrpcError::new(400, "NotFound", "Subject not found");
        let body = if let Some(blob) = &params.blob {
            let did = params.did.as_deref().ok_or_else(|| {
                XrpcError::invalid_request("Must provide a did to request blob state")
            })?;
            let cid = records_cid(blob)?;
            self.store
                .blob_meta(did, &cid)
                .await
                .map_err(store_error)?
                .ok_or_else(not_found)?;
            let reference = self
                .store
                .takedown(did, &Subject::Blob(cid))
                .await
                .map_err(store_error)?;
            json!({
                "subject": {
                    "$type": "com.atproto.admin.defs#repoBlobRef",
                    "did": did,
                    "cid": blob,
                },
                "takedown": status_attr(reference),
            })
        } else if let Some(uri) = &params.uri {
            let (account, collection, rkey) = self.record_subject(uri).await?;
            let account = account.ok_or_else(not_found)?;
            let record = self
                .store
                .get_record(&account.did, &collection, &rkey)
                .await
                .map_err(store_error)?
                .ok_or_else(not_found)?;
            let reference = self
                .store
                .takedown(&account.did, &Subject::Record { collection, rkey })
                .await
                .map_err(store_error)?;
            json!({
                "subject": {
                    "$type": "com.atproto.repo.strongRef",
                    "uri": uri,
                    "cid": record.cid.to_string(),
                },
                "takedown": status_attr(reference),
            })
        } else if let Some(did) = &params.did {
            let account = self.find_account(did).await?.ok_or_else(not_found)?;
            let reference = self
                .store
                .takedown(did, &Subject::Account)
                .await
                .map_err(store_error)?;
            json!({
                "subject": { "$type": "com.atproto.admin.defs#repoRef", "did": did },
                "takedown": status_attr(reference),
                "deactivated": { "applied": account.deactivated_at.is_some() },
            })
        } else {
            return Err(XrpcError::invalid_request("No provided subject"));
        };
        from_json(body)
    }

    async fn update_subject_status(
        &self,
        ctx: Ctx,
        input: update_subject_status::Input,
    ) -> Result<update_subject_status::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let input = input.data;
        let subject = match &input.subject {
            Union::Refs(subject) => subject,
            Union::Unknown(_) => return Err(XrpcError::invalid_request("Invalid subject")),
        };
        if let Some(takedown) = &input.takedown {
            // An applied takedown without a reference gets the time as one, as the reference.
            let reference = takedown.applied.then(|| {
                takedown
                    .r#ref
                    .clone()
                    .unwrap_or_else(|| syntax::Datetime::now().to_rfc3339_millis())
            });
            match subject {
                InputSubjectRefs::ComAtprotoAdminDefsRepoRef(repo) => {
                    self.set_account_takedown(repo.did.as_str(), reference.as_deref())
                        .await?;
                }
                InputSubjectRefs::ComAtprotoRepoStrongRefMain(strong) => {
                    let (account, collection, rkey) = self.record_subject(&strong.uri).await?;
                    let did = account
                        .map(|a| a.did)
                        .ok_or_else(|| XrpcError::invalid_request("Account not found"))?;
                    self.store
                        .set_takedown(
                            &did,
                            Subject::Record { collection, rkey },
                            reference.as_deref(),
                        )
                        .await
                        .map_err(store_error)?;
                }
                InputSubjectRefs::ComAtprotoAdminDefsRepoBlobRef(blob) => {
                    let cid = records_cid(blob.cid.as_ref().to_string().as_str())?;
                    self.store
                        .set_takedown(blob.did.as_str(), Subject::Blob(cid), reference.as_deref())
                        .await
                        .map_err(store_error)?;
                }
            }
        }
        if let InputSubjectRefs::ComAtprotoAdminDefsRepoRef(repo) = subject {
            let did = repo.did.as_str();
            if let Some(deactivated) = &input.deactivated {
                self.set_deactivated(did, deactivated).await?;
            }
            self.announce_account_status(did).await?;
        }
        from_json(json!({ "subject": input.subject, "takedown": input.takedown }))
    }

    async fn update_account_email(
        &self,
        ctx: Ctx,
        input: update_account_email::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        let input = input.data;
        let account = self
            .find_account(input.account.as_ref())
            .await?
            .ok_or_else(|| {
                XrpcError::invalid_request(format!(
                    "Account does not exist: {}",
                    input.account.as_ref()
                ))
            })?;
        let email = input.email.trim().to_lowercase();
        if !handles::is_valid_email(&email) {
            return Err(XrpcError::invalid_request(
                "This email address is not supported, please use a different email.",
            ));
        }
        // A new address is unconfirmed until its owner confirms it.
        self.store
            .update_email(&account.did, Some(&email), None)
            .await
            .map_err(store_error)
    }

    async fn update_account_handle(
        &self,
        ctx: Ctx,
        input: update_account_handle::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        let did = input.data.did.as_str();
        self.find_account(did)
            .await?
            .ok_or_else(|| XrpcError::invalid_request(format!("Account not found: {did}")))?;
        self.change_handle(did, input.data.handle.as_str(), true)
            .await
    }

    async fn update_account_password(
        &self,
        ctx: Ctx,
        input: update_account_password::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        let input = input.data;
        let did = input.did.as_str();
        if input.password.chars().count() > PASSWORD_MAX_LENGTH {
            return Err(XrpcError::invalid_request(format!(
                "Password too long. Maximum length is {PASSWORD_MAX_LENGTH} characters."
            )));
        }
        if input.password.is_empty() {
            return Err(XrpcError::invalid_request("Password is required"));
        }
        let hash = crate::api::server::hash_blocking(input.password).await?;
        self.store
            .set_password_hash(did, &hash)
            .await
            .map_err(store_error)?;
        // Whoever held a session may have held the old password.
        self.revoke_sessions(did).await
    }

    async fn delete_account(
        &self,
        ctx: Ctx,
        input: delete_account::Input,
    ) -> Result<(), XrpcError> {
        self.require_admin(&ctx)?;
        let did = input.data.did.as_str();
        // Deleting what is not here succeeds, as with the reference (nothing is announced).
        if self.find_account(did).await?.is_none() {
            return Ok(());
        }
        self.purge_account(did).await
    }

    async fn send_email(
        &self,
        ctx: Ctx,
        input: send_email::Input,
    ) -> Result<send_email::Output, XrpcError> {
        self.require_admin(&ctx)?;
        let input = input.data;
        let account = self
            .find_account(input.recipient_did.as_str())
            .await?
            .ok_or_else(|| XrpcError::invalid_request("Recipient not found"))?;
        let to = account
            .email
            .ok_or_else(|| XrpcError::invalid_request("account does not have an email address"))?;
        let message = crate::mail::Message {
            to,
            subject: input
                .subject
                .unwrap_or_else(|| "Message from your PDS administrator".to_owned()),
            text: input.content,
        };
        self.send_mail(&message).await?;
        from_json(json!({ "sent": true }))
    }
}

impl AppState {
    /// The admin's full view of an account: the basics plus invite codes and who invited it.
    async fn account_view(&self, account: &Account) -> Result<Json, XrpcError> {
        let invites = self
            .store
            .invite_codes_for(&account.did)
            .await
            .map_err(store_error)?;
        let invited_by = self
            .store
            .invited_by(&account.did)
            .await
            .map_err(store_error)?;
        let mut view = basic_view(account);
        view["invites"] = invites.iter().map(invite_code_view).collect();
        if let Some(code) = invited_by {
            view["invitedBy"] = invite_code_view(&code);
        }
        Ok(view)
    }

    /// The account, collection and rkey an at-uri names (the account `None` if not here).
    async fn record_subject(
        &self,
        uri: &str,
    ) -> Result<(Option<Account>, String, String), XrpcError> {
        let parsed = syntax::AtUri::new(uri)
            .map_err(|e| XrpcError::invalid_request(format!("Invalid at-uri: {e}")))?;
        let (Some(collection), Some(rkey)) = (parsed.collection(), parsed.rkey()) else {
            return Err(XrpcError::invalid_request(
                "The uri must name a record (at://did/collection/rkey)",
            ));
        };
        let account = self.find_account(parsed.authority().as_str()).await?;
        Ok((account, collection.to_string(), rkey.to_string()))
    }

    /// `updateSubjectStatus`'s `deactivated` on an account (independent of a takedown).
    async fn set_deactivated(&self, did: &str, attr: &StatusAttr) -> Result<(), XrpcError> {
        self.store
            .set_deactivated(did, attr.applied)
            .await
            .map_err(store_error)
    }
}

/// An account view without invite codes (as searchAccounts lists them).
fn basic_view(account: &Account) -> Json {
    let mut view = json!({
        "did": account.did,
        "handle": account.handle,
        "indexedAt": account.created_at,
        "invitesDisabled": account.invites_disabled,
    });
    if let Some(email) = &account.email {
        view["email"] = json!(email);
    }
    if let Some(at) = &account.email_confirmed_at {
        view["emailConfirmedAt"] = json!(at);
    }
    if let Some(at) = &account.deactivated_at {
        view["deactivatedAt"] = json!(at);
    }
    view
}

/// `com.atproto.server.defs#inviteCode`.
fn invite_code_view(code: &InviteCode) -> Json {
    let uses: Vec<Json> = code
        .uses
        .iter()
        .map(|(by, at)| json!({ "usedBy": by, "usedAt": at }))
        .collect();
    json!({
        "code": code.code,
        "available": code.available,
        "disabled": code.disabled,
        "forAccount": code.for_account,
        "createdBy": code.created_by,
        "createdAt": code.created_at,
        "uses": uses,
    })
}

/// `statusAttr`: applied, with the reference when it is.
fn status_attr(reference: Option<String>) -> Json {
    match reference {
        Some(reference) => json!({ "applied": true, "ref": reference }),
        None => json!({ "applied": false }),
    }
}

fn records_cid(text: &str) -> Result<data::Cid, XrpcError> {
    use std::str::FromStr;
    data::Cid::from_str(text)
        .map_err(|_| XrpcError::invalid_request(format!("Invalid CID: {text}")))
}
