//! The admin console's calls and the reports: admin changes go to the
//! server (they need it: the app says so when offline), then a sync brings
//! them into the cache; previews and reports read the cache.

use chrono::Utc;
use fyncall_cache::CacheError;
use fyncall_domain::delivery::{CreatedWebhook, DeliveryPage, NewWebhook, Webhook, WebhookChange};
use fyncall_domain::mail::{MailCheck, Mailbox, MailboxChange, NewMailbox};
use fyncall_domain::report::{self, GroupBy, ReportQuery};
use fyncall_domain::sla::PolicyPreview;
use fyncall_domain::wire::{IntegrationToken, NewAgent, NewIntegrationToken};
use fyncall_domain::{Agent, AgentChange, Refusal, SlaReport, TeamSettings};
use serde_json::Value;
use uuid::Uuid;

use crate::desk::Desk;
use crate::error::{IpcCode, IpcError, IpcResult};

/// A report's period as the window asks for it: dates (`2026-11-30`, its
/// 00:00 in the team's zone) or RFC 3339 times, `to` not included.
#[derive(Debug, Clone, serde::Deserialize, ts_rs::TS)]
#[ts(export)]
pub struct ReportRequest {
    pub from: String,
    pub to: String,
    pub group_by: GroupBy,
}

/// Settings as the window sent them, read and checked with the server's
/// own rules; a refusal names the field to fix.
fn read_settings(settings: Value) -> IpcResult<TeamSettings> {
    let parsed: TeamSettings = serde_json::from_value(settings).map_err(|e| {
        let text = e.to_string();
        // The calendar's own check says what is wrong with it.
        let field = if text.starts_with("calendar") {
            "calendar"
        } else {
            "settings"
        };
        IpcError::refused(Refusal::invalid(field, text))
    })?;
    parsed.validate().map_err(IpcError::refused)?;
    Ok(parsed)
}

impl Desk {
    /// Pulls what an admin change just did on the server, best effort: the
    /// change itself is saved, and the next sync brings it anyway.
    async fn after_admin_change(&self) {
        let _ = self.sync_now().await;
    }

    pub async fn admin_agents(&self) -> IpcResult<Vec<Agent>> {
        Ok(self.client().await?.agents().await?)
    }

    pub async fn create_agent(&self, agent: NewAgent) -> IpcResult<Agent> {
        let made = self.client().await?.create_agent(&agent).await?;
        self.after_admin_change().await;
        Ok(made)
    }

    pub async fn update_agent(&self, id: Uuid, change: AgentChange) -> IpcResult<Agent> {
        let changed = self.client().await?.update_agent(id, &change).await?;
        self.after_admin_change().await;
        Ok(changed)
    }

    pub async fn end_agent_sessions(&self, id: Uuid) -> IpcResult<()> {
        Ok(self.client().await?.end_agent_sessions(id).await?)
    }

    pub async fn integration_tokens(&self) -> IpcResult<Vec<IntegrationToken>> {
        Ok(self.client().await?.integration_tokens().await?)
    }

    pub async fn create_integration_token(&self, name: String) -> IpcResult<NewIntegrationToken> {
        if name.trim().is_empty() {
            return Err(IpcError::refused(Refusal::invalid(
                "name",
                "name the token after what will use it (for example \"chat platform\")",
            )));
        }
        Ok(self
            .client()
            .await?
            .create_integration_token(name.trim())
            .await?)
    }

    pub async fn revoke_integration_token(&self, id: Uuid) -> IpcResult<()> {
        Ok(self.client().await?.revoke_integration_token(id).await?)
    }

    pub async fn webhooks(&self) -> IpcResult<Vec<Webhook>> {
        Ok(self.client().await?.webhooks().await?)
    }

    pub async fn create_webhook(&self, hook: NewWebhook) -> IpcResult<CreatedWebhook> {
        Ok(self.client().await?.create_webhook(&hook).await?)
    }

    pub async fn update_webhook(&self, id: Uuid, change: WebhookChange) -> IpcResult<Webhook> {
        Ok(self.client().await?.update_webhook(id, &change).await?)
    }

    pub async fn delete_webhook(&self, id: Uuid) -> IpcResult<()> {
        Ok(self.client().await?.delete_webhook(id).await?)
    }

    /// Keeps a macro (new when `id` is none) on the server, then the
    /// machine's list of macros again.
    pub async fn save_macro(
        &self,
        id: Option<Uuid>,
        m: fyncall_domain::macros::NewMacro,
    ) -> IpcResult<fyncall_domain::macros::Macro> {
        let client = self.client().await?;
        let kept = match id {
            Some(id) => client.update_macro(id, &m).await?,
            None => client.create_macro(&m).await?,
        };
        self.after_macro_change().await;
        Ok(kept)
    }

    pub async fn delete_macro(&self, id: Uuid) -> IpcResult<()> {
        self.client().await?.delete_macro(id).await?;
        self.after_macro_change().await;
        Ok(())
    }

