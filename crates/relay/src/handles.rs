//! Which handles and emails an account may register here (handle spec §Non-Syntax
//! Restrictions; the reference PDS's rules for service domains), shared by createAccount and
//! updateHandle.

use xrpc::XrpcError;

/// TLDs no handle may use (handle spec: reserved or special-use names). `.test` is added
/// outside dev mode.
const DISALLOWED_TLDS: &[&str] = &[
    "alt",
    "arpa",
    "example",
    "internal",
    "invalid",
    "local",
    "localhost",
    "onion",
];

/// Shortest and longest first label of a handle under one of the service domains.
pub const MIN_SERVICE_LABEL: usize = 3;
pub const MAX_SERVICE_LABEL: usize = 18;

/// Names under the service domains kept for the operator: infrastructure, protocol and
/// impersonation-prone names. Our own list (the spirit of the handle spec's advice to reserve
/// `www`, `admin`, `mail` …), not a copy of any other server's.
const RESERVED_LABELS: &[&str] = &[
    "abuse",
    "account",
    "accounts",
    "admin",
    "administrator",
    "api",
    "app",
    "atproto",
    "auth",
    "billing",
    "blog",
    "bsky",
    "bluesky",
    "cdn",
    "contact",
    "dev",
    "dns",
    "docs",
    "email",
    "firehose",
    "ftp",
    "help",
    "host",
    "hostmaster",
    "imap",
    "info",
    "jetstream",
    "login",
    "mail",
    "mod",
    "moderation",
    "moderator",
    "mx",
    "news",
    "noc",
    "noreply",
    "ns1",
    "ns2",
    "oauth",
    "official",
    "owner",
    "pds",
    "plc",
    "pop",
    "postmaster",
    "privacy",
    "register",
    "relay",
    "root",
    "security",
    "server",
    "signup",
    "smtp",
    "staff",
    "status",
    "support",
    "sysadmin",
    "system",
    "team",
    "terms",
    "test",
    "tos",
    "webmaster",
    "wellknown",
    "www",
];

fn invalid_handle(message: &str) -> XrpcError {
    XrpcError::new(400, "InvalidHandle", message)
}

/// The rules that depend on the server: its handle domains (each starting with a dot) and
/// whether it runs in dev mode (`.test` allowed).
#[derive(Clone, Copy, Debug)]
pub struct HandleRules<'a> {
    pub domains: &'a [String],
    pub dev_mode: bool,
}

impl<'a> HandleRules<'a> {
    pub fn of(config: &'a crate::config::Config) -> HandleRules<'a> {
        HandleRules {
            domains: &config.handle_domains,
            dev_mode: config.dev_mode,
        }
    }
}

/// Normalises (lower-cases) and checks a handle a new account asks for: valid syntax, an
/// allowed TLD, under one of the service's handle domains, and there a single label of 3–18
/// characters that is not reserved. Errors carry the reference PDS's names and messages.
pub fn normalize_and_validate_new_handle(
    rules: HandleRules<'_>,
    handle: &str,
) -> Result<String, XrpcError> {
    let handle = normalize_and_validate_syntax(rules, handle)?;
    let Some(domain) = service_domain(rules, &handle) else {
        return Err(XrpcError::new(
            400,
            "UnsupportedDomain",
            "Not a supported handle domain",
        ));
    };
    check_service_label(&handle, domain)?;
    Ok(handle)
}

/// The checks every handle passes wherever it lives: syntax (lower-cased) and the TLD.
pub fn normalize_and_validate_syntax(
    rules: HandleRules<'_>,
    handle: &str,
) -> Result<String, XrpcError> {
    let handle = handle.trim().to_ascii_lowercase();
    syntax::validate_handle(&handle)
        .map_err(|e| invalid_handle(&format!("Invalid handle: {e}")))?;
    let tld = handle.rsplit('.').next().unwrap_or("");
    if DISALLOWED_TLDS.contains(&tld) || (tld == "test" && !rules.dev_mode) {
        return Err(invalid_handle("Handle TLD is invalid or disallowed"));
    }
    Ok(handle)
}

/// The service handle domain (`.test`, `.pds.example.com`) `handle` is under, if any.
pub fn service_domain<'a>(rules: HandleRules<'a>, handle: &str) -> Option<&'a str> {
    rules
        .domains
        .iter()
        .map(String::as_str)
        .find(|domain| handle.ends_with(domain))
}

/// The rules for a handle under a service domain.
pub fn check_service_label(handle: &str, domain: &str) -> Result<(), XrpcError> {
    let front = &handle[..handle.len() - domain.len()];
    if front.contains('.') {
        return Err(invalid_handle("Invalid characters in handle"));
    }
    if front.len() < MIN_SERVICE_LABEL {
        return Err(invalid_handle("Handle too short"));
    }
    if front.len() > MAX_SERVICE_LABEL {
        return Err(invalid_handle("Handle too long"));
    }
    if RESERVED_LABELS.contains(&front) {
        return Err(XrpcError::new(400, "HandleNotAvailable", "Reserved handle"));
    }
    Ok(())
}

/// A plausible, deliverable-looking address: `local@domain`, the local part of printable
/// characters without spaces, quotes or brackets, the domain a hostname with a dot and an
/// alphabetic TLD. Mail delivery is the real test; this only keeps junk out of the database.
pub fn is_valid_email(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(dev_mode: bool, domains: &[&str]) -> (Vec<String>, bool) {
        (domains.iter().map(|d| d.to_string()).collect(), dev_mode)
    }

    fn check(r: &(Vec<String>, bool), handle: &str) -> Result<String, XrpcError> {
        normalize_and_validate_new_handle(
            HandleRules {
                domains: &r.0,
                dev_mode: r.1,
            },
            handle,
        )
    }

    fn err(r: Result<String, XrpcError>) -> (String, String) {
        let e = r.unwrap_err();
        (e.error.to_string(), e.message.unwrap_or_default())
    }

    #[test]
    fn service_handles() {
        let c = rules(true, &[".test"]);
        assert_eq!(check(&c, "Alice.TEST").unwrap(), "alice.test");
        assert_eq!(
            err(check(&c, "al.test")),
            ("InvalidHandle".into(), "Handle too short".into())
        );
        assert_eq!(
            err(check(&c, "abcdefghijklmnopqrs.test")),
            ("InvalidHandle".into(), "Handle too long".into())
        );
        assert_eq!(
            err(check(&c, "a.bob.test")),
            (
                "InvalidHandle".into(),
                "Invalid characters in handle".into()
            )
        );
        assert_eq!(
            err(check(&c, "admin.test")),
            ("HandleNotAvailable".into(), "Reserved handle".into())
        );
        assert_eq!(
            err(check(&c, "alice.example.com")),
            (
                "UnsupportedDomain".into(),
                "Not a supported handle domain".into()
            )
        );
        assert_eq!(err(check(&c, "alice.local")).0, "InvalidHandle");
        assert_eq!(err(check(&c, "-x.test")).0, "InvalidHandle");
    }

    #[test]
    fn test_tld_only_in_dev_mode() {
        let prod = rules(false, &[".test"]);
        assert_eq!(
            err(check(&prod, "alice.test")),
            (
                "InvalidHandle".into(),
                "Handle TLD is invalid or disallowed".into()
            )
        );
        let prod = rules(false, &[".pds.example.com"]);
        assert_eq!(
            check(&prod, "alice.pds.example.com").unwrap(),
            "alice.pds.example.com"
        );
    }

    #[test]
    fn emails() {
        for good in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "x_y@a-b.io",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@exa mple.com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.c0m",
            "a@example..com",
            "a\"b@example.com",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
