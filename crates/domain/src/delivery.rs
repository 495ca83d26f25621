//! Deliveries: how what leaves the team (a reply to a customer, a webhook
//! event) moves from queued to sent, delivered, read or failed (RULES.md
//! "Channels", "Webhooks"). The clock is passed in: the retry schedule, the
//! 24-hour give-up and the words of each failure are decided here, once,
//! for the server's worker, the API and the desktop.

use serde::{Deserialize, Serialize};

use crate::{Refusal, Timestamp};

/// Where a delivery stands. `queued` until an attempt succeeds; `sent` once
/// the channel took it (the mail server accepted it, the webhook answered
/// 2xx); `delivered` and `read` when the integration reports so; `failed`
/// with the reason in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = [
        DeliveryState::Queued,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Read,
        DeliveryState::Failed,
    ];

    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Read => "read",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How far along the way to the customer: a report never moves a
    /// delivery back (a late "delivered" after "read" changes nothing).
    fn rank(self) -> u8 {
        match self {
            DeliveryState::Queued => 0,
            DeliveryState::Sent => 1,
            DeliveryState::Delivered => 2,
            DeliveryState::Read => 3,
            DeliveryState::Failed => 4,
        }
    }
}

/// A reply's delivery as the API and the desktop show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(
        default,
        with = "crate::wire::millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string | null", optional))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
}

impl Delivery {
    /// A reply just written: queued, not yet tried.
    pub fn queued() -> Delivery {
        Delivery {
            state: DeliveryState::Queued,
            attempts: 0,
            last_attempt_at: None,
            reason: None,
        }
    }

    /// A reply nothing can carry to the customer.
    pub fn failed(reason: impl Into<String>) -> Delivery {
        Delivery {
            state: DeliveryState::Failed,
            attempts: 0,
            last_attempt_at: None,
            reason: Some(reason.into()),
        }
    }
}

/// The pause after the n-th failed attempt (1-based): about 5 s, 30 s,
/// 2 min, 10 min, 30 min, 1 h, then hourly.
pub fn pause_after(attempt: u32) -> chrono::Duration {
    const PAUSES: [i64; 6] = [5, 30, 120, 600, 1800, 3600];
    let i = (attempt.max(1) - 1) as usize;
    chrono::Duration::seconds(PAUSES.get(i).copied().unwrap_or(3600))
}

/// How long temporary failures are retried, from the first queueing.
pub fn give_up_after() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// Most a webhook receiver has to answer.
pub const ANSWER_WITHIN_SECS: u64 = 15;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempted {
    /// Taken: 2xx from a webhook, accepted by a mail server.
    Taken,
    /// Worth trying again later, with the reason in words.
    Temporary(String),
    /// Never worth trying again (a mail server's permanent refusal).
    Permanent(String),
}

/// A delivery row's state after an attempt, and when to try next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterAttempt {
    pub state: DeliveryState,
    /// When to try again (`queued` only).
    pub next_at: Option<Timestamp>,
    pub reason: Option<String>,
}

/// The outcome of attempt number `attempt` (1-based) at `now`, of a
/// delivery queued (or queued again) at `queued_at`: sent, queued again
/// after the pause, or failed once the next try would come more than 24 h
/// after `queued_at`.
pub fn after_attempt(
    queued_at: Timestamp,
    attempt: u32,
    outcome: &Attempted,
    now: Timestamp,
) -> AfterAttempt {
    match outcome {
        Attempted::Taken => AfterAttempt {
            state: DeliveryState::Sent,
            next_at: None,
            reason: None,
        },
        Attempted::Permanent(why) => AfterAttempt {
            state: DeliveryState::Failed,
            next_at: None,
            reason: Some(why.clone()),
        },
        Attempted::Temporary(why) => {
            let next = now + pause_after(attempt);
            if next > queued_at + give_up_after() {
                AfterAttempt {
                    state: DeliveryState::Failed,
                    next_at: None,
                    reason: Some(format!(
                        "gave up after 24 h and {attempt} attempts; the last: {why}"
                    )),
                }
            } else {
                AfterAttempt {
                    state: DeliveryState::Queued,
                    next_at: Some(next),
                    reason: Some(why.clone()),
                }
            }
        }
    }
}

