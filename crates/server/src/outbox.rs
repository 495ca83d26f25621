//! The delivery outbox (ARCHITECTURE.md "Deliveries are rows, written with
//! what causes them"), written once for both stores over `TokenDb`.
//!
//! A change that must leave the team writes its deliveries in its own
//! transaction ([`enqueue`], from the write path): one row per event and
//! subscribed webhook, with the event's body as it will be sent on every
//! attempt. The worker (`crate::deliver`) claims due rows for a while
//! ([`claim`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two processes
//! never take one row; the one writer on SQLite), attempts them outside any
//! transaction, and records each attempt ([`record`]) only if it still
//! holds the claim. A row recorded `sent` is never claimed again; a row
//! whose worker died is claimed again once its claim runs out.
//!
//! The states, the retry schedule and the words are
//! `fyncall_domain::delivery`'s.

use fyncall_domain::delivery::{
    self, AfterAttempt, Attempted, DeliveryAttempt, DeliveryPage, EventType, Webhook,
    WebhookDelivery, WebhookState,
};
use fyncall_domain::{Delivery, DeliveryState, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use crate::query::Dialect;
use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};
use crate::time::{iso, parse};

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn cell(row: &[Option<String>], i: usize) -> StoreResult<&str> {
    row.get(i)
        .and_then(|c| c.as_deref())
        .ok_or_else(|| db_err(format!("outbox column {i} is empty")))
}

fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

fn time_opt(row: &[Option<String>], i: usize) -> StoreResult<Option<Timestamp>> {
    opt(row, i).map(|t| parse(&t).map_err(db_err)).transpose()
}

fn uuid(row: &[Option<String>], i: usize) -> StoreResult<Uuid> {
    Uuid::parse_str(cell(row, i)?).map_err(db_err)
}

fn number(row: &[Option<String>], i: usize) -> StoreResult<u32> {
    cell(row, i)?.parse().map_err(db_err)
}

