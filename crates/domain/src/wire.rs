//! The API's contract (API.md) as types, shared by the server, the sync
//! client and the app: pulled changes and pages, pushes and their results,
//! the snapshot's lines, sessions and device tokens, the admin bodies
//! (agents, integration tokens), errors by code, and the serde helpers the
//! shapes need (times with milliseconds, absent vs null).

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

    /// `2026-03-02T09:00:00.000Z`. Written digit by digit: every row a
    /// sync stores or serves carries several of these, and chrono's
    /// general formatter (which parses its pattern each time) was a tenth of
    /// storing a first download.
    pub fn format(t: &Timestamp) -> String {
        use chrono::{Datelike, Timelike};
        let year = t.year();
        if !(0..=9999).contains(&year) {
            return t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        }
        // A leap second (nanoseconds past 999,999,999) shows as :60, as chrono writes it.
        let (second, nanos) = match t.nanosecond() {
            n if n >= 1_000_000_000 => (t.second() + 1, n - 1_000_000_000),
            n => (t.second(), n),
        };
        let mut out = [0u8; 24];
        let mut put = |at: usize, value: u32, digits: usize| {
            let mut v = value;
            for i in (0..digits).rev() {
                out[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, year.unsigned_abs(), 4);
        put(5, t.month(), 2);
        put(8, t.day(), 2);
        put(11, t.hour(), 2);
        put(14, t.minute(), 2);
        put(17, second, 2);
        put(20, nanos / 1_000_000, 3);
        for (at, sep) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (23, b'Z'),
        ] {
            out[at] = sep;
        }
        out.iter().map(|b| char::from(*b)).collect()
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

/// The closed set of error codes of API.md, for every answer of the server
/// and every refusal kept by a client. Clients branch on this, never on the
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidTransition,
    Conflict,
    TooLarge,
    Invalid,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InvalidTransition,
        ErrorCode::Conflict,
        ErrorCode::TooLarge,
        ErrorCode::Invalid,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The wire spelling (`not_found`, `rate_limited`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::Conflict => "conflict",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Invalid => "invalid",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code spelled `s`; `None` for one this build does not know.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The HTTP status that answers with this code (API.md's error table).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::InvalidTransition | ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::Invalid => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

impl From<crate::RefusalCode> for ErrorCode {
    fn from(c: crate::RefusalCode) -> Self {
        match c {
            crate::RefusalCode::Forbidden => ErrorCode::Forbidden,
            crate::RefusalCode::InvalidTransition => ErrorCode::InvalidTransition,
            crate::RefusalCode::Invalid => ErrorCode::Invalid,
            crate::RefusalCode::NotFound => ErrorCode::NotFound,
            crate::RefusalCode::Conflict => ErrorCode::Conflict,
        }
    }
}

/// A code read from a server: one this build does not know (a newer
/// server's) is taken as `internal`, so the answer around it is still read
/// and the refusal kept with its message.
fn lenient_code<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorCode, D::Error> {
    let s = String::deserialize(d)?;
    Ok(ErrorCode::parse(&s).unwrap_or(ErrorCode::Internal))
}

/// Why the server refused one pushed mutation: API.md's error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushError {
    #[serde(deserialize_with = "lenient_code")]
    pub code: ErrorCode,
    pub message: String,
    /// With `invalid`: what is wrong with each field.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, String>,
    /// With `conflict`: the server's current text of the conflicting fields.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub current: std::collections::BTreeMap<String, Option<String>>,
}

impl PushError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        PushError {
            code,
            message: message.into(),
            fields: Default::default(),
            current: Default::default(),
        }
    }
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
    /// Why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PushError>,
}

impl PushResult {
    /// Refused now, or refused the first time and answered as a duplicate.
    pub fn refused(&self) -> bool {
        self.outcome == Outcome::Rejected || self.error.is_some()
    }

    /// The refusal's code (`invalid`, `unavailable`, ...), if refused.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error.as_ref().map(|e| e.code)
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
    /// A conversation's message on its own (a snapshot's rows; a pull
    /// sends messages inside their conversation).
    Message,
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
            Entity::Message => "message",
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
            "message" => Entity::Message,
            _ => Entity::Unknown,
        }
    }
}

