//! Shared helpers for the relay's integration tests: a real PLC directory, a real relay on a
//! random loopback port with a temporary data directory, an XRPC client, and accounts.
//!
//! ```ignore
//! mod common;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn something() {
//!     let Some(relay) = common::TestRelay::start().await else { return }; // no PLC: skipped
//!     let alice = relay.create_account("alice").await;
//!     let (status, body) = relay.get("com.atproto.server.getSession", "", Some(&alice.access_jwt)).await;
//!     assert_eq!(status, 200, "{body}");
//! }
//! ```
//!
//! The PLC directory is the real `@did-plc/server` (in memory), from `e2e/`:
//! - `RELAY_TEST_PLC_URL` (e.g. `http://localhost:2582`) names one that is already running;
//! - otherwise `node e2e/plc-server.mjs` is started once per test process, on a free port, and
//!   ends with the process (it exits when its stdin closes).
//!
//! Without node or without `e2e/node_modules` (run `e2e/setup.sh`), tests that need the PLC
//! directory fail under `CI=true` and are skipped loudly otherwise.
//!
//! Each file under tests/ is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clap::Parser;
use relay::app::AppState;
use relay::config::ServeArgs;
use serde_json::{json, Value as Json};

/// The admin password of every test relay (HTTP basic `admin:<this>`).
pub const ADMIN_PASSWORD: &str = "test-admin-password";
/// The password of accounts made by [`TestRelay::create_account`].
pub const PASSWORD: &str = "correct-horse-battery-staple";

// ---------------------------------------------------------------------------------------------
// The PLC directory
// ---------------------------------------------------------------------------------------------