fn events_text(events: &[EventType]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn webhook_of(row: &[Option<String>]) -> StoreResult<Webhook> {
    let paused = opt(row, 4);
    Ok(Webhook {
        id: uuid(row, 0)?,
        url: cell(row, 1)?.to_owned(),
        events: cell(row, 2)?
            .split_whitespace()
            .filter_map(EventType::parse)
            .collect(),
        description: opt(row, 3),
        state: if paused.is_some() {
            WebhookState::Paused
        } else {
            WebhookState::Active
        },
        paused_reason: paused,
        created_at: parse(cell(row, 5)?).map_err(db_err)?,
    })
}

/// The team's webhooks (not deleted), oldest first.
pub fn webhooks(db: &mut dyn TokenDb) -> StoreResult<Vec<Webhook>> {
    db.rows(
        "SELECT id, url, events, description, paused, created_at FROM webhooks
         WHERE deleted_at IS NULL ORDER BY created_at, id",
        &[],
    )?
    .iter()
    .map(|r| webhook_of(r))
    .collect()
}

pub fn webhook(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<Option<Webhook>> {
    let id = id.to_string();
    db.rows(
        "SELECT id, url, events, description, paused, created_at FROM webhooks
         WHERE id = $1 AND deleted_at IS NULL",
        &[Some(&id)],
    )?
    .first()
    .map(|r| webhook_of(r))
    .transpose()
}

/// Keeps a new webhook with its secret.
pub fn insert_webhook(db: &mut dyn TokenDb, w: &Webhook, secret: &str) -> StoreResult<()> {
    let (id, events, at) = (w.id.to_string(), events_text(&w.events), iso(w.created_at));
    db.exec(
        "INSERT INTO webhooks (id, url, events, description, secret, paused, created_at)
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
        &[
            Some(&id),
            Some(&w.url),
            Some(&events),
            w.description.as_deref(),
            Some(secret),
            Some(&at),
        ],
    )?;
    Ok(())
}

/// Writes a webhook's url, events, description and pause back.
pub fn save_webhook(db: &mut dyn TokenDb, w: &Webhook) -> StoreResult<bool> {
    let (id, events) = (w.id.to_string(), events_text(&w.events));
    Ok(db.exec(
        "UPDATE webhooks SET url = $2, events = $3, description = $4, paused = $5
         WHERE id = $1 AND deleted_at IS NULL",
        &[
            Some(&id),
            Some(&w.url),
            Some(&events),
            w.description.as_deref(),
            w.paused_reason.as_deref(),
        ],
    )? == 1)
}

/// Deletes a webhook: nothing more goes to it; what was queued fails.
pub fn delete_webhook(db: &mut dyn TokenDb, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    let (id, now) = (id.to_string(), iso(now));
    let gone = db.exec(
        "UPDATE webhooks SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[Some(&id), Some(&now)],
    )? == 1;
    if gone {
        db.exec(
            "UPDATE deliveries SET state = 'failed', next_at = NULL, claimed_by = NULL,
                 claimed_until = NULL, reason = 'its webhook was deleted'
             WHERE webhook_id = $1 AND state = 'queued'",
            &[Some(&id)],
        )?;
    }
    Ok(gone)
}

/// A new delivery id: `msg_` and 32 hex digits (a receiver's dedup key).
pub fn new_delivery_id() -> String {
    format!("msg_{}", Uuid::now_v7().simple())
}

/// One event to deliver: its type, its body (as sent) and the reply it carries.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventType,
    pub body: String,
    pub message_id: Option<Uuid>,
}

/// The body of an event: `{type, timestamp, data}` (API.md "Webhooks").
pub fn event_body(kind: EventType, at: Timestamp, data: &impl Serialize) -> StoreResult<String> {
    serde_json::to_string(&serde_json::json!({
        "type": kind.as_str(),
        "timestamp": fyncall_domain::wire::millis::format(&at),
        "data": data,
    }))
    .map_err(db_err)
}

/// Queues `event` for each of `hooks` that wants it, due at once; how many.
pub fn enqueue(
    db: &mut dyn TokenDb,
    hooks: &[Webhook],
    event: &Event,
    now: Timestamp,
) -> StoreResult<usize> {
    let now = iso(now);
    let message = event.message_id.map(|m| m.to_string());
    let mut n = 0;
    for hook in hooks.iter().filter(|h| h.wants(event.kind)) {
        let (id, hook_id) = (new_delivery_id(), hook.id.to_string());
        db.exec(
            "INSERT INTO deliveries (id, webhook_id, event, message_id, body, state, attempts,
                 created_at, queued_at, next_at)
             VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $6, $6)",
            &[
                Some(&id),
                Some(&hook_id),
                Some(event.kind.as_str()),
                message.as_deref(),
                Some(&event.body),
                Some(&now),
            ],
        )?;
        n += 1;
    }
    Ok(n)
}

/// A delivery a worker holds: where it goes and what it sends.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    /// A webhook's URL and secret (empty for mail).
    pub url: String,
    pub secret: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
    pub queued_at: Timestamp,
    pub message_id: Option<Uuid>,
    pub webhook_id: Option<Uuid>,
    /// The mailbox a reply goes out from by mail.
    pub mailbox_id: Option<Uuid>,
}

/// Queues a reply's mail from `mailbox`, due at once.
pub fn enqueue_mail(
    db: &mut dyn TokenDb,
    mailbox: Uuid,
    message: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    let (id, mailbox, message, now) = (
        new_delivery_id(),
        mailbox.to_string(),
        message.to_string(),
        iso(now),
    );
    db.exec(
        "INSERT INTO deliveries (id, mailbox_id, event, message_id, body, state, attempts,
             created_at, queued_at, next_at)
         VALUES ($1, $2, 'email', $3, '', 'queued', 0, $4, $4, $4)",
        &[Some(&id), Some(&mailbox), Some(&message), Some(&now)],
    )?;
    Ok(())
}

