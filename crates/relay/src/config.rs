//! Configuration: flags, then `PDS_*` environment variables (the reference PDS's names and
//! meanings, so an existing `pds.env` works), then `relay.toml`, then defaults.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// `relay serve` flags. Every flag also reads its environment variable.
#[derive(clap::Args, Clone, Debug)]
pub struct ServeArgs {
    /// A TOML file whose keys are the environment variables' names without `PDS_`, in lower case
    /// (`hostname = "pds.example.com"`); values there yield to the environment and to flags.
    #[arg(long, env = "RELAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Public hostname of this server.
    #[arg(long, env = "PDS_HOSTNAME", default_value = "localhost")]
    pub hostname: String,
    /// Port to listen on.
    #[arg(long, env = "PDS_PORT", default_value_t = 2583)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "RELAY_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Development mode: http URLs, loopback PLC and services allowed.
    #[arg(long, env = "PDS_DEV_MODE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub dev_mode: bool,
    /// Where state lives.
    #[arg(long, env = "PDS_DATA_DIRECTORY", default_value = "./data")]
    pub data_directory: PathBuf,
    /// Where blobs live (default: `<data>/blobs`).
    #[arg(long, env = "PDS_BLOBSTORE_DISK_LOCATION")]
    pub blobstore_disk_location: Option<PathBuf>,
    /// Largest blob upload, in bytes.
    #[arg(long, env = "PDS_BLOB_UPLOAD_LIMIT", default_value_t = 5 * 1024 * 1024)]
    pub blob_upload_limit: u64,
    /// The PLC directory.
    #[arg(long, env = "PDS_DID_PLC_URL", default_value = "https://plc.directory")]
    pub did_plc_url: String,
    /// Secret for session JWTs (generated and kept in the data directory when unset).
    #[arg(long, env = "PDS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Secret for DPoP nonces (generated when unset).
    #[arg(long, env = "PDS_DPOP_SECRET", hide_env_values = true)]
    pub dpop_secret: Option<String>,
    /// Admin password (generated and printed on first run when unset).
    #[arg(long, env = "PDS_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The relay's PLC rotation key, K-256, hex (generated when unset).
    #[arg(
        long,
        env = "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX",
        hide_env_values = true
    )]
    pub plc_rotation_key_k256_private_key_hex: Option<String>,
    /// Whether account creation needs an invite code.
    #[arg(long, env = "PDS_INVITE_REQUIRED", default_value_t = true, action = clap::ArgAction::Set)]
    pub invite_required: bool,
    /// Whether rate limits apply.
    #[arg(long, env = "PDS_RATE_LIMITS_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub rate_limits_enabled: bool,
    /// A value of the `x-ratelimit-bypass` header that skips rate limits (trusted tools).
    #[arg(long, env = "PDS_RATE_LIMIT_BYPASS_KEY", hide_env_values = true)]
    pub rate_limit_bypass_key: Option<String>,
    /// Client IPs that skip rate limits, comma-separated.
    #[arg(long, env = "PDS_RATE_LIMIT_BYPASS_IPS", value_delimiter = ',')]
    pub rate_limit_bypass_ips: Vec<String>,
    /// Whether a reverse proxy fronts the relay: then the client IP (for rate limits) is the
    /// last `X-Forwarded-For` entry, else the TCP peer. Keep off unless a proxy sets the header.
    #[arg(long, env = "RELAY_BEHIND_PROXY", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub behind_proxy: bool,
    /// XRPC requests per client IP per 5 minutes.
    #[arg(long, env = "RELAY_RATE_LIMIT_GLOBAL", default_value_t = 3000)]
    pub rate_limit_global: u64,
    /// createSession per identifier and IP per 5 minutes.
    #[arg(long, env = "RELAY_RATE_LIMIT_CREATE_SESSION", default_value_t = 30)]
    pub rate_limit_create_session: u64,
    /// createSession per identifier and IP per day.
    #[arg(
        long,
        env = "RELAY_RATE_LIMIT_CREATE_SESSION_DAY",
        default_value_t = 300
    )]
    pub rate_limit_create_session_day: u64,
    /// createAccount per IP per 5 minutes.
    #[arg(long, env = "RELAY_RATE_LIMIT_CREATE_ACCOUNT", default_value_t = 100)]
    pub rate_limit_create_account: u64,
    /// updateHandle per account per 5 minutes.
    #[arg(long, env = "RELAY_RATE_LIMIT_UPDATE_HANDLE", default_value_t = 10)]
    pub rate_limit_update_handle: u64,
    /// updateHandle per account per day.
    #[arg(long, env = "RELAY_RATE_LIMIT_UPDATE_HANDLE_DAY", default_value_t = 50)]
    pub rate_limit_update_handle_day: u64,
    /// uploadBlob per account per day.
    #[arg(long, env = "RELAY_RATE_LIMIT_UPLOAD_BLOB_DAY", default_value_t = 1000)]
    pub rate_limit_upload_blob_day: u64,
    /// Repo write points (create 3, update 2, delete 1) per account per hour.
    #[arg(
        long,
        env = "RELAY_RATE_LIMIT_WRITE_POINTS_HOUR",
        default_value_t = 5000
    )]
    pub rate_limit_write_points_hour: u64,
    /// Repo write points per account per day.
    #[arg(
        long,
        env = "RELAY_RATE_LIMIT_WRITE_POINTS_DAY",
        default_value_t = 35000
    )]
    pub rate_limit_write_points_day: u64,
    /// Handle domains served here, comma-separated (default `.<hostname>`, or `.test` for localhost).
    #[arg(long, env = "PDS_SERVICE_HANDLE_DOMAINS", value_delimiter = ',')]
    pub service_handle_domains: Vec<String>,
    /// Relays (BGS hosts) to ask to crawl this server, comma-separated.
    #[arg(long, env = "PDS_CRAWLERS", value_delimiter = ',')]
    pub crawlers: Vec<String>,
    /// AppView to proxy app.bsky.* to.
    #[arg(long, env = "PDS_BSKY_APP_VIEW_URL")]
    pub bsky_app_view_url: Option<String>,
    /// The AppView's DID.
    #[arg(long, env = "PDS_BSKY_APP_VIEW_DID")]
    pub bsky_app_view_did: Option<String>,
    /// Moderation service (Ozone) that `tools.ozone.*` calls go to without `atproto-proxy`.
    #[arg(long, env = "PDS_MOD_SERVICE_URL")]
    pub mod_service_url: Option<String>,
    /// The moderation service's DID.
    #[arg(long, env = "PDS_MOD_SERVICE_DID")]
    pub mod_service_did: Option<String>,
    /// Service that `com.atproto.moderation.createReport` goes to (default: the mod service).
    #[arg(long, env = "PDS_REPORT_SERVICE_URL")]
    pub report_service_url: Option<String>,
    /// The report service's DID.
    #[arg(long, env = "PDS_REPORT_SERVICE_DID")]
    pub report_service_did: Option<String>,
    /// Let proxied calls reach loopback/private addresses and plain http (default: dev mode).
    #[arg(long, env = "PDS_DISABLE_SSRF_PROTECTION", action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub disable_ssrf_protection: Option<bool>,
    /// How long a proxied call may wait for the upstream's response headers, in milliseconds.
    #[arg(long, env = "PDS_PROXY_HEADERS_TIMEOUT", default_value_t = 10_000)]
    pub proxy_headers_timeout: u64,
    /// How long a proxied response body may stall between two chunks, in milliseconds.
    #[arg(long, env = "PDS_PROXY_BODY_TIMEOUT", default_value_t = 30_000)]
    pub proxy_body_timeout: u64,
    /// Largest proxied response body, in bytes.
    #[arg(long, env = "PDS_PROXY_MAX_RESPONSE_SIZE", default_value_t = 10 * 1024 * 1024)]
    pub proxy_max_response_size: u64,
    /// SMTP URL for outgoing mail.
    #[arg(long, env = "PDS_EMAIL_SMTP_URL", hide_env_values = true)]
    pub email_smtp_url: Option<String>,
    /// From address for outgoing mail.
    #[arg(long, env = "PDS_EMAIL_FROM_ADDRESS")]
    pub email_from_address: Option<String>,
    /// Privacy policy URL, advertised by describeServer.
    #[arg(long, env = "PDS_PRIVACY_POLICY_URL")]
    pub privacy_policy_url: Option<String>,
    /// Terms of service URL, advertised by describeServer.
    #[arg(long, env = "PDS_TERMS_OF_SERVICE_URL")]
    pub terms_of_service_url: Option<String>,
    /// Contact address, advertised by describeServer.
    #[arg(long, env = "PDS_CONTACT_EMAIL_ADDRESS")]
    pub contact_email_address: Option<String>,
    /// Firehose frames queued per subscriber before it is dropped as too slow.
    #[arg(long, env = "PDS_MAX_SUBSCRIPTION_BUFFER", default_value_t = 500)]
    pub max_subscription_buffer: usize,
    /// How far back a firehose cursor may reach, in milliseconds (default 72 hours).
    #[arg(long, env = "PDS_REPO_BACKFILL_LIMIT_MS", default_value_t = 72 * 60 * 60 * 1000)]
    pub repo_backfill_limit_ms: u64,
    /// DNS servers for handle resolution, comma-separated (`10.0.0.2`, `127.0.0.1:5353`);
    /// default: those of /etc/resolv.conf.
    #[arg(long, env = "RELAY_DNS_SERVERS", value_delimiter = ',')]
    pub dns_servers: Vec<String>,
}

