//! Writes: each public operation is one transaction that locks what it reads
//! before deciding (see the module above for the locking order and why the
//! change sequence stays gap-safe).

use fyncall_domain::{
    Activity, Agent, Caller, Conversation, Message, Mutation, Role, Stamp, State, TeamSettings,
    Ticket, Timestamp, sla,
};
use postgres::Transaction;
use serde_json::Value;
use uuid::Uuid;

use super::{CHANNEL, Db, PgStore, agents, db_err, iso_opt, parse_rows, settings};
use crate::error::{ApiError, ErrorCode};
use crate::rows::{activity_body, next_breach_at, source_text};
use crate::store::{Committed, PushOutcome, StoreResult};
use crate::time::iso;

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// Gives the next change sequence to an entity's change-log row. The first
/// call in a transaction takes the team row's lock until commit.
fn bump(db: &mut Tx<'_, '_>, entity: &str, id: &str) -> StoreResult<i64> {
    let seq: i64 = db
        .query_one(
            "UPDATE team SET seq = seq + 1 WHERE id = 1 RETURNING seq",
            &[],
        )?
        .get(0);
    db.execute(
        "INSERT INTO changes (seq, entity, entity_id) VALUES ($1, $2, $3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq",
        &[&seq, &entity, &id],
    )?;
    Ok(seq)
}

/// Wakes the live streams of every instance once this transaction commits.
fn notify(db: &mut Tx<'_, '_>, seq: Option<i64>) -> StoreResult<()> {
    if let Some(seq) = seq {
        db.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &seq.to_string()])?;
    }
    Ok(())
}

fn save_ticket(
    db: &mut Tx<'_, '_>,
    ticket: &mut Ticket,
    settings: &TeamSettings,
) -> StoreResult<i64> {
    if ticket.number.is_none() {
        let number: i64 = db
            .query_one(
                "UPDATE team SET next_number = next_number + 1 WHERE id = 1 RETURNING next_number - 1",
                &[],
            )?
            .get(0);
        ticket.number = Some(number);
    }
    let moments = sla::moments(ticket, &settings.sla);
    let data = serde_json::to_string(ticket).map_err(db_err)?;
    db.execute(
        "INSERT INTO tickets (id, number, conversation_id, subject, description, status, priority_rank, assignee_id,
                              category, source, created_at, updated_at, due_at, at_risk_at, next_breach_at, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (id) DO UPDATE SET
             subject = excluded.subject, description = excluded.description, status = excluded.status,
             priority_rank = excluded.priority_rank, assignee_id = excluded.assignee_id,
             category = excluded.category, updated_at = excluded.updated_at, due_at = excluded.due_at,
             at_risk_at = excluded.at_risk_at, next_breach_at = excluded.next_breach_at, data = excluded.data",
        &[
            &ticket.id.to_string(),
            &ticket.number,
            &ticket.conversation_id.to_string(),
            &ticket.subject,
            &ticket.description,
            &ticket.status.as_str(),
            &i64::from(ticket.priority.rank()),
            &ticket.assignee_id.map(|a| a.to_string()),
            &ticket.category,
            &source_text(ticket),
            &iso(ticket.created_at),
            &iso(ticket.updated_at),
            &iso_opt(moments.due_at),
            &iso_opt(moments.at_risk_at),
            &iso_opt(next_breach_at(ticket, settings)),
            &data,
        ],
    )?;
    bump(db, "ticket", &ticket.id.to_string())
}

fn insert_activity(db: &mut Tx<'_, '_>, entry: &Activity) -> StoreResult<i64> {
    let inserted = db.execute(
        "INSERT INTO activity (id, ticket_id, at, kind, body, data) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING",
        &[
            &entry.id.to_string(),
            &entry.ticket_id.to_string(),
            &iso(entry.at),
            &entry.change.kind(),
            &activity_body(entry),
            &serde_json::to_string(entry).map_err(db_err)?,
        ],
    )?;
    if inserted == 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a timeline entry with id {} already exists: use a new id",
                entry.id
            ),
        )
        .into());
    }
    bump(db, "activity", &entry.id.to_string())
}

fn insert_message(db: &mut Tx<'_, '_>, message: &Message) -> StoreResult<()> {
    let inserted = db.execute(
        "INSERT INTO messages (id, conversation_id, sent_at, data) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        &[
            &message.id.to_string(),
            &message.conversation_id.to_string(),
            &iso(message.sent_at),
            &serde_json::to_string(message).map_err(db_err)?,
        ],
    )?;
    if inserted == 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a message with id {} already exists: use a new id",
                message.id
            ),
        )
        .into());
    }
    Ok(())
}

fn save_conversation(db: &mut Tx<'_, '_>, c: &Conversation) -> StoreResult<i64> {
    db.execute(
        "INSERT INTO conversations (id, assignee_id, created_at, data) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET assignee_id = excluded.assignee_id, data = excluded.data",
        &[
            &c.id.to_string(),
            &c.assignee_id.map(|a| a.to_string()),
            &iso(c.created_at),
            &serde_json::to_string(c).map_err(db_err)?,
        ],
    )?;
    bump(db, "conversation", &c.id.to_string())
}

