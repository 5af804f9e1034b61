//! `relay account migrate`: the standard migration flow run as a client of both hosts (what goat
//! and the atproto guide do by hand), with a progress bar. Every step first looks at where the
//! account stands, so running the command again after an interruption continues where it
//! stopped; a failure says what state the account is in and what to do next.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use serde_json::{json, Value as Json};

use super::client::{CallError, Host};
use super::progress::Progress;

#[derive(clap::Args, Clone, Debug)]
pub struct MigrateArgs {
    /// The PDS the account is on now (`https://old.example.com`).
    #[arg(long)]
    pub from: String,
    /// The account's handle (or DID) there.
    #[arg(long)]
    pub handle: String,
    /// This server's public URL (default: `https://$PDS_HOSTNAME`).
    #[arg(long)]
    pub to: Option<String>,
    /// The environment variable holding the account's password (it is asked for on a terminal
    /// when unset). The same password is set on the new account.
    #[arg(long, default_value = "RELAY_MIGRATE_PASSWORD")]
    pub password_env: String,
    /// The email for the account here (default: the one the old host has).
    #[arg(long)]
    pub email: Option<String>,
    /// An invite code, if this server requires one.
    #[arg(long)]
    pub invite_code: Option<String>,
    /// The code the old host emailed for the identity change (asked for on a terminal; without
    /// one and without a terminal, the command stops and says how to continue).
    #[arg(long)]
    pub plc_token: Option<String>,
    /// Leave the account active at the old host at the end.
    #[arg(long)]
    pub keep_old_active: bool,
}

/// How far a run got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Nothing visible changed: the account is live at the old host.
    NotStarted,
    /// The new account exists (deactivated); its repo or blobs may be incomplete.
    Copying,
    /// Everything is copied; the DID still points at the old host.
    Copied,
    /// The DID points here; the account here is not active yet.
    IdentityMoved,
    /// Active here; the old account may still be active.
    Activated,
    /// Done.
    Done,
}

/// Why a run stopped before the end.
#[derive(Debug)]
pub struct Stopped {
    pub stage: Stage,
    pub reason: String,
    /// The run stopped only to get the emailed code.
    pub needs_plc_token: bool,
}

const STEPS: usize = 9;

pub async fn run(args: MigrateArgs) -> ExitCode {
    match migrate(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(stopped) => {
            eprintln!();
            if stopped.needs_plc_token {
                eprintln!("{}", stopped.reason);
            } else {
                eprintln!("error: {}", stopped.reason);
            }
            eprintln!("\n{}", what_next(&args, &stopped));
            ExitCode::FAILURE
        }
    }
}

/// What to tell the person, by how far the account got.
pub fn what_next(args: &MigrateArgs, stopped: &Stopped) -> String {
    let again = format!(
        "relay account migrate --from {} --handle {}{}",
        args.from,
        args.handle,
        args.to
            .as_deref()
            .map(|t| format!(" --to {t}"))
            .unwrap_or_default()
    );
    match stopped.stage {
        Stage::NotStarted => format!(
            "Nothing has changed: the account is live at {} as before. Fix the problem above and run\n  {again}",
            args.from
        ),
        Stage::Copying | Stage::Copied if stopped.needs_plc_token => format!(
            "The account is copied here (not active yet) and still live at {}. When the email arrives, run\n  {again} --plc-token <CODE>",
            args.from
        ),
        Stage::Copying | Stage::Copied => format!(
            "The account is still live at {}; a copy, not active yet, exists here. Run the same command again to continue:\n  {again}",
            args.from
        ),
        Stage::IdentityMoved => format!(
            "Your DID already points to this server, but the account here is not active yet, so it cannot post. Run the same command again now to finish:\n  {again}\n(If this server cannot be fixed, the old host still holds the account: point the DID back with its help.)"
        ),
        Stage::Activated => format!(
            "The account is live here. Only the old account at {} is still active: run the same command again, or deactivate it there (com.atproto.server.deactivateAccount).",
            args.from
        ),
        Stage::Done => "Nothing left to do.".to_owned(),
    }
}

fn stop(stage: Stage, what: &str, e: impl std::fmt::Display) -> Stopped {
    Stopped {
        stage,
        reason: format!("{what}: {e}"),
        needs_plc_token: false,
    }
}

