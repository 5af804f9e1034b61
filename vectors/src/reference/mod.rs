//! The cross-check against the reference implementation (`@atproto/repo`, `@atproto/crypto`)
//! and the benchmark's Rust side. The Node half lives in `vectors/reference/`; both halves meet
//! in files: MST-root vectors and full-repo CARs with manifests (see `vectors/reference/README.md`).
//!
//! - [`mst_vectors`]: replay the reference's MST histories on our tree, root by root.
//! - [`ref_cars`]: verify CARs and record proofs the reference wrote: signature, records, tree
//!   shape, import and re-export, and that we rebuild the same commit.
//! - [`write_cars`]: write CARs, record proofs and signed commits with our engine, for the
//!   reference to verify.
//! - [`engine`]: the repo engine as these checks drive it.
//! - [`gen`]: a seeded PRNG and realistic keys and records for the repos we write.
//! - [`manifest`], [`tally`]: the exchanged manifest format, and the per-group counts.

pub mod engine;
pub mod gen;
pub mod manifest;
pub mod mst_vectors;
pub mod ref_cars;
pub mod tally;
pub mod write_cars;

pub use manifest::{Manifest, RecordEntry};
pub use tally::Tally;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread, parking while it waits. The engine is async
/// because its block store may be a database; over a [`repo::MemoryBlockStore`] nothing ever
/// waits, so this is all the executor the cross-check and the benchmark need.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => std::thread::park(),
        }
    }
}
