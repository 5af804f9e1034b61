//! Handle resolution (handle spec, §Handle Resolution): a handle → a DID, by the DNS TXT record
//! `_atproto.<handle>` (`did=<did>`) and, when DNS has no answer, by
//! `GET https://<handle>/.well-known/atproto-did`. DNS wins when both exist.
//!
//! Both paths are driven by user input, so both are hardened: the DNS answer is parsed as
//! hostile bytes (`dns`), and the HTTPS fetch refuses private, loopback and other non-public
//! addresses (before connecting and after every redirect), plain http, long answers and slow
//! servers. Dev mode lifts the address and scheme rules so loopback test setups work.
//!
//! Results are cached briefly (bounded TTL, as the handle spec advises); callers that must
//! not trust a cache (updateHandle's check that a domain points at the account) ask for a
//! fresh resolution.

pub mod dns;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dns::DnsClient;

/// How long a DNS lookup may take (each server).
const DNS_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the whole HTTPS fetch may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest `/.well-known/atproto-did` body read (a DID is at most 2 KB).
const MAX_WELL_KNOWN_BYTES: usize = 4096;
const MAX_REDIRECTS: usize = 3;
/// Largest did:web document read.
const MAX_DID_DOC_BYTES: usize = 64 * 1024;
/// Cached answers: found DIDs for 5 minutes, "nothing" for 1 minute.
const POSITIVE_TTL: Duration = Duration::from_secs(5 * 60);
const NEGATIVE_TTL: Duration = Duration::from_secs(60);
const CACHE_MAX: usize = 10_000;

/// Resolves handles to DIDs over DNS and HTTPS.
pub struct HandleResolver {
    dns: DnsClient,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, Option<String>)>>,
    /// Dev mode: loopback and private addresses, and plain http for did:web on localhost.
    allow_private: bool,
    /// Tests: fetch `/.well-known/atproto-did` from this origin (with the handle as `Host`)
    /// instead of `https://<handle>`.
    #[cfg(test)]
    well_known_origin: Option<String>,
}

