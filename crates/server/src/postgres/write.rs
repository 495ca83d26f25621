//! Writes: the steps of the one write path (`crate::write`) on PostgreSQL,
//! and the few writes outside it (agents, settings, tokens). Each public
//! operation is one transaction that locks what it reads before deciding (see the module above for the locking order and why the
//! change sequence stays gap-safe).

use fyncall_domain::{
    Activity, Agent, Conversation, Message, TeamSettings, Ticket, Timestamp, sla,
};
use std::cell::Cell;
use std::collections::HashMap;

use postgres::Transaction;
use uuid::Uuid;

use super::tokens::PgTokens;
use super::{CHANNEL, Db, PgStore, agents, db_err, iso_opt, parse_rows, settings};
use crate::inbox;
use crate::rows::{activity_body, next_breach_at, outcome_text, source_text};
use crate::store::{Ending, StoreError, StoreResult};
use crate::time::iso;
use crate::write::Steps;

type Tx<'a, 'b> = Db<'a, Transaction<'b>>;

/// Gives the next change sequence to an entity's change-log row, for the
/// writes outside the write path (agents, settings). The first call in a
/// transaction takes the team row's lock until commit.
fn bump(db: &mut Tx<'_, '_>, entity: &str, id: &str) -> StoreResult<i64> {
    let seq: i64 = db
        .query_one(
            "UPDATE team SET seq = seq + 1 WHERE id = 1 RETURNING seq",
            &[],
        )?
        .get(0);
    record_change(db, seq, entity, id)?;
    Ok(seq)
}

fn record_change(db: &mut Tx<'_, '_>, seq: i64, entity: &str, id: &str) -> StoreResult<()> {
    db.execute(
        "INSERT INTO changes (seq, entity, entity_id) VALUES ($1, $2, $3)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq",
        &[&seq, &entity, &id],
    )?;
    Ok(())
}

/// The team's change sequence and next ticket number, held in memory for
/// one write transaction that locked the team row first: nobody else can
/// take a number until it commits, so it hands them out itself and writes
/// the last ones back once, before committing. (Updating the team row once
/// per change instead makes PostgreSQL walk an ever longer chain of row
/// versions, one per savepoint: a push of 500 mutations slowed to a crawl.)
/// A savepoint rolled back gives its numbers back, so there are no gaps.
struct Counters {
    seq: i64,
    next_number: i64,
    at_start: (i64, i64),
    saved: Vec<(i64, i64)>,
}

impl Counters {
    fn lock(db: &mut Tx<'_, '_>) -> StoreResult<Counters> {
        let row = db.query_one(
            "SELECT seq, next_number FROM team WHERE id = 1 FOR UPDATE",
            &[],
        )?;
        let now = (row.get(0), row.get(1));
        Ok(Counters {
            seq: now.0,
            next_number: now.1,
            at_start: now,
            saved: Vec::new(),
        })
    }

    fn write_back(&self, db: &mut Tx<'_, '_>) -> StoreResult<()> {
        if (self.seq, self.next_number) != self.at_start {
            db.execute(
                "UPDATE team SET seq = $1, next_number = $2 WHERE id = 1",
                &[&self.seq, &self.next_number],
            )?;
        }
        Ok(())
    }
}

/// The write path's steps on an open transaction that holds the team row.
struct PgSteps<'s, 'a, 'b> {
    db: &'s mut Tx<'a, 'b>,
    counters: Counters,
    /// A savepoint released but not yet told to the server: the release
    /// goes with the next savepoint in one round trip (or with the commit,
    /// which releases every savepoint). Only statements kept anyway run
    /// in between, and a rollback always follows its own savepoint.
    release_pending: bool,
    /// `Some` while savepoints are kept in this process only (see [`Lazy`]).
    lazy: Option<Lazy<'s>>,
}

