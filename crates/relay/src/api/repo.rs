//! `com.atproto.repo` handlers: record writes (createRecord, putRecord, deleteRecord,
//! applyWrites) through the write path ([`crate::repos`]), record reads, describeRepo, and blob
//! uploads ([`crate::blobs`]). The checks on records live in [`crate::records`].

use data::Cid;
use lexicon::{ValidationMode, ValidationStatus};
use repo::Action;
use store::Store;
use xrpc::atrium_api::com::atproto::repo as ar;
use xrpc::atrium_api::com::atproto::repo::{apply_writes as aw, defs};
use xrpc::com::atproto::repo::{
    apply_writes, create_record, delete_record, describe_repo, get_record, list_missing_blobs,
    list_records, put_record, upload_blob,
};
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::auth::Access;
use crate::error::store_error;
use crate::ratelimit;
use crate::records::{self, PreparedWrite, RecordWrite};
use crate::repos::CommitOutcome;
use permission::RepoAction;

impl xrpc::com::atproto::repo::ComAtprotoRepoHandler<Ctx> for AppState {
    async fn create_record(
        &self,
        ctx: Ctx,
        input: create_record::Input,
    ) -> Result<create_record::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let input = input.data;
        caller.require_repo(input.collection.as_str(), RepoAction::Create)?;
        let did = self
            .writable_repo(&caller.did, input.repo.as_ref())
            .await?
            .did;
        self.limit_writes(&ctx, &did, ratelimit::CREATE_POINTS)?;
        let swap_commit = input.swap_commit.as_ref().map(cid_of).transpose()?;
        let rkey = match &input.rkey {
            Some(rkey) => rkey.as_str().to_owned(),
            None => records::next_rkey()?,
        };
        let prepared = self
            .prepare_record_write(
                &did,
                RecordWrite {
                    action: Action::Create,
                    collection: input.collection.as_str(),
                    rkey: &rkey,
                    record: records::record_from_input(&input.record)?,
                    mode: ValidationMode::from_flag(input.validate),
                    swap_record: None,
                    input_path: "$.record".into(),
                },
            )
            .await?;
        let (uri, cid, status) = (
            prepared.uri.clone(),
            prepared.cid,
            prepared.validation_status,
        );
        let commit = self.commit(&ctx, &did, vec![prepared], swap_commit).await?;
        Ok(ar::create_record::OutputData {
            uri,
            cid: atrium_cid(cid.as_ref())?,
            commit: Some(commit_meta(&commit)?),
            validation_status: status.map(|s| s.as_str().to_owned()),
        }
        .into())
    }

    async fn put_record(
        &self,
        ctx: Ctx,
        input: put_record::Input,
    ) -> Result<put_record::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let swap_record = swap_record_of(&ctx, input.swap_record.as_ref())?;
        let input = input.data;
        // putRecord may create or replace, so it needs both (as the reference asks).
        caller.require_repo(input.collection.as_str(), RepoAction::Create)?;
        caller.require_repo(input.collection.as_str(), RepoAction::Update)?;
        let did = self
            .writable_repo(&caller.did, input.repo.as_ref())
            .await?
            .did;
        self.limit_writes(&ctx, &did, ratelimit::UPDATE_POINTS)?;
        let swap_commit = input.swap_commit.as_ref().map(cid_of).transpose()?;
        let collection = input.collection.as_str();
        let rkey = input.rkey.as_str();
        let current = self
            .store
            .get_record(&did, collection, rkey)
            .await
            .map_err(store_error)?;
        let mut prepared = self
            .prepare_record_write(
                &did,
                RecordWrite {
                    action: if current.is_some() {
                        Action::Update
                    } else {
                        Action::Create
                    },
                    collection,
                    rkey,
                    record: records::record_from_input(&input.record)?,
                    mode: ValidationMode::from_flag(input.validate),
                    swap_record,
                    input_path: "$.record".into(),
                },
            )
            .await?;
        // Whether this creates or updates is settled under the account's lock: a concurrent
        // putRecord or delete of the same key may land before this commit.
        prepared.write.upsert = true;
        let (uri, cid, status) = (
            prepared.uri.clone(),
            prepared.cid,
            prepared.validation_status,
        );
        // Writing the record it already holds changes nothing: no commit, as the reference.
        let commit = if current.is_some_and(|c| Some(c.cid) == cid) {
            self.set_current_rev(&ctx, &did).await?;
            None
        } else {
            Some(commit_meta(
                &self.commit(&ctx, &did, vec![prepared], swap_commit).await?,
            )?)
        };
        Ok(ar::put_record::OutputData {
            uri,
            cid: atrium_cid(cid.as_ref())?,
            commit,
            validation_status: status.map(|s| s.as_str().to_owned()),
        }
        .into())
    }

    async fn delete_record(
        &self,
        ctx: Ctx,
        input: delete_record::Input,
    ) -> Result<delete_record::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let input = input.data;
        caller.require_repo(input.collection.as_str(), RepoAction::Delete)?;
        let did = self
            .writable_repo(&caller.did, input.repo.as_ref())
            .await?
            .did;
        self.limit_writes(&ctx, &did, ratelimit::DELETE_POINTS)?;
        let swap_commit = input.swap_commit.as_ref().map(cid_of).transpose()?;
        let swap_record = input.swap_record.as_ref().map(cid_of).transpose()?;
        let collection = input.collection.as_str();
        let rkey = input.rkey.as_str();
        let exists = self
            .store
            .get_record(&did, collection, rkey)
            .await
            .map_err(store_error)?
            .is_some();
        // Deleting what is not there is a no-op (no commit, swaps unchecked), as the reference.
        if !exists {
            self.set_current_rev(&ctx, &did).await?;
            return Ok(ar::delete_record::OutputData { commit: None }.into());
        }
        let write = records::prepare_delete(&did, collection, rkey, swap_record.map(Some));
        let commit = match self.commit(&ctx, &did, vec![write], swap_commit).await {
            Ok(commit) => commit,
            // A concurrent delete got there first (the check above ran outside the account's
            // lock): the record is gone, so this is the no-op above after all. That delete may
            // still be in flight (commits are pipelined): wait for it before reading the store.
            Err(e) if e.status < 500 => {
                self.repos.settle(&did).await;
                let gone = self
                    .store
                    .get_record(&did, collection, rkey)
                    .await
                    .map_err(store_error)?
                    .is_none();
                if !gone {
                    return Err(e);
                }
                self.set_current_rev(&ctx, &did).await?;
                return Ok(ar::delete_record::OutputData { commit: None }.into());
            }
            Err(e) => return Err(e),
        };
        Ok(ar::delete_record::OutputData {
            commit: Some(commit_meta(&commit)?),
        }
        .into())
    }

    async fn apply_writes(
        &self,
        ctx: Ctx,
        input: apply_writes::Input,
    ) -> Result<apply_writes::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let input = input.data;
        let did = self
            .writable_repo(&caller.did, input.repo.as_ref())
            .await?
            .did;
        if input.writes.len() > records::MAX_WRITES {
            return Err(XrpcError::invalid_request(format!(
                "Too many writes. Max: {}",
                records::MAX_WRITES
            )));
        }
        for write in &input.writes {
            let (collection, action) = match write {
                aw::InputWritesItem::Create(w) => (w.collection.as_str(), RepoAction::Create),
                aw::InputWritesItem::Update(w) => (w.collection.as_str(), RepoAction::Update),
                aw::InputWritesItem::Delete(w) => (w.collection.as_str(), RepoAction::Delete),
            };
            caller.require_repo(collection, action)?;
        }
        let points = input
            .writes
            .iter()
            .map(|w| match w {
                aw::InputWritesItem::Create(_) => ratelimit::CREATE_POINTS,
                aw::InputWritesItem::Update(_) => ratelimit::UPDATE_POINTS,
                aw::InputWritesItem::Delete(_) => ratelimit::DELETE_POINTS,
            })
            .sum();
        self.limit_writes(&ctx, &did, points)?;
        let mode = ValidationMode::from_flag(input.validate);
        let mut prepared = Vec::with_capacity(input.writes.len());
        for (i, write) in input.writes.iter().enumerate() {
            prepared.push(match write {
                aw::InputWritesItem::Create(create) => {
                    let rkey = match &create.rkey {
                        Some(rkey) => rkey.as_str().to_owned(),
                        None => records::next_rkey()?,
                    };
                    self.prepare_record_write(
                        &did,
                        RecordWrite {
                            action: Action::Create,
                            collection: create.collection.as_str(),
                            rkey: &rkey,
                            record: records::record_from_input(&create.value)?,
                            mode,
                            swap_record: None,
                            input_path: format!("$.writes[{i}].value"),
                        },
                    )
                    .await?
                }
                aw::InputWritesItem::Update(update) => {
                    self.prepare_record_write(
                        &did,
                        RecordWrite {
                            action: Action::Update,
                            collection: update.collection.as_str(),
                            rkey: update.rkey.as_str(),
                            record: records::record_from_input(&update.value)?,
                            mode,
                            swap_record: None,
                            input_path: format!("$.writes[{i}].value"),
                        },
                    )
                    .await?
                }
                aw::InputWritesItem::Delete(delete) => records::prepare_delete(
                    &did,
                    delete.collection.as_str(),
                    delete.rkey.as_str(),
                    None,
                ),
            });
        }
        let swap_commit = input.swap_commit.as_ref().map(cid_of).transpose()?;
        let results = prepared
            .iter()
            .map(write_result)
            .collect::<Result<Vec<_>, _>>()?;
        let commit = self.commit(&ctx, &did, prepared, swap_commit).await?;
        Ok(ar::apply_writes::OutputData {
            commit: Some(commit_meta(&commit)?),
            results: Some(results),
        }
        .into())
    }

    async fn get_record(
        &self,
        ctx: Ctx,
        params: get_record::Params,
    ) -> Result<get_record::Output, XrpcError> {
        let Some(did) = self.readable_did(&params.repo).await? else {
            return Err(XrpcError::invalid_request("Could not locate record"));
        };
        let uri = records::at_uri(&did, &params.collection, &params.rkey);
        let cid = params.cid.as_deref().map(records::parse_cid).transpose()?;
        let record = self
            .read_record(&did, &params.collection, &params.rkey, cid.as_ref())
            .await?;
        // A taken-down record is not served (crate::takedown).
        let record = match record {
            Some(_)
                if self
                    .record_taken_down(&did, &params.collection, &params.rkey)
                    .await? =>
            {
                None
            }
            other => other,
        };
        let record = record.ok_or_else(|| {
            get_record::Error::RecordNotFound
                .with_message(format!("Could not locate record: {uri}"))
        })?;
        self.set_caller_rev(&ctx).await?;
        Ok(ar::get_record::OutputData {
            cid: Some(atrium_cid(Some(&record.cid))?),
            uri,
            value: records::record_output(&record.bytes)?,
        }
        .into())
    }

    async fn list_records(
        &self,
        ctx: Ctx,
        params: list_records::Params,
    ) -> Result<list_records::Output, XrpcError> {
        let Some(did) = self.readable_did(&params.repo).await? else {
            return Err(XrpcError::invalid_request(format!(
                "Could not find repo: {}",
                params.repo
            )));
        };
        let limit = usize::try_from(params.limit.clamp(1, 100)).unwrap_or(50);
        let found = self
            .store
            .list_records(
                &did,
                &params.collection,
                params.cursor.as_deref(),
                limit,
                params.reverse.unwrap_or(false),
            )
            .await
            .map_err(store_error)?;
        // The next page starts after the last rkey returned (descending by default, ascending
        // with `reverse`), as the reference.
        let cursor = found.last().map(|r| r.rkey.clone());
        let hidden = self.taken_down_in(&did, &params.collection).await?;
        let records = found
            .iter()
            .filter(|r| !hidden.contains(&r.rkey))
            .map(|r| {
                Ok(ar::list_records::Record::from(
                    ar::list_records::RecordData {
                        cid: atrium_cid(Some(&r.cid))?,
                        uri: records::at_uri(&did, &r.collection, &r.rkey),
                        value: records::record_output(&r.bytes)?,
                    },
                ))
            })
            .collect::<Result<Vec<_>, XrpcError>>()?;
        self.set_caller_rev(&ctx).await?;
        Ok(ar::list_records::OutputData { cursor, records }.into())
    }

    async fn describe_repo(
        &self,
        _ctx: Ctx,
        params: describe_repo::Params,
    ) -> Result<describe_repo::Output, XrpcError> {
        let account = self.available_repo(&params.repo).await?;
        let did_doc = self.repo_did_document(&account.did).await?;
        let handle_is_correct =
            did_doc_handle(&did_doc).as_deref() == Some(account.handle.as_str());
        let collections = self
            .store
            .list_collections(&account.did)
            .await
            .map_err(store_error)?;
        let output = serde_json::json!({
            "handle": account.handle,
            "did": account.did,
            "didDoc": did_doc,
            "collections": collections,
            "handleIsCorrect": handle_is_correct,
        });
        serde_json::from_value(output)
            .map_err(|e| XrpcError::internal(format!("describeRepo output: {e}")))
    }

    async fn upload_blob(
        &self,
        ctx: Ctx,
        input: upload_blob::Input,
    ) -> Result<upload_blob::Output, XrpcError> {
        // Also a service token bound to uploadBlob, as the reference accepts (the video service
        // uploads processed videos this way).
        let caller_did = self
            .caller_or_service_did(&ctx, Access::Standard, "com.atproto.repo.uploadBlob")
            .await?;
        self.limit_upload_blob(&ctx, &caller_did)?;
        if ctx
            .header("content-type")
            .is_none_or(|v| v.trim().is_empty())
        {
            return Err(XrpcError::invalid_request(
                "Request encoding (Content-Type) required but not provided",
            ));
        }
        // An OAuth session may upload only the media types its scope names (the session was
        // already worked out above; this reads the memo).
        if let Ok(Some(caller)) = self.optional_caller(&ctx) {
            caller.require_blob(&input.content_type)?;
        }
        let blob = self
            .upload_blob_bytes(&caller_did, &input.content_type, &input.bytes)
            .await?;
        // Mid-migration, the blob may be one an imported record references (crate::migration).
        if self.account_is_deactivated(&caller_did).await? {
            self.link_imported_blobs(&caller_did).await?;
        }
        self.set_current_rev(&ctx, &caller_did).await?;
        let blob_ref = serde_json::json!({
            "$type": "blob",
            "ref": {"$link": blob.cid.to_string()},
            "mimeType": blob.mime_type,
            "size": blob.size,
        });
        Ok(ar::upload_blob::OutputData {
            blob: serde_json::from_value(blob_ref)
                .map_err(|e| XrpcError::internal(format!("blob ref: {e}")))?,
        }
        .into())
    }

    async fn import_repo(
        &self,
        ctx: Ctx,
        input: xrpc::com::atproto::repo::import_repo::Input,
    ) -> Result<(), XrpcError> {
        // The lexicon asks for a declared length: a CAR streamed without one cannot be checked
        // against the limit before it is read, and a truncated upload would look complete.
        if ctx.header("content-length").is_none() {
            return Err(XrpcError::invalid_request(
                "importRepo needs a Content-Length header (send the CAR as one body, not chunked)",
            ));
        }
        // crate::migration::import
        self.import_repo_car(&ctx, &input.bytes).await
    }

    async fn list_missing_blobs(
        &self,
        ctx: Ctx,
        params: list_missing_blobs::Params,
    ) -> Result<list_missing_blobs::Output, XrpcError> {
        let caller = self.caller(&ctx, Access::Standard).await?;
        let limit = usize::try_from(params.limit.clamp(1, 1000)).unwrap_or(500);
        let missing = self
            .missing_blobs(&caller.did, params.cursor.as_deref(), limit)
            .await?;
        let cursor = missing.last().map(|(cid, _)| cid.to_string());
        let blobs = missing
            .into_iter()
            .map(|(cid, record_uri)| {
                Ok(ar::list_missing_blobs::RecordBlob::from(
                    ar::list_missing_blobs::RecordBlobData {
                        cid: atrium_cid(Some(&cid))?,
                        record_uri,
                    },
                ))
            })
            .collect::<Result<Vec<_>, XrpcError>>()?;
        self.set_current_rev(&ctx, &caller.did).await?;
        Ok(ar::list_missing_blobs::OutputData { blobs, cursor }.into())
    }
}