/// Locks and loads what a mutation may read. Rows first, then the settings
/// and agents, so a policy change that committed while this waited is seen.
fn load_state(db: &mut Tx<'_, '_>, mutation: &Mutation) -> StoreResult<State> {
    let scope = mutation.scope();
    let mut state = State::default();
    if let Some(id) = scope.conversation {
        let id = id.to_string();
        if let Some(row) = db.query_opt(
            "SELECT data FROM conversations WHERE id = $1 FOR UPDATE",
            &[&id],
        )? {
            let c: Conversation = serde_json::from_str(row.get::<_, &str>(0)).map_err(db_err)?;
            state.conversations.insert(c.id, c);
            let rows = db.query(
                "SELECT data FROM tickets WHERE conversation_id = $1 ORDER BY created_at, id FOR UPDATE",
                &[&id],
            )?;
            for t in parse_rows::<Ticket>(&rows)? {
                state.tickets.insert(t.id, t);
            }
        }
    }
    if let Some(id) = scope.ticket {
        if !state.tickets.contains_key(&id) {
            if let Some(row) = db.query_opt(
                "SELECT data FROM tickets WHERE id = $1 FOR UPDATE",
                &[&id.to_string()],
            )? {
                let t: Ticket = serde_json::from_str(row.get::<_, &str>(0)).map_err(db_err)?;
                state.tickets.insert(t.id, t);
            }
        }
    }
    state.settings = settings(db)?;
    for agent in agents(db)? {
        state.agents.insert(agent.id, agent);
    }
    Ok(state)
}

fn seen_before(db: &mut Tx<'_, '_>, id: Uuid) -> StoreResult<Option<PushOutcome>> {
    let row = db.query_opt(
        "SELECT outcome, seq, error FROM mutations WHERE id = $1",
        &[&id.to_string()],
    )?;
    Ok(row.map(|r| {
        let outcome: String = r.get(0);
        let error: Option<String> = r.get(2);
        PushOutcome {
            id,
            outcome: "duplicate".into(),
            seq: r.get(1),
            error: error
                .and_then(|e| serde_json::from_str(&e).ok())
                .or_else(|| (outcome == "rejected").then(|| Value::String("rejected".into()))),
        }
    }))
}

/// Claims a pushed mutation's id for this transaction. `false` means another
/// transaction already answered it (having waited for it to finish).
fn claim(
    db: &mut Tx<'_, '_>,
    id: Uuid,
    outcome: &str,
    error: Option<&Value>,
    now: Timestamp,
) -> StoreResult<bool> {
    let claimed = db.execute(
        "INSERT INTO mutations (id, outcome, error, at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        &[&id.to_string(), &outcome, &error.map(|e| e.to_string()), &iso(now)],
    )?;
    Ok(claimed == 1)
}

fn duplicate(db: &mut Tx<'_, '_>, id: Uuid) -> StoreResult<PushOutcome> {
    seen_before(db, id)?
        .ok_or_else(|| db_err(format!("mutation {id} was claimed but has no answer")))
}

pub(super) fn insert_agent(
    db: &mut Tx<'_, '_>,
    agent: &Agent,
    password_hash: &str,
) -> StoreResult<i64> {
    let inserted = db.execute(
        "INSERT INTO agents (id, email, password_hash, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[
            &agent.id.to_string(),
            &agent.email,
            &password_hash,
            &serde_json::to_string(agent).map_err(db_err)?,
        ],
    )?;
    if inserted == 0 {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("an agent with email {} already exists", agent.email),
        )
        .into());
    }
    let seq = bump(db, "agent", &agent.id.to_string())?;
    notify(db, Some(seq))?;
    Ok(seq)
}

impl PgStore {
    pub(crate) fn apply_mutation(
        &self,
        caller: Caller,
        mutation: &Mutation,
        mutation_id: Uuid,
        client_at: Option<Timestamp>,
        now: Timestamp,
        idempotency: bool,
    ) -> StoreResult<Result<Committed, PushOutcome>> {
        self.write(|db| {
            if idempotency && !claim(db, mutation_id, "applying", None, now)? {
                return Ok(Err(duplicate(db, mutation_id)?));
            }
            let state = load_state(db, mutation)?;
            let stamp = Stamp {
                mutation_id,
                at: now,
                client_at,
            };
            // A refusal returns here: the transaction rolls back, the claim with it.
            let mut applied = fyncall_domain::apply(&state, caller, mutation, &stamp)?;
            let mut seq = None;
            for id in &applied.tickets {
                if let Some(ticket) = applied.state.tickets.get_mut(id) {
                    seq = Some(save_ticket(db, ticket, &applied.state.settings)?);
                }
            }
            let mut conversations = applied.conversations.clone();
            for message in &applied.messages {
                insert_message(db, message)?;
                conversations.insert(message.conversation_id);
            }
            for id in &conversations {
                if let Some(c) = applied.state.conversations.get(id) {
                    seq = Some(save_conversation(db, c)?);
                }
            }
            for entry in &applied.activity {
                seq = Some(insert_activity(db, entry)?);
            }
            notify(db, seq)?;
            if idempotency {
                db.execute(
                    "UPDATE mutations SET outcome = 'applied', seq = $2 WHERE id = $1",
                    &[&mutation_id.to_string(), &seq],
                )?;
            }
            Ok(Ok(Committed {
                seq,
                tickets: applied.tickets.iter().copied().collect(),
                conversations: conversations.into_iter().collect(),
                messages: applied.messages.clone(),
                activity: applied
                    .activity
                    .iter()
                    .filter_map(|a| serde_json::to_value(a).ok())
                    .collect(),
            }))
        })
    }

