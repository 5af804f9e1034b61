//! `com.atproto.repo.importRepo`: replace an account's repo with a verified CAR, and link blobs
//! uploaded afterwards to the imported records that reference them.

use std::collections::{BTreeSet, HashMap, HashSet};

use data::Cid;
use repo::car::CarLimits;
use repo::import::{import_car, ImportOptions, VerifiedRepo};
use store::migration::{BlobRef, MigrationStore};
use store::{AccountStatus, CommitWrite, RecordIndexOp, RepoHead, Store};
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::error::store_error;

impl AppState {
    /// Verifies `car` completely (hashes, tree rules, the account's DID, every record block
    /// present, the commit signed by a key the DID has used) and makes it the account's repo in
    /// one step. Importing the current head again changes nothing. A deactivated account's
    /// import emits nothing (its activation announces it); an active account's emits `#sync`.
    pub(crate) async fn import_repo_car(&self, ctx: &Ctx, car: &[u8]) -> Result<(), XrpcError> {
        let caller = self.caller(ctx, Access::Full).await?;
        let did = caller.did.as_str();
        let account = self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| XrpcError::invalid_request("Account not found"))?;
        match account.status {
            AccountStatus::Active | AccountStatus::Deactivated => {}
            AccountStatus::Takendown | AccountStatus::Suspended => {
                return Err(XrpcError::new(
                    400,
                    "AccountTakedown",
                    "Account has been taken down",
                ))
            }
            AccountStatus::Deleted => return Err(XrpcError::invalid_request("Account not found")),
        }
        let limits = CarLimits {
            max_total_bytes: car.len() as u64,
            ..CarLimits::default()
        };
        let options = ImportOptions {
            did: Some(did),
            key: None,
            limits,
        };
        let verified = tokio::task::block_in_place(|| import_car(car, &options))
            .map_err(|e| XrpcError::invalid_request(format!("Invalid repo CAR: {e}")))?;
        if let Some((path, cid)) = verified.missing_records.first() {
            return Err(XrpcError::invalid_request(format!(
                "Invalid repo CAR: {} record block(s) missing, first {path} ({cid})",
                verified.missing_records.len()
            )));
        }
        self.check_commit_signer(did, &verified).await?;

