//! Small serde helpers for the shapes of API.md.

use serde::{Deserialize, Deserializer, Serialize};

/// For fields where "absent" and `null` mean different things: absent is
/// `None` (leave unchanged, with `#[serde(default)]`), `null` is `Some(None)`
/// (clear), a value is `Some(Some(v))`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// For a nullable field that must still be present (`{"assignee_id": null}`
/// unassigns; a body without the key is a mistake, not an unassign).
pub fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// Times on the wire: RFC 3339 in UTC with exactly three decimals
/// (`2026-03-02T09:00:00.000Z`), as API.md says. Any RFC 3339 time is read.
pub mod millis {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Timestamp;

    pub fn format(t: &Timestamp) -> String {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        Timestamp::deserialize(d)
    }
}

/// [`millis`] for optional times (`null` when absent).
pub mod millis_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::Timestamp;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::millis::format(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<Timestamp>::deserialize(d)
    }
}

/// What the server did with one pushed mutation (API.md "Sync").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now; its effect shows in pull at `seq`.
    Applied,
    /// Seen before: the first answer, repeated; nothing changed now.
    Duplicate,
    /// Refused; `error` says why. Nothing of it was written.
    Rejected,
}

/// One result of `POST /sync/push`, in the order the mutations were sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResult {
    pub id: uuid::Uuid,
    pub outcome: Outcome,
    /// The change sequence at which an applied mutation shows in pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// Why it was refused: `{code, message, fields?, current?}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub error: Option<serde_json::Value>,
}

impl PushResult {
    /// Refused now, or refused the first time and answered as a duplicate.
    pub fn refused(&self) -> bool {
        self.outcome == Outcome::Rejected || self.error.is_some()
    }

    /// The refusal's code (`invalid`, `unavailable`, ...), if refused.
    pub fn error_code(&self) -> Option<&str> {
        self.error
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(serde_json::Value::as_str)
    }
}

/// The answer to `POST /sync/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushAnswer {
    pub results: Vec<PushResult>,
    /// The store the answer came from (API.md "Sync"); absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<uuid::Uuid>,
}

/// What a pulled change is the state of (API.md "Sync").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Ticket,
    Activity,
    Conversation,
    Agent,
    Settings,
    /// Something a newer server knows; a client skips it until it is updated.
    #[serde(other)]
    Unknown,
}

impl Entity {
    /// The wire and storage spelling (`ticket`, `activity`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Ticket => "ticket",
            Entity::Activity => "activity",
            Entity::Conversation => "conversation",
            Entity::Agent => "agent",
            Entity::Settings => "settings",
            Entity::Unknown => "unknown",
        }
    }
}

impl From<&str> for Entity {
    fn from(text: &str) -> Entity {
        match text {
            "ticket" => Entity::Ticket,
            "activity" => Entity::Activity,
            "conversation" => Entity::Conversation,
            "agent" => Entity::Agent,
            "settings" => Entity::Settings,
            _ => Entity::Unknown,
        }
    }
}

/// One change of a pull: the current state of one entity (`data`: a ticket
/// with its SLA at the time of the answer, a timeline entry, a conversation
/// with its messages, an agent, or the team settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PulledChange {
    pub entity: Entity,
    pub id: String,
    #[serde(default)]
    pub seq: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// A page of `GET /sync/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullPage {
    pub changes: Vec<PulledChange>,
    /// The cursor to ask from next: the last change's sequence, or the
    /// store's own when asked from past it.
    pub cursor: i64,
    pub has_more: bool,
    #[serde(with = "millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub server_time: crate::Timestamp,
    /// The store that answered; absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_id: Option<uuid::Uuid>,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use crate::conversation::{Author, Message};

    #[test]
    fn times_carry_exactly_three_decimals_and_read_back() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .expect("date");
        let m = Message {
            id: uuid::Uuid::nil(),
            conversation_id: uuid::Uuid::nil(),
            author: Author::Customer,
            agent_id: None,
            body: "hi".into(),
            sent_at: at,
        };
        let json = serde_json::to_value(&m).expect("json");
        assert_eq!(json["sent_at"], "2026-03-02T09:00:00.000Z");
        let back: Message = serde_json::from_value(json).expect("back");
        assert_eq!(back, m);
        let other: Message = serde_json::from_str(
            r#"{"id":"00000000-0000-0000-0000-000000000000","conversation_id":"00000000-0000-0000-0000-000000000000","author":"ai","body":"x","sent_at":"2026-03-02T10:00:00+01:00"}"#,
        )
        .expect("any RFC 3339");
        assert_eq!(other.sent_at, at);
    }
}

/// One of an agent's live sessions (`GET /me/sessions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct LiveSession {
    pub id: uuid::Uuid,
    #[serde(with = "millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Timestamp,
    #[serde(with = "millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_used_at: crate::Timestamp,
    /// When it ends if it is not used before.
    #[serde(with = "millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: crate::Timestamp,
    /// The client that signed in, as it names itself.
    pub user_agent: Option<String>,
    /// This is the session making the request.
    pub current: bool,
}

/// An integration token, without its secret (`GET /integrations/tokens`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct IntegrationToken {
    pub id: uuid::Uuid,
    pub name: String,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: crate::Timestamp,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_used_at: crate::Timestamp,
}

/// A new integration token (`POST /integrations/tokens`): the secret is
/// shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewIntegrationToken {
    pub id: uuid::Uuid,
    pub token: String,
}

/// A new agent as an admin adds one (`POST /agents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub role: crate::Role,
    /// The first password, 12 to 1,000 characters.
    pub password: String,
}
