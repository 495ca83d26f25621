//! `POST /presence` (API.md "Sync"): a heartbeat of the page an agent has
//! open; the live streams carry the team's presence (see `crate::presence`).

use axum::extract::State;
use axum::http::StatusCode;
use fyncall_domain::{BeatState, Heartbeat};
use tokio::time::Instant;
use uuid::Uuid;

use crate::app::{ApiJson, AppState};
use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::presence::Beat;

/// Passes a beat to the other server processes; presence is best effort,
/// so a failure is logged, never the request's.
async fn tell_others(state: &AppState, beat: &Beat) {
    let Ok(text) = serde_json::to_string(beat) else {
        return;
    };
    if let Err(e) = state.blocking(move |s| s.publish_presence(&text)).await {
        tracing::warn!(error = %e.message, "presence not passed to the other server processes");
    }
}

#[utoipa::path(post, path = "/api/v1/presence", request_body = Heartbeat, tag = "sync",
    responses((status = 204, description = "taken; it shows for 30 s after the last one")))]
pub async fn heartbeat(
    State(state): State<AppState>,
    AgentAuth(agent, _, session): AgentAuth,
    ApiJson(heartbeat): ApiJson<Heartbeat>,
) -> Result<StatusCode, ApiError> {
    heartbeat.check().map_err(ApiError::bad_request)?;
    let beat = Beat {
        origin: state.presence.origin(),
        session: session.to_string(),
        agent_id: agent.id,
        heartbeat,
        gone: false,
    };
    state.presence.take(&beat, Instant::now());
    tell_others(&state, &beat).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `agent` was deactivated: their presence ends everywhere.
pub async fn gone(state: &AppState, agent: Uuid) {
    state.presence.forget_agent(agent, Instant::now());
    let beat = Beat {
        origin: state.presence.origin(),
        session: String::new(),
        agent_id: agent,
        heartbeat: Heartbeat {
            ticket_id: None,
            conversation_id: None,
            state: BeatState::Left,
        },
        gone: true,
    };
    tell_others(state, &beat).await;
}