impl AppState {
    /// Commits prepared writes, sets `Atproto-Repo-Rev`, and frees the blobs the commit
    /// dereferenced.
    async fn commit(
        &self,
        ctx: &Ctx,
        did: &str,
        writes: Vec<PreparedWrite>,
        swap_commit: Option<Cid>,
    ) -> Result<CommitOutcome, XrpcError> {
        let may_free_blobs = writes
            .iter()
            .any(|w| w.write.action != Action::Create || w.write.upsert);
        let writes = writes.into_iter().map(|w| w.write).collect();
        let outcome = self.repos.write(did, writes, swap_commit, true).await?;
        ctx.set_repo_rev(&outcome.rev);
        if may_free_blobs {
            // The commit is durable; a failure here only delays the cleanup to the next sweep.
            if let Err(e) = self.delete_unreferenced_blobs(did).await {
                eprintln!("blob cleanup for {did} failed (the periodic sweep retries): {e}");
            }
        }
        Ok(outcome)
    }

    /// `Atproto-Repo-Rev` for an authenticated read (public reads may carry a session).
    async fn set_caller_rev(&self, ctx: &Ctx) -> Result<(), XrpcError> {
        if let Ok(Some(caller)) = self.optional_caller(ctx) {
            self.set_current_rev(ctx, &caller.did).await?;
        }
        Ok(())
    }

