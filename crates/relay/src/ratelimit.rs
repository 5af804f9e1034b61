//! Rate limits, on by default as on the reference PDS: fixed windows counted in memory.
//!
//! - every XRPC request, per client IP (the HTTP edge);
//! - createSession per identifier and IP, createAccount per IP, updateHandle and uploadBlob per
//!   account;
//! - repo writes per account in points (create 3, update 2, delete 1), per hour and per day.
//!
//! A refused request gets 429 `RateLimitExceeded` with `Retry-After` and the `RateLimit-*`
//! headers. `PDS_RATE_LIMITS_ENABLED=false` turns every limit off; a request carrying
//! `x-ratelimit-bypass: <PDS_RATE_LIMIT_BYPASS_KEY>`, or coming from one of
//! `PDS_RATE_LIMIT_BYPASS_IPS`, skips them.
//!
//! Memory is bounded: at most [`MAX_TRACKED_KEYS`] windows are kept; when full, expired windows
//! go first, then the oldest tenth.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use xrpc::XrpcError;

use crate::app::{AppState, Ctx};
use crate::config::Config;

/// Windows tracked at once, over all policies.
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// The header a trusted tool sends with the bypass key.
pub const BYPASS_HEADER: &str = "x-ratelimit-bypass";

const FIVE_MINUTES: Duration = Duration::from_secs(5 * 60);
const HOUR: Duration = Duration::from_secs(60 * 60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// One limit: at most `limit` points per `window`, per key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub name: &'static str,
    pub limit: u64,
    pub window: Duration,
}

impl Policy {
    pub fn new(name: &'static str, limit: u64, window: Duration) -> Policy {
        Policy {
            name,
            limit,
            window,
        }
    }
}

/// The configured policies.
#[derive(Clone, Debug)]
pub struct Limits {
    pub global: Policy,
    pub create_session: [Policy; 2],
    pub create_account: Policy,
    pub update_handle: [Policy; 2],
    pub upload_blob: Policy,
    pub write_points: [Policy; 2],
}

impl Limits {
    pub fn from_config(config: &Config) -> Limits {
        let n = &config.rate_limit_numbers;
        Limits {
            global: Policy::new("global", n.global, FIVE_MINUTES),
            create_session: [
                Policy::new("createSession-5m", n.create_session, FIVE_MINUTES),
                Policy::new("createSession-day", n.create_session_day, DAY),
            ],
            create_account: Policy::new("createAccount", n.create_account, FIVE_MINUTES),
            update_handle: [
                Policy::new("updateHandle-5m", n.update_handle, FIVE_MINUTES),
                Policy::new("updateHandle-day", n.update_handle_day, DAY),
            ],
            upload_blob: Policy::new("uploadBlob-day", n.upload_blob_day, DAY),
            write_points: [
                Policy::new("repoWrite-hour", n.write_points_hour, HOUR),
                Policy::new("repoWrite-day", n.write_points_day, DAY),
            ],
        }
    }
}

/// Points a repo write costs.
pub const CREATE_POINTS: u64 = 3;
pub const UPDATE_POINTS: u64 = 2;
pub const DELETE_POINTS: u64 = 1;

/// A refused request: the policy that refused it and when its window ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: u64,
    pub window: Duration,
    pub reset_in: Duration,
}

/// An allowed request: the tightest of its policies after spending, for the `RateLimit-*`
/// headers every limited response carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub limit: u64,
    pub remaining: u64,
    pub window: Duration,
    pub reset_in: Duration,
}

impl Standing {
    /// The `RateLimit-*` headers, as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        vec![
            ("ratelimit-limit", self.limit.to_string()),
            ("ratelimit-remaining", self.remaining.to_string()),
            (
                "ratelimit-reset",
                (now + self.reset_in).as_secs().to_string(),
            ),
            (
                "ratelimit-policy",
                format!("{};w={}", self.limit, self.window.as_secs()),
            ),
        ]
    }
}

impl Exceeded {
    /// `Retry-After` and the `RateLimit-*` headers, as (name, value).
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let reset_in = self.reset_in.as_secs() + u64::from(self.reset_in.subsec_nanos() > 0);
        let mut headers = vec![("retry-after", reset_in.max(1).to_string())];
        headers.extend(
            Standing {
                limit: self.limit,
                remaining: 0,
                window: self.window,
                reset_in: self.reset_in,
            }
            .headers(),
        );
        headers
    }

    pub fn error(&self) -> XrpcError {
        XrpcError::rate_limit_exceeded("Rate Limit Exceeded")
    }
}

