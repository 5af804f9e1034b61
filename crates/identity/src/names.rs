//! Small syntax checks particular to identity: the did:key shape of verification methods, and
//! PDS URLs. Handles and DIDs are the `syntax` crate's.

const BASE58BTC: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// `did:key:z` followed by base58btc: the syntax the did:plc spec (v0.2) asks of verification
/// methods, whatever key type they hold.
pub(crate) fn is_did_key_syntax(s: &str) -> bool {
    s.strip_prefix("did:key:z")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| BASE58BTC.contains(c)))
}

/// The scheme and authority of an `http(s)://` URL, with whatever follows the authority.
struct HttpUrl<'a> {
    authority: &'a str,
    rest: &'a str,
}

fn split_http_url(url: &str) -> Option<HttpUrl<'_>> {
    let after = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || !is_host_port(authority) {
        return None;
    }
    Some(HttpUrl { authority, rest })
}

/// `host[:port]`, with no userinfo: a registered name of letters, digits, `-` and `.`, or a
/// bracketed IPv6 literal.
fn is_host_port(authority: &str) -> bool {
    if authority.contains('@') {
        return false;
    }
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let Some((addr, after)) = v6.split_once(']') else {
                return false;
            };
            let port = match after {
                "" => None,
                _ => match after.strip_prefix(':') {
                    Some(port) => Some(port),
                    None => return false,
                },
            };
            let addr_ok = !addr.is_empty()
                && addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            (addr_ok, port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            };
            let host_ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
            (host_ok, port)
        }
    };
    host_ok
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `url` is a usable `http(s)` service URL found in someone's DID document: a host is
/// required, userinfo is refused, a path is tolerated.
pub(crate) fn is_http_url(url: &str) -> bool {
    split_http_url(url).is_some()
}

/// Whether `handle` is a syntactically valid handle (any case).
pub(crate) fn is_valid_handle(handle: &str) -> bool {
    syntax::validate_handle(handle).is_ok()
}

/// Whether `did` is syntactically valid (atproto DID spec; case-sensitive).
pub(crate) fn is_valid_did(did: &str) -> bool {
    syntax::validate_did(did).is_ok()
}

/// Whether `url` is a bare `http(s)` origin (`https://host[:port]`, nothing after), which is
/// what this PDS advertises (PDS checklist §12; atproto DID spec, "DID Documents").
pub(crate) fn is_bare_origin(url: &str) -> bool {
    split_http_url(url).is_some_and(|u| u.rest.is_empty() && !u.authority.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_keys() {
        assert!(is_did_key_syntax(
            "did:key:zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
        ));
        assert!(!is_did_key_syntax("did:key:z"));
        assert!(!is_did_key_syntax("did:key:fabc"));
        assert!(!is_did_key_syntax("did:key:zQ3sh0OIl"));
        assert!(!is_did_key_syntax(
            "zQ3shXjHeiBuRCKmM36cuYnm7YEMzhGnCmCyW92sRJ9pribSF"
        ));
    }

    #[test]
    fn urls() {
        assert!(is_bare_origin("https://pds.example.com"));
        assert!(is_bare_origin("http://localhost:2583"));
        assert!(is_bare_origin("https://[::1]:8080"));
        for bad in [
            "https://pds.example.com/",
            "https://pds.example.com/xrpc",
            "https://u:p@pds.example.com",
            "ftp://x.y",
            "https://",
            "https://host:",
            "https://host:99999a",
            "https://ho st",
        ] {
            assert!(!is_bare_origin(bad), "{bad}");
        }
        assert!(is_http_url("https://pds.example.com/"));
        assert!(is_http_url("https://pds.example.com/prefix"));
        assert!(!is_http_url("https://user@pds.example.com"));
        assert!(!is_http_url("pds.example.com"));
    }
}
