//! The window's commands: each a one-line adapter over the cache, the sync
//! engine or the sign-in (see `desk.rs`).

use std::collections::BTreeMap;

use chrono::Utc;
use fyncall_cache::{
    Acted, ConversationDetail, Counts, OutboxEntry, Page, Problem, Query, TicketDetail,
};
use fyncall_domain::{Agent, InboxCounts, InboxPage, InboxQuery, Mutation, Refusal, TeamSettings};
use tauri::State;
use uuid::Uuid;

use crate::desk::{Desk, SessionInfo, StatusInfo};
use crate::error::IpcResult;

#[tauri::command]
pub async fn session(desk: State<'_, Desk>) -> IpcResult<Option<SessionInfo>> {
    desk.session()
}

#[tauri::command]
pub async fn sign_in(
    desk: State<'_, Desk>,
    server: String,
    email: String,
    password: String,
    allow_http: Option<bool>,
    ca_file: Option<String>,
) -> IpcResult<SessionInfo> {
    let transport = fyncall_sync::Transport {
        ca_file: ca_file
            .filter(|p| !p.trim().is_empty())
            .map(std::path::PathBuf::from),
        allow_http: allow_http.unwrap_or(false),
    };
    desk.sign_in(&server, &email, &password, transport).await
}

#[tauri::command]
pub async fn sign_out(desk: State<'_, Desk>, remove_data: Option<bool>) -> IpcResult<()> {
    desk.sign_out(remove_data.unwrap_or(false)).await
}

