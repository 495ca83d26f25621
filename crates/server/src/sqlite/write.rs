//! Writes: the steps of the one write path (`crate::write`) on SQLite, and
//! the few writes outside it (agents, settings, tokens). Each public
//! operation is one transaction. The change log row of every entity written
//! is updated in the same transaction, so a pull never sees a change without
//! its sequence nor a sequence without its change.

use std::collections::HashMap;

use fyncall_domain::{
    Activity, Agent, Conversation, Message, TeamSettings, Ticket, Timestamp, sla,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::tokens::SqliteTokens;
use super::{SqliteStore, agents, db_err, load_ticket, load_tickets_of, now_text, settings};
use crate::inbox;
use crate::rows::{activity_body, next_breach_at, outcome_text, source_text};
use crate::store::{Ending, StoreResult};
use crate::time::iso;
use crate::write::Steps;

/// Gives the next change sequence to an entity's change-log row.
pub(super) fn bump(tx: &Connection, entity: &str, id: &str) -> StoreResult<i64> {
    let seq: i64 = tx
        .prepare_cached("UPDATE team SET seq = seq + 1 WHERE id = 1 RETURNING seq")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(db_err)?;
    tx.prepare_cached(
        "INSERT INTO changes (seq, entity, entity_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq",
    )
    .and_then(|mut st| st.execute(params![seq, entity, id]))
    .map_err(db_err)?;
    Ok(seq)
}

/// The insert of a ticket's row (what changes when it is there already: `rows::ticket_update`).
macro_rules! ticket_insert {
    () => {
        "INSERT INTO tickets (id, number, conversation_id, subject, description, status, priority_rank, assignee_id,
                              category, source, created_at, updated_at, due_at, at_risk_at, next_breach_at, data, tags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    };
}

pub(super) fn save_ticket(
    tx: &Connection,
    ticket: &mut Ticket,
    settings: &TeamSettings,
) -> StoreResult<i64> {
    let new = ticket.number.is_none();
    if new {
        let number: i64 = tx
            .prepare_cached(
                "UPDATE team SET next_number = next_number + 1 WHERE id = 1 RETURNING next_number - 1",
            )
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(db_err)?;
        ticket.number = Some(number);
    }
    let moments = sla::moments(ticket, &settings.sla);
    let data = serde_json::to_string(ticket).map_err(db_err)?;
    // A new ticket never replaces one already there (its id was taken).
    let written = tx
        .prepare_cached(if new {
            concat!(ticket_insert!(), " ON CONFLICT (id) DO NOTHING")
        } else {
            concat!(
                ticket_insert!(),
                " ON CONFLICT (id) DO UPDATE SET ",
                crate::rows::ticket_update!()
            )
        })
        .and_then(|mut st| {
            st.execute(params![
                ticket.id.to_string(),
                ticket.number,
                ticket.conversation_id.to_string(),
                ticket.subject,
                ticket.description,
                ticket.status.as_str(),
                ticket.priority.rank(),
                ticket.assignee_id.map(|a| a.to_string()),
                ticket.category,
                source_text(ticket),
                iso(ticket.created_at),
                iso(ticket.updated_at),
                moments.due_at.map(iso),
                moments.at_risk_at.map(iso),
                next_breach_at(ticket, settings).map(iso),
                data,
                fyncall_domain::tags::column(&ticket.tags),
            ])
        })
        .map_err(db_err)?;
    if written == 0 {
        return Err(fyncall_domain::Refusal::ticket_exists(ticket.id).into());
    }
    bump(tx, "ticket", &ticket.id.to_string())
}

fn insert_activity(tx: &Connection, entry: &Activity) -> StoreResult<Option<i64>> {
    let data = serde_json::to_string(entry).map_err(db_err)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO activity (id, ticket_id, at, kind, body, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO NOTHING",
        )
        .and_then(|mut st| {
            st.execute(params![
                entry.id.to_string(),
                entry.ticket_id.to_string(),
                iso(entry.at),
                entry.change.kind(),
                activity_body(entry),
                data,
            ])
        })
        .map_err(db_err)?;
    if inserted == 0 {
        return Ok(None);
    }
    bump(tx, "activity", &entry.id.to_string()).map(Some)
}

/// The write path's steps ([`crate::write::Steps`]) on the writer's open transaction.
pub(super) struct SqliteSteps<'c> {
    pub(super) conn: &'c Connection,
}

