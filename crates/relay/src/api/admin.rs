//! `com::atproto::admin` handlers.

use crate::app::{AppState, Ctx};

impl xrpc::com::atproto::admin::ComAtprotoAdminHandler<Ctx> for AppState {}
