//! The relay as a library: the server's parts, so the `relay` binary (src/main.rs) and the
//! integration tests (tests/) start the very same server. Declare new modules here, not in
//! main.rs.

pub mod account_cmd;
pub mod admin_cmd;
pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod cli;
pub mod config;
pub mod crawlers;
pub mod custody;
pub mod did_docs;
pub mod email_cmd;
pub mod error;
pub mod firehose;
pub mod handles;
pub mod http;
pub mod lexicons;
pub mod mail;
pub mod migration;
pub mod oauth;
pub mod plc;
pub mod proxy;
pub mod ratelimit;
pub mod records;
pub mod repo_cmd;
pub mod repos;
pub mod resolver;
pub mod secrets;
pub mod serve;
pub mod service_auth;
pub mod takedown;
pub mod v1;
