//! Writes: each public operation is one transaction. The change log row of
//! every entity written is updated in the same transaction, so a pull never
//! sees a change without its sequence nor a sequence without its change.

use fyncall_domain::{
    Activity, Agent, Caller, Message, Mutation, Role, Stamp, State, TeamSettings, Ticket,
    Timestamp, sla,
};
use rusqlite::{Transaction, params};
use serde_json::Value;
use uuid::Uuid;

use super::{SqliteStore, agents, db_err, load_ticket, load_tickets_of, now_text, settings};
use crate::error::ApiError;
use crate::rows::{activity_body, next_breach_at, source_text};
use crate::store::{Committed, PushOutcome, StoreResult};
use crate::time::iso;

/// Gives the next change sequence to an entity's change-log row.
pub(super) fn bump(tx: &Transaction<'_>, entity: &str, id: &str) -> StoreResult<i64> {
    let seq: i64 = tx
        .query_row(
            "UPDATE team SET seq = seq + 1 WHERE id = 1 RETURNING seq",
            [],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    tx.execute(
        "INSERT INTO changes (seq, entity, entity_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq",
        params![seq, entity, id],
    )
    .map_err(db_err)?;
    Ok(seq)
}

pub(super) fn save_ticket(
    tx: &Transaction<'_>,
    ticket: &mut Ticket,
    settings: &TeamSettings,
) -> StoreResult<i64> {
    if ticket.number.is_none() {
        let number: i64 = tx
            .query_row(
                "UPDATE team SET next_number = next_number + 1 WHERE id = 1 RETURNING next_number - 1",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        ticket.number = Some(number);
    }
    let moments = sla::moments(ticket, &settings.sla);
    let data = serde_json::to_string(ticket).map_err(db_err)?;
    tx.execute(
        "INSERT INTO tickets (id, number, conversation_id, subject, description, status, priority_rank, assignee_id,
                              category, source, created_at, updated_at, due_at, at_risk_at, next_breach_at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (id) DO UPDATE SET
             subject = excluded.subject, description = excluded.description, status = excluded.status,
             priority_rank = excluded.priority_rank, assignee_id = excluded.assignee_id,
             category = excluded.category, updated_at = excluded.updated_at, due_at = excluded.due_at,
             at_risk_at = excluded.at_risk_at, next_breach_at = excluded.next_breach_at, data = excluded.data",
        params![
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
        ],
    )
    .map_err(db_err)?;
    bump(tx, "ticket", &ticket.id.to_string())
}

fn insert_activity(tx: &Transaction<'_>, entry: &Activity) -> StoreResult<i64> {
    let body = activity_body(entry);
    let inserted = tx
        .execute(
            "INSERT INTO activity (id, ticket_id, at, kind, body, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO NOTHING",
            params![
                entry.id.to_string(),
                entry.ticket_id.to_string(),
                iso(entry.at),
                entry.change.kind(),
                body,
                serde_json::to_string(entry).map_err(db_err)?,
            ],
        )
        .map_err(db_err)?;
    if inserted == 0 {
        return Err(ApiError::new(
            crate::error::ErrorCode::Conflict,
            format!(
                "a timeline entry with id {} already exists: use a new id",
                entry.id
            ),
        )
        .into());
    }
    bump(tx, "activity", &entry.id.to_string())
}

fn insert_message(tx: &Transaction<'_>, message: &Message) -> StoreResult<()> {
    let inserted = tx
        .execute(
            "INSERT INTO messages (id, conversation_id, sent_at, data) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
            params![
                message.id.to_string(),
                message.conversation_id.to_string(),
                iso(message.sent_at),
                serde_json::to_string(message).map_err(db_err)?,
            ],
        )
        .map_err(db_err)?;
    if inserted == 0 {
        return Err(ApiError::new(
            crate::error::ErrorCode::Conflict,
            format!(
                "a message with id {} already exists: use a new id",
                message.id
            ),
        )
        .into());
    }
    Ok(())
}

fn load_state(tx: &Transaction<'_>, mutation: &Mutation) -> StoreResult<State> {
    let mut state = State {
        settings: settings(tx)?,
        ..State::default()
    };
    for agent in agents(tx)? {
        state.agents.insert(agent.id, agent);
    }
    let scope = mutation.scope();
    if let Some(id) = scope.ticket {
        if let Some(t) = load_ticket(tx, id)? {
            state.tickets.insert(t.id, t);
        }
    }
    if let Some(id) = scope.conversation {
        let json: Option<String> = rusqlite::OptionalExtension::optional(tx.query_row(
            "SELECT data FROM conversations WHERE id = ?1",
            params![id.to_string()],
            |r| r.get(0),
        ))
        .map_err(db_err)?;
        if let Some(json) = json {
            let c: fyncall_domain::Conversation = serde_json::from_str(&json).map_err(db_err)?;
            state.conversations.insert(c.id, c);
            for t in load_tickets_of(tx, id)? {
                state.tickets.insert(t.id, t);
            }
        }
    }
    Ok(state)
}

fn record_outcome(
    tx: &Transaction<'_>,
    id: Uuid,
    outcome: &str,
    seq: Option<i64>,
    error: Option<&Value>,
    now: Timestamp,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO mutations (id, outcome, seq, error, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.to_string(),
            outcome,
            seq,
            error.map(|e| e.to_string()),
            now_text(now)
        ],
    )
    .map_err(db_err)?;
    Ok(())
}

fn seen_before(tx: &Transaction<'_>, id: Uuid) -> StoreResult<Option<PushOutcome>> {
    let row: Option<(String, Option<i64>, Option<String>)> =
        rusqlite::OptionalExtension::optional(tx.query_row(
            "SELECT outcome, seq, error FROM mutations WHERE id = ?1",
            params![id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        ))
        .map_err(db_err)?;
    Ok(row.map(|(outcome, seq, error)| PushOutcome {
        id,
        outcome: "duplicate".into(),
        seq,
        error: error
            .and_then(|e| serde_json::from_str(&e).ok())
            .or_else(|| (outcome == "rejected").then(|| Value::String("rejected".into()))),
    }))
}

impl SqliteStore {
    pub(crate) fn apply_mutation(
        &self,
        caller: Caller,
        mutation: &Mutation,
        mutation_id: Uuid,
        client_at: Option<Timestamp>,
        now: Timestamp,
        idempotency: bool,
    ) -> StoreResult<Result<Committed, PushOutcome>> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            if idempotency {
                if let Some(first) = seen_before(&tx, mutation_id)? {
                    return Ok(Err(first));
                }
            }
            let state = load_state(&tx, mutation)?;
            let stamp = Stamp { mutation_id, at: now, client_at };
            // A refusal returns here: the transaction rolls back, nothing is written.
            let mut applied = fyncall_domain::apply(&state, caller, mutation, &stamp)?;
            let mut seq = None;
            for id in &applied.tickets {
                if let Some(ticket) = applied.state.tickets.get_mut(id) {
                    seq = Some(save_ticket(&tx, ticket, &applied.state.settings)?);
                }
            }
            let mut conversations = applied.conversations.clone();
            for message in &applied.messages {
                insert_message(&tx, message)?;
                conversations.insert(message.conversation_id);
            }
            for id in &conversations {
                if let Some(c) = applied.state.conversations.get(id) {
                    tx.execute(
                        "INSERT INTO conversations (id, assignee_id, created_at, data) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (id) DO UPDATE SET assignee_id = excluded.assignee_id, data = excluded.data",
                        params![
                            c.id.to_string(),
                            c.assignee_id.map(|a| a.to_string()),
                            iso(c.created_at),
                            serde_json::to_string(c).map_err(db_err)?
                        ],
                    )
                    .map_err(db_err)?;
                    seq = Some(bump(&tx, "conversation", &c.id.to_string())?);
                }
            }
            for entry in &applied.activity {
                seq = Some(insert_activity(&tx, entry)?);
            }
            if idempotency {
                record_outcome(&tx, mutation_id, "applied", seq, None, now)?;
            }
            tx.commit().map_err(db_err)?;
            Ok(Ok(Committed {
                seq,
                tickets: applied.tickets.iter().copied().collect(),
                conversations: conversations.into_iter().collect(),
                messages: applied.messages,
                activity: applied.activity.iter().filter_map(|a| serde_json::to_value(a).ok()).collect(),
            }))
        })
    }

    pub(crate) fn record_rejection_row(
        &self,
        mutation_id: Uuid,
        error: &Value,
        now: Timestamp,
    ) -> StoreResult<Option<PushOutcome>> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            if let Some(first) = seen_before(&tx, mutation_id)? {
                return Ok(Some(first));
            }
            record_outcome(&tx, mutation_id, "rejected", None, Some(error), now)?;
            tx.commit().map_err(db_err)?;
            Ok(None)
        })
    }

    pub(crate) fn sweep(&self, now: Timestamp) -> StoreResult<Option<i64>> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            let settings = settings(&tx)?;
            let due: Vec<String> = {
                let mut stmt = tx
                    .prepare_cached("SELECT data FROM tickets WHERE next_breach_at <= ?1 LIMIT 500")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![iso(now)], |r| r.get(0))
                    .map_err(db_err)?;
                rows.collect::<Result<_, _>>().map_err(db_err)?
            };
            let mut seq = None;
            for json in due {
                let ticket: Ticket = serde_json::from_str(&json).map_err(db_err)?;
                match fyncall_domain::observe_breaches(&ticket, &settings, now) {
                    Some((mut ticket, entries)) => {
                        save_ticket(&tx, &mut ticket, &settings)?;
                        for e in &entries {
                            seq = Some(insert_activity(&tx, e)?);
                        }
                    }
                    None => {
                        // Not yet past due at millisecond precision: recompute the moment.
                        let mut ticket = ticket;
                        save_ticket(&tx, &mut ticket, &settings)?;
                    }
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(seq)
        })
    }

    pub(crate) fn insert_agent(&self, agent: &Agent, password_hash: &str) -> StoreResult<i64> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            let inserted = tx
                .execute(
                    "INSERT INTO agents (id, email, password_hash, data) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![agent.id.to_string(), agent.email, password_hash, serde_json::to_string(agent).map_err(db_err)?],
                )
                .map_err(db_err)?;
            if inserted == 0 {
                return Err(ApiError::new(
                    crate::error::ErrorCode::Conflict,
                    format!("an agent with email {} already exists", agent.email),
                )
                .into());
            }
            let seq = bump(&tx, "agent", &agent.id.to_string())?;
            tx.commit().map_err(db_err)?;
            Ok(seq)
        })
    }

    pub(crate) fn patch_agent(
        &self,
        id: Uuid,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<(Agent, i64)> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            let all = agents(&tx)?;
            let agent = crate::rows::patched_agent(&all, id, role, active)?;
            tx.execute(
                "UPDATE agents SET data = ?2 WHERE id = ?1",
                params![
                    id.to_string(),
                    serde_json::to_string(&agent).map_err(db_err)?
                ],
            )
            .map_err(db_err)?;
            let seq = bump(&tx, "agent", &id.to_string())?;
            tx.commit().map_err(db_err)?;
            Ok((agent, seq))
        })
    }

    pub(crate) fn save_settings(&self, new: &TeamSettings) -> StoreResult<i64> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            tx.execute("UPDATE team SET settings = ?1 WHERE id = 1", params![serde_json::to_string(new).map_err(db_err)?])
                .map_err(db_err)?;
            // Running deadlines move with the policy: recompute the stored moments.
            let rows: Vec<String> = {
                let mut stmt = tx.prepare("SELECT data FROM tickets WHERE status <> 'closed'").map_err(db_err)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(db_err)?;
                rows.collect::<Result<_, _>>().map_err(db_err)?
            };
            for json in rows {
                let t: Ticket = serde_json::from_str(&json).map_err(db_err)?;
                let m = sla::moments(&t, &new.sla);
                tx.execute(
                    "UPDATE tickets SET due_at = ?2, at_risk_at = ?3, next_breach_at = ?4 WHERE id = ?1",
                    params![t.id.to_string(), m.due_at.map(iso), m.at_risk_at.map(iso), next_breach_at(&t, new).map(iso)],
                )
                .map_err(db_err)?;
            }
            let seq = bump(&tx, "settings", &Uuid::nil().to_string())?;
            tx.commit().map_err(db_err)?;
            Ok(seq)
        })
    }

    pub(crate) fn token_insert(
        &self,
        hash: &str,
        agent_id: Option<Uuid>,
        integration: Option<&str>,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|conn| {
            conn.execute(
                "INSERT INTO tokens (hash, agent_id, integration, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, agent_id.map(|a| a.to_string()), integration, iso(now)],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    pub(crate) fn token_revoke(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.write(|conn| {
            conn.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                params![hash, iso(now)],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }
}
