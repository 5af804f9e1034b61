//! Sovereign identity end to end, on a real relay and a real PLC directory (`@did-plc/server`
//! from e2e/): the `wallet` CLI onboards; the DID's audit log has the rotation keys
//! [device, recovery, relay]; the stock client (@atproto/api) logs in and posts; any two
//! shares rebuild the recovery key and one does not; the user overrides the relay; a
//! relay-signed operation is nullified by the device; escrow reads are logged; device and
//! signing-key management.

#[path = "../../relay/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::TestRelay;
use crypto::recovery::Share;
use serde_json::{json, Value};
use wallet::client::Provisioner;
use wallet::keys::decode_device_key;

const PASSWORD: &str = "correct-horse-battery-staple";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `wallet` binary; (success, stdout, stderr).
async fn wallet(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wallet"))
        .args(args)
        .output()
        .await
        .expect("the wallet binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    )
}

/// Onboards with the CLI into a new directory; the printed JSON and the directory.
async fn onboard(relay: &TestRelay, prefix: &str, share3: &str) -> (Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let handle = relay.new_handle(prefix);
    let email = format!("{}@example.com", handle.replace('.', "-"));
    let wallet_dir = dir.path().join("w");
    let (ok, out, err) = wallet(&[
        "onboard",
        "--relay",
        &relay.url,
        "--handle",
        &handle,
        "--email",
        &email,
        "--password",
        PASSWORD,
        "--dir",
        wallet_dir.to_str().unwrap(),
        "--share3",
        share3,
    ])
    .await;
    assert!(ok, "wallet onboard failed: {err}");
    let printed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (printed, dir)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn record(dir: &Path) -> Value {
    serde_json::from_str(&read(&dir.join("w/wallet.json"))).unwrap()
}

/// The device's client, from the wallet directory.
fn device(dir: &Path) -> Provisioner {
    let key = decode_device_key(&read(&dir.join("w/device.key"))).unwrap();
    let id = record(dir)["deviceId"].as_str().unwrap().to_owned();
    Provisioner::new(key, Some(id))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sends a request built by the library; (status, JSON).
async fn send(relay: &TestRelay, request: &wallet::client::Request) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
    let mut builder = relay
        .http
        .request(method, format!("{}{}", relay.url, request.path))
        .body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(*name, value);
    }
    let response = builder.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A request signed by the device.
async fn signed(
    relay: &TestRelay,
    device: &Provisioner,
    method: &'static str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let request = device
        .signed(method, path, body, now(), &wallet::signing::new_nonce())
        .unwrap();
    send(relay, &request).await
}

async fn plc_get(relay: &TestRelay, path: &str) -> Value {
    let response = relay
        .http
        .get(format!("{}/{path}", relay.plc_url))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "PLC {path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn audited(relay: &TestRelay, did: &str) -> identity::AuditedLog {
    let log = plc_get(relay, &format!("{did}/log/audit")).await;
    identity::validate_audit_log(did, &identity::parse_audit_log(&log).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_cli_onboards_and_the_user_keeps_control() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let (printed, dir) = onboard(&relay, "wal", "bip39").await;
    let did = printed["did"].as_str().unwrap().to_owned();
    let keys: Vec<String> = serde_json::from_value(printed["rotationKeys"].clone()).unwrap();
    let device_key = decode_device_key(&read(&dir.path().join("w/device.key"))).unwrap();
    let relay_key = relay.state.secrets.plc_rotation_key.did_key();
    assert_eq!(keys.len(), 3);
    assert_eq!(keys[0], device_key.did_key());
    assert_eq!(keys[2], relay_key);
    println!("sample `wallet onboard` output: {printed}");

    // The PLC audit log: one genesis operation, rotation keys [device, recovery, relay].
    let log = plc_get(&relay, &format!("{did}/log/audit")).await;
    println!("PLC audit log of {did}: {log}");
    let ops = log.as_array().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["operation"]["rotationKeys"], json!(keys));
    assert_eq!(ops[0]["operation"]["prev"], Value::Null);
    let doc = plc_get(&relay, &did).await;
    assert_eq!(doc["service"][0]["serviceEndpoint"], json!(relay.url));

    // The account's events: #identity, #account, #commit, then the #sync naming that commit
    // (as the reference sequences a new account).
    let kinds: Vec<String> = relay
        .events_for(&did)
        .await
        .into_iter()
        .map(|(_, kind, _)| kind)
        .collect();
    assert_eq!(kinds, ["#identity", "#account", "#commit", "#sync"]);

    // The stock client logs in and posts.
    let node = std::process::Command::new("node")
        .arg(workspace_root().join("e2e/wallet-login.mjs"))
        .args([&relay.url, printed["handle"].as_str().unwrap(), PASSWORD])
        .output()
        .expect("node runs");
    assert!(
        node.status.success(),
        "@atproto/api: {}",
        String::from_utf8_lossy(&node.stderr)
    );
    let posted: Value = serde_json::from_slice(&node.stdout).unwrap();
    assert_eq!(posted["did"], json!(did));

    // Share 3 is 24 standard BIP-39 words.
    let words = read(&dir.path().join("w/share3.words"));
    assert_eq!(words.split_whitespace().count(), 24);

    // Share 2 from the escrow, read by the device (and logged).
    let owner = device(dir.path());
    let share_id = record(dir.path())["escrowShareId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, escrow) = signed(
        &relay,
        &owner,
        "GET",
        &format!("/v1/keys/shares/{share_id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{escrow}");
    let share2 = dir.path().join("share2.txt");
    std::fs::write(&share2, escrow["share"].as_str().unwrap()).unwrap();
    let (status, log) = signed(&relay, &owner, "GET", "/v1/keys/rotation-log", None).await;
    assert_eq!(status, 200, "{log}");
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "did.created",
            "device.registered",
            "share.escrowed",
            "share.read"
        ]
    );
    assert_eq!(
        log["events"][3]["detail"]["by"]["deviceId"],
        json!(owner.device_id())
    );

    // Any two shares rebuild the recovery key; one does not.
    let share1 = dir.path().join("w/share1.txt");
    let share3 = dir.path().join("w/share3.words");
    let paths = [&share1, &share2, &share3];
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let (ok, out, err) = wallet(&[
            "recover-key",
            "--share",
            paths[a].to_str().unwrap(),
            "--share",
            paths[b].to_str().unwrap(),
        ])
        .await;
        assert!(ok, "shares {} and {}: {err}", a + 1, b + 1);
        assert_eq!(out, keys[1], "shares {} and {}", a + 1, b + 1);
    }
    // The words themselves, as an argument, work as well as the file.
    let (ok, out, _) = wallet(&[
        "recover-key",
        "--share",
        share1.to_str().unwrap(),
        "--share",
        words.trim(),
    ])
    .await;
    assert!(ok);
    assert_eq!(out, keys[1]);
    for one in paths {
        let (ok, _, err) = wallet(&["recover-key", "--share", one.to_str().unwrap()]).await;
        assert!(!ok);
        assert!(err.contains("2 different shares are needed"), "{err}");
    }

    // Shares of another split refuse to combine.
    let (_, other) = onboard(&relay, "wal", "file").await;
    let (ok, _, err) = wallet(&[
        "recover-key",
        "--share",
        share1.to_str().unwrap(),
        "--share",
        other.path().join("w/share3.txt").to_str().unwrap(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("different splits"), "{err}");
    let (ok, _, err) = wallet(&[
        "recover-key",
        "--share",
        other.path().join("w/share1.txt").to_str().unwrap(),
        "--share",
        share3.to_str().unwrap(),
    ])
    .await;
    assert!(!ok);
    assert!(err.contains("different splits"), "{err}");

    // The user takes the relay out of the DID with the recovery key.
    let (ok, out, err) = wallet(&[
        "override",
        "--dir",
        dir.path().join("w").to_str().unwrap(),
        "--share",
        share1.to_str().unwrap(),
        "--share",
        share3.to_str().unwrap(),
        "--plc",
        &relay.plc_url,
    ])
    .await;
    assert!(ok, "override: {err}");
    let overridden: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(overridden["signedWith"], "recovery");
    assert_eq!(overridden["rotationKeys"], json!(keys[..2]));
    let state = audited(&relay, &did).await;
    assert_eq!(state.state().unwrap().rotation_keys, keys[..2]);
    // The relay can no longer change the DID.
    let (status, body) = signed(&relay, &owner, "POST", "/v1/relay/keys", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "RelayKeyRemoved");
    // Overriding again finds no relay key to remove.
    let (ok, _, err) = wallet(&[
        "override",
        "--dir",
        dir.path().join("w").to_str().unwrap(),
        "--plc",
        &relay.plc_url,
    ])
    .await;
    assert!(!ok);
    assert!(
        err.contains("is not one of the DID's rotation keys"),
        "{err}"
    );

    // The device key alone (no shares) overrides too.
    let (ok, out, err) = wallet(&[
        "override",
        "--dir",
        other.path().join("w").to_str().unwrap(),
        "--plc",
        &relay.plc_url,
    ])
    .await;
    assert!(ok, "override with the device key: {err}");
    let overridden: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(overridden["signedWith"], "device");
    assert_eq!(overridden["rotationKeys"].as_array().unwrap().len(), 2);
    assert!(!overridden["rotationKeys"]
        .as_array()
        .unwrap()
        .contains(&json!(relay_key)));
    assert_eq!(overridden["didDocument"]["id"], record(other.path())["did"]);
}

/// Onboards through the library (no CLI): the device client, the DID and its keys.
async fn onboard_lib(relay: &TestRelay) -> (Provisioner, wallet::keys::Onboarding, Value) {
    let onboarding = wallet::keys::Onboarding::generate();
    let mut client = Provisioner::new(onboarding.device_key.clone(), None);
    let (status, challenge) = send(relay, &client.challenge()).await;
    assert_eq!(status, 201, "{challenge}");
    let challenge: wallet::api::Challenge = serde_json::from_value(challenge).unwrap();
    let handle = relay.new_handle("lib");
    let (status, created) = send(
        relay,
        &client.create_mobile_account(
            &handle,
            &format!("{}@example.com", handle.replace('.', "-")),
            PASSWORD,
            None,
            "phone",
            &challenge,
        ),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    client.set_device_id(created["deviceId"].as_str().unwrap().to_owned());
    let request = client
        .create_did(
            &onboarding.recovery_key().did_key(),
            &onboarding.shares[1].to_text().unwrap(),
            now(),
            &wallet::signing::new_nonce(),
        )
        .unwrap();
    let (status, did) = send(relay, &request).await;
    assert_eq!(status, 201, "{did}");
    (client, onboarding, did)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_signed_operation_is_nullified_by_the_device() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let (device, onboarding, created) = onboard_lib(&relay).await;
    let did = created["did"].as_str().unwrap().to_owned();
    let relay_key = relay.state.secrets.plc_rotation_key.clone();
    let genesis = audited(&relay, &did).await;
    let genesis_state = genesis.state().unwrap().clone();

    // The relay, alone, removes the device and recovery keys: the directory accepts it (the
    // relay's key is a rotation key)...
    let hostile = genesis_state
        .update_op(&genesis.head)
        .with_rotation_keys(vec![relay_key.did_key()])
        .unwrap()
        .sign(&relay_key)
        .unwrap();
    relay.state.plc.submit(&did, &hostile).await.unwrap();
    assert_eq!(
        audited(&relay, &did).await.state().unwrap().rotation_keys,
        [relay_key.did_key()]
    );

    // ...but within 72 hours the device, ranked higher, replaces it with an operation on the
    // same prev, sent through the relay's /v1 API.
    let restore = genesis_state
        .update_op(&genesis.head)
        .with_handle(&genesis_state.handle().unwrap())
        .unwrap()
        .sign(&onboarding.device_key)
        .unwrap();
    let (status, body) = signed(
        &relay,
        &device,
        "POST",
        &format!("/v1/dids/{did}/rotate"),
        Some(&json!({ "operation": restore.to_json() })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = audited(&relay, &did).await;
    assert_eq!(after.nullified, [1], "the relay's operation is nullified");
    assert_eq!(after.head, restore.cid());
    assert_eq!(
        after.state().unwrap().rotation_keys,
        genesis_state.rotation_keys
    );
    let log = plc_get(&relay, &format!("{did}/log/audit")).await;
    assert_eq!(log[1]["nullified"], json!(true));
    assert_eq!(log[2]["nullified"], json!(false));

    // The relay cannot do the same to the device: its key ranks lower.
    let retry = genesis_state
        .update_op(&genesis.head)
        .with_rotation_keys(vec![relay_key.did_key()])
        .unwrap()
        .sign(&relay_key)
        .unwrap();
    assert!(relay.state.plc.submit(&did, &retry).await.is_err());

    // The rotation is in the account's key log.
    let (_, log) = signed(&relay, &device, "GET", "/v1/keys/rotation-log", None).await;
    let last = log["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "did.rotated");
    assert_eq!(last["detail"]["cid"], json!(restore.cid().to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_requests_and_devices() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let (device, _, created) = onboard_lib(&relay).await;
    let did = created["did"].as_str().unwrap().to_owned();

    // A replayed request (same nonce) is refused; so is a stale one, and an unsigned one.
    let request = device
        .signed::<Value>(
            "GET",
            "/v1/keys/rotation-log",
            None,
            now(),
            &wallet::signing::new_nonce(),
        )
        .unwrap();
    assert_eq!(send(&relay, &request).await.0, 200);
    let (status, body) = send(&relay, &request).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("InvalidSignature"))
    );
    assert!(body["message"].as_str().unwrap().contains("nonce"));
    let stale = device
        .signed::<Value>(
            "GET",
            "/v1/keys/rotation-log",
            None,
            now() - 120,
            &wallet::signing::new_nonce(),
        )
        .unwrap();
    assert_eq!(send(&relay, &stale).await.0, 401);
    let (status, body) = relay
        .http
        .get(format!("{}/v1/keys/rotation-log", relay.url))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(status, 401);
    let body: Value = body.json().await.unwrap();
    assert_eq!(body["error"], "AuthMissing");
    // A signature over another body does not pass.
    let mut tampered = device
        .signed(
            "POST",
            "/v1/devices",
            Some(&json!({"a": 1})),
            now(),
            &wallet::signing::new_nonce(),
        )
        .unwrap();
    tampered.body = b"{\"a\":2}".to_vec();
    assert_eq!(send(&relay, &tampered).await.0, 401);

    // A second device registers with a proof, through the account's session.
    let session = created["accessJwt"].as_str().unwrap();
    let laptop = Provisioner::new(crypto::Keypair::generate(crypto::Algorithm::K256), None);
    let (_, challenge) = send(&relay, &laptop.challenge()).await;
    let challenge: wallet::api::Challenge = serde_json::from_value(challenge).unwrap();
    // A proof by another key is refused and does not use up the challenge.
    let mut forged = laptop.proof("laptop", &challenge);
    forged.public_key = crypto::Keypair::generate(crypto::Algorithm::P256).did_key();
    let register = |proof: wallet::api::DeviceProof| {
        relay
            .http
            .post(format!("{}/v1/devices", relay.url))
            .bearer_auth(session)
            .json(&proof)
            .send()
    };
    let response = register(forged).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = register(laptop.proof("laptop", &challenge)).await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let laptop_device: Value = response.json().await.unwrap();
    // The challenge served once.
    let response = register(laptop.proof("laptop", &challenge)).await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let laptop_id = laptop_device["id"].as_str().unwrap();
    let laptop = Provisioner::new(laptop.device_key().clone(), Some(laptop_id.to_owned()));
    let (status, body) = signed(
        &relay,
        &laptop,
        "GET",
        &format!("/v1/devices/{laptop_id}/status"),
        None,
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("active")));

    // The phone revokes the laptop; the laptop's requests stop working.
    let (status, body) = signed(
        &relay,
        &device,
        "DELETE",
        &format!("/v1/devices/{laptop_id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("revoked")),
        "{body}"
    );
    let (status, _) = signed(&relay, &laptop, "GET", "/v1/keys/rotation-log", None).await;
    assert_eq!(status, 401);
    let (status, _) = signed(&relay, &device, "GET", "/v1/devices/dev_nope/status", None).await;
    assert_eq!(status, 404);

    // The escrowed share is replaced by share 2 of a new split; share 1 is refused.
    let share_id = created["escrowShareId"].as_str().unwrap();
    let fresh = crypto::recovery::split(&crypto::recovery::RecoverySeed::generate());
    let (status, body) = signed(
        &relay,
        &device,
        "PUT",
        &format!("/v1/keys/shares/{share_id}"),
        Some(&json!({ "share": fresh[0].to_text().unwrap().as_str() })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = signed(
        &relay,
        &device,
        "PUT",
        &format!("/v1/keys/shares/{share_id}"),
        Some(&json!({ "share": fresh[1].to_text().unwrap().as_str() })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["splitId"], json!(fresh[1].split_id()));
    // It is sealed at rest: the database holds no share text.
    let stored = relay
        .state
        .store
        .escrow_share(share_id)
        .await
        .unwrap()
        .unwrap();
    let text = fresh[1].to_text().unwrap();
    assert!(!String::from_utf8_lossy(&stored.sealed).contains("wallet-share"));
    assert!(!stored
        .sealed
        .windows(16)
        .any(|w| text.as_bytes().windows(16).any(|t| t == w)));
    let (_, got) = signed(
        &relay,
        &device,
        "GET",
        &format!("/v1/keys/shares/{share_id}"),
        None,
    )
    .await;
    assert_eq!(
        Share::from_text(got["share"].as_str().unwrap()).unwrap(),
        fresh[1]
    );

    // The mode, and the log of everything above.
    let mode: Value = relay
        .http
        .get(format!("{}/v1/relay/mode", relay.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mode, json!({ "mode": "mobile-only" }));
    // A method the route lacks is an error in the API's shape too.
    let response = relay
        .http
        .patch(format!("{}/v1/relay/mode", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "MethodNotAllowed");
    let (_, log) = signed(
        &relay,
        &device,
        "GET",
        "/v1/keys/rotation-log?limit=100",
        None,
    )
    .await;
    let kinds: Vec<&str> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "did.created",
            "device.registered",
            "share.escrowed",
            "device.registered",
            "device.revoked",
            "share.replaced",
            "share.read"
        ]
    );

    // A taken-down account's devices no longer speak for it.
    store::Store::set_account_status(&*relay.state.store, &did, store::AccountStatus::Takendown)
        .await
        .unwrap();
    let (status, body) = signed(&relay, &device, "GET", "/v1/keys/rotation-log", None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("AccountTakedown"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_rotates_and_revokes_signing_keys() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    let (device, _, created) = onboard_lib(&relay).await;
    let did = created["did"].as_str().unwrap().to_owned();
    let first_key = created["signingKey"].as_str().unwrap().to_owned();

    let (status, rotated) = signed(&relay, &device, "POST", "/v1/relay/keys", None).await;
    assert_eq!(status, 201, "{rotated}");
    let new_key = rotated["key"]["publicKey"].as_str().unwrap().to_owned();
    assert_ne!(new_key, first_key);
    // The DID names the new key, and the relay signs with it from the new commit on.
    let state = audited(&relay, &did).await;
    assert_eq!(state.state().unwrap().signing_key(), Some(new_key.as_str()));
    assert_eq!(
        relay.state.repos.signing_key(&did).await.unwrap().did_key(),
        new_key
    );
    let (status, head) = relay
        .get(
            "com.atproto.sync.getLatestCommit",
            &format!("did={did}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(head["rev"], rotated["rev"]);
    let commit_cid: data::Cid = head["cid"].as_str().unwrap().parse().unwrap();
    let block = store::Store::get_block(&*relay.state.store, &did, &commit_cid)
        .await
        .unwrap()
        .expect("the head commit is stored");
    let commit = repo::commit::SignedCommit::from_bytes(&block).unwrap();
    commit
        .verify(&crypto::PublicKey::from_did_key(&new_key).unwrap())
        .unwrap();

    // The old key can be revoked; the active one cannot.
    let previous = rotated["previousKeyId"].as_str().unwrap();
    let active = rotated["key"]["keyId"].as_str().unwrap();
    let (status, body) = signed(
        &relay,
        &device,
        "DELETE",
        &format!("/v1/relay/keys/{active}"),
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("KeyInUse")));
    let (status, body) = signed(
        &relay,
        &device,
        "DELETE",
        &format!("/v1/relay/keys/{previous}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("revoked")),
        "{body}"
    );
    let keys = relay.state.store.relay_keys(&did).await.unwrap();
    assert!(keys
        .iter()
        .any(|k| k.key_id == previous && k.sealed.is_none()));
    // A post still works afterwards (signed with the new key).
    let (status, _) = relay
        .post(
            "com.atproto.server.createSession",
            &json!({ "identifier": did, "password": PASSWORD }),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_accounts_and_refused_registrations() {
    let Some(relay) = TestRelay::start().await else {
        return;
    };
    // The web path: a stock account; a recovery key the client sends ranks first.
    let recovery = crypto::Keypair::generate(crypto::Algorithm::K256);
    let handle = relay.new_handle("web");
    let response = relay
        .http
        .post(format!("{}/v1/accounts", relay.url))
        .json(&json!({
            "handle": handle,
            "email": format!("{}@example.com", handle.replace('.', "-")),
            "password": PASSWORD,
            "recoveryKey": recovery.did_key(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().await.unwrap();
    let did = created["did"].as_str().unwrap();
    let state = audited(&relay, did).await;
    assert_eq!(
        state.state().unwrap().rotation_keys,
        [
            recovery.did_key(),
            relay.state.secrets.plc_rotation_key.did_key()
        ]
    );

    // Ed25519 device keys are refused (P-256 and K-256 only), as is a taken handle.
    let phone = Provisioner::new(crypto::Keypair::generate(crypto::Algorithm::P256), None);
    let (_, challenge) = send(&relay, &phone.challenge()).await;
    let challenge: wallet::api::Challenge = serde_json::from_value(challenge).unwrap();
    let mut proof = phone.proof("phone", &challenge);
    proof.public_key = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK".into();
    let body = json!({
        "handle": relay.new_handle("mob"), "email": "m1@example.com", "password": PASSWORD,
        "device": proof,
    });
    let response = relay
        .http
        .post(format!("{}/v1/accounts/mobile", relay.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: Value = response.json().await.unwrap();
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("P-256 or K-256"),
        "{error}"
    );
    let response = send(
        &relay,
        &phone.create_mobile_account(
            &handle,
            "m2@example.com",
            PASSWORD,
            None,
            "phone",
            &challenge,
        ),
    )
    .await;
    assert_eq!(
        (response.0, response.1["error"].as_str()),
        (400, Some("HandleNotAvailable"))
    );
    // A handle held by an unfinished onboarding is taken too.
    let held = relay.new_handle("mob");
    let (status, onboarding) = send(
        &relay,
        &phone.create_mobile_account(&held, "m3@example.com", PASSWORD, None, "phone", &challenge),
    )
    .await;
    assert_eq!(status, 201);
    let other = Provisioner::new(crypto::Keypair::generate(crypto::Algorithm::P256), None);
    let (_, challenge) = send(&relay, &other.challenge()).await;
    let challenge: wallet::api::Challenge = serde_json::from_value(challenge).unwrap();
    let (status, body) = send(
        &relay,
        &other.create_mobile_account(&held, "m4@example.com", PASSWORD, None, "phone", &challenge),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("HandleNotAvailable"))
    );
    // The onboarding device cannot use account routes before its DID exists.
    let phone = Provisioner::new(
        phone.device_key().clone(),
        Some(onboarding["deviceId"].as_str().unwrap().to_owned()),
    );
    let (status, body) = signed(&relay, &phone, "GET", "/v1/keys/rotation-log", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("no DID yet"));
}
