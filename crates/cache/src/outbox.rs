//! The outbox of pending changes, push answers, and sync problems.

use std::collections::{BTreeMap, BTreeSet};

use fyncall_domain::{Mutation, Timestamp};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::events::ChangeSet;
use crate::pull::rebase;
use crate::rows::{Batch, reach};
use crate::{Cache, from_millis, millis};

/// A change waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OutboxEntry {
    pub id: Uuid,
    #[serde(flatten)]
    pub mutation: Mutation,
    pub client_at: Timestamp,
    /// A one-line description ("resolve #1042").
    pub summary: String,
    /// The change sequence the server applied it at, once it answered.
    pub acked_seq: Option<i64>,
}

/// One result of `POST /sync/push`: the wire type, defined once in the domain.
pub use fyncall_domain::wire::PushResult;
use fyncall_domain::wire::{ErrorCode, Outcome, PushError};

/// A change the server refused, kept with its reason and the text typed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Problem {
    pub id: Uuid,
    #[serde(flatten)]
    pub mutation: Mutation,
    pub summary: String,
    pub code: ErrorCode,
    pub message: String,
    /// The refusal's `fields` and `current` (the server's text on a conflict).
    pub details: Option<Value>,
    /// What the agent typed, by field.
    pub typed: BTreeMap<String, String>,
    pub made_at: Timestamp,
    pub rejected_at: Timestamp,
}

impl Cache {
    /// The outbox, oldest first (acknowledged ones included until pulled).
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        self.outbox_where("1 = 1", i64::MAX)
    }

    /// The changes still to push, oldest first, at most `limit`.
    pub fn to_push(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_where("acked_seq IS NULL", limit as i64)
    }

    fn outbox_where(&self, filter: &str, limit: i64) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT id, mutation, client_at, summary, acked_seq FROM outbox WHERE {filter}
             ORDER BY position LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, m, client_at, summary, acked_seq) = row?;
            out.push(OutboxEntry {
                id: parse_id(&id)?,
                mutation: serde_json::from_str(&m)?,
                client_at: from_millis(client_at),
                summary,
                acked_seq,
            });
        }
        Ok(out)
    }

    /// Stores the server's answers to a push: applied ones wait (still laid
    /// on top) until a pull passes their sequence; refused ones move to the
    /// sync problems with the text kept, and their tickets show the
    /// server's state again.
    pub fn record_push(&mut self, results: &[PushResult], now: Timestamp) -> Result<ChangeSet> {
        let tx = self.conn.transaction()?;
        let changes = {
            let cursor = crate::cursor(&tx)?;
            let mut b = Batch::new(&tx)?;
            let mut tickets = BTreeSet::new();
            let mut conversations = BTreeSet::new();
            for r in results {
                let row: Option<(String, String, i64)> = tx
                    .query_row(
                        "SELECT mutation, summary, made_at FROM outbox WHERE id = ?1",
                        [r.id.to_string()],
                        |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?)),
                    )
                    .optional()?;
                let Some((json, summary, made_at)) = row else {
                    continue;
                };
                let mutation: Mutation = serde_json::from_str(&json)?;
                if r.error_code() == Some(ErrorCode::Unavailable) {
                    // The server's store could not take it now: it stays queued.
                    continue;
                }
                b.changes.queue = true;
                let refused = r.refused();
                if !refused {
                    crate::restore::journal(&tx, r.id, now)?;
                }
                crate::restore::count_resent(&tx, r.id, r.outcome == Outcome::Applied)?;
                match (refused, r.seq) {
                    (false, Some(seq)) if seq > cursor => {
                        tx.execute(
                            "UPDATE outbox SET acked_seq = ?1 WHERE id = ?2",
                            params![seq, r.id.to_string()],
                        )?;
                        continue;
                    }
                    (false, _) => {}
                    (true, _) => {
                        let error = r.error.clone().unwrap_or_else(|| {
                            PushError::new(ErrorCode::Internal, "the server refused this change")
                        });
                        let mut details = serde_json::Map::new();
                        if !error.fields.is_empty() {
                            details.insert("fields".into(), serde_json::to_value(&error.fields)?);
                        }
                        if !error.current.is_empty() {
                            details.insert("current".into(), serde_json::to_value(&error.current)?);
                        }
                        let typed: BTreeMap<&str, &str> =
                            mutation.typed_text().into_iter().collect();
                        tx.execute(
                            "INSERT OR REPLACE INTO problems
                                 (id, mutation, summary, code, message, details, typed, made_at,
                                  rejected_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            params![
                                r.id.to_string(),
                                json,
                                summary,
                                error.code.as_str(),
                                error.message,
                                (!details.is_empty()).then(|| Value::Object(details).to_string()),
                                serde_json::to_string(&typed)?,
                                made_at,
                                millis(now),
                            ],
                        )?;
                    }
                }
                // Done with it: refused, or applied at a sequence already pulled.
                tx.execute("DELETE FROM outbox WHERE id = ?1", [r.id.to_string()])?;
                reach(&tx, &mutation, &mut tickets, &mut conversations)?;
            }
            crate::restore::prune(&tx, now)?;
            rebase(&mut b, tickets, conversations)?;
            b.finish()?
        };
        tx.commit()?;
        Ok(changes)
    }

    /// The sync problems, oldest first.
    pub fn problems(&self) -> Result<Vec<Problem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, mutation, summary, code, message, details, typed, made_at, rejected_at
             FROM problems ORDER BY rejected_at, made_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, m, summary, code, message, details, typed, made_at, rejected_at) = row?;
            out.push(Problem {
                id: parse_id(&id)?,
                mutation: serde_json::from_str(&m)?,
                summary,
                // A code this build does not know (kept by another build).
                code: ErrorCode::parse(&code).unwrap_or(ErrorCode::Internal),
                message,
                details: details.map(|d| serde_json::from_str(&d)).transpose()?,
                typed: serde_json::from_str(&typed)?,
                made_at: from_millis(made_at),
                rejected_at: from_millis(rejected_at),
            });
        }
        Ok(out)
    }

    fn problem(&self, id: Uuid) -> Result<Problem> {
        self.problems()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| {
                CacheError::NotFound(format!(
                    "no sync problem {id}: `fyncall problems` lists them"
                ))
            })
    }

    /// Sends a refused change again, as a new change made now. An edit is
    /// re-based on the ticket as the agent sees it now (they chose their
    /// text over the server's). The problem stays if the rules refuse it.
    pub fn retry_problem(&mut self, id: Uuid, local_now: Timestamp) -> Result<crate::Acted> {
        let problem = self.problem(id)?;
        let mut mutation = problem.mutation;
        if let Mutation::EditTicket(edit) = &mut mutation {
            if edit.base_version.is_some() {
                edit.base_version = crate::rows::visible_ticket(&self.conn, edit.ticket_id)?
                    .map(|(t, _)| t.version);
            }
        }
        let acted = self.act_inner(mutation, local_now, Some(id))?;
        Ok(acted)
    }

    /// Forgets a refused change (its text goes with it).
    pub fn discard_problem(&mut self, id: Uuid) -> Result<()> {
        self.problem(id)?;
        self.conn
            .execute("DELETE FROM problems WHERE id = ?1", [id.to_string()])?;
        Ok(())
    }
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|e| CacheError::Corrupt(format!("id {id}: {e}")))
}
