//! The status lifecycle (RULES.md "Status lifecycle").
//!
//! ```text
//! open                → in_progress | waiting_on_customer | resolved
//! in_progress         → waiting_on_customer | resolved
//! waiting_on_customer → in_progress | resolved
//! resolved            → closed | in_progress   (reopen)
//! closed              → nothing: final and archived
//! ```

use crate::refusal::Refusal;
use crate::ticket::Status;

/// The statuses a ticket in `from` may move to, in menu order.
pub fn allowed_moves(from: Status) -> &'static [Status] {
    use Status::*;
    match from {
        Open => &[InProgress, WaitingOnCustomer, Resolved],
        InProgress => &[WaitingOnCustomer, Resolved],
        WaitingOnCustomer => &[InProgress, Resolved],
        Resolved => &[Closed, InProgress],
        Closed => &[],
    }
}

/// Whether `from → to` is a move of the lifecycle, with the reason when not.
pub fn check_move(from: Status, to: Status) -> Result<(), Refusal> {
    if allowed_moves(from).contains(&to) {
        return Ok(());
    }
    use Status::*;
    let message = match (from, to) {
        (Closed, _) => {
            "a closed ticket cannot be reopened or changed: create a new ticket".to_owned()
        }
        (_, Closed) => "resolve the ticket before closing it".to_owned(),
        (a, b) if a == b => format!("the ticket is already {}", a.label()),
        (_, Open) => format!(
            "a ticket cannot go back to open; move it to in progress instead (it is {})",
            from.label()
        ),
        _ => format!(
            "a ticket cannot move from {} to {}",
            from.label(),
            to.label()
        ),
    };
    Err(Refusal::invalid_transition(message))
}

/// A closed ticket takes no further change of any kind.
/// "Not closed" as SQL on a stored status column (`status`): the tickets
/// whose timers may still run and whose moments the sweep keeps, the
/// tickets every view but the archive shows, the tags the pickers offer.
/// Closed is final, so every reader asks this one question.
pub fn not_closed_sql(status: &str) -> String {
    format!("{status} <> '{}'", Status::Closed.as_str())
}

pub fn check_not_closed(status: Status) -> Result<(), Refusal> {
    if status == Status::Closed {
        Err(Refusal::invalid_transition(
            "this ticket is closed and archived: create a new ticket for further work",
        ))
    } else {
        Ok(())
    }
}
