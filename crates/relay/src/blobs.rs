//! Blobs: uploads, and the garbage collection of blobs no record keeps.
//!
//! An upload is stored (bytes in the blob store, metadata in the store) as *temporary*; the
//! commit of a record that references it makes it referenced, in the same transaction
//! (`Store::apply_commit`). A blob is deleted when
//! - it stayed temporary for [`TEMP_BLOB_TTL_SECS`] (the blob spec: not before one hour), or
//! - the last record referencing it went (the store marks it unreferenced; a blob shared by
//!   two records survives until both are gone).
//!
//! Bytes are deleted only after their metadata, under the account's write lock, and only if no
//! re-upload brought the metadata back meanwhile: the blob store's rule against losing the file
//! of a blob that was just uploaded again.

use std::sync::Arc;
use std::time::Duration;

use data::Cid;
use store::blobstore::{BlobStore, BlobUpload};
use store::{BlobMeta, Store};
use xrpc::XrpcError;

use crate::app::AppState;
use crate::error::store_error;

/// Temporary blobs older than this are deleted (blob spec: at least an hour).
pub const TEMP_BLOB_TTL_SECS: i64 = 60 * 60;
/// How often expired temporary blobs are collected.
pub const GC_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// How often every account is swept for unreferenced blobs. Writes that dereference blobs free
/// them at once; the sweep catches what a crash or a failed cleanup left behind.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(6 * 60 * 60);
/// Accounts per page of the sweep.
const SWEEP_PAGE: usize = 500;

/// What a garbage-collection pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Temporary blobs past their time.
    pub expired: usize,
    /// Blobs whose last reference went.
    pub unreferenced: usize,
}

fn blob_error(e: store::blobstore::BlobError) -> XrpcError {
    eprintln!("blob storage failure: {e}");
    XrpcError::internal("Internal Server Error")
}

