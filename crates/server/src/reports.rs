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

/// The tickets that may have an outcome in `[from, to)`
/// ([`report::candidates_sql`]: created before `to`, changed since `from`
/// or still running), with the assignment history in their timelines.
pub fn inputs(
    db: &mut dyn TokenDb,
    from: Timestamp,
    to: Timestamp,
) -> StoreResult<Vec<ReportTicket>> {
    let (from, to) = (millis::format(&from), millis::format(&to));
    let which = report::candidates_sql("t.status", "t.created_at", "t.updated_at", "$1", "$2");
    let args = [Some(from.as_str()), Some(to.as_str())];
    let tickets = db.rows_built(
        &format!("SELECT t.data FROM tickets t WHERE {which}"),
        &args,
    )?;
    let entries = db.rows_built(
        &format!(
            "SELECT a.data FROM activity a JOIN tickets t ON t.id = a.ticket_id
             WHERE a.kind IN ('created', 'assigned') AND {which}"
        ),
        &args,
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
