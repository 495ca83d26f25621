//! Sign-in, agents, team settings and integration tokens.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use fyncall_domain::wire::LiveSession;
use fyncall_domain::{Agent, AgentChange, TeamSettings, permissions};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::{LoginAnswer, TokenAnswer};
use crate::app::{ApiJson, AppState, Id};
use crate::auth::{self, AgentAuth, Auth};
use crate::error::ApiError;
use crate::store::{Ending, IntegrationToken, NewAgent, NewToken, Principal};

/// The caller's address, for the sign-in limit: the connection's, or the
/// one a trusted proxy forwarded.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(crate::limits::client_ip(
            &parts.headers,
            peer,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client's own name for itself, kept with a session.
pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UserAgent(
            parts
                .headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().filter(|c| !c.is_control()).take(200).collect()),
        ))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
    /// The device token an earlier sign-in of this account gave this device.
    #[serde(default)]
    pub device_token: Option<String>,
}

/// Checks `password` against the agent with `email` (the same work when
/// there is none), at most one argon2 per CPU at a time.
async fn check_password(
    state: &AppState,
    email: String,
    password: String,
) -> Result<Option<Agent>, ApiError> {
    let candidate = state.blocking(move |s| s.login_candidate(&email)).await?;
    auth::hashing(&state.hashing, move || {
        // Over-long input is never hashed (it could only be wrong).
        let fits = password.chars().count() <= *auth::PASSWORD_CHARS.end();
        match candidate {
            Some((agent, hash)) if fits => auth::verify_password(&password, &hash).then_some(agent),
            _ => {
                // Same work for unknown emails, so timing does not tell which exist.
                let _ = auth::verify_password(&password, auth::dummy_hash());
                None
            }
        }
    })
    .await
}