/// A webhook's answer in words: taken on 2xx, else worth another try.
pub fn http_answer(status: u16, canonical: Option<&str>) -> Attempted {
    if (200..300).contains(&status) {
        return Attempted::Taken;
    }
    let name = canonical.map(|c| format!(" {c}")).unwrap_or_default();
    Attempted::Temporary(format!("the receiver answered {status}{name}"))
}

/// What the integration may report on a reply it handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Report {
    Delivered,
    Read,
    Failed,
}

/// A reply's delivery after the integration's report at `now`. Reports
/// only move forward (queued → sent → delivered → read); a report that
/// would move back changes nothing; a failure is kept with its reason.
/// `None`: nothing changes.
pub fn reported(
    current: &Delivery,
    report: Report,
    reason: Option<&str>,
) -> Result<Option<Delivery>, Refusal> {
    let to = match report {
        Report::Delivered => DeliveryState::Delivered,
        Report::Read => DeliveryState::Read,
        Report::Failed => DeliveryState::Failed,
    };
    if report == Report::Failed {
        if current.state == DeliveryState::Failed {
            return Ok(None);
        }
        let why = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("the integration reported that the customer did not get it");
        return Ok(Some(Delivery {
            state: DeliveryState::Failed,
            reason: Some(why.chars().take(500).collect()),
            ..current.clone()
        }));
    }
    if current.state == DeliveryState::Failed {
        // The customer got it after all (the integration knows best).
        return Ok(Some(Delivery {
            state: to,
            reason: None,
            ..current.clone()
        }));
    }
    if to.rank() <= current.state.rank() {
        return Ok(None);
    }
    Ok(Some(Delivery {
        state: to,
        reason: None,
        ..current.clone()
    }))
}

/// An agent's "Retry": only a failed delivery is queued again.
pub fn retry(current: &Delivery) -> Result<Delivery, Refusal> {
    if current.state != DeliveryState::Failed {
        return Err(Refusal::invalid_transition(format!(
            "only a failed delivery can be sent again; this one is {}",
            current.state.as_str()
        )));
    }
    Ok(Delivery {
        state: DeliveryState::Queued,
        reason: None,
        ..current.clone()
    })
}

/// A reply's delivery from its deliveries' rows (one per webhook
/// subscribed when it was written): sent once any of them was taken,
/// queued while any is still trying, failed when every one failed (the
/// last reason). `attempts` is the sum, `last_attempt_at` the latest.
pub fn combined(rows: &[(DeliveryState, u32, Option<Timestamp>, Option<String>)]) -> Delivery {
    let attempts = rows.iter().map(|r| r.1).sum();
    let last_attempt_at = rows.iter().filter_map(|r| r.2).max();
    let state = if rows
        .iter()
        .any(|r| r.0 != DeliveryState::Queued && r.0 != DeliveryState::Failed)
    {
        DeliveryState::Sent
    } else if rows.iter().any(|r| r.0 == DeliveryState::Queued) {
        DeliveryState::Queued
    } else {
        DeliveryState::Failed
    };
    let reason = match state {
        DeliveryState::Sent => None,
        _ => rows
            .iter()
            .filter(|r| r.3.is_some())
            .max_by_key(|r| r.2)
            .and_then(|r| r.3.clone()),
    };
    Delivery {
        state,
        attempts,
        last_attempt_at,
        reason,
    }
}

/// A reply's delivery after the worker's attempts (`combined` from its
/// rows): what the integration reported (delivered, read) stands while the
/// rows say no more than sent.
pub fn after_attempts(current: &Delivery, combined: Delivery) -> Delivery {
    let reported = matches!(
        current.state,
        DeliveryState::Delivered | DeliveryState::Read
    );
    if reported && combined.state == DeliveryState::Sent {
        return Delivery {
            state: current.state,
            ..combined
        };
    }
    combined
}

/// Whether a webhook gets its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    Active,
    /// Paused by an admin, or after 24 hours of failed deliveries (see
    /// `paused_reason`); what falls due meanwhile waits for the resume.
    Paused,
}

/// A webhook subscription as the admin sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: uuid::Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub description: Option<String>,
    pub state: WebhookState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub paused_reason: Option<String>,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl Webhook {
    /// Whether `event` is sent to this webhook now.
    pub fn wants(&self, event: EventType) -> bool {
        self.paused_reason.is_none() && self.events.contains(&event)
    }
}

/// A new webhook as the admin adds it (`POST /webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    pub url: String,
    /// Event names, for example `message.created`.
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub description: Option<String>,
}

