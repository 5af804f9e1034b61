//! `relay admin …`: the operator's tools, talking to a running relay over HTTP with the admin
//! password (`com.atproto.admin.*`, invite codes, account creation), and asking a network relay
//! to crawl this one.
//!
//! The password comes from `--password`, else `PDS_ADMIN_PASSWORD`, else the file the server
//! generated, `<data>/secrets/admin_password` (so on the relay's own host nothing needs saying).

use std::path::PathBuf;
use std::process::ExitCode;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct AdminArgs {
    /// The relay's base URL (default: http://127.0.0.1:<PDS_PORT or 2583>).
    #[arg(long, env = "RELAY_URL", global = true)]
    url: Option<String>,
    /// The admin password (default: PDS_ADMIN_PASSWORD, else <data>/secrets/admin_password).
    #[arg(
        long,
        env = "PDS_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    password: Option<String>,
    /// The relay's data directory, where its generated admin password is kept.
    #[arg(
        long,
        env = "PDS_DATA_DIRECTORY",
        default_value = "./data",
        global = true
    )]
    data_directory: PathBuf,
    /// The port a local relay listens on, for the default URL.
    #[arg(long, env = "PDS_PORT", default_value_t = 2583, global = true)]
    port: u16,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Accounts: list, show, create, take down, restore, delete.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Invite codes: create, list, disable.
    #[command(subcommand)]
    Invites(InvitesCommand),
    /// Ask a network relay (e.g. bsky.network) to crawl this server.
    RequestCrawl {
        /// The relay's host, e.g. bsky.network (https), or a full http(s):// URL.
        relay: String,
        /// This server's public hostname (default: PDS_HOSTNAME, else the --url's host).
        #[arg(long, env = "PDS_HOSTNAME")]
        hostname: Option<String>,
    },
}

