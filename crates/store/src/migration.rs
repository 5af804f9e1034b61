//! Account migration: an imported repo's records may reference blobs that arrive only later
//! (`uploadBlob` after `importRepo`). Their references are indexed once the blob is stored, so
//! the blob is kept as referenced instead of expiring as a temporary upload.

use std::future::Future;

use data::Cid;

use crate::Result;

/// A record's reference to a blob: (collection, rkey, blob CID).
pub type BlobRef = (String, String, Cid);

pub trait MigrationStore: Send + Sync {
    /// Indexes each reference whose blob is stored for the account (the blob becomes
    /// referenced); references to blobs not stored yet, or already indexed, are skipped.
    /// Answers how many were added.
    fn link_record_blobs(
        &self,
        did: &str,
        refs: Vec<BlobRef>,
    ) -> impl Future<Output = Result<u64>> + Send;
}
