//! The flows that prove control of an account's email with a mailed code: confirming the
//! address, changing it, resetting a forgotten password, deleting the account, allowing a PLC
//! operation, and the optional second sign-in factor. Names, errors and messages follow the
//! reference PDS. Each `request…` mails a fresh code (replacing an earlier one); each answer
//! consumes it (`crate::mail`).
//!
//! Asking for a code, and changing the email, take a full (password) session: app passwords and
//! OAuth clients cannot take over an account through its mailbox.

use std::sync::LazyLock;
use std::time::Duration;

use store::email::EmailTokenStore;
use store::{Account, AccountStatus, Store};
use xrpc::com::atproto::server::{
    confirm_email, delete_account, request_email_update, request_password_reset, reset_password,
    update_email,
};
use xrpc::XrpcError;

use crate::api::server::{hash_blocking, now_iso, verify_blocking};
use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::error::store_error;
use crate::mail::{templates, Purpose};
use crate::ratelimit::Policy;

/// The reference's password limits: new passwords up to 256 characters; checks of an existing
/// password accept up to 512 (older accounts may have longer ones).
const NEW_PASSWORD_MAX_LENGTH: usize = 256;
const OLD_PASSWORD_MAX_LENGTH: usize = 512;

/// The reference's limits: mailing a code, 5 an hour and 15 a day per account; a password
/// reset's mail, 15 an hour and 50 a day per IP; answering resetPassword or deleteAccount, 50
/// in 5 minutes per IP (the codes are long enough that guessing is hopeless anyway).
const MINUTE: Duration = Duration::from_secs(60);
static MAIL_CODE: LazyLock<[Policy; 2]> = LazyLock::new(|| {
    [
        Policy::new("emailCode-hour", 5, 60 * MINUTE),
        Policy::new("emailCode-day", 15, 24 * 60 * MINUTE),
    ]
});
static PASSWORD_RESET_MAIL: LazyLock<[Policy; 2]> = LazyLock::new(|| {
    [
        Policy::new("requestPasswordReset-hour", 15, 60 * MINUTE),
        Policy::new("requestPasswordReset-day", 50, 24 * 60 * MINUTE),
    ]
});
static ANSWER_CODE: LazyLock<Policy> =
    LazyLock::new(|| Policy::new("emailCodeAnswer-5m", 50, 5 * MINUTE));

fn no_email() -> XrpcError {
    XrpcError::invalid_request("account does not have an email address")
}

fn unsupported_email() -> XrpcError {
    XrpcError::invalid_request("This email address is not supported, please use a different email.")
}

