//! Where blocks live: an async key-value store from [`Cid`] to bytes.
//!
//! The repo engine never talks to a database. It reads and writes blocks through
//! [`BlockStore`]; the relay implements it over SQLite or PostgreSQL, the desktop over its own
//! file, and tests use [`MemoryBlockStore`].
//!
//! # Why two traits
//!
//! [`BlockStore`] uses return-position `impl Future + Send` (what `async fn` in a trait desugars
//! to, with the `Send` bound spelled out), so generic code such as `Repo<S: BlockStore>` is
//! zero-cost and its futures are `Send`, which an axum handler needs. Such a trait cannot be a
//! trait object, so [`DynBlockStore`] is its object-safe twin with boxed futures: every
//! `BlockStore` is a `DynBlockStore` through a blanket impl, and `Arc<dyn DynBlockStore>` is a
//! `BlockStore` again. A server picks its backend at start-up by config with
//! `Arc<dyn DynBlockStore>` and pays one allocation per call; everything else stays static.
//!
//! Stores trust their callers: `put` does not re-hash. Everything the engine writes was hashed
//! by the engine; everything read from a CAR was hashed by [`crate::car`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use data::Cid;

/// Blocks held in memory, keyed by CID.
pub type BlockMap = HashMap<Cid, Vec<u8>>;

/// A failure of the storage backend (I/O, database, pool). The engine passes it through.
#[derive(Debug, thiserror::Error)]
#[error("block store: {0}")]
pub struct StoreError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps any backend error.
    pub fn new(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError(err.into())
    }
}

/// Async access to blocks by CID.
///
/// Implementations must be cheap to share (`&self` everywhere; use interior mutability or a
/// pool) and return `Send` futures.
pub trait BlockStore: Send + Sync {
    /// The block's bytes, or `None` if the store does not have it.
    fn get(&self, cid: &Cid) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// Several blocks at once, answers in the order asked. Backends should override this with
    /// one round trip; the engine asks for all the blocks one tree level needs in one call.
    fn get_many(
        &self,
        cids: &[Cid],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send {
        async move {
            let mut out = Vec::with_capacity(cids.len());
            for cid in cids {
                out.push(self.get(cid).await?);
            }
            Ok(out)
        }
    }

    /// Whether the store holds the block.
    fn has(&self, cid: &Cid) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores a block. Storing a block twice is not an error.
    fn put(&self, cid: Cid, bytes: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores several blocks; a backend should do it in one transaction.
    fn put_many(
        &self,
        blocks: Vec<(Cid, Vec<u8>)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            for (cid, bytes) in blocks {
                self.put(cid, bytes).await?;
            }
            Ok(())
        }
    }

    /// Drops blocks (those a commit made unreachable). Unknown CIDs are ignored.
    fn remove_many(&self, cids: &[Cid]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A boxed, `Send` future, as [`DynBlockStore`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`BlockStore`], for choosing a backend at run time.
pub trait DynBlockStore: Send + Sync {
    fn get_dyn<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;
    fn get_many_dyn<'a>(
        &'a self,
        cids: &'a [Cid],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, StoreError>>;
    fn has_dyn<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, Result<bool, StoreError>>;
    fn put_dyn(&self, cid: Cid, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>>;
    fn put_many_dyn(&self, blocks: Vec<(Cid, Vec<u8>)>) -> BoxFuture<'_, Result<(), StoreError>>;
    fn remove_many_dyn<'a>(&'a self, cids: &'a [Cid]) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl<T: BlockStore> DynBlockStore for T {
    fn get_dyn<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(self.get(cid))
    }
    fn get_many_dyn<'a>(
        &'a self,
        cids: &'a [Cid],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, StoreError>> {
        Box::pin(self.get_many(cids))
    }
    fn has_dyn<'a>(&'a self, cid: &'a Cid) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(self.has(cid))
    }
    fn put_dyn(&self, cid: Cid, bytes: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.put(cid, bytes))
    }
    fn put_many_dyn(&self, blocks: Vec<(Cid, Vec<u8>)>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.put_many(blocks))
    }
    fn remove_many_dyn<'a>(&'a self, cids: &'a [Cid]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.remove_many(cids))
    }
}

impl BlockStore for Arc<dyn DynBlockStore> {
    async fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get_dyn(cid).await
    }
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many_dyn(cids).await
    }
    async fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        (**self).has_dyn(cid).await
    }
    async fn put(&self, cid: Cid, bytes: Vec<u8>) -> Result<(), StoreError> {
        (**self).put_dyn(cid, bytes).await
    }
    async fn put_many(&self, blocks: Vec<(Cid, Vec<u8>)>) -> Result<(), StoreError> {
        (**self).put_many_dyn(blocks).await
    }
    async fn remove_many(&self, cids: &[Cid]) -> Result<(), StoreError> {
        (**self).remove_many_dyn(cids).await
    }
}