        // Holds off the write path (and blob uploads) while the repo is swapped.
        let lock = self.repos.lock_account(did).await;
        let head = self.store.repo_head(did).await.map_err(store_error)?;
        if head.as_ref().map(|h| h.cid) == Some(verified.commit_cid) {
            return Ok(()); // the same repo again
        }
        let write = self
            .import_write(did, head.map(|h| h.cid), &verified)
            .await?;
        let result = self.store.apply_commit(write).await;
        // The cached tree is the old repo's.
        self.repos.evict(did);
        drop(lock);
        result.map_err(store_error)?;
        self.link_imported_blobs(did).await?;
        if account.status == AccountStatus::Active {
            self.sequence_sync(did).await?;
        }
        ctx.set_repo_rev(verified.commit.rev().as_ref());
        Ok(())
    }

    /// The imported repo as one atomic store write replacing the current one.
    async fn import_write(
        &self,
        did: &str,
        prev_head: Option<Cid>,
        verified: &VerifiedRepo,
    ) -> Result<CommitWrite, XrpcError> {
        let new_cids: HashSet<Cid> = verified.blocks.iter().map(|(cid, _)| *cid).collect();
        let removed_blocks = self
            .store
            .all_blocks(did)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|(cid, _)| cid)
            .filter(|cid| !new_cids.contains(cid))
            .collect();
        let bytes: HashMap<Cid, &[u8]> = verified
            .blocks
            .iter()
            .map(|(cid, b)| (*cid, b.as_slice()))
            .collect();
        let mut record_ops = Vec::with_capacity(verified.records.len());
        let mut kept = BTreeSet::new();
        for (path, cid) in &verified.records {
            let (collection, rkey) = path.split_once('/').unwrap_or((path, ""));
            // Only references to blobs stored already; the others are linked as they arrive.
            let mut blobs = Vec::new();
            if let Some(value) = bytes.get(cid).and_then(|b| data::cbor::decode(b).ok()) {
                for blob in crate::repos::blob_refs(&value) {
                    if self
                        .store
                        .blob_meta(did, &blob)
                        .await
                        .map_err(store_error)?
                        .is_some()
                    {
                        blobs.push(blob);
                    }
                }
            }
            kept.insert((collection.to_owned(), rkey.to_owned()));
            record_ops.push(RecordIndexOp {
                collection: collection.to_owned(),
                rkey: rkey.to_owned(),
                cid: Some(*cid),
                blobs,
            });
        }
        for collection in self
            .store
            .list_collections(did)
            .await
            .map_err(store_error)?
        {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_records(did, &collection, cursor.as_deref(), 500, true)
                    .await
                    .map_err(store_error)?;
                for record in &page {
                    if !kept.contains(&(record.collection.clone(), record.rkey.clone())) {
                        record_ops.push(RecordIndexOp {
                            collection: record.collection.clone(),
                            rkey: record.rkey.clone(),
                            cid: None,
                            blobs: Vec::new(),
                        });
                    }
                }
                match page.last() {
                    Some(last) if page.len() == 500 => cursor = Some(last.rkey.clone()),
                    _ => break,
                }
            }
        }
        Ok(CommitWrite {
            did: did.to_owned(),
            prev_head,
            new_head: RepoHead {
                cid: verified.commit_cid,
                rev: verified.commit.rev().to_string(),
            },
            new_blocks: verified.blocks.clone(),
            removed_blocks,
            record_ops,
            event: None,
        })
    }

    /// The commit must be signed by a key the DID has named: this server's key for the
    /// account, the DID document's current key, or (did:plc) any key in its audit log, as an
    /// export from the old host is signed with the key it held.
    async fn check_commit_signer(
        &self,
        did: &str,
        verified: &VerifiedRepo,
    ) -> Result<(), XrpcError> {
        let mut keys: Vec<String> = Vec::new();
        if let Ok(own) = self.repos.signing_key(did).await {
            keys.push(own.did_key());
        }
        if let Ok(doc) = self.resolve_did_document(did, true).await {
            keys.extend(doc.signing_key());
        }
        if did.starts_with("did:plc:") {
            if let Ok(log) = self.plc.audit_log(did).await {
                for entry in log {
                    match entry.operation.op() {
                        identity::UnsignedOp::Operation(op) => {
                            keys.extend(op.verification_methods.get("atproto").cloned())
                        }
                        identity::UnsignedOp::LegacyCreate(op) => keys.push(op.signing_key.clone()),
                        identity::UnsignedOp::Tombstone(_) => {}
                    }
                }
            }
        }
        for key in keys {
            if let Ok(key) = crypto::PublicKey::from_did_key(&key) {
                if verified.commit.verify(&key).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(XrpcError::invalid_request(
            "Invalid repo CAR: the commit is not signed by a key of this DID",
        ))
    }

    /// Whether the account is deactivated (as it is from `createAccount` with a DID until
    /// `activateAccount`).
    pub(crate) async fn account_is_deactivated(&self, did: &str) -> Result<bool, XrpcError> {
        Ok(self
            .store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .is_some_and(|a| a.status == AccountStatus::Deactivated))
    }

    /// Indexes the references of the account's records to blobs now stored (blobs uploaded
    /// after `importRepo`), so those blobs are kept; answers how many were linked. Reads every
    /// record: called once per import and activation, and per upload only while the account is
    /// deactivated (a migration in progress).
    pub(crate) async fn link_imported_blobs(&self, did: &str) -> Result<u64, XrpcError> {
        let refs = self.record_blob_refs(did).await?;
        self.store
            .link_record_blobs(did, refs)
            .await
            .map_err(store_error)
    }

    /// `checkAccountStatus`'s (expectedBlobs, importedBlobs): the distinct blobs the records
    /// reference, and how many of them are stored here, so the counters move as a migration's
    /// uploads proceed.
    pub(crate) async fn referenced_blob_counts(&self, did: &str) -> Result<(i64, i64), XrpcError> {
        let cids: BTreeSet<Cid> = self
            .record_blob_refs(did)
            .await?
            .into_iter()
            .map(|(_, _, cid)| cid)
            .collect();
        let mut stored = 0i64;
        for cid in &cids {
            if self
                .store
                .blob_meta(did, cid)
                .await
                .map_err(store_error)?
                .is_some()
            {
                stored += 1;
            }
        }
        Ok((cids.len() as i64, stored))
    }

    /// Every (collection, rkey, blob) reference of the account's records.
    async fn record_blob_refs(&self, did: &str) -> Result<Vec<BlobRef>, XrpcError> {
        let mut refs: Vec<BlobRef> = Vec::new();
        for collection in self
            .store
            .list_collections(did)
            .await
            .map_err(store_error)?
        {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_records(did, &collection, cursor.as_deref(), 500, true)
                    .await
                    .map_err(store_error)?;
                for record in &page {
                    let Ok(value) = data::cbor::decode(&record.bytes) else {
                        continue;
                    };
                    for blob in crate::repos::blob_refs(&value) {
                        refs.push((record.collection.clone(), record.rkey.clone(), blob));
                    }
                }
                match page.last() {
                    Some(last) if page.len() == 500 => cursor = Some(last.rkey.clone()),
                    _ => break,
                }
            }
        }
        Ok(refs)
    }
}
