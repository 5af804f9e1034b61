//! `PDS_EMAIL_SMTP_URL`: what it says (scheme, host, port, credentials) and, when it is wrong,
//! what to fix. Checked at startup so a typo does not wait for the first email to show.
//!
//! `smtp://user:password@host:port` upgrades to TLS with STARTTLS when the server offers it
//! (port 587 by default); `smtps://…` speaks TLS from the first byte (port 465 by default), as
//! the reference's mailer (nodemailer) reads the same URL.

use percent_encoding::percent_decode_str;

/// How the connection gets its TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// `smtps://`: TLS from the start.
    Implicit,
    /// `smtp://`: plain, upgraded with STARTTLS when the server offers it.
    StartTls,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub tls: TlsMode,
    /// As in the URL (an IPv6 address keeps its brackets).
    pub host: String,
    pub port: u16,
    /// User name and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpSettings {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl SmtpSettings {
    /// `host:port`, for messages and for connecting.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The name the server's certificate must carry (an IP address without brackets).
    pub fn server_name(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    /// Whether the server is this machine (then a password may go over a plain connection).
    pub fn is_loopback(&self) -> bool {
        let name = self.server_name();
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

const EXAMPLE: &str = "smtp://user:password@smtp.example.com:587";

/// Reads `PDS_EMAIL_SMTP_URL`; the error says what is wrong and how to write it.
pub fn parse_smtp_url(raw: &str) -> Result<SmtpSettings, String> {
    let raw = raw.trim();
    let bad = |why: String| {
        Err(format!(
            "PDS_EMAIL_SMTP_URL: {why} (expected e.g. {EXAMPLE})"
        ))
    };
    let Some((scheme, rest)) = raw.split_once("://") else {
        return bad("it must start with smtp:// or smtps://".to_owned());
    };
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => TlsMode::StartTls,
        "smtps" => TlsMode::Implicit,
        other => {
            return bad(format!(
                "the scheme `{other}://` is not one this server speaks: use smtp:// (STARTTLS when offered, usually port 587) or smtps:// (TLS from the start, usually port 465)"
            ))
        }
    };
    // A password with `/`, `?`, `#` or `@` in it ends the host part early (or adds an `@`):
    // the URL then names the wrong host. Those characters must be percent-encoded.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.matches('@').count() > 1 || (tail.contains('@') && !authority.contains('@')) {
        return bad(
            "the user name or password holds a character that must be percent-encoded (`@` as %40, `/` as %2F, `?` as %3F, `#` as %23, `:` in the user name as %3A, `%` as %25)".to_owned(),
        );
    }
    let url = match url::Url::parse(raw) {
        Ok(url) => url,
        Err(url::ParseError::InvalidPort) => {
            return bad("the port must be a number from 1 to 65535".to_owned())
        }
        Err(url::ParseError::EmptyHost) => return bad("it names no host".to_owned()),
        Err(e) => return bad(format!("not a valid URL ({e})")),
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return bad("it names no host".to_owned());
    };
    let port = match (url.port(), tls) {
        (Some(0), _) => return bad("port 0 is not a port".to_owned()),
        (Some(465), TlsMode::StartTls) => {
            return bad(
                "port 465 expects TLS from the first byte: write smtps://…:465 (or use smtp://…:587)"
                    .to_owned(),
            )
        }
        (Some(587 | 25), TlsMode::Implicit) => {
            return bad(format!(
                "port {} speaks plain SMTP upgraded with STARTTLS: write smtp://…:{} (or use smtps://…:465)",
                url.port().unwrap_or_default(),
                url.port().unwrap_or_default()
            ))
        }
        (Some(port), _) => port,
        (None, TlsMode::StartTls) => 587,
        (None, TlsMode::Implicit) => 465,
    };
    let decode = |what: &str, text: &str| -> Result<String, String> {
        percent_decode_str(text)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| {
                format!(
                    "PDS_EMAIL_SMTP_URL: the {what} is not valid UTF-8 once percent-decoded (expected e.g. {EXAMPLE})"
                )
            })
    };
    let user = decode("user name", url.username())?;
    let password = url.password().map(|p| decode("password", p)).transpose()?;
    let credentials = match (user.is_empty(), password) {
        (true, None) => None,
        (false, Some(password)) if !password.is_empty() => Some((user, password)),
        (false, _) => return bad("it has a user name but no password".to_owned()),
        (true, Some(_)) => return bad("it has a password but no user name".to_owned()),
    };
    Ok(SmtpSettings {
        tls,
        host: host.to_owned(),
        port,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(url: &str) -> String {
        parse_smtp_url(url).expect_err(url)
    }

    #[test]
    fn reads_the_usual_forms() {
        let s = parse_smtp_url("smtp://apikey:s3cret@smtp.example.com:587").unwrap();
        assert_eq!(s.tls, TlsMode::StartTls);
        assert_eq!(s.address(), "smtp.example.com:587");
        assert_eq!(
            s.credentials,
            Some(("apikey".to_owned(), "s3cret".to_owned()))
        );
        assert!(!s.is_loopback());

        let s =
            parse_smtp_url("smtps://user%40example.com:p%2Fa%23ss%40@mail.example.com").unwrap();
        assert_eq!(s.tls, TlsMode::Implicit);
        assert_eq!(s.port, 465);
        assert_eq!(
            s.credentials,
            Some(("user@example.com".to_owned(), "p/a#ss@".to_owned()))
        );

        let s = parse_smtp_url("SMTP://127.0.0.1:2525").unwrap();
        assert_eq!((s.port, s.credentials.clone()), (2525, None));
        assert!(s.is_loopback());
        assert_eq!(parse_smtp_url("smtp://[::1]").unwrap().server_name(), "::1");
        assert_eq!(parse_smtp_url("smtp://localhost").unwrap().port, 587);
    }

    #[test]
    fn a_missing_or_wrong_scheme_is_named() {
        assert!(err("smtp.example.com:587").contains("must start with smtp:// or smtps://"));
        assert!(err("https://smtp.example.com").contains("`https://`"));
        assert!(err("smtp+starttls://smtp.example.com").contains("use smtp://"));
    }

    #[test]
    fn odd_ports_are_named() {
        assert!(err("smtp://smtp.example.com:abc").contains("port must be a number"));
        assert!(err("smtp://smtp.example.com:70000").contains("port must be a number"));
        assert!(err("smtp://smtp.example.com:0").contains("port 0"));
        assert!(err("smtp://smtp.example.com:465").contains("write smtps://"));
        assert!(err("smtps://smtp.example.com:587").contains("write smtp://"));
    }

    #[test]
    fn unencoded_credentials_are_named() {
        for url in [
            "smtp://user:p@ss@smtp.example.com:587",
            "smtp://user:pa/ss@smtp.example.com:587",
            "smtp://user:pa#ss@smtp.example.com:587",
            "smtp://user:pa?ss@smtp.example.com:587",
        ] {
            assert!(err(url).contains("must be percent-encoded"), "{url}");
        }
        assert!(err("smtp://user:%ff%fe@smtp.example.com").contains("not valid UTF-8"));
        assert!(err("smtp://user@smtp.example.com").contains("no password"));
        assert!(err("smtp://:pw@smtp.example.com").contains("no user name"));
        assert!(err("smtp://").contains("no host"));
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        let s = parse_smtp_url("smtp://u:hunter2@h").unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
