//! Tickets and their fields (RULES.md "Entities").

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::refusal::Refusal;
use crate::settings::Hours;

/// Where a ticket is in its lifecycle; the moves between them are in
/// [`crate::lifecycle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Open,
        Status::InProgress,
        Status::WaitingOnCustomer,
        Status::Resolved,
        Status::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::WaitingOnCustomer => "waiting_on_customer",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// How a person reads the status.
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in progress",
            Status::WaitingOnCustomer => "waiting on customer",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// Resolved and closed tickets are done: conversation claims skip them.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Sort rank: urgent first.
    pub fn rank(self) -> u8 {
        match self {
            Priority::Urgent => 0,
            Priority::High => 1,
            Priority::Normal => 2,
            Priority::Low => 3,
        }
    }
}

/// One of the team's categories (see [`crate::TeamSettings::categories`]).
/// A plain name: which names are allowed is a team setting, not a type.
pub type Category = String;

/// The categories a new team starts with.
pub const DEFAULT_CATEGORIES: [&str; 5] = ["billing", "shipping", "product", "technical", "other"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Manual,
    Ai,
}

impl Source {
    /// The wire and column text: `manual` or `ai`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Ai => "ai",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    AiEscalation,
    SentimentThreshold,
    WorkflowRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Satisfied,
    Neutral,
    Frustrated,
    Upset,
}

/// Why the AI escalated, what it understood and what it already tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AiContext {
    pub trigger: Trigger,
    pub intent: String,
    pub confidence: f64,
    pub sentiment: Sentiment,
    #[serde(default)]
    pub actions_taken: Vec<String>,
    pub suggested_resolution: String,
}

impl AiContext {
    pub fn validate(&self) -> Result<(), Refusal> {
        crate::text::clean_text("ai_context.intent", &self.intent)?;
        crate::text::clean_text(
            "ai_context.suggested_resolution",
            &self.suggested_resolution,
        )?;
        for action in &self.actions_taken {
            crate::text::clean_text("ai_context.actions_taken", action)?;
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(Refusal::invalid(
                "ai_context.confidence",
                "the AI's confidence must be a number from 0.0 to 1.0",
            ));
        }
        if self.intent.trim().is_empty() {
            return Err(Refusal::invalid(
                "ai_context.intent",
                "the AI context needs the customer's detected intent",
            ));
        }
        Ok(())
    }
}

/// A stopped timer's outcome as it stood when it stopped, so a later
/// priority, policy or calendar change does not rewrite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kept {
    /// Time it counted, in milliseconds.
    pub counted_ms: i64,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// The time it counted.
    pub hours: Hours,
}

/// A finished period `[from, to)` the resolution timer did not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pause {
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
}

/// The bookkeeping the SLA timers need beyond the ticket's visible fields.
/// Kept on the ticket (and synced with it) so every side computes the same
/// timers from the same facts; see [`crate::sla`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaClock {
    /// When the first-response timer stopped: the first agent response, or
    /// the first resolve when no agent responded before it.
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub first_response_stopped_at: Option<Timestamp>,
    /// The first-response target in force when it stopped: a stopped timer
    /// keeps its outcome through later priority or policy changes.
    pub first_response_target_minutes: Option<u32>,
    /// Milliseconds of finished periods the resolution timer did not count
    /// (waiting on customer, resolved before a reopen).
    pub resolution_excluded_ms: i64,
    /// Those finished periods themselves, oldest first, so a business-hours
    /// timer can tell which of its open hours did not count. Tickets paused
    /// before these were kept have fewer periods than `resolution_excluded_ms`
    /// says; the rest is taken off as wall time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolution_pauses: Vec<Pause>,
    /// Start of the current period the resolution timer does not count; set
    /// exactly while the status is waiting, resolved or closed.
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolution_halted_at: Option<Timestamp>,
    /// The resolution target in force when the ticket was resolved.
    pub resolution_target_minutes: Option<u32>,
    /// The first-response outcome kept when it stopped (`None`: running,
    /// or stopped before outcomes were kept, when every timer counted always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_kept: Option<Kept>,
    /// The resolution outcome kept when it stopped (cleared by a reopen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_kept: Option<Kept>,
    /// Whether the one `sla_breached` entry of each timer was appended.
    pub first_response_breach_recorded: bool,
    pub resolution_breach_recorded: bool,
}