/// A new webhook with its secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: the key of every delivery's signature.
    pub secret: String,
}

/// A change to a webhook (`PATCH /webhooks/{id}`): what is absent stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub events: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub description: Option<String>,
    /// true pauses deliveries, false resumes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub paused: Option<bool>,
}

/// One attempt as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryAttempt {
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The answer's HTTP status, when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub status: Option<u16>,
    /// What went wrong, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub error: Option<String>,
    /// The answer's first KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub answer: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: u64,
}

/// One delivery of a webhook, with every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// The `webhook-id` every attempt carries.
    pub id: String,
    pub event: String,
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub message_id: Option<uuid::Uuid>,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, while queued.
    #[serde(
        default,
        with = "crate::wire::millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_at: Option<Timestamp>,
}

/// `GET /webhooks/{id}/deliveries`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    pub next_cursor: Option<String>,
}

/// The integration's report on a reply it handled
/// (`POST /integrations/messages/{id}/delivery`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryReport {
    pub state: Report,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The events a webhook can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "message.created")]
    MessageCreated,
    #[serde(rename = "ticket.created")]
    TicketCreated,
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    #[serde(rename = "conversation.assigned")]
    ConversationAssigned,
    #[serde(rename = "conversation.claimed")]
    ConversationClaimed,
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::MessageCreated,
        EventType::TicketCreated,
        EventType::TicketUpdated,
        EventType::ConversationAssigned,
        EventType::ConversationClaimed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::MessageCreated => "message.created",
            EventType::TicketCreated => "ticket.created",
            EventType::TicketUpdated => "ticket.updated",
            EventType::ConversationAssigned => "conversation.assigned",
            EventType::ConversationClaimed => "conversation.claimed",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// The reason on a reply no channel can carry.
