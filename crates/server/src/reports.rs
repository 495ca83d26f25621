//! The inputs of the SLA compliance report (RULES.md "SLA compliance"),
//! read with one SQL text for both stores; the report itself is the
//! domain's [`fyncall_domain::report::sla_report`].

use fyncall_domain::report::{self, ReportTicket};
use fyncall_domain::wire::millis;
use fyncall_domain::{Activity, Ticket, Timestamp};

use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Every ticket created before `to` (no later ticket has an outcome in the
/// period), with the assignment history in its timeline.
pub fn inputs(db: &mut dyn TokenDb, to: Timestamp) -> StoreResult<Vec<ReportTicket>> {
    let to = millis::format(&to);
    let tickets = db.rows_built(
        "SELECT data FROM tickets WHERE created_at < $1",
        &[Some(to.as_str())],
    )?;
    let entries = db.rows_built(
        "SELECT a.data FROM activity a JOIN tickets t ON t.id = a.ticket_id
         WHERE a.kind IN ('created', 'assigned') AND t.created_at < $1",
        &[Some(to.as_str())],
    )?;
    let tickets: Vec<Ticket> = parse(tickets)?;
    let entries: Vec<Activity> = parse(entries)?;
    Ok(report::gather(tickets, entries))
}

/// Each row's first column read as JSON.
fn parse<T: serde::de::DeserializeOwned>(rows: Vec<Vec<Option<String>>>) -> StoreResult<Vec<T>> {
    rows.into_iter()
        .map(|row| {
            let data = row.first().cloned().flatten().unwrap_or_default();
            serde_json::from_str(&data).map_err(db_err)
        })
        .collect()
}
