//! Conversation endpoints, for agents and for the chat integration.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use fyncall_domain::mutation::{
    AssignConversation, ClaimConversation, OpenConversation, PostMessage, Reply,
};
use fyncall_domain::{Author, Caller, Customer, InboxPage, InboxQuery, InboxView, Mutation};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::ConversationBody;
use crate::app::{ApiJson, AppState, Id};
use crate::auth::{AgentAuth, IntegrationAuth};
use crate::error::ApiError;
#[allow(unused_imports)]
use fyncall_domain::{Conversation, Message};

async fn conversation_after(
    state: &AppState,
    id: Uuid,
) -> Result<Json<ConversationBody>, ApiError> {
    Ok(Json(state.blocking(move |s| s.conversation(id)).await?))
}

/// A page of an inbox view (RULES.md "Conversations (the inbox)").
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(("view" = Option<String>, Query, description = "unassigned, mine or all (the default)"),
           ("q" = Option<String>, Query, description = "part of the customer's name or email or of a message"),
           ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = InboxPage)))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<InboxPage>, ApiError> {
    let view = match params.get("view") {
        None => InboxView::All,
        Some(v) => InboxView::parse(v).ok_or_else(|| {
            ApiError::bad_request(format!("unknown view {v:?}: use unassigned, mine or all"))
        })?,
    };
    let limit = super::limit_param(params.get("limit"))?;
    let query = InboxQuery {
        view,
        search: super::search_param(params.get("q"))?,
        limit,
        cursor: params.get("cursor").cloned(),
    };
    Ok(Json(
        state.blocking(move |s| s.inbox(&query, agent.id)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", tag = "conversations", params(("id" = Uuid, Path)),
    responses((status = 200, body = ConversationBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    _: AgentAuth,
    Id(id): Id,
) -> Result<Json<ConversationBody>, ApiError> {
    conversation_after(&state, id).await
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/claim", tag = "conversations", params(("id" = Uuid, Path)),
    responses((status = 200, body = ConversationBody)))]
pub async fn claim(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
) -> Result<Json<ConversationBody>, ApiError> {
    state
        .mutate(
            Caller::Agent(agent.id),
            Mutation::ClaimConversation(ClaimConversation {
                conversation_id: id,
            }),
        )
        .await?;
    conversation_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct AssignBody {
    pub agent_id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/assign", request_body = AssignBody, tag = "conversations",
    params(("id" = Uuid, Path)), responses((status = 200, body = ConversationBody)))]
pub async fn assign(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<AssignBody>,
) -> Result<Json<ConversationBody>, ApiError> {
    let m = Mutation::AssignConversation(AssignConversation {
        conversation_id: id,
        agent_id: b.agent_id,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    conversation_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct ReplyBody {
    pub id: Option<Uuid>,
    pub body: String,
    /// Files uploaded first with `POST /attachments`.
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

fn message_of(committed: crate::store::Committed) -> Result<Json<Message>, ApiError> {
    let message = committed
        .messages
        .into_iter()
        .next()
        .ok_or_else(ApiError::internal)?;
    Ok(Json(message))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", request_body = ReplyBody, tag = "conversations",
    params(("id" = Uuid, Path)), responses((status = 201, body = Message)))]
pub async fn reply(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<ReplyBody>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let m = Mutation::Reply(Reply {
        id: b.id.unwrap_or_else(Uuid::now_v7),
        conversation_id: id,
        body: b.body,
        attachment_ids: b.attachment_ids,
    });
    let committed = state.mutate(Caller::Agent(agent.id), m).await?;
    Ok((StatusCode::CREATED, message_of(committed)?))
}

#[derive(Deserialize, ToSchema)]
pub struct OpenBody {
    pub id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub customer: Customer,
    pub channel: String,
}

#[utoipa::path(post, path = "/api/v1/integrations/conversations", request_body = OpenBody, tag = "integrations",
    responses((status = 201, body = ConversationBody)))]
pub async fn open(
    State(state): State<AppState>,
    _: IntegrationAuth,
    ApiJson(b): ApiJson<OpenBody>,
) -> Result<(StatusCode, Json<ConversationBody>), ApiError> {
    let id = b.id.unwrap_or_else(Uuid::now_v7);
    let m = Mutation::OpenConversation(OpenConversation {
        id,
        customer: b.customer,
        channel: b.channel,
        subject: None,
    });
    state.mutate(Caller::Integration, m).await?;
    Ok((StatusCode::CREATED, conversation_after(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct MessageBody {
    pub id: Option<Uuid>,
    /// `customer` or `ai`.
    #[schema(value_type = String)]
    pub author: Author,
    pub body: String,
    /// Files uploaded first with `POST /attachments`.
    #[serde(default)]
    pub attachment_ids: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/integrations/conversations/{id}/messages", request_body = MessageBody,
    tag = "integrations", params(("id" = Uuid, Path)), responses((status = 201, body = Message)))]
pub async fn post_message(
    State(state): State<AppState>,
    _: IntegrationAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<MessageBody>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    let m = Mutation::PostMessage(PostMessage {
        id: b.id.unwrap_or_else(Uuid::now_v7),
        conversation_id: id,
        author: b.author,
        body: b.body,
        automatic: false,
        attachment_ids: b.attachment_ids,
    });
    let committed = state.mutate(Caller::Integration, m).await?;
    Ok((StatusCode::CREATED, message_of(committed)?))
}
