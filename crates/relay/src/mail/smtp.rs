//! A small SMTP client (RFC 5321) for the few messages a PDS sends: one connection per message,
//! EHLO, STARTTLS when offered (or TLS from the start for `smtps://`), AUTH PLAIN or LOGIN,
//! one recipient. Every step has a deadline, and every failure says which step failed, what the
//! server answered and, where it is the usual cause, what to change.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::smtp_url::{SmtpSettings, TlsMode};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// For each command's reply (RFC 5321 §4.5.3.2 allows minutes; providers answer in seconds).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest reply line read, and most lines in one reply.
const MAX_LINE: u64 = 4096;
const MAX_LINES: usize = 100;

/// Why a message was not sent: the step, what happened, and a hint when one is known.
#[derive(Debug)]
pub struct SmtpError {
    pub step: &'static str,
    pub detail: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for SmtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.step, self.detail)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SmtpError {}

fn fail(step: &'static str, detail: impl Into<String>) -> SmtpError {
    SmtpError {
        step,
        detail: detail.into(),
        hint: None,
    }
}

fn hinted(step: &'static str, detail: impl Into<String>, hint: impl Into<String>) -> SmtpError {
    SmtpError {
        step,
        detail: detail.into(),
        hint: Some(hint.into()),
    }
}

/// A byte stream, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A server's reply: its code and its lines' text.
#[derive(Debug)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }

    fn is(&self, class: u16) -> bool {
        self.code / 100 == class
    }
}

/// Sends mail through one configured server.
pub struct SmtpClient {
    settings: SmtpSettings,
    /// The name given in EHLO.
    hello_name: String,
    tls: Arc<rustls::ClientConfig>,
}

impl SmtpClient {
    pub fn new(settings: SmtpSettings, hello_name: String) -> SmtpClient {
        SmtpClient {
            settings,
            hello_name,
            tls: Arc::new(tls_config(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })),
        }
    }

    /// Also trusts `der` (an X.509 certificate) as a root: for a server with a private CA,
    /// and for the tests' server.
    pub fn with_root_certificate(mut self, der: Vec<u8>) -> Result<SmtpClient, String> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        roots
            .add(rustls::pki_types::CertificateDer::from(der))
            .map_err(|e| format!("not a usable root certificate: {e}"))?;
        self.tls = Arc::new(tls_config(roots));
        Ok(self)
    }

    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    /// Delivers `message` (a complete RFC 5322 message, CRLF line ends) from `from` to `to`.
    pub async fn send(&self, from: &str, to: &str, message: &[u8]) -> Result<(), SmtpError> {
        let mut session = self.open().await?;
        let result = session.deliver(from, to, message).await;
        // QUIT is a courtesy: the message is either accepted already or it failed.
        let _ = tokio::time::timeout(Duration::from_secs(5), session.command("QUIT")).await;
        result
    }

    /// Connects, greets, secures and authenticates.
    async fn open(&self) -> Result<Session, SmtpError> {
        let s = &self.settings;
        let address = s.address();
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address)).await
        {
            Err(_) => {
                return Err(hinted(
                    "connecting",
                    format!("no answer from {address} within {}s", CONNECT_TIMEOUT.as_secs()),
                    "check the host and port in PDS_EMAIL_SMTP_URL, and that outgoing connections to that port are allowed (many hosting providers block ports 25 and 587)",
                ))
            }
            Ok(Err(e)) => {
                return Err(hinted(
                    "connecting",
                    format!("cannot connect to {address}: {e}"),
                    "check the host and port in PDS_EMAIL_SMTP_URL",
                ))
            }
            Ok(Ok(tcp)) => tcp,
        };
        let stream: Box<dyn Io> = match s.tls {
            TlsMode::Implicit => Box::new(self.handshake(tcp).await?),
            TlsMode::StartTls => Box::new(tcp),
        };
        let mut session = Session {
            stream: BufReader::new(stream),
            secure: s.tls == TlsMode::Implicit,
        };
        let greeting = session.reply().await.map_err(|e| match s.tls {
            // A TLS server read as plain text (or the reverse) says nothing sensible.
            TlsMode::StartTls if e.step == "reading the reply" => SmtpError {
                hint: Some(format!(
                    "if {address} expects TLS from the start, write smtps:// in PDS_EMAIL_SMTP_URL"
                )),
                ..e
            },
            _ => e,
        })?;
        if !greeting.is(2) {
            return Err(fail(
                "greeting",
                format!("the server said {}", greeting.text()),
            ));
        }
        let mut extensions = session.hello(&self.hello_name).await?;
        if !session.secure {
            if extensions
                .iter()
                .any(|e| e.eq_ignore_ascii_case("STARTTLS"))
            {
                let reply = session.command("STARTTLS").await?;
                if !reply.is(2) {
                    return Err(fail(
                        "STARTTLS",
                        format!("the server said {}", reply.text()),
                    ));
                }
                let plain = session.stream.into_inner();
                session = Session {
                    stream: BufReader::new(Box::new(self.handshake(plain).await?)),
                    secure: true,
                };
                extensions = session.hello(&self.hello_name).await?;
            } else if s.credentials.is_some() && !s.is_loopback() {
                return Err(hinted(
                    "STARTTLS",
                    format!("{address} does not offer STARTTLS, and the password will not be sent unencrypted"),
                    "if the server expects TLS from the start, write smtps:// (usually port 465)",
                ));
            }
        }
        if let Some((user, password)) = &s.credentials {
            session.authenticate(&extensions, user, password).await?;
        }
        Ok(session)
    }

    async fn handshake<S: Io + 'static>(
        &self,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, SmtpError> {
        let name = rustls::pki_types::ServerName::try_from(self.settings.server_name().to_owned())
            .map_err(|e| {
                fail(
                    "TLS",
                    format!("`{}` is not a server name: {e}", self.settings.host),
                )
            })?;
        let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
        match tokio::time::timeout(REPLY_TIMEOUT, connector.connect(name, stream)).await {
            Err(_) => Err(hinted(
                "TLS handshake",
                "no answer",
                "if the server speaks plain SMTP first, write smtp:// (STARTTLS) instead of smtps://",
            )),
            Ok(Err(e)) => Err(hinted(
                "TLS handshake",
                e.to_string(),
                "the server's certificate must be valid for the host named in PDS_EMAIL_SMTP_URL; if the server speaks plain SMTP first, write smtp:// instead of smtps://",
            )),
            Ok(Ok(tls)) => Ok(tls),
        }
    }
}

