//! Row-shaped facts both stores write and read the same way: a ticket as the
//! API shows it, the stored moments that drive the SLA sweep, and the
//! searchable text of a timeline entry.

use fyncall_domain::{Activity, Change, TeamSettings, Ticket, Timestamp, sla};

/// The earliest moment the sweep has work on this ticket (the domain's
/// [`sla::sweep_at`]), stored in `tickets.next_breach_at`.
pub fn next_breach_at(ticket: &Ticket, settings: &TeamSettings) -> Option<Timestamp> {
    sla::sweep_at(ticket, settings)
}

/// The text of a timeline entry that search looks in.
pub fn activity_body(entry: &Activity) -> Option<&str> {
    match &entry.change {
        Change::Comment { body, .. } | Change::ResolutionNote { body } => Some(body.as_str()),
        _ => None,
    }
}

/// How a pushed mutation's outcome is stored in `mutations.outcome`.
pub fn outcome_text(outcome: fyncall_domain::wire::Outcome) -> &'static str {
    match outcome {
        fyncall_domain::wire::Outcome::Applied => "applied",
        fyncall_domain::wire::Outcome::Duplicate => "duplicate",
        fyncall_domain::wire::Outcome::Rejected => "rejected",
    }
}

/// How a ticket's `source` is stored in its column.
pub fn source_text(ticket: &Ticket) -> Option<String> {
    serde_json::to_value(ticket.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// What a ticket row's upsert changes when the row is there already: the
/// same SQL in both stores' dialects.
macro_rules! ticket_update {
    () => {
        "subject = excluded.subject, description = excluded.description, status = excluded.status,
         priority_rank = excluded.priority_rank, assignee_id = excluded.assignee_id,
         category = excluded.category, updated_at = excluded.updated_at, due_at = excluded.due_at,
         at_risk_at = excluded.at_risk_at, next_breach_at = excluded.next_breach_at, data = excluded.data,
         tags = excluded.tags"
    };
}
pub(crate) use ticket_update;
