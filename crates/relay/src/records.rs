//! Records between XRPC and the write path: the checks a record write passes before it becomes
//! a [`repos::Write`](crate::repos::Write) (data model, `$type`, lexicon validation, record key,
//! blob references), the account checks of writes and reads, and stored records back into the
//! JSON form.
//!
//! The checks and their messages follow the reference PDS (`prepareCreate`/`prepareUpdate`,
//! `verifyBlobAndMakePermanent`), with one deliberate difference: a record without `$type` is
//! refused (`No $type provided`), where the reference fills in the collection. The lexicon spec
//! requires `$type` on records.

use std::sync::LazyLock;

use data::{Cid, Value};
use lexicon::{RecordWriteError, ValidationMode, ValidationStatus};
use repo::Action;
use store::{Account, AccountStatus, Store, StoredRecord};
use syntax::TidGenerator;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;
use crate::repos::Write;

/// Most writes in one applyWrites call (and so in one commit), as the reference and the firehose
/// limits allow.
pub const MAX_WRITES: usize = 200;

/// Record keys of creates without one; TIDs from one clock so they increase.
static RKEYS: LazyLock<TidGenerator> = LazyLock::new(TidGenerator::new);

/// A checked write and what its reply reports.
#[derive(Clone, Debug)]
pub struct PreparedWrite {
    pub write: Write,
    /// `at://<did>/<collection>/<rkey>`.
    pub uri: String,
    /// The record's CID (creates and updates).
    pub cid: Option<Cid>,
    /// `None` when validation was skipped (`validate: false`) and for deletes.
    pub validation_status: Option<ValidationStatus>,
}

/// A create or update as the XRPC input gives it.
#[derive(Clone, Debug)]
pub struct RecordWrite<'a> {
    pub action: Action,
    pub collection: &'a str,
    pub rkey: &'a str,
    pub record: Value,
    /// The `validate` flag.
    pub mode: ValidationMode,
    /// `swapRecord`: `Some(None)` "must not exist", `Some(Some(cid))` "must be at cid".
    pub swap_record: Option<Option<Cid>>,
    /// Where the record sits in the input, for messages: `$.record`, `$.writes[0].value`.
    pub input_path: String,
}

/// A blob reference found in a record.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BlobRef {
    cid: Cid,
    mime_type: String,
    size: i64,
}

/// Converts a record from the typed XRPC input into the data model. Floats, bad `$link`s or
/// `$bytes` and integers out of range are refused here.
pub fn record_from_input(record: &xrpc::atrium_api::types::Unknown) -> Result<Value, XrpcError> {
    let json = serde_json::to_value(record)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid record: {e}")))?;
    data::json::from_json(&json)
        .map_err(|e| XrpcError::invalid_request(format!("Invalid record: {e}")))
}

/// A stored record in the JSON form XRPC outputs carry (`value` of getRecord, listRecords).
pub fn record_output(bytes: &[u8]) -> Result<xrpc::atrium_api::types::Unknown, XrpcError> {
    let value = data::cbor::decode(bytes)
        .map_err(|e| XrpcError::internal(format!("a stored record does not decode: {e}")))?;
    serde_json::from_value(data::json::to_json(&value))
        .map_err(|e| XrpcError::internal(format!("a stored record has no JSON form: {e}")))
}

/// `at://<did>/<collection>/<rkey>`.
pub fn at_uri(did: &str, collection: &str, rkey: &str) -> String {
    format!("at://{did}/{collection}/{rkey}")
}

/// A fresh TID record key.
pub fn next_rkey() -> Result<String, XrpcError> {
    RKEYS
        .next()
        .map(|t| t.to_string())
        .map_err(|e| XrpcError::internal(format!("no record key available: {e}")))
}

/// A CID string from the input (already checked for syntax by the typed input).
pub fn parse_cid(s: &str) -> Result<Cid, XrpcError> {
    s.parse()
        .map_err(|_| XrpcError::invalid_request(format!("Invalid CID: {s}")))
}