/// The resolved configuration the server runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub hostname: String,
    pub port: u16,
    pub bind: IpAddr,
    pub dev_mode: bool,
    /// `https://<hostname>`, or `http://localhost:<port>` in dev mode on localhost.
    pub public_url: String,
    /// `did:web:<hostname>`.
    pub service_did: String,
    pub data_dir: PathBuf,
    pub blob_dir: PathBuf,
    pub blob_upload_limit: u64,
    pub plc_url: String,
    pub invite_required: bool,
    pub rate_limits_enabled: bool,
    pub rate_limit_bypass_key: Option<String>,
    pub rate_limit_bypass_ips: Vec<IpAddr>,
    pub behind_proxy: bool,
    pub rate_limit_numbers: RateLimitNumbers,
    /// Each starts with a dot: `.test`, `.pds.example.com`.
    pub handle_domains: Vec<String>,
    pub crawlers: Vec<String>,
    pub appview_url: Option<String>,
    pub appview_did: Option<String>,
    /// Where proxied calls go and the limits they run under (`crate::proxy`).
    pub proxy: crate::proxy::ProxySettings,
    pub email_smtp_url: Option<String>,
    pub email_from_address: Option<String>,
    /// Links and contact that describeServer advertises.
    pub privacy_policy_url: Option<String>,
    pub terms_of_service_url: Option<String>,
    pub contact_email_address: Option<String>,
    pub max_subscription_buffer: usize,
    pub repo_backfill_limit_ms: u64,
    /// Empty: the system's resolvers.
    pub dns_servers: Vec<std::net::SocketAddr>,
}

