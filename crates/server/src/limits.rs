//! How the server protects itself on a real network (API.md "Auth",
//! "Operations"): its settings, who a request comes from, the per-session
//! request rate, and the caps on live streams.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use ipnet::IpNet;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_governor::GovernorError;
use tower_governor::key_extractor::KeyExtractor;

use crate::error::ApiError;

/// The certificate chain and private key `serve --tls-cert/--tls-key` names.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The server's limits; `Config::default()` is what `serve` uses unless told
/// otherwise.
#[derive(Debug, Clone)]
pub struct Config {
    /// An agent's session ends after this long unused (`--session-days`).
    pub session_idle: chrono::TimeDelta,
    /// An agent's session ends this long after sign-in however much it is
    /// used (`--session-max-days`, ASVS 3.3.2).
    pub session_max: chrono::TimeDelta,
    /// Requests per second one session (or one address without a token)
    /// may make on average; 0 turns the limit off (`--max-request-rate`).
    pub max_request_rate: u32,
    /// Requests a session may make at once above the rate.
    pub request_burst: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<IpNet>,
    /// A request not answered by then gets 503 (live streams excepted).
    pub request_timeout: Duration,
    /// A connection that sends no request for this long is closed.
    pub idle_timeout: Duration,
    /// Requests served at once; past it the server answers 503 at once.
    pub max_concurrent_requests: usize,
    pub streams_per_session: usize,
    pub max_streams: usize,
    /// How long a pushed mutation id is remembered (see `prune`).
    pub remember_mutations: chrono::TimeDelta,
    /// A first download (snapshot) whose client reads nothing this long
    /// ends, and frees its place.
    pub snapshot_stall: Duration,
    /// Webhooks may be plain `http://` to hosts outside the loopback range
    /// (`--allow-http-webhooks`); by default only `https://` leaves the machine.
    pub allow_http_webhooks: bool,
    /// Runs the delivery worker (`--hold-deliveries` turns it off, as do
    /// tests that drive deliveries with a clock of their own).
    pub deliver: bool,
    /// Longest a report's read of the tickets may run before it is
    /// stopped (below the request timeout, so the answer says why).
    pub report_time_limit: Duration,
    pub tls: Option<TlsFiles>,
    /// The key file mailbox passwords are sealed with (`--mail-key`; for
    /// an SQLite store `<store>.mail-key` beside it). Without one the team
    /// has no email channel, and setting up a mailbox says how to get one.
    pub mail_key: Option<std::path::PathBuf>,
    /// Mail servers may be reached without TLS outside the loopback range
    /// (`--allow-plain-mail`).
    pub allow_plain_mail: bool,
    /// How often a mailbox whose server offers no IDLE is looked at.
    pub mail_poll: Duration,
    /// Certificate authorities (PEM) mail servers' TLS may chain to
    /// besides the OS's (`--mail-ca`): a company's own.
    pub mail_ca: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_idle: chrono::TimeDelta::days(30),
            session_max: chrono::TimeDelta::days(90),
            max_request_rate: 100,
            request_burst: 200,
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_concurrent_requests: 1024,
            streams_per_session: 8,
            max_streams: 4096,
            remember_mutations: chrono::TimeDelta::days(400),
            snapshot_stall: Duration::from_secs(30),
            allow_http_webhooks: false,
            deliver: true,
            report_time_limit: Duration::from_secs(25),
            tls: None,
            mail_key: None,
            allow_plain_mail: false,
            mail_poll: Duration::from_secs(60),
            mail_ca: None,
        }
    }
}

/// The address a request comes from: the connection's own, or, when that
/// is a trusted proxy, the last address in `X-Forwarded-For` that is not
/// one (the proxy appends the address it saw; earlier ones the client can
/// forge).
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

fn peer<T>(req: &Request<T>) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Who a request rate counts against: its bearer token's session, or, with
/// no token, its address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    Session(String),
    Address(IpAddr),
}

