//! Merging a ticket into another and undoing it (RULES.md "Merge").
//!
//! A merge closes the source with the entry "merged into #B" and keeps, on
//! the source itself, what the merge changed ([`MergeRecord`]), so an
//! unmerge within [`UNMERGE_DAYS`] puts it back exactly. The target lists
//! the tickets merged into it (`Ticket::merged_ids`): its timeline shows
//! their comments and its page their conversations. A merged ticket takes
//! no change but an unmerge; a comment sent to it lands on the target.

use crate::Timestamp;
use crate::agent::Agent;
use crate::mutation::Mutation;
use crate::refusal::Refusal;
use crate::ticket::{SlaClock, Status, Ticket};
use serde::{Deserialize, Serialize};

/// How long a merge can be undone.
pub const UNMERGE_DAYS: i64 = 7;

/// What a merge changed on its source, kept on the source while merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeRecord {
    /// When it was merged.
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// The target's number then (`None` before the server gave it one).
    pub into_number: Option<i64>,
    /// The source's status before the merge closed it.
    pub status: Status,
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub resolved_at: Option<Timestamp>,
    /// Its SLA bookkeeping before the merge stopped the timers.
    pub sla_clock: SlaClock,
}

/// "#1042", or words for a ticket the server has not numbered yet.
pub fn number_words(number: Option<i64>) -> String {
    number.map_or_else(|| "the other ticket".to_owned(), |n| format!("#{n}"))
}

/// Refuses `mutation` when the ticket it names is merged, in the words
/// RULES.md gives ("merged into #B: reopen #B"). A comment (redirected to
/// the target) and an unmerge pass.
pub fn check_not_merged(ticket: &Ticket, mutation: &Mutation) -> Result<(), Refusal> {
    if ticket.merged_into_id.is_none()
        || matches!(mutation, Mutation::Comment(_) | Mutation::UnmergeTicket(_))
    {
        return Ok(());
    }
    let into = number_words(ticket.merge.as_ref().and_then(|m| m.into_number));
    let what = match mutation {
        Mutation::ChangeStatus(_) => format!("reopen {into}"),
        Mutation::MergeTicket(_) => format!("merge {into} instead"),
        _ => format!("make the change on {into}"),
    };
    Err(Refusal::invalid_transition(format!(
        "merged into {into}: {what}"
    )))
}

/// Whether `source` may still be unmerged at `now`.
pub fn check_unmerge_window(record: &MergeRecord, now: Timestamp) -> Result<(), Refusal> {
    let limit = record.at + chrono::TimeDelta::days(UNMERGE_DAYS);
    if now > limit {
        return Err(Refusal::invalid_transition(format!(
            "this ticket was merged on {}, more than {UNMERGE_DAYS} days ago: it can no longer be unmerged; create a new ticket for further work",
            record.at.format("%Y-%m-%d")
        )));
    }
    Ok(())
}

/// Whether `actor` may merge `source` into some ticket: whoever may edit
/// it, while it is not closed and no ticket was merged into it (one level
/// only, so a comment's redirect is one step).
pub fn check_source(actor: &Agent, source: &Ticket) -> Result<(), Refusal> {
    crate::permissions::check_manage(actor, source, "merge")?;
    if source.status == Status::Closed {
        return Err(Refusal::invalid_transition(
            "this ticket is closed and archived: only tickets not closed can be merged",
        ));
    }
    if !source.merged_ids.is_empty() {
        let n = source.merged_ids.len();
        return Err(Refusal::invalid_transition(format!(
            "{n} other ticket{} merged into this one: merge the other ticket into this one instead, or unmerge {} first",
            if n == 1 { " is" } else { "s are" },
            if n == 1 { "it" } else { "them" },
        )));
    }
    Ok(())
}

/// A merge of `source` into `target` by `actor`, both loaded: the source
/// as [`check_source`] says, the target one `actor` may edit, another
/// ticket, neither closed nor merged.
pub fn check_pair(actor: &Agent, source: &Ticket, target: &Ticket) -> Result<(), Refusal> {
    check_source(actor, source)?;
    if source.id == target.id {
        return Err(Refusal::invalid(
            "into_ticket_id",
            "a ticket cannot be merged into itself: pick another ticket",
        ));
    }
    crate::permissions::check_manage(actor, target, "merge into")?;
    if target.merged_into_id.is_some() {
        let into = number_words(target.merge.as_ref().and_then(|m| m.into_number));
        return Err(Refusal::invalid_transition(format!(
            "{} is merged into {into}: merge into {into} instead",
            number_words(target.number)
        )));
    }
    if target.status == Status::Closed {
        return Err(Refusal::invalid_transition(format!(
            "{} is closed and archived: merge into a ticket that is not closed",
            number_words(target.number)
        )));
    }
    Ok(())
}

/// What a merge of `source` into `target` moves, in words for its preview
/// (the app's dialog and `fyncall merge --preview`): `comments` is how many
/// comments the source's timeline holds.
pub fn preview_words(source: &Ticket, target: &Ticket, comments: usize) -> Vec<String> {
    let (a, b) = (number_words(source.number), number_words(target.number));
    vec![
        format!("{a} closes as \"merged into {b}\" and takes no further change"),
        format!(
            "its {comments} comment{} show{} on {b}'s timeline, marked as from {a}",
            if comments == 1 { "" } else { "s" },
            if comments == 1 { "s" } else { "" }
        ),
        format!("{b} lists {a}'s conversation among its links"),
        format!("comments still queued for {a} land on {b}"),
        format!("{b}'s SLA timers are unchanged"),
        format!("it can be undone within {UNMERGE_DAYS} days"),
    ]
}