struct Window {
    start: Instant,
    used: u64,
}

/// Fixed windows in memory, keyed by (policy, key).
pub struct Limiter {
    windows: Mutex<HashMap<(&'static str, String), Window>>,
    max_keys: usize,
}

impl Limiter {
    pub fn new(max_keys: usize) -> Limiter {
        Limiter {
            windows: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// Spends `cost` on every `(policy, key)` if all of them have room, and returns the tightest
    /// standing after that (`None` for no checks); otherwise spends nothing and names the first
    /// policy without room.
    pub fn check(&self, checks: &[(&Policy, &str, u64)]) -> Result<Option<Standing>, Exceeded> {
        self.check_at(checks, Instant::now())
    }

    pub fn check_at(
        &self,
        checks: &[(&Policy, &str, u64)],
        now: Instant,
    ) -> Result<Option<Standing>, Exceeded> {
        let mut windows = self.windows.lock().expect("not poisoned");
        for (policy, key, cost) in checks {
            let used = match windows.get(&(policy.name, (*key).to_owned())) {
                Some(w) if now.duration_since(w.start) < policy.window => w.used,
                _ => 0,
            };
            if used + cost > policy.limit {
                let reset_in = windows
                    .get(&(policy.name, (*key).to_owned()))
                    .map(|w| (w.start + policy.window).saturating_duration_since(now))
                    .unwrap_or(policy.window);
                return Err(Exceeded {
                    limit: policy.limit,
                    window: policy.window,
                    reset_in,
                });
            }
        }
        let mut tightest: Option<Standing> = None;
        for (policy, key, cost) in checks {
            let id = (policy.name, (*key).to_owned());
            if !windows.contains_key(&id) && windows.len() >= self.max_keys {
                evict(&mut windows, now, self.max_keys);
            }
            let window = windows.entry(id).or_insert(Window {
                start: now,
                used: 0,
            });
            if now.duration_since(window.start) >= policy.window {
                window.start = now;
                window.used = 0;
            }
            window.used += cost;
            let standing = Standing {
                limit: policy.limit,
                remaining: policy.limit.saturating_sub(window.used),
                window: policy.window,
                reset_in: (window.start + policy.window).saturating_duration_since(now),
            };
            if tightest
                .as_ref()
                .is_none_or(|t| standing.remaining < t.remaining)
            {
                tightest = Some(standing);
            }
        }
        Ok(tightest)
    }

    /// Windows tracked now.
    pub fn tracked(&self) -> usize {
        self.windows.lock().expect("not poisoned").len()
    }
}

/// Makes room: drops windows older than a day (the longest policy), then, if still full, the
/// oldest tenth.
fn evict(windows: &mut HashMap<(&'static str, String), Window>, now: Instant, max: usize) {
    windows.retain(|_, w| now.duration_since(w.start) < DAY);
    if windows.len() < max {
        return;
    }
    let mut starts: Vec<Instant> = windows.values().map(|w| w.start).collect();
    let drop = (max / 10).max(1).min(starts.len() - 1);
    let (_, cutoff, _) = starts.select_nth_unstable(drop);
    let cutoff = *cutoff;
    windows.retain(|_, w| w.start > cutoff);
    // Equal start times could leave it full: drop arbitrary ones then.
    while windows.len() >= max {
        let Some(k) = windows.keys().next().cloned() else {
            break;
        };
        windows.remove(&k);
    }
}

/// The server's rate limiting: the configured policies, the bypasses, and the windows.
pub struct RateLimits {
    pub enabled: bool,
    pub limits: Limits,
    bypass_key: Option<String>,
    bypass_ips: Vec<IpAddr>,
    behind_proxy: bool,
    limiter: Limiter,
}

impl RateLimits {
    pub fn from_config(config: &Config) -> RateLimits {
        RateLimits {
            enabled: config.rate_limits_enabled,
            limits: Limits::from_config(config),
            bypass_key: config
                .rate_limit_bypass_key
                .clone()
                .filter(|k| !k.is_empty()),
            bypass_ips: config.rate_limit_bypass_ips.clone(),
            behind_proxy: config.behind_proxy,
            limiter: Limiter::new(MAX_TRACKED_KEYS),
        }
    }

    /// The client's address: the TCP peer, or with `behind_proxy` the last `X-Forwarded-For`
    /// entry (the one our proxy added; earlier ones are the client's own claims).
    pub fn client_ip(&self, headers: &HeaderMap, remote: Option<SocketAddr>) -> Option<IpAddr> {
        if self.behind_proxy {
            // Only the last entry: an unparsable one falls back to the peer rather than to an
            // entry the client wrote.
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        remote.map(|r| r.ip())
    }

    /// Whether this request skips the limits (off, bypass key, bypass IP).
    pub fn skipped(&self, headers: &HeaderMap, ip: Option<IpAddr>) -> bool {
        if !self.enabled {
            return true;
        }
        if let (Some(key), Some(sent)) = (&self.bypass_key, headers.get(BYPASS_HEADER)) {
            if crate::auth::bytes_equal(key.as_bytes(), sent.as_bytes()) {
                return true;
            }
        }
        ip.is_some_and(|ip| self.bypass_ips.contains(&ip))
    }

    /// The per-IP limit on every XRPC request.
    pub fn check_global(
        &self,
        headers: &HeaderMap,
        remote: Option<SocketAddr>,
    ) -> Result<Option<Standing>, Exceeded> {
        let ip = self.client_ip(headers, remote);
        if self.skipped(headers, ip) {
            return Ok(None);
        }
        let key = ip.map(|ip| ip.to_string()).unwrap_or_default();
        self.limiter.check(&[(&self.limits.global, &key, 1)])
    }

    /// Checks `checks` for the request of `ctx` and sets the `RateLimit-*` headers on `ctx`
    /// (with `Retry-After` on refusal).
    pub fn check(&self, ctx: &Ctx, checks: &[(&Policy, &str, u64)]) -> Result<(), XrpcError> {
        let ip = self.client_ip(&ctx.headers, ctx.remote);
        if self.skipped(&ctx.headers, ip) {
            return Ok(());
        }
        match self.limiter.check(checks) {
            Ok(standing) => {
                for (name, value) in standing.iter().flat_map(Standing::headers) {
                    ctx.set_response_header(name, value);
                }
                Ok(())
            }
            Err(exceeded) => {
                for (name, value) in exceeded.headers() {
                    ctx.set_response_header(name, value);
                }
                Err(exceeded.error())
            }
        }
    }

    /// The client IP as a key (empty when unknown).
    pub fn ip_key(&self, ctx: &Ctx) -> String {
        self.client_ip(&ctx.headers, ctx.remote)
            .map(|ip| ip.to_string())
            .unwrap_or_default()
    }
}

impl AppState {
    /// createSession: per identifier and IP.
    pub fn limit_create_session(&self, ctx: &Ctx, identifier: &str) -> Result<(), XrpcError> {
        let rl = &self.rate_limits;
        let key = format!("{}-{}", identifier.to_ascii_lowercase(), rl.ip_key(ctx));
        let [a, b] = &rl.limits.create_session;
        rl.check(ctx, &[(a, &key, 1), (b, &key, 1)])
    }

    /// createAccount: per IP.
    pub fn limit_create_account(&self, ctx: &Ctx) -> Result<(), XrpcError> {
        let rl = &self.rate_limits;
        let key = rl.ip_key(ctx);
        rl.check(ctx, &[(&rl.limits.create_account, &key, 1)])
    }

    /// updateHandle: per account.
    pub fn limit_update_handle(&self, ctx: &Ctx, did: &str) -> Result<(), XrpcError> {
        let rl = &self.rate_limits;
        let [a, b] = &rl.limits.update_handle;
        rl.check(ctx, &[(a, did, 1), (b, did, 1)])
    }

    /// uploadBlob: per account.
    pub fn limit_upload_blob(&self, ctx: &Ctx, did: &str) -> Result<(), XrpcError> {
        let rl = &self.rate_limits;
        rl.check(ctx, &[(&rl.limits.upload_blob, did, 1)])
    }

    /// Repo writes: `points` (create 3, update 2, delete 1) per account, per hour and per day.
    pub fn limit_writes(&self, ctx: &Ctx, did: &str, points: u64) -> Result<(), XrpcError> {
        let rl = &self.rate_limits;
        let [a, b] = &rl.limits.write_points;
        rl.check(ctx, &[(a, did, points), (b, did, points)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_counts_then_resets() {
        let limiter = Limiter::new(100);
        let p = Policy::new("p", 3, Duration::from_secs(10));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check_at(&[(&p, "k", 1)], t0).unwrap();
        }
        let refused = limiter.check_at(&[(&p, "k", 1)], t0 + Duration::from_secs(4));
        let e = refused.unwrap_err();
        assert_eq!(e.limit, 3);
        assert_eq!(e.reset_in, Duration::from_secs(6));
        // Another key has its own window.
        limiter.check_at(&[(&p, "other", 1)], t0).unwrap();
        // After the window, the key starts over.
        limiter
            .check_at(&[(&p, "k", 3)], t0 + Duration::from_secs(10))
            .unwrap();
        assert!(limiter
            .check_at(&[(&p, "k", 1)], t0 + Duration::from_secs(11))
            .is_err());
    }

    #[test]
    fn points_and_all_or_nothing() {
        let limiter = Limiter::new(100);
        let hour = Policy::new("h", 5, HOUR);
        let day = Policy::new("d", 100, DAY);
        let t0 = Instant::now();
        limiter
            .check_at(&[(&hour, "a", 3), (&day, "a", 3)], t0)
            .unwrap();
        // 3 more would make 6 > 5: refused, and the day window is not charged.
        assert!(limiter
            .check_at(&[(&hour, "a", 3), (&day, "a", 3)], t0)
            .is_err());
        limiter
            .check_at(&[(&hour, "a", 2), (&day, "a", 2)], t0)
            .unwrap();
        assert!(limiter
            .check_at(&[(&hour, "a", 1), (&day, "a", 1)], t0)
            .is_err());
        // Day used: 5 of 100.
        let standing = limiter.check_at(&[(&day, "a", 90)], t0).unwrap().unwrap();
        assert_eq!(standing.remaining, 5);
        assert_eq!(standing.reset_in, DAY);
        limiter.check_at(&[(&day, "a", 5)], t0).unwrap();
        assert!(limiter.check_at(&[(&day, "a", 1)], t0).is_err());
    }

    #[test]
    fn tracked_keys_stay_bounded() {
        let limiter = Limiter::new(50);
        let p = Policy::new("p", 1, FIVE_MINUTES);
        let t0 = Instant::now();
        for i in 0..1000u64 {
            let key = format!("ip{i}");
            limiter
                .check_at(&[(&p, &key, 1)], t0 + Duration::from_millis(i))
                .unwrap();
            assert!(limiter.tracked() <= 50);
        }
        // The newest key is still tracked (and limited); the oldest were evicted.
        assert!(limiter
            .check_at(&[(&p, "ip999", 1)], t0 + Duration::from_millis(1000))
            .is_err());
        limiter
            .check_at(&[(&p, "ip0", 1)], t0 + Duration::from_millis(1000))
            .unwrap();
    }

    #[test]
    fn expired_windows_are_evicted_first() {
        let limiter = Limiter::new(3);
        let p = Policy::new("p", 1, FIVE_MINUTES);
        let t0 = Instant::now();
        limiter.check_at(&[(&p, "old", 1)], t0).unwrap();
        let later = t0 + DAY + Duration::from_secs(1);
        limiter.check_at(&[(&p, "a", 1)], later).unwrap();
        limiter.check_at(&[(&p, "b", 1)], later).unwrap();
        limiter.check_at(&[(&p, "c", 1)], later).unwrap();
        assert_eq!(limiter.tracked(), 3);
        assert!(limiter.check_at(&[(&p, "a", 1)], later).is_err());
        assert!(limiter.check_at(&[(&p, "b", 1)], later).is_err());
    }

    #[test]
    fn headers_name_the_policy() {
        let e = Exceeded {
            limit: 30,
            window: FIVE_MINUTES,
            reset_in: Duration::from_millis(1500),
        };
        let h: HashMap<_, _> = e.headers().into_iter().collect();
        assert_eq!(h["retry-after"], "2");
        assert_eq!(h["ratelimit-limit"], "30");
        assert_eq!(h["ratelimit-remaining"], "0");
        assert_eq!(h["ratelimit-policy"], "30;w=300");
        assert!(h["ratelimit-reset"].parse::<u64>().unwrap() > 1_700_000_000);
        assert_eq!(e.error().status, 429);
    }

    #[test]
    fn constant_time_compare() {
        assert!(crate::auth::bytes_equal(b"abc", b"abc"));
        assert!(!crate::auth::bytes_equal(b"abc", b"abd"));
        assert!(!crate::auth::bytes_equal(b"abc", b"ab"));
    }
}
