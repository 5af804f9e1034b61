//! `com.atproto.sync` handlers: the repo, its blocks, proofs and blobs as other services read
//! them (sync spec, §Exports; checklist §6). The firehose itself is in `crate::firehose`.
//!
//! These reads need no auth. An inactive account's data is refused with `RepoTakendown`,
//! `RepoSuspended` or `RepoDeactivated` (400, as the reference), except to the account itself
//! or an admin; an unknown or deleted account is `RepoNotFound`.
//!
//! A read that spans several store calls (the head, then the blocks) can race a commit that
//! drops blocks the old head needed; such reads check the head again and retry, so a CAR is
//! always one consistent revision.

use std::collections::HashSet;
use std::str::FromStr;

use data::Cid;
use repo::car::CarWriter;
use repo::RepoError;
use store::{Account, AccountBlocks, AccountStatus, RepoHead, Store};
use xrpc::com::atproto::sync::{
    get_blob, get_blocks, get_checkout, get_head, get_latest_commit, get_record, get_repo,
    get_repo_status, list_blobs, list_repos,
};
use xrpc::{RawBody, XrpcError};

use crate::app::{AppState, Ctx};
use crate::error::store_error;

/// The media type of repo exports, proofs and block sets.
pub const CAR: &str = "application/vnd.ipld.car";

/// How often a multi-call read is retried when a concurrent commit moved the head under it.
const CONSISTENT_READ_ATTEMPTS: usize = 5;

impl xrpc::com::atproto::sync::ComAtprotoSyncHandler<Ctx> for AppState {
    async fn get_repo(&self, ctx: Ctx, params: get_repo::Params) -> Result<RawBody, XrpcError> {
        self.assert_repo_available(&ctx, &params.did).await?;
        let car = self.repo_car(&params.did, params.since.as_deref()).await?;
        Ok(RawBody {
            content_type: CAR.to_owned(),
            bytes: car,
        })
    }

    async fn get_checkout(
        &self,
        ctx: Ctx,
        params: get_checkout::Params,
    ) -> Result<RawBody, XrpcError> {
        self.assert_repo_available(&ctx, &params.did).await?;
        let car = self.repo_car(&params.did, None).await?;
        Ok(RawBody {
            content_type: CAR.to_owned(),
            bytes: car,
        })
    }

