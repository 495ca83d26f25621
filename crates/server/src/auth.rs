//! Sign-in and bearer tokens: argon2id password hashes computed at most one
//! per CPU at a time, opaque random tokens (256 bits) stored only as SHA-256
//! hashes, sessions that end after days unused, and limits on failed
//! sign-ins per address and per account.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fyncall_domain::Agent;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::Principal;

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| ApiError::internal())?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| ApiError::internal())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::internal())
}

/// Checks a password against a stored hash. Also called with a fixed dummy
/// hash for unknown emails so both answers take the same time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of no password, verified against when the email is unknown.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a password of anyone").unwrap_or_default())
}

/// Shortest and longest password a person may choose (ASVS 2.1.1, 2.1.2).
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 12..=1000;

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < *PASSWORD_CHARS.start() {
        return Err(ApiError::invalid(
            "password",
            format!(
                "the password needs at least {} characters: a few words strung together make a good one",
                PASSWORD_CHARS.start()
            ),
        ));
    }
    if n > *PASSWORD_CHARS.end() {
        return Err(ApiError::invalid(
            "password",
            format!(
                "the password can be at most {} characters",
                PASSWORD_CHARS.end()
            ),
        ));
    }
    Ok(())
}

/// Runs argon2 work (hash or verify) off the async workers, at most one per
/// CPU at a time, so a flood of sign-ins queues here instead of taking the
/// threads that serve everything else.
pub async fn hashing<T: Send + 'static>(
    permits: &tokio::sync::Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = permits.acquire().await.map_err(|_| ApiError::internal())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ApiError::internal())
}

/// How many argon2 computations run at once: the CPU count.
pub fn hashing_permits() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// A new opaque token: `fyn_` and 64 hex digits of OS randomness.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::internal())?;
    Ok(format!("fyn_{}", hex::encode(bytes)))
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// At most `max` failed sign-ins within `span`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub max: usize,
    pub span: Duration,
}

/// Keys a limiter remembers at most per kind; past it the stalest key is
/// forgotten, so a flood of addresses cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// Recent failures per key, oldest first.
struct Failures<K> {
    by_key: HashMap<K, VecDeque<Instant>>,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn new() -> Self {
        Failures {
            by_key: HashMap::new(),
        }
    }

    /// Seconds until `key` may try again, if it is over `window` now.
    fn blocked(&mut self, key: &K, window: Window, now: Instant) -> Option<u64> {
        let list = self.by_key.get_mut(key)?;
        while list
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window.span)
        {
            list.pop_front();
        }
        if list.is_empty() {
            self.by_key.remove(key);
            return None;
        }
        (list.len() >= window.max).then(|| {
            let oldest = list.front().copied().unwrap_or(now);
            let left = window.span.saturating_sub(now.duration_since(oldest));
            left.as_secs() + u64::from(left.subsec_nanos() > 0)
        })
    }

    fn add(&mut self, key: &K, window: Window, now: Instant) {
        if !self.by_key.contains_key(key) && self.by_key.len() >= MAX_KEYS {
            self.make_room(window, now);
        }
        self.by_key.entry(key.clone()).or_default().push_back(now);
    }

    /// Forgets keys whose failures are all outside the window; if that is
    /// not enough, the stalest tenth, so a flood of new keys costs O(1) per
    /// key on average, not a scan of every key for each.
    fn make_room(&mut self, window: Window, now: Instant) {
        self.by_key.retain(|_, list| {
            list.back()
                .is_some_and(|t| now.duration_since(*t) < window.span)
        });
        if self.by_key.len() < MAX_KEYS {
            return;
        }
        let mut latest: Vec<Instant> = self
            .by_key
            .values()
            .filter_map(|list| list.back().copied())
            .collect();
        let cut = latest.len() / 10;
        let (_, threshold, _) = latest.select_nth_unstable(cut);
        let threshold = *threshold;
        self.by_key
            .retain(|_, list| list.back().is_some_and(|t| *t > threshold));
    }

    fn take_back(&mut self, key: &K, at: Instant) {
        if let Some(list) = self.by_key.get_mut(key) {
            if let Some(i) = list.iter().rposition(|t| *t == at) {
                list.remove(i);
            }
            if list.is_empty() {
                self.by_key.remove(key);
            }
        }
    }
}