    /// The DID document of a hosted account, as the PLC directory has it (cached briefly).
    async fn repo_did_document(&self, did: &str) -> Result<serde_json::Value, XrpcError> {
        if !did.starts_with("did:plc:") {
            return Err(XrpcError::invalid_request(format!(
                "Could not resolve DID: {did} is not a did:plc"
            )));
        }
        if let Some(doc) = self.plc.cached_did_document(did).await {
            return Ok(doc);
        }
        self.plc
            .did_document(did)
            .await
            .map_err(|e| XrpcError::invalid_request(format!("Could not resolve DID: {e}")))
    }

    /// The account for describeRepo: unknown → `RepoNotFound`, unavailable → its status error.
    async fn available_repo(&self, repo: &str) -> Result<store::Account, XrpcError> {
        let account = self.find_account(repo).await?.ok_or_else(|| {
            XrpcError::new(
                400,
                "RepoNotFound",
                format!("Could not find repo for DID: {repo}"),
            )
        })?;
        match account.status {
            store::AccountStatus::Takendown | store::AccountStatus::Suspended => {
                Err(XrpcError::new(
                    400,
                    "RepoTakendown",
                    format!("Repo has been takendown: {repo}"),
                ))
            }
            store::AccountStatus::Deactivated => Err(XrpcError::new(
                400,
                "RepoDeactivated",
                format!("Repo has been deactivated: {repo}"),
            )),
            _ => Ok(account),
        }
    }
}