fn tls_config(roots: rustls::RootCertStore) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

struct Session {
    stream: BufReader<Box<dyn Io>>,
    secure: bool,
}

impl Session {
    /// Reads one (possibly multi-line) reply.
    async fn reply(&mut self) -> Result<Reply, SmtpError> {
        let read = async {
            let mut lines = Vec::new();
            loop {
                let mut raw = Vec::new();
                let n = (&mut self.stream)
                    .take(MAX_LINE)
                    .read_until(b'\n', &mut raw)
                    .await
                    .map_err(|e| fail("reading the reply", e.to_string()))?;
                if n == 0 {
                    return Err(fail(
                        "reading the reply",
                        "the server closed the connection",
                    ));
                }
                let line = String::from_utf8_lossy(&raw).trim_end().to_owned();
                let code = line
                    .get(..3)
                    .and_then(|c| c.parse::<u16>().ok())
                    .filter(|c| (200..600).contains(c))
                    .ok_or_else(|| {
                        fail(
                            "reading the reply",
                            format!("not an SMTP reply: {:?}", truncate(&line, 80)),
                        )
                    })?;
                let last = line.as_bytes().get(3) != Some(&b'-');
                lines.push(line.get(4..).unwrap_or("").to_owned());
                if last {
                    return Ok(Reply { code, lines });
                }
                if lines.len() >= MAX_LINES {
                    return Err(fail("reading the reply", "the reply is too long"));
                }
            }
        };
        tokio::time::timeout(REPLY_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| {
                Err(fail(
                    "reading the reply",
                    format!("no reply within {}s", REPLY_TIMEOUT.as_secs()),
                ))
            })
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), SmtpError> {
        let write = async {
            let stream = self.stream.get_mut();
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        match tokio::time::timeout(REPLY_TIMEOUT, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(fail("sending", e.to_string())),
            Err(_) => Err(fail("sending", "the server stopped reading")),
        }
    }

    async fn command(&mut self, line: &str) -> Result<Reply, SmtpError> {
        self.write(format!("{line}\r\n").as_bytes()).await?;
        // Which command went unanswered (never the AUTH arguments: they carry the password).
        let verb = line.split_whitespace().next().unwrap_or("").to_owned();
        let verb = if verb.chars().all(|c| c.is_ascii_uppercase()) {
            verb
        } else {
            "AUTH".to_owned()
        };
        self.reply().await.map_err(|e| SmtpError {
            detail: format!("{} (after {verb})", e.detail),
            ..e
        })
    }

    /// EHLO; the extensions the server lists.
    async fn hello(&mut self, name: &str) -> Result<Vec<String>, SmtpError> {
        let reply = self.command(&format!("EHLO {name}")).await?;
        if !reply.is(2) {
            return Err(fail("EHLO", format!("the server said {}", reply.text())));
        }
        Ok(reply.lines.into_iter().skip(1).collect())
    }

    async fn authenticate(
        &mut self,
        extensions: &[String],
        user: &str,
        password: &str,
    ) -> Result<(), SmtpError> {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let mechanisms: Vec<String> = extensions
            .iter()
            .filter_map(|e| {
                let upper = e.to_ascii_uppercase();
                upper
                    .strip_prefix("AUTH ")
                    .or_else(|| upper.strip_prefix("AUTH="))
                    .map(str::to_owned)
            })
            .flat_map(|m| m.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        let reply = if mechanisms.iter().any(|m| m == "PLAIN") {
            let token = b64(format!("\0{user}\0{password}").as_bytes());
            self.command(&format!("AUTH PLAIN {token}")).await?
        } else if mechanisms.iter().any(|m| m == "LOGIN") {
            let first = self.command("AUTH LOGIN").await?;
            if first.code != 334 {
                return Err(fail(
                    "AUTH LOGIN",
                    format!("the server said {}", first.text()),
                ));
            }
            let second = self.command(&b64(user.as_bytes())).await?;
            if second.code != 334 {
                return Err(fail(
                    "AUTH LOGIN",
                    format!("the server said {}", second.text()),
                ));
            }
            self.command(&b64(password.as_bytes())).await?
        } else if mechanisms.is_empty() {
            return Err(hinted(
                "AUTH",
                "the server offers no authentication",
                "remove user:password from PDS_EMAIL_SMTP_URL if the server relays without it",
            ));
        } else {
            return Err(fail(
                "AUTH",
                format!(
                    "the server offers only {}, and this client speaks PLAIN and LOGIN",
                    mechanisms.join(", ")
                ),
            ));
        };
        if reply.code != 235 {
            return Err(hinted(
                "AUTH",
                format!("the server refused the credentials: {}", reply.text()),
                "check the user name and password in PDS_EMAIL_SMTP_URL; characters like @ / : # must be percent-encoded",
            ));
        }
        Ok(())
    }

    async fn deliver(&mut self, from: &str, to: &str, message: &[u8]) -> Result<(), SmtpError> {
        let reply = self
            .command(&format!("MAIL FROM:<{}>", bare_address(from)))
            .await?;
        if !reply.is(2) {
            return Err(hinted(
                "MAIL FROM",
                format!("the server refused the sender <{}>: {}", bare_address(from), reply.text()),
                "set PDS_EMAIL_FROM_ADDRESS to an address the mail provider lets this account send as",
            ));
        }
        let reply = self
            .command(&format!("RCPT TO:<{}>", bare_address(to)))
            .await?;
        if !reply.is(2) {
            return Err(fail(
                "RCPT TO",
                format!(
                    "the server refused the recipient <{}>: {}",
                    bare_address(to),
                    reply.text()
                ),
            ));
        }
        let reply = self.command("DATA").await?;
        if reply.code != 354 {
            return Err(fail("DATA", format!("the server said {}", reply.text())));
        }
        let mut body = dot_stuff(message);
        body.extend_from_slice(b".\r\n");
        self.write(&body).await?;
        let reply = self.reply().await?;
        if !reply.is(2) {
            return Err(fail(
                "DATA",
                format!("the server refused the message: {}", reply.text()),
            ));
        }
        Ok(())
    }
}

/// `Name <a@b>` → `a@b`; CR and LF never reach a command line.
fn bare_address(address: &str) -> String {
    let inner = match (address.rfind('<'), address.rfind('>')) {
        (Some(open), Some(close)) if open < close => &address[open + 1..close],
        _ => address,
    };
    inner.trim().replace(['\r', '\n', '<', '>'], "")
}

/// The message as DATA carries it: CRLF line ends, a leading `.` doubled, ending with CRLF.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(message).replace("\r\n", "\n");
    let mut out = Vec::with_capacity(message.len() + 64);
    for line in text.trim_end_matches('\n').split('\n') {
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_dot_stuffed_with_crlf() {
        assert_eq!(
            dot_stuff(b"a\n.b\r\n..c\n"),
            b"a\r\n..b\r\n...c\r\n".to_vec()
        );
    }

    #[test]
    fn envelope_addresses_are_bare() {
        assert_eq!(
            bare_address("PDS <noreply@example.com>"),
            "noreply@example.com"
        );
        assert_eq!(bare_address("a@b.c"), "a@b.c");
        assert_eq!(bare_address("a@b.c\r\nDATA"), "a@b.cDATA");
    }
}
