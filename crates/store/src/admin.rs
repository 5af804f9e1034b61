//! What the admin API needs beyond the account basics: takedowns of accounts, records and blobs
//! (each with the moderator's reference), account search and the admin view of invite codes.
//!
//! A takedown hides content everywhere the relay serves it; the readers ask
//! [`AdminStore::takedown`] (or [`AdminStore::taken_down_records`] for listings) before serving.

use std::future::Future;

use data::Cid;

use crate::{Account, InviteCode, Result};

/// What a takedown applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The whole account: its status becomes `takendown` while the takedown stands.
    Account,
    Record {
        collection: String,
        rkey: String,
    },
    Blob(Cid),
}

/// How `com.atproto.admin.getInviteCodes` orders codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteSort {
    /// Newest first.
    Recent,
    /// Most used first.
    Usage,
}

pub trait AdminStore: Send + Sync {
    /// Applies (`Some(reference)`) or lifts (`None`) a takedown of `subject` of `did`'s account.
    /// For [`Subject::Account`] the account's status changes in the same transaction: to
    /// `takendown`, and back to `deactivated` or `active` (whichever it was) when lifted.
    fn set_takedown(
        &self,
        did: &str,
        subject: Subject,
        reference: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// `com.atproto.admin.updateSubjectStatus`'s `deactivated`: sets or clears the account's
    /// deactivation. A taken-down account stays `takendown` (its deactivation shows once the
    /// takedown is lifted): the two are independent, as in the reference.
    fn set_deactivated(
        &self,
        did: &str,
        deactivated: bool,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The reference of the takedown standing on `subject`, if any.
    fn takedown(
        &self,
        did: &str,
        subject: &Subject,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// `(collection, rkey)` of every taken-down record of the account (a short list).
    fn taken_down_records(
        &self,
        did: &str,
    ) -> impl Future<Output = Result<Vec<(String, String)>>> + Send;
    /// Accounts whose handle or email starts with `prefix` (case-insensitive; all accounts
    /// without one), in DID order after `cursor`.
    fn search_accounts(
        &self,
        prefix: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Account>>> + Send;
    /// Every invite code, in `sort` order, the page after the opaque `cursor`; returns the page
    /// and the next cursor.
    fn list_invite_codes(
        &self,
        sort: InviteSort,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<InviteCode>, Option<String>)>> + Send;
    /// The invite code the account signed up with.
    fn invited_by(&self, did: &str) -> impl Future<Output = Result<Option<InviteCode>>> + Send;
}
