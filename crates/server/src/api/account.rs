//! Sign-in, agents, team settings and integration tokens.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use fyncall_domain::{Agent, Role, TeamSettings, permissions};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::{LoginAnswer, TokenAnswer};
use crate::app::{ApiJson, AppState, Id};
use crate::auth::{self, AgentAuth, Auth};
use crate::error::ApiError;
use crate::store::{NewAgent, Principal};

/// The caller's address, for the sign-in limit.
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(ip))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// Signs in; answers a bearer token and the agent.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginBody, tag = "auth",
    responses((status = 200, body = LoginAnswer)))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    state.limiter.check(ip)?;
    let email = body.email.clone();
    let candidate = state.blocking(move |s| s.login_candidate(&email)).await?;
    let password = body.password;
    let verified = tokio::task::spawn_blocking(move || match candidate {
        Some((agent, hash)) => auth::verify_password(&password, &hash).then_some(agent),
        None => {
            // Same work for unknown emails, so timing does not tell which exist.
            let _ = auth::verify_password(&password, auth::dummy_hash());
            None
        }
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let Some(agent) = verified else {
        state.limiter.failed(ip);
        tracing::info!(%ip, "sign-in failed");
        return Err(ApiError::unauthorized("wrong email or password"));
    };
    if !agent.active {
        return Err(ApiError::unauthorized(
            "this account is deactivated: ask an admin to reactivate it",
        ));
    }
    state.limiter.succeeded(ip);
    let token = auth::new_token()?;
    let hash = auth::token_hash(&token);
    let principal = Principal::Agent(agent.clone());
    let now = crate::time::now();
    state
        .blocking(move |s| s.insert_token(&hash, &principal, now))
        .await?;
    tracing::info!(agent = %agent.id, "signed in");
    Ok(Json(
        json!({"token": token, "agent": agent, "database_id": state.database_id}),
    ))
}

/// Revokes the caller's token.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    let now = crate::time::now();
    let hash = auth.token_hash;
    state.blocking(move |s| s.revoke_token(&hash, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "agents", responses((status = 200, body = Agent)))]
pub async fn me(AgentAuth(agent, _): AgentAuth) -> Json<Agent> {
    Json(agent)
}

#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = Vec<Agent>)))]
pub async fn list_agents(
    State(state): State<AppState>,
    _: AgentAuth,
) -> Result<Json<Vec<Agent>>, ApiError> {
    Ok(Json(state.blocking(|s| s.agents()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewAgentBody {
    pub name: String,
    pub email: String,
    /// `admin` or `agent`.
    pub role: String,
    pub password: String,
}

fn parse_role(text: &str) -> Result<Role, ApiError> {
    match text {
        "admin" => Ok(Role::Admin),
        "agent" => Ok(Role::Agent),
        other => Err(ApiError::bad_request(format!(
            "unknown role {other:?}: use admin or agent"
        ))),
    }
}

/// Checks a new agent's fields; shared by the API and `init`.
pub fn check_new_agent(new: &NewAgent) -> Result<(), ApiError> {
    // RULES.md "Text and ids": no control characters in names.
    fyncall_domain::text::clean_text("name", &new.name)?;
    fyncall_domain::text::clean_text("email", &new.email)?;
    if new.name.trim().is_empty() {
        return Err(ApiError::invalid("name", "the name cannot be empty"));
    }
    let email = new.email.trim();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(ApiError::invalid(
            "email",
            "the email must be an address like name@example.com",
        ));
    }
    auth::check_new_password(&new.password)
}

#[utoipa::path(post, path = "/api/v1/agents", request_body = NewAgentBody, tag = "agents",
    responses((status = 201, body = Agent)))]
pub async fn create_agent(
    State(state): State<AppState>,
    AgentAuth(actor, _): AgentAuth,
    ApiJson(body): ApiJson<NewAgentBody>,
) -> Result<(StatusCode, Json<Agent>), ApiError> {
    permissions::check_admin(&actor, "add agents")?;
    let new = NewAgent {
        name: body.name,
        email: body.email,
        role: parse_role(&body.role)?,
        password: body.password,
    };
    check_new_agent(&new)?;
    let agent = Agent {
        id: Uuid::now_v7(),
        name: new.name.trim().to_owned(),
        email: new.email.trim().to_owned(),
        role: new.role,
        active: true,
    };
    let password = new.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal())??;
    let stored = agent.clone();
    let seq = state
        .blocking(move |s| s.create_agent(&stored, &hash))
        .await?;
    state.announce(Some(seq));
    Ok((StatusCode::CREATED, Json(agent)))
}

#[derive(Deserialize, ToSchema)]
pub struct AgentPatch {
    pub role: Option<String>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/agents/{id}", request_body = AgentPatch, tag = "agents",
    params(("id" = Uuid, Path)), responses((status = 200, body = Agent)))]
pub async fn update_agent(
    State(state): State<AppState>,
    AgentAuth(actor, _): AgentAuth,
    Id(id): Id,
    ApiJson(body): ApiJson<AgentPatch>,
) -> Result<Json<Agent>, ApiError> {
    permissions::check_admin(&actor, "change agents")?;
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let (agent, seq) = state
        .blocking(move |s| s.update_agent(id, role, body.active))
        .await?;
    state.announce(Some(seq));
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
    AgentAuth(actor, _): AgentAuth,
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
    AgentAuth(actor, _): AgentAuth,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    state
        .blocking(move |s| s.insert_token(&hash, &Principal::Integration { name }, now))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"token": token}))))
}