impl Steps for SqliteSteps<'_> {
    fn savepoint(&mut self) -> StoreResult<()> {
        self.conn
            .execute_batch("SAVEPOINT fyncall_step")
            .map_err(db_err)
    }

    fn release_savepoint(&mut self) -> StoreResult<()> {
        self.conn
            .execute_batch("RELEASE SAVEPOINT fyncall_step")
            .map_err(db_err)
    }

    /// The team row's counters roll back with the rest: no gaps.
    fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        self.conn
            .execute_batch("ROLLBACK TO SAVEPOINT fyncall_step")
            .map_err(db_err)
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.conn)
    }

    fn agents(&mut self) -> StoreResult<Vec<Agent>> {
        agents(self.conn)
    }

    // SQLite has one writer at a time: what this transaction reads stays
    // as it is until it commits, with no row locks needed.
    fn lock_ticket(&mut self, id: Uuid) -> StoreResult<Option<Ticket>> {
        load_ticket(self.conn, id)
    }

    fn lock_conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> StoreResult<Option<(Conversation, Vec<Ticket>)>> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM conversations WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?;
        let Some(json) = json else {
            return Ok(None);
        };
        let c: Conversation = serde_json::from_str(&json).map_err(db_err)?;
        let tickets = if linked {
            load_tickets_of(self.conn, id)?
        } else {
            Vec::new()
        };
        Ok(Some((c, tickets)))
    }

    fn lock_due_tickets(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Ticket>> {
        super::parse_rows(
            self.conn,
            "SELECT data FROM tickets WHERE next_breach_at <= ?1 ORDER BY next_breach_at LIMIT ?2",
            params![iso(now), limit],
        )
    }

    fn save_ticket(&mut self, ticket: &mut Ticket, settings: &TeamSettings) -> StoreResult<i64> {
        save_ticket(self.conn, ticket, settings)
    }

    fn save_conversation(&mut self, c: &Conversation) -> StoreResult<i64> {
        let id = inbox::save_conversation(&mut SqliteTokens(self.conn), c)?;
        bump(self.conn, "conversation", &id)
    }

    fn with_sql(
        &mut self,
        work: &mut dyn FnMut(&mut dyn crate::sessions::TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        work(&mut SqliteTokens(self.conn))
    }

    fn insert_message(&mut self, message: &Message) -> StoreResult<bool> {
        inbox::insert_message(&mut SqliteTokens(self.conn), message)
    }

    fn insert_activity(&mut self, entry: &Activity) -> StoreResult<Option<i64>> {
        insert_activity(self.conn, entry)
    }

    fn mutation_outcomes(
        &mut self,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, crate::write::StoredOutcome>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT outcome, seq, error FROM mutations WHERE id = ?1")
            .map_err(db_err)?;
        let mut found = HashMap::new();
        for id in ids {
            let stored = st
                .query_row(params![id.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(db_err)?;
            if let Some(stored) = stored {
                found.insert(*id, stored);
            }
        }
        Ok(found)
    }

    fn claim_answered(&mut self, claims: &[crate::write::Claim]) -> StoreResult<usize> {
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO mutations (id, outcome, seq, error, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO NOTHING",
            )
            .map_err(db_err)?;
        let mut claimed = 0;
        for c in claims {
            claimed += st
                .execute(params![
                    c.id.to_string(),
                    outcome_text(c.outcome),
                    c.seq,
                    c.error,
                    now_text(c.at)
                ])
                .map_err(db_err)?;
        }
        Ok(claimed)
    }

    fn notify(&mut self, _seq: i64) -> StoreResult<()> {
        // One process serves an SQLite store: the API announces the change itself.
        Ok(())
    }

    // One writer at a time: the transaction itself keeps others out.
    fn lock_agents(&mut self) -> StoreResult<Vec<Agent>> {
        agents(self.conn)
    }

    fn insert_agent(&mut self, agent: &Agent, password_hash: &str) -> StoreResult<bool> {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO agents (id, email, password_hash, data) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![agent.id.to_string(), agent.email, password_hash, serde_json::to_string(agent).map_err(db_err)?],
            )
            .map_err(db_err)?;
        Ok(inserted > 0)
    }

    fn save_agent(&mut self, agent: &Agent) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE agents SET data = ?2 WHERE id = ?1",
                params![
                    agent.id.to_string(),
                    serde_json::to_string(agent).map_err(db_err)?
                ],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn end_sessions(&mut self, agent: Uuid, now: Timestamp) -> StoreResult<()> {
        crate::sessions::end(&mut SqliteTokens(self.conn), agent, &Ending::All, now)?;
        Ok(())
    }

    fn save_settings(&mut self, settings: &TeamSettings) -> StoreResult<()> {
        self.conn
            .execute(
                "UPDATE team SET settings = ?1 WHERE id = 1",
                params![serde_json::to_string(settings).map_err(db_err)?],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn running_tickets(&mut self) -> StoreResult<Vec<Ticket>> {
        super::parse_rows(
            self.conn,
            &format!(
                "SELECT data FROM tickets WHERE {}",
                fyncall_domain::lifecycle::not_closed_sql("status")
            ),
            [],
        )
    }

    fn save_moments(&mut self, t: &Ticket, settings: &TeamSettings) -> StoreResult<()> {
        let m = sla::moments(t, &settings.sla);
        self.conn
            .prepare_cached(
                "UPDATE tickets SET due_at = ?2, at_risk_at = ?3, next_breach_at = ?4 WHERE id = ?1",
            )
            .and_then(|mut st| {
                st.execute(params![
                    t.id.to_string(),
                    m.due_at.map(iso),
                    m.at_risk_at.map(iso),
                    next_breach_at(t, settings).map(iso)
                ])
            })
            .map_err(db_err)?;
        Ok(())
    }

    fn bump(&mut self, entity: &str, id: &str) -> StoreResult<i64> {
        bump(self.conn, entity, id)
    }
}

impl SqliteStore {
    /// Runs `work` in one transaction on the writer connection.
    pub(crate) fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn Steps) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            work(&mut SqliteSteps { conn: &tx })?;
            tx.commit().map_err(db_err)
        })
    }
}