    async fn after_macro_change(&self) {
        if let Some(e) = self.engine() {
            e.keep_macros().await;
        }
    }

    pub async fn mailboxes(&self) -> IpcResult<Vec<Mailbox>> {
        Ok(self.client().await?.mailboxes().await?)
    }

    pub async fn create_mailbox(&self, mailbox: NewMailbox) -> IpcResult<Mailbox> {
        Ok(self.client().await?.create_mailbox(&mailbox).await?)
    }

    pub async fn update_mailbox(&self, id: Uuid, change: MailboxChange) -> IpcResult<Mailbox> {
        Ok(self.client().await?.update_mailbox(id, &change).await?)
    }

    pub async fn delete_mailbox(&self, id: Uuid) -> IpcResult<()> {
        Ok(self.client().await?.delete_mailbox(id).await?)
    }

    pub async fn check_mailbox(&self, id: Uuid) -> IpcResult<MailCheck> {
        Ok(self.client().await?.check_mailbox(id).await?)
    }

    pub async fn webhook_deliveries(
        &self,
        id: Uuid,
        cursor: Option<String>,
    ) -> IpcResult<DeliveryPage> {
        Ok(self
            .client()
            .await?
            .webhook_deliveries(id, cursor.as_deref())
            .await?)
    }

    pub async fn send_delivery_again(&self, id: Uuid, delivery: String) -> IpcResult<()> {
        Ok(self
            .client()
            .await?
            .send_delivery_again(id, &delivery)
            .await?)
    }

    /// Queues a failed reply's delivery again (any agent may), then pulls
    /// the reply's new state.
    pub async fn retry_reply(&self, message: Uuid) -> IpcResult<()> {
        self.client().await?.retry_reply(message).await?;
        self.after_admin_change().await;
        Ok(())
    }

    /// What the settings would do to the running tickets, checked first.
    pub async fn preview_settings(&self, settings: Value) -> IpcResult<PolicyPreview> {
        let new = read_settings(settings)?;
        let now = Utc::now();
        self.with_reader(move |c| {
            let now = c.server_now(now)?;
            c.preview_settings(&new, now)
        })
        .await
    }

    /// Saves the team's settings on the server, then brings them in.
    pub async fn save_settings(&self, settings: Value) -> IpcResult<TeamSettings> {
        let new = read_settings(settings)?;
        let saved = self.client().await?.put_settings(&new).await?;
        self.after_admin_change().await;
        Ok(saved)
    }

    /// The SLA compliance report from this machine's copy; the period's
    /// dates are read in the team's calendar zone, as the server reads them.
    /// A period reaching past the working set is asked of the server when
    /// it answers (the demo team, with no server, keeps the local one).
    pub async fn sla_report(&self, request: ReportRequest) -> IpcResult<SlaReport> {
        let now = Utc::now();
        let (query, local) = self
            .with_reader(move |c| {
                let zone = report::report_zone(&c.settings()?);
                let when = |field: &str, text: &str| {
                    report::parse_when(text, zone)
                        .map_err(|why| CacheError::Refused(Refusal::invalid(field, why)))
                };
                let query = ReportQuery {
                    from: when("from", &request.from)?,
                    to: when("to", &request.to)?,
                    group_by: request.group_by,
                };
                if query.from >= query.to {
                    return Err(CacheError::Refused(Refusal::invalid(
                        "to",
                        "the period is empty: the end must come after the start",
                    )));
                }
                let now = c.server_now(now)?;
                Ok((query, c.sla_report(&query, now)?))
            })
            .await?;
        if local.covers_since.is_none() {
            return Ok(local);
        }
        // The period reaches past what this machine keeps: the server's
        // report counts it whole; offline, this one says what it covers.
        let Ok(client) = self.client().await else {
            return Ok(local);
        };
        match client.sla_report(&query).await {
            Ok(whole) => Ok(whole),
            Err(e) => {
                tracing::info!(error = %e, "the server's report was not read; the desktop's covers its working set");
                Ok(local)
            }
        }
    }
}

/// Writes `bytes` to a new file `name` in `dir` (`name-2.csv`, `-3`… when
/// taken: an export never overwrites an earlier one); its path.
pub fn save_new_file(
    dir: &std::path::Path,
    name: &str,
    bytes: &[u8],
) -> IpcResult<std::path::PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| {
        IpcError::new(
            IpcCode::Internal,
            format!("cannot make {}: {e}", dir.display()),
        )
    })?;
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    for n in 1..1000 {
        let file = if n == 1 {
            name.to_owned()
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(file);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(bytes).map_err(|e| {
                    IpcError::new(
                        IpcCode::Internal,
                        format!("cannot write {}: {e}", path.display()),
                    )
                })?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(IpcError::new(
                    IpcCode::Internal,
                    format!("cannot write {}: {e}", path.display()),
                ));
            }
        }
    }
    Err(IpcError::new(
        IpcCode::Internal,
        format!(
            "{} holds 999 copies of {name}: clear some out",
            dir.display()
        ),
    ))
}