/// The rate limits' numbers (see `crate::ratelimit`).
#[derive(Clone, Debug)]
pub struct RateLimitNumbers {
    pub global: u64,
    pub create_session: u64,
    pub create_session_day: u64,
    pub create_account: u64,
    pub update_handle: u64,
    pub update_handle_day: u64,
    pub upload_blob_day: u64,
    pub write_points_hour: u64,
    pub write_points_day: u64,
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> Result<Config, String> {
        syntax::validate_handle(&args.hostname)
            .or_else(|_| {
                if args.hostname == "localhost" {
                    Ok(())
                } else {
                    Err(())
                }
            })
            .map_err(|_| {
                format!(
                    "PDS_HOSTNAME {:?} is not a hostname (e.g. pds.example.com)",
                    args.hostname
                )
            })?;
        let is_local = args.hostname == "localhost";
        let public_url = if args.dev_mode && is_local {
            format!("http://localhost:{}", args.port)
        } else {
            format!("https://{}", args.hostname)
        };
        let mut handle_domains: Vec<String> = args
            .service_handle_domains
            .iter()
            .map(|d| d.trim())
            .filter(|d| !d.is_empty())
            .map(|d| {
                if d.starts_with('.') {
                    d.to_ascii_lowercase()
                } else {
                    format!(".{}", d.to_ascii_lowercase())
                }
            })
            .collect();
        if handle_domains.is_empty() {
            handle_domains.push(if is_local {
                ".test".to_owned()
            } else {
                format!(".{}", args.hostname.to_ascii_lowercase())
            });
        }
        let plc_url = args.did_plc_url.trim_end_matches('/').to_owned();
        if !args.dev_mode && !plc_url.starts_with("https://") {
            return Err(format!(
                "PDS_DID_PLC_URL {plc_url:?} must be https (or set PDS_DEV_MODE=true for a local directory)"
            ));
        }
        let dns_servers = args
            .dns_servers
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<std::net::SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| (ip, 53).into()))
                    .map_err(|_| format!("RELAY_DNS_SERVERS: {s:?} is not an IP address (with an optional :port)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rate_limit_bypass_ips = args
            .rate_limit_bypass_ips
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpAddr>()
                    .map_err(|_| format!("PDS_RATE_LIMIT_BYPASS_IPS: {s:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Config {
            hostname: args.hostname.to_ascii_lowercase(),
            port: args.port,
            bind: args.bind,
            dev_mode: args.dev_mode,
            public_url,
            service_did: format!("did:web:{}", args.hostname.to_ascii_lowercase()),
            blob_dir: args
                .blobstore_disk_location
                .clone()
                .unwrap_or_else(|| args.data_directory.join("blobs")),
            data_dir: args.data_directory.clone(),
            blob_upload_limit: args.blob_upload_limit,
            plc_url,
            invite_required: args.invite_required,
            rate_limits_enabled: args.rate_limits_enabled,
            rate_limit_bypass_key: args.rate_limit_bypass_key.clone(),
            rate_limit_bypass_ips,
            behind_proxy: args.behind_proxy,
            rate_limit_numbers: RateLimitNumbers {
                global: args.rate_limit_global,
                create_session: args.rate_limit_create_session,
                create_session_day: args.rate_limit_create_session_day,
                create_account: args.rate_limit_create_account,
                update_handle: args.rate_limit_update_handle,
                update_handle_day: args.rate_limit_update_handle_day,
                upload_blob_day: args.rate_limit_upload_blob_day,
                write_points_hour: args.rate_limit_write_points_hour,
                write_points_day: args.rate_limit_write_points_day,
            },
            handle_domains,
            crawlers: args
                .crawlers
                .iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect(),
            appview_url: args.bsky_app_view_url.clone(),
            appview_did: args.bsky_app_view_did.clone(),
            proxy: crate::proxy::ProxySettings::from_args(args)?,
            email_smtp_url: args.email_smtp_url.clone(),
            email_from_address: args.email_from_address.clone(),
            privacy_policy_url: args.privacy_policy_url.clone(),
            terms_of_service_url: args.terms_of_service_url.clone(),
            contact_email_address: args.contact_email_address.clone(),
            max_subscription_buffer: args.max_subscription_buffer,
            repo_backfill_limit_ms: args.repo_backfill_limit_ms,
            dns_servers,
        })
    }
}

/// Loads `relay.toml` (or `--config`) into the environment, under the `PDS_*` names, for every
/// key the environment does not set already. Called before flags are parsed, so the order of
/// precedence is flags > environment > file > defaults.
pub fn load_config_file_into_env(explicit: Option<&Path>) -> Result<(), String> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from("relay.toml");
            if !default.exists() {
                return Ok(());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("config file {} is not valid TOML: {e}", path.display()))?;
    for (key, value) in table {
        let name = if key.starts_with("relay_") {
            key.to_ascii_uppercase()
        } else {
            format!("PDS_{}", key.to_ascii_uppercase())
        };
        if std::env::var_os(&name).is_some() {
            continue;
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(format!(
                    "config file {}: {key} has an unsupported value {other}",
                    path.display()
                ))
            }
        };
        // Called once at start-up, before any thread is spawned.
        std::env::set_var(&name, text);
    }
    Ok(())
}
