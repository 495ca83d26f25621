//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::{account, conversations, sync, tickets};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fyncall team server",
        version = "1",
        description = "The HTTP API the Fyncall Desk clients sync with."
    ),
    paths(
        account::login,
        account::logout,
        account::me,
        account::list_agents,
        account::create_agent,
        account::update_agent,
        account::get_settings,
        account::put_settings,
        account::create_integration_token,
        conversations::list,
        conversations::get_one,
        conversations::claim,
        conversations::assign,
        conversations::reply,
        conversations::open,
        conversations::post_message,
        tickets::list,
        tickets::get_one,
        tickets::create,
        tickets::edit,
        tickets::change_status,
        tickets::change_priority,
        tickets::assign,
        tickets::comment,
        tickets::escalate,
        tickets::enrich,
        sync::push,
        sync::pull,
        sync::stream,
    )
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