impl HandleResolver {
    /// A resolver asking `dns_servers` (or the system's resolvers when empty). With
    /// `allow_private` (dev mode), private and loopback addresses and plain http redirects are
    /// allowed.
    pub fn new(
        dns_servers: Vec<SocketAddr>,
        allow_private: bool,
    ) -> Result<HandleResolver, String> {
        let dns = if dns_servers.is_empty() {
            DnsClient::system(DNS_TIMEOUT)
        } else {
            DnsClient::with_servers(dns_servers, DNS_TIMEOUT)
        };
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            let url = attempt.url();
            if !allow_private {
                if url.scheme() != "https" {
                    return attempt.error("redirect to a non-https URL");
                }
                // Names are checked by the resolver below; literal addresses never reach it.
                if let Some(ip) = url.host_str().and_then(literal_ip) {
                    if !is_public(ip) {
                        return attempt.error("redirect to a non-public address");
                    }
                }
            }
            attempt.follow()
        });
        let http = guarded_http_client(allow_private, HTTP_TIMEOUT, redirects)?;
        Ok(HandleResolver {
            dns,
            http,
            cache: Mutex::new(HashMap::new()),
            allow_private,
            #[cfg(test)]
            well_known_origin: None,
        })
    }

    /// The TXT records of `name` (lexicon resolution uses `_lexicon.<authority>`).
    pub async fn txt_records(&self, name: &str) -> Result<Vec<String>, String> {
        self.dns
            .txt(name)
            .await
            .map_err(|e| format!("DNS TXT {name}: {e:?}"))
    }

    /// The DID `handle` claims, from the cache when recent.
    pub async fn resolve(&self, handle: &str) -> Option<String> {
        let handle = handle.to_ascii_lowercase();
        if let Some((at, did)) = self.cache.lock().expect("not poisoned").get(&handle) {
            let ttl = if did.is_some() {
                POSITIVE_TTL
            } else {
                NEGATIVE_TTL
            };
            if at.elapsed() < ttl {
                return did.clone();
            }
        }
        self.resolve_fresh(&handle).await
    }

    /// The DID `handle` claims, asked now (and remembered).
    pub async fn resolve_fresh(&self, handle: &str) -> Option<String> {
        let handle = handle.to_ascii_lowercase();
        let did = match self.resolve_dns(&handle).await {
            Ok(Some(did)) => Some(did),
            // No record (or a DNS failure, or conflicting records): try HTTPS. Conflicting
            // records fail resolution outright (handle spec §DNS TXT).
            Ok(None) | Err(DnsOutcome::Failed) => self.resolve_https(&handle).await,
            Err(DnsOutcome::Conflict) => None,
        };
        let mut cache = self.cache.lock().expect("not poisoned");
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (at, _)| at.elapsed() < POSITIVE_TTL);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(handle, (Instant::now(), did.clone()));
        did
    }

    /// The DID of the `_atproto.<handle>` TXT record: `Ok(None)` when there is none.
    async fn resolve_dns(&self, handle: &str) -> Result<Option<String>, DnsOutcome> {
        let records = self
            .dns
            .txt(&format!("_atproto.{handle}"))
            .await
            .map_err(|_| DnsOutcome::Failed)?;
        did_from_txt(&records)
    }

    /// The DID served at `https://<handle>/.well-known/atproto-did`.
    async fn resolve_https(&self, handle: &str) -> Option<String> {
        #[cfg(test)]
        let request = match &self.well_known_origin {
            Some(origin) => self
                .http
                .get(format!("{origin}/.well-known/atproto-did"))
                .header("host", handle),
            None => self
                .http
                .get(format!("https://{handle}/.well-known/atproto-did")),
        };
        #[cfg(not(test))]
        let request = self
            .http
            .get(format!("https://{handle}/.well-known/atproto-did"));
        let mut response = request.send().await.ok()?;
        if !response.status().is_success()
            || response
                .content_length()
                .is_some_and(|len| len > MAX_WELL_KNOWN_BYTES as u64)
        {
            return None;
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.ok()? {
            if body.len() + chunk.len() > MAX_WELL_KNOWN_BYTES {
                return None;
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8(body).ok()?;
        let did = text.trim();
        syntax::validate_did(did).ok()?;
        Some(did.to_owned())
    }
}

impl HandleResolver {
    /// The DID document of a `did:web` (`https://<host>/.well-known/did.json`; only host-level
    /// did:web is used by atproto). `Ok(None)` when the host answers that there is none (404).
    pub async fn did_web_document(&self, did: &str) -> Result<Option<serde_json::Value>, String> {
        let host = did
            .strip_prefix("did:web:")
            .filter(|h| !h.is_empty() && !h.contains(':'))
            .ok_or_else(|| format!("{did} is not a host-level did:web"))?
            .replace("%3A", ":")
            .replace("%3a", ":");
        let name = host.split(':').next().unwrap_or_default();
        let scheme = if self.allow_private && (name == "localhost" || name.ends_with(".localhost"))
        {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{host}/.well-known/did.json");
        // A literal address (`did:web:10.0.0.1`, or `2130706433`, which URL parsing reads as
        // 127.0.0.1) is connected to directly, never through the guarded resolver: check it
        // here, on the parsed URL, as the redirect policy does.
        let parsed = reqwest::Url::parse(&url).map_err(|e| format!("{url}: {e}"))?;
        check_literal_host(&parsed, self.allow_private).map_err(|e| format!("{url}: {e}"))?;
        let mut response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
            if body.len() + chunk.len() > MAX_DID_DOC_BYTES {
                return Err(format!("{url}: the document is too large"));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))?;
        if doc.get("id").and_then(serde_json::Value::as_str) != Some(did) {
            return Err(format!("{url}: the document's id is not {did}"));
        }
        Ok(Some(doc))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum DnsOutcome {
    /// No DNS answer at all (no server, a server failure, a malformed answer).
    Failed,
    /// More than one distinct DID: resolution fails.
    Conflict,
}

/// The DID of a handle's TXT records: values starting with `did=`; others are ignored; two
/// different DIDs are a conflict.
fn did_from_txt(records: &[String]) -> Result<Option<String>, DnsOutcome> {
    let mut found: Option<&str> = None;
    for record in records {
        let Some(did) = record.strip_prefix("did=") else {
            continue;
        };
        let did = did.trim();
        if syntax::validate_did(did).is_err() {
            continue;
        }
        match found {
            Some(existing) if existing != did => return Err(DnsOutcome::Conflict),
            _ => found = Some(did),
        }
    }
    Ok(found.map(str::to_owned))
}

/// An HTTP client for user-supplied URLs: host names resolve to public addresses only (checked
/// when connecting, so DNS rebinding cannot slip a private address in after a check), unless
/// `allow_private` (dev mode). Literal addresses in URLs bypass DNS: check them with
/// [`check_literal_host`] before each request.
pub fn guarded_http_client(
    allow_private: bool,
    timeout: Duration,
    redirects: reqwest::redirect::Policy,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(redirects)
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .user_agent(concat!("relay/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Refuses a URL whose host is a literal non-public address (unless `allow_private`).
pub fn check_literal_host(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if !allow_private {
        if let Some(ip) = url.host_str().and_then(literal_ip) {
            if !is_public(ip) {
                return Err(format!("{ip} is not a public address"));
            }
        }
    }
    Ok(())
}

/// Resolves host names for the HTTP client, keeping only public addresses unless allowed.
/// Also the proxy's resolver (`crate::proxy`).
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| allow_private || is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The address a URL host names literally (`127.0.0.1`, `[::1]`), if it is one.
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), multicast, documentation, benchmarking or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (first == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64: an IPv4 inside
                || first == 0x0100) // discard-only
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_values() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(did_from_txt(&r(&[])), Ok(None));
        assert_eq!(did_from_txt(&r(&["v=spf1 -all"])), Ok(None));
        assert_eq!(
            did_from_txt(&r(&["v=spf1 -all", "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz"])),
            Ok(Some("did:plc:ewvi7nxzyoun6zhxrhs64oiz".into()))
        );
        // The same DID twice is one DID; two different DIDs fail.
        assert_eq!(
            did_from_txt(&r(&[
                "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
                "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz"
            ])),
            Ok(Some("did:plc:ewvi7nxzyoun6zhxrhs64oiz".into()))
        );
        assert_eq!(
            did_from_txt(&r(&[
                "did=did:plc:ewvi7nxzyoun6zhxrhs64oiz",
                "did=did:web:example.com"
            ])),
            Err(DnsOutcome::Conflict)
        );
        assert_eq!(did_from_txt(&r(&["did=not a did"])), Ok(None));
    }

    #[test]
    fn public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    /// A DNS server on loopback that answers every TXT query with `records`.
    async fn mock_dns(records: Vec<Vec<&'static str>>) -> SocketAddr {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let refs: Vec<&[&str]> = records.iter().map(Vec::as_slice).collect();
                let answer = dns::tests::txt_answer(&buf[..n], &refs, 0, false);
                let _ = socket.send_to(&answer, from).await;
            }
        });
        addr
    }

    /// An HTTP server on loopback answering `/.well-known/atproto-did` with `body`.
    async fn mock_well_known(status: u16, body: &'static str) -> String {
        use axum::http::StatusCode;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/.well-known/atproto-did",
            axum::routing::get(
                move || async move { (StatusCode::from_u16(status).unwrap(), body) },
            ),
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn dns_first_then_https() {
        let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
        let dns = mock_dns(vec![vec!["did=did:plc:ewvi7nxzyoun6zhxrhs64oiz"]]).await;
        let mut resolver = HandleResolver::new(vec![dns], true).unwrap();
        resolver.well_known_origin = Some(mock_well_known(200, "did:web:other.example\n").await);
        assert_eq!(
            resolver.resolve("Alice.Example.com").await.as_deref(),
            Some(did)
        );

        // No TXT record: the HTTPS answer counts, whitespace trimmed.
        let dns = mock_dns(vec![vec!["v=spf1 -all"]]).await;
        let mut resolver = HandleResolver::new(vec![dns], true).unwrap();
        resolver.well_known_origin =
            Some(mock_well_known(200, "  did:web:bob.example.com\n").await);
        assert_eq!(
            resolver.resolve("bob.example.com").await.as_deref(),
            Some("did:web:bob.example.com")
        );

        // Conflicting TXT records fail, whatever HTTPS says.
        let dns = mock_dns(vec![
            vec!["did=did:plc:ewvi7nxzyoun6zhxrhs64oiz"],
            vec!["did=did:web:x.example"],
        ])
        .await;
        let mut resolver = HandleResolver::new(vec![dns], true).unwrap();
        resolver.well_known_origin = Some(mock_well_known(200, "did:web:bob.example.com").await);
        assert_eq!(resolver.resolve("carol.example.com").await, None);

        // Neither: nothing (a 404, or a body that is not a DID).
        let dns = mock_dns(vec![]).await;
        let mut resolver = HandleResolver::new(vec![dns], true).unwrap();
        resolver.well_known_origin = Some(mock_well_known(404, "did:web:bob.example.com").await);
        assert_eq!(resolver.resolve("dan.example.com").await, None);
        resolver.well_known_origin = Some(mock_well_known(200, "<html>hello</html>").await);
        assert_eq!(resolver.resolve_fresh("dan.example.com").await, None);
    }

    #[tokio::test]
    async fn unreachable_dns_falls_back_to_https() {
        // Nothing listens on this port: the lookup fails (or times out) and HTTPS answers.
        let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        drop(silent);
        let mut resolver = HandleResolver::new(vec![addr], true).unwrap();
        resolver.well_known_origin = Some(mock_well_known(200, "did:web:erin.example.com").await);
        assert_eq!(
            resolver.resolve("erin.example.com").await.as_deref(),
            Some("did:web:erin.example.com")
        );
    }

    #[tokio::test]
    async fn outside_dev_mode_loopback_is_refused() {
        // A name that resolves to loopback gives the guarded client no address to connect to.
        let guarded = GuardedResolver {
            allow_private: false,
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(reqwest::dns::Resolve::resolve(&guarded, name)
            .await
            .is_err());
        let open = GuardedResolver {
            allow_private: true,
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        assert!(reqwest::dns::Resolve::resolve(&open, name).await.is_ok());
    }
}
