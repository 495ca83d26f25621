//! Ticket endpoints and the two integration endpoints that make or enrich tickets.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::DateTime;
use fyncall_domain::mutation::{
    AiEnrich, AiEscalation, Assign, ChangePriority, ChangeStatus, Comment, CreateTicket,
    EditTicket, MergeTicket, SetTags, UnmergeTicket,
};
use fyncall_domain::tags::{TagCount, TagFilter};
use fyncall_domain::wire::{double_option, required_nullable};
use fyncall_domain::{AiContext, Caller, Mutation, Order, Priority, SortField, Status, View};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::schemas::{TicketBody, TicketDetail, TicketList};
use crate::app::{ApiJson, AppState, Id};
use crate::auth::{AgentAuth, IntegrationAuth};
use crate::error::ApiError;
use crate::store::TicketQuery;
#[allow(unused_imports)]
use fyncall_domain::Activity;

fn list_of<T>(
    raw: Option<&String>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| ApiError::bad_request(format!("unknown {what} {s:?}"))))
        .collect()
}

fn time_param(
    raw: Option<&String>,
    name: &str,
) -> Result<Option<fyncall_domain::Timestamp>, ApiError> {
    raw.map(|r| {
        DateTime::parse_from_rfc3339(r)
            .map(|t| t.to_utc())
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "{name} must be an RFC 3339 time like 2026-03-02T09:00:00Z"
                ))
            })
    })
    .transpose()
}

/// Parses `GET /tickets` query parameters.
pub fn ticket_query(
    params: &HashMap<String, String>,
    viewer: Uuid,
) -> Result<TicketQuery, ApiError> {
    let get = |k: &str| params.get(k);
    let view = get("view")
        .map(|v| {
            View::parse(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown view {v:?}: use all, mine, sla_at_risk, pending or ai_escalated"
                ))
            })
        })
        .transpose()?;
    let assignees = list_of(get("assignee_id"), "assignee_id", |s| match s {
        "none" => Some(None),
        "me" => Some(Some(viewer)),
        other => Uuid::parse_str(other).ok().map(Some),
    })?;
    let limit = super::limit_param(get("limit"))?;
    let sort = get("sort")
        .map(|s| {
            SortField::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("cannot sort by {s:?}")))
        })
        .transpose()?;
    let order = match get("order").map(String::as_str) {
        None => None,
        Some("asc") => Some(Order::Asc),
        Some("desc") => Some(Order::Desc),
        Some(o) => {
            return Err(ApiError::bad_request(format!(
                "order must be asc or desc, not {o:?}"
            )));
        }
    };
    Ok(TicketQuery {
        view,
        viewer,
        statuses: list_of(get("status"), "status", Status::parse)?,
        priorities: list_of(get("priority"), "priority", Priority::parse)?,
        assignees,
        categories: list_of(get("category"), "category", |s| Some(s.to_owned()))?,
        tags: tag_filter(get("tag"), get("not_tag"))?,
        q: super::search_param(get("q"))?,
        // `*_from` and `*_to` include both ends (RULES.md "Views"); the
        // older `*_after` (included) and `*_before` (excluded) still work.
        created_after: time_param(get("created_from"), "created_from")?
            .or(time_param(get("created_after"), "created_after")?),
        created_before: through(time_param(get("created_to"), "created_to")?)
            .or(time_param(get("created_before"), "created_before")?),
        updated_after: time_param(get("updated_from"), "updated_from")?
            .or(time_param(get("updated_after"), "updated_after")?),
        updated_before: through(time_param(get("updated_to"), "updated_to")?)
            .or(time_param(get("updated_before"), "updated_before")?),
        sort,
        order,
        limit,
        cursor: get("cursor").cloned(),
        with_total: match get("total").map(String::as_str) {
            None | Some("true") => true,
            Some("false") => false,
            Some(t) => {
                return Err(ApiError::bad_request(format!(
                    "total must be true or false, not {t:?}"
                )));
            }
        },
    })
}