/// Savepoints that cost no round trip. Nearly every step the write path
/// wraps in a savepoint either writes and is kept, or is refused by the
/// rules before it writes anything (the rules decide in memory, the
/// writes come after). Neither needs PostgreSQL to know of a savepoint:
/// the first keeps everything, the second has nothing to undo. So a
/// savepoint is only a mark here: [`Db::touched`] when it was opened. A
/// rollback to a mark with nothing written or failed since is a no-op;
/// one that would have to undo something cannot be done without a real
/// savepoint, so it ends the transaction (`Retry`, nothing of it is kept)
/// and asks for it to run again with real savepoints (`careful`). That
/// costs a transaction in the rare push holding a mutation refused after
/// it wrote (an id taken, a store error), and saves one round trip per
/// mutation in every other.
struct Lazy<'s> {
    marks: Vec<u64>,
    careful: &'s Cell<bool>,
}

impl PgSteps<'_, '_, '_> {
    fn bump(&mut self, entity: &str, id: &str) -> StoreResult<i64> {
        self.counters.seq += 1;
        let seq = self.counters.seq;
        record_change(self.db, seq, entity, id)?;
        Ok(seq)
    }
}

/// Wakes the live streams of every instance once this transaction commits.
fn notify(db: &mut Tx<'_, '_>, seq: Option<i64>) -> StoreResult<()> {
    if let Some(seq) = seq {
        db.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &seq.to_string()])?;
    }
    Ok(())
}

/// The insert of a ticket's row (what changes when it is there already:
/// `rows::ticket_update`) and
/// its change-log row (one statement with the insert: one round trip).
macro_rules! ticket_insert {
    () => {
        "INSERT INTO tickets (id, number, conversation_id, subject, description, status, priority_rank, assignee_id,
                              category, source, created_at, updated_at, due_at, at_risk_at, next_breach_at, data, tags)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $18)"
    };
}
macro_rules! ticket_change {
    () => {
        " INSERT INTO changes (seq, entity, entity_id) SELECT $17, 'ticket', id FROM saved
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq"
    };
}

fn save_ticket(
    steps: &mut PgSteps<'_, '_, '_>,
    ticket: &mut Ticket,
    settings: &TeamSettings,
) -> StoreResult<i64> {
    let new = ticket.number.is_none();
    if new {
        ticket.number = Some(steps.counters.next_number);
        steps.counters.next_number += 1;
    }
    let db = &mut *steps.db;
    let moments = sla::moments(ticket, &settings.sla);
    let data = serde_json::to_string(ticket).map_err(db_err)?;
    // The row and its change-log row in one statement: one round trip.
    let seq = steps.counters.seq + 1;
    // A new ticket never replaces one already there (its id was taken):
    // nothing is written, and no change-log row either.
    let written = db.execute(
        if new {
            concat!(
                "WITH saved AS (",
                ticket_insert!(),
                " ON CONFLICT (id) DO NOTHING RETURNING id)",
                ticket_change!()
            )
        } else {
            concat!(
                "WITH saved AS (",
                ticket_insert!(),
                " ON CONFLICT (id) DO UPDATE SET ",
                crate::rows::ticket_update!(),
                " RETURNING id)",
                ticket_change!()
            )
        },
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
            &seq,
            &fyncall_domain::tags::column(&ticket.tags),
        ],
    )?;
    if written == 0 {
        return Err(fyncall_domain::Refusal::ticket_exists(ticket.id).into());
    }
    steps.counters.seq = seq;
    Ok(seq)
}

fn insert_activity(steps: &mut PgSteps<'_, '_, '_>, entry: &Activity) -> StoreResult<Option<i64>> {
    // The entry and its change-log row in one statement: one round trip;
    // nothing (and no sequence taken) when the entry exists already.
    let seq = steps.counters.seq + 1;
    let inserted = steps.db.execute(
        "WITH added AS (
           INSERT INTO activity (id, ticket_id, at, kind, body, data) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO NOTHING RETURNING id)
         INSERT INTO changes (seq, entity, entity_id) SELECT $7, 'activity', id FROM added
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq",
        &[
            &entry.id.to_string(),
            &entry.ticket_id.to_string(),
            &iso(entry.at),
            &entry.change.kind(),
            &activity_body(entry),
            &serde_json::to_string(entry).map_err(db_err)?,
            &seq,
        ],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    steps.counters.seq = seq;
    Ok(Some(seq))
}

