//! The inbox: the three conversation views (RULES.md "Conversations (the
//! inbox)").
//!
//! | view | which conversations | order |
//! |---|---|---|
//! | Unassigned | no assignee | last customer message, oldest first (who has waited longest) |
//! | Mine | assignee is me | last message, newest first |
//! | All | every conversation | last message, newest first |
//!
//! As with the ticket views, which conversations a view holds and in which
//! order is data ([`InboxView::rule`]): the cache and the server each
//! translate it to SQL over two stored moments per conversation
//! ([`InboxMoments`]), and a test holds both against [`InboxRule::matches`]
//! and [`InboxRule::key`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::conversation::{Author, Conversation, Customer, Message};
use crate::ticket::Ticket;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InboxView {
    Unassigned,
    Mine,
    All,
}

/// Whose conversations a view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Nobody,
    Viewer,
    Anyone,
}

/// Which moment a view orders by, and which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxOrder {
    /// The last customer message, oldest first: who has waited longest.
    WaitingLongest,
    /// The last message of anyone, newest first.
    LatestMessage,
}

/// Which conversations a view holds and how they are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxRule {
    pub holder: Holder,
    pub order: InboxOrder,
}

impl InboxView {
    pub const ALL: [InboxView; 3] = [InboxView::Unassigned, InboxView::Mine, InboxView::All];

    pub fn as_str(self) -> &'static str {
        match self {
            InboxView::Unassigned => "unassigned",
            InboxView::Mine => "mine",
            InboxView::All => "all",
        }
    }

    pub fn parse(text: &str) -> Option<InboxView> {
        InboxView::ALL.into_iter().find(|v| v.as_str() == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            InboxView::Unassigned => "Unassigned",
            InboxView::Mine => "Mine",
            InboxView::All => "All conversations",
        }
    }

    pub fn rule(self) -> InboxRule {
        match self {
            InboxView::Unassigned => InboxRule {
                holder: Holder::Nobody,
                order: InboxOrder::WaitingLongest,
            },
            InboxView::Mine => InboxRule {
                holder: Holder::Viewer,
                order: InboxOrder::LatestMessage,
            },
            InboxView::All => InboxRule {
                holder: Holder::Anyone,
                order: InboxOrder::LatestMessage,
            },
        }
    }
}

/// The two moments the inbox orders by; a conversation with no message
/// (or no customer message) counts from its creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxMoments {
    pub last_message_at: Timestamp,
    pub waiting_since: Timestamp,
}

impl InboxMoments {
    pub fn of(conversation: &Conversation, messages: &[Message]) -> InboxMoments {
        let last = |customer_only: bool| {
            messages
                .iter()
                .filter(|m| m.conversation_id == conversation.id)
                .filter(|m| !customer_only || m.author == Author::Customer)
                .map(|m| m.sent_at)
                .max()
                .unwrap_or(conversation.created_at)
        };
        InboxMoments {
            last_message_at: last(false),
            waiting_since: last(true),
        }
    }
}

impl InboxOrder {
    /// Whether the order is newest first.
    pub fn descending(self) -> bool {
        matches!(self, InboxOrder::LatestMessage)
    }

    /// The moment this order sorts by (ties broken by id, the same way).
    pub fn moment(self, moments: &InboxMoments) -> Timestamp {
        match self {
            InboxOrder::WaitingLongest => moments.waiting_since,
            InboxOrder::LatestMessage => moments.last_message_at,
        }
    }
}

impl InboxRule {
    /// Whether `conversation` is in the view for `viewer`, before a search.
    pub fn matches(&self, conversation: &Conversation, viewer: Uuid) -> bool {
        match self.holder {
            Holder::Nobody => conversation.assignee_id.is_none(),
            Holder::Viewer => conversation.assignee_id == Some(viewer),
            Holder::Anyone => true,
        }
    }

    /// The key a view's rows are sorted by, ascending: the moment in
    /// milliseconds (negated for newest first) and the id, whose order is
    /// reversed with the moment's (the stores order `(moment, id)` one way).
    pub fn key(&self, conversation: &Conversation, moments: &InboxMoments) -> (i64, Reversible) {
        let ms = self.order.moment(moments).timestamp_millis();
        if self.order.descending() {
            (-ms, Reversible::Desc(conversation.id))
        } else {
            (ms, Reversible::Asc(conversation.id))
        }
    }
}

/// An id compared ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reversible {
    Asc(Uuid),
    Desc(Uuid),
}

impl PartialOrd for Reversible {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Reversible {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b, desc) = match (self, other) {
            (Reversible::Asc(a), Reversible::Asc(b)) => (a, b, false),
            (Reversible::Desc(a), Reversible::Desc(b)) => (a, b, true),
            // One rule never mixes the two; keep the order total anyway.
            (Reversible::Asc(_), Reversible::Desc(_)) => return std::cmp::Ordering::Less,
            (Reversible::Desc(_), Reversible::Asc(_)) => return std::cmp::Ordering::Greater,
        };
        // Ids compare as their hyphenated lowercase text, as the stores do.
        let ord = a.to_string().cmp(&b.to_string());
        if desc { ord.reverse() } else { ord }
    }
}

/// Whether typed `text` finds the conversation: a case-insensitive (ASCII)
/// part of the customer's name or email or of any message. Blank text finds
/// every conversation.
pub fn search_matches(conversation: &Conversation, messages: &[Message], text: &str) -> bool {
    let needle = text.trim().to_ascii_lowercase();
    if needle.is_empty() {
        return true;
    }
    let has = |hay: &str| hay.to_ascii_lowercase().contains(&needle);
    has(&conversation.customer.name)
        || has(&conversation.customer.email)
        || messages
            .iter()
            .filter(|m| m.conversation_id == conversation.id)
            .any(|m| has(&m.body))
}

