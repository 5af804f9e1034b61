//! Blob bytes. The metadata (size, MIME type, temporary or referenced) lives in the
//! [`Store`](crate::Store); a [`BlobStore`] only keeps bytes under `(did, cid)`.
//!
//! # One layout, state in the database
//! An upload streams into a temporary file while its CID is computed, is fsynced, and is
//! renamed to its final place `<root>/<did>/<cid>` before the upload call returns; the relay
//! then records it with [`Store::put_temp_blob`](crate::Store::put_temp_blob). Whether a blob
//! is temporary or referenced is only a column in the database, changed in the same
//! transaction as the commit that references it. Nothing moves at commit time, so there is no
//! moment where the database says "referenced" and the bytes are still elsewhere (or lost by
//! a crash between a commit and a move). The relay must not serve a blob whose metadata says
//! `temporary`.
//!
//! Crash windows that remain leave only extra files, never missing ones: bytes written whose
//! metadata insert did not happen, or metadata deleted (`take_*`, `delete_account`) whose
//! files were not deleted yet.
//!
//! # One rule for the caller
//! Deleting bytes must not race a re-upload of the same blob by the same account: the relay
//! runs "upload bytes + `put_temp_blob`" and "`take_*` + delete bytes" for one account under
//! the same per-account lock it takes for commits. (Otherwise a re-upload that lands between
//! the metadata delete and the file delete would keep its metadata and lose its file.)

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use data::{Cid, Codec};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// A failure of a blob backend.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob storage I/O: {0}")]
    Io(#[from] io::Error),
    #[error("blob storage: {0}")]
    Backend(String),
}

/// What an upload stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredBlob {
    /// CIDv1, raw codec, SHA-256 of the exact bytes (blob spec, §Metadata).
    pub cid: Cid,
    pub size: u64,
}

/// A blob being read.
pub struct BlobReader {
    pub size: u64,
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Computes a blob's CID and size over bytes fed in pieces.
#[derive(Clone, Debug, Default)]
pub struct CidHasher {
    sha: Sha256,
    size: u64,
}

impl CidHasher {
    pub fn new() -> CidHasher {
        CidHasher::default()
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.sha.update(chunk);
        self.size += chunk.len() as u64;
    }

    /// Bytes seen so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn finish(self) -> StoredBlob {
        StoredBlob {
            cid: Cid::new(Codec::Raw, self.sha.finalize().into()),
            size: self.size,
        }
    }
}

/// An upload in progress. Dropping it without [`finish`](BlobUpload::finish) discards it.
pub trait BlobUpload: Send {
    /// Appends bytes.
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// Bytes written so far (to enforce a size limit while streaming).
    fn size(&self) -> u64;

    /// Makes the blob durable at its final place and returns its CID and size.
    fn finish(self) -> impl Future<Output = Result<StoredBlob, BlobError>> + Send;
}

/// Where blob bytes live: on disk ([`DiskBlobStore`]) or, later, in S3-compatible storage.
pub trait BlobStore: Send + Sync + 'static {
    type Upload: BlobUpload;

    /// Starts an upload of a blob of `did`; its CID is known at `finish`.
    fn begin_upload(
        &self,
        did: &str,
    ) -> impl Future<Output = Result<Self::Upload, BlobError>> + Send;

    /// Opens a stored blob; `None` if there is none.
    fn open(
        &self,
        did: &str,
        cid: &Cid,
    ) -> impl Future<Output = Result<Option<BlobReader>, BlobError>> + Send;

    /// Deletes a blob's bytes, durably; a blob that is not there is not an error.
    fn delete(&self, did: &str, cid: &Cid) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// Deletes every blob of an account.
    fn delete_account(&self, did: &str) -> impl Future<Output = Result<(), BlobError>> + Send;

    /// Stores `bytes` in one go.
    fn put_bytes(
        &self,
        did: &str,
        bytes: &[u8],
    ) -> impl Future<Output = Result<StoredBlob, BlobError>> + Send {
        async move {
            let mut upload = self.begin_upload(did).await?;
            upload.write(bytes).await?;
            upload.finish().await
        }
    }

    /// Reads a whole blob.
    fn get_bytes(
        &self,
        did: &str,
        cid: &Cid,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, BlobError>> + Send {
        async move {
            let Some(mut blob) = self.open(did, cid).await? else {
                return Ok(None);
            };
            let mut out = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
            blob.reader.read_to_end(&mut out).await?;
            Ok(Some(out))
        }
    }
}