fn insert_message(db: &mut Tx<'_, '_>, message: &Message) -> StoreResult<bool> {
    inbox::insert_message(&mut PgTokens(db), message)
}

fn save_conversation(steps: &mut PgSteps<'_, '_, '_>, c: &Conversation) -> StoreResult<i64> {
    let id = inbox::save_conversation(&mut PgTokens(steps.db), c)?;
    steps.bump("conversation", &id)
}

/// The write path's steps ([`crate::write::Steps`]) on an open transaction.
/// Rows are locked as they are read (`FOR UPDATE`), so two instances
/// changing one ticket apply one after the other, each on the other's result.
impl Steps for PgSteps<'_, '_, '_> {
    fn savepoint(&mut self) -> StoreResult<()> {
        self.counters
            .saved
            .push((self.counters.seq, self.counters.next_number));
        if let Some(lazy) = &mut self.lazy {
            lazy.marks.push(self.db.touched());
            return Ok(());
        }
        if std::mem::take(&mut self.release_pending) {
            self.db
                .batch_execute("RELEASE SAVEPOINT fyncall_step; SAVEPOINT fyncall_step")?;
        } else {
            self.db.batch_execute("SAVEPOINT fyncall_step")?;
        }
        Ok(())
    }

    fn release_savepoint(&mut self) -> StoreResult<()> {
        if let Some(lazy) = &mut self.lazy {
            lazy.marks.pop();
            self.counters.saved.pop();
            return Ok(());
        }
        if self.release_pending {
            self.db.batch_execute("RELEASE SAVEPOINT fyncall_step")?;
        }
        self.release_pending = true;
        self.counters.saved.pop();
        Ok(())
    }

    fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        if let Some(lazy) = &self.lazy {
            if lazy.marks.last() != Some(&self.db.touched()) {
                lazy.careful.set(true);
                return Err(StoreError::Retry(
                    "a step to undo wrote something: the transaction runs again with savepoints"
                        .into(),
                ));
            }
            if let Some((seq, number)) = self.counters.saved.last().copied() {
                self.counters.seq = seq;
                self.counters.next_number = number;
            }
            return Ok(());
        }
        // The savepoint rolled back to is the last one opened, never one
        // whose release is pending: say any pending release first.
        if std::mem::take(&mut self.release_pending) {
            self.db.batch_execute("RELEASE SAVEPOINT fyncall_step")?;
        }
        self.db
            .batch_execute("ROLLBACK TO SAVEPOINT fyncall_step")?;
        if let Some((seq, number)) = self.counters.saved.last().copied() {
            self.counters.seq = seq;
            self.counters.next_number = number;
        }
        Ok(())
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.db)
    }

    fn agents(&mut self) -> StoreResult<Vec<Agent>> {
        agents(self.db)
    }

    fn lock_ticket(&mut self, id: Uuid) -> StoreResult<Option<Ticket>> {
        self.db
            .query_opt(
                "SELECT data FROM tickets WHERE id = $1 FOR UPDATE",
                &[&id.to_string()],
            )?
            .map(|row| serde_json::from_str(row.get::<_, &str>(0)).map_err(db_err))
            .transpose()
    }

    fn lock_conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> StoreResult<Option<(Conversation, Vec<Ticket>)>> {
        let id = id.to_string();
        // Only linked to (a new ticket): read, not locked; the team row
        // this transaction holds keeps every other writer out anyway.
        let row = if linked {
            self.db.query_opt(
                "SELECT data FROM conversations WHERE id = $1 FOR UPDATE",
                &[&id],
            )?
        } else {
            self.db
                .query_opt("SELECT data FROM conversations WHERE id = $1", &[&id])?
        };
        let Some(row) = row else {
            return Ok(None);
        };
        let c: Conversation = serde_json::from_str(row.get::<_, &str>(0)).map_err(db_err)?;
        if !linked {
            return Ok(Some((c, Vec::new())));
        }
        let rows = self.db.query(
            "SELECT data FROM tickets WHERE conversation_id = $1 ORDER BY created_at, id FOR UPDATE",
            &[&id],
        )?;
        Ok(Some((c, parse_rows(&rows)?)))
    }

    /// Several instances sweep at once; each takes rows no other sweep
    /// holds (`SKIP LOCKED`) and reads them after locking, so an entry is
    /// never written twice.
    fn lock_due_tickets(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Ticket>> {
        let rows = self.db.query(
            "SELECT data FROM tickets WHERE next_breach_at <= $1 ORDER BY next_breach_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            &[&iso(now), &i64::from(limit)],
        )?;
        parse_rows(&rows)
    }

    fn save_ticket(&mut self, ticket: &mut Ticket, settings: &TeamSettings) -> StoreResult<i64> {
        save_ticket(self, ticket, settings)
    }

    fn save_conversation(&mut self, c: &Conversation) -> StoreResult<i64> {
        save_conversation(self, c)
    }

    fn insert_message(&mut self, message: &Message) -> StoreResult<bool> {
        insert_message(self.db, message)
    }

    fn with_sql(
        &mut self,
        work: &mut dyn FnMut(&mut dyn crate::sessions::TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        work(&mut PgTokens(self.db))
    }

    fn insert_activity(&mut self, entry: &Activity) -> StoreResult<Option<i64>> {
        insert_activity(self, entry)
    }

    fn mutation_outcomes(
        &mut self,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, crate::write::StoredOutcome>> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let rows = self.db.query(
            "SELECT id, outcome, seq, error FROM mutations WHERE id = ANY($1)",
            &[&ids],
        )?;
        rows.iter()
            .map(|r| {
                let id = Uuid::parse_str(r.get::<_, &str>(0)).map_err(db_err)?;
                Ok((id, (r.get(1), r.get(2), r.get(3))))
            })
            .collect()
    }

    /// One statement for a push's answers. An id another transaction is
    /// claiming waits for it to commit (then it is not taken here) or to
    /// roll back.
    fn claim_answered(&mut self, claims: &[crate::write::Claim]) -> StoreResult<usize> {
        if claims.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = claims.iter().map(|c| c.id.to_string()).collect();
        let outcomes: Vec<&str> = claims.iter().map(|c| outcome_text(c.outcome)).collect();
        let seqs: Vec<Option<i64>> = claims.iter().map(|c| c.seq).collect();
        let errors: Vec<Option<&str>> = claims.iter().map(|c| c.error.as_deref()).collect();
        let ats: Vec<String> = claims.iter().map(|c| iso(c.at)).collect();
        let claimed = self.db.execute(
            "INSERT INTO mutations (id, outcome, seq, error, at)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
             ON CONFLICT (id) DO NOTHING",
            &[&ids, &outcomes, &seqs, &errors, &ats],
        )?;
        usize::try_from(claimed).map_err(db_err)
    }

    fn notify(&mut self, seq: i64) -> StoreResult<()> {
        notify(self.db, Some(seq))
    }

    fn lock_agents(&mut self) -> StoreResult<Vec<Agent>> {
        let rows = self
            .db
            .query("SELECT data FROM agents ORDER BY pos FOR UPDATE", &[])?;
        parse_rows(&rows)
    }

    fn insert_agent(&mut self, agent: &Agent, password_hash: &str) -> StoreResult<bool> {
        insert_agent_row(self.db, agent, password_hash)
    }

    fn save_agent(&mut self, agent: &Agent) -> StoreResult<()> {
        self.db.execute(
            "UPDATE agents SET data = $2 WHERE id = $1",
            &[
                &agent.id.to_string(),
                &serde_json::to_string(agent).map_err(db_err)?,
            ],
        )?;
        Ok(())
    }

    fn end_sessions(&mut self, agent: Uuid, now: Timestamp) -> StoreResult<()> {
        crate::sessions::end(&mut PgTokens(self.db), agent, &Ending::All, now)?;
        Ok(())
    }

    /// Waits for readers holding ticket rows to write, and keeps new ones
    /// out until the stored moments follow the new policy.
    fn save_settings(&mut self, settings: &TeamSettings) -> StoreResult<()> {
        self.db
            .execute("LOCK TABLE tickets IN EXCLUSIVE MODE", &[])?;
        self.db.execute(
            "UPDATE team SET settings = $1 WHERE id = 1",
            &[&serde_json::to_string(settings).map_err(db_err)?],
        )?;
        Ok(())
    }

    fn running_tickets(&mut self) -> StoreResult<Vec<Ticket>> {
        let sql = format!(
            "SELECT data FROM tickets WHERE {}",
            fyncall_domain::lifecycle::not_closed_sql("status")
        );
        let rows = self.db.query_dynamic(&sql, &[])?;
        parse_rows(&rows)
    }

    fn save_moments(&mut self, t: &Ticket, settings: &TeamSettings) -> StoreResult<()> {
        let m = sla::moments(t, &settings.sla);
        self.db.execute(
            "UPDATE tickets SET due_at = $2, at_risk_at = $3, next_breach_at = $4 WHERE id = $1",
            &[
                &t.id.to_string(),
                &iso_opt(m.due_at),
                &iso_opt(m.at_risk_at),
                &iso_opt(next_breach_at(t, settings)),
            ],
        )?;
        Ok(())
    }

    fn bump(&mut self, entity: &str, id: &str) -> StoreResult<i64> {
        PgSteps::bump(self, entity, id)
    }
}

/// Adds an agent row; `false` when the id or email is taken.
fn insert_agent_row(db: &mut Tx<'_, '_>, agent: &Agent, password_hash: &str) -> StoreResult<bool> {
    let inserted = db.execute(
        "INSERT INTO agents (id, email, password_hash, data) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[
            &agent.id.to_string(),
            &agent.email,
            &password_hash,
            &serde_json::to_string(agent).map_err(db_err)?,
        ],
    )?;
    Ok(inserted > 0)
}

