//! Email tokens: the short codes mailed to an account to confirm an email address, reset a
//! password, change the email, delete the account, sign a PLC operation or sign in with a second
//! factor. One outstanding token per purpose per account; asking again replaces it.

use std::future::Future;

use crate::Result;

pub trait EmailTokenStore: Send + Sync {
    /// Stores `token` for `(did, purpose)`, replacing an earlier one.
    fn put_email_token(
        &self,
        did: &str,
        purpose: &str,
        token: &str,
        requested_at: i64,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The outstanding token and when it was requested.
    fn email_token(
        &self,
        did: &str,
        purpose: &str,
    ) -> impl Future<Output = Result<Option<(String, i64)>>> + Send;
    /// The account holding `token` for `purpose` (password reset is asked by email, then
    /// answered with the token alone).
    fn email_token_owner(
        &self,
        purpose: &str,
        token: &str,
    ) -> impl Future<Output = Result<Option<(String, i64)>>> + Send;
    fn delete_email_token(
        &self,
        did: &str,
        purpose: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Every outstanding token of the account (its password changed: they all lapse).
    fn delete_email_tokens_for(&self, did: &str) -> impl Future<Output = Result<()>> + Send;
    /// Whether sign-ins with the password also need a code mailed to the account.
    fn email_auth_factor(&self, did: &str) -> impl Future<Output = Result<bool>> + Send;
    fn set_email_auth_factor(
        &self,
        did: &str,
        enabled: bool,
    ) -> impl Future<Output = Result<()>> + Send;
}
