//! Webhooks (admin), a reply's delivery (any agent's Retry) and the
//! integration's delivery reports (API.md "Channels, deliveries and
//! attachments").

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fyncall_domain::delivery::{
    CreatedWebhook, DeliveryPage, DeliveryReport, NewWebhook, Webhook, WebhookChange, WebhookState,
};
use fyncall_domain::{DeliveryState, EventType, Message, permissions};
use uuid::Uuid;

use crate::app::{ApiJson, AppState, Id};
use crate::auth::{AgentAuth, IntegrationAuth};
use crate::deliver::{check_url, new_secret};
use crate::error::ApiError;

fn events(names: &[String]) -> Result<Vec<EventType>, ApiError> {
    if names.is_empty() {
        return Err(ApiError::invalid(
            "events",
            "choose at least one event, for example message.created",
        ));
    }
    let mut out = Vec::new();
    for n in names {
        let e = EventType::parse(n).ok_or_else(|| {
            let known: Vec<&str> = EventType::ALL.iter().map(|e| e.as_str()).collect();
            ApiError::invalid(
                "events",
                format!("{n:?} is not an event: use {}", known.join(", ")),
            )
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

fn url(state: &AppState, text: &str) -> Result<String, ApiError> {
    if text.len() > 2000 {
        return Err(ApiError::invalid(
            "url",
            "a webhook URL has at most 2,000 characters",
        ));
    }
    check_url(text, state.config.allow_http_webhooks)
        .map(|u| u.to_string())
        .map_err(|why| ApiError::invalid("url", why))
}

fn description(text: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(d) = text else { return Ok(None) };
    let d = fyncall_domain::text::clean_text("description", d.trim())?;
    if d.chars().count() > 500 {
        return Err(ApiError::invalid("description", "at most 500 characters"));
    }
    Ok((!d.is_empty()).then_some(d))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = [Webhook])))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    permissions::check_admin(&actor, "see the webhooks")?;
    Ok(Json(state.blocking(|s| s.webhooks()).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks", request_body = NewWebhook, tag = "webhooks",
    responses((status = 201, body = CreatedWebhook), (status = 422, description = "a URL refused, an unknown event")))]
pub async fn create(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    permissions::check_admin(&actor, "add webhooks")?;
    let hook = Webhook {
        id: Uuid::now_v7(),
        url: url(&state, &body.url)?,
        events: events(&body.events)?,
        description: description(body.description)?,
        state: WebhookState::Active,
        paused_reason: None,
        created_at: crate::time::now(),
    };
    let secret = new_secret();
    let (h, s) = (hook.clone(), secret.clone());
    state
        .blocking(move |store| store.create_webhook(&h, &s))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            webhook: hook,
            secret,
        }),
    ))
}

async fn found(state: &AppState, id: Uuid) -> Result<Webhook, ApiError> {
    state
        .blocking(move |s| s.webhook(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no webhook has id {id}")))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", request_body = WebhookChange, tag = "webhooks",
    params(("id" = Uuid, Path)), responses((status = 200, body = Webhook)))]
pub async fn update(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
    ApiJson(change): ApiJson<WebhookChange>,
) -> Result<Json<Webhook>, ApiError> {
    permissions::check_admin(&actor, "change webhooks")?;
    let mut hook = found(&state, id).await?;
    if let Some(u) = &change.url {
        hook.url = url(&state, u)?;
    }
    if let Some(e) = &change.events {
        hook.events = events(e)?;
    }
    if change.description.is_some() {
        hook.description = description(change.description)?;
    }
    match change.paused {
        Some(true) if hook.paused_reason.is_none() => {
            hook.paused_reason = Some(format!("paused by {}", actor.name));
        }
        Some(false) => hook.paused_reason = None,
        _ => {}
    }
    hook.state = if hook.paused_reason.is_some() {
        WebhookState::Paused
    } else {
        WebhookState::Active
    };
    let h = hook.clone();
    if !state.blocking(move |s| s.save_webhook(&h)).await? {
        return Err(ApiError::not_found(format!("no webhook has id {id}")));
    }
    // Resumed: what fell due while paused goes now.
    state.outbox.notify_one();
    Ok(Json(hook))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    permissions::check_admin(&actor, "delete webhooks")?;
    let now = crate::time::now();
    if !state.blocking(move |s| s.delete_webhook(id, now)).await? {
        return Err(ApiError::not_found(format!("no webhook has id {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = Uuid, Path), ("state" = Option<String>, Query, description = "queued, sent or failed"),
           ("cursor" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = DeliveryPage)))]
pub async fn deliveries(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<DeliveryPage>, ApiError> {
    permissions::check_admin(&actor, "read the delivery log")?;
    found(&state, id).await?;
    let wanted = match params.get("state").map(String::as_str) {
        None | Some("") => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("unknown state {s:?}: use queued, sent or failed"))
        })?),
    };
    let limit = super::limit_param(params.get("limit"))?;
    let cursor = params.get("cursor").cloned();
    Ok(Json(
        state
            .blocking(move |s| s.delivery_log(id, wanted, cursor.as_deref(), limit))
            .await?,
    ))
}

/// A delivery queued again: its id (the `webhook-id` it keeps) and state.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Requeued {
    pub id: String,
    pub state: DeliveryState,
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = String, Path)),
    responses((status = 202, body = Requeued), (status = 409, body = crate::api::openapi::ErrorBody, description = "not a failed delivery")))]
pub async fn send_again(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Requeued>), ApiError> {
    permissions::check_admin(&actor, "send deliveries again")?;
    let id = Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a webhook id")))?;
    if delivery.len() > 100 {
        return Err(ApiError::bad_request("that is not a delivery id"));
    }
    let now = crate::time::now();
    let requeued = delivery.clone();
    let seq = state
        .blocking(move |s| s.retry_webhook_delivery(id, &delivery, now))
        .await?;
    state.announce(seq);
    state.outbox.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(Requeued {
            id: requeued,
            state: DeliveryState::Queued,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", tag = "conversations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = Message), (status = 409, body = crate::api::openapi::ErrorBody, description = "the delivery has not failed")))]
pub async fn retry_reply(
    State(state): State<AppState>,
    _: AgentAuth,
    Id(id): Id,
) -> Result<Json<Message>, ApiError> {
    let now = crate::time::now();
    let (message, seq) = state.blocking(move |s| s.retry_reply(id, now)).await?;
    state.announce(seq);
    state.outbox.notify_one();
    Ok(Json(message))
}

#[utoipa::path(post, path = "/api/v1/integrations/messages/{id}/delivery", request_body = DeliveryReport,
    tag = "integrations", params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn report(
    State(state): State<AppState>,
    _: IntegrationAuth,
    Id(id): Id,
    ApiJson(body): ApiJson<DeliveryReport>,
) -> Result<StatusCode, ApiError> {
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        return Err(ApiError::invalid("reason", "at most 500 characters"));
    }
    let (_, seq) = state
        .blocking(move |s| s.report_delivery(id, body.state, body.reason.as_deref()))
        .await?;
    state.announce(seq);
    Ok(StatusCode::NO_CONTENT)
}