#[tauri::command]
pub async fn sessions(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::wire::LiveSession>> {
    desk.sessions().await
}

#[tauri::command]
pub async fn end_session(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.end_session(id).await
}

#[tauri::command]
pub async fn end_other_sessions(desk: State<'_, Desk>) -> IpcResult<usize> {
    desk.end_other_sessions().await
}

#[tauri::command]
pub async fn change_password(
    desk: State<'_, Desk>,
    current_password: String,
    new_password: String,
) -> IpcResult<()> {
    desk.change_password(&current_password, &new_password).await
}

#[tauri::command]
pub async fn status(desk: State<'_, Desk>) -> IpcResult<StatusInfo> {
    desk.status().await
}

#[tauri::command]
pub async fn counts(desk: State<'_, Desk>) -> IpcResult<Counts> {
    desk.with_reader(|c| c.counts(Utc::now())).await
}

#[tauri::command]
pub async fn tickets(desk: State<'_, Desk>, query: Query) -> IpcResult<Page> {
    desk.with_reader(move |c| c.tickets(&query, Utc::now()))
        .await
}

#[tauri::command]
pub async fn ticket(desk: State<'_, Desk>, id: String) -> IpcResult<TicketDetail> {
    desk.ticket(id).await
}

#[tauri::command]
pub async fn conversation(desk: State<'_, Desk>, id: Uuid) -> IpcResult<ConversationDetail> {
    desk.with_reader(move |c| c.conversation(id, Utc::now()))
        .await
}

/// A page of an inbox view (Unassigned, Mine, All conversations).
#[tauri::command]
pub async fn inbox(desk: State<'_, Desk>, query: InboxQuery) -> IpcResult<InboxPage> {
    desk.with_reader(move |c| c.inbox(&query)).await
}

#[tauri::command]
pub async fn inbox_counts(desk: State<'_, Desk>) -> IpcResult<InboxCounts> {
    desk.with_reader(|c| c.inbox_counts()).await
}

/// The team's settings: SLA targets and the categories the pickers offer.
#[tauri::command]
pub async fn settings(desk: State<'_, Desk>) -> IpcResult<TeamSettings> {
    desk.with_reader(|c| c.settings()).await
}

#[tauri::command]
pub async fn agents(desk: State<'_, Desk>) -> IpcResult<Vec<Agent>> {
    desk.with_reader(|c| c.agents()).await
}

/// The signed-in agent's mentions, unread first, with the unread count.
#[tauri::command]
pub async fn mentions(desk: State<'_, Desk>) -> IpcResult<fyncall_cache::mentions::Mentions> {
    desk.with_reader(|c| c.mentions(200)).await
}

/// The macros the agent may use, as last synced.
#[tauri::command]
pub async fn macros(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::macros::Macro>> {
    desk.with_reader(|c| c.macros()).await
}

/// What a macro would do on a ticket now.
#[tauri::command]
pub async fn macro_preview(
    desk: State<'_, Desk>,
    ticket: String,
    macro_id: Uuid,
) -> IpcResult<fyncall_domain::macros::Preview> {
    desk.with_reader(move |c| {
        let id = c.find_ticket(&ticket)?;
        let m = c.find_macro(&macro_id.to_string())?;
        c.macro_preview(id, &m, chrono::Utc::now())
    })
    .await
}

#[tauri::command]
pub async fn apply_macro(
    desk: State<'_, Desk>,
    ticket: String,
    macro_id: Uuid,
) -> IpcResult<fyncall_cache::macros::MacroApplied> {
    desk.apply_macro(ticket, macro_id).await
}

#[tauri::command]
pub async fn save_macro(
    desk: State<'_, Desk>,
    id: Option<Uuid>,
    r#macro: fyncall_domain::macros::NewMacro,
) -> IpcResult<fyncall_domain::macros::Macro> {
    desk.save_macro(id, r#macro).await
}

#[tauri::command]
pub async fn delete_macro(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.delete_macro(id).await
}

/// The team's tags on tickets not closed, most used first (suggestions).
#[tauri::command]
pub async fn tags(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::tags::TagCount>> {
    desk.with_reader(|c| c.tags()).await
}

/// A page of the tickets closed before the working set that `search`
/// finds, from the server's archive (newest first; `cursor` for the next).
#[tauri::command]
pub async fn archive_tickets(
    desk: State<'_, Desk>,
    search: Option<String>,
    cursor: Option<String>,
) -> IpcResult<fyncall_cache::Page> {
    desk.archive_tickets(search, cursor).await
}

/// Tickets `ticket` could be merged into, for the picker (the same
/// customer's first); `query` narrows them by `#number` or subject words.
#[tauri::command]
pub async fn merge_targets(
    desk: State<'_, Desk>,
    ticket: Uuid,
    query: String,
) -> IpcResult<Vec<fyncall_cache::TicketRow>> {
    desk.with_reader(move |c| c.merge_targets(ticket, &query, Utc::now()))
        .await
}

/// What merging `ticket` into `into` would do now: the rules' answer and what moves.
#[tauri::command]
pub async fn merge_preview(
    desk: State<'_, Desk>,
    ticket: Uuid,
    into: Uuid,
) -> IpcResult<fyncall_cache::MergePreview> {
    desk.with_reader(move |c| c.merge_preview(ticket, into, Utc::now()))
        .await
}

#[tauri::command]
pub async fn act(desk: State<'_, Desk>, mutation: Mutation) -> IpcResult<Acted> {
    desk.act(mutation).await
}

#[tauri::command]
pub async fn check(
    desk: State<'_, Desk>,
    mutations: Vec<Mutation>,
) -> IpcResult<Vec<Option<Refusal>>> {
    desk.with_reader(move |c| mutations.iter().map(|m| c.check(m, Utc::now())).collect())
        .await
}

#[tauri::command]
pub async fn outbox(desk: State<'_, Desk>) -> IpcResult<Vec<OutboxEntry>> {
    desk.with_reader(|c| c.outbox()).await
}

#[tauri::command]
pub async fn problems(desk: State<'_, Desk>) -> IpcResult<Vec<Problem>> {
    desk.with_reader(|c| c.problems()).await
}

#[tauri::command]
pub async fn retry_problem(desk: State<'_, Desk>, id: Uuid) -> IpcResult<Acted> {
    desk.retry_problem(id).await
}

#[tauri::command]
pub async fn discard_problem(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.discard_problem(id).await
}

#[tauri::command]
pub async fn sync_now(desk: State<'_, Desk>) -> IpcResult<()> {
    desk.sync_now().await
}

#[tauri::command]
pub async fn preferences(
    desk: State<'_, Desk>,
    keys: Vec<String>,
) -> IpcResult<BTreeMap<String, String>> {
    desk.with_cache(move |c| {
        let mut out = BTreeMap::new();
        for k in keys {
            if let Some(v) = c.preference(&k)? {
                out.insert(k, v);
            }
        }
        Ok(out)
    })
    .await
}

#[tauri::command]
pub async fn set_preference(desk: State<'_, Desk>, key: String, value: String) -> IpcResult<()> {
    desk.with_cache(move |c| c.set_preference(&key, &value))
        .await
}

/// The ticket a `fyncall://` link started the app with (once; then none).
#[tauri::command]
pub async fn take_link(link: State<'_, crate::PendingLink>) -> IpcResult<Option<String>> {
    Ok(link.0.lock().ok().and_then(|mut l| l.take()))
}

/// The window's first view is on screen: the start-up line of the log,
/// with the page's own steps (`origin`: when the page began, ms since 1970).
#[tauri::command]
pub async fn started(
    startup: State<'_, crate::Startup>,
    origin: f64,
    steps: Vec<(String, f64)>,
) -> IpcResult<()> {
    startup.first_view(origin, &steps);
    Ok(())
}

/// A presence heartbeat of the page the agent has open (best effort).
#[tauri::command]
pub async fn heartbeat(desk: State<'_, Desk>, beat: fyncall_domain::Heartbeat) -> IpcResult<()> {
    desk.heartbeat(beat).await
}

#[tauri::command]
pub async fn admin_agents(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::Agent>> {
    desk.admin_agents().await
}

#[tauri::command]
pub async fn create_agent(
    desk: State<'_, Desk>,
    agent: fyncall_domain::wire::NewAgent,
) -> IpcResult<fyncall_domain::Agent> {
    desk.create_agent(agent).await
}

#[tauri::command]
pub async fn update_agent(
    desk: State<'_, Desk>,
    id: Uuid,
    change: fyncall_domain::AgentChange,
) -> IpcResult<fyncall_domain::Agent> {
    desk.update_agent(id, change).await
}

#[tauri::command]
pub async fn end_agent_sessions(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.end_agent_sessions(id).await
}

#[tauri::command]
pub async fn integration_tokens(
    desk: State<'_, Desk>,
) -> IpcResult<Vec<fyncall_domain::wire::IntegrationToken>> {
    desk.integration_tokens().await
}

#[tauri::command]
pub async fn create_integration_token(
    desk: State<'_, Desk>,
    name: String,
) -> IpcResult<fyncall_domain::wire::NewIntegrationToken> {
    desk.create_integration_token(name).await
}

#[tauri::command]
pub async fn revoke_integration_token(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.revoke_integration_token(id).await
}

#[tauri::command]
pub async fn mailboxes(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::mail::Mailbox>> {
    desk.mailboxes().await
}

#[tauri::command]
pub async fn create_mailbox(
    desk: State<'_, Desk>,
    mailbox: fyncall_domain::mail::NewMailbox,
) -> IpcResult<fyncall_domain::mail::Mailbox> {
    desk.create_mailbox(mailbox).await
}

#[tauri::command]
pub async fn update_mailbox(
    desk: State<'_, Desk>,
    id: Uuid,
    change: fyncall_domain::mail::MailboxChange,
) -> IpcResult<fyncall_domain::mail::Mailbox> {
    desk.update_mailbox(id, change).await
}

#[tauri::command]
pub async fn delete_mailbox(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.delete_mailbox(id).await
}

#[tauri::command]
pub async fn check_mailbox(
    desk: State<'_, Desk>,
    id: Uuid,
) -> IpcResult<fyncall_domain::mail::MailCheck> {
    desk.check_mailbox(id).await
}

/// Opens a message's file with the OS's viewer, fetching it first if this
/// computer does not keep it yet; the file's path.
#[tauri::command]
pub async fn open_attachment(
    app: tauri::AppHandle,
    desk: State<'_, Desk>,
    attachment: fyncall_domain::Attachment,
) -> IpcResult<String> {
    use tauri_plugin_opener::OpenerExt;
    let path = desk.attachment_file(&attachment).await?;
    app.opener()
        .open_path(path.display().to_string(), None::<&str>)
        .map_err(|e| {
            crate::desk::internal(format!(
                "{} is saved at {}, but no program opened it: {e}",
                attachment.name,
                path.display()
            ))
        })?;
    Ok(path.display().to_string())
}

/// Uploads a file for a reply: the raw bytes as the body, its name and
/// type in the `x-file-name` (base64 of UTF-8) and `x-file-type` headers.
#[tauri::command]
pub async fn upload_attachment(
    desk: State<'_, Desk>,
    request: tauri::ipc::Request<'_>,
) -> IpcResult<fyncall_domain::Attachment> {
    use base64::Engine;
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(crate::desk::internal("send the file's bytes as the body"));
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let name = base64::engine::general_purpose::STANDARD
        .decode(header("x-file-name"))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "attachment".into());
    let kind = match header("x-file-type") {
        t if t.is_empty() => "application/octet-stream".to_owned(),
        t => t,
    };
    desk.upload_attachment(&name, &kind, bytes.clone()).await
}

#[tauri::command]
pub async fn webhooks(desk: State<'_, Desk>) -> IpcResult<Vec<fyncall_domain::delivery::Webhook>> {
    desk.webhooks().await
}

#[tauri::command]
pub async fn create_webhook(
    desk: State<'_, Desk>,
    hook: fyncall_domain::delivery::NewWebhook,
) -> IpcResult<fyncall_domain::delivery::CreatedWebhook> {
    desk.create_webhook(hook).await
}

#[tauri::command]
pub async fn update_webhook(
    desk: State<'_, Desk>,
    id: Uuid,
    change: fyncall_domain::delivery::WebhookChange,
) -> IpcResult<fyncall_domain::delivery::Webhook> {
    desk.update_webhook(id, change).await
}

#[tauri::command]
pub async fn delete_webhook(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.delete_webhook(id).await
}

#[tauri::command]
pub async fn webhook_deliveries(
    desk: State<'_, Desk>,
    id: Uuid,
    cursor: Option<String>,
) -> IpcResult<fyncall_domain::delivery::DeliveryPage> {
    desk.webhook_deliveries(id, cursor).await
}

#[tauri::command]
pub async fn send_delivery_again(
    desk: State<'_, Desk>,
    id: Uuid,
    delivery: String,
) -> IpcResult<()> {
    desk.send_delivery_again(id, delivery).await
}

#[tauri::command]
pub async fn retry_reply(desk: State<'_, Desk>, id: Uuid) -> IpcResult<()> {
    desk.retry_reply(id).await
}

#[tauri::command]
pub async fn preview_settings(
    desk: State<'_, Desk>,
    settings: serde_json::Value,
) -> IpcResult<fyncall_domain::sla::PolicyPreview> {
    desk.preview_settings(settings).await
}

#[tauri::command]
pub async fn save_settings(
    desk: State<'_, Desk>,
    settings: serde_json::Value,
) -> IpcResult<fyncall_domain::TeamSettings> {
    desk.save_settings(settings).await
}

#[tauri::command]
pub async fn sla_report(
    desk: State<'_, Desk>,
    query: crate::admin::ReportRequest,
) -> IpcResult<fyncall_domain::SlaReport> {
    desk.sla_report(query).await
}

/// Saves the SLA report as CSV in the Downloads folder; the file's path.
#[tauri::command]
pub async fn export_sla_report(
    app: tauri::AppHandle,
    desk: State<'_, Desk>,
    query: crate::admin::ReportRequest,
) -> IpcResult<String> {
    use tauri::Manager;
    let report = desk.sla_report(query).await?;
    let dir = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .map_err(|e| crate::desk::internal(format!("no folder to save the report in: {e}")))?;
    let path = tauri::async_runtime::spawn_blocking(move || {
        crate::admin::save_new_file(&dir, &report.file_name(), report.to_csv().as_bytes())
    })
    .await
    .map_err(|e| crate::desk::internal(format!("saving the report failed: {e}")))??;
    Ok(path.display().to_string())
}

#[tauri::command]
pub async fn about(
    desk: State<'_, Desk>,
    logs: State<'_, crate::LogGuard>,
) -> IpcResult<crate::about::About> {
    desk.about(&logs.1).await
}

/// The text of "Copy diagnostic info" (never a token or a password).
#[tauri::command]
pub async fn diagnostics(
    desk: State<'_, Desk>,
    logs: State<'_, crate::LogGuard>,
) -> IpcResult<String> {
    desk.diagnostics(&logs.1).await
}