impl AppState {
    /// The account a handle or DID names, in any status.
    pub async fn find_account(&self, handle_or_did: &str) -> Result<Option<Account>, XrpcError> {
        let found = if handle_or_did.starts_with("did:") {
            self.store.account_by_did(handle_or_did).await
        } else {
            self.store
                .account_by_handle(&handle_or_did.to_ascii_lowercase())
                .await
        };
        Ok(found
            .map_err(store_error)?
            .filter(|a| a.status != AccountStatus::Deleted))
    }

    /// The repo a write names, which must be the caller's own and writable (the reference's
    /// `findAccount` with the takedown and deactivation checks).
    pub async fn writable_repo(&self, caller_did: &str, repo: &str) -> Result<Account, XrpcError> {
        let account = self
            .find_account(repo)
            .await?
            .ok_or_else(|| XrpcError::new(403, "AccountNotFound", "Account not found"))?;
        match account.status {
            AccountStatus::Takendown | AccountStatus::Suspended => {
                return Err(XrpcError::new(
                    401,
                    "AccountTakedown",
                    "Account has been taken down",
                ))
            }
            AccountStatus::Deactivated => {
                return Err(XrpcError::new(
                    401,
                    "AccountDeactivated",
                    "Account is deactivated",
                ))
            }
            AccountStatus::Active | AccountStatus::Deleted => {}
        }
        if account.did != caller_did {
            return Err(XrpcError::authentication_required(
                "Authentication Required",
            ));
        }
        Ok(account)
    }

    /// The DID of an active account a handle or DID names, for public reads (getRecord,
    /// listRecords); `None` for unknown, deactivated, suspended or taken-down accounts, whose
    /// records are not served.
    pub async fn readable_did(&self, repo: &str) -> Result<Option<String>, XrpcError> {
        Ok(self
            .find_account(repo)
            .await?
            .filter(|a| a.status == AccountStatus::Active)
            .map(|a| a.did))
    }

    /// Checks a create or update in `did`'s repo and prepares it.
    pub async fn prepare_record_write(
        &self,
        did: &str,
        input: RecordWrite<'_>,
    ) -> Result<PreparedWrite, XrpcError> {
        let RecordWrite {
            action,
            collection,
            rkey,
            record,
            mode,
            swap_record,
            input_path,
        } = input;
        let invalid = |message: String| XrpcError::invalid_request(message);
        match data::model::validate(&record) {
            Ok(()) => {}
            Err(data::model::ModelError::NotObject) => {
                return Err(invalid(format!(
                    "Expected object value type (got {}) at {input_path}",
                    data::json::to_json(&record)
                )))
            }
            Err(e) => return Err(invalid(format!("Invalid record: {e}"))),
        }
        match record.as_map().and_then(|m| m.get("$type")) {
            Some(Value::String(t)) if t == collection => {}
            Some(Value::String(t)) => {
                return Err(invalid(format!(
                    "Invalid $type: expected {collection}, got {t}"
                )))
            }
            _ => return Err(invalid("No $type provided".into())),
        }
        syntax::validate_record_key(rkey)
            .map_err(|_| invalid(format!("Invalid record key: {rkey}")))?;
        let validation_status = self.validate_record(collection, rkey, &record, mode)?;
        let mut blobs = Vec::new();
        collect_blob_refs(&record, &mut blobs)?;
        self.check_blob_refs(did, &blobs).await?;
        let cid = Cid::for_dag_cbor(&data::cbor::encode(&record));
        Ok(PreparedWrite {
            write: Write {
                action,
                collection: collection.to_owned(),
                rkey: rkey.to_owned(),
                record: Some(record),
                swap_record,
                upsert: false,
            },
            uri: at_uri(did, collection, rkey),
            cid: Some(cid),
            validation_status,
        })
    }

