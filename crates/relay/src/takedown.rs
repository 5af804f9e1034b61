//! Takedowns: what the admin applies (`com.atproto.admin.updateSubjectStatus`) and what every
//! reader checks before serving. A taken-down account is refused sessions and sync reads (its
//! status is `takendown`, which the session and read paths already refuse); a taken-down record
//! is no longer served by `repo.getRecord`/`listRecords`; a taken-down blob by `sync.getBlob`.
//! As with the reference, a record stays in the repo (commits, CAR exports and `sync.getRecord`
//! proofs still carry it): the signed repo cannot drop it without the owner's key.

use store::admin::{AdminStore, Subject};
use store::oauth::OAuthStore;
use store::{AccountStatus, Store};
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;

impl AppState {
    /// Takes the account down (`Some(reference)`) or lifts its takedown (`None`): its status
    /// changes, its sessions (legacy and OAuth) are revoked on takedown, and an `#account`
    /// event announces the new status.
    pub async fn set_account_takedown(
        &self,
        did: &str,
        reference: Option<&str>,
    ) -> Result<(), XrpcError> {
        self.store
            .set_takedown(did, Subject::Account, reference)
            .await
            .map_err(store_error)?;
        if reference.is_some() {
            self.revoke_sessions(did).await?;
        }
        Ok(())
    }

    /// Ends every session of the account: refresh tokens and OAuth sessions. Access tokens
    /// already issued are short-lived and refused anyway while the account is taken down.
    pub async fn revoke_sessions(&self, did: &str) -> Result<(), XrpcError> {
        self.store
            .delete_refresh_tokens_for(did)
            .await
            .map_err(store_error)?;
        self.store
            .delete_oauth_sessions_for(did)
            .await
            .map_err(store_error)
    }

    /// Announces the account's current status (`#account`).
    pub async fn announce_account_status(&self, did: &str) -> Result<(), XrpcError> {
        let account = self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::invalid_request("Account not found"))?;
        self.sequence_account(did, account.status).await?;
        Ok(())
    }

    /// Whether the record is taken down (then it is not served).
    pub async fn record_taken_down(
        &self,
        did: &str,
        collection: &str,
        rkey: &str,
    ) -> Result<bool, XrpcError> {
        let subject = Subject::Record {
            collection: collection.to_owned(),
            rkey: rkey.to_owned(),
        };
        Ok(self
            .store
            .takedown(did, &subject)
            .await
            .map_err(store_error)?
            .is_some())
    }

    /// The rkeys of the taken-down records of one collection of the account.
    pub async fn taken_down_in(
        &self,
        did: &str,
        collection: &str,
    ) -> Result<std::collections::HashSet<String>, XrpcError> {
        Ok(self
            .store
            .taken_down_records(did)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|(c, _)| c == collection)
            .map(|(_, rkey)| rkey)
            .collect())
    }

    /// Whether the blob is taken down (then it is not served).
    pub async fn blob_taken_down(&self, did: &str, cid: &data::Cid) -> Result<bool, XrpcError> {
        Ok(self
            .store
            .takedown(did, &Subject::Blob(*cid))
            .await
            .map_err(store_error)?
            .is_some())
    }

    /// Deletes the account and everything it holds: its repo, records and blobs (rows and
    /// files), sessions, and announces `#account` with status `deleted`. Used by
    /// `com.atproto.admin.deleteAccount`.
    pub async fn purge_account(&self, did: &str) -> Result<(), XrpcError> {
        use store::blobstore::BlobStore;
        self.revoke_sessions(did).await?;
        self.repos.evict(did);
        self.store.delete_account(did).await.map_err(store_error)?;
        // The rows are gone; files left behind by a failure here are unreachable, and are
        // reported rather than failing a deletion that already happened.
        if let Err(e) = self.blobs.delete_account(did).await {
            eprintln!("could not remove the blob files of deleted account {did}: {e}");
        }
        self.sequence_account(did, AccountStatus::Deleted).await?;
        Ok(())
    }
}
