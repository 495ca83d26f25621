//! The desktop's working set (ARCHITECTURE.md "A working set on the desktop,
//! the archive on the server"): every ticket that is not closed, and what
//! was closed within the team's sync window (`sync_window_days`, default
//! [`SYNC_WINDOW_DEFAULT_DAYS`]). The server's snapshot sends only these; the
//! cache lets a ticket go once it has aged past the window, and asks the
//! server for an older one when it is opened.
//!
//! A closed ticket changes no more (RULES.md "Lifecycle": closed is final),
//! so its last change, `updated_at`, is the moment it closed; every reader
//! (the server's SQL, the cache's SQL, [`holds`]) compares that one column.

use crate::{Status, Ticket, Timestamp};

/// The days a closed ticket stays on the desktop, unless a team says otherwise.
pub const SYNC_WINDOW_DEFAULT_DAYS: u32 = 90;
/// The fewest days a team may set.
pub const SYNC_WINDOW_MIN_DAYS: u32 = 1;
/// The most days a team may set (ten years: everything, for any real team).
pub const SYNC_WINDOW_MAX_DAYS: u32 = 3650;

/// How many tickets from before the window, opened on the desktop, the cache
/// keeps beside the working set (the least recently opened goes first).
pub const ARCHIVE_KEPT: usize = 200;

/// What the desktop says when an older ticket is asked for offline.
pub const ARCHIVE_OFFLINE: &str = "Older closed tickets need a connection: this one closed before the last {days} days the desk keeps offline";

/// The words of [`ARCHIVE_OFFLINE`] for a window of `days`.
pub fn archive_offline(days: u32) -> String {
    ARCHIVE_OFFLINE.replace("{days}", &days.to_string())
}

/// What the desktop says when the archive is searched offline.
pub fn archive_search_offline(days: u32) -> String {
    format!(
        "Older closed tickets need a connection: the desk keeps offline only those closed in the last {days} days"
    )
}

/// The earliest moment a closed ticket may have closed and still be in the
/// working set at `now`.
pub fn cutoff(now: Timestamp, days: u32) -> Timestamp {
    now - chrono::Duration::days(i64::from(days))
}

/// Whether `ticket` belongs to the working set whose [`cutoff`] is `cutoff`.
pub fn holds(ticket: &Ticket, cutoff: Timestamp) -> bool {
    holds_row(ticket.status, ticket.updated_at, cutoff)
}

/// [`holds`] on a ticket's status and last change.
pub fn holds_row(status: Status, updated_at: Timestamp, cutoff: Timestamp) -> bool {
    status != Status::Closed || updated_at >= cutoff
}

/// [`holds`] on stored columns, for SQL: `status` as [`Status::as_str`]
/// writes it and `updated_at` as the store keeps it (text or milliseconds);
/// `status`, `updated_at` and `cutoff` are the row's and the parameter's
/// expressions. Written as two terms an index on `(status, updated_at)`
/// serves each, so a million closed tickets are never read to find the
/// recent ones.
pub fn sql_condition(status: &str, updated_at: &str, cutoff: &str) -> String {
    let open: Vec<String> = Status::ALL
        .iter()
        .filter(|s| **s != Status::Closed)
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "({status} IN ({}) OR ({status} = '{}' AND {updated_at} >= {cutoff}))",
        open.join(", "),
        Status::Closed.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_closed_before_the_window_leaves_it() {
        let now: Timestamp = "2026-12-07T12:00:00Z".parse().expect("now");
        let cut = cutoff(now, 90);
        assert_eq!(
            cut,
            "2026-09-08T12:00:00Z".parse::<Timestamp>().expect("cut")
        );
        let before = cut - chrono::Duration::milliseconds(1);
        assert!(
            holds_row(Status::Closed, cut, cut),
            "closed exactly at the cutoff stays"
        );
        assert!(
            !holds_row(Status::Closed, before, cut),
            "closed a moment before leaves"
        );
        assert!(
            holds_row(Status::WaitingOnCustomer, before, cut),
            "a ticket not closed stays however old"
        );
        assert!(
            holds_row(Status::Resolved, before, cut),
            "nor a resolved one"
        );
        assert_eq!(
            sql_condition("t.status", "t.updated_at", "?1"),
            "(t.status IN ('open', 'in_progress', 'waiting_on_customer', 'resolved') \
             OR (t.status = 'closed' AND t.updated_at >= ?1))"
        );
        assert!(archive_offline(90).contains("last 90 days"));
    }
}