    /// Lexicon validation in the `validate` mode asked for, with the reference's messages.
    fn validate_record(
        &self,
        collection: &str,
        rkey: &str,
        record: &Value,
        mode: ValidationMode,
    ) -> Result<Option<ValidationStatus>, XrpcError> {
        if mode == ValidationMode::Skip {
            return Ok(None);
        }
        let Some(def) = self.lexicons.record_def(collection) else {
            return match mode {
                ValidationMode::Required => Err(XrpcError::invalid_request(format!(
                    "Unknown lexicon type: {collection}"
                ))),
                _ => Ok(Some(ValidationStatus::Unknown)),
            };
        };
        if def.key.check(rkey).is_err() {
            return Err(XrpcError::invalid_request(format!(
                "Invalid record key for {collection}: {}",
                key_mismatch(&def.key, rkey)
            )));
        }
        // `No $type provided` and the collection mismatch were answered above; what is left
        // is the reference's `Invalid <collection> record: <why>` (or a schema the record's
        // refs need that is missing).
        lexicon::validate_record_write(&self.lexicons, collection, record, mode)
            .map_err(|e: RecordWriteError| XrpcError::invalid_request(e.to_string()))
    }

    /// Every blob a record references must have been uploaded by this account; one still
    /// temporary must match the reference's declared MIME type and size (the lexicon's
    /// `accept`/`maxSize` were checked against those declared values).
    async fn check_blob_refs(&self, did: &str, blobs: &[BlobRef]) -> Result<(), XrpcError> {
        for blob in blobs {
            let meta = self
                .store
                .blob_meta(did, &blob.cid)
                .await
                .map_err(store_error)?
                .ok_or_else(|| {
                    XrpcError::new(
                        400,
                        "BlobNotFound",
                        format!("Could not find blob: {}", blob.cid),
                    )
                })?;
            if !meta.temporary {
                continue;
            }
            if meta.mime_type != blob.mime_type {
                return Err(XrpcError::new(
                    400,
                    "InvalidMimeType",
                    format!(
                        "Referenced Mimetype does not match stored blob. Expected: {}, Got: {}",
                        meta.mime_type, blob.mime_type
                    ),
                ));
            }
            if meta.size != blob.size {
                return Err(XrpcError::new(
                    400,
                    "InvalidSize",
                    format!(
                        "Referenced Size does not match stored blob. Expected: {}, Got: {}",
                        meta.size, blob.size
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A stored record of an active account, if it exists (and is at `cid` when given).
    pub async fn read_record(
        &self,
        did: &str,
        collection: &str,
        rkey: &str,
        cid: Option<&Cid>,
    ) -> Result<Option<StoredRecord>, XrpcError> {
        let record = self
            .store
            .get_record(did, collection, rkey)
            .await
            .map_err(store_error)?;
        Ok(record.filter(|r| cid.is_none_or(|c| *c == r.cid)))
    }

    /// Sets `Atproto-Repo-Rev` to the account's current rev (authenticated responses).
    pub async fn set_current_rev(&self, ctx: &crate::app::Ctx, did: &str) -> Result<(), XrpcError> {
        if let Some(head) = self.store.repo_head(did).await.map_err(store_error)? {
            ctx.set_repo_rev(&head.rev);
        }
        Ok(())
    }
}

/// A delete of `collection/rkey`.
pub fn prepare_delete(
    did: &str,
    collection: &str,
    rkey: &str,
    swap_record: Option<Option<Cid>>,
) -> PreparedWrite {
    PreparedWrite {
        write: Write {
            action: Action::Delete,
            collection: collection.to_owned(),
            rkey: rkey.to_owned(),
            record: None,
            swap_record,
            upsert: false,
        },
        uri: at_uri(did, collection, rkey),
        cid: None,
        validation_status: None,
    }
}

/// The blob references of a record, deduplicated. Legacy `{cid, mimeType}` references are
/// refused, as the reference PDS refuses them on every write.
fn collect_blob_refs(value: &Value, out: &mut Vec<BlobRef>) -> Result<(), XrpcError> {
    match value {
        Value::Map(map) => {
            if map.get("$type").and_then(Value::as_str) == Some("blob") {
                // The shape was checked by data::model::validate.
                if let (Some(Value::Link(cid)), Some(Value::String(mime)), Some(Value::Int(size))) =
                    (map.get("ref"), map.get("mimeType"), map.get("size"))
                {
                    let blob = BlobRef {
                        cid: *cid,
                        mime_type: mime.clone(),
                        size: *size,
                    };
                    if !out.contains(&blob) {
                        out.push(blob);
                    }
                }
                return Ok(());
            }
            if let Some(cid) = legacy_blob_ref(map) {
                return Err(XrpcError::invalid_request(format!(
                    "Legacy blobs are not allowed ({cid})"
                )));
            }
            map.values().try_for_each(|v| collect_blob_refs(v, out))
        }
        Value::Array(items) => items.iter().try_for_each(|v| collect_blob_refs(v, out)),
        _ => Ok(()),
    }
}

/// Why `rkey` is not a key of this type, in the reference's words (`Invalid TID string (got
/// "x") at $`, `Expected "self" (got "x") at $`).
fn key_mismatch(key: &lexicon::RecordKeyType, rkey: &str) -> String {
    let got = serde_json::Value::from(rkey);
    match key {
        lexicon::RecordKeyType::Tid => format!("Invalid TID string (got {got}) at $"),
        lexicon::RecordKeyType::Nsid => format!("Invalid NSID (got {got}) at $"),
        lexicon::RecordKeyType::Any => format!("Invalid record key (got {got}) at $"),
        lexicon::RecordKeyType::Literal(value) => {
            format!(
                "Expected {} (got {got}) at $",
                serde_json::Value::from(value.as_str())
            )
        }
    }
}

/// `{cid: <CID string>, mimeType: <non-empty string>}` and nothing else: a legacy blob ref.
fn legacy_blob_ref(map: &data::Map) -> Option<&str> {
    if map.len() != 2 {
        return None;
    }
    let cid = map.get("cid")?.as_str()?;
    let mime = map.get("mimeType")?.as_str()?;
    (!mime.is_empty() && syntax::validate_cid_string(cid).is_ok()).then_some(cid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(json: serde_json::Value) -> Value {
        data::json::from_json(&json).unwrap()
    }

    #[test]
    fn blob_refs_are_found_deduplicated_and_legacy_refused() {
        let cid = Cid::for_raw(b"hello");
        let blob = serde_json::json!({
            "$type": "blob", "ref": {"$link": cid.to_string()}, "mimeType": "image/png", "size": 5
        });
        let record = value(serde_json::json!({
            "$type": "app.bsky.feed.post",
            "embed": {"images": [{"image": blob}, {"image": blob}]},
        }));
        let mut out = Vec::new();
        collect_blob_refs(&record, &mut out).unwrap();
        assert_eq!(
            out,
            vec![BlobRef {
                cid,
                mime_type: "image/png".into(),
                size: 5
            }]
        );
        let legacy = value(serde_json::json!({
            "$type": "app.bsky.actor.profile",
            "avatar": {"cid": cid.to_string(), "mimeType": "image/png"},
        }));
        let err = collect_blob_refs(&legacy, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err.message.as_deref(),
            Some(format!("Legacy blobs are not allowed ({cid})").as_str())
        );
    }

    #[test]
    fn rkeys_increase() {
        let a = next_rkey().unwrap();
        let b = next_rkey().unwrap();
        assert!(a < b);
        syntax::validate_tid(&a).unwrap();
    }

    #[test]
    fn floats_are_refused_at_any_depth() {
        let input: xrpc::atrium_api::types::Unknown =
            serde_json::from_value(serde_json::json!({"$type": "x.y.z", "a": {"b": [1]}})).unwrap();
        assert!(record_from_input(&input).is_ok());
        for bad in [
            serde_json::json!({"$type": "x.y.z", "a": 1.5}),
            serde_json::json!({"$type": "x.y.z", "a": {"b": {"c": 1.5}}}),
            serde_json::json!({"$type": "x.y.z", "a": [[0.5]]}),
        ] {
            let parsed: Result<xrpc::atrium_api::types::Unknown, _> = serde_json::from_value(bad);
            if let Ok(input) = parsed {
                assert!(record_from_input(&input).is_err());
            }
        }
    }
}
