//! Email mailboxes (admin; API.md "Channels, deliveries and attachments"):
//! set up, changed, removed and checked. Passwords go in and never come
//! back out; they are sealed before they are written (`crate::mail`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fyncall_domain::mail::{CheckPart, MailCheck, Mailbox, MailboxChange, NewMailbox};
use fyncall_domain::permissions;
use uuid::Uuid;

use crate::app::{ApiJson, AppState, Id};
use crate::auth::AgentAuth;
use crate::error::{ApiError, ErrorCode};
use crate::mail::{self, MailboxConfig, Sealer};
use crate::store::{read_tokens, write_tokens};

fn sealer(state: &AppState) -> Result<std::sync::Arc<Sealer>, ApiError> {
    state.sealer.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::Conflict,
            "this server has no mail key to keep mailbox passwords with: start it with --mail-key FILE (docs/operations.md, \"Email\")",
        )
    })
}

async fn taken(state: &AppState, address: &str, except: Option<Uuid>) -> Result<(), ApiError> {
    let a = address.to_owned();
    if state
        .blocking(move |s| read_tokens(s, |db| mail::address_taken(db, &a, except)))
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("{address} is already one of the team's mailboxes: change that one instead"),
        ));
    }
    Ok(())
}

async fn shown(state: &AppState, id: Uuid) -> Result<Mailbox, ApiError> {
    state
        .blocking(move |s| read_tokens(s, |db| mail::mailbox(db, id)))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mailbox has id {id}")))
}

async fn config(state: &AppState, id: Uuid) -> Result<MailboxConfig, ApiError> {
    let sealer = sealer(state)?;
    state
        .blocking(move |s| read_tokens(s, |db| mail::mailbox_config(db, &sealer, id)))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no mailbox has id {id}")))
}

#[utoipa::path(get, path = "/api/v1/channels/email", tag = "channels",
    responses((status = 200, body = [Mailbox])))]
pub async fn list(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
) -> Result<Json<Vec<Mailbox>>, ApiError> {
    permissions::check_admin(&actor, "see the mailboxes")?;
    Ok(Json(
        state.blocking(|s| read_tokens(s, mail::mailboxes)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/channels/email", request_body = NewMailbox, tag = "channels",
    responses((status = 201, body = Mailbox), (status = 422, description = "a field refused, in words")))]
pub async fn create(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    ApiJson(body): ApiJson<NewMailbox>,
) -> Result<(StatusCode, Json<Mailbox>), ApiError> {
    permissions::check_admin(&actor, "set up mailboxes")?;
    body.check(state.config.allow_plain_mail)?;
    let sealer = sealer(&state)?;
    let m = MailboxConfig::new(Uuid::now_v7(), &body);
    taken(&state, &m.address, None).await?;
    let (kept, now) = (m.clone(), crate::time::now());
    state
        .blocking(move |s| write_tokens(s, |db| mail::insert_mailbox(db, &sealer, &kept, now)))
        .await?;
    state.mailboxes_changed.notify_one();
    Ok((StatusCode::CREATED, Json(shown(&state, m.id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/channels/email/{id}", request_body = MailboxChange, tag = "channels",
    params(("id" = Uuid, Path)), responses((status = 200, body = Mailbox)))]
pub async fn update(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
    ApiJson(change): ApiJson<MailboxChange>,
) -> Result<Json<Mailbox>, ApiError> {
    permissions::check_admin(&actor, "change mailboxes")?;
    let now = config(&state, id).await?;
    let next = NewMailbox {
        address: change
            .address
            .clone()
            .unwrap_or_else(|| now.address.clone()),
        display_name: change
            .display_name
            .clone()
            .unwrap_or_else(|| now.display_name.clone()),
        imap: match &change.imap {
            Some(c) => now.imap.changed(c),
            None => now.imap.clone(),
        },
        smtp: match &change.smtp {
            Some(c) => now.smtp.changed(c),
            None => now.smtp.clone(),
        },
    };
    next.check(state.config.allow_plain_mail)?;
    let m = MailboxConfig::new(id, &next);
    taken(&state, &m.address, Some(id)).await?;
    let sealer = sealer(&state)?;
    if !state
        .blocking(move |s| write_tokens(s, |db| mail::save_mailbox(db, &sealer, &m)))
        .await?
    {
        return Err(ApiError::not_found(format!("no mailbox has id {id}")));
    }
    state.mailboxes_changed.notify_one();
    Ok(Json(shown(&state, id).await?))
}

#[utoipa::path(delete, path = "/api/v1/channels/email/{id}", tag = "channels",
    params(("id" = Uuid, Path)), responses((status = 204)))]
pub async fn remove(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    permissions::check_admin(&actor, "remove mailboxes")?;
    let now = crate::time::now();
    if !state
        .blocking(move |s| write_tokens(s, |db| mail::delete_mailbox(db, id, now)))
        .await?
    {
        return Err(ApiError::not_found(format!("no mailbox has id {id}")));
    }
    state.mailboxes_changed.notify_one();
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/channels/email/{id}/check", tag = "channels",
    params(("id" = Uuid, Path)), responses((status = 200, body = MailCheck)))]
pub async fn check(
    State(state): State<AppState>,
    AgentAuth(actor, ..): AgentAuth,
    Id(id): Id,
) -> Result<Json<MailCheck>, ApiError> {
    permissions::check_admin(&actor, "check mailboxes")?;
    if !state.config.deliver {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this server holds deliveries (--hold-deliveries): it neither reads nor sends mail, so it does not sign in to mail servers either",
        ));
    }
    let m = config(&state, id).await?;
    let trust = &state.mail_trust;
    let (imap, smtp) = tokio::join!(mail::imap::check(&m, trust), mail::smtp::check(&m, trust));
    Ok(Json(MailCheck {
        imap: CheckPart::of(imap),
        smtp: CheckPart::of(smtp),
    }))
}
