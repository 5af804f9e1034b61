//! Telling the network's relays (BGS hosts, `PDS_CRAWLERS`) that this server exists and has
//! news, so they subscribe to its firehose (checklist §8: "SHOULD ask relays to crawl").
//!
//! At start, and again after new events at most every 20 minutes (as the reference PDS), each
//! crawler gets `POST /xrpc/com.atproto.sync.requestCrawl {"hostname": <our hostname>}`. The
//! task follows the event stream itself, so the write path knows nothing about crawlers.
//! Failures are logged and retried at the next opportunity; nothing here can stall a write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use store::Store;
use tokio::sync::broadcast;

use crate::app::AppState;

/// The least time between two rounds of crawl requests.
pub const NOTIFY_INTERVAL: Duration = Duration::from_secs(20 * 60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The crawlers to notify and how.
pub struct Crawlers {
    hostname: String,
    /// `requestCrawl` endpoints, one per crawler.
    endpoints: Vec<String>,
    http: reqwest::Client,
}

impl Crawlers {
    /// `None` when no crawler is configured. Crawlers are named by host (`bsky.network`) or by
    /// URL (`https://bsky.network`); plain http is kept only in dev mode.
    pub fn new(state: &AppState) -> Result<Option<Crawlers>, String> {
        let mut endpoints = Vec::new();
        for crawler in &state.config.crawlers {
            endpoints.push(endpoint(crawler, state.config.dev_mode)?);
        }
        if endpoints.is_empty() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Some(Crawlers {
            hostname: state.config.hostname.clone(),
            endpoints,
            http,
        }))
    }

    /// Asks every crawler to crawl, concurrently; returns how many accepted.
    pub async fn request_crawl(&self) -> usize {
        let body = serde_json::json!({ "hostname": self.hostname });
        let requests: Vec<_> = self
            .endpoints
            .iter()
            .map(|url| {
                let request = self.http.post(url).json(&body);
                let url = url.clone();
                tokio::spawn(async move {
                    match request.send().await {
                        Ok(response) if response.status().is_success() => true,
                        Ok(response) => {
                            let status = response.status();
                            let text = response.text().await.unwrap_or_default();
                            eprintln!(
                                "requestCrawl to {url} was refused ({status}): {}",
                                text.chars().take(300).collect::<String>()
                            );
                            false
                        }
                        Err(e) => {
                            eprintln!("requestCrawl to {url} failed: {e}");
                            false
                        }
                    }
                })
            })
            .collect();
        let mut accepted = 0;
        for request in requests {
            accepted += usize::from(request.await.unwrap_or(false));
        }
        accepted
    }
}

/// Starts the crawler task: a crawl request now, then after events, at most every
/// [`NOTIFY_INTERVAL`]. Does nothing when no crawler is configured.
pub fn spawn(state: Arc<AppState>) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(crawlers) = Crawlers::new(&state)? else {
        return Ok(None);
    };
    let mut events = state.store.subscribe();
    Ok(Some(tokio::spawn(async move {
        crawlers.request_crawl().await;
        let mut last = Instant::now();
        loop {
            match events.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
            if last.elapsed() >= NOTIFY_INTERVAL {
                last = Instant::now();
                crawlers.request_crawl().await;
            }
        }
    })))
}

/// The `requestCrawl` URL of a crawler given as a host or a URL.
fn endpoint(crawler: &str, dev_mode: bool) -> Result<String, String> {
    let crawler = crawler.trim().trim_end_matches('/');
    let origin = if crawler.starts_with("https://") {
        crawler.to_owned()
    } else if crawler.starts_with("http://") {
        if !dev_mode {
            return Err(format!(
                "the crawler {crawler:?} must be https (plain http needs PDS_DEV_MODE=true)"
            ));
        }
        crawler.to_owned()
    } else if crawler.contains("://") {
        return Err(format!(
            "the crawler {crawler:?} must be an https URL or a host name"
        ));
    } else {
        format!("https://{crawler}")
    };
    Ok(format!("{origin}/xrpc/com.atproto.sync.requestCrawl"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawler_endpoints() {
        assert_eq!(
            endpoint("bsky.network", false).unwrap(),
            "https://bsky.network/xrpc/com.atproto.sync.requestCrawl"
        );
        assert_eq!(
            endpoint("https://bsky.network/", false).unwrap(),
            "https://bsky.network/xrpc/com.atproto.sync.requestCrawl"
        );
        assert!(endpoint("http://localhost:2470", false).is_err());
        assert_eq!(
            endpoint("http://localhost:2470", true).unwrap(),
            "http://localhost:2470/xrpc/com.atproto.sync.requestCrawl"
        );
        assert!(endpoint("ftp://x.example", true).is_err());
    }
}