    pub(crate) fn record_rejection_row(
        &self,
        mutation_id: Uuid,
        error: &Value,
        now: Timestamp,
    ) -> StoreResult<Option<PushOutcome>> {
        self.write(|db| {
            if claim(db, mutation_id, "rejected", Some(error), now)? {
                Ok(None)
            } else {
                Ok(Some(duplicate(db, mutation_id)?))
            }
        })
    }

    /// Appends `sla_breached` entries due by `now`. Several instances sweep
    /// at once; each takes rows no other sweep holds (`SKIP LOCKED`), and
    /// reads them after locking, so an entry is never written twice.
    pub(crate) fn sweep(&self, now: Timestamp) -> StoreResult<Option<i64>> {
        self.write(|db| {
            let rows = db.query(
                "SELECT data FROM tickets WHERE next_breach_at <= $1 ORDER BY next_breach_at LIMIT 500 FOR UPDATE SKIP LOCKED",
                &[&iso(now)],
            )?;
            if rows.is_empty() {
                return Ok(None);
            }
            let settings = settings(db)?;
            let mut seq = None;
            for ticket in parse_rows::<Ticket>(&rows)? {
                match fyncall_domain::observe_breaches(&ticket, &settings, now) {
                    Some((mut ticket, entries)) => {
                        save_ticket(db, &mut ticket, &settings)?;
                        for e in &entries {
                            seq = Some(insert_activity(db, e)?);
                        }
                    }
                    None => {
                        // Not yet past due at millisecond precision: recompute the moment.
                        let mut ticket = ticket;
                        save_ticket(db, &mut ticket, &settings)?;
                    }
                }
            }
            notify(db, seq)?;
            Ok(seq)
        })
    }

    pub(crate) fn create_agent_row(&self, agent: &Agent, password_hash: &str) -> StoreResult<i64> {
        self.write(|db| insert_agent(db, agent, password_hash))
    }

    pub(crate) fn patch_agent(
        &self,
        id: Uuid,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<(Agent, i64)> {
        self.write(|db| {
            // Every agent row locked: two instances demoting two admins at
            // once must not leave the team with none.
            let rows = db.query("SELECT data FROM agents ORDER BY pos FOR UPDATE", &[])?;
            let all: Vec<Agent> = parse_rows(&rows)?;
            let agent = crate::rows::patched_agent(&all, id, role, active)?;
            db.execute(
                "UPDATE agents SET data = $2 WHERE id = $1",
                &[
                    &id.to_string(),
                    &serde_json::to_string(&agent).map_err(db_err)?,
                ],
            )?;
            let seq = bump(db, "agent", &id.to_string())?;
            notify(db, Some(seq))?;
            Ok((agent, seq))
        })
    }

    pub(crate) fn save_settings(&self, new: &TeamSettings) -> StoreResult<i64> {
        self.write(|db| {
            // Waits for writers holding ticket rows, and keeps new ones out
            // until the stored moments follow the new policy.
            db.execute("LOCK TABLE tickets IN EXCLUSIVE MODE", &[])?;
            db.execute(
                "UPDATE team SET settings = $1 WHERE id = 1",
                &[&serde_json::to_string(new).map_err(db_err)?],
            )?;
            let rows = db.query("SELECT data FROM tickets WHERE status <> 'closed'", &[])?;
            for t in parse_rows::<Ticket>(&rows)? {
                let m = sla::moments(&t, &new.sla);
                db.execute(
                    "UPDATE tickets SET due_at = $2, at_risk_at = $3, next_breach_at = $4 WHERE id = $1",
                    &[
                        &t.id.to_string(),
                        &iso_opt(m.due_at),
                        &iso_opt(m.at_risk_at),
                        &iso_opt(next_breach_at(&t, new)),
                    ],
                )?;
            }
            let seq = bump(db, "settings", &Uuid::nil().to_string())?;
            notify(db, Some(seq))?;
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
        self.write(|db| {
            db.execute(
                "INSERT INTO tokens (hash, agent_id, integration, created_at) VALUES ($1, $2, $3, $4)",
                &[&hash, &agent_id.map(|a| a.to_string()), &integration, &iso(now)],
            )?;
            Ok(())
        })
    }

    pub(crate) fn token_revoke(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.write(|db| {
            db.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                &[&hash, &iso(now)],
            )?;
            Ok(())
        })
    }
}
