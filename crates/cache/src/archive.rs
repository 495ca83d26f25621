//! The working set and the archive (`fyncall_domain::working_set`): the
//! cache keeps every ticket not closed and those closed within the team's
//! sync window; a ticket that ages past the window is let go
//! ([`Cache::trim_working_set`], run by the sync engine), and an older one
//! read from the server when it is opened is kept beside the working set
//! ([`Cache::keep_archived`]), the [`ARCHIVE_KEPT`] most recently opened.
//!
//! A ticket is never let go while a change to it is queued or was refused
//! and kept (its row may have an overlay, or the server's closed row), nor
//! while it holds an unread mention of the signed-in agent: nothing typed
//! and nothing to read is lost to the window.

use fyncall_domain::working_set::{ARCHIVE_KEPT, cutoff};
use std::collections::BTreeSet;

use fyncall_domain::{Activity, Mutation, Status, Ticket, Timestamp};
use rusqlite::params;
use uuid::Uuid;

use crate::error::Result;
use crate::events::ChangeSet;
use crate::rows::{Batch, reach, settings};
use crate::{Cache, millis};

/// Above this many tickets let go at once, the change is told as a bulk one
/// (every list reads again) instead of ticket by ticket.
const ONE_BY_ONE: usize = 200;

/// The tickets a queued change or a kept refusal names: their pages stay,
/// whatever the window says, until the change is settled or the refusal
/// dismissed.
fn named_by_changes(conn: &rusqlite::Connection) -> Result<BTreeSet<Uuid>> {
    let mut tickets = BTreeSet::new();
    let mut conversations = BTreeSet::new();
    let mut stmt =
        conn.prepare("SELECT mutation FROM outbox UNION ALL SELECT mutation FROM problems")?;
    let texts = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for text in texts {
        // A change this build cannot read names no ticket it could let go.
        let Ok(m) = serde_json::from_str::<Mutation>(&text) else {
            continue;
        };
        reach(conn, &m, &mut tickets, &mut conversations)?;
        tickets.extend(m.scope().other_ticket);
    }
    Ok(tickets)
}

impl Cache {
    /// Lets go of the tickets closed before the team's sync window as of
    /// `now` (server time), with their timelines and search rows; the
    /// views' counts follow (their triggers). How many went is in the
    /// change set's tickets (or `bulk` when many went at once).
    pub fn trim_working_set(&mut self, now: Timestamp) -> Result<(usize, ChangeSet)> {
        let tx = self.conn.transaction()?;
        let (gone, changes) = {
            let window = settings(&tx)?.sync_window_days;
            let cut = millis(cutoff(now, window));
            tx.execute(
                "DELETE FROM archive_kept WHERE ticket_id NOT IN
                   (SELECT ticket_id FROM archive_kept ORDER BY opened_at DESC LIMIT ?1)",
                [ARCHIVE_KEPT as i64],
            )?;
            // `working_set::holds` turned round: closed, and before the cutoff.
            let aged: Vec<(String, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT id, conversation_id FROM tickets
                     WHERE status = ?1 AND updated_at < ?2 AND overlay = 0
                       AND id NOT IN (SELECT ticket_id FROM archive_kept)
                       AND id NOT IN (SELECT ticket_id FROM mentions WHERE read = 0)",
                )?;
                let rows = stmt.query_map(params![Status::Closed.as_str(), cut], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
                rows.collect::<std::result::Result<_, _>>()?
            };
            let held = named_by_changes(&tx)?;
            let aged: Vec<(String, String)> = aged
                .into_iter()
                .filter(|(id, _)| Uuid::parse_str(id).is_ok_and(|id| !held.contains(&id)))
                .collect();
            let mut b = Batch::new(&tx)?;
            b.bulk = aged.len() > ONE_BY_ONE;
            for (id, conversation) in &aged {
                if let Ok(id) = Uuid::parse_str(id) {
                    b.note(id)?;
                }
                if let Ok(c) = Uuid::parse_str(conversation) {
                    b.touch_conversation(c);
                }
                tx.prepare_cached(
                    "DELETE FROM ticket_search WHERE rowid = (SELECT rowid FROM tickets WHERE id = ?1)",
                )?
                .execute([id])?;
                tx.prepare_cached("DELETE FROM activity WHERE ticket_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM mentions WHERE ticket_id = ?1")?
                    .execute([id])?;
                tx.prepare_cached("DELETE FROM tickets WHERE id = ?1")?
                    .execute([id])?;
            }
            (aged.len(), b.finish()?)
        };
        tx.commit()?;
        Ok((gone, changes))
    }

    /// Keeps a ticket read from the server's archive (`GET /tickets/{id}`:
    /// the ticket and its timeline) as the server has it, opened at `now`,
    /// so its page reads as any other. A ticket the cache holds already is
    /// left as it is (its pending changes stay on top).
    pub fn keep_archived(
        &mut self,
        ticket: &Ticket,
        activity: &[Activity],
        now: Timestamp,
    ) -> Result<ChangeSet> {
        let tx = self.conn.transaction()?;
        let changes = {
            let known: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM tickets WHERE id = ?1)",
                [ticket.id.to_string()],
                |r| r.get(0),
            )?;
            let mut b = Batch::new(&tx)?;
            if !known {
                b.server_ticket(ticket)?;
                for a in activity {
                    b.activity(a, false)?;
                }
            }
            tx.execute(
                "INSERT INTO archive_kept (ticket_id, opened_at) VALUES (?1, ?2)
                 ON CONFLICT (ticket_id) DO UPDATE SET opened_at = excluded.opened_at",
                params![ticket.id.to_string(), millis(now)],
            )?;
            b.finish()?
        };
        tx.commit()?;
        Ok(changes)
    }
}
