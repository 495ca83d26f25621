//! Macros over HTTP (API.md "Tags, macros, mentions, merge"): the team's
//! and the caller's own, kept; previewed and applied on a ticket, each step
//! an ordinary change checked by the rules.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fyncall_domain::macros::{self, Macro, NewMacro, Preview};
use fyncall_domain::wire::TicketBody;
use fyncall_domain::{Caller, Refusal};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::app::{ApiJson, AppState};
use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::store::{read_tokens, write_tokens};

/// A macro `me` may use, or `not_found`.
async fn usable(state: &AppState, me: Uuid, id: Uuid) -> Result<Macro, ApiError> {
    state
        .blocking(move |s| read_tokens(s, |db| crate::macros::get(db, me, id)))
        .await
}

fn macro_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::bad_request(format!("{raw:?} is not a macro id (a UUID)")))
}

fn ticket_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw)
        .map_err(|_| ApiError::bad_request(format!("{raw:?} is not a ticket id (a UUID)")))
}

#[utoipa::path(get, path = "/api/v1/macros", tag = "tickets", responses((status = 200, body = Vec<serde_json::Value>)))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
) -> Result<Json<Vec<Macro>>, ApiError> {
    let me = agent.id;
    Ok(Json(
        state
            .blocking(move |s| read_tokens(s, |db| crate::macros::list(db, me)))
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/macros", tag = "tickets", request_body = serde_json::Value, responses((status = 201, body = serde_json::Value)))]
pub async fn create(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    ApiJson(new): ApiJson<NewMacro>,
) -> Result<(StatusCode, Json<Macro>), ApiError> {
    crate::macros::check_may_keep(&agent, new.scope, None)?;
    let m = crate::macros::made(&new, Uuid::now_v7(), agent.id)?;
    let kept = m.clone();
    let now = crate::time::now();
    state
        .blocking(move |s| write_tokens(s, |db| crate::macros::save(db, &kept, now)))
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(patch, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    request_body = serde_json::Value, responses((status = 200, body = serde_json::Value)))]
pub async fn update(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Path(id): Path<String>,
    ApiJson(new): ApiJson<NewMacro>,
) -> Result<Json<Macro>, ApiError> {
    let id = macro_id(&id)?;
    let me = agent.id;
    let old = usable(&state, me, id).await?;
    crate::macros::check_may_keep(&agent, old.scope, old.owner_id)?;
    crate::macros::check_may_keep(&agent, new.scope, old.owner_id)?;
    let mut m = crate::macros::made(&new, id, old.owner_id.unwrap_or(agent.id))?;
    if m.scope == macros::MacroScope::Personal {
        m.owner_id = old.owner_id.or(Some(agent.id));
    }
    let kept = m.clone();
    let now = crate::time::now();
    state
        .blocking(move |s| write_tokens(s, |db| crate::macros::save(db, &kept, now)))
        .await?;
    Ok(Json(m))
}

#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = macro_id(&id)?;
    let me = agent.id;
    let old = usable(&state, me, id).await?;
    crate::macros::check_may_keep(&agent, old.scope, old.owner_id)?;
    state
        .blocking(move |s| write_tokens(s, |db| crate::macros::delete(db, id)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn preview_of(
    state: &AppState,
    me: Uuid,
    ticket: Uuid,
    id: Uuid,
) -> Result<(Macro, fyncall_domain::State, Preview), ApiError> {
    let m = usable(state, me, id).await?;
    let around = state.blocking(move |s| s.ticket_state(ticket)).await?;
    let preview = macros::preview(&around, me, &m, ticket, crate::time::now())?;
    Ok((m, around, preview))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}/preview", tag = "tickets",
    params(("id" = Uuid, Path), ("macro_id" = Uuid, Path)), responses((status = 200, body = serde_json::Value)))]
pub async fn preview(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Path((ticket, id)): Path<(String, String)>,
) -> Result<Json<Preview>, ApiError> {
    let (_, _, preview) = preview_of(&state, agent.id, ticket_id(&ticket)?, macro_id(&id)?).await?;
    Ok(Json(preview))
}

/// A step the rules refused when it was applied.
#[derive(Serialize)]
pub struct RefusedStep {
    pub kind: String,
    pub value: Value,
    pub refusal: Refusal,
}

/// What applying a macro did.
#[derive(Serialize)]
pub struct Applied {
    pub ticket: TicketBody,
    /// The kinds of the steps applied, in order.
    pub applied: Vec<String>,
    pub refused: Vec<RefusedStep>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/macros/{macro_id}/apply", tag = "tickets",
    params(("id" = Uuid, Path), ("macro_id" = Uuid, Path)), responses((status = 200, body = serde_json::Value)))]
pub async fn apply(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Path((ticket, id)): Path<(String, String)>,
) -> Result<Json<Applied>, ApiError> {
    let ticket = ticket_id(&ticket)?;
    let (m, around, _) = preview_of(&state, agent.id, ticket, macro_id(&id)?).await?;
    let t = around.ticket(ticket)?.clone();
    let values = macros::values(&around, &t, agent.id);
    let steps = macros::steps(&m, &t, agent.id, &values, &mut Uuid::now_v7);
    let mut applied = Vec::new();
    let mut refused = Vec::new();
    // Each step an ordinary change, in order: a refused one is named and
    // the rest still apply.
    for step in steps {
        match state.mutate(Caller::Agent(agent.id), step.mutation).await {
            Ok(_) => applied.push(step.kind),
            Err(e) => match e.refusal() {
                Some(refusal) => refused.push(RefusedStep {
                    kind: step.kind,
                    value: step.value,
                    refusal,
                }),
                None => return Err(e),
            },
        }
    }
    let now = crate::time::now();
    let ticket = state.blocking(move |s| s.ticket(ticket, now)).await?;
    Ok(Json(Applied {
        ticket,
        applied,
        refused,
    }))
}
