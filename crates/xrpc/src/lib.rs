//! XRPC for the relay: what each lexicon method looks like on the wire, and the
//! seam between the HTTP server and the code that serves a method.
//!
//! - [`ROUTES`] / [`route`]: every `com.atproto` query, procedure and
//!   subscription (plus `app.bsky.actor.getPreferences`/`putPreferences`) with
//!   its HTTP method, path, encodings, declared errors and what its description
//!   says about auth. A known NSID the relay does not implement answers 501; an
//!   unknown one is proxied or answers `XRPCNotSupported`.
//! - One handler trait per namespace ([`com::atproto::repo::ComAtprotoRepoHandler`],
//!   ...) with one method per query/procedure. Each method takes the server's
//!   request context, the typed [`params`] and the input body, and returns
//!   the output or an [`XrpcError`]. Defaults answer 501.
//! - [`dispatch`]: parses a request for its method and calls the handler.
//! - [`XrpcError`]: the one error type, with the HTTP status it maps to.
//!
//! Everything under `generated/` is written by `cargo run -p codegen` from the
//! pinned `lexicons/`; the rest is hand-written runtime.
//!
//! ```
//! use xrpc::com::atproto::sync::{get_latest_commit, ComAtprotoSyncHandler};
//! use xrpc::{XrpcError, XrpcRequest};
//!
//! struct Relay;
//! struct Ctx;
//!
//! impl ComAtprotoSyncHandler<Ctx> for Relay {
//!     async fn get_latest_commit(
//!         &self,
//!         _ctx: Ctx,
//!         params: get_latest_commit::Params,
//!     ) -> Result<get_latest_commit::Output, XrpcError> {
//!         Err(get_latest_commit::Error::RepoNotFound.with_message(params.did))
//!     }
//! }
//! # impl xrpc::com::atproto::admin::ComAtprotoAdminHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::identity::ComAtprotoIdentityHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::label::ComAtprotoLabelHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::lexicon::ComAtprotoLexiconHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::moderation::ComAtprotoModerationHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::repo::ComAtprotoRepoHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::server::ComAtprotoServerHandler<Ctx> for Relay {}
//! # impl xrpc::com::atproto::temp::ComAtprotoTempHandler<Ctx> for Relay {}
//! # impl xrpc::app::bsky::actor::AppBskyActorHandler<Ctx> for Relay {}
//!
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     let mut f = std::pin::pin!(f);
//! #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! #     loop {
//! #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
//! #     }
//! # }
//! let request = XrpcRequest {
//!     nsid: "com.atproto.sync.getLatestCommit",
//!     query: "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
//!     content_type: None,
//!     body: Vec::new(),
//! };
//! let err = block_on(xrpc::dispatch(&Relay, Ctx, request)).unwrap_err();
//! assert_eq!((err.status, &*err.error), (400, "RepoNotFound"));
//!
//! // Known but not implemented: 501.
//! let request = XrpcRequest { nsid: "com.atproto.sync.listRepos", query: "", content_type: None, body: Vec::new() };
//! let err = block_on(xrpc::dispatch(&Relay, Ctx, request)).unwrap_err();
//! assert_eq!(err.status, 501);
//! ```

mod body;
mod error;
mod generated;
pub mod params;
mod route;

pub use body::{RawBody, XrpcRequest, XrpcResponse, JSON};
pub use error::XrpcError;
pub use generated::{app, com, dispatch, XrpcHandlers, ROUTES};
pub use route::{route, AuthHint, HttpMethod, Kind, Route};

/// The `atrium-api` crate, whose `com.atproto` types are the JSON bodies here.
pub use atrium_api;