impl AppState {
    /// The caller's account, for a full session only.
    async fn full_session_account(&self, ctx: &Ctx) -> Result<Account, XrpcError> {
        let caller = self.caller(ctx, Access::Full).await?;
        self.store
            .account_by_did(&caller.did)
            .await
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted)
            .ok_or_else(|| XrpcError::new(400, "AccountNotFound", "user not found"))
    }

    /// Mailing codes: per account (see [`MAIL_CODE`]).
    fn limit_mail_code(&self, ctx: &Ctx, did: &str) -> Result<(), XrpcError> {
        let [hour, day] = &*MAIL_CODE;
        self.rate_limits
            .check(ctx, &[(hour, did, 1), (day, did, 1)])
    }

    /// Answering resetPassword and deleteAccount: per IP.
    fn limit_answer_code(&self, ctx: &Ctx) -> Result<(), XrpcError> {
        let key = self.rate_limits.ip_key(ctx);
        self.rate_limits.check(ctx, &[(&*ANSWER_CODE, &key, 1)])
    }

    /// Issues a code for `purpose` and mails it to the account's address with `template`.
    async fn mail_code(
        &self,
        account: &Account,
        purpose: Purpose,
        template: fn(&str, &str, &str) -> crate::mail::Message,
    ) -> Result<(), XrpcError> {
        let email = account.email.as_deref().ok_or_else(no_email)?;
        let token = self.issue_email_token(&account.did, purpose).await?;
        self.send_mail(&template(email, &account.handle, &token))
            .await
    }

    /// `com.atproto.server.requestEmailConfirmation`.
    pub(crate) async fn request_email_confirmation_flow(&self, ctx: Ctx) -> Result<(), XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        self.limit_mail_code(&ctx, &account.did)?;
        self.mail_code(&account, Purpose::ConfirmEmail, templates::confirm_email)
            .await
    }

    /// `com.atproto.server.confirmEmail`.
    pub(crate) async fn confirm_email_flow(
        &self,
        ctx: Ctx,
        input: confirm_email::Input,
    ) -> Result<(), XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        let email = input.data.email.trim().to_lowercase();
        if account.email.as_deref() != Some(email.as_str()) {
            return Err(XrpcError::new(400, "InvalidEmail", "invalid email"));
        }
        self.consume_email_token(&account.did, Purpose::ConfirmEmail, &input.data.token)
            .await?;
        self.store
            .update_email(&account.did, Some(&email), Some(&now_iso()))
            .await
            .map_err(store_error)
    }

    /// `com.atproto.server.requestEmailUpdate`: a code goes to the current address when it is
    /// confirmed (an unconfirmed one proves nothing, so none is needed then).
    pub(crate) async fn request_email_update_flow(
        &self,
        ctx: Ctx,
    ) -> Result<request_email_update::Output, XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        if account.email.is_none() {
            return Err(no_email());
        }
        let token_required = account.email_confirmed_at.is_some();
        if token_required {
            self.limit_mail_code(&ctx, &account.did)?;
            self.mail_code(&account, Purpose::UpdateEmail, templates::update_email)
                .await?;
        }
        Ok(request_email_update::Output::from(
            xrpc::atrium_api::com::atproto::server::request_email_update::OutputData {
                token_required,
            },
        ))
    }

    /// `com.atproto.server.updateEmail`; also turns the mailed sign-in code
    /// (`emailAuthFactor`) on or off.
    pub(crate) async fn update_email_flow(
        &self,
        ctx: Ctx,
        input: update_email::Input,
    ) -> Result<(), XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        let input = input.data;
        let email = input.email.trim().to_lowercase();
        if !crate::handles::is_valid_email(&email) {
            return Err(unsupported_email());
        }
        let changed = account.email.as_deref() != Some(email.as_str());
        // Everything that can refuse the request does so before anything changes (the code
        // included: a refused request does not use it up).
        // Sign-in codes go to the address: it must be one that is known to arrive.
        if input.email_auth_factor == Some(true)
            && (changed || account.email_confirmed_at.is_none())
        {
            return Err(XrpcError::invalid_request(
                "Confirm the email address before turning on sign-in codes",
            ));
        }
        if changed {
            let holder = self
                .store
                .account_by_email(&email)
                .await
                .map_err(store_error)?;
            if holder.is_some_and(|other| other.did != account.did) {
                return Err(XrpcError::invalid_request(
                    "This email address is already in use, please use a different email.",
                ));
            }
        }
        if account.email_confirmed_at.is_some() {
            let token = input.token.as_deref().ok_or_else(|| {
                XrpcError::new(400, "TokenRequired", "confirmation token required")
            })?;
            self.consume_email_token(&account.did, Purpose::UpdateEmail, token)
                .await?;
        }
        if changed {
            // A new address is unconfirmed until its own code comes back.
            self.store
                .update_email(&account.did, Some(&email), None)
                .await
                .map_err(store_error)?;
        }
        if let Some(enabled) = input.email_auth_factor {
            self.store
                .set_email_auth_factor(&account.did, enabled)
                .await
                .map_err(store_error)?;
        }
        Ok(())
    }

    /// `com.atproto.server.requestPasswordReset`: answers the same whether or not the address
    /// belongs to an account, so it cannot be used to find out.
    pub(crate) async fn request_password_reset_flow(
        &self,
        ctx: Ctx,
        input: request_password_reset::Input,
    ) -> Result<(), XrpcError> {
        let key = self.rate_limits.ip_key(&ctx);
        let [hour, day] = &*PASSWORD_RESET_MAIL;
        self.rate_limits
            .check(&ctx, &[(hour, &key, 1), (day, &key, 1)])?;
        let email = input.data.email.trim().to_lowercase();
        let account = self
            .store
            .account_by_email(&email)
            .await
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted);
        if let Some(account) = account {
            self.mail_code(&account, Purpose::ResetPassword, templates::reset_password)
                .await?;
        }
        Ok(())
    }

    /// `com.atproto.server.resetPassword`: the code alone names the account. Every session of
    /// the account ends (refresh tokens and OAuth sessions), and its other codes lapse.
    pub(crate) async fn reset_password_flow(
        &self,
        ctx: Ctx,
        input: reset_password::Input,
    ) -> Result<(), XrpcError> {
        self.limit_answer_code(&ctx)?;
        let input = input.data;
        if input.password.chars().count() > NEW_PASSWORD_MAX_LENGTH {
            return Err(XrpcError::invalid_request("Invalid password length."));
        }
        let token = input.token.trim().to_ascii_uppercase();
        let (did, _) = self
            .store
            .email_token_owner(Purpose::ResetPassword.as_str(), &token)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::new(400, "InvalidToken", "Token is invalid"))?;
        self.consume_email_token(&did, Purpose::ResetPassword, &token)
            .await?;
        let hash = hash_blocking(input.password).await?;
        self.store
            .set_password_hash(&did, &hash)
            .await
            .map_err(store_error)?;
        self.end_every_session(&did).await
    }

    /// Revokes every session of `did`: legacy refresh tokens (their access tokens die with
    /// them within minutes) and OAuth sessions; outstanding email codes lapse too.
    async fn end_every_session(&self, did: &str) -> Result<(), XrpcError> {
        self.store
            .delete_email_tokens_for(did)
            .await
            .map_err(store_error)?;
        self.store
            .delete_refresh_tokens_for(did)
            .await
            .map_err(store_error)?;
        store::oauth::OAuthStore::delete_oauth_sessions_for(&*self.store, did)
            .await
            .map_err(store_error)
    }

    /// `com.atproto.server.requestAccountDelete`.
    pub(crate) async fn request_account_delete_flow(&self, ctx: Ctx) -> Result<(), XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        self.limit_mail_code(&ctx, &account.did)?;
        self.mail_code(&account, Purpose::DeleteAccount, templates::delete_account)
            .await
    }

    /// `com.atproto.server.deleteAccount`: with the password and the mailed code, the account
    /// and everything it holds go: repo, records, blobs (and their files), sessions, OAuth
    /// sessions, /v1 devices and keys, and its past firehose events. A last `#account` event
    /// (`active: false, status: deleted`) tells the network.
    pub(crate) async fn delete_account_flow(
        &self,
        ctx: Ctx,
        input: delete_account::Input,
    ) -> Result<(), XrpcError> {
        self.limit_answer_code(&ctx)?;
        let input = input.data;
        let did = input.did.as_str();
        let account = self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted)
            .ok_or_else(|| XrpcError::invalid_request("account not found"))?;
        if input.password.chars().count() > OLD_PASSWORD_MAX_LENGTH {
            return Err(XrpcError::invalid_request("Invalid password length."));
        }
        let stored = self
            .store
            .password_hash(&account.did)
            .await
            .map_err(store_error)?;
        if !verify_blocking(input.password, stored).await? {
            return Err(XrpcError::authentication_required(
                "Invalid did or password",
            ));
        }
        self.consume_email_token(&account.did, Purpose::DeleteAccount, &input.token)
            .await?;
        self.purge_account(&account.did).await
    }

    /// `com.atproto.identity.requestPlcOperationSignature`: the code that
    /// `signPlcOperation` takes.
    pub(crate) async fn request_plc_operation_signature_flow(
        &self,
        ctx: Ctx,
    ) -> Result<(), XrpcError> {
        let account = self.full_session_account(&ctx).await?;
        self.limit_mail_code(&ctx, &account.did)?;
        self.mail_code(&account, Purpose::PlcOperation, templates::plc_operation)
            .await
    }

    /// The second sign-in factor, checked after the password matched (app passwords skip it,
    /// as they are the answer for apps that cannot ask for a code). Without a code, one is
    /// mailed and the login answers `AuthFactorTokenRequired`.
    pub(crate) async fn check_email_auth_factor(
        &self,
        account: &Account,
        code: Option<&str>,
    ) -> Result<(), XrpcError> {
        if account.email.is_none()
            || !self
                .store
                .email_auth_factor(&account.did)
                .await
                .map_err(store_error)?
        {
            return Ok(());
        }
        match code.map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => {
                self.consume_email_token(&account.did, Purpose::SignIn, code)
                    .await
            }
            None => {
                self.mail_code(account, Purpose::SignIn, templates::sign_in_code)
                    .await?;
                Err(XrpcError::new(
                    401,
                    "AuthFactorTokenRequired",
                    "A sign in code has been sent to your email address",
                ))
            }
        }
    }

    /// Whether the account signs in with a mailed code too (session responses say so).
    /// `emailAuthFactor` for session answers: present (true) only when the factor is on, as the
    /// reference answers (absent means off; the L2 oracle compares it).
    pub(crate) async fn email_auth_factor_enabled(&self, did: &str) -> Option<bool> {
        self.store
            .email_auth_factor(did)
            .await
            .ok()
            .filter(|on| *on)
    }
}