/// The address a limit counts: an IPv4 address, or an IPv6 address's /64
/// (one host usually holds a whole /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::V6(octets.into())
            }
        },
    }
}

struct Limits {
    addresses: Failures<IpAddr>,
    /// By a digest of the address typed: 32 bytes a key, whatever was sent.
    accounts: Failures<[u8; 32]>,
    /// By a digest of a device token's hash: a sign-in from a device the
    /// account signed in on before counts here instead of for the account.
    devices: Failures<[u8; 32]>,
}

/// The longest email address there is (RFC 5321's path limit less its
/// brackets): a longer one is refused before anything is counted.
pub const EMAIL_MAX_CHARS: usize = 254;

/// What the per-account limit counts an email by: a fixed-size digest of
/// it as typed, trimmed and in lower case.
fn account_key(email: &str) -> [u8; 32] {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).into()
}

/// Failed sign-ins per address and per account, in sliding windows. Every
/// attempt counts as a failure from before its password is checked until
/// it succeeds, so parallel guesses cannot outrun the count.
pub struct LoginLimiter {
    limits: Mutex<Limits>,
    pub per_address: Window,
    pub per_account: Window,
    pub per_device: Window,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            limits: Mutex::new(Limits {
                addresses: Failures::new(),
                accounts: Failures::new(),
                devices: Failures::new(),
            }),
            per_address: Window {
                max: 5,
                span: Duration::from_secs(60),
            },
            per_account: Window {
                max: 10,
                span: Duration::from_secs(15 * 60),
            },
            per_device: Window {
                max: 10,
                span: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// A sign-in attempt counted as a failure until `succeeded` is called.
#[must_use]
pub struct Attempt {
    limiter: Arc<LoginLimiter>,
    address: IpAddr,
    /// The account's key, or the device's when it came from a known device.
    key: Key,
    at: Instant,
}

/// What an attempt counts against besides its address.
#[derive(Clone, Copy)]
enum Key {
    Account([u8; 32]),
    Device([u8; 32]),
}

impl Attempt {
    /// Takes this attempt's count back: the password was right.
    pub fn succeeded(self) {
        if let Ok(mut limits) = self.limiter.limits.lock() {
            limits.addresses.take_back(&self.address, self.at);
            match &self.key {
                Key::Account(k) => limits.accounts.take_back(k, self.at),
                Key::Device(k) => limits.devices.take_back(k, self.at),
            }
        }
    }
}

impl LoginLimiter {
    /// Counts an attempt from `ip` at `email`, or refuses it (429 with
    /// `Retry-After`) when its address or its account is over its limit.
    /// `device`: the hash of a device token the account was given at an
    /// earlier sign-in (checked by the caller); such an attempt counts for
    /// that device instead of the account, so guesses from elsewhere that
    /// lock the account do not lock out its owner's devices.
    pub fn begin(
        self: &Arc<Self>,
        ip: IpAddr,
        email: &str,
        device: Option<&str>,
    ) -> Result<Attempt, ApiError> {
        // No address is longer; refused before it costs the limiter a key.
        if email.trim().chars().count() > EMAIL_MAX_CHARS {
            return Err(ApiError::invalid(
                "email",
                format!("an email address has at most {EMAIL_MAX_CHARS} characters"),
            ));
        }
        let address = address_key(ip);
        let key = match device {
            Some(hash) => Key::Device(Sha256::digest(hash.as_bytes()).into()),
            None => Key::Account(account_key(email)),
        };
        let now = Instant::now();
        let mut limits = self.limits.lock().map_err(|_| ApiError::internal())?;
        if let Some(wait) = limits.addresses.blocked(&address, self.per_address, now) {
            return Err(ApiError::rate_limited(
                format!("too many failed sign-ins from this address: try again in {wait} s"),
                wait,
            ));
        }
        let blocked = match &key {
            Key::Account(k) => limits.accounts.blocked(k, self.per_account, now),
            Key::Device(k) => limits.devices.blocked(k, self.per_device, now),
        };
        if let Some(wait) = blocked {
            return Err(ApiError::rate_limited(
                format!(
                    "too many failed sign-ins for this account: try again in {} min, or ask an admin",
                    wait.div_ceil(60)
                ),
                wait,
            ));
        }
        limits.addresses.add(&address, self.per_address, now);
        match &key {
            Key::Account(k) => limits.accounts.add(k, self.per_account, now),
            Key::Device(k) => limits.devices.add(k, self.per_device, now),
        }
        Ok(Attempt {
            limiter: self.clone(),
            address,
            key,
            at: now,
        })
    }

    /// Keys remembered now (addresses, accounts), for tests of the bound.
    pub fn remembered(&self) -> (usize, usize) {
        self.limits
            .lock()
            .map(|l| (l.addresses.by_key.len(), l.accounts.by_key.len()))
            .unwrap_or_default()
    }
}

/// How stale `last_used_at` may get before a request writes it again: a
/// write per request would cost more than the minute of precision it buys.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The bearer token of a request, and who it belongs to.
pub struct Auth {
    pub principal: Principal,
    pub token_hash: String,
    /// The session's public id.
    pub session: uuid::Uuid,
}

impl Auth {
    /// The live session behind `token_hash`, noting its use.
    pub async fn of(state: &AppState, token_hash: String) -> Result<Option<Auth>, ApiError> {
        let now = crate::time::now();
        let idle_since = now - state.config.session_idle;
        let lookup = token_hash.clone();
        let Some(session) = state
            .blocking(move |s| s.principal(&lookup, idle_since))
            .await?
        else {
            state.known_tokens.forget(&token_hash);
            return Ok(None);
        };
        // An agent's session ends at its absolute lifetime however used.
        if matches!(session.principal, Principal::Agent(_))
            && now - session.created_at >= state.config.session_max
        {
            state.known_tokens.forget(&token_hash);
            return Ok(None);
        }
        state.known_tokens.insert(&token_hash);
        if now - session.last_used_at >= TOUCH_EVERY {
            let hash = token_hash.clone();
            let store = state.store.clone();
            // Not awaited: a lost touch only shortens the session by a minute.
            tokio::task::spawn_blocking(move || {
                if let Err(e) = store.touch_token(&hash, now) {
                    tracing::warn!(error = %e, "could not note a session's use");
                }
            });
        }
        Ok(Some(Auth {
            principal: session.principal,
            token_hash,
            session: session.id,
        }))
    }
}

/// The bearer token of a request.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized("sign in first: send `Authorization: Bearer <token>`")
        })?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    text.strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let hash = token_hash(bearer(parts)?);
        Auth::of(state, hash).await?.ok_or_else(|| {
            ApiError::unauthorized(
                "this sign-in has ended (signed out, expired or revoked): sign in again",
            )
        })
    }
}