/// Temporary files older than this are leftovers of a crash and are removed at start.
const STALE_UPLOAD: Duration = Duration::from_secs(24 * 60 * 60);

/// Blobs as files: `<root>/<did>/<cid>`, uploads in progress in `<root>/.tmp/`.
///
/// One process per root. Every file and directory change is fsynced (file, then the
/// directory entry) before the call that made it returns.
#[derive(Debug)]
pub struct DiskBlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl DiskBlobStore {
    /// Opens (creating) the blob directory, and removes uploads that a crash left behind.
    pub async fn open(root: impl Into<PathBuf>) -> Result<DiskBlobStore, BlobError> {
        let root = root.into();
        let tmp = root.join(".tmp");
        tokio::fs::create_dir_all(&tmp).await?;
        sync_dir(&root).await?;
        let mut entries = tokio::fs::read_dir(&tmp).await?;
        while let Some(entry) = entries.next_entry().await? {
            let stale = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > STALE_UPLOAD);
            if stale {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        Ok(DiskBlobStore { root, tmp })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a blob (whether or not it exists).
    pub fn blob_path(&self, did: &str, cid: &Cid) -> PathBuf {
        self.account_dir(did).join(cid.to_string())
    }

    /// The account's directory: the DID itself when it is a plain, short DID (what an
    /// operator expects to see), otherwise a name derived from its hash. DIDs start with
    /// `did:`, derived names with `did-`, so the two never collide.
    fn account_dir(&self, did: &str) -> PathBuf {
        let plain = did.starts_with("did:")
            && did.len() <= 200
            && did.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'-' | b'_' | b'%')
            });
        if plain {
            self.root.join(did)
        } else {
            let digest = Sha256::digest(did.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            self.root.join(format!("did-sha256-{hex}"))
        }
    }
}

impl BlobStore for DiskBlobStore {
    type Upload = DiskUpload;

    async fn begin_upload(&self, did: &str) -> Result<DiskUpload, BlobError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp_path = self.tmp.join(name);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp_path)
            .await?;
        Ok(DiskUpload {
            file: Some(file),
            tmp_path,
            root: self.root.clone(),
            dir: self.account_dir(did),
            hasher: CidHasher::new(),
        })
    }

    async fn open(&self, did: &str, cid: &Cid) -> Result<Option<BlobReader>, BlobError> {
        let file = match tokio::fs::File::open(self.blob_path(did, cid)).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        Ok(Some(BlobReader {
            size,
            reader: Box::pin(file),
        }))
    }

    async fn delete(&self, did: &str, cid: &Cid) -> Result<(), BlobError> {
        let dir = self.account_dir(did);
        match tokio::fs::remove_file(dir.join(cid.to_string())).await {
            Ok(()) => sync_dir(&dir).await,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_account(&self, did: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_dir_all(self.account_dir(did)).await {
            Ok(()) => sync_dir(&self.root).await,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// An upload into a temporary file of a [`DiskBlobStore`].
#[derive(Debug)]
pub struct DiskUpload {
    /// `None` once finished.
    file: Option<tokio::fs::File>,
    tmp_path: PathBuf,
    root: PathBuf,
    dir: PathBuf,
    hasher: CidHasher,
}

impl BlobUpload for DiskUpload {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| BlobError::Backend("the upload is finished".into()))?;
        file.write_all(chunk).await?;
        self.hasher.update(chunk);
        Ok(())
    }

    fn size(&self) -> u64 {
        self.hasher.size()
    }

    async fn finish(mut self) -> Result<StoredBlob, BlobError> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| BlobError::Backend("the upload is finished".into()))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let stored = std::mem::take(&mut self.hasher).finish();
        if tokio::fs::metadata(&self.dir).await.is_err() {
            tokio::fs::create_dir_all(&self.dir).await?;
            sync_dir(&self.root).await?;
        }
        // Same bytes under the same name: replacing a file that is already there is harmless.
        tokio::fs::rename(&self.tmp_path, self.dir.join(stored.cid.to_string())).await?;
        sync_dir(&self.dir).await?;
        // Renamed away: nothing for Drop to clean up.
        self.tmp_path = PathBuf::new();
        Ok(stored)
    }
}

impl Drop for DiskUpload {
    fn drop(&mut self) {
        if !self.tmp_path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp_path);
        }
    }
}

/// Makes a directory's entries (created, renamed, removed files) durable.
async fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(|e| BlobError::Backend(format!("directory sync task failed: {e}")))??;
    Ok(())
}