/// One change of a pull: the current state of one entity, typed by what it
/// is (on the wire `{entity, id, seq, data}`; JSON only at the HTTP edge).
#[derive(Debug, Clone, PartialEq)]
pub struct PulledChange {
    pub id: String,
    pub seq: Option<i64>,
    pub data: Pulled,
}

/// How [`PulledChange`] looks on the wire, for the OpenAPI document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct PulledChangeWire {
    entity: Entity,
    id: String,
    seq: Option<i64>,
    /// A ticket (with `sla`), a timeline entry, a conversation with its
    /// `messages`, an agent or the team settings, as `entity` says.
    #[schema(value_type = Object)]
    data: (),
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for PulledChange {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <PulledChangeWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for PulledChange {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <PulledChangeWire as utoipa::ToSchema>::schemas(schemas);
    }
}

/// What a pulled change holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Pulled {
    /// A ticket, with its SLA as the server computed it at the answer's
    /// `server_time` (`sla`, sent for readers of the JSON; a client reading
    /// it back gets `None` and computes the timers itself, to the second).
    Ticket(Box<PulledTicket>),
    /// A timeline entry.
    Activity(Box<crate::Activity>),
    /// A conversation with its messages, oldest first.
    Conversation(Box<PulledConversation>),
    Agent(crate::Agent),
    Settings(Box<crate::TeamSettings>),
    /// A message on its own (only in a snapshot).
    Message(Box<crate::Message>),
    /// Something a newer server knows; a client skips it until it is updated.
    Unknown,
}

/// A ticket as the REST API answers it: the stored ticket and its SLA at
/// the time of the answer (API.md "Tickets").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketBody {
    #[serde(flatten)]
    pub ticket: crate::Ticket,
    pub sla: crate::Sla,
}

/// `GET /tickets`: one page of a view (API.md "Tickets").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketPage {
    pub tickets: Vec<TicketBody>,
    pub next_cursor: Option<String>,
    /// How many tickets the whole list holds; absent when asked without
    /// (`total=false`: a search of the archive reads its page, not every match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// `GET /tickets/{id}`: the ticket and its timeline, oldest first (with the
/// comments of the tickets merged into it); how the desktop reads a ticket
/// from the archive, closed before its working set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketDetail {
    pub ticket: TicketBody,
    pub activity: Vec<crate::Activity>,
}

impl TicketBody {
    /// `ticket` with its SLA evaluated at `now` under `settings`.
    pub fn at(
        ticket: crate::Ticket,
        settings: &crate::TeamSettings,
        now: crate::Timestamp,
    ) -> Self {
        let sla = crate::sla::evaluate(&ticket, &settings.sla, now);
        TicketBody { ticket, sla }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PulledTicket {
    pub ticket: crate::Ticket,
    pub sla: Option<crate::Sla>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulledConversation {
    #[serde(flatten)]
    pub conversation: crate::Conversation,
    #[serde(default)]
    pub messages: Vec<crate::Message>,
}

impl Pulled {
    pub fn entity(&self) -> Entity {
        match self {
            Pulled::Ticket(_) => Entity::Ticket,
            Pulled::Activity(_) => Entity::Activity,
            Pulled::Conversation(_) => Entity::Conversation,
            Pulled::Agent(_) => Entity::Agent,
            Pulled::Settings(_) => Entity::Settings,
            Pulled::Message(_) => Entity::Message,
            Pulled::Unknown => Entity::Unknown,
        }
    }

    /// Reads `data` as the state of an `entity`, from any deserializer.
    pub fn read<'de, D: Deserializer<'de>>(entity: Entity, data: D) -> Result<Pulled, D::Error> {
        Ok(match entity {
            Entity::Ticket => Pulled::Ticket(Box::new(PulledTicket {
                ticket: crate::Ticket::deserialize(data)?,
                sla: None,
            })),
            Entity::Activity => Pulled::Activity(Box::new(crate::Activity::deserialize(data)?)),
            Entity::Conversation => {
                Pulled::Conversation(Box::new(PulledConversation::deserialize(data)?))
            }
            Entity::Agent => Pulled::Agent(crate::Agent::deserialize(data)?),
            Entity::Settings => Pulled::Settings(Box::new(crate::TeamSettings::deserialize(data)?)),
            Entity::Message => Pulled::Message(Box::new(crate::Message::deserialize(data)?)),
            Entity::Unknown => {
                serde::de::IgnoredAny::deserialize(data)?;
                Pulled::Unknown
            }
        })
    }
}

impl Serialize for Pulled {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct WithSla<'a> {
            #[serde(flatten)]
            ticket: &'a crate::Ticket,
            sla: &'a Option<crate::Sla>,
        }
        match self {
            Pulled::Ticket(t) => WithSla {
                ticket: &t.ticket,
                sla: &t.sla,
            }
            .serialize(s),
            Pulled::Activity(a) => a.serialize(s),
            Pulled::Conversation(c) => c.serialize(s),
            Pulled::Agent(a) => a.serialize(s),
            Pulled::Settings(t) => t.serialize(s),
            Pulled::Message(m) => m.serialize(s),
            Pulled::Unknown => s.serialize_unit(),
        }
    }
}

impl PulledChange {
    pub fn entity(&self) -> Entity {
        self.data.entity()
    }

