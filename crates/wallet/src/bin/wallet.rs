//! `wallet`: the sovereign-identity wallet on the command line, doing the I/O (HTTP, files,
//! clock) around the `wallet` library.
//!
//! - `wallet onboard`: keys, split, account and DID through the relay's /v1 API.
//! - `wallet recover-key`: two shares back to the recovery key's did:key.
//! - `wallet override`: take the relay's rotation key out of the DID, signed by a key you hold.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use crypto::recovery::{combine, Share};
use serde_json::{json, Value};
use wallet::api;
use wallet::client::{read, ClientError, Provisioner, Request, Response};
use wallet::keys::{decode_device_key, encode_device_key, Onboarding};

#[derive(Parser)]
#[command(
    name = "wallet",
    version,
    about = "Keep control of your AT Protocol identity's keys"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Share3 {
    /// 24 BIP-39 words (write them on paper).
    Bip39,
    /// A file next to the others.
    File,
}

#[derive(Subcommand)]
enum Command {
    /// Create a device key and a recovery seed, split it 2-of-3, and create the account and
    /// its DID through the relay. Prints {did, handle, rotationKeys}.
    Onboard {
        #[arg(long)]
        relay: String,
        #[arg(long)]
        handle: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Where the device key, share 1 and share 3 are written (created; must not hold a wallet).
        #[arg(long)]
        dir: PathBuf,
        /// How share 3 is kept.
        #[arg(long, value_enum, default_value = "file")]
        share3: Share3,
        #[arg(long)]
        invite_code: Option<String>,
        #[arg(long, default_value = "wallet-cli")]
        device_name: String,
    },
    /// Rebuild the recovery key from two shares (files, or the text or words themselves) and
    /// print its did:key.
    RecoverKey {
        #[arg(long = "share", required = true)]
        shares: Vec<String>,
    },
    /// Sign a PLC operation that removes the relay's rotation key, with the recovery key (from
    /// two shares) or else the device key in DIR, submit it to the PLC directory and print the
    /// new DID document.
    Override {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long = "share")]
        shares: Vec<String>,
        /// The PLC directory.
        #[arg(long, default_value = "https://plc.directory")]
        plc: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Onboard {
            relay,
            handle,
            email,
            password,
            dir,
            share3,
            invite_code,
            device_name,
        } => {
            onboard(
                &relay,
                &handle,
                &email,
                &password,
                &dir,
                share3,
                invite_code.as_deref(),
                &device_name,
            )
            .await
        }
        Command::RecoverKey { shares } => recover_key(&shares),
        Command::Override { dir, shares, plc } => override_relay(&dir, &shares, &plc).await,
    };
    match result {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("wallet: {message}");
            ExitCode::FAILURE
        }
    }
}

const DEVICE_KEY_FILE: &str = "device.key";
const SHARE1_FILE: &str = "share1.txt";
const SHARE3_FILE: &str = "share3.txt";
const SHARE3_WORDS_FILE: &str = "share3.words";
const WALLET_FILE: &str = "wallet.json";