pub fn no_channel(channel: &str) -> String {
    format!(
        "nothing delivers replies on the {channel} channel: an admin must subscribe a webhook to message.created, then press Retry"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Timestamp {
        chrono::Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn the_pauses_grow_then_stay_hourly() {
        let secs: Vec<i64> = (1..=9).map(|n| pause_after(n).num_seconds()).collect();
        assert_eq!(secs, [5, 30, 120, 600, 1800, 3600, 3600, 3600, 3600]);
    }

    #[test]
    fn temporary_failures_are_retried_for_24_hours_then_failed() {
        let queued = at(0);
        let mut now = queued;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let after = after_attempt(
                queued,
                attempt,
                &Attempted::Temporary("the receiver answered 500".into()),
                now,
            );
            match after.state {
                DeliveryState::Queued => {
                    let next = after.next_at.expect("a next try");
                    assert_eq!(next - now, pause_after(attempt));
                    assert!(next <= queued + give_up_after());
                    now = next;
                }
                DeliveryState::Failed => {
                    let why = after.reason.expect("why");
                    assert!(why.starts_with("gave up after 24 h"), "{why}");
                    assert!(why.contains("500"), "{why}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        // 5 s + 30 s + 2 min + 10 min + 30 min + 1 h = 6,155 s, then hourly
        // until 24 h: 6 + 22 tries before the give-up, and it is within a
        // pause of the 24 hours.
        assert_eq!(attempt, 29);
        assert!(now <= queued + give_up_after());
        assert!(now + pause_after(attempt) > queued + give_up_after());
    }

    #[test]
    fn success_is_sent_and_a_permanent_refusal_fails_at_once() {
        let a = after_attempt(at(0), 1, &Attempted::Taken, at(1));
        assert_eq!(a.state, DeliveryState::Sent);
        assert_eq!(a.next_at, None);
        let p = after_attempt(
            at(0),
            1,
            &Attempted::Permanent("550 no such user".into()),
            at(1),
        );
        assert_eq!(p.state, DeliveryState::Failed);
        assert_eq!(p.reason.as_deref(), Some("550 no such user"));
    }

    #[test]
    fn only_2xx_is_taken() {
        assert_eq!(http_answer(200, Some("OK")), Attempted::Taken);
        assert_eq!(http_answer(204, None), Attempted::Taken);
        for status in [301, 400, 404, 410, 429, 500, 503] {
            assert!(matches!(http_answer(status, None), Attempted::Temporary(_)));
        }
        assert_eq!(
            http_answer(500, Some("Internal Server Error")),
            Attempted::Temporary("the receiver answered 500 Internal Server Error".into())
        );
    }

    #[test]
    fn reports_only_move_forward() {
        let sent = Delivery {
            state: DeliveryState::Sent,
            attempts: 1,
            last_attempt_at: Some(at(1)),
            reason: None,
        };
        let delivered = reported(&sent, Report::Delivered, None).unwrap().unwrap();
        assert_eq!(delivered.state, DeliveryState::Delivered);
        assert_eq!(delivered.attempts, 1);
        let read = reported(&delivered, Report::Read, None).unwrap().unwrap();
        assert_eq!(read.state, DeliveryState::Read);
        assert_eq!(reported(&read, Report::Delivered, None).unwrap(), None);
        assert_eq!(reported(&read, Report::Read, None).unwrap(), None);
        let failed = reported(&sent, Report::Failed, Some("number unreachable"))
            .unwrap()
            .unwrap();
        assert_eq!(failed.state, DeliveryState::Failed);
        assert_eq!(failed.reason.as_deref(), Some("number unreachable"));
        assert_eq!(
            reported(&failed, Report::Failed, Some("again")).unwrap(),
            None
        );
        // The integration knows best: delivered after all.
        let later = reported(&failed, Report::Delivered, None).unwrap().unwrap();
        assert_eq!(later.state, DeliveryState::Delivered);
        assert_eq!(later.reason, None);
        // A report may overtake the worker's "sent".
        let queued = Delivery::queued();
        assert_eq!(
            reported(&queued, Report::Delivered, None)
                .unwrap()
                .unwrap()
                .state,
            DeliveryState::Delivered
        );
    }

    #[test]
    fn only_a_failed_delivery_is_retried() {
        let failed = Delivery::failed("the receiver answered 500");
        let again = retry(&failed).unwrap();
        assert_eq!(again.state, DeliveryState::Queued);
        assert_eq!(again.reason, None);
        for state in [
            DeliveryState::Queued,
            DeliveryState::Sent,
            DeliveryState::Delivered,
            DeliveryState::Read,
        ] {
            let d = Delivery {
                state,
                ..Delivery::queued()
            };
            let refused = retry(&d).unwrap_err();
            assert_eq!(refused.code, crate::RefusalCode::InvalidTransition);
        }
    }

    #[test]
    fn a_reply_is_sent_once_any_webhook_took_it_and_failed_when_all_failed() {
        use DeliveryState::*;
        let failed = (Failed, 29, Some(at(90_000)), Some("gave up".to_owned()));
        let queued = (
            Queued,
            2,
            Some(at(40)),
            Some("the receiver answered 500".to_owned()),
        );
        let sent = (Sent, 1, Some(at(3)), None);
        assert_eq!(combined(&[failed.clone(), sent.clone()]).state, Sent);
        assert_eq!(combined(&[failed.clone(), queued.clone()]).state, Queued);
        let all_failed = combined(&[failed.clone(), failed.clone()]);
        assert_eq!(all_failed.state, Failed);
        assert_eq!(all_failed.attempts, 58);
        assert_eq!(all_failed.reason.as_deref(), Some("gave up"));
        let mixed = combined(&[queued.clone(), sent]);
        assert_eq!(mixed.state, Sent);
        assert_eq!(mixed.reason, None);
        assert_eq!(mixed.last_attempt_at, Some(at(40)));
    }

    #[test]
    fn what_the_integration_reported_stands_over_the_worker_s_sent() {
        let read = Delivery {
            state: DeliveryState::Read,
            ..Delivery::queued()
        };
        let sent = Delivery {
            state: DeliveryState::Sent,
            attempts: 2,
            ..Delivery::queued()
        };
        let after = after_attempts(&read, sent.clone());
        assert_eq!(after.state, DeliveryState::Read);
        assert_eq!(after.attempts, 2);
        assert_eq!(after_attempts(&Delivery::queued(), sent.clone()), sent);
    }

    #[test]
    fn event_names_round_trip() {
        for e in EventType::ALL {
            assert_eq!(EventType::parse(e.as_str()), Some(e));
            assert_eq!(
                serde_json::to_value(e).unwrap(),
                serde_json::Value::String(e.as_str().into())
            );
        }
        assert_eq!(EventType::parse("ticket.deleted"), None);
    }
}