/// Signs in; answers a bearer token and the agent.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginBody, tag = "auth",
    responses((status = 200, body = LoginAnswer)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(user_agent): UserAgent,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<LoginAnswer>, ApiError> {
    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    // A device token this account was given: the attempt counts for the
    // device, not the account (OWASP's device-cookie defence).
    let device = match body.device_token.as_deref().filter(|t| t.len() <= 200) {
        Some(presented) => {
            let hash = auth::token_hash(presented);
            let lookup = hash.clone();
            let owner = state
                .blocking(move |s| s.device_token_owner(&lookup))
                .await?;
            owner
                .filter(|(_, email)| email.trim().eq_ignore_ascii_case(body.email.trim()))
                .map(|_| hash)
        }
        None => None,
    };
    let attempt = state.limiter.begin(ip, &body.email, device.as_deref())?;
    let Some(agent) = check_password(&state, body.email, body.password).await? else {
        tracing::info!(%ip, "sign-in failed");
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    if !agent.active {
        return Err(ApiError::unauthorized(
            "this account is deactivated: ask an admin to reactivate it",
        ));
    }
    attempt.succeeded();
    // The device keeps its token; a new device gets one.
    let device_token = match (device, body.device_token) {
        (Some(_), Some(kept)) => kept,
        _ => {
            let fresh = auth::new_token()?;
            let (hash, id, now) = (auth::token_hash(&fresh), agent.id, crate::time::now());
            state
                .blocking(move |s| s.insert_device_token(&hash, id, now))
                .await?;
            fresh
        }
    };
    let token = auth::new_token()?;
    let hash = auth::token_hash(&token);
    // Its requests are rated as its own from the first one.
    state.known_tokens.insert(&hash);
    let principal = Principal::Agent(agent.clone());
    let now = crate::time::now();
    state
        .blocking(move |s| {
            s.insert_token(&NewToken {
                hash: &hash,
                id: Uuid::new_v4(),
                principal: &principal,
                now,
                user_agent: user_agent.as_deref(),
            })
        })
        .await?;
    tracing::info!(agent = %agent.id, "signed in");
    Ok(Json(LoginAnswer {
        token,
        agent,
        expires_at: now + state.config.session_idle.min(state.config.session_max),
        database_id: state.database_id,
        device_token,
    }))
}

/// Revokes the caller's token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    let now = crate::time::now();
    let hash = auth.token_hash;
    state.blocking(move |s| s.revoke_token(&hash, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's live sessions, most recently used first.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "auth",
    responses((status = 200, body = Vec<LiveSession>)))]
pub async fn my_sessions(
    State(state): State<AppState>,
    AgentAuth(agent, hash, _): AgentAuth,
) -> Result<Json<Vec<LiveSession>>, ApiError> {
    let (idle, max) = (state.config.session_idle, state.config.session_max);
    let idle_since = crate::time::now() - idle;
    let rows = state
        .blocking(move |s| s.sessions(agent.id, idle_since))
        .await?;
    let now = crate::time::now();
    Ok(Json(
        rows.into_iter()
            .filter(|r| r.created_at + max > now)
            .map(|r| LiveSession {
                id: r.id,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                expires_at: (r.last_used_at + idle).min(r.created_at + max),
                user_agent: r.user_agent,
                current: auth::same_secret(&r.hash, &hash),
            })
            .collect(),
    ))
}

/// Ends one of the caller's sessions (another device, or this one).
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn end_my_session(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let now = crate::time::now();
    let ended = state
        .blocking(move |s| s.end_sessions(agent.id, Ending::One(id), now))
        .await?;
    if ended == 0 {
        return Err(ApiError::not_found(format!(
            "you have no live session {id}: list them with GET /me/sessions"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordBody {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password; every other session of theirs ends.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordBody, tag = "auth",
    responses((status = 204)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    AgentAuth(agent, hash, _): AgentAuth,
    ApiJson(body): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    auth::check_new_password(&body.new_password)?;
    // A stolen session guessing the password meets the sign-in limits.
    let attempt = state.limiter.begin(ip, &agent.email, None)?;
    let checked = check_password(&state, agent.email.clone(), body.current_password).await?;
    if checked.is_none_or(|a| a.id != agent.id) {
        return Err(ApiError::invalid(
            "current_password",
            "the current password is not right",
        ));
    }
    attempt.succeeded();
    let password = body.new_password;
    let new_hash = auth::hashing(&state.hashing, move || auth::hash_password(&password)).await??;
    let now = crate::time::now();
    state
        .blocking(move |s| s.set_password(agent.id, &new_hash, &hash, now))
        .await?;
    tracing::info!(agent = %agent.id, "password changed; other sessions ended");
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of an agent (admin).
#[utoipa::path(delete, path = "/api/v1/agents/{id}/sessions", tag = "agents",
    params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn end_agent_sessions(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    permissions::check_admin(&actor, "end another agent's sessions")?;
    let now = crate::time::now();
    let known = state
        .blocking(move |s| {
            let known = s.agents()?.iter().any(|a| a.id == id);
            if known {
                s.end_sessions(id, Ending::All, now)?;
            }
            Ok(known)
        })
        .await?;
    if !known {
        return Err(ApiError::not_found(format!("no agent {id} in this team")));
    }
    tracing::info!(agent = %id, by = %actor.id, "sessions ended by an admin");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "agents", responses((status = 200, body = Agent)))]
pub async fn me(AgentAuth(agent, ..): AgentAuth) -> Json<Agent> {
    Json(agent)
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = Vec<Agent>)))]
pub async fn list_agents(
    State(state): State<AppState>,
    _: AgentAuth,
) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.blocking(|s| s.agents()).await?))
}

/// Checks a new agent's fields; shared by the API and `init`.
pub fn check_new_agent(new: &NewAgent) -> Result<(), ApiError> {
    // RULES.md "Text and ids": no control characters in names.
    fyncall_domain::agent::clean_name(&new.name)?;
    fyncall_domain::text::clean_text("email", &new.email)?;
    let email = new.email.trim();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::invalid(
            "email",
            "the email must be an address like name@example.com",
        ));
    }
    auth::check_new_password(&new.password)
}

#[utoipa::path(post, path = "/api/v1/agents", request_body = NewAgent, tag = "agents",
    responses((status = 201, body = Agent)))]