    /// A change read from the JSON of its parts (`data` as `entity`).
    pub fn from_json(
        entity: Entity,
        id: impl ToString,
        seq: Option<i64>,
        data: serde_json::Value,
    ) -> Result<PulledChange, serde_json::Error> {
        Ok(PulledChange {
            id: id.to_string(),
            seq,
            data: Pulled::read(entity, data)?,
        })
    }

    /// A ticket's state as a pulled change (no server SLA with it).
    pub fn ticket(ticket: crate::Ticket) -> PulledChange {
        PulledChange {
            id: ticket.id.to_string(),
            seq: None,
            data: Pulled::Ticket(Box::new(PulledTicket { ticket, sla: None })),
        }
    }
}

impl Serialize for PulledChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("PulledChange", 4)?;
        out.serialize_field("entity", &self.entity())?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("seq", &self.seq)?;
        out.serialize_field("data", &self.data)?;
        out.end()
    }
}

/// Reads `data` straight into its type when `entity` came before it (as
/// servers write it); otherwise it is held as JSON until `entity` is known.
impl<'de> Deserialize<'de> for PulledChange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PulledChange, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = PulledChange;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a pulled change {entity, id, seq, data}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<PulledChange, A::Error> {
                use serde::de::Error;
                struct Typed(Entity);
                impl<'de> serde::de::DeserializeSeed<'de> for Typed {
                    type Value = Pulled;
                    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Pulled, D::Error> {
                        Pulled::read(self.0, d)
                    }
                }
                #[derive(Deserialize)]
                #[serde(field_identifier, rename_all = "snake_case")]
                enum Field {
                    Entity,
                    Id,
                    Seq,
                    Data,
                    #[serde(other)]
                    Other,
                }
                let (mut entity, mut id, mut seq) = (None, None, None);
                let (mut data, mut held) = (None, None::<serde_json::Value>);
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Entity => entity = Some(map.next_value::<Entity>()?),
                        Field::Id => id = Some(map.next_value::<String>()?),
                        Field::Seq => seq = map.next_value::<Option<i64>>()?,
                        Field::Data => match entity {
                            Some(e) => data = Some(map.next_value_seed(Typed(e))?),
                            None => held = Some(map.next_value()?),
                        },
                        Field::Other => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let entity = entity.ok_or_else(|| A::Error::missing_field("entity"))?;
                let data = match (data, held) {
                    (Some(data), _) => data,
                    (None, Some(json)) => Pulled::read(entity, json).map_err(A::Error::custom)?,
                    (None, None) => return Err(A::Error::missing_field("data")),
                };
                Ok(PulledChange {
                    id: id.ok_or_else(|| A::Error::missing_field("id"))?,
                    seq,
                    data,
                })
            }
        }
        d.deserialize_map(Visit)
    }
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

/// The first line of `GET /sync/snapshot`: every row of the team follows,
/// one [`PulledChange`] a line (no `seq`), all as of `cursor`; then one
/// [`SnapshotEnd`] line. A client stores them and pulls from `cursor` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotHead {
    /// The change the rows are the state after.
    pub cursor: i64,
    /// How many row lines follow.
    pub rows: u64,
    #[serde(with = "millis")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub server_time: crate::Timestamp,
    pub database_id: Option<uuid::Uuid>,
}