struct PlcProcess {
    url: String,
    // Kept open for the life of the test process: when the process ends the pipe closes and
    // the directory (started with --exit-on-stdin-close) stops.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static PLC: OnceLock<Result<String, String>> = OnceLock::new();
static PLC_PROCESS: OnceLock<PlcProcess> = OnceLock::new();

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The PLC directory's URL (`http://localhost:PORT`), starting one if needed; `None` (after a
/// loud message) when none can be had outside CI. Panics under `CI=true` instead of skipping.
pub fn plc_url() -> Option<String> {
    let result = PLC.get_or_init(|| {
        if let Ok(url) = std::env::var("RELAY_TEST_PLC_URL") {
            let url = url.trim().trim_end_matches('/').to_owned();
            if !url.is_empty() {
                return Ok(url);
            }
        }
        start_plc_process()
    });
    match result {
        Ok(url) => Some(url.clone()),
        Err(why) if in_ci() => panic!("no PLC directory for the relay tests: {why}"),
        Err(why) => {
            eprintln!(
                "\n*** SKIPPED: this test needs a PLC directory and none is available: {why}\n\
                 *** Run e2e/setup.sh (needs node and npm), or set RELAY_TEST_PLC_URL. ***\n"
            );
            None
        }
    }
}

fn start_plc_process() -> Result<String, String> {
    let e2e = workspace_root().join("e2e");
    if !e2e.join("node_modules/@did-plc/server").is_dir() {
        return Err(format!(
            "{} is missing (run e2e/setup.sh)",
            e2e.join("node_modules/@did-plc/server").display()
        ));
    }
    let mut child = Command::new("node")
        .arg("plc-server.mjs")
        .arg("--port")
        .arg("0")
        .arg("--exit-on-stdin-close")
        .current_dir(&e2e)
        .env("LOG_ENABLED", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    // Drain both streams for the life of the process so the directory never blocks on a pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("PLC_URL=") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let errors = Arc::new(Mutex::new(String::new()));
    let errors_sink = errors.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut e = errors_sink.lock().expect("not poisoned");
            if e.len() < 4096 {
                e.push_str(&line);
                e.push('\n');
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => {
            let _ = PLC_PROCESS.set(PlcProcess {
                url: url.clone(),
                _stdin: Mutex::new(stdin),
                _child: Mutex::new(child),
            });
            Ok(url)
        }
        Err(_) => {
            let _ = child.kill();
            Err(format!(
                "node e2e/plc-server.mjs did not start: {}",
                errors.lock().expect("not poisoned").trim()
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The relay
// ---------------------------------------------------------------------------------------------

#[derive(Parser)]
struct ArgsParser {
    #[command(flatten)]
    args: ServeArgs,
}

/// A relay serving on `127.0.0.1:<random port>` in this test's runtime, with its own temporary
/// data directory (removed when the value is dropped).
pub struct TestRelay {
    /// `http://localhost:PORT`, the relay's public URL.
    pub url: String,
    pub port: u16,
    /// The server's state: the store (`state.store`), config, secrets, repos.
    pub state: Arc<AppState>,
    pub plc_url: String,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
}

/// An account made through `com.atproto.server.createAccount`.
#[derive(Clone, Debug)]
pub struct TestAccount {
    pub did: String,
    pub handle: String,
    pub email: String,
    pub password: String,
    pub access_jwt: String,
    pub refresh_jwt: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A short unique lower-case suffix (handles and emails of test accounts).
pub fn unique_suffix() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut v = (u64::from(t) << 16) ^ (u64::from(std::process::id()) << 40) ^ n;
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::new();
    for _ in 0..6 {
        out.push(alphabet[(v % 36) as usize] as char);
        v /= 36;
    }
    out.push(alphabet[(n % 36) as usize] as char);
    out
}

impl TestRelay {
    /// A relay in dev mode (`hostname localhost`, handles `*.test`), no invite codes, no rate
    /// limits, the PLC directory from [`plc_url`]. `None` when the test must be skipped.
    pub async fn start() -> Option<TestRelay> {
        TestRelay::start_with(&[]).await
    }

    /// Like [`TestRelay::start`], with extra `relay serve` flags (`["--invite-required", "true"]`);
    /// a flag given here replaces the default one.
    pub async fn start_with(extra: &[&str]) -> Option<TestRelay> {
        let plc_url = plc_url()?;
        Some(TestRelay::start_with_plc(&plc_url, extra).await)
    }

    /// A relay using the given PLC directory URL (for tests that need no working directory, pass
    /// any URL).
    pub async fn start_with_plc(plc_url: &str, extra: &[&str]) -> TestRelay {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let port_text = port.to_string();
        let data_text = data_dir.path().display().to_string();
        let defaults: [(&str, &str); 9] = [
            ("--hostname", "localhost"),
            ("--port", &port_text),
            ("--bind", "127.0.0.1"),
            ("--dev-mode", "true"),
            ("--data-directory", &data_text),
            ("--did-plc-url", plc_url),
            ("--invite-required", "false"),
            ("--rate-limits-enabled", "false"),
            ("--admin-password", ADMIN_PASSWORD),
        ];
        // A flag given in `extra` replaces the default (clap refuses a flag given twice).
        let mut argv: Vec<&str> = vec!["relay"];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                argv.extend([flag, value]);
            }
        }
        argv.extend_from_slice(extra);
        let args = ArgsParser::try_parse_from(&argv)
            .unwrap_or_else(|e| panic!("bad test relay flags {argv:?}: {e}"))
            .args;
        let state = relay::serve::build_state(&args)
            .await
            .unwrap_or_else(|e| panic!("the relay did not start: {e}"));
        let app = relay::http::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        TestRelay {
            url: format!("http://localhost:{port}"),
            port,
            state,
            plc_url: plc_url.to_owned(),
            http,
            data_dir,
        }
    }

    /// `http://localhost:PORT/xrpc/<nsid>`.
    pub fn xrpc_url(&self, nsid: &str) -> String {
        format!("{}/xrpc/{nsid}", self.url)
    }

    /// A GET query; `query` is the raw query string without `?`. Returns the status and the
    /// JSON body (`Json::Null` when the body is empty or not JSON).
    pub async fn get(&self, nsid: &str, query: &str, token: Option<&str>) -> (u16, Json) {
        let mut url = self.xrpc_url(nsid);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read_json(request.send().await.expect("the relay answers")).await
    }

    /// A POST procedure with a JSON body.
    pub async fn post(&self, nsid: &str, body: &Json, token: Option<&str>) -> (u16, Json) {
        let mut request = self.http.post(self.xrpc_url(nsid)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read_json(request.send().await.expect("the relay answers")).await
    }

    /// A POST procedure without a body (refreshSession, deleteSession, activateAccount).
    pub async fn post_empty(&self, nsid: &str, token: Option<&str>) -> (u16, Json) {
        let mut request = self.http.post(self.xrpc_url(nsid));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read_json(request.send().await.expect("the relay answers")).await
    }

    /// A POST procedure with admin basic auth.
    pub async fn post_admin(&self, nsid: &str, body: &Json) -> (u16, Json) {
        let request = self
            .http
            .post(self.xrpc_url(nsid))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(body);
        read_json(request.send().await.expect("the relay answers")).await
    }

    /// A fresh handle under the test domain: `<prefix><unique>.test` (prefix up to 10 chars).
    pub fn new_handle(&self, prefix: &str) -> String {
        let prefix: String = prefix.chars().take(10).collect();
        format!("{prefix}{}.test", unique_suffix())
    }

    /// Creates an account (handle `<prefix><unique>.test`, email `<same>@example.com`, password
    /// [`PASSWORD`]) and returns its tokens. Panics if the relay refuses.
    pub async fn create_account(&self, prefix: &str) -> TestAccount {
        let handle = self.new_handle(prefix);
        let email = format!("{}@example.com", handle.trim_end_matches(".test"));
        let (status, body) = self
            .post(
                "com.atproto.server.createAccount",
                &json!({ "handle": handle, "email": email, "password": PASSWORD }),
                None,
            )
            .await;
        assert_eq!(status, 200, "createAccount {handle}: {body}");
        TestAccount {
            did: body["did"].as_str().expect("did").to_owned(),
            handle: body["handle"].as_str().expect("handle").to_owned(),
            email,
            password: PASSWORD.to_owned(),
            access_jwt: body["accessJwt"].as_str().expect("accessJwt").to_owned(),
            refresh_jwt: body["refreshJwt"].as_str().expect("refreshJwt").to_owned(),
        }
    }

    /// Logs in with `identifier` and `password`; returns the status and body.
    pub async fn login(&self, identifier: &str, password: &str) -> (u16, Json) {
        self.post(
            "com.atproto.server.createSession",
            &json!({ "identifier": identifier, "password": password }),
            None,
        )
        .await
    }

    /// Every firehose event sequenced so far, decoded as `(seq, kind, body)` with the body in
    /// the JSON form (`$link`/`$bytes`).
    pub async fn events(&self) -> Vec<(i64, String, Json)> {
        use store::Store;
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .state
                .store
                .events_after(after, 1000)
                .await
                .expect("events_after");
            if page.is_empty() {
                return out;
            }
            for event in page {
                after = event.seq;
                let (kind, body) = decode_frame(&event.frame);
                out.push((event.seq, kind, body));
            }
        }
    }

    /// The events of one DID, in order.
    pub async fn events_for(&self, did: &str) -> Vec<(i64, String, Json)> {
        self.events()
            .await
            .into_iter()
            .filter(|(_, _, body)| {
                body.get("did").and_then(Json::as_str) == Some(did)
                    || body.get("repo").and_then(Json::as_str) == Some(did)
            })
            .collect()
    }
}

/// Splits an event-stream frame into its header's `t` and its body (as JSON).
pub fn decode_frame(frame: &[u8]) -> (String, Json) {
    let (header, used) = data::cbor::decode_prefix(frame).expect("a CBOR header");
    let body = data::cbor::decode(&frame[used..]).expect("a CBOR body");
    let kind = match &header {
        data::Value::Map(m) => m
            .get("t")
            .and_then(data::Value::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    (kind, data::json::to_json(&body))
}

async fn read_json(response: reqwest::Response) -> (u16, Json) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
    (status, body)
}

// ---------------------------------------------------------------------------------------------
// Raw bodies and response headers (records and blobs tests)
// ---------------------------------------------------------------------------------------------

impl TestRelay {
    /// A POST with a raw body (uploadBlob, malformed JSON); no `Content-Type` when `None`.
    pub async fn post_bytes(
        &self,
        nsid: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> (u16, Json) {
        let (status, _, body) = self
            .post_bytes_with_headers(nsid, content_type, body, token)
            .await;
        (status, body)
    }

    /// [`TestRelay::post_bytes`], also returning the response headers.
    pub async fn post_bytes_with_headers(
        &self,
        nsid: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Json) {
        let mut request = self.http.post(self.xrpc_url(nsid)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read_json_with_headers(request.send().await.expect("the relay answers")).await
    }

    /// [`TestRelay::post`], also returning the response headers.
    pub async fn post_with_headers(
        &self,
        nsid: &str,
        body: &Json,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Json) {
        let bytes = serde_json::to_vec(body).expect("JSON");
        self.post_bytes_with_headers(nsid, Some("application/json"), bytes, token)
            .await
    }

    /// [`TestRelay::get`], also returning the response headers.
    pub async fn get_with_headers(
        &self,
        nsid: &str,
        query: &str,
        token: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Json) {
        let mut url = self.xrpc_url(nsid);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read_json_with_headers(request.send().await.expect("the relay answers")).await
    }
}

async fn read_json_with_headers(
    response: reqwest::Response,
) -> (u16, reqwest::header::HeaderMap, Json) {
    let headers = response.headers().clone();
    let (status, body) = read_json(response).await;
    (status, headers, body)
}

// ---------------------------------------------------------------------------------------------
// Raw responses and account keys (sync and firehose tests)
// ---------------------------------------------------------------------------------------------

/// Who a raw request authenticates as.
#[derive(Clone, Copy, Debug)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Admin,
}

impl TestRelay {
    /// A GET returning the status, the headers and the raw body (CARs, blobs).
    pub async fn get_raw(
        &self,
        nsid: &str,
        query: &str,
        auth: Auth<'_>,
    ) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let mut url = self.xrpc_url(nsid);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        let mut request = self.http.get(url);
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Admin => request.basic_auth("admin", Some(ADMIN_PASSWORD)),
        };
        let response = request.send().await.expect("the relay answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default().to_vec();
        (status, headers, body)
    }

    /// The account's repo signing key, as its DID document on the PLC directory names it.
    pub async fn signing_key(&self, did: &str) -> crypto::PublicKey {
        let response = self
            .http
            .get(format!("{}/{did}", self.plc_url))
            .send()
            .await
            .expect("the PLC directory answers");
        assert!(response.status().is_success(), "{did} resolves");
        let doc: Json = response.json().await.expect("a DID document");
        let doc = identity::DidDocument::parse(did, &doc).expect("a valid DID document");
        let key = doc.signing_key().expect("an atproto signing key");
        crypto::PublicKey::from_did_key(&key).expect("a did:key")
    }
}

// ---------------------------------------------------------------------------------------------
// A DNS server
// ---------------------------------------------------------------------------------------------

/// A DNS server on loopback answering TXT queries from a table (name → TXT values); other
/// names get NXDOMAIN. The table can change while it runs.
pub struct MockDns {
    pub addr: std::net::SocketAddr,
    records: Arc<Mutex<std::collections::HashMap<String, Vec<String>>>>,
}

impl MockDns {
    pub async fn start() -> MockDns {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let records: Arc<Mutex<std::collections::HashMap<String, Vec<String>>>> = Arc::default();
        let table = records.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let answer = answer(&buf[..n], &table.lock().unwrap());
                let _ = socket.send_to(&answer, from).await;
            }
        });
        MockDns { addr, records }
    }

    pub fn set(&self, name: &str, values: &[&str]) {
        self.records.lock().unwrap().insert(
            name.to_owned(),
            values.iter().map(|v| v.to_string()).collect(),
        );
    }
}

/// Answers a standard query: the question echoed, then the TXT records of its name.
fn answer(query: &[u8], table: &std::collections::HashMap<String, Vec<String>>) -> Vec<u8> {
    let mut labels = Vec::new();
    let mut pos = 12;
    while query[pos] != 0 {
        let len = query[pos] as usize;
        labels.push(String::from_utf8_lossy(&query[pos + 1..pos + 1 + len]).to_string());
        pos += 1 + len;
    }
    let question_end = pos + 5;
    let name = labels.join(".");
    let values = table.get(&name);
    let mut out = query[..2].to_vec();
    out.extend_from_slice(if values.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x81, 0x83]
    });
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&(values.map_or(0, Vec::len) as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&query[12..question_end]);
    for value in values.into_iter().flatten() {
        out.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        out.extend_from_slice(&((value.len() + 1) as u16).to_be_bytes());
        out.push(value.len() as u8);
        out.extend_from_slice(value.as_bytes());
    }
    out
}
