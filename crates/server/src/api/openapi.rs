//! The OpenAPI document (3.1), generated from the handlers' annotations
//! and completed by [`Conventions`]: what every operation shares (a unique
//! operation id, the error body, the statuses the extractors and limits
//! answer), stated once here instead of on 29 handlers.

use axum::Json;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::{ComponentsBuilder, ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::{ApiError, ErrorCode};

/// `{"error": {...}}`: every answer that is not a success (API.md "Errors").
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ApiError,
}

use super::{
    account, attachments, conversations, macros, mailboxes, mentions, presence, reports, sync,
    tickets, webhooks,
};

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
        account::list_integration_tokens,
        account::revoke_integration_token,
        account::my_sessions,
        account::end_my_session,
        account::change_password,
        account::end_agent_sessions,
        reports::sla,
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
        tickets::set_tags,
        tickets::merge,
        tickets::unmerge,
        mentions::list,
        macros::list,
        macros::create,
        macros::update,
        macros::delete,
        macros::preview,
        macros::apply,
        mentions::read,
        tickets::tags,
        tickets::escalate,
        tickets::enrich,
        sync::push,
        sync::pull,
        sync::snapshot,
        sync::stream,
        presence::heartbeat,
        webhooks::list,
        webhooks::create,
        webhooks::update,
        webhooks::remove,
        webhooks::deliveries,
        webhooks::send_again,
        webhooks::retry_reply,
        webhooks::report,
        mailboxes::list,
        mailboxes::create,
        mailboxes::update,
        mailboxes::remove,
        mailboxes::check,
        attachments::upload,
        attachments::download,
    ),
    components(schemas(ErrorBody, ApiError, ErrorCode)),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Completes every operation with what the server does for all of them.
pub struct Conventions;

/// Paths answered without a bearer token.
const OPEN: [&str; 2] = ["/api/v1/auth/login", "/api/v1/openapi.json"];

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

/// The statuses an operation can answer besides its own successes: what
/// the extractors (token, JSON body, path ids, query), the body limit and
/// the rules answer, each with the error body.
fn error_statuses(path: &str, method: &str, op: &Operation) -> Vec<(u16, &'static str)> {
    let mut out = Vec::new();
    let has_body = op.request_body.is_some();
    let has_path_id = path.contains('{');
    let integration =
        path.starts_with("/api/v1/integrations/") && path != "/api/v1/integrations/tokens";
    if has_body || has_path_id || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
        out.push((
            400,
            "malformed JSON, a wrong type, an unknown value or a malformed id",
        ));
    }
    if !OPEN.contains(&path) {
        out.push((401, "no token, or an unknown, revoked or expired one"));
        out.push((403, "the rules refuse it to this caller (RULES.md \"Who may do what\"), or the token is of the wrong kind"));
    }
    if path == "/api/v1/auth/login" {
        out.push((401, "wrong email or password"));
        out.push((
            429,
            "too many failed sign-ins; `Retry-After` says when to try again",
        ));
    } else if path == "/api/v1/me/password" {
        out.push((
            429,
            "too many wrong passwords for this account; `Retry-After` says when to try again",
        ));
    } else {
        out.push((
            429,
            "too many requests for this sign-in (or live streams open); `Retry-After` says when to try again",
        ));
    }
    if has_path_id || integration || (has_body && method != "put" && path != "/api/v1/auth/login") {
        out.push((404, "no such ticket, conversation or agent in this team"));
    }
    let changes_a_ticket = path.starts_with("/api/v1/tickets/")
        || path.starts_with("/api/v1/conversations/")
        || integration;
    if changes_a_ticket && method != "get"
        || path == "/api/v1/agents" && method == "post"
        || path == "/api/v1/tickets" && method == "post"
    {
        out.push((409, "the lifecycle forbids the move, the id is taken, or the fields changed since `base_version`"));
    }
    if has_body {
        out.push((
            413,
            "the body is over 1 MiB (or a push of more than 1,000 mutations)",
        ));
        out.push((422, "a field breaks a rule; `fields` names each"));
    } else if path == "/api/v1/reports/sla" {
        out.push((
            422,
            "`from`, `to` or `group_by` cannot be read, or the period is empty; `fields` names which",
        ));
    }
    out.push((
        503,
        "the store did not answer, the server is at its limit of requests served at once, or the answer took too long",
    ));
    out
}

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi
            .components
            .get_or_insert_with(|| ComponentsBuilder::new().build());
        let _ = components;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ];
            for (method, op) in ops {
                let Some(op) = op else { continue };
                let method = method_name(&method);
                // Unique and stable: the method and the path's words.
                let words: Vec<&str> = path
                    .trim_start_matches("/api/v1/")
                    .split('/')
                    .map(|w| if w.starts_with('{') { "by_id" } else { w })
                    .collect();
                op.operation_id = Some(format!("{method}_{}", words.join("_")).replace('-', "_"));
                for (status, why) in error_statuses(path, method, op) {
                    let key = status.to_string();
                    if op.responses.responses.get(&key).is_some_and(|r| matches!(r, utoipa::openapi::RefOr::T(t) if t.content.values().next().is_some())) {
                        continue;
                    }
                    let response = ResponseBuilder::new()
                        .description(why)
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build();
                    op.responses.responses.insert(key, response.into());
                }
            }
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
