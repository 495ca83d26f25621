//! The five ticket views (RULES.md "Views").
//!
//! | view | which tickets | default order |
//! |---|---|---|
//! | All Tickets | every ticket but closed ones; a status filter naming `closed` shows them (the archive) | updated, newest first |
//! | My Tickets | assignee is me, status not closed | SLA urgency, then updated |
//! | SLA At Risk | a running timer is at risk or breached | time to breach, most overdue first |
//! | Pending | status `waiting_on_customer` | updated, oldest first |
//! | AI Escalated | source `ai`, status not closed | created, newest first |
//!
//! Which tickets a view holds is data ([`View::rule`], a [`ViewRule`]): the
//! cache and the server each translate that one rule to SQL, and
//! [`View::contains`] reads it.
//!
//! Membership of SLA At Risk depends on `now` only through
//! [`crate::sla::Moments::at_risk_at`] (`at_risk_at <= now`), and the SLA
//! orders use [`crate::sla::Moments::due_at`], so a store can keep both in
//! indexed columns and answer with a range scan.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::settings::SlaPolicy;
use crate::sla;
use crate::ticket::{Source, Status, Ticket};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum View {
    All,
    Mine,
    SlaAtRisk,
    Pending,
    AiEscalated,
}

impl View {
    pub const ALL: [View; 5] = [
        View::All,
        View::Mine,
        View::SlaAtRisk,
        View::Pending,
        View::AiEscalated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            View::All => "all",
            View::Mine => "mine",
            View::SlaAtRisk => "sla_at_risk",
            View::Pending => "pending",
            View::AiEscalated => "ai_escalated",
        }
    }

    pub fn parse(text: &str) -> Option<View> {
        View::ALL
            .into_iter()
            .find(|v| v.as_str() == text || v.as_str().replace('_', "-") == text)
    }

    pub fn title(self) -> &'static str {
        match self {
            View::All => "All Tickets",
            View::Mine => "My Tickets",
            View::SlaAtRisk => "SLA At Risk",
            View::Pending => "Pending",
            View::AiEscalated => "AI Escalated",
        }
    }

    /// The view's default order.
    pub fn default_sort(self) -> (SortField, Order) {
        match self {
            View::All => (SortField::Updated, Order::Desc),
            View::Mine => (SortField::SlaDue, Order::Asc),
            View::SlaAtRisk => (SortField::SlaDue, Order::Asc),
            View::Pending => (SortField::Updated, Order::Asc),
            View::AiEscalated => (SortField::Created, Order::Desc),
        }
    }

    /// Which tickets the view holds, as data every reader translates.
    pub fn rule(self) -> ViewRule {
        let base = ViewRule {
            assigned_to_viewer: false,
            status: None,
            source: None,
            at_risk: false,
            closed: ClosedTickets::Hidden,
        };
        match self {
            View::All => ViewRule {
                closed: ClosedTickets::ShownWhenAsked,
                ..base
            },
            View::Mine => ViewRule {
                assigned_to_viewer: true,
                ..base
            },
            View::SlaAtRisk => ViewRule {
                at_risk: true,
                ..base
            },
            View::Pending => ViewRule {
                status: Some(Status::WaitingOnCustomer),
                ..base
            },
            View::AiEscalated => ViewRule {
                source: Some(Source::Ai),
                ..base
            },
        }
    }

    /// Whether `ticket` belongs to this view (with no filter) for `viewer`
    /// at `now`.
    pub fn contains(
        self,
        ticket: &Ticket,
        viewer: Uuid,
        policy: &SlaPolicy,
        now: Timestamp,
    ) -> bool {
        self.rule().matches(ticket, viewer, policy, now, &[])
    }
}

/// What a view does with closed tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedTickets {
    /// Never shown.
    Hidden,
    /// Shown when a status filter names `closed` (the All view's archive).
    ShownWhenAsked,
}

/// Which tickets a view holds (RULES.md "Views"), as data: each field a
/// condition every member meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewRule {
    /// Assigned to the viewer.
    pub assigned_to_viewer: bool,
    /// In this status.
    pub status: Option<Status>,
    /// From this source.
    pub source: Option<Source>,
    /// A running timer at risk or breached now (`at_risk_at <= now`).
    pub at_risk: bool,
    pub closed: ClosedTickets,
}

impl ViewRule {
    /// Whether closed tickets are left out under this status filter.
    pub fn hides_closed(&self, status_filter: &[Status]) -> bool {
        match self.closed {
            ClosedTickets::Hidden => true,
            ClosedTickets::ShownWhenAsked => !status_filter.contains(&Status::Closed),
        }
    }

