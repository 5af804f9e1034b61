//! `activateAccount` after a migration: the imported head commit was signed by the old host's
//! key, which the DID document no longer names. Consumers verify commits against the current
//! key, so the account's first announced commit is a fresh one signed here.

use store::Store;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;

impl AppState {
    /// Makes an empty commit (emitted as `#commit`, rev above the imported one) when the head
    /// commit does not verify with the account's signing key; nothing otherwise. Answers
    /// whether it committed.
    pub(crate) async fn resign_foreign_head(&self, did: &str) -> Result<bool, XrpcError> {
        let Some(head) = self.store.repo_head(did).await.map_err(store_error)? else {
            return Ok(false);
        };
        let bytes = self
            .store
            .get_block(did, &head.cid)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                XrpcError::internal(format!("{did}: commit block {} missing", head.cid))
            })?;
        let commit = repo::commit::SignedCommit::from_bytes(&bytes)
            .map_err(|e| XrpcError::internal(format!("{did}: head commit: {e}")))?;
        let key = self.repos.signing_key(did).await?.public_key();
        if commit.verify(&key).is_ok() {
            return Ok(false);
        }
        self.repos.write(did, Vec::new(), None, true).await?;
        Ok(true)
    }
}