/// The per-write result of applyWrites.
fn write_result(w: &PreparedWrite) -> Result<aw::OutputResultsItem, XrpcError> {
    let status = w
        .validation_status
        .map(|s: ValidationStatus| s.as_str().to_owned());
    Ok(match w.write.action {
        Action::Create => aw::OutputResultsItem::CreateResult(Box::new(
            aw::CreateResultData {
                cid: atrium_cid(w.cid.as_ref())?,
                uri: w.uri.clone(),
                validation_status: status,
            }
            .into(),
        )),
        Action::Update => aw::OutputResultsItem::UpdateResult(Box::new(
            aw::UpdateResultData {
                cid: atrium_cid(w.cid.as_ref())?,
                uri: w.uri.clone(),
                validation_status: status,
            }
            .into(),
        )),
        Action::Delete => {
            aw::OutputResultsItem::DeleteResult(Box::new(aw::DeleteResultData {}.into()))
        }
    })
}

fn commit_meta(commit: &CommitOutcome) -> Result<defs::CommitMeta, XrpcError> {
    Ok(defs::CommitMetaData {
        cid: atrium_cid(Some(&commit.cid))?,
        rev: commit
            .rev
            .parse()
            .map_err(|e| XrpcError::internal(format!("rev {}: {e}", commit.rev)))?,
    }
    .into())
}