#[derive(clap::Subcommand)]
enum AccountsCommand {
    /// One account per line: DID, handle, email.
    List {
        /// Only accounts whose handle or email starts with this.
        #[arg(long)]
        search: Option<String>,
    },
    /// An account's details, as JSON (a DID or a handle).
    Info { account: String },
    /// Create an account (with a fresh single-use invite code unless one is given). Prints its
    /// DID and handle, and the password when one was generated.
    Create {
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: String,
        /// The account's password (default: a generated one, printed once).
        #[arg(long)]
        account_password: Option<String>,
        #[arg(long)]
        invite: Option<String>,
    },
    /// Take an account down: sessions end, its repo and blobs stop being served.
    Takedown {
        account: String,
        /// The moderation reference to record (default: the time).
        #[arg(long = "ref")]
        reference: Option<String>,
    },
    /// Lift an account's takedown.
    Restore { account: String },
    /// Delete an account and everything it holds. Cannot be undone.
    Delete {
        account: String,
        /// Required: deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(clap::Subcommand)]
enum InvitesCommand {
    /// Create invite codes; prints one per line.
    Create {
        /// Uses per code.
        #[arg(long, default_value_t = 1)]
        uses: i64,
        /// How many codes.
        #[arg(long, default_value_t = 1)]
        count: i64,
        /// The DID the codes belong to (default: the admin).
        #[arg(long = "for")]
        for_account: Option<String>,
    },
    /// All codes: code, uses/available, disabled, owner.
    List {
        /// `recent` or `usage`.
        #[arg(long, default_value = "recent")]
        sort: String,
    },
    /// Disable codes.
    Disable {
        #[arg(required = true)]
        codes: Vec<String>,
    },
}

pub fn run(args: AdminArgs) -> ExitCode {
    crate::cli::run(crate::cli::Runtime::CurrentThread, dispatch(args))
}

async fn dispatch(args: AdminArgs) -> Result<(), String> {
    let client = Client::new(&args)?;
    match args.command {
        AdminCommand::Accounts(cmd) => accounts(&client, cmd).await,
        AdminCommand::Invites(cmd) => invites(&client, cmd).await,
        AdminCommand::RequestCrawl { relay, hostname } => {
            request_crawl(&client, &relay, hostname).await
        }
    }
}

async fn accounts(client: &Client, cmd: AccountsCommand) -> Result<(), String> {
    match cmd {
        AccountsCommand::List { search } => {
            let mut cursor: Option<String> = None;
            loop {
                let mut query = vec![("limit", "100".to_owned())];
                if let Some(s) = &search {
                    query.push(("email", s.clone()));
                }
                if let Some(c) = &cursor {
                    query.push(("cursor", c.clone()));
                }
                let page = client
                    .get("com.atproto.admin.searchAccounts", &query)
                    .await?;
                for account in page["accounts"].as_array().into_iter().flatten() {
                    println!(
                        "{}\t{}\t{}",
                        text(&account["did"]),
                        text(&account["handle"]),
                        account["email"].as_str().unwrap_or("-")
                    );
                }
                match page["cursor"].as_str() {
                    Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                    _ => return Ok(()),
                }
            }
        }
        AccountsCommand::Info { account } => {
            let did = client.did_of(&account).await?;
            let mut info = client
                .get("com.atproto.admin.getAccountInfo", &[("did", did.clone())])
                .await?;
            let status = client
                .get("com.atproto.admin.getSubjectStatus", &[("did", did)])
                .await?;
            info["takedown"] = status["takedown"].clone();
            println!("{}", pretty(&info));
            Ok(())
        }
        AccountsCommand::Create {
            handle,
            email,
            account_password,
            invite,
        } => {
            let generated = account_password.is_none();
            let password = account_password.unwrap_or_else(generate_password);
            let invite = match invite {
                Some(code) => code,
                None => {
                    let made = client
                        .post(
                            "com.atproto.server.createInviteCode",
                            json!({ "useCount": 1 }),
                        )
                        .await?;
                    text(&made["code"]).to_owned()
                }
            };
            let created = client
                .post_unauthenticated(
                    "com.atproto.server.createAccount",
                    json!({
                        "handle": handle,
                        "email": email,
                        "password": password,
                        "inviteCode": invite,
                    }),
                )
                .await?;
            if generated {
                println!(
                    "{}\t{}\t{password}",
                    text(&created["did"]),
                    text(&created["handle"])
                );
            } else {
                println!("{}\t{}", text(&created["did"]), text(&created["handle"]));
            }
            Ok(())
        }
        AccountsCommand::Takedown { account, reference } => {
            let did = client.did_of(&account).await?;
            let mut takedown = json!({ "applied": true });
            if let Some(r) = reference {
                takedown["ref"] = json!(r);
            }
            client
                .post(
                    "com.atproto.admin.updateSubjectStatus",
                    json!({
                        "subject": { "$type": "com.atproto.admin.defs#repoRef", "did": did },
                        "takedown": takedown,
                    }),
                )
                .await?;
            println!("{did} taken down");
            Ok(())
        }
        AccountsCommand::Restore { account } => {
            let did = client.did_of(&account).await?;
            client
                .post(
                    "com.atproto.admin.updateSubjectStatus",
                    json!({
                        "subject": { "$type": "com.atproto.admin.defs#repoRef", "did": did },
                        "takedown": { "applied": false },
                    }),
                )
                .await?;
            println!("{did} restored");
            Ok(())
        }
        AccountsCommand::Delete { account, yes } => {
            if !yes {
                return Err(format!(
                    "deleting {account} removes its repo and blobs for good; add --yes to confirm"
                ));
            }
            let did = client.did_of(&account).await?;
            client
                .post("com.atproto.admin.deleteAccount", json!({ "did": did }))
                .await?;
            println!("{did} deleted");
            Ok(())
        }
    }
}

async fn invites(client: &Client, cmd: InvitesCommand) -> Result<(), String> {
    match cmd {
        InvitesCommand::Create {
            uses,
            count,
            for_account,
        } => {
            let mut body = json!({ "useCount": uses, "codeCount": count });
            if let Some(did) = for_account {
                body["forAccounts"] = json!([did]);
            }
            let made = client
                .post("com.atproto.server.createInviteCodes", body)
                .await?;
            for account in made["codes"].as_array().into_iter().flatten() {
                for code in account["codes"].as_array().into_iter().flatten() {
                    println!("{}", text(code));
                }
            }
            Ok(())
        }
        InvitesCommand::List { sort } => {
            let mut cursor: Option<String> = None;
            loop {
                let mut query = vec![("sort", sort.clone()), ("limit", "500".to_owned())];
                if let Some(c) = &cursor {
                    query.push(("cursor", c.clone()));
                }
                let page = client
                    .get("com.atproto.admin.getInviteCodes", &query)
                    .await?;
                for code in page["codes"].as_array().into_iter().flatten() {
                    let used = code["uses"].as_array().map_or(0, Vec::len);
                    println!(
                        "{}\t{}/{}\t{}\t{}",
                        text(&code["code"]),
                        used,
                        code["available"].as_i64().unwrap_or(0),
                        if code["disabled"].as_bool() == Some(true) {
                            "disabled"
                        } else {
                            "enabled"
                        },
                        text(&code["forAccount"]),
                    );
                }
                match page["cursor"].as_str() {
                    Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                    _ => return Ok(()),
                }
            }
        }
        InvitesCommand::Disable { codes } => {
            client
                .post(
                    "com.atproto.admin.disableInviteCodes",
                    json!({ "codes": codes }),
                )
                .await?;
            Ok(())
        }
    }
}

/// `com.atproto.sync.requestCrawl` at the network relay, naming this server.
async fn request_crawl(
    client: &Client,
    relay: &str,
    hostname: Option<String>,
) -> Result<(), String> {
    let hostname = match hostname {
        Some(h) => h,
        None => reqwest::Url::parse(&client.base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| "cannot tell this server's hostname: pass --hostname".to_owned())?,
    };
    let base = if relay.starts_with("http://") || relay.starts_with("https://") {
        relay.trim_end_matches('/').to_owned()
    } else {
        format!("https://{}", relay.trim_end_matches('/'))
    };
    let url = format!("{base}/xrpc/com.atproto.sync.requestCrawl");
    let response = client
        .http
        .post(&url)
        .json(&json!({ "hostname": hostname }))
        .send()
        .await
        .map_err(|e| format!("cannot reach the relay at {base}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{base} refused the crawl request ({status}): {body}"
        ));
    }
    println!("asked {base} to crawl {hostname}");
    Ok(())
}

/// An HTTP client for one relay, with the admin password.
struct Client {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl Client {
    fn new(args: &AdminArgs) -> Result<Client, String> {
        let base = args
            .url
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", args.port))
            .trim_end_matches('/')
            .to_owned();
        let password = match &args.password {
            Some(p) => p.clone(),
            None => {
                let path = args.data_directory.join("secrets").join("admin_password");
                std::fs::read_to_string(&path)
                    .map(|s| s.trim().to_owned())
                    .map_err(|e| {
                        format!(
                            "no admin password: pass --password or set PDS_ADMIN_PASSWORD \
                             (could not read {}: {e}; on the relay's host, pass \
                             --data-directory)",
                            path.display()
                        )
                    })?
            }
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base,
            authorization: format!("Basic {}", STANDARD.encode(format!("admin:{password}"))),
        })
    }

