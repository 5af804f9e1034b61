//! The AT Protocol repository engine: the Merkle Search Tree, signed commits, commit diffs
//! (CAR slices), operation inversion, record proofs, and full-repo CAR export and import.
//!
//! It is pure: no database and no network. Blocks live behind the async [`BlockStore`] trait
//! (SQLite and PostgreSQL in the relay, a file on the desktop, [`MemoryBlockStore`] in tests).
//! A write reads and rewrites only the O(log n) tree nodes on its keys' paths, and finds the
//! blocks it adds and drops from those nodes alone.
//!
//! | idea | where |
//! |---|---|
//! | block storage | [`BlockStore`], [`DynBlockStore`], [`MemoryBlockStore`] |
//! | the tree | [`mst::Mst`], node codec [`mst::NodeData`], [`mst::diff`] |
//! | commits v3 | [`UnsignedCommit`], [`SignedCommit`] |
//! | one account's repo, the write path | [`Repo`], [`WriteOp`], [`CommitResult`], [`PreparedCommit`] |
//! | checking a `#commit` event | [`verify_commit_diff`], [`invert_ops`] |
//! | record proofs (`sync.getRecord`) | [`record_proof`], [`verify_record_proof`] |
//! | full export / import (`sync.getRepo`, `importRepo`) | [`export_car`], [`write_car`], [`import_car`] |
//! | CAR v1 | [`car`] |
//! | interop vectors | [`interop`] |
//!
//! ```
//! use data::{json, Cid};
//! use repo::{
//!     import_car, verify_commit_diff, verify_record_proof, Action, ImportOptions,
//!     MemoryBlockStore, RecordProof, Repo, WriteOp,
//! };
//! use syntax::TidGenerator;
//!
//! # pollster::block_on(async {
//! let key = crypto::Keypair::generate(crypto::Algorithm::P256);
//! let public = key.public_key();
//! let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
//! let tids = TidGenerator::new();
//!
//! // A new repo; the first write makes the first commit.
//! let mut repo = Repo::create(MemoryBlockStore::new(), did)?;
//! let post = json::from_json(&serde_json::json!({
//!     "$type": "app.bsky.feed.post",
//!     "text": "hello",
//!     "createdAt": "2026-11-25T00:00:00.000Z",
//! }))
//! .unwrap();
//! let rkey = tids.next().unwrap().to_string();
//! let first = repo
//!     .apply_writes(&[WriteOp::create("app.bsky.feed.post", &rkey, &post)], tids.next().unwrap(), &key)
//!     .await?;
//! first.persist(repo.store()).await?;
//!
//! // Delete it again; the #commit event's blocks and ops check out by inversion.
//! let rev = tids.next_above(repo.rev().as_ref()).unwrap();
//! let second = repo
//!     .apply_writes(&[WriteOp::delete("app.bsky.feed.post", &rkey)], rev, &key)
//!     .await?;
//! second.persist(repo.store()).await?;
//! assert_eq!(second.ops[0].action, Action::Delete);
//! assert_eq!(second.ops[0].prev, first.ops[0].cid);
//! let prev_data = second.prev_data.unwrap();
//! verify_commit_diff(&second.diff_car(), &second.ops, prev_data, Some(did), Some(&public))?;
//!
//! // A proof that the record is gone, checkable offline with the account's key.
//! let proof = repo.record_proof("app.bsky.feed.post", &rkey).await?;
//! let shown = verify_record_proof(&proof, did, &public, "app.bsky.feed.post", &rkey)?;
//! assert_eq!(shown, RecordProof::Absent);
//!
//! // A full export imports back, checked end to end.
//! let car = repo.export_car().await?;
//! let imported = import_car(&car, &ImportOptions { did: Some(did), key: Some(&public), ..Default::default() })?;
//! assert_eq!(imported.commit_cid, repo.head().unwrap());
//! assert!(imported.records.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

pub mod blockstore;
pub mod car;
pub mod commit;
pub mod diff;
pub mod export;
pub mod import;
pub mod interop;
pub mod inversion;
pub mod mst;
pub mod proof;
pub mod repo;

pub use blockstore::{BlockMap, BlockStore, DynBlockStore, MemoryBlockStore, StoreError};
pub use commit::{CommitError, SignedCommit, UnsignedCommit};
pub use diff::{Action, CommitResult, PreparedCommit, RecordOp};
pub use export::{export_car, write_car};
pub use import::{import_car, ImportError, ImportOptions, VerifiedRepo};
pub use inversion::{invert_ops, verify_commit_diff, InversionError, VerifiedCommit};
pub use proof::{record_proof, verify_record_proof, ProofError, RecordProof};
pub use repo::{CommitLimits, Repo, RepoError, WriteOp};