/// Claims up to `limit` due deliveries of active webhooks and mailboxes
/// for the worker `by` until `until`; what it now holds.
pub fn claim(
    db: &mut dyn TokenDb,
    dialect: Dialect,
    by: Uuid,
    now: Timestamp,
    until: Timestamp,
    limit: u32,
) -> StoreResult<Vec<Claimed>> {
    let (by, now, until) = (by.to_string(), iso(now), iso(until));
    let lock = match dialect {
        Dialect::Postgres => "FOR UPDATE OF d SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let sql = format!(
        "UPDATE deliveries SET claimed_by = $1, claimed_until = $3
         WHERE id IN (SELECT d.id FROM deliveries d
             LEFT JOIN webhooks w ON w.id = d.webhook_id
             LEFT JOIN mailboxes m ON m.id = d.mailbox_id
             WHERE d.state = 'queued' AND d.next_at <= $2
               AND (d.claimed_until IS NULL OR d.claimed_until <= $2)
               AND ((w.id IS NOT NULL AND w.paused IS NULL AND w.deleted_at IS NULL)
                 OR (m.id IS NOT NULL AND m.deleted_at IS NULL))
             ORDER BY d.next_at LIMIT {limit} {lock})
         RETURNING id"
    );
    let taken = db.rows_built(&sql, &[Some(&by), Some(&now), Some(&until)])?;
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    db.rows(
        "SELECT d.id, w.url, w.secret, d.body, CAST(d.attempts AS TEXT), d.queued_at,
                d.message_id, d.webhook_id, d.mailbox_id
         FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.claimed_by = $1 AND d.state = 'queued'
         ORDER BY d.next_at",
        &[Some(&by)],
    )?
    .iter()
    .map(|r| {
        Ok(Claimed {
            id: cell(r, 0)?.to_owned(),
            url: opt(r, 1).unwrap_or_default(),
            secret: opt(r, 2).unwrap_or_default(),
            body: cell(r, 3)?.to_owned(),
            attempts: number(r, 4)?,
            queued_at: parse(cell(r, 5)?).map_err(db_err)?,
            message_id: opt(r, 6).and_then(|m| Uuid::parse_str(&m).ok()),
            webhook_id: opt(r, 7).and_then(|m| Uuid::parse_str(&m).ok()),
            mailbox_id: opt(r, 8).and_then(|m| Uuid::parse_str(&m).ok()),
        })
    })
    .collect()
}

/// What one attempt came to, as logged.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: Timestamp,
    pub status: Option<u16>,
    pub outcome: Attempted,
    /// The answer's first KiB.
    pub answer: Option<String>,
    pub duration_ms: u64,
}

impl Attempt {
    fn error(&self) -> Option<&str> {
        match &self.outcome {
            Attempted::Taken => None,
            Attempted::Temporary(w) | Attempted::Permanent(w) => Some(w),
        }
    }
}

/// Records an attempt of a claimed delivery and moves its state; `None`
/// when `by` no longer holds the claim (it ran out and another worker took
/// the row: its own attempt counts).
pub fn record(
    db: &mut dyn TokenDb,
    by: Uuid,
    claimed: &Claimed,
    attempt: &Attempt,
) -> StoreResult<Option<AfterAttempt>> {
    let after = delivery::after_attempt(
        claimed.queued_at,
        claimed.attempts + 1,
        &attempt.outcome,
        attempt.at,
    );
    let (by, at) = (by.to_string(), iso(attempt.at));
    let next = after.next_at.map(iso);
    let moved = db.exec(
        "UPDATE deliveries SET attempts = attempts + 1, state = $3, next_at = $4, reason = $5,
             last_attempt_at = $6, claimed_by = NULL, claimed_until = NULL
         WHERE id = $1 AND claimed_by = $2 AND state = 'queued'",
        &[
            Some(&claimed.id),
            Some(&by),
            Some(after.state.as_str()),
            next.as_deref(),
            after.reason.as_deref(),
            Some(&at),
        ],
    )?;
    if moved != 1 {
        return Ok(None);
    }
    let (status, duration) = (
        attempt.status.map(|s| s.to_string()),
        attempt.duration_ms.to_string(),
    );
    db.exec(
        "INSERT INTO delivery_attempts (delivery_id, n, at, status, error, answer, duration_ms)
         VALUES ($1, (SELECT attempts FROM deliveries WHERE id = $1), $2, $3, $4, $5, $6)",
        &[
            Some(&claimed.id),
            Some(&at),
            status.as_deref(),
            attempt.error(),
            attempt.answer.as_deref(),
            Some(&duration),
        ],
    )?;
    if let (DeliveryState::Failed, Some(hook)) = (after.state, claimed.webhook_id) {
        pause_if_all_failed(db, hook, attempt.at)?;
    }
    Ok(Some(after))
}