    async fn get_record(&self, ctx: Ctx, params: get_record::Params) -> Result<RawBody, XrpcError> {
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let blocks = AccountBlocks::new(self.store.clone(), did.as_str());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let head = self.head_or_not_found(did).await?;
            match repo::record_proof(&blocks, head.cid, &params.collection, &params.rkey).await {
                Ok(car) => {
                    return Ok(RawBody {
                        content_type: CAR.to_owned(),
                        bytes: car,
                    })
                }
                // A commit dropped a node of the old tree while it was being walked.
                Err(RepoError::MissingBlock(_)) if attempt < CONSISTENT_READ_ATTEMPTS => continue,
                Err(e) => return Err(crate::repos::repo_error(e)),
            }
        }
    }

    async fn get_blocks(&self, ctx: Ctx, params: get_blocks::Params) -> Result<RawBody, XrpcError> {
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let mut wanted: Vec<Cid> = Vec::with_capacity(params.cids.len());
        let mut missing: Vec<&str> = Vec::new();
        let mut seen = HashSet::new();
        for text in &params.cids {
            // A CID this server could never have stored (another version, codec or hash) is
            // simply not found.
            match Cid::from_str(text) {
                Ok(cid) => {
                    if seen.insert(cid) {
                        wanted.push(cid);
                    }
                }
                Err(_) => missing.push(text),
            }
        }
        let found = self
            .store
            .get_blocks(did, &wanted)
            .await
            .map_err(store_error)?;
        let mut blocks = Vec::with_capacity(wanted.len());
        let mut missing: Vec<String> = missing.into_iter().map(str::to_owned).collect();
        for (cid, bytes) in wanted.iter().zip(found) {
            match bytes {
                Some(bytes) => blocks.push((*cid, bytes)),
                None => missing.push(cid.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(get_blocks::Error::BlockNotFound
                .with_message(format!("Could not find cids: {}", missing.join(","))));
        }
        Ok(RawBody {
            content_type: CAR.to_owned(),
            bytes: repo::car::write_car(&[], blocks),
        })
    }

    async fn get_latest_commit(
        &self,
        ctx: Ctx,
        params: get_latest_commit::Params,
    ) -> Result<get_latest_commit::Output, XrpcError> {
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let head = self
            .store
            .repo_head(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                get_latest_commit::Error::RepoNotFound
                    .with_message(format!("Could not find root for DID: {did}"))
            })?;
        from_json(serde_json::json!({ "cid": head.cid.to_string(), "rev": head.rev }))
    }

    async fn get_head(
        &self,
        ctx: Ctx,
        params: get_head::Params,
    ) -> Result<get_head::Output, XrpcError> {
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let head = self
            .store
            .repo_head(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| {
                get_head::Error::HeadNotFound
                    .with_message(format!("Could not find root for DID: {did}"))
            })?;
        from_json(serde_json::json!({ "root": head.cid.to_string() }))
    }

    async fn get_repo_status(
        &self,
        _ctx: Ctx,
        params: get_repo_status::Params,
    ) -> Result<get_repo_status::Output, XrpcError> {
        let did = &params.did;
        // Anyone may learn an account's status, whatever it is.
        let account = self.hosted_account(did).await?;
        let active = account.status == AccountStatus::Active;
        let rev = if active {
            self.store
                .repo_head(did)
                .await
                .map_err(store_error)?
                .map(|head| head.rev)
        } else {
            None
        };
        let mut body = serde_json::json!({ "did": did, "active": active });
        if let Some(status) = account.status.as_status_str() {
            body["status"] = status.into();
        }
        if let Some(rev) = rev {
            body["rev"] = rev.into();
        }
        from_json(body)
    }

    async fn list_repos(
        &self,
        _ctx: Ctx,
        params: list_repos::Params,
    ) -> Result<list_repos::Output, XrpcError> {
        let limit = params.limit.clamp(1, 1000) as usize;
        // The cursor is the last DID of the previous page; anything else is a client bug the
        // reference reports rather than answering an empty page.
        if let Some(cursor) = params.cursor.as_deref() {
            if syntax::validate_did(cursor).is_err() {
                return Err(XrpcError::invalid_request("Malformed cursor"));
            }
        }
        // One more than asked tells whether another page follows.
        let rows = self
            .store
            .list_accounts(params.cursor.as_deref(), limit + 1)
            .await
            .map_err(store_error)?;
        let more = rows.len() > limit;
        let mut repos = Vec::with_capacity(limit);
        let mut last_did = None;
        for (account, head) in rows.into_iter().take(limit) {
            last_did = Some(account.did.clone());
            // An account without a commit yet, or one being deleted, has no repo to list.
            let Some(head) = head else { continue };
            if account.status == AccountStatus::Deleted {
                continue;
            }
            let mut repo = serde_json::json!({
                "did": account.did,
                "head": head.cid.to_string(),
                "rev": head.rev,
                "active": account.status == AccountStatus::Active,
            });
            if let Some(status) = account.status.as_status_str() {
                repo["status"] = status.into();
            }
            repos.push(repo);
        }
        let mut body = serde_json::json!({ "repos": repos });
        if more {
            if let Some(did) = last_did {
                body["cursor"] = did.into();
            }
        }
        from_json(body)
    }

    async fn list_blobs(
        &self,
        ctx: Ctx,
        params: list_blobs::Params,
    ) -> Result<list_blobs::Output, XrpcError> {
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let limit = params.limit.clamp(1, 1000) as usize;
        let mut cids = self
            .store
            .list_blobs(
                did,
                params.since.as_deref(),
                params.cursor.as_deref(),
                limit + 1,
            )
            .await
            .map_err(store_error)?;
        let more = cids.len() > limit;
        cids.truncate(limit);
        let cids: Vec<String> = cids.iter().map(Cid::to_string).collect();
        let mut body = serde_json::json!({ "cids": cids });
        if more {
            if let Some(last) = cids.last() {
                body["cursor"] = last.clone().into();
            }
        }
        from_json(body)
    }

    async fn get_blob(&self, ctx: Ctx, params: get_blob::Params) -> Result<RawBody, XrpcError> {
        use store::blobstore::BlobStore;
        let did = &params.did;
        self.assert_repo_available(&ctx, did).await?;
        let not_found = || get_blob::Error::BlobNotFound.with_message("Blob not found");
        let cid = Cid::from_str(&params.cid).map_err(|_| not_found())?;
        let meta = self
            .store
            .blob_meta(did, &cid)
            .await
            .map_err(store_error)?
            // An upload no record references yet is not served (blob spec, §Lifecycle).
            .filter(|meta| !meta.temporary)
            .ok_or_else(not_found)?;
        if self.blob_taken_down(did, &cid).await? {
            return Err(not_found());
        }
        let bytes = self
            .blobs
            .get_bytes(did, &cid)
            .await
            .map_err(|e| {
                eprintln!("blob store failure reading {cid} of {did}: {e}");
                XrpcError::internal("Internal Server Error")
            })?
            .ok_or_else(not_found)?;
        // Blobs are untrusted content on the server's origin (blob spec, §Security).
        ctx.set_response_header("content-length", bytes.len().to_string());
        ctx.set_response_header("x-content-type-options", "nosniff".to_owned());
        ctx.set_response_header(
            "content-security-policy",
            "default-src 'none'; sandbox".to_owned(),
        );
        let content_type = if meta.mime_type.is_empty() {
            "application/octet-stream".to_owned()
        } else {
            meta.mime_type
        };
        Ok(RawBody {
            content_type,
            bytes,
        })
    }
}

