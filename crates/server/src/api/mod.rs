//! The routes of API.md, one module per section.

pub mod account;
mod conversations;
pub mod openapi;
pub mod presence;
mod reports;
mod schemas;
pub use account::check_new_agent;
mod attachments;
mod macros;
mod mailboxes;
mod mentions;
mod sync;
mod tickets;
mod webhooks;

use axum::Router;
use axum::routing::{delete, get, patch, post};

use crate::app::AppState;

/// A list's `limit` query parameter: 50 when absent, else 1 to 500.
pub(crate) fn limit_param(value: Option<&String>) -> Result<u32, crate::error::ApiError> {
    match value {
        None => Ok(50),
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=500).contains(&n) => Ok(n),
            _ => Err(crate::error::ApiError::bad_request(
                "limit must be a whole number from 1 to 500",
            )),
        },
    }
}

/// A list's search text `q` (RULES.md "Views"): at most
/// [`fyncall_domain::inbox::SEARCH_MAX_CHARS`] characters, else `invalid`
/// (each one is a `LIKE '%…%'` scan).
pub(crate) fn search_param(
    value: Option<&String>,
) -> Result<Option<String>, crate::error::ApiError> {
    let max = fyncall_domain::inbox::SEARCH_MAX_CHARS;
    match value {
        Some(q) if q.chars().count() > max => Err(crate::error::ApiError::invalid(
            "q",
            format!("the search text has at most {max} characters: shorten it"),
        )),
        other => Ok(other.cloned()),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(account::login))
        .route("/auth/logout", post(account::logout))
        .route("/me", get(account::me))
        .route("/me/mentions", get(mentions::list))
        .route("/me/mentions/read", post(mentions::read))
        .route("/me/sessions", get(account::my_sessions))
        .route("/me/sessions/{id}", delete(account::end_my_session))
        .route("/me/password", post(account::change_password))
        .route("/agents/{id}/sessions", delete(account::end_agent_sessions))
        .route(
            "/agents",
            get(account::list_agents).post(account::create_agent),
        )
        .route("/agents/{id}", patch(account::update_agent))
        .route(
            "/settings",
            get(account::get_settings).put(account::put_settings),
        )
        .route(
            "/integrations/tokens",
            post(account::create_integration_token).get(account::list_integration_tokens),
        )
        .route(
            "/integrations/tokens/{id}",
            delete(account::revoke_integration_token),
        )
        .route("/conversations", get(conversations::list))
        .route("/conversations/{id}", get(conversations::get_one))
        .route("/conversations/{id}/claim", post(conversations::claim))
        .route("/conversations/{id}/assign", post(conversations::assign))
        .route("/conversations/{id}/messages", post(conversations::reply))
        .route("/integrations/conversations", post(conversations::open))
        .route(
            "/integrations/conversations/{id}/messages",
            post(conversations::post_message),
        )
        .route("/integrations/escalations", post(tickets::escalate))
        .route(
            "/integrations/tickets/{id}/ai-context",
            post(tickets::enrich),
        )
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/{id}", get(tickets::get_one).patch(tickets::edit))
        .route("/tickets/{id}/status", post(tickets::change_status))
        .route("/tickets/{id}/priority", post(tickets::change_priority))
        .route("/tickets/{id}/assign", post(tickets::assign))
        .route("/tickets/{id}/comments", post(tickets::comment))
        .route("/tickets/{id}/tags", post(tickets::set_tags))
        .route("/tickets/{id}/merge", post(tickets::merge))
        .route("/tickets/{id}/unmerge", post(tickets::unmerge))
        .route("/tags", get(tickets::tags))
        .route("/macros", get(macros::list).post(macros::create))
        .route("/macros/{id}", patch(macros::update).delete(macros::delete))
        .route(
            "/tickets/{id}/macros/{macro_id}/preview",
            post(macros::preview),
        )
        .route("/tickets/{id}/macros/{macro_id}/apply", post(macros::apply))
        .route("/presence", post(presence::heartbeat))
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            patch(webhooks::update).delete(webhooks::remove),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/retry",
            post(webhooks::send_again),
        )
        .route("/messages/{id}/retry", post(webhooks::retry_reply))
        .route(
            "/channels/email",
            get(mailboxes::list).post(mailboxes::create),
        )
        .route(
            "/channels/email/{id}",
            patch(mailboxes::update).delete(mailboxes::remove),
        )
        .route("/channels/email/{id}/check", post(mailboxes::check))
        .route("/attachments", post(attachments::upload))
        .route("/attachments/{id}", get(attachments::download))
        .route(
            "/integrations/messages/{id}/delivery",
            post(webhooks::report),
        )
        .route("/reports/sla", get(reports::sla))
        .route("/sync/push", post(sync::push))
        .route("/sync/pull", get(sync::pull))
        .route("/openapi.json", get(openapi::document))
}

/// The routes that answer for as long as they are open (no request timeout).
pub fn stream_routes() -> Router<AppState> {
    Router::new()
        .route("/sync/stream", get(sync::stream))
        .route("/sync/snapshot", get(sync::snapshot))
}