/// A ticket as stored and synced. `sla` is not stored: it is computed for a
/// moment by [`crate::sla::evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: Uuid,
    /// Given by the server; `None` until the server has seen the ticket.
    pub number: Option<i64>,
    pub conversation_id: Uuid,
    pub subject: String,
    pub description: Option<String>,
    pub priority: Priority,
    pub status: Status,
    pub category: Option<Category>,
    pub assignee_id: Option<Uuid>,
    pub source: Source,
    /// The agent who created it; `None` for tickets the AI created.
    pub created_by: Option<Uuid>,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub first_response_at: Option<Timestamp>,
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Timestamp>,
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    pub ai_context: Option<AiContext>,
    /// Sorted, each once (see [`crate::tags`]).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The ticket this one is merged into (RULES.md "Merge"); it is closed
    /// while merged.
    #[serde(default)]
    pub merged_into_id: Option<Uuid>,
    /// What the merge changed here, so an unmerge puts it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub merge: Option<crate::merge::MergeRecord>,
    /// The tickets merged into this one, in the order merged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Uuid>>", optional))]
    pub merged_ids: Vec<Uuid>,
    /// Bumped by every change; edits name it as `base_version`.
    pub version: i64,
    /// The version at which each editable text field last changed, so an
    /// edit conflicts only with a change of the same field.
    pub field_versions: FieldVersions,
    pub sla_clock: SlaClock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldVersions {
    pub subject: i64,
    pub description: i64,
    pub category: i64,
}

/// Longest subject, in characters after trimming.
pub const SUBJECT_MAX_CHARS: usize = 200;
/// Longest description, comment, note or message body, in characters.
pub const TEXT_MAX_CHARS: usize = 20_000;

/// The subject as stored: trimmed, 1..=200 characters.
pub fn clean_subject(subject: &str) -> Result<String, Refusal> {
    let text = crate::text::clean_text("subject", subject)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Refusal::invalid(
            "subject",
            "the subject cannot be empty: write a short summary of the issue",
        ));
    }
    let chars = trimmed.chars().count();
    if chars > SUBJECT_MAX_CHARS {
        return Err(Refusal::invalid(
            "subject",
            format!(
                "the subject is {chars} characters; shorten it to at most {SUBJECT_MAX_CHARS} and put the rest in the description"
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The description as stored: up to 20,000 characters; blank means none.
pub fn clean_description(description: Option<&str>) -> Result<Option<String>, Refusal> {
    let Some(text) = description else {
        return Ok(None);
    };
    let text = crate::text::clean_text("description", text)?;
    let chars = text.chars().count();
    if chars > TEXT_MAX_CHARS {
        return Err(Refusal::invalid(
            "description",
            format!("the description is {chars} characters; the limit is {TEXT_MAX_CHARS}"),
        ));
    }
    if text.trim().is_empty() {
        Ok(None)
    } else {
        Ok(Some(text))
    }
}

/// A comment, note or message body: 1..=20,000 characters, not blank.
pub fn clean_body(field: &str, body: &str) -> Result<String, Refusal> {
    let body = crate::text::clean_text(field, body)?;
    if body.trim().is_empty() {
        return Err(Refusal::invalid(
            field,
            format!("the {field} cannot be empty"),
        ));
    }
    let chars = body.chars().count();
    if chars > TEXT_MAX_CHARS {
        return Err(Refusal::invalid(
            field,
            format!("the {field} is {chars} characters; the limit is {TEXT_MAX_CHARS}: split it"),
        ));
    }
    Ok(body)
}
