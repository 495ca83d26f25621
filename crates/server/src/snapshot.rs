//! `GET /sync/snapshot`: every row of the team as of one sequence, streamed
//! for a client's first download, written once for both stores.
//!
//! A pull page reads the change log, then each row, parses it and writes it
//! again; a snapshot sends each stored row as it is (`data` is the row's
//! JSON already), in table order, from one read snapshot of the store, so
//! the server's cost per row is one copy. The client then pulls from the
//! head's `cursor` as usual.
//!
//! A snapshot is the desktop's working set (`fyncall_domain::working_set`):
//! every ticket not closed and those closed within the team's sync window,
//! with their timelines; an older ticket is asked for when it is opened.

use fyncall_domain::Timestamp;
use fyncall_domain::wire::{Entity, SnapshotEnd, SnapshotHead};

use crate::store::{StoreError, StoreResult};

/// What a store reads for a snapshot, inside one consistent read.
pub trait SnapshotRows {
    /// The sequence the rows are the state after.
    fn seq(&mut self) -> StoreResult<i64>;
    /// How many rows `sql` (a `SELECT COUNT(*)`) counts; `$1`, where the
    /// query names it, is `cutoff`.
    fn count(&mut self, sql: &str, cutoff: Option<&str>) -> StoreResult<u64>;
    /// The team settings' JSON.
    fn settings(&mut self) -> StoreResult<String>;
    /// Calls `row(id, data)` for every row `sql` gives, streaming; `$1`,
    /// where the query names it, is `cutoff`.
    fn each(
        &mut self,
        sql: &str,
        cutoff: Option<&str>,
        row: &mut dyn FnMut(&str, &str) -> StoreResult<()>,
    ) -> StoreResult<()>;
}

/// The tables in the order a client stores them: agents first (a ticket's
/// assignee sort key is the agent's name), a conversation before its
/// messages and tickets, a ticket before its timeline. Each with the rows
/// it sends (`FROM … WHERE …`) and whether that names the cutoff (`$1`).
fn tables() -> [(Entity, String, bool); 5] {
    let held = fyncall_domain::working_set::sql_condition("status", "updated_at", "$1");
    [
        (Entity::Agent, "FROM agents".into(), false),
        (Entity::Conversation, "FROM conversations".into(), false),
        (Entity::Message, "FROM messages".into(), false),
        (Entity::Ticket, format!("FROM tickets WHERE {held}"), true),
        (
            Entity::Activity,
            format!("FROM activity WHERE ticket_id IN (SELECT id FROM tickets WHERE {held})"),
            true,
        ),
    ]
}

/// Writes the whole snapshot as lines of JSON to `out`, which may refuse
/// (the client went away) to stop the read.
pub fn write(
    rows: &mut dyn SnapshotRows,
    now: Timestamp,
    database_id: uuid::Uuid,
    out: &mut dyn FnMut(&[u8]) -> StoreResult<()>,
) -> StoreResult<()> {
    let cursor = rows.seq()?;
    let settings = rows.settings()?;
    let window = serde_json::from_str::<fyncall_domain::TeamSettings>(&settings)
        .map_err(|e| StoreError::Database(format!("the team's settings do not read: {e}")))?
        .sync_window_days;
    let cutoff = crate::time::iso(fyncall_domain::working_set::cutoff(now, window));
    let tables = tables();
    let mut total = 1;
    for (_, from, windowed) in &tables {
        let arg = windowed.then_some(cutoff.as_str());
        total += rows.count(&format!("SELECT COUNT(*) {from}"), arg)?;
    }
    let mut line = json_line(&SnapshotHead {
        cursor,
        rows: total,
        server_time: now,
        database_id: Some(database_id),
    })?;
    out(&line)?;
    line.clear();
    row_line(&mut line, Entity::Settings, "settings", &settings);
    out(&line)?;
    let mut sent = 1;
    for (entity, from, windowed) in tables {
        let arg = windowed.then_some(cutoff.as_str());
        rows.each(&format!("SELECT id, data {from}"), arg, &mut |id, data| {
            line.clear();
            row_line(&mut line, entity, id, data);
            sent += 1;
            out(&line)
        })?;
    }
    if sent != total {
        // Cannot happen inside one read snapshot; say so rather than send
        // a stream the client would take for whole.
        return Err(StoreError::Database(format!(
            "the snapshot counted {total} rows but read {sent}"
        )));
    }
    out(&json_line(&SnapshotEnd { end: sent })?)
}

fn json_line<T: serde::Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    let mut line = serde_json::to_vec(value).map_err(|e| StoreError::Database(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

/// `{"entity":…,"id":…,"data":…}` and a newline; `data` is stored JSON,
/// copied as it is (a stored row never holds a raw newline: JSON escapes it).
fn row_line(line: &mut Vec<u8>, entity: Entity, id: &str, data: &str) {
    line.extend_from_slice(b"{\"entity\":\"");
    line.extend_from_slice(entity.as_str().as_bytes());
    line.extend_from_slice(b"\",\"id\":");
    // Ids are UUIDs; written through the JSON writer all the same.
    let _ = serde_json::to_writer(&mut *line, id);
    line.extend_from_slice(b",\"data\":");
    line.extend_from_slice(data.trim().as_bytes());
    line.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The working set is found on the status index, never by reading
    /// every ticket: at a million tickets, nine in ten closed long ago,
    /// a snapshot reads the hundred thousand it sends.
    #[test]
    fn the_working_set_is_read_on_indexes() {
        let db = rusqlite::Connection::open_in_memory().expect("db");
        db.execute_batch(include_str!("../../../migrations/server/0001_init.sql"))
            .expect("schema");
        for (_, from, windowed) in tables() {
            let sql = format!("EXPLAIN QUERY PLAN SELECT id, data {from}");
            let mut stmt = db.prepare(&sql).expect("plan");
            let args: Vec<&str> = if windowed {
                vec!["2026-09-08T12:00:00.000Z"]
            } else {
                vec![]
            };
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("plan rows");
            if windowed {
                let plan = plan.join("\n");
                assert!(!plan.contains("SCAN tickets"), "{from}:\n{plan}");
                assert!(plan.contains("tickets_by_status"), "{from}:\n{plan}");
                assert!(!plan.contains("SCAN activity"), "{from}:\n{plan}");
            }
        }
    }

    #[test]
    fn a_row_line_is_one_pulled_change() {
        let mut line = Vec::new();
        row_line(
            &mut line,
            Entity::Agent,
            "0190a0a0-0000-7000-8000-000000000001",
            r#"{"id":"0190a0a0-0000-7000-8000-000000000001","name":"Ann \"A\"","email":"ann@example.com","role":"agent","active":true}"#,
        );
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let change: fyncall_domain::wire::PulledChange =
            serde_json::from_slice(&line).expect("a pulled change");
        assert_eq!(change.entity(), Entity::Agent);
        assert_eq!(change.seq, None);
        match change.data {
            fyncall_domain::wire::Pulled::Agent(a) => assert_eq!(a.name, "Ann \"A\""),
            other => panic!("not an agent: {other:?}"),
        }
    }
}
