//! Local actions: checked with the rules, applied optimistically and queued,
//! all in one transaction.

use chrono::TimeDelta;
use fyncall_domain::{Caller, Mutation, Stamp, Timestamp, apply};
use rusqlite::{Connection, params};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::events::ChangeSet;
use crate::rows::{Batch, load_state, visible_ticket};
use crate::{Cache, clock_offset_ms, me, millis};

/// A local action that was applied and queued.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Acted {
    /// The queued mutation's id (UUID v7); `None` when the action changed
    /// nothing and so was not queued.
    pub mutation_id: Option<Uuid>,
    pub changes: ChangeSet,
}

impl Cache {
    /// Applies an action of the signed-in agent at `local_now` (the local
    /// clock; the server-clock offset is added). A refusal writes nothing.
    pub fn act(&mut self, mutation: Mutation, local_now: Timestamp) -> Result<Acted> {
        self.act_inner(mutation, local_now, None)
    }

    /// Whether the rules allow an action now, without doing it: `None` if
    /// allowed, else the refusal (what the UI shows on a disabled control).
    pub fn check(
        &self,
        mutation: &Mutation,
        local_now: Timestamp,
    ) -> Result<Option<fyncall_domain::Refusal>> {
        let me = me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let at = local_now + TimeDelta::milliseconds(clock_offset_ms(&self.conn)?);
        let state = load_state(&self.conn, mutation)?;
        let stamp = Stamp {
            mutation_id: Uuid::nil(),
            at,
            client_at: Some(local_now),
        };
        Ok(apply(&state, Caller::Agent(me), mutation, &stamp).err())
    }

    /// The rules' answer for each candidate action (all on one ticket or
    /// one conversation: the state is read once, for the widest scope).
    pub(crate) fn offered(
        &self,
        candidates: Vec<(String, String, Mutation)>,
        local_now: Timestamp,
    ) -> Result<Vec<fyncall_domain::actions::Action>> {
        let Some((_, _, first)) = candidates.first() else {
            return Ok(Vec::new());
        };
        // The widest scope: one that reaches the linked tickets, if any does.
        let widest = candidates
            .iter()
            .map(|(_, _, m)| m)
            .find(|m| m.scope().linked)
            .unwrap_or(first);
        let me = me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let state = load_state(&self.conn, widest)?;
        let stamp = Stamp {
            mutation_id: Uuid::nil(),
            at: local_now + TimeDelta::milliseconds(clock_offset_ms(&self.conn)?),
            client_at: Some(local_now),
        };
        Ok(fyncall_domain::actions::evaluate(
            &state,
            Caller::Agent(me),
            candidates,
            &stamp,
        ))
    }

    pub(crate) fn act_inner(
        &mut self,
        mutation: Mutation,
        local_now: Timestamp,
        replaces_problem: Option<Uuid>,
    ) -> Result<Acted> {
        let tx = self.conn.transaction()?;
        let me = me(&tx)?.ok_or(CacheError::NotSignedIn)?;
        let at = local_now + TimeDelta::milliseconds(clock_offset_ms(&tx)?);
        let id = Uuid::now_v7();
        let state = load_state(&tx, &mutation)?;
        let stamp = Stamp {
            mutation_id: id,
            at,
            client_at: Some(local_now),
        };
        let applied = apply(&state, Caller::Agent(me), &mutation, &stamp)?;
        if let Some(problem) = replaces_problem {
            tx.execute("DELETE FROM problems WHERE id = ?1", [problem.to_string()])?;
        }
        if applied.is_noop() {
            tx.commit()?;
            return Ok(Acted {
                mutation_id: None,
                changes: ChangeSet {
                    queue: replaces_problem.is_some(),
                    ..ChangeSet::default()
                },
            });
        }
        let summary = summary(&tx, &mutation)?;
        let changes = {
            let mut b = Batch::new(&tx)?;
            b.local(&applied)?;
            tx.execute(
                "INSERT INTO outbox (id, mutation, client_at, made_at, summary)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.to_string(),
                    serde_json::to_string(&mutation)?,
                    millis(local_now),
                    millis(at),
                    summary
                ],
            )?;
            let mut changes = b.finish()?;
            changes.queue = true;
            changes
        };
        tx.commit()?;
        Ok(Acted {
            mutation_id: Some(id),
            changes,
        })
    }
}

pub(crate) fn ticket_label(conn: &Connection, id: Uuid) -> Result<String> {
    Ok(match visible_ticket(conn, id)? {
        Some((t, _)) => match t.number {
            Some(n) => format!("#{n}"),
            None => format!("new ticket \"{}\"", t.subject),
        },
        None => format!("ticket {id}"),
    })
}

/// A one-line description of a change, for the outbox and problems lists.
fn summary(conn: &Connection, mutation: &Mutation) -> Result<String> {
    Ok(match mutation {
        Mutation::CreateTicket(m) => format!("create ticket \"{}\"", m.subject),
        Mutation::EditTicket(m) => format!("edit {}", ticket_label(conn, m.ticket_id)?),
        Mutation::ChangeStatus(m) => format!(
            "set {} to {}",
            ticket_label(conn, m.ticket_id)?,
            m.status.as_str()
        ),
        Mutation::ChangePriority(m) => format!(
            "set priority of {} to {}",
            ticket_label(conn, m.ticket_id)?,
            m.priority.as_str()
        ),
        Mutation::Assign(m) => format!(
            "assign {} to {}",
            ticket_label(conn, m.ticket_id)?,
            match m.assignee_id {
                Some(a) => agent_label(conn, a)?,
                None => "nobody".into(),
            }
        ),
        Mutation::Comment(m) => format!("comment on {}", ticket_label(conn, m.ticket_id)?),
        Mutation::MergeTicket(m) => format!(
            "merge {} into {}",
            ticket_label(conn, m.ticket_id)?,
            ticket_label(conn, m.into_ticket_id)?
        ),
        Mutation::UnmergeTicket(m) => format!("unmerge {}", ticket_label(conn, m.ticket_id)?),
        Mutation::ClaimConversation(m) => format!("claim conversation {}", m.conversation_id),
        Mutation::AssignConversation(m) => format!(
            "assign conversation {} to {}",
            m.conversation_id,
            agent_label(conn, m.agent_id)?
        ),
        Mutation::Reply(m) => format!("reply on conversation {}", m.conversation_id),
        other => other.name().replace('_', " "),
    })
}

fn agent_label(conn: &Connection, id: Uuid) -> Result<String> {
    Ok(crate::rows::agents(conn)?
        .into_iter()
        .find(|a| a.id == id)
        .map_or_else(|| id.to_string(), |a| a.name))
}