    async fn get(&self, nsid: &str, query: &[(&str, String)]) -> Result<Value, String> {
        let request = self
            .http
            .get(format!("{}/xrpc/{nsid}", self.base))
            .query(query)
            .header("authorization", &self.authorization);
        self.send(nsid, request).await
    }

    async fn post(&self, nsid: &str, body: Value) -> Result<Value, String> {
        let request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.base))
            .json(&body)
            .header("authorization", &self.authorization);
        self.send(nsid, request).await
    }

    async fn post_unauthenticated(&self, nsid: &str, body: Value) -> Result<Value, String> {
        let request = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.base))
            .json(&body);
        self.send(nsid, request).await
    }

    async fn send(&self, nsid: &str, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request.send().await.map_err(|e| {
            format!(
                "cannot reach the relay at {} ({e}): is it running (`relay serve`)? \
                 Pass --url if it listens elsewhere",
                self.base
            )
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("{nsid}: reading the answer: {e}"))?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(body);
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(format!(
                "{} refused the admin password: pass the one in the relay's \
                 <data>/secrets/admin_password (or its PDS_ADMIN_PASSWORD) with --password",
                self.base
            ));
        }
        let name = body["error"].as_str().unwrap_or("Error");
        let message = body["message"].as_str().unwrap_or("");
        Err(format!("{nsid} failed ({status}): {name}: {message}"))
    }

    /// The DID of a DID or handle. Handles are looked up in the relay's accounts (admin search),
    /// not resolved: a taken-down or deactivated account's handle no longer resolves.
    async fn did_of(&self, account: &str) -> Result<String, String> {
        if account.starts_with("did:") {
            return Ok(account.to_owned());
        }
        let handle = account.trim_start_matches('@').to_lowercase();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("email", handle.clone()), ("limit", "100".to_owned())];
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page = self.get("com.atproto.admin.searchAccounts", &query).await?;
            let found = page["accounts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["handle"].as_str() == Some(handle.as_str()));
            if let Some(found) = found {
                return Ok(text(&found["did"]).to_owned());
            }
            match page["cursor"].as_str() {
                Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
                _ => {
                    return Err(format!(
                    "no account with the handle {handle} on {}: check `relay admin accounts list`",
                    self.base
                ))
                }
            }
        }
    }
}

/// 24 random hex digits (96 bits).
fn generate_password() -> String {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
