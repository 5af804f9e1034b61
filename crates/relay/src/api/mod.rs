//! The XRPC handlers: one file per lexicon namespace, each implementing that namespace's
//! generated trait on [`AppState`](crate::app::AppState). Methods a file does not override answer
//! 501 `MethodNotImplemented`.

pub mod actor;
pub mod admin;
pub mod email;
pub mod identity;
pub mod repo;
pub mod server;
pub mod sync;

use crate::app::{AppState, Ctx};

impl xrpc::com::atproto::label::ComAtprotoLabelHandler<Ctx> for AppState {}
impl xrpc::com::atproto::lexicon::ComAtprotoLexiconHandler<Ctx> for AppState {}
impl xrpc::com::atproto::moderation::ComAtprotoModerationHandler<Ctx> for AppState {}
impl xrpc::com::atproto::temp::ComAtprotoTempHandler<Ctx> for AppState {}