/// Keys the per-session request rate (tower_governor): a request with a
/// token known to be a live session's counts for that session; any other
/// (no token, or one never seen good: a made-up one) for its address, so
/// made-up tokens cannot each get a burst of their own.
#[derive(Clone)]
pub struct SessionKey {
    pub trusted: Arc<Vec<IpNet>>,
    pub known: Arc<KnownTokens>,
}

/// Hashes of tokens seen to be live sessions' (filled by `Auth::of`); a
/// bounded cache that forgets the least used first.
pub struct KnownTokens(quick_cache::sync::Cache<String, ()>);

/// Sessions remembered as known good: more than a team's live sessions.
const KNOWN_TOKENS: usize = 50_000;

impl Default for KnownTokens {
    fn default() -> Self {
        KnownTokens(quick_cache::sync::Cache::new(KNOWN_TOKENS))
    }
}

impl KnownTokens {
    pub fn insert(&self, token_hash: &str) {
        if self.0.get(token_hash).is_none() {
            self.0.insert(token_hash.to_owned(), ());
        }
    }

    /// An ended session is keyed by address again.
    pub fn forget(&self, token_hash: &str) {
        self.0.remove(token_hash);
    }

    pub fn contains(&self, token_hash: &str) -> bool {
        self.0.get(token_hash).is_some()
    }
}

impl KeyExtractor for SessionKey {
    type Key = RateKey;

    fn extract<T>(&self, req: &Request<T>) -> Result<RateKey, GovernorError> {
        let token = req
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let session = token
            .map(crate::auth::token_hash)
            .filter(|hash| self.known.contains(hash));
        Ok(match session {
            Some(hash) => RateKey::Session(hash),
            None => RateKey::Address(client_ip(req.headers(), peer(req), &self.trusted)),
        })
    }
}

/// The API error for a refused rate.
pub fn rate_refused(e: GovernorError) -> axum::response::Response {
    use axum::response::IntoResponse;
    match e {
        GovernorError::TooManyRequests { wait_time, .. } => ApiError::rate_limited(
            "too many requests for this sign-in: slow down and try again in a moment",
            wait_time,
        )
        .into_response(),
        _ => ApiError::internal().into_response(),
    }
}

/// Live streams open now: per session and in all.
pub struct Streams {
    total: Arc<Semaphore>,
    per_session: Mutex<HashMap<String, usize>>,
    per_session_max: usize,
}

/// A live stream's place; given back when the stream ends.
pub struct StreamSlot {
    streams: Arc<Streams>,
    session: String,
    _total: OwnedSemaphorePermit,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.streams.per_session.lock() {
            if let Some(n) = map.get_mut(&self.session) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.session);
                }
            }
        }
    }
}

impl Streams {
    pub fn new(per_session_max: usize, total: usize) -> Arc<Streams> {
        Arc::new(Streams {
            total: Arc::new(Semaphore::new(total)),
            per_session: Mutex::new(HashMap::new()),
            per_session_max,
        })
    }

    /// A place for one more stream of `session`, or 429.
    pub fn open(self: &Arc<Self>, session: &str) -> Result<StreamSlot, ApiError> {
        let permit = self.total.clone().try_acquire_owned().map_err(|_| {
            ApiError::rate_limited(
                "the server has as many live streams open as it serves: try again shortly",
                5,
            )
        })?;
        let mut map = self.per_session.lock().map_err(|_| ApiError::internal())?;
        let n = map.get(session).copied().unwrap_or(0);
        if n >= self.per_session_max {
            return Err(ApiError::rate_limited(
                format!(
                    "this sign-in already has {} live streams open: close one (another window or device) first",
                    self.per_session_max
                ),
                5,
            ));
        }
        map.insert(session.to_owned(), n + 1);
        Ok(StreamSlot {
            streams: self.clone(),
            session: session.to_owned(),
            _total: permit,
        })
    }
}
