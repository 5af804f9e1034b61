//! `relay serve`: configuration, state, background tasks, and the HTTP server.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use crate::app::AppState;
use crate::config::{Config, ServeArgs};
use crate::repos::RepoManager;
use crate::secrets::Secrets;

pub fn run(args: ServeArgs) -> ExitCode {
    crate::cli::run(crate::cli::Runtime::MultiThread, serve(args))
}

/// Builds the shared state from the arguments: opens (or creates) the data directory, the
/// secrets, the database and the blob store.
pub async fn build_state(args: &ServeArgs) -> Result<Arc<AppState>, String> {
    let config = Config::from_args(args)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create the data directory {}: {e} (set PDS_DATA_DIRECTORY or --data-directory)",
            config.data_dir.display()
        )
    })?;
    // The database holds password hashes and sealed keys: only the relay's user may read it.
    // A directory the relay does not own keeps its mode, with a warning (the operator chose it).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) =
            std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))
        {
            eprintln!(
                "warning: cannot restrict the data directory {} to its owner ({e}); make it mode 0700",
                config.data_dir.display()
            );
        }
    }
    let secrets = Secrets::load_or_create(&config.data_dir, args)?;
    let db_path = config.data_dir.join("relay.sqlite");
    let store = store::sqlite::SqliteStore::open(&db_path)
        .await
        .map_err(|e| format!("cannot open the database {}: {e}", db_path.display()))?;
    let blobs = Arc::new(
        store::blobstore::DiskBlobStore::open(&config.blob_dir)
            .await
            .map_err(|e| {
                format!(
                    "cannot open the blob store {}: {e}",
                    config.blob_dir.display()
                )
            })?,
    );
    let repos = RepoManager::new(store.clone(), secrets.master_key.clone());
    let plc = crate::plc::PlcClient::new(&config.plc_url, config.dev_mode)?;
    let handle_resolver =
        crate::resolver::HandleResolver::new(config.dns_servers.clone(), config.dev_mode)?;
    let rate_limits = crate::ratelimit::RateLimits::from_config(&config);
    let oauth = crate::oauth::OAuthState::new(config.dev_mode);
    let mailer = crate::mail::Mailer::from_config(&config)?;
    let proxy = crate::proxy::Proxy::new(&config.proxy)?;
    Ok(Arc::new(AppState {
        oauth,
        mailer,
        rate_limits,
        config,
        secrets,
        store,
        blobs,
        repos,
        lexicons: crate::lexicons::embedded_catalog()
            .map_err(|e| format!("the embedded lexicons do not load: {e}"))?,
        plc,
        handle_resolver,
        did_docs: crate::did_docs::DidDocs::new(),
        service_auth: crate::service_auth::ServiceAuth::new(),
        proxy,
    }))
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let started = std::time::Instant::now();
    let state = build_state(&args).await?;
    let addr = SocketAddr::new(state.config.bind, state.config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (choose another --port or PDS_PORT)"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    if state.secrets.admin_password_generated {
        println!(
            "admin password (generated, kept in {}): {}",
            state
                .config
                .data_dir
                .join("secrets/admin_password")
                .display(),
            state.secrets.admin_password
        );
    }
    println!(
        "relay {} listening on {} (public URL {}, data in {}, ready in {} ms)",
        env!("CARGO_PKG_VERSION"),
        local,
        state.config.public_url,
        state.config.data_dir.display(),
        started.elapsed().as_millis()
    );
    println!(
        "email: {} (check with `relay email test ADDRESS`)",
        state.mailer.describe()
    );
    crate::crawlers::spawn(state.clone())?;
    crate::blobs::spawn_gc(state.clone());
    crate::firehose::spawn_pruner(state.clone());
    crate::oauth::spawn_pruner(state.clone());
    let app = crate::http::router(state.clone());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| e.to_string())
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