/// `tag=` (any of a comma list) and `not_tag=` (none of), cleaned as tags are.
fn tag_filter(any_of: Option<&String>, none_of: Option<&String>) -> Result<TagFilter, ApiError> {
    let words = |v: Option<&String>| -> Vec<String> {
        v.map(|v| {
            v.split(',')
                .filter(|w| !w.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    };
    TagFilter::new(&words(any_of), &words(none_of)).map_err(|r| {
        ApiError::bad_request(format!(
            "tag and not_tag take tags separated by commas: {}",
            r.message
        ))
    })
}

/// The exclusive bound just after an inclusive one (times are whole milliseconds).
fn through(to: Option<fyncall_domain::Timestamp>) -> Option<fyncall_domain::Timestamp> {
    to.map(|t| t + chrono::TimeDelta::milliseconds(1))
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets",
    params(("view" = Option<String>, Query), ("status" = Option<String>, Query), ("priority" = Option<String>, Query),
           ("assignee_id" = Option<String>, Query), ("category" = Option<String>, Query), ("q" = Option<String>, Query),
           ("tag" = Option<String>, Query), ("not_tag" = Option<String>, Query),
           ("created_from" = Option<String>, Query), ("created_to" = Option<String>, Query),
           ("updated_from" = Option<String>, Query), ("updated_to" = Option<String>, Query),
           ("sort" = Option<String>, Query), ("order" = Option<String>, Query), ("limit" = Option<u32>, Query),
           ("cursor" = Option<String>, Query),
           ("total" = Option<bool>, Query, description = "false: the page alone, without counting the whole list")),
    responses((status = 200, body = TicketList)))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<TicketList>, ApiError> {
    let query = ticket_query(&params, agent.id)?;
    let now = crate::time::now();
    Ok(Json(state.blocking(move |s| s.tickets(&query, now)).await?))
}

#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "the ticket's id (a UUID) or its number (1042)")),
    responses((status = 200, body = TicketDetail)))]
pub async fn get_one(
    State(state): State<AppState>,
    _: AgentAuth,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<TicketDetail>, ApiError> {
    let now = crate::time::now();
    let by_number = match (Uuid::parse_str(&raw), raw.parse::<i64>()) {
        (Ok(id), _) => Err(id),
        (_, Ok(number)) if number > 0 => Ok(number),
        _ => {
            return Err(ApiError::bad_request(format!(
                "{raw:?} is neither a ticket id (a UUID) nor a ticket number (1042)"
            )));
        }
    };
    let (ticket, activity) = state
        .blocking(move |s| {
            let id = match by_number {
                Ok(number) => s.ticket_numbered(number)?,
                Err(id) => id,
            };
            s.ticket_with_activity(id, now)
        })
        .await?;
    Ok(Json(TicketDetail { ticket, activity }))
}

async fn ticket_after(state: &AppState, id: Uuid) -> Result<Json<TicketBody>, ApiError> {
    let now = crate::time::now();
    Ok(Json(state.blocking(move |s| s.ticket(id, now)).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateBody {
    pub id: Option<Uuid>,
    pub conversation_id: Uuid,
    pub subject: String,
    #[schema(value_type = String)]
    pub priority: Priority,
    pub description: Option<String>,
    pub category: Option<String>,
    pub assignee_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/tickets", request_body = CreateBody, tag = "tickets",
    responses((status = 201, body = TicketBody)))]
pub async fn create(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    ApiJson(b): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<TicketBody>), ApiError> {
    let id = b.id.unwrap_or_else(Uuid::now_v7);
    let m = Mutation::CreateTicket(CreateTicket {
        id,
        conversation_id: b.conversation_id,
        subject: b.subject,
        priority: b.priority,
        description: b.description,
        category: b.category,
        assignee_id: b.assignee_id,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    Ok((StatusCode::CREATED, ticket_after(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct EditBody {
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    pub base_version: Option<i64>,
}

#[utoipa::path(patch, path = "/api/v1/tickets/{id}", request_body = EditBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn edit(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<EditBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::EditTicket(EditTicket {
        ticket_id: id,
        subject: b.subject,
        description: b.description,
        category: b.category,
        base_version: b.base_version,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    #[schema(value_type = String)]
    pub status: Status,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/status", request_body = StatusBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn change_status(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<StatusBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::ChangeStatus(ChangeStatus {
        ticket_id: id,
        status: b.status,
        note: b.note,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct PriorityBody {
    #[schema(value_type = String)]
    pub priority: Priority,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/priority", request_body = PriorityBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn change_priority(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<PriorityBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::ChangePriority(ChangePriority {
        ticket_id: id,
        priority: b.priority,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct AssignBody {
    #[serde(deserialize_with = "required_nullable")]
    pub assignee_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/assign", request_body = AssignBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn assign(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<AssignBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::Assign(Assign {
        ticket_id: id,
        assignee_id: b.assignee_id,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct TagsBody {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/tags", request_body = TagsBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn set_tags(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<TagsBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::SetTags(SetTags {
        ticket_id: id,
        add: b.add,
        remove: b.remove,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[derive(Deserialize, ToSchema)]
pub struct MergeBody {
    /// The ticket to merge into.
    pub into_ticket_id: Uuid,
}

/// Merges the ticket into another (RULES.md "Merge"); answers the target.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", request_body = MergeBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn merge(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<MergeBody>,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::MergeTicket(MergeTicket {
        ticket_id: id,
        into_ticket_id: b.into_ticket_id,
    });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, b.into_ticket_id).await
}

/// Undoes the merge of the ticket, within 7 days; answers the ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/unmerge", tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 200, body = TicketBody)))]
pub async fn unmerge(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(id): Id,
) -> Result<Json<TicketBody>, ApiError> {
    let m = Mutation::UnmergeTicket(UnmergeTicket { ticket_id: id });
    state.mutate(Caller::Agent(agent.id), m).await?;
    ticket_after(&state, id).await
}

#[utoipa::path(get, path = "/api/v1/tags", tag = "tickets",
    responses((status = 200, body = Vec<TagCount>)))]
pub async fn tags(
    State(state): State<AppState>,
    _: AgentAuth,
) -> Result<Json<Vec<TagCount>>, ApiError> {
    Ok(Json(state.blocking(|s| s.tag_counts()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CommentBody {
    pub id: Option<Uuid>,
    pub body: String,
    /// Agents the comment mentions.
    #[serde(default)]
    pub mention_ids: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/comments", request_body = CommentBody, tag = "tickets", params(("id" = Uuid, Path)),
    responses((status = 201, body = Activity)))]
pub async fn comment(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    Id(ticket_id): Id,
    ApiJson(b): ApiJson<CommentBody>,
) -> Result<(StatusCode, Json<Activity>), ApiError> {
    let id = b.id.unwrap_or_else(Uuid::now_v7);
    let m = Mutation::Comment(Comment {
        id,
        ticket_id,
        body: b.body,
        mention_ids: b.mention_ids,
    });
    let committed = state.mutate(Caller::Agent(agent.id), m).await?;
    let entry = committed
        .activity
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Deserialize, ToSchema)]
pub struct EscalationBody {
    pub id: Option<Uuid>,
    pub conversation_id: Uuid,
    pub subject: String,
    pub description: Option<String>,
    #[schema(value_type = String)]
    pub priority: Priority,
    pub category: Option<String>,
    #[schema(value_type = Object)]
    pub ai_context: AiContext,
}

#[utoipa::path(post, path = "/api/v1/integrations/escalations", request_body = EscalationBody, tag = "integrations",
    responses((status = 201, body = TicketBody)))]
pub async fn escalate(
    State(state): State<AppState>,
    _: IntegrationAuth,
    ApiJson(b): ApiJson<EscalationBody>,
) -> Result<(StatusCode, Json<TicketBody>), ApiError> {
    let id = b.id.unwrap_or_else(Uuid::now_v7);
    let m = Mutation::AiEscalation(AiEscalation {
        id,
        conversation_id: b.conversation_id,
        subject: b.subject,
        priority: b.priority,
        description: b.description,
        category: b.category,
        ai_context: b.ai_context,
    });
    state.mutate(Caller::Integration, m).await?;
    Ok((StatusCode::CREATED, ticket_after(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct EnrichBody {
    #[schema(value_type = Object)]
    pub ai_context: AiContext,
}

#[utoipa::path(post, path = "/api/v1/integrations/tickets/{id}/ai-context", request_body = EnrichBody, tag = "integrations",
    params(("id" = Uuid, Path)), responses((status = 200, body = TicketBody)))]
pub async fn enrich(
    State(state): State<AppState>,
    _: IntegrationAuth,
    Id(id): Id,
    ApiJson(b): ApiJson<EnrichBody>,
) -> Result<Json<TicketBody>, ApiError> {
    state
        .mutate(
            Caller::Integration,
            Mutation::AiEnrich(AiEnrich {
                ticket_id: id,
                ai_context: b.ai_context,
            }),
        )
        .await?;
    ticket_after(&state, id).await
}