/// The last line of `GET /sync/snapshot`: says the stream is whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnapshotEnd {
    /// How many row lines were sent (equal to the head's `rows`).
    pub end: u64,
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use crate::conversation::{Author, Message};

    use super::{ErrorCode, Outcome, PushError, PushResult};

    #[test]
    fn error_codes_are_spelled_as_serde_writes_them_and_read_back() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).expect("json");
            assert_eq!(json, serde_json::Value::from(code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let back: ErrorCode = serde_json::from_value(json).expect("read");
            assert_eq!(back, code);
        }
        assert_eq!(ErrorCode::parse("rejected"), None);
    }

    #[test]
    fn a_push_result_keeps_its_refusal_typed_and_reads_a_newer_servers_code() {
        let mut error = PushError::new(ErrorCode::Conflict, "edited by someone else");
        error
            .current
            .insert("subject".into(), Some("Theirs".into()));
        let r = PushResult {
            id: uuid::Uuid::nil(),
            outcome: Outcome::Rejected,
            seq: None,
            error: Some(error),
        };
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["error"]["code"], "conflict");
        assert_eq!(json["error"]["current"]["subject"], "Theirs");
        assert!(json["error"].get("fields").is_none());
        let back: PushResult = serde_json::from_value(json).expect("read");
        assert_eq!(back, r);
        assert_eq!(back.error_code(), Some(ErrorCode::Conflict));

        let newer: PushResult = serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "outcome": "rejected",
            "error": {"code": "quota_exceeded", "message": "over the team's quota"}
        }))
        .expect("a code this build does not know is still read");
        let e = newer.error.expect("error");
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::Internal, "over the team's quota")
        );
    }

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
            delivery: None,
            automatic: false,
            attachments: Vec::new(),
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

    #[test]
    fn a_pulled_change_reads_back_typed_whatever_the_order_of_its_keys() {
        use super::{Entity, Pulled, PulledChange};
        let settings = crate::TeamSettings::default();
        let change = PulledChange {
            id: "settings".into(),
            seq: Some(7),
            data: Pulled::Settings(Box::new(settings.clone())),
        };
        let text = serde_json::to_string(&change).expect("json");
        assert!(text.starts_with(r#"{"entity":"settings","id":"settings","seq":7,"data":"#));
        let back: PulledChange = serde_json::from_str(&text).expect("typed");
        assert_eq!(back, change);
        // `data` before `entity` (another writer's order) reads the same.
        let data = serde_json::to_string(&settings).expect("settings");
        let reordered = format!(r#"{{"data":{data},"seq":7,"id":"settings","entity":"settings"}}"#);
        let back: PulledChange = serde_json::from_str(&reordered).expect("typed");
        assert_eq!(back, change);
        // An entity only a newer server knows is skipped, not an error.
        let newer: PulledChange =
            serde_json::from_str(r#"{"entity":"macro","id":"m1","seq":8,"data":{"x":[1,2]}}"#)
                .expect("unknown");
        assert_eq!(newer.entity(), Entity::Unknown);
        // A ticket's data that is not a ticket is refused, naming what is wrong.
        let bad = serde_json::from_str::<PulledChange>(
            r#"{"entity":"ticket","id":"t1","seq":9,"data":{"subject":"x"}}"#,
        )
        .expect_err("not a ticket");
        assert!(bad.to_string().contains("missing field"), "{bad}");
    }

    #[test]
    fn a_leap_second_is_written_as_chrono_writes_it() {
        let t = chrono::DateTime::from_timestamp(1_483_228_799, 1_250_000_000).expect("leap");
        assert_eq!(
            super::millis::format(&t),
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        );
    }

    proptest::proptest! {
        /// The digit-by-digit writer says what chrono's formatter says, for
        /// any moment from year 0 to 9999 and beyond.
        #[test]
        fn written_times_are_chronos_own(secs in -62_167_219_200i64..300_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            proptest::prop_assert_eq!(
                super::millis::format(&t),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
            );
        }
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

/// A new agent as an admin adds one (`POST /agents`), or as `init` makes
/// the first admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAgent {
    pub name: String,
    pub email: String,
    pub role: crate::Role,
    /// The first password, 12 to 1,000 characters.
    pub password: String,
}
