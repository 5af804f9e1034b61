//! `relay serve`: the HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (the reference PDS's variable is honoured).
    #[arg(long, env = "PDS_PORT", default_value_t = 2583)]
    port: u16,
    /// Public hostname of this server.
    #[arg(long, env = "PDS_HOSTNAME", default_value = "localhost")]
    hostname: String,
    /// Where state lives.
    #[arg(long, env = "PDS_DATA_DIRECTORY", default_value = "./data")]
    data_dir: PathBuf,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    std::fs::create_dir_all(&args.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e} (set PDS_DATA_DIRECTORY or --data-dir)",
            args.data_dir.display()
        )
    })?;
    let app = router();
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (choose another --port or PDS_PORT)"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "relay listening on http://{}:{}",
        args.hostname,
        local.port()
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

pub fn router() -> Router {
    Router::new()
        .route("/xrpc/_health", get(health))
        .route("/xrpc/{nsid}", axum::routing::any(not_implemented))
        .fallback(not_found)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

async fn not_implemented(Path(nsid): Path<String>) -> Response {
    xrpc_error(
        StatusCode::NOT_IMPLEMENTED,
        "MethodNotImplemented",
        &format!("Method not implemented: {nsid}"),
    )
}

async fn not_found() -> Response {
    xrpc_error(StatusCode::NOT_FOUND, "NotFound", "Not found")
}

fn xrpc_error(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
