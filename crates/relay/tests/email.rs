//! The email flows over real HTTP and real SMTP: the relay mails through its SMTP client to a
//! local sink (aiosmtpd, from e2e/.venv: `e2e/setup.sh` installs it), and each test reads the
//! code out of the received message, as a person would.
//!
//! Without the venv the tests are skipped loudly, and fail under `CI=true`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::{TestAccount, TestRelay, PASSWORD};
use serde_json::{json, Value as Json};
use store::email::EmailTokenStore;
use store::oauth::OAuthStore;
use store::Store;

// ---------------------------------------------------------------------------------------------
// The SMTP sink
// ---------------------------------------------------------------------------------------------

/// Runs aiosmtpd's `Controller` with the `Mailbox` handler: every message lands as a file in
/// a Maildir. It stops when its stdin closes (when the test process ends).
///
/// `plain`: no TLS, no AUTH. `starttls`: STARTTLS required before anything else, and AUTH
/// (user `user`, password `p@ss`). `tls`: TLS from the first byte, and the same AUTH. The TLS
/// modes make a fresh CA and a certificate it issues for `localhost` and 127.0.0.1; the CA's
/// is written as `cert.der` next to the Maildir for the client to trust.
const SINK: &str = r#"
import datetime, ipaddress, os, socket, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult
d, mode = sys.argv[1], sys.argv[2]
kw = {}
if mode != "plain":
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    now = datetime.datetime.now(datetime.timezone.utc)
    def make(subject, issuer, public_key, signing_key, ca):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return b.sign(signing_key, hashes.SHA256())
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test mail CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    ca_cert = make(ca_name, ca_name, ca_key.public_key(), ca_key, True)
    cert = make(leaf_name, ca_name, key.public_key(), ca_key, False)
    pem, der, keyfile = (os.path.join(d, n) for n in ("cert.pem", "cert.der", "key.pem"))
    open(pem, "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(der, "wb").write(ca_cert.public_bytes(serialization.Encoding.DER))
    open(keyfile, "wb").write(key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pem, keyfile)
    def auth(server, session, envelope, mechanism, data):
        # handled=False: the server answers 535 itself on a failure.
        return AuthResult(success=(data.login == b"user" and data.password == b"p@ss"),
            handled=False)
    if mode == "starttls":
        kw = dict(authenticator=auth, tls_context=ctx, require_starttls=True)
    else:
        # aiosmtpd does not count TLS from the start as TLS for AUTH; it is.
        kw = dict(authenticator=auth, auth_require_tls=False, ssl_context=ctx)
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
c = Controller(Mailbox(os.path.join(d, "mail")), hostname="127.0.0.1", port=port,
    ready_timeout=60, **kw)
c.start()
print("SMTP_PORT=%d" % port, flush=True)
sys.stdin.read()
c.stop()
"#;

struct SmtpSink {
    port: u16,
    maildir: tempfile::TempDir,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl SmtpSink {
    /// A sink on a free loopback port; `None` (after a loud message) when aiosmtpd is not
    /// installed, outside CI.
    fn start() -> Option<SmtpSink> {
        SmtpSink::start_mode("plain")
    }

    /// A sink in `mode` (see [`SINK`]).
    fn start_mode(mode: &str) -> Option<SmtpSink> {
        let venv = std::env::var_os("E2E_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("e2e/.venv"));
        let python = venv.join("bin/python");
        let available = python.exists()
            && Command::new(&python)
                .args(["-c", "import aiosmtpd"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !available {
            let why = format!(
                "aiosmtpd is not installed in {} (run e2e/setup.sh)",
                venv.display()
            );
            assert!(!in_ci(), "{why}");
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let maildir = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(&python)
            .args(["-c", SINK])
            .arg(maildir.path())
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start aiosmtpd");
        let stdout = child.stdout.take().expect("stdout");
        let mut port = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read the sink's output");
            if let Some(p) = line.strip_prefix("SMTP_PORT=") {
                port = Some(p.trim().parse().expect("a port"));
                break;
            }
        }
        let port = port.expect("aiosmtpd printed its port");
        Some(SmtpSink {
            port,
            maildir,
            _stdin: Mutex::new(child.stdin.take().expect("stdin")),
            _child: Mutex::new(child),
        })
    }

    /// The TLS modes' certificate.
    fn certificate(&self) -> Vec<u8> {
        std::fs::read(self.maildir.path().join("cert.der")).expect("the sink's certificate")
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far for `to` (raw, oldest first), taken out of the mailbox.
    fn take_for(&self, to: &str) -> Vec<String> {
        let dir = self.maildir.path().join("mail/new");
        let mut found: Vec<(std::time::SystemTime, PathBuf, String)> = Vec::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let addressed = text
                .lines()
                .take_while(|l| !l.is_empty())
                .any(|l| l.eq_ignore_ascii_case(&format!("To: {to}")));
            if addressed {
                let modified = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                found.push((modified, path, text));
            }
        }
        found.sort();
        found
            .into_iter()
            .map(|(_, path, text)| {
                std::fs::remove_file(path).expect("remove a read message");
                text
            })
            .collect()
    }

    /// The one message `to` received (the relay answers after the server accepted it; the
    /// sink writes the file before accepting).
    async fn message_for(&self, to: &str) -> String {
        for _ in 0..100 {
            let mut messages = self.take_for(to);
            if !messages.is_empty() {
                assert_eq!(messages.len(), 1, "one message for {to}: {messages:?}");
                return messages.remove(0);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message arrived for {to}");
    }

    /// The code in the one message `to` received, and the message's subject.
    async fn code_for(&self, to: &str) -> (String, String) {
        let message = self.message_for(to).await;
        let subject = message
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .expect("a subject")
            .to_owned();
        (find_code(&message).expect("a code in the message"), subject)
    }
}

/// `ABCDE-23456` in a message body.
fn find_code(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| {
            w.len() == 11
                && w.as_bytes()[5] == b'-'
                && w.chars()
                    .enumerate()
                    .all(|(i, c)| i == 5 || c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        })
        .map(str::to_owned)
}

/// A sink and a relay mailing through it.
async fn start() -> Option<(SmtpSink, TestRelay)> {
    let sink = SmtpSink::start()?;
    let url = sink.url();
    let relay = TestRelay::start_with(&[
        "--email-smtp-url",
        &url,
        "--email-from-address",
        "pds@example.com",
    ])
    .await?;
    Some((sink, relay))
}

fn error_name(body: &Json) -> &str {
    body["error"].as_str().unwrap_or("")
}

async fn session_of(relay: &TestRelay, who: &TestAccount) -> Json {
    let (status, body) = relay
        .get("com.atproto.server.getSession", "", Some(&who.access_jwt))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Confirms `who`'s email through the flow.
async fn confirm(sink: &SmtpSink, relay: &TestRelay, who: &TestAccount) {
    let (status, body) = relay
        .post_empty(
            "com.atproto.server.requestEmailConfirmation",
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, _) = sink.code_for(&who.email).await;
    let (status, body) = relay
        .post(
            "com.atproto.server.confirmEmail",
            &json!({"email": who.email, "token": code}),
            Some(&who.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------
// The flows
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirming_the_email_takes_the_mailed_code() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    assert_eq!(session_of(&relay, &alice).await["emailConfirmed"], false);

    let (status, body) = relay
        .post_empty(
            "com.atproto.server.requestEmailConfirmation",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let message = sink.message_for(&alice.email).await;
    assert!(message.contains("From: pds@example.com"), "{message}");
    assert!(message.contains("Subject: Confirm your email"), "{message}");
    assert!(message.contains(&alice.handle), "{message}");
    let code = find_code(&message).expect("a code");

    let confirm = |email: String, token: String| {
        let relay = &relay;
        let jwt = alice.access_jwt.clone();
        async move {
            relay
                .post(
                    "com.atproto.server.confirmEmail",
                    &json!({"email": email, "token": token}),
                    Some(&jwt),
                )
                .await
        }
    };
    let (status, body) = confirm("other@example.com".into(), code.clone()).await;
    assert_eq!((status, error_name(&body)), (400, "InvalidEmail"), "{body}");
    let (status, body) = confirm(alice.email.clone(), "AAAAA-22222".into()).await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    // Codes are read out of an email and retyped: case and spaces around do not matter.
    let (status, body) = confirm(
        alice.email.to_uppercase(),
        format!(" {} ", code.to_lowercase()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(session_of(&relay, &alice).await["emailConfirmed"], true);
    // Used once.
    let (status, body) = confirm(alice.email.clone(), code).await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_older_than_fifteen_minutes_is_expired() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, _) = relay
        .post_empty(
            "com.atproto.server.requestEmailConfirmation",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200);
    let (code, _) = sink.code_for(&alice.email).await;
    // Backdate the stored code by 16 minutes.
    let now = relay::auth::now_secs();
    relay
        .state
        .store
        .put_email_token(&alice.did, "confirm_email", &code, now - 16 * 60)
        .await
        .unwrap();
    let (status, body) = relay
        .post(
            "com.atproto.server.confirmEmail",
            &json!({"email": alice.email, "token": code}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!((status, error_name(&body)), (400, "ExpiredToken"), "{body}");
    assert_eq!(session_of(&relay, &alice).await["emailConfirmed"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_confirmed_email_takes_a_code_sent_to_the_old_one() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;

    // Unconfirmed: no code needed, none sent.
    let (status, body) = relay
        .post_empty(
            "com.atproto.server.requestEmailUpdate",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(
        (status, &body["tokenRequired"]),
        (200, &json!(false)),
        "{body}"
    );
    let first = format!("first-{}", alice.email);
    let (status, body) = relay
        .post(
            "com.atproto.server.updateEmail",
            &json!({"email": first}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(sink.take_for(&alice.email).is_empty());
    let alice = TestAccount {
        email: first.clone(),
        ..alice
    };
    confirm(&sink, &relay, &alice).await;

    // Confirmed: the code goes to the current address.
    let (status, body) = relay
        .post_empty(
            "com.atproto.server.requestEmailUpdate",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(
        (status, &body["tokenRequired"]),
        (200, &json!(true)),
        "{body}"
    );
    let (code, subject) = sink.code_for(&first).await;
    assert_eq!(subject, "Email update requested");
    let update = |body: Json| {
        let relay = &relay;
        let jwt = alice.access_jwt.clone();
        async move {
            relay
                .post("com.atproto.server.updateEmail", &body, Some(&jwt))
                .await
        }
    };
    let second = format!("second-{}", alice.email);
    let (status, body) = update(json!({"email": second})).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "TokenRequired"),
        "{body}"
    );
    let (status, body) = update(json!({"email": second, "token": "AAAAA-22222"})).await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    let (status, body) = update(json!({"email": "not an address", "token": code})).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    // Refused requests change nothing and leave the code usable.
    let (status, body) = update(json!({"email": bob.email, "token": code})).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    let (status, body) =
        update(json!({"email": second, "token": code, "emailAuthFactor": true})).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    assert_eq!(session_of(&relay, &alice).await["email"], json!(first));
    let (status, body) = update(json!({"email": second, "token": code})).await;
    assert_eq!(status, 200, "{body}");
    let session = session_of(&relay, &alice).await;
    assert_eq!(session["email"], json!(second));
    assert_eq!(
        session["emailConfirmed"], false,
        "a new address is unconfirmed"
    );

    // Someone else's address is refused (and loses nothing).
    let (status, body) = update(json!({"email": bob.email})).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("already in use"));
    assert_eq!(session_of(&relay, &alice).await["email"], json!(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_ends_every_session() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, login) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 200, "{login}");
    let refresh = login["refreshJwt"].as_str().unwrap().to_owned();
    // An OAuth session (as the authorization server stores one after a grant).
    let oauth_session = |id: &str, did: &str| store::oauth::OAuthSession {
        id: id.into(),
        did: did.into(),
        client_id: "https://app.example.com/client-metadata.json".into(),
        client_auth: "none".into(),
        dpop_jkt: "jkt".into(),
        scope: "atproto".into(),
        device_id: None,
        code: None,
        refresh_token: format!("refresh-{id}"),
        refresh_expires_at: relay::auth::now_secs() + 3600,
        created_at: relay::auth::now_secs(),
        updated_at: relay::auth::now_secs(),
        expires_at: None,
    };
    let bob = relay.create_account("bob").await;
    for (id, did) in [("alice-app", &alice.did), ("bob-app", &bob.did)] {
        relay
            .state
            .store
            .create_oauth_session(oauth_session(id, did))
            .await
            .unwrap();
    }

    // An unknown address answers the same, and nothing is sent.
    let (status, body) = relay
        .post(
            "com.atproto.server.requestPasswordReset",
            &json!({"email": "nobody@example.com"}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(sink.take_for("nobody@example.com").is_empty());

    let (status, body) = relay
        .post(
            "com.atproto.server.requestPasswordReset",
            &json!({"email": alice.email.to_uppercase()}),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, subject) = sink.code_for(&alice.email).await;
    assert_eq!(subject, "Password reset requested");

    let reset = |token: &str, password: &str| {
        let body = json!({"token": token, "password": password});
        let relay = &relay;
        async move {
            relay
                .post("com.atproto.server.resetPassword", &body, None)
                .await
        }
    };
    let (status, body) = reset("AAAAA-22222", "new-password-1").await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    let (status, body) = reset(&code, &"x".repeat(257)).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    let (status, body) = reset(&code, "new-password-1").await;
    assert_eq!(status, 200, "{body}");

    // Both sessions' refresh tokens are revoked; the old password is gone.
    for token in [&refresh, &alice.refresh_jwt] {
        let (status, body) = relay
            .post_empty("com.atproto.server.refreshSession", Some(token))
            .await;
        assert_eq!((status, error_name(&body)), (400, "ExpiredToken"), "{body}");
    }
    let oauth = |id: &'static str| relay.state.store.oauth_session(id);
    assert!(
        oauth("alice-app").await.unwrap().is_none(),
        "OAuth session revoked"
    );
    assert!(oauth("bob-app").await.unwrap().is_some(), "only Alice's");
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 401);
    let (status, body) = relay.login(&alice.handle, "new-password-1").await;
    assert_eq!(status, 200, "{body}");
    // The code was used.
    let (status, body) = reset(&code, "new-password-2").await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_account_purges_it_everywhere() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    // A blob referenced by a record, so its file exists.
    let (status, upload) = relay
        .post_bytes(
            "com.atproto.repo.uploadBlob",
            Some("image/png"),
            b"\x89PNG\r\n\x1a\n not really a picture".to_vec(),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{upload}");
    let blob = upload["blob"].clone();
    let cid = blob["ref"]["$link"].as_str().unwrap().to_owned();
    let (status, body) = relay
        .post(
            "com.atproto.repo.createRecord",
            &json!({"repo": alice.did, "collection": "app.bsky.feed.post", "record": {
                "$type": "app.bsky.feed.post", "text": "hi", "createdAt": "2026-11-25T12:00:00.000Z",
                "embed": {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "x"}]},
            }}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let blob_file = relay.state.config.blob_dir.join(&alice.did).join(&cid);
    assert!(blob_file.exists(), "{}", blob_file.display());

    let (status, body) = relay
        .post_empty(
            "com.atproto.server.requestAccountDelete",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, subject) = sink.code_for(&alice.email).await;
    assert_eq!(subject, "Account deletion requested");

    let delete = |password: &str, token: &str| {
        let body = json!({"did": alice.did, "password": password, "token": token});
        let relay = &relay;
        async move {
            relay
                .post("com.atproto.server.deleteAccount", &body, None)
                .await
        }
    };
    let (status, body) = delete("wrong password", &code).await;
    assert_eq!(
        (status, error_name(&body)),
        (401, "AuthenticationRequired"),
        "{body}"
    );
    let (status, body) = delete(PASSWORD, "AAAAA-22222").await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    // Bob's code is not Alice's.
    let (status, _) = relay
        .post_empty(
            "com.atproto.server.requestAccountDelete",
            Some(&bob.access_jwt),
        )
        .await;
    assert_eq!(status, 200);
    let (bob_code, _) = sink.code_for(&bob.email).await;
    let (status, body) = delete(PASSWORD, &bob_code).await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");

    let (status, body) = delete(PASSWORD, &code).await;
    assert_eq!(status, 200, "{body}");

    // Gone: login, repo, records, blob (row and file), sessions.
    let (status, _) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(status, 401);
    let (status, body) = relay
        .get(
            "com.atproto.sync.getRepo",
            &format!("did={}", alice.did),
            None,
        )
        .await;
    assert_eq!((status, error_name(&body)), (400, "RepoNotFound"), "{body}");
    let (status, body) = relay
        .get(
            "com.atproto.sync.getBlob",
            &format!("did={}&cid={cid}", alice.did),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(!blob_file.exists());
    assert!(!relay.state.config.blob_dir.join(&alice.did).exists());
    let (status, body) = relay
        .post_empty(
            "com.atproto.server.refreshSession",
            Some(&alice.refresh_jwt),
        )
        .await;
    assert_ne!(status, 200, "{body}");
    assert!(relay
        .state
        .store
        .account_by_did(&alice.did)
        .await
        .unwrap()
        .is_none());
    // The firehose keeps only the final #account.
    let events = relay.events_for(&alice.did).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (_, kind, body) = &events[0];
    assert_eq!(kind, "#account");
    assert_eq!(body["active"], false);
    assert_eq!(body["status"], "deleted");
    // Bob is untouched.
    let (status, _) = relay.login(&bob.handle, PASSWORD).await;
    assert_eq!(status, 200);
    // Asking again finds no account.
    let (status, body) = delete(PASSWORD, &code).await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_cannot_ask_for_codes() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let (status, body) = relay
        .post(
            "com.atproto.server.createAppPassword",
            &json!({"name": "app", "privileged": true}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, login) = relay
        .login(&alice.handle, body["password"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{login}");
    let app_jwt = login["accessJwt"].as_str().unwrap();
    for nsid in [
        "com.atproto.server.requestEmailConfirmation",
        "com.atproto.server.requestEmailUpdate",
        "com.atproto.server.requestAccountDelete",
        "com.atproto.identity.requestPlcOperationSignature",
    ] {
        let (status, body) = relay.post_empty(nsid, Some(app_jwt)).await;
        assert_eq!(
            (status, error_name(&body)),
            (400, "InvalidToken"),
            "{nsid}: {body}"
        );
    }
    let (status, body) = relay
        .post(
            "com.atproto.server.updateEmail",
            &json!({"email": "thief@example.com"}),
            Some(app_jwt),
        )
        .await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    assert!(sink.take_for(&alice.email).is_empty());

    // The full session may; the PLC code is mailed for signPlcOperation.
    let (status, body) = relay
        .post_empty(
            "com.atproto.identity.requestPlcOperationSignature",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (code, subject) = sink.code_for(&alice.email).await;
    assert_eq!(subject, "Identity change requested");
    let (stored, _) = relay
        .state
        .store
        .email_token(&alice.did, "plc_operation")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, code);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_codes_when_the_email_factor_is_on() {
    let Some((sink, relay)) = start().await else {
        return;
    };
    let alice = relay.create_account("alice").await;
    // Refused on an unconfirmed address (the code might never arrive).
    let (status, body) = relay
        .post(
            "com.atproto.server.updateEmail",
            &json!({"email": alice.email, "emailAuthFactor": true}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(
        (status, error_name(&body)),
        (400, "InvalidRequest"),
        "{body}"
    );
    confirm(&sink, &relay, &alice).await;
    let (status, _) = relay
        .post_empty(
            "com.atproto.server.requestEmailUpdate",
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200);
    let (code, _) = sink.code_for(&alice.email).await;
    let (status, body) = relay
        .post(
            "com.atproto.server.updateEmail",
            &json!({"email": alice.email, "emailAuthFactor": true, "token": code}),
            Some(&alice.access_jwt),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(session_of(&relay, &alice).await["emailAuthFactor"], true);

    let (status, body) = relay.login(&alice.handle, PASSWORD).await;
    assert_eq!(
        (status, error_name(&body)),
        (401, "AuthFactorTokenRequired"),
        "{body}"
    );
    let (code, subject) = sink.code_for(&alice.email).await;
    assert_eq!(subject, "Your sign-in code");
    let login = |token: &str| {
        let body =
            json!({"identifier": alice.handle, "password": PASSWORD, "authFactorToken": token});
        let relay = &relay;
        async move {
            relay
                .post("com.atproto.server.createSession", &body, None)
                .await
        }
    };
    let (status, body) = login("AAAAA-22222").await;
    assert_eq!((status, error_name(&body)), (400, "InvalidToken"), "{body}");
    let (status, body) = login(&code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["emailAuthFactor"], true);
    // A wrong password never mails a code.
    let (status, _) = relay.login(&alice.handle, "wrong").await;
    assert_eq!(status, 401);
    assert!(sink.take_for(&alice.email).is_empty());
}

// ---------------------------------------------------------------------------------------------
// `relay email test`
// ---------------------------------------------------------------------------------------------

fn relay_email_test(args: &[&str], data_dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["email", "test"])
        .args(args)
        .env_remove("PDS_EMAIL_SMTP_URL")
        .env_remove("PDS_EMAIL_FROM_ADDRESS")
        .env_remove("RELAY_CONFIG")
        .env("PDS_DATA_DIRECTORY", data_dir)
        .output()
        .expect("run relay email test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_email_test_sends_through_the_configured_server() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let url = sink.url();
    let (ok, out) = relay_email_test(
        &[
            "carol@example.com",
            "--email-smtp-url",
            &url,
            "--hostname",
            "pds.example.com",
        ],
        data.path(),
    );
    assert!(ok, "{out}");
    assert!(out.contains("sent: the mail server accepted"), "{out}");
    let message = sink.message_for("carol@example.com").await;
    assert!(
        message.contains("From: noreply@pds.example.com"),
        "{message}"
    );
    assert!(message.contains("Subject: Test message from pds.example.com"));

    // Each usual mistake is named, with what to change.
    for (url, says) in [
        (
            "smtp.example.com:587",
            "must start with smtp:// or smtps://",
        ),
        ("smtp://user:p@ss@127.0.0.1:25", "must be percent-encoded"),
        ("smtp://127.0.0.1:notaport", "port must be a number"),
        ("smtps://127.0.0.1:587", "write smtp://"),
    ] {
        let (ok, out) =
            relay_email_test(&["carol@example.com", "--email-smtp-url", url], data.path());
        assert!(!ok, "{url}: {out}");
        assert!(out.contains(says), "{url}: {out}");
    }
    // Nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (ok, out) = relay_email_test(
        &[
            "carol@example.com",
            "--email-smtp-url",
            &format!("smtp://127.0.0.1:{closed}"),
        ],
        data.path(),
    );
    assert!(!ok, "{out}");
    assert!(out.contains("cannot connect to 127.0.0.1:"), "{out}");
    assert!(out.contains("check the host and port"), "{out}");
    // Credentials for a server that offers no AUTH.
    let (ok, out) = relay_email_test(
        &[
            "carol@example.com",
            "--email-smtp-url",
            &format!("smtp://user:pw@127.0.0.1:{}", sink.port),
        ],
        data.path(),
    );
    assert!(!ok, "{out}");
    assert!(out.contains("offers no authentication"), "{out}");
    // No SMTP URL: the outbox, and a line saying how to set one.
    let (ok, out) = relay_email_test(&["carol@example.com"], data.path());
    assert!(ok, "{out}");
    assert!(out.contains("PDS_EMAIL_SMTP_URL is not set"), "{out}");
    assert_eq!(
        std::fs::read_dir(data.path().join("outbox"))
            .unwrap()
            .count(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// TLS and AUTH
// ---------------------------------------------------------------------------------------------

fn client(url: &str, root: Vec<u8>) -> relay::mail::smtp::SmtpClient {
    let settings = relay::mail::smtp_url::parse_smtp_url(url).expect("a good URL");
    relay::mail::smtp::SmtpClient::new(settings, "pds.example.com".to_owned())
        .with_root_certificate(root)
        .expect("a usable certificate")
}

const TEST_MESSAGE: &[u8] =
    b"From: pds@example.com\r\nTo: dave@example.com\r\nSubject: hello\r\n\r\n.a line with a dot\r\nABCDE-23456\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_then_auth() {
    let Some(sink) = SmtpSink::start_mode("starttls") else {
        return;
    };
    let port = sink.port;
    // The password holds an `@`, percent-encoded in the URL.
    let good = client(
        &format!("smtp://user:p%40ss@localhost:{port}"),
        sink.certificate(),
    );
    good.send("pds@example.com", "dave@example.com", TEST_MESSAGE)
        .await
        .expect("sent over STARTTLS");
    let message = sink.message_for("dave@example.com").await;
    assert!(
        message.contains("\n.a line with a dot"),
        "dot-stuffing undone: {message}"
    );
    assert_eq!(find_code(&message).as_deref(), Some("ABCDE-23456"));

    let wrong = client(
        &format!("smtp://user:wrong@localhost:{port}"),
        sink.certificate(),
    );
    let err = wrong
        .send("pds@example.com", "dave@example.com", TEST_MESSAGE)
        .await
        .expect_err("a wrong password");
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    assert!(sink.take_for("dave@example.com").is_empty());

    // A certificate nobody vouches for is refused.
    let untrusting = relay::mail::smtp::SmtpClient::new(
        relay::mail::smtp_url::parse_smtp_url(&format!("smtp://user:p%40ss@localhost:{port}"))
            .unwrap(),
        "pds.example.com".to_owned(),
    );
    let err = untrusting
        .send("pds@example.com", "dave@example.com", TEST_MESSAGE)
        .await
        .expect_err("an unknown issuer");
    assert!(err.to_string().starts_with("TLS handshake"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_then_auth() {
    let Some(sink) = SmtpSink::start_mode("tls") else {
        return;
    };
    let port = sink.port;
    let good = client(
        &format!("smtps://user:p%40ss@127.0.0.1:{port}"),
        sink.certificate(),
    );
    good.send("PDS <pds@example.com>", "dave@example.com", TEST_MESSAGE)
        .await
        .expect("sent over TLS");
    assert!(sink
        .message_for("dave@example.com")
        .await
        .contains("ABCDE-23456"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailing_codes_is_rate_limited_per_account() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let url = sink.url();
    let Some(relay) =
        TestRelay::start_with(&["--email-smtp-url", &url, "--rate-limits-enabled", "true"]).await
    else {
        return;
    };
    let alice = relay.create_account("alice").await;
    let bob = relay.create_account("bob").await;
    let request = |who: &TestAccount| {
        let jwt = who.access_jwt.clone();
        let relay = &relay;
        async move {
            relay
                .post_empty("com.atproto.server.requestEmailConfirmation", Some(&jwt))
                .await
        }
    };
    for _ in 0..5 {
        let (status, body) = request(&alice).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = request(&alice).await;
    assert_eq!(
        (status, error_name(&body)),
        (429, "RateLimitExceeded"),
        "{body}"
    );
    assert_eq!(sink.take_for(&alice.email).len(), 5);
    // Per account: Bob is not affected.
    let (status, body) = request(&bob).await;
    assert_eq!(status, 200, "{body}");
}