#[allow(clippy::too_many_arguments)]
async fn onboard(
    relay: &str,
    handle: &str,
    email: &str,
    password: &str,
    dir: &Path,
    share3: Share3,
    invite_code: Option<&str>,
    device_name: &str,
) -> Result<String, String> {
    if dir.join(DEVICE_KEY_FILE).exists() || dir.join(WALLET_FILE).exists() {
        return Err(format!(
            "{} already holds a wallet; choose an empty directory",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let http = Http::new(relay)?;
    let onboarding = Onboarding::generate();
    let [share1, share2, share3_value] = onboarding.shares.clone();
    let recovery_key = onboarding.recovery_key().did_key();
    // Keys and shares are on disk before the relay hears of them: a crash mid-way loses
    // nothing the DID will depend on.
    write_private(
        &dir.join(DEVICE_KEY_FILE),
        &encode_device_key(&onboarding.device_key),
    )?;
    write_private(&dir.join(SHARE1_FILE), &text(&share1)?)?;
    match share3 {
        Share3::Bip39 => write_private(
            &dir.join(SHARE3_WORDS_FILE),
            &share3_value.to_phrase().map_err(|e| e.to_string())?,
        )?,
        Share3::File => write_private(&dir.join(SHARE3_FILE), &text(&share3_value)?)?,
    }

    let mut client = Provisioner::new(onboarding.device_key.clone(), None);
    let challenge: api::Challenge = http.send(&client.challenge()).await?;
    let created: api::MobileAccountCreated = http
        .send(&client.create_mobile_account(
            handle,
            email,
            password,
            invite_code,
            device_name,
            &challenge,
        ))
        .await?;
    client.set_device_id(created.device_id.clone());
    let request = client
        .create_did(
            &recovery_key,
            &text(&share2)?,
            unix_now(),
            &wallet::signing::new_nonce(),
        )
        .map_err(|e| e.to_string())?;
    let did: api::DidCreated = http.send(&request).await?;
    if did.rotation_keys.first() != Some(&onboarding.device_key.did_key())
        || did.rotation_keys.get(1) != Some(&recovery_key)
    {
        return Err(format!(
            "the relay made the DID with rotation keys {:?}, not [device, recovery, relay]",
            did.rotation_keys
        ));
    }
    let record = json!({
        "relay": relay,
        "did": did.did,
        "handle": did.handle,
        "deviceId": created.device_id,
        "rotationKeys": did.rotation_keys,
        "relayRotationKey": did.rotation_keys.last(),
        "escrowShareId": did.escrow_share_id,
    });
    write_private(
        &dir.join(WALLET_FILE),
        &serde_json::to_string_pretty(&record).expect("json"),
    )?;
    Ok(json!({
        "did": did.did,
        "handle": did.handle,
        "rotationKeys": did.rotation_keys,
    })
    .to_string())
}

fn recover_key(args: &[String]) -> Result<String, String> {
    let shares = args
        .iter()
        .map(|a| read_share(a))
        .collect::<Result<Vec<_>, _>>()?;
    let seed = combine(&shares).map_err(|e| e.to_string())?;
    Ok(seed.recovery_key().did_key())
}

async fn override_relay(dir: &Path, shares: &[String], plc: &str) -> Result<String, String> {
    let record: Value = serde_json::from_str(&read_text(&dir.join(WALLET_FILE))?).map_err(|e| {
        format!(
            "{} is not a wallet record: {e}",
            dir.join(WALLET_FILE).display()
        )
    })?;
    let did = record["did"]
        .as_str()
        .ok_or("the wallet record has no did")?;
    let relay_key = record["relayRotationKey"]
        .as_str()
        .ok_or("the wallet record has no relayRotationKey")?;
    let (signer, signed_with) = if shares.is_empty() {
        let key = decode_device_key(&read_text(&dir.join(DEVICE_KEY_FILE))?)?;
        (key, "device")
    } else {
        let shares = shares
            .iter()
            .map(|a| read_share(a))
            .collect::<Result<Vec<_>, _>>()?;
        let seed = combine(&shares).map_err(|e| e.to_string())?;
        (seed.recovery_key(), "recovery")
    };
    let plc = plc.trim_end_matches('/');
    let http = reqwest::Client::new();
    let log: Value = get_json(&http, &format!("{plc}/{did}/log/audit")).await?;
    let entries = identity::parse_audit_log(&log).map_err(|e| format!("audit log: {e}"))?;
    let audited =
        identity::validate_audit_log(did, &entries).map_err(|e| format!("audit log: {e}"))?;
    let op = wallet::override_op::remove_rotation_key(&audited, relay_key, &signer)
        .map_err(|e| e.to_string())?;
    let response = http
        .post(format!("{plc}/{did}"))
        .json(&op.to_json())
        .send()
        .await
        .map_err(|e| format!("the PLC directory at {plc} could not be reached: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "the PLC directory refused the operation ({status}): {body}"
        ));
    }
    let document: Value = get_json(&http, &format!("{plc}/{did}")).await?;
    Ok(json!({
        "did": did,
        "signedWith": signed_with,
        "rotationKeys": op.rotation_keys(),
        "didDocument": document,
    })
    .to_string())
}

/// A share from an argument: a file holding it, or the text form or words themselves.
fn read_share(arg: &str) -> Result<Share, String> {
    let path = Path::new(arg);
    let content = if path.is_file() {
        read_text(path)?
    } else {
        arg.to_owned()
    };
    Share::parse(&content).map_err(|e| {
        if path.is_file() {
            format!("{arg}: {e}")
        } else {
            format!("{e} (the argument is neither a file nor a share)")
        }
    })
}

fn text(share: &Share) -> Result<zeroize::Zeroizing<String>, String> {
    share.to_text().map_err(|e| e.to_string())
}

fn read_text(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Writes a secret file readable by its owner only; never overwrites.
fn write_private(path: &Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(content.as_bytes())
        .and_then(|_| file.write_all(b"\n"))
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url} could not be reached: {e}"))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{url} sent invalid JSON: {e}"))
}

/// Sends the library's requests to the relay.
struct Http {
    base: String,
    client: reqwest::Client,
}

impl Http {
    fn new(base: &str) -> Result<Http, String> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("the relay URL {base:?} must start with https://"));
        }
        Ok(Http {
            base,
            client: reqwest::Client::new(),
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(&self, request: &Request) -> Result<T, String> {
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = self
            .client
            .request(method, format!("{}{}", self.base, request.path))
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| format!("the relay at {} could not be reached: {e}", self.base))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
        read(&Response { status, body }).map_err(|e: ClientError| e.to_string())
    }
}
