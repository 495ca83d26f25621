//! `GET /me/mentions` and `POST /me/mentions/read` (API.md "Tags, macros,
//! mentions, merge"): the caller's mentions and their read marks.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use fyncall_domain::mutation::MarkMentionsRead;
use fyncall_domain::{Caller, Mutation};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::{ApiJson, AppState};
use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::mentions::Mention;
use crate::store::read_tokens;

#[utoipa::path(get, path = "/api/v1/me/mentions", tag = "agents",
    params(("unread" = Option<bool>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = Vec<Mention>)))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Mention>>, ApiError> {
    let unread = match params.get("unread").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unread is true or false, not {other:?}"
            )));
        }
    };
    let limit = super::limit_param(params.get("limit"))?;
    let me = agent.id;
    Ok(Json(
        state
            .blocking(move |s| read_tokens(s, |db| crate::mentions::list(db, me, unread, limit)))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ReadBody {
    pub entry_ids: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/me/mentions/read", request_body = ReadBody, tag = "agents",
    responses((status = 204)))]
pub async fn read(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    ApiJson(b): ApiJson<ReadBody>,
) -> Result<StatusCode, ApiError> {
    let m = Mutation::MarkMentionsRead(MarkMentionsRead {
        entry_ids: b.entry_ids,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    Ok(StatusCode::NO_CONTENT)
}