impl AppState {
    /// Stores an upload for `did` as a temporary blob; returns its metadata (CID over the exact
    /// bytes, the MIME type its bytes show or else the declared one, the size). Uploading a
    /// blob the account already has changes nothing but its expiry.
    pub async fn upload_blob_bytes(
        &self,
        did: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> Result<BlobMeta, XrpcError> {
        if bytes.len() as u64 > self.config.blob_upload_limit {
            return Err(XrpcError::payload_too_large("request entity too large"));
        }
        // As the reference: the type the bytes show, else the declared one.
        let mime_type = sniff_mime(bytes)
            .map(str::to_owned)
            .unwrap_or_else(|| mime_essence(content_type));
        let mut upload = self.blobs.begin_upload(did).await.map_err(blob_error)?;
        upload.write(bytes).await.map_err(blob_error)?;
        // The file lands and its metadata is recorded under the account's lock, so a deletion
        // of the same blob cannot slip in between.
        let _lock = self.repos.lock_account(did).await;
        let stored = upload.finish().await.map_err(blob_error)?;
        let meta = BlobMeta {
            cid: stored.cid,
            mime_type,
            size: i64::try_from(stored.size)
                .map_err(|_| XrpcError::payload_too_large("request entity too large"))?,
            temporary: true,
            created_at: syntax::Datetime::now().to_rfc3339_millis(),
        };
        self.store
            .put_temp_blob(did, meta.clone())
            .await
            .map_err(store_error)?;
        Ok(meta)
    }

    /// Deletes the blobs of `did` that no record references any more; returns how many.
    pub async fn delete_unreferenced_blobs(&self, did: &str) -> Result<usize, XrpcError> {
        let _lock = self.repos.lock_account(did).await;
        let cids = self
            .store
            .take_unreferenced_blobs(did)
            .await
            .map_err(store_error)?;
        for cid in &cids {
            self.blobs.delete(did, cid).await.map_err(blob_error)?;
        }
        Ok(cids.len())
    }

    /// Deletes temporary blobs uploaded before `now_unix - TEMP_BLOB_TTL_SECS`; returns how
    /// many.
    pub async fn delete_expired_temp_blobs(&self, now_unix: i64) -> Result<usize, XrpcError> {
        let expired = self
            .store
            .take_expired_temp_blobs(now_unix - TEMP_BLOB_TTL_SECS)
            .await
            .map_err(store_error)?;
        let mut deleted = 0;
        for (did, cid) in expired {
            let _lock = self.repos.lock_account(&did).await;
            // Uploaded again since the metadata went: the file is that upload's now.
            if self
                .store
                .blob_meta(&did, &cid)
                .await
                .map_err(store_error)?
                .is_some()
            {
                continue;
            }
            self.blobs.delete(&did, &cid).await.map_err(blob_error)?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// One garbage-collection pass as of `now_unix`: expired temporary blobs, and, when
    /// `sweep_accounts`, every account's unreferenced blobs.
    pub async fn collect_blob_garbage(
        &self,
        now_unix: i64,
        sweep_accounts: bool,
    ) -> Result<GcReport, XrpcError> {
        let mut report = GcReport {
            expired: self.delete_expired_temp_blobs(now_unix).await?,
            unreferenced: 0,
        };
        if sweep_accounts {
            let mut cursor: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_accounts(cursor.as_deref(), SWEEP_PAGE)
                    .await
                    .map_err(store_error)?;
                for (account, _) in &page {
                    report.unreferenced += self.delete_unreferenced_blobs(&account.did).await?;
                }
                if page.len() < SWEEP_PAGE {
                    break;
                }
                cursor = page.last().map(|(a, _)| a.did.clone());
            }
        }
        Ok(report)
    }

    /// Blobs records of `did` reference that this server does not have (after an import), in
    /// CID order after `cursor`: (CID, URI of a record referencing it).
    pub async fn missing_blobs(
        &self,
        did: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Cid, String)>, XrpcError> {
        // By CID string, the order (and cursor) the reference lists them in.
        let mut referenced: std::collections::BTreeMap<String, (Cid, String)> = Default::default();
        for collection in self
            .store
            .list_collections(did)
            .await
            .map_err(store_error)?
        {
            let mut after: Option<String> = None;
            loop {
                let page = self
                    .store
                    .list_records(did, &collection, after.as_deref(), 100, true)
                    .await
                    .map_err(store_error)?;
                for record in &page {
                    let Ok(value) = data::cbor::decode(&record.bytes) else {
                        continue;
                    };
                    for cid in crate::repos::blob_refs(&value) {
                        referenced.entry(cid.to_string()).or_insert_with(|| {
                            let uri = crate::records::at_uri(did, &record.collection, &record.rkey);
                            (cid, uri)
                        });
                    }
                }
                if page.len() < 100 {
                    break;
                }
                after = page.last().map(|r| r.rkey.clone());
            }
        }
        let mut out = Vec::new();
        for (key, (cid, uri)) in referenced {
            if cursor.is_some_and(|c| key.as_str() <= c) {
                continue;
            }
            if self
                .store
                .blob_meta(did, &cid)
                .await
                .map_err(store_error)?
                .is_none()
            {
                out.push((cid, uri));
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// Runs blob garbage collection in the background for the life of the server: expired
/// temporary blobs every [`GC_INTERVAL`], all accounts' unreferenced blobs at start and every
/// [`SWEEP_INTERVAL`].
pub fn spawn_gc(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(GC_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            ticks.tick().await;
            let sweep = last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_INTERVAL);
            match state
                .collect_blob_garbage(crate::auth::now_secs(), sweep)
                .await
            {
                Ok(report) => {
                    if sweep {
                        last_sweep = Some(tokio::time::Instant::now());
                    }
                    if report != GcReport::default() {
                        println!(
                            "blob gc: deleted {} expired temporary and {} unreferenced blobs",
                            report.expired, report.unreferenced
                        );
                    }
                }
                Err(e) => eprintln!("blob gc failed (retrying later): {e:?}"),
            }
        }
    })
}

/// A `Content-Type` header's media type, without parameters, in lower case
/// (`Image/PNG; x=y` → `image/png`), as the reference records it.
pub fn mime_essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The media type a blob's first bytes show, for the formats people upload (images, video,
/// audio, PDF); `None` when they show none (text, JSON, unknown binaries), and the declared
/// type is kept. The reference does the same with the `file-type` package, which knows more
/// formats; the ones here are those with unambiguous signatures.
pub fn sniff_mime(bytes: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| bytes.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if at(0, b"\xff\xd8\xff") {
        return Some("image/jpeg");
    }
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some("image/gif");
    }
    if at(0, b"RIFF") && at(8, b"WEBP") {
        return Some("image/webp");
    }
    if at(0, b"RIFF") && at(8, b"WAVE") {
        return Some("audio/wav");
    }
    if at(0, b"II*\0") || at(0, b"MM\0*") {
        return Some("image/tiff");
    }
    if at(0, b"%PDF-") {
        return Some("application/pdf");
    }
    if at(0, b"ID3") {
        return Some("audio/mpeg");
    }
    if at(0, b"\x1a\x45\xdf\xa3") {
        // EBML: WebM names its doctype near the start; anything else is Matroska.
        let head = &bytes[..bytes.len().min(64)];
        let webm = head.windows(4).any(|w| w == b"webm");
        return Some(if webm {
            "video/webm"
        } else {
            "video/x-matroska"
        });
    }
    if at(4, b"ftyp") {
        // ISO base media: the major brand says which kind.
        let brand = bytes.get(8..12).unwrap_or_default();
        return Some(match brand {
            b"avif" | b"avis" => "image/avif",
            b"heic" | b"heix" => "image/heic",
            b"mif1" => "image/heif",
            b"qt  " => "video/quicktime",
            b"M4A " => "audio/x-m4a",
            b"M4V " => "video/x-m4v",
            b"3g2a" => "video/3gpp2",
            b if b.starts_with(b"3gp") => "video/3gpp",
            _ => "video/mp4",
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_mime_knows_the_common_signatures() {
        assert_eq!(sniff_mime(b"\x89PNG\r\n\x1a\n\0\0"), Some("image/png"));
        assert_eq!(sniff_mime(b"\xff\xd8\xff\xe0rest"), Some("image/jpeg"));
        assert_eq!(sniff_mime(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff_mime(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_mime(b"\0\0\0\x1cftypisom\0\0"), Some("video/mp4"));
        assert_eq!(sniff_mime(b"\0\0\0\x1cftypavif\0\0"), Some("image/avif"));
        assert_eq!(
            sniff_mime(b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm"),
            Some("video/webm")
        );
        assert_eq!(sniff_mime(b"%PDF-1.7"), Some("application/pdf"));
        // Text, JSON, short or unknown bytes show nothing: the declared type stands.
        for bytes in [
            &b"hello world"[..],
            b"{\"a\":1}",
            b"\x89PN",
            b"",
            b"RIFF\0\0\0\0AVI ",
        ] {
            assert_eq!(sniff_mime(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn mime_essence_drops_parameters() {
        assert_eq!(mime_essence("Image/PNG; charset=x"), "image/png");
        assert_eq!(mime_essence("text/plain"), "text/plain");
    }
}