/// The whole flow; see the module documentation.
pub async fn migrate(args: &MigrateArgs) -> Result<(), Stopped> {
    let mut stage = Stage::NotStarted;
    let to = match args.to.clone().or_else(|| {
        std::env::var("PDS_HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .map(|h| format!("https://{h}"))
    }) {
        Some(to) => to,
        None => {
            return Err(stop(
                stage,
                "this server's URL",
                "give --to (or set PDS_HOSTNAME)",
            ))
        }
    };
    let password = password(&args.password_env).map_err(|e| stop(stage, "the password", e))?;
    let mut progress = Progress::new(STEPS);

    progress.step("Signing in at the old host");
    let mut old = Host::new(&args.from);
    let session = old
        .post(
            "com.atproto.server.createSession",
            &json!({"identifier": args.handle, "password": password}),
        )
        .await
        .map_err(|e| stop(stage, &format!("signing in at {}", args.from), e))?;
    old.token = session["accessJwt"].as_str().map(str::to_owned);
    let did = text(&session, "did");
    let handle = text(&session, "handle");
    let email = args
        .email
        .clone()
        .or_else(|| session["email"].as_str().map(str::to_owned));

    progress.step("Creating the account here");
    let mut new = Host::new(&to);
    match new
        .post(
            "com.atproto.server.createSession",
            &json!({"identifier": did, "password": password}),
        )
        .await
    {
        Ok(existing) => new.token = existing["accessJwt"].as_str().map(str::to_owned),
        Err(_) => {
            let server = new
                .get("com.atproto.server.describeServer", &[])
                .await
                .map_err(|e| stop(stage, &format!("reaching {to}"), e))?;
            let aud = text(&server, "did");
            let auth = old
                .get(
                    "com.atproto.server.getServiceAuth",
                    &[("aud", &aud), ("lxm", "com.atproto.server.createAccount")],
                )
                .await
                .map_err(|e| stop(stage, "asking the old host for a service token", e))?;
            let Some(email) = email.clone() else {
                return Err(stop(
                    stage,
                    "the email",
                    "the old host shows none: give --email",
                ));
            };
            let mut input =
                json!({"did": did, "handle": handle, "email": email, "password": password});
            if let Some(code) = &args.invite_code {
                input["inviteCode"] = json!(code);
            }
            let created = new
                .post_as(
                    "com.atproto.server.createAccount",
                    &text(&auth, "token"),
                    &input,
                )
                .await
                .map_err(|e| stop(stage, "creating the account here", e))?;
            new.token = created["accessJwt"].as_str().map(str::to_owned);
        }
    }
    stage = Stage::Copying;
    let status = account_status(&new)
        .await
        .map_err(|e| stop(stage, "reading the account here", e))?;
    if status["activated"] == json!(true) {
        stage = Stage::Activated;
    }

    if stage < Stage::Activated {
        progress.step("Copying the repo");
        let latest = old
            .get("com.atproto.sync.getLatestCommit", &[("did", &did)])
            .await
            .map_err(|e| stop(stage, "reading the old repo's head", e))?;
        if latest["cid"] != status["repoCommit"] {
            let (car, _) = old
                .get_bytes("com.atproto.sync.getRepo", &[("did", &did)])
                .await
                .map_err(|e| stop(stage, "exporting the repo", e))?;
            new.post_bytes(
                "com.atproto.repo.importRepo",
                "application/vnd.ipld.car",
                car,
            )
            .await
            .map_err(|e| stop(stage, "importing the repo here", e))?;
        }

        progress.step("Copying blobs");
        copy_blobs(&old, &new, &did, &mut progress)
            .await
            .map_err(|e| stop(stage, "copying blobs", e))?;

        progress.step("Copying preferences");
        // Preferences are best kept, but a host without them must not block the move.
        if let Ok(prefs) = old.get("app.bsky.actor.getPreferences", &[]).await {
            if let Err(e) = new.post("app.bsky.actor.putPreferences", &prefs).await {
                progress.interrupt();
                eprintln!("warning: preferences were not copied: {e}");
            }
        }
        stage = Stage::Copied;

        progress.step("Pointing the DID here");
        let status = account_status(&new)
            .await
            .map_err(|e| stop(stage, "reading the account here", e))?;
        if status["validDid"] != json!(true) {
            let token = match &args.plc_token {
                Some(token) => token.clone(),
                None => {
                    old.post_empty("com.atproto.identity.requestPlcOperationSignature")
                        .await
                        .map_err(|e| stop(stage, "asking the old host to email a code", e))?;
                    progress.interrupt();
                    match ask("The old host emailed a code to confirm the identity change. Code: ")
                    {
                        Some(code) => code,
                        None => {
                            return Err(Stopped {
                                stage,
                                reason: format!(
                                    "{} emailed a code to {} to confirm moving the identity.",
                                    args.from,
                                    email.as_deref().unwrap_or("the account's address")
                                ),
                                needs_plc_token: true,
                            })
                        }
                    }
                }
            };
            let mut creds = new
                .get("com.atproto.identity.getRecommendedDidCredentials", &[])
                .await
                .map_err(|e| stop(stage, "reading this server's credentials", e))?;
            creds["token"] = json!(token.trim());
            let signed = old
                .post("com.atproto.identity.signPlcOperation", &creds)
                .await
                .map_err(|e| {
                    let mut s = stop(stage, "the old host signing the identity change", e);
                    s.needs_plc_token = true;
                    s
                })?;
            new.post(
                "com.atproto.identity.submitPlcOperation",
                &json!({"operation": signed["operation"]}),
            )
            .await
            .map_err(|e| stop(stage, "submitting the identity change", e))?;
        }
        stage = Stage::IdentityMoved;

        progress.step("Activating the account here");
        new.post_empty("com.atproto.server.activateAccount")
            .await
            .map_err(|e| stop(stage, "activating the account here", e))?;
        stage = Stage::Activated;
    } else {
        for label in [
            "Copying the repo",
            "Copying blobs",
            "Copying preferences",
            "Pointing the DID here",
            "Activating the account here",
        ] {
            progress.step(&format!("{label} (done before)"));
        }
    }

    progress.step("Deactivating the old account");
    if !args.keep_old_active {
        old.post("com.atproto.server.deactivateAccount", &json!({}))
            .await
            .map_err(|e| stop(stage, "deactivating the old account", e))?;
    }
    progress.finish(&format!("{handle} ({did}) now lives at {to}"));
    Ok(())
}

async fn account_status(new: &Host) -> Result<Json, CallError> {
    new.get("com.atproto.server.checkAccountStatus", &[]).await
}

/// Uploads every blob the new host lists as missing, from the old host.
async fn copy_blobs(
    old: &Host,
    new: &Host,
    did: &str,
    progress: &mut Progress,
) -> Result<(), CallError> {
    let status = account_status(new).await?;
    let expected = status["expectedBlobs"].as_u64().unwrap_or(0) as usize;
    let mut done = status["importedBlobs"].as_u64().unwrap_or(0) as usize;
    progress.count(done, expected);
    loop {
        // Uploaded blobs leave the list, so each page starts over from the top.
        let page = new
            .get("com.atproto.repo.listMissingBlobs", &[("limit", "500")])
            .await?;
        let blobs = page["blobs"].as_array().cloned().unwrap_or_default();
        if blobs.is_empty() {
            return Ok(());
        }
        for blob in blobs {
            let cid = blob["cid"].as_str().unwrap_or_default();
            let (bytes, content_type) = old
                .get_bytes("com.atproto.sync.getBlob", &[("did", did), ("cid", cid)])
                .await?;
            new.post_bytes("com.atproto.repo.uploadBlob", &content_type, bytes)
                .await?;
            done += 1;
            progress.count(done, expected.max(done));
        }
    }
}

fn text(json: &Json, field: &str) -> String {
    json[field].as_str().unwrap_or_default().to_owned()
}

fn password(env: &str) -> Result<String, String> {
    if let Some(p) = std::env::var(env).ok().filter(|p| !p.is_empty()) {
        return Ok(p);
    }
    ask("Password of the account: ").ok_or_else(|| format!("set {env} (no terminal to ask on)"))
}

/// A line typed on the terminal; `None` without one.
fn ask(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_owned()).filter(|l| !l.is_empty())
}