impl<T: BlockStore> BlockStore for &T {
    async fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(cid).await
    }
    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (**self).get_many(cids).await
    }
    async fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        (**self).has(cid).await
    }
    async fn put(&self, cid: Cid, bytes: Vec<u8>) -> Result<(), StoreError> {
        (**self).put(cid, bytes).await
    }
    async fn put_many(&self, blocks: Vec<(Cid, Vec<u8>)>) -> Result<(), StoreError> {
        (**self).put_many(blocks).await
    }
    async fn remove_many(&self, cids: &[Cid]) -> Result<(), StoreError> {
        (**self).remove_many(cids).await
    }
}

/// A [`BlockStore`] in memory, for tests, benchmarks and short-lived trees.
#[derive(Debug, Default)]
pub struct MemoryBlockStore {
    blocks: RwLock<BlockMap>,
}

impl MemoryBlockStore {
    pub fn new() -> MemoryBlockStore {
        MemoryBlockStore::default()
    }

    /// A store holding `blocks`.
    pub fn from_blocks(blocks: impl IntoIterator<Item = (Cid, Vec<u8>)>) -> MemoryBlockStore {
        MemoryBlockStore {
            blocks: RwLock::new(blocks.into_iter().collect()),
        }
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Every CID held, in no particular order.
    pub fn cids(&self) -> Vec<Cid> {
        self.read().keys().copied().collect()
    }

    /// The bytes of a block, without going through a future.
    pub fn get_sync(&self, cid: &Cid) -> Option<Vec<u8>> {
        self.read().get(cid).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BlockMap> {
        // A panic while holding the lock cannot leave the map half-written (every write is one
        // insert or remove), so a poisoned lock is still consistent.
        self.blocks.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BlockMap> {
        self.blocks.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl BlockStore for MemoryBlockStore {
    async fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read().get(cid).cloned())
    }

    async fn get_many(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let map = self.read();
        Ok(cids.iter().map(|c| map.get(c).cloned()).collect())
    }

    async fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        Ok(self.read().contains_key(cid))
    }

    async fn put(&self, cid: Cid, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write().insert(cid, bytes);
        Ok(())
    }

    async fn put_many(&self, blocks: Vec<(Cid, Vec<u8>)>) -> Result<(), StoreError> {
        let mut map = self.write();
        for (cid, bytes) in blocks {
            map.insert(cid, bytes);
        }
        Ok(())
    }

    async fn remove_many(&self, cids: &[Cid]) -> Result<(), StoreError> {
        let mut map = self.write();
        for cid in cids {
            map.remove(cid);
        }
        Ok(())
    }
}

/// A read-only [`BlockStore`] over a borrowed [`BlockMap`] (blocks of a CAR being checked).
pub(crate) struct MapStore<'a>(pub(crate) &'a BlockMap);

impl BlockStore for MapStore<'_> {
    async fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(cid).cloned())
    }

    async fn has(&self, cid: &Cid) -> Result<bool, StoreError> {
        Ok(self.0.contains_key(cid))
    }

    async fn put(&self, _: Cid, _: Vec<u8>) -> Result<(), StoreError> {
        Err(StoreError::new("this block map is read-only"))
    }

    async fn remove_many(&self, _: &[Cid]) -> Result<(), StoreError> {
        Err(StoreError::new("this block map is read-only"))
    }
}

/// Runs a future that never waits on anything outside itself (one whose every await is on a
/// [`MemoryBlockStore`] or plain computation) to completion on the current thread.
///
/// The crate's synchronous entry points (inversion, proofs, import) run the async tree code over
/// in-memory block maps with it. Returns `None` if the future ever reports `Pending`, which
/// cannot happen for such futures; callers turn that into an internal error rather than hang.
pub(crate) fn run_ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_round_trip() {
        let store = MemoryBlockStore::new();
        let bytes = data::cbor::encode(&data::Value::Int(7));
        let cid = Cid::for_dag_cbor(&bytes);
        run_ready(async {
            assert!(!store.has(&cid).await.unwrap());
            store.put(cid, bytes.clone()).await.unwrap();
            assert!(store.has(&cid).await.unwrap());
            assert_eq!(store.get(&cid).await.unwrap(), Some(bytes.clone()));
            let other = Cid::for_dag_cbor(b"x");
            assert_eq!(
                store.get_many(&[other, cid]).await.unwrap(),
                vec![None, Some(bytes.clone())]
            );
            store.remove_many(&[cid]).await.unwrap();
            assert!(!store.has(&cid).await.unwrap());
        })
        .unwrap();
    }

    #[test]
    fn dyn_store_is_a_block_store() {
        let store: Arc<dyn DynBlockStore> = Arc::new(MemoryBlockStore::new());
        let bytes = data::cbor::encode(&data::Value::Int(8));
        let cid = Cid::for_dag_cbor(&bytes);
        run_ready(async {
            store.put_many(vec![(cid, bytes.clone())]).await.unwrap();
            assert_eq!(store.get(&cid).await.unwrap(), Some(bytes));
        })
        .unwrap();
    }

    fn assert_send<T: Send>(_: T) {}

    #[test]
    fn futures_are_send() {
        let store = MemoryBlockStore::new();
        let cid = Cid::for_dag_cbor(b"y");
        assert_send(store.get(&cid));
        assert_send(store.get_many(&[cid]));
        let dyn_store: Arc<dyn DynBlockStore> = Arc::new(MemoryBlockStore::new());
        assert_send(dyn_store.get(&cid));
    }
}
