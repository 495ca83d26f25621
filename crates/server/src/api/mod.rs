//! The routes of API.md, one module per section.

pub mod account;
mod conversations;
pub mod openapi;
mod schemas;
pub use account::check_new_agent;
mod sync;
mod tickets;

use axum::Router;
use axum::routing::{get, patch, post};

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(account::login))
        .route("/auth/logout", post(account::logout))
        .route("/me", get(account::me))
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
            post(account::create_integration_token),
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
        .route("/sync/push", post(sync::push))
        .route("/sync/pull", get(sync::pull))
        .route("/sync/stream", get(sync::stream))
        .route("/openapi.json", get(openapi::document))
}
