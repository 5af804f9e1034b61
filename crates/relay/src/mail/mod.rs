//! Email: the messages the relay sends (`templates`), the one-time tokens they carry, and how
//! they leave (`Mailer`).
//!
//! Without `PDS_EMAIL_SMTP_URL` the relay cannot mail anyone; messages then go to the outbox
//! folder `<data>/outbox/` as `.eml` files (and a line on stdout says so), which is what a local
//! trial and the tests read. The SMTP transport plugs in behind [`Mailer::send`].

mod message;
pub mod smtp;
pub mod smtp_url;
pub mod templates;

use message::render;

use std::path::PathBuf;

use store::email::EmailTokenStore;
use xrpc::XrpcError;

use crate::app::AppState;
use crate::auth::now_secs;
use crate::error::store_error;

/// What an email token is for (the stored `purpose`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    UpdateEmail,
    ResetPassword,
    DeleteAccount,
    PlcOperation,
    SignIn,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "confirm_email",
            Purpose::UpdateEmail => "update_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::DeleteAccount => "delete_account",
            Purpose::PlcOperation => "plc_operation",
            Purpose::SignIn => "2fa",
        }
    }
}

/// Tokens are good for 15 minutes (as the reference's).
pub const TOKEN_TTL_SECS: i64 = 15 * 60;

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("could not write the message to the outbox: {0}")]
    Outbox(String),
    #[error("the mail server refused or failed: {0}")]
    Smtp(String),
}

/// Where messages go.
pub enum Transport {
    /// No mail server configured: `.eml` files in this folder.
    Outbox(PathBuf),
    /// `PDS_EMAIL_SMTP_URL`.
    Smtp(smtp::SmtpClient),
}

pub struct Mailer {
    pub from: String,
    /// The server's hostname: the right-hand side of Message-IDs and the EHLO name.
    hostname: String,
    transport: Transport,
}

impl Mailer {
    pub fn outbox(dir: PathBuf, from: String) -> Mailer {
        Mailer {
            from,
            hostname: "localhost".to_owned(),
            transport: Transport::Outbox(dir),
        }
    }

    /// The mailer the configuration asks for: SMTP when `PDS_EMAIL_SMTP_URL` is set (an
    /// unusable URL is an error that says what to fix), the outbox folder otherwise.
    pub fn from_config(config: &crate::config::Config) -> Result<Mailer, String> {
        Mailer::new(
            config.email_smtp_url.as_deref(),
            config.email_from_address.as_deref(),
            &config.hostname,
            config.data_dir.join("outbox"),
        )
    }

    pub fn new(
        smtp_url: Option<&str>,
        from: Option<&str>,
        hostname: &str,
        outbox: PathBuf,
    ) -> Result<Mailer, String> {
        let from = match from.map(str::trim).filter(|f| !f.is_empty()) {
            Some(from) => {
                let bare = from
                    .rsplit_once('<')
                    .map_or(from, |(_, rest)| rest.trim_end_matches('>'));
                let plausible = bare.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty() && !domain.is_empty() && !bare.contains(char::is_whitespace)
                });
                if from.contains(['\r', '\n']) || !plausible {
                    return Err(format!(
                        "PDS_EMAIL_FROM_ADDRESS: `{from}` is not an email address (e.g. noreply@{hostname})"
                    ));
                }
                from.to_owned()
            }
            None => format!("noreply@{hostname}"),
        };
        let transport = match smtp_url.map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => Transport::Smtp(smtp::SmtpClient::new(
                smtp_url::parse_smtp_url(url)?,
                hostname.to_owned(),
            )),
            None => Transport::Outbox(outbox),
        };
        Ok(Mailer {
            from,
            hostname: hostname.to_owned(),
            transport,
        })
    }

    /// Where messages go, for people (the password stays out).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Outbox(dir) => format!("the outbox folder {}", dir.display()),
            Transport::Smtp(client) => {
                let s = client.settings();
                format!(
                    "{} at {}{}",
                    match s.tls {
                        smtp_url::TlsMode::Implicit => "SMTP over TLS",
                        smtp_url::TlsMode::StartTls => "SMTP (STARTTLS when offered)",
                    },
                    s.address(),
                    s.credentials
                        .as_ref()
                        .map(|(user, _)| format!(" as {user}"))
                        .unwrap_or_default()
                )
            }
        }
    }

    pub async fn send(&self, message: &Message) -> Result<(), MailError> {
        let bytes = render(&self.from, &self.hostname, message);
        match &self.transport {
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| MailError::Outbox(e.to_string()))?;
                let name = format!("{}-{}.eml", now_millis(), crate::auth::random_id());
                let path = dir.join(name);
                tokio::fs::write(&path, bytes)
                    .await
                    .map_err(|e| MailError::Outbox(e.to_string()))?;
                println!(
                    "email to {} not sent (no PDS_EMAIL_SMTP_URL): written to {}",
                    message.to,
                    path.display()
                );
                Ok(())
            }
            Transport::Smtp(client) => client
                .send(&self.from, &message.to, &bytes)
                .await
                .map_err(|e| MailError::Smtp(e.to_string())),
        }
    }
}

fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// A token as the reference makes them: two groups of five from an unambiguous alphabet
/// (`ABCDE-23456`), easy to read out of an email and type.
pub fn new_token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

impl AppState {
    /// Makes a fresh token for `(did, purpose)`, replacing any earlier one.
    pub async fn issue_email_token(
        &self,
        did: &str,
        purpose: Purpose,
    ) -> Result<String, XrpcError> {
        let token = new_token();
        self.store
            .put_email_token(did, purpose.as_str(), &token, now_secs())
            .await
            .map_err(store_error)?;
        Ok(token)
    }

    /// Checks `token` for `(did, purpose)` and consumes it: `InvalidToken` if it does not match,
    /// `ExpiredToken` past [`TOKEN_TTL_SECS`] (the names the reference answers with).
    pub async fn consume_email_token(
        &self,
        did: &str,
        purpose: Purpose,
        token: &str,
    ) -> Result<(), XrpcError> {
        let stored = self
            .store
            .email_token(did, purpose.as_str())
            .await
            .map_err(store_error)?;
        let Some((expected, requested_at)) = stored else {
            return Err(XrpcError::new(400, "InvalidToken", "Token is invalid"));
        };
        if !tokens_equal(&expected, token.trim()) {
            return Err(XrpcError::new(400, "InvalidToken", "Token is invalid"));
        }
        if now_secs() - requested_at > TOKEN_TTL_SECS {
            return Err(XrpcError::new(400, "ExpiredToken", "Token is expired"));
        }
        self.store
            .delete_email_token(did, purpose.as_str())
            .await
            .map_err(store_error)
    }

    /// Sends `message`; a failure is an XRPC error that says what to fix.
    pub async fn send_mail(&self, message: &Message) -> Result<(), XrpcError> {
        self.mailer.send(message).await.map_err(|e| {
            eprintln!("email to {} failed: {e}", message.to);
            XrpcError::new(500, "InternalServerError", "The email could not be sent")
        })
    }
}

/// Case-insensitive, constant-time comparison (tokens are read out of emails and retyped).
fn tokens_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_the_references() {
        let t = new_token();
        assert_eq!(t.len(), 11);
        assert_eq!(&t[5..6], "-");
        assert!(t
            .chars()
            .all(|c| c == '-' || c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
        assert!(tokens_equal("ABCDE-23456", "abcde-23456"));
        assert!(!tokens_equal("ABCDE-23456", "ABCDE-23457"));
    }
}
