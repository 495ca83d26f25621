//! Sign-in and bearer tokens: argon2id password hashes, opaque random tokens
//! (256 bits) stored only as SHA-256 hashes, and a per-address limit on
//! failed sign-ins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
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

pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < 8 {
        return Err(ApiError::invalid(
            "password",
            "the password needs at least 8 characters",
        ));
    }
    Ok(())
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

/// Failed sign-ins per address in a sliding window.
pub struct LoginLimiter {
    failures: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    pub max_failures: usize,
    pub window: Duration,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter {
            failures: Mutex::new(HashMap::new()),
            max_failures: 5,
            window: Duration::from_secs(60),
        }
    }
}

impl LoginLimiter {
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        let mut map = self.failures.lock().map_err(|_| ApiError::internal())?;
        let now = Instant::now();
        let list = map.entry(ip).or_default();
        list.retain(|t| now.duration_since(*t) < self.window);
        if list.len() >= self.max_failures {
            return Err(ApiError::new(
                crate::error::ErrorCode::RateLimited,
                "too many failed sign-ins from this address: wait a minute, then try again",
            ));
        }
        Ok(())
    }

    pub fn failed(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.entry(ip).or_default().push(Instant::now());
        }
    }

    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&ip);
        }
    }
}

/// The bearer token of a request, and who it belongs to.
pub struct Auth {
    pub principal: Principal,
    pub token_hash: String,
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
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
        let token = bearer(parts)?;
        let hash = token_hash(token);
        let lookup = hash.clone();
        let principal = state
            .blocking(move |s| s.principal(&lookup))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("this sign-in is no longer valid: sign in again")
            })?;
        Ok(Auth {
            principal,
            token_hash: hash,
        })
    }
}

/// A signed-in agent (integration tokens are refused).
pub struct AgentAuth(pub Agent, pub String);

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let auth = Auth::from_request_parts(parts, state).await?;
        match auth.principal {
            Principal::Agent(agent) => Ok(AgentAuth(agent, auth.token_hash)),
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