    /// Whether `ticket` is in the view under `status_filter` (empty: no
    /// filter) for `viewer` at `now`.
    pub fn matches(
        &self,
        ticket: &Ticket,
        viewer: Uuid,
        policy: &SlaPolicy,
        now: Timestamp,
        status_filter: &[Status],
    ) -> bool {
        (status_filter.is_empty() || status_filter.contains(&ticket.status))
            && self
                .terms(status_filter)
                .into_iter()
                .all(|term| match term {
                    Term::NotClosed => ticket.status != Status::Closed,
                    Term::AssignedToViewer => ticket.assignee_id == Some(viewer),
                    Term::Status(s) => ticket.status == s,
                    Term::Source(s) => ticket.source == s,
                    Term::AtRisk => sla::moments(ticket, policy)
                        .at_risk_at
                        .is_some_and(|m| m <= now),
                })
    }

    /// The rule as the conditions every member meets, under `status_filter`
    /// (empty: none). Every reader (this crate's [`ViewRule::matches`], the
    /// server's SQL, the cache's lists and kept counts) translates these
    /// terms with an exhaustive `match`, and this is the one place that
    /// takes the rule apart: a new field of the rule is a new term, and
    /// each reader that does not yet translate it stops compiling.
    pub fn terms(&self, status_filter: &[Status]) -> Vec<Term> {
        let ViewRule {
            assigned_to_viewer,
            status,
            source,
            at_risk,
            closed: _,
        } = *self;
        let mut terms = Vec::new();
        if self.hides_closed(status_filter) {
            terms.push(Term::NotClosed);
        }
        if assigned_to_viewer {
            terms.push(Term::AssignedToViewer);
        }
        if let Some(s) = status {
            terms.push(Term::Status(s));
        }
        if let Some(s) = source {
            terms.push(Term::Source(s));
        }
        if at_risk {
            terms.push(Term::AtRisk);
        }
        terms
    }
}

/// One condition of a view's rule ([`ViewRule::terms`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// Not closed.
    NotClosed,
    /// Assigned to the viewer.
    AssignedToViewer,
    /// In this status.
    Status(Status),
    /// From this source.
    Source(Source),
    /// A running timer at risk or breached now (`at_risk_at <= now`).
    AtRisk,
}

/// The views `ticket` belongs to for `viewer` at `now`.
pub fn views_of(ticket: &Ticket, viewer: Uuid, policy: &SlaPolicy, now: Timestamp) -> Vec<View> {
    View::ALL
        .into_iter()
        .filter(|v| v.contains(ticket, viewer, policy, now))
        .collect()
}

/// Columns a view can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    Number,
    Subject,
    Status,
    Priority,
    Assignee,
    Category,
    Created,
    Updated,
    /// Earliest due time among running timers; tickets with none sort last.
    SlaDue,
}

impl SortField {
    pub const ALL: [SortField; 9] = [
        SortField::Number,
        SortField::Subject,
        SortField::Status,
        SortField::Priority,
        SortField::Assignee,
        SortField::Category,
        SortField::Created,
        SortField::Updated,
        SortField::SlaDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Number => "number",
            SortField::Subject => "subject",
            SortField::Status => "status",
            SortField::Priority => "priority",
            SortField::Assignee => "assignee",
            SortField::Category => "category",
            SortField::Created => "created",
            SortField::Updated => "updated",
            SortField::SlaDue => "sla",
        }
    }

    pub fn parse(text: &str) -> Option<SortField> {
        SortField::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    Desc,
}

/// A ticket's default sort key in a view, as comparable parts: tickets
/// order by `(primary, secondary, id)` ascending. Times are milliseconds
/// since the epoch, negated for newest-first orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SortKey {
    pub primary: i64,
    pub secondary: i64,
    pub id: Uuid,
}

/// The default-order key of `ticket` in `view`.
pub fn default_sort_key(view: View, ticket: &Ticket, policy: &SlaPolicy) -> SortKey {
    let millis = |t: Timestamp| t.timestamp_millis();
    let due = sla::moments(ticket, policy).due_at.map_or(i64::MAX, millis);
    let (primary, secondary) = match view {
        View::All => (-millis(ticket.updated_at), 0),
        View::Mine => (due, -millis(ticket.updated_at)),
        View::SlaAtRisk => (due, 0),
        View::Pending => (millis(ticket.updated_at), 0),
        View::AiEscalated => (-millis(ticket.created_at), 0),
    };
    SortKey {
        primary,
        secondary,
        id: ticket.id,
    }
}