fn atrium_cid(cid: Option<&Cid>) -> Result<xrpc::atrium_api::types::string::Cid, XrpcError> {
    let cid = cid.ok_or_else(|| XrpcError::internal("a record write without a CID"))?;
    cid.to_string()
        .parse()
        .map_err(|e| XrpcError::internal(format!("CID {cid}: {e}")))
}

fn cid_of(cid: &xrpc::atrium_api::types::string::Cid) -> Result<Cid, XrpcError> {
    records::parse_cid(cid.as_ref().to_string().as_str())
}

/// putRecord's `swapRecord`: a CID means "must be at", an explicit `null` "must not exist",
/// absent "no check". The typed input cannot tell `null` from absent, so the raw body decides.
fn swap_record_of(
    ctx: &Ctx,
    typed: Option<&xrpc::atrium_api::types::string::Cid>,
) -> Result<Option<Option<Cid>>, XrpcError> {
    if let Some(cid) = typed {
        return Ok(Some(Some(cid_of(cid)?)));
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "swapRecord", default, deserialize_with = "present")]
        swap_record: Option<serde::de::IgnoredAny>,
    }
    fn present<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<serde::de::IgnoredAny>, D::Error> {
        serde::Deserialize::deserialize(d).map(Some)
    }
    let explicit_null = ctx
        .json_body
        .as_ref()
        .and_then(|body| serde_json::from_slice::<Probe>(body).ok())
        .is_some_and(|p| p.swap_record.is_some());
    Ok(explicit_null.then_some(None))
}

/// The handle a DID document claims (`alsoKnownAs: ["at://<handle>"]`).
fn did_doc_handle(doc: &serde_json::Value) -> Option<String> {
    doc.get("alsoKnownAs")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str()?.strip_prefix("at://"))
        .next()
        .map(str::to_ascii_lowercase)
}