/// The longest search text a list takes (ticket lists and the inbox): each
/// search is a scan of every row's text, so a longer one is refused.
pub const SEARCH_MAX_CHARS: usize = 500;

/// The pattern both stores give SQL `LIKE … ESCAPE '\'` for [`search_matches`]:
/// `%text%` with `\`, `%` and `_` taken literally; `None` for blank text.
pub fn like_pattern(text: Option<&str>) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

/// A linked ticket counts in a row's open-ticket count while it is not
/// resolved or closed (the tickets a claim moves).
pub fn counts_as_open(ticket: &Ticket) -> bool {
    !ticket.status.is_done()
}

/// The text the stores search for a conversation's customer.
pub fn customer_search_text(customer: &Customer) -> String {
    format!("{}\n{}", customer.name, customer.email)
}

/// The last message as an inbox row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LastMessage {
    pub author: Author,
    pub body: String,
}

/// One row of an inbox view (API.md `GET /conversations`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxRow {
    pub id: Uuid,
    pub customer: Customer,
    pub channel: String,
    pub assignee_id: Option<Uuid>,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_message_at: Timestamp,
    /// The last customer message (or creation): how long they have waited.
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub waiting_since: Timestamp,
    pub last_message: Option<LastMessage>,
    pub open_ticket_count: u32,
    /// Unsynced local changes lie on it (the desktop cache; always false
    /// from the server).
    #[serde(default)]
    pub pending: bool,
}

/// A page of an inbox view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxPage {
    pub conversations: Vec<InboxRow>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// An inbox list request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct InboxQuery {
    pub view: InboxView,
    /// Words to find in the customer's name or email or in any message.
    #[serde(default)]
    pub search: Option<String>,
    pub limit: u32,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// How many conversations each inbox view holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct InboxCounts {
    pub unassigned: u64,
    pub mine: u64,
    pub all: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(min: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .single()
            .expect("time")
            + chrono::Duration::minutes(min)
    }

    fn conversation(assignee: Option<Uuid>) -> Conversation {
        Conversation {
            id: Uuid::new_v4(),
            customer: Customer {
                name: "Jo Müller".into(),
                email: "jo@example.com".into(),
            },
            channel: "chat".into(),
            assignee_id: assignee,
            created_at: at(0),
            subject: None,
        }
    }

    fn message(c: &Conversation, author: Author, min: i64, body: &str) -> Message {
        Message {
            id: Uuid::new_v4(),
            conversation_id: c.id,
            author,
            agent_id: None,
            body: body.into(),
            sent_at: at(min),
            delivery: None,
            automatic: false,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn the_three_views_hold_whom_the_rules_say() {
        let me = Uuid::new_v4();
        let other = Uuid::new_v4();
        let mine = conversation(Some(me));
        let theirs = conversation(Some(other));
        let nobodys = conversation(None);
        let holds = |v: InboxView, c: &Conversation| v.rule().matches(c, me);
        assert!(holds(InboxView::Unassigned, &nobodys));
        assert!(!holds(InboxView::Unassigned, &mine));
        assert!(holds(InboxView::Mine, &mine));
        assert!(!holds(InboxView::Mine, &theirs));
        assert!(!holds(InboxView::Mine, &nobodys));
        for c in [&mine, &theirs, &nobodys] {
            assert!(holds(InboxView::All, c));
        }
    }

    #[test]
    fn unassigned_puts_who_waited_longest_first_and_the_others_newest_first() {
        let a = conversation(None);
        let b = conversation(None);
        // a's customer wrote at 10, an agent answered at 50; b's customer at 20.
        let msgs = vec![
            message(&a, Author::Customer, 10, "hello"),
            message(&a, Author::Agent, 50, "on it"),
            message(&b, Author::Customer, 20, "hi"),
        ];
        let ma = InboxMoments::of(&a, &msgs);
        let mb = InboxMoments::of(&b, &msgs);
        assert_eq!(ma.waiting_since, at(10));
        assert_eq!(ma.last_message_at, at(50));
        let unassigned = InboxView::Unassigned.rule();
        assert!(unassigned.key(&a, &ma) < unassigned.key(&b, &mb));
        let all = InboxView::All.rule();
        assert!(all.key(&a, &ma) < all.key(&b, &mb), "a spoke last");
        // No message at all: counted from its creation.
        let c = conversation(None);
        let mc = InboxMoments::of(&c, &msgs);
        assert_eq!(mc.last_message_at, c.created_at);
        assert_eq!(mc.waiting_since, c.created_at);
    }

    #[test]
    fn search_finds_name_email_and_message_text_ignoring_case() {
        let c = conversation(None);
        let msgs = vec![message(&c, Author::Customer, 1, "My REFUND is late")];
        for hit in ["jo m", "EXAMPLE.com", "refund", "  late ", ""] {
            assert!(search_matches(&c, &msgs, hit), "{hit}");
        }
        for miss in ["invoice", "jo@other"] {
            assert!(!search_matches(&c, &msgs, miss), "{miss}");
        }
    }

    #[test]
    fn a_search_pattern_takes_like_wildcards_literally() {
        assert_eq!(
            like_pattern(Some(" 50%_off ")),
            Some("%50\\%\\_off%".into())
        );
        assert_eq!(like_pattern(Some("a\\b")), Some("%a\\\\b%".into()));
        assert_eq!(like_pattern(Some("  ")), None);
        assert_eq!(like_pattern(None), None);
    }

    #[test]
    fn ids_break_ties_the_way_the_order_runs() {
        let (x, y) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert!(Reversible::Asc(x) < Reversible::Asc(y));
        assert!(Reversible::Desc(y) < Reversible::Desc(x));
    }
}