pub async fn create_agent(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    ApiJson(new): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    permissions::check_admin(&actor, "add agents")?;
    check_new_agent(&new)?;
    let agent = Agent {
        id: Uuid::now_v7(),
        name: new.name.trim().to_owned(),
        email: new.email.trim().to_owned(),
        role: new.role,
        active: true,
    };
    let password = new.password;
    let hash = auth::hashing(&state.hashing, move || auth::hash_password(&password)).await??;
    let stored = agent.clone();
    let seq = state
        .blocking(move |s| s.create_agent(&stored, &hash))
        .await?;
    state.announce(Some(seq));
    Ok((StatusCode::CREATED, Json(agent)))
}

#[utoipa::path(patch, path = "/api/v1/agents/{id}", request_body = AgentChange, tag = "agents",
    params(("id" = Uuid, Path)), responses((status = 200, body = Agent)))]
pub async fn update_agent(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
    ApiJson(body): ApiJson<AgentChange>,
) -> Result<Json<Agent>, ApiError> {
    permissions::check_admin(&actor, "change agents")?;
    let (agent, seq) = state.blocking(move |s| s.update_agent(id, &body)).await?;
    state.announce(Some(seq));
    if !agent.active {
        // Nobody sees a deactivated agent anywhere, on any server process.
        crate::api::presence::gone(&state, agent.id).await;
    }
    Ok(Json(agent))
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", responses((status = 200, body = TeamSettings)))]
pub async fn get_settings(
    State(state): State<AppState>,
    _: AgentAuth,
) -> Result<Json<TeamSettings>, ApiError> {
    Ok(Json(state.blocking(|s| s.settings()).await?))
}

#[utoipa::path(put, path = "/api/v1/settings", request_body = TeamSettings, tag = "settings",
    responses((status = 200, body = TeamSettings)))]
pub async fn put_settings(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    ApiJson(body): ApiJson<TeamSettings>,
) -> Result<Json<TeamSettings>, ApiError> {
    permissions::check_admin(&actor, "change the team settings")?;
    body.validate()?;
    let saved = body.clone();
    let seq = state.blocking(move |s| s.put_settings(&saved)).await?;
    state.announce(Some(seq));
    Ok(Json(body))
}

#[derive(Deserialize, ToSchema)]
pub struct TokenBody {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/integrations/tokens", request_body = TokenBody, tag = "integrations",
    responses((status = 201, body = TokenAnswer)))]
pub async fn create_integration_token(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    UserAgent(user_agent): UserAgent,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<TokenAnswer>), ApiError> {
    permissions::check_admin(&actor, "make integration tokens")?;
    let name = fyncall_domain::text::clean_text("name", body.name.trim())?;
    if name.is_empty() {
        return Err(ApiError::invalid(
            "name",
            "name the integration (for example \"chat platform\")",
        ));
    }
    let token = auth::new_token()?;
    let hash = auth::token_hash(&token);
    let now = crate::time::now();
    let id = Uuid::new_v4();
    state
        .blocking(move |s| {
            s.insert_token(&NewToken {
                hash: &hash,
                id,
                principal: &Principal::Integration { name },
                now,
                user_agent: user_agent.as_deref(),
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(TokenAnswer { id, token })))
}

/// The team's live integration tokens, without their secrets (admin).
#[utoipa::path(get, path = "/api/v1/integrations/tokens", tag = "integrations",
    responses((status = 200, body = Vec<IntegrationToken>)))]
pub async fn list_integration_tokens(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
) -> Result<Json<Vec<IntegrationToken>>, ApiError> {
    permissions::check_admin(&actor, "see integration tokens")?;
    Ok(Json(state.blocking(|s| s.integration_tokens()).await?))
}

/// Revokes an integration token (admin); it stops working at once.
#[utoipa::path(delete, path = "/api/v1/integrations/tokens/{id}", tag = "integrations",
    params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn revoke_integration_token(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    permissions::check_admin(&actor, "revoke integration tokens")?;
    let now = crate::time::now();
    if !state
        .blocking(move |s| s.revoke_integration_token(id, now))
        .await?
    {
        return Err(ApiError::not_found(format!(
            "no live integration token {id}: list them with GET /integrations/tokens"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