impl AppState {
    /// The account, whatever its status, or `RepoNotFound` (an unknown or deleted account).
    pub async fn hosted_account(&self, did: &str) -> Result<Account, XrpcError> {
        self.store
            .account_by_did(did)
            .await
            .map_err(store_error)?
            .filter(|account| account.status != AccountStatus::Deleted)
            .ok_or_else(|| repo_not_found(did))
    }

    /// The account whose repo is read, refusing an inactive one unless the caller is the
    /// account itself or an admin (the reference's `assertRepoAvailability`).
    pub async fn assert_repo_available(&self, ctx: &Ctx, did: &str) -> Result<Account, XrpcError> {
        let account = self.hosted_account(did).await?;
        if account.status == AccountStatus::Active || self.is_self_or_admin(ctx, did)? {
            return Ok(account);
        }
        let (name, what) = match account.status {
            AccountStatus::Takendown => ("RepoTakendown", "takendown"),
            AccountStatus::Suspended => ("RepoSuspended", "suspended"),
            _ => ("RepoDeactivated", "deactivated"),
        };
        Err(XrpcError::new(
            400,
            name,
            format!("Repo has been {what}: {did}"),
        ))
    }

    /// Whether the request is authenticated as `did` or as the admin. Bad credentials are an
    /// error, as on any endpoint with optional auth.
    fn is_self_or_admin(&self, ctx: &Ctx, did: &str) -> Result<bool, XrpcError> {
        if ctx
            .header("authorization")
            .is_some_and(|h| h.starts_with("Basic "))
        {
            self.require_admin(ctx)?;
            return Ok(true);
        }
        Ok(self
            .optional_caller(ctx)?
            .is_some_and(|caller| caller.did == did))
    }

    async fn head_or_not_found(&self, did: &str) -> Result<RepoHead, XrpcError> {
        self.store
            .repo_head(did)
            .await
            .map_err(store_error)?
            .ok_or_else(|| repo_not_found(did))
    }

    /// The repo as a CAR: every block (or, with `since`, the blocks of later revisions), the
    /// head commit first and named as the root.
    pub async fn repo_car(&self, did: &str, since: Option<&str>) -> Result<Vec<u8>, XrpcError> {
        for _ in 0..CONSISTENT_READ_ATTEMPTS {
            let head = self.head_or_not_found(did).await?;
            let blocks = match since {
                Some(rev) => self.store.blocks_since(did, rev).await,
                None => self.store.all_blocks(did).await,
            }
            .map_err(store_error)?;
            // Blocks a commit dropped in between would be missing from an old head's CAR.
            if self
                .store
                .repo_head(did)
                .await
                .map_err(store_error)?
                .as_ref()
                != Some(&head)
            {
                continue;
            }
            return Ok(write_repo_car(head.cid, blocks));
        }
        Err(XrpcError::new(
            503,
            "NotEnoughResources",
            "The repo is changing too fast to export; retry",
        ))
    }
}

/// Writes a CAR rooted at `head` with the head block first (so a streaming reader meets the
/// commit before anything else), then the rest.
fn write_repo_car(head: Cid, blocks: Vec<(Cid, Vec<u8>)>) -> Vec<u8> {
    let size: usize = blocks.iter().map(|(_, b)| b.len() + 40).sum();
    let mut writer = CarWriter::new(Vec::with_capacity(size + 64), &[head])
        .expect("writing to a Vec cannot fail");
    if let Some((cid, bytes)) = blocks.iter().find(|(cid, _)| *cid == head) {
        writer
            .write_block(cid, bytes)
            .expect("writing to a Vec cannot fail");
    }
    for (cid, bytes) in blocks.iter().filter(|(cid, _)| *cid != head) {
        writer
            .write_block(cid, bytes)
            .expect("writing to a Vec cannot fail");
    }
    writer.finish()
}

fn repo_not_found(did: &str) -> XrpcError {
    XrpcError::new(
        400,
        "RepoNotFound",
        format!("Could not find repo for DID: {did}"),
    )
}

/// Builds an `atrium-api` output from its JSON form.
pub fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, XrpcError> {
    serde_json::from_value(value)
        .map_err(|e| XrpcError::internal(format!("could not build the response: {e}")))
}