/// Pauses a webhook none of whose deliveries got through in the last 24 h.
fn pause_if_all_failed(db: &mut dyn TokenDb, hook: Uuid, now: Timestamp) -> StoreResult<()> {
    let (hook, since) = (hook.to_string(), iso(now - delivery::give_up_after()));
    let through = db.rows(
        "SELECT CAST(count(*) AS TEXT) FROM deliveries
         WHERE webhook_id = $1 AND state = 'sent' AND last_attempt_at > $2",
        &[Some(&hook), Some(&since)],
    )?;
    if through.first().map(|r| number(r, 0)).transpose()? == Some(0) {
        db.exec(
            "UPDATE webhooks SET paused = $2 WHERE id = $1 AND paused IS NULL",
            &[
                Some(&hook),
                Some("every delivery failed for 24 hours: check the receiver, then resume the webhook"),
            ],
        )?;
    }
    Ok(())
}

/// The deliveries carrying a reply, combined into its delivery.
pub fn of_message(db: &mut dyn TokenDb, message: Uuid) -> StoreResult<Option<Delivery>> {
    let message = message.to_string();
    let rows = db.rows(
        "SELECT state, CAST(attempts AS TEXT), last_attempt_at, reason FROM deliveries
         WHERE message_id = $1",
        &[Some(&message)],
    )?;
    if rows.is_empty() {
        return Ok(None);
    }
    let rows = rows
        .iter()
        .map(|r| {
            Ok((
                DeliveryState::parse(cell(r, 0)?)
                    .ok_or_else(|| db_err("unknown delivery state"))?,
                number(r, 1)?,
                time_opt(r, 2)?,
                opt(r, 3),
            ))
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(delivery::combined(&rows)))
}

/// Queues a reply's failed deliveries again, and makes those still
/// retrying due now (an agent's Retry, after the integration reported a
/// failure while they waited): how many. A claimed row is left to its
/// worker, whose attempt is under way.
pub fn requeue_message(db: &mut dyn TokenDb, message: Uuid, now: Timestamp) -> StoreResult<u64> {
    let (message, now) = (message.to_string(), iso(now));
    let failed = db.exec(
        "UPDATE deliveries SET state = 'queued', queued_at = $2, next_at = $2, reason = NULL,
             claimed_by = NULL, claimed_until = NULL
         WHERE message_id = $1 AND state = 'failed'
           AND (webhook_id IN (SELECT id FROM webhooks WHERE deleted_at IS NULL)
             OR mailbox_id IN (SELECT id FROM mailboxes WHERE deleted_at IS NULL))",
        &[Some(&message), Some(&now)],
    )?;
    let waiting = db.exec(
        "UPDATE deliveries SET next_at = $2
         WHERE message_id = $1 AND state = 'queued' AND (claimed_until IS NULL OR claimed_until < $2)
           AND (webhook_id IN (SELECT id FROM webhooks WHERE deleted_at IS NULL)
             OR mailbox_id IN (SELECT id FROM mailboxes WHERE deleted_at IS NULL))",
        &[Some(&message), Some(&now)],
    )?;
    let claimed = db.rows(
        "SELECT CAST(COUNT(*) AS TEXT) FROM deliveries WHERE message_id = $1 AND state = 'queued'
           AND claimed_until >= $2",
        &[Some(&message), Some(&now)],
    )?;
    let claimed: u64 = claimed
        .first()
        .and_then(|r| opt(r, 0))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(failed + waiting + claimed)
}

/// Queues one failed delivery of a webhook again (the admin's "Send
/// again"); whether there was such a failed delivery.
pub fn requeue(db: &mut dyn TokenDb, hook: Uuid, id: &str, now: Timestamp) -> StoreResult<bool> {
    let (hook, now) = (hook.to_string(), iso(now));
    Ok(db.exec(
        "UPDATE deliveries SET state = 'queued', queued_at = $3, next_at = $3, reason = NULL,
             claimed_by = NULL, claimed_until = NULL
         WHERE id = $1 AND webhook_id = $2 AND state = 'failed'",
        &[Some(id), Some(&hook), Some(&now)],
    )? == 1)
}

/// The reply a delivery carries, if any.
pub fn message_of(db: &mut dyn TokenDb, hook: Uuid, id: &str) -> StoreResult<Option<Option<Uuid>>> {
    let hook = hook.to_string();
    Ok(db
        .rows(
            "SELECT message_id FROM deliveries WHERE id = $1 AND webhook_id = $2",
            &[Some(id), Some(&hook)],
        )?
        .first()
        .map(|r| opt(r, 0).and_then(|m| Uuid::parse_str(&m).ok())))
}

/// A page of a webhook's delivery log, newest first, of one state or all.
pub fn log(
    db: &mut dyn TokenDb,
    hook: Uuid,
    state: Option<DeliveryState>,
    cursor: Option<&str>,
    limit: u32,
) -> StoreResult<DeliveryPage> {
    let hook = hook.to_string();
    // The cursor is the last row's "created_at id".
    let (after_at, after_id) = match cursor.and_then(|c| c.split_once(' ')) {
        Some((at, id)) => (Some(at.to_owned()), Some(id.to_owned())),
        None => (None, None),
    };
    // Typed NULL tests: PostgreSQL must know each parameter's type.
    let sql = format!(
        "SELECT id, event, state, reason, message_id, created_at, next_at FROM deliveries
         WHERE webhook_id = $1 AND (CAST($2 AS TEXT) IS NULL OR state = $2)
           AND (CAST($3 AS TEXT) IS NULL OR created_at < $3 OR (created_at = $3 AND id < $4))
         ORDER BY created_at DESC, id DESC LIMIT {}",
        limit + 1
    );
    let state_text = state.map(|s| s.as_str().to_owned());
    let mut rows = db.rows_built(
        &sql,
        &[
            Some(&hook),
            state_text.as_deref(),
            after_at.as_deref(),
            after_id.as_deref(),
        ],
    )?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let mut deliveries = Vec::with_capacity(rows.len());
    for r in &rows {
        let id = cell(r, 0)?.to_owned();
        let attempts = db
            .rows(
                "SELECT at, status, error, answer, duration_ms FROM delivery_attempts
                 WHERE delivery_id = $1 ORDER BY n",
                &[Some(&id)],
            )?
            .iter()
            .map(|a| {
                Ok(DeliveryAttempt {
                    at: parse(cell(a, 0)?).map_err(db_err)?,
                    status: opt(a, 1).and_then(|s| s.parse().ok()),
                    error: opt(a, 2),
                    answer: opt(a, 3),
                    duration_ms: cell(a, 4)?.parse().map_err(db_err)?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        deliveries.push(WebhookDelivery {
            id,
            event: cell(r, 1)?.to_owned(),
            state: DeliveryState::parse(cell(r, 2)?)
                .ok_or_else(|| db_err("unknown delivery state"))?,
            reason: opt(r, 3),
            message_id: opt(r, 4).and_then(|m| Uuid::parse_str(&m).ok()),
            created_at: parse(cell(r, 5)?).map_err(db_err)?,
            attempts,
            next_at: time_opt(r, 6)?,
        });
    }
    let next_cursor = if more {
        rows.last()
            .map(|r| Ok::<_, StoreError>(format!("{} {}", cell(r, 5)?, cell(r, 0)?)))
            .transpose()?
    } else {
        None
    };
    Ok(DeliveryPage {
        deliveries,
        next_cursor,
    })
}

/// The channel of a conversation ("chat", "email", …).
pub fn channel_of(db: &mut dyn TokenDb, conversation: Uuid) -> StoreResult<String> {
    Ok(conversation_of(db, conversation)?.channel)
}

/// A conversation's row, read once for both stores.
pub fn conversation_of(
    db: &mut dyn TokenDb,
    conversation: Uuid,
) -> StoreResult<fyncall_domain::Conversation> {
    let id = conversation.to_string();
    let data = db
        .rows("SELECT data FROM conversations WHERE id = $1", &[Some(&id)])?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .ok_or_else(|| db_err(format!("no conversation {id}")))?;
    serde_json::from_str(&data).map_err(db_err)
}

/// Claims every worker of this process held when it stopped unclean
/// (SQLite: this process is the only one, so none of them still runs).
pub fn release_all_claims(db: &mut dyn TokenDb) -> StoreResult<u64> {
    db.exec(
        "UPDATE deliveries SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by IS NOT NULL",
        &[],
    )
}