/// The first agent of a new team (`init`), outside the write path.
pub(super) fn insert_agent(
    db: &mut Tx<'_, '_>,
    agent: &Agent,
    password_hash: &str,
) -> StoreResult<i64> {
    if !insert_agent_row(db, agent, password_hash)? {
        return Err(crate::write::agent_exists(agent));
    }
    let seq = bump(db, "agent", &agent.id.to_string())?;
    notify(db, Some(seq))?;
    Ok(seq)
}

impl PgStore {
    /// Runs `work` in one transaction; a race runs it again from the start.
    ///
    /// The team row is locked first. A push holds its transaction open
    /// across many mutations, and each bump of the sequence takes the team
    /// row anyway; taking it before any ticket row means every writer locks
    /// in one order (team, then rows), so two pushes never deadlock on a
    /// ticket one holds and the team row the other holds.
    pub(crate) fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn Steps) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let careful = Cell::new(false);
        self.write(|db| {
            let counters = Counters::lock(db)?;
            let lazy = (!careful.get()).then(|| Lazy {
                marks: Vec::new(),
                careful: &careful,
            });
            let mut steps = PgSteps {
                db,
                counters,
                release_pending: false,
                lazy,
            };
            work(&mut steps)?;
            steps.counters.write_back(steps.db)
        })
    }
}