/// A signed-in agent (integration tokens are refused), with the session.
pub struct AgentAuth(pub Agent, pub String, pub uuid::Uuid);

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        match auth.principal {
            Principal::Agent(agent) => Ok(AgentAuth(agent, auth.token_hash, auth.session)),
            Principal::Integration { .. } => Err(ApiError::forbidden(
                "integration tokens can only call /api/v1/integrations/*",
            )),
        }
    }
}

/// An integration token (agent tokens are refused).
pub struct IntegrationAuth;

impl FromRequestParts<AppState> for IntegrationAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        match auth.principal {
            Principal::Integration { .. } => Ok(IntegrationAuth),
            Principal::Agent(_) => Err(ApiError::forbidden(
                "this endpoint is for the chat integration's token; agents use the ticket and conversation endpoints",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_new_addresses_keeps_memory_bounded() {
        let window = Window {
            max: 5,
            span: Duration::from_secs(60),
        };
        let start = Instant::now();
        let mut failures: Failures<u32> = Failures::new();
        // Keys that failed over a minute ago go first.
        for k in 0..1000 {
            failures.add(&k, window, start);
        }
        let later = start + Duration::from_secs(61);
        let flood = MAX_KEYS as u32 * 3;
        for k in 1000..1000 + flood {
            failures.add(&k, window, later + Duration::from_micros(u64::from(k)));
            assert!(failures.by_key.len() <= MAX_KEYS, "bounded at {k}");
        }
        assert!(!failures.by_key.contains_key(&0), "the stale ones are gone");
        // The newest stay counted: the last address is still remembered.
        assert!(failures.by_key.contains_key(&(999 + flood)));
        // Five failures of one address block it, whatever the flood did.
        let now = later + Duration::from_secs(1);
        for _ in 0..5 {
            failures.add(&u32::MAX, window, now);
        }
        assert!(failures.blocked(&u32::MAX, window, now).is_some());
    }
}
