//! Storing pulled pages, and re-applying pending changes on top (rebase).

use std::collections::BTreeSet;

use fyncall_domain::{Caller, Mutation, Stamp, apply};
use rusqlite::{Connection, params};
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::events::ChangeSet;
use crate::rows::{Batch, reach};
use crate::{Cache, from_millis, set_meta};

use fyncall_domain::wire::Pulled;
/// A page of `GET /sync/pull` and its changes: the wire types, defined once in the domain.
pub use fyncall_domain::wire::{PullPage, PulledChange};

impl Cache {
    /// Stores a pulled page in one transaction: the server's rows, the new
    /// cursor, the acknowledged mutations it passes dropped, and the
    /// still-pending ones re-applied on top.
    pub fn apply_pull(&mut self, page: &PullPage) -> Result<ChangeSet> {
        self.apply_pulls(std::slice::from_ref(page))
    }

    /// Stores consecutive pulled pages in one transaction (fewer commits
    /// when catching up on many changes, as in a first download).
    pub fn apply_pulls(&mut self, pages: &[PullPage]) -> Result<ChangeSet> {
        let Some(last) = pages.last() else {
            return Ok(ChangeSet::default());
        };
        self.store_pulled(
            pages.iter().flat_map(|p| &p.changes),
            Some(last.cursor),
            last.has_more,
        )
    }

    /// Stores rows of a snapshot (`GET /sync/snapshot`) in one transaction.
    /// The cursor stays 0 until the last call gives the snapshot's `end`
    /// cursor, so a download cut half-way starts again (rows are written
    /// over, never twice) and a cache never claims rows it lacks.
    pub fn apply_snapshot(&mut self, rows: &[PulledChange], end: Option<i64>) -> Result<ChangeSet> {
        if crate::cursor(&self.conn)? != 0 {
            return Err(CacheError::Invalid(
                "a snapshot goes only into a cache that has not pulled yet".into(),
            ));
        }
        self.store_pulled(rows.iter(), end, end.is_none())
    }

    /// Stores pulled rows; `cursor` is where they bring the cache (None:
    /// not yet anywhere), `more` whether more rows of the same download follow.
    fn store_pulled<'a>(
        &mut self,
        rows: impl Iterator<Item = &'a PulledChange>,
        cursor: Option<i64>,
        more: bool,
    ) -> Result<ChangeSet> {
        if more && crate::cursor(&self.conn)? == 0 {
            // A first download's rows and the indexes built at its end read
            // and write more pages than an agent's day needs.
            self.conn
                .pragma_update(None, "cache_size", crate::BULK_CACHE_KIB)?;
            // Its log is copied into the file once, at its end, off the
            // writer (`Settler`), not every 40 MiB between its transactions.
            self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
        let tx = self.conn.transaction()?;
        let changes = {
            let starting = crate::cursor(&tx)? == 0;
            let bootstrapping = crate::meta(&tx, "bootstrap")?.is_some();
            let bulk = starting || bootstrapping;
            if bulk && more {
                if !bootstrapping {
                    // A long first download: sort indexes are built once at
                    // its end, and it keeps the views' counts itself.
                    tx.execute_batch(crate::DROP_SORT_INDEXES)?;
                    crate::counts::begin_download(&tx)?;
                }
                set_meta(&tx, "bootstrap", "1")?;
            } else if bootstrapping {
                tx.execute("DELETE FROM meta WHERE key = 'bootstrap'", [])?;
                tx.execute_batch(crate::SORT_INDEXES)?;
                crate::counts::end_download(&tx)?;
                crate::rows::rebuild_search(&tx)?;
            }
            let mut b = Batch::new(&tx)?;
            b.bulk = bulk;
            if bulk {
                // With the rows, not with the news of them: whoever looks
                // for notices next finds these rows already known.
                crate::notify::baseline_due(&tx)?;
            }
            // Search rows too are written once, when the download ends.
            b.defer_search = bulk && more;
            let mut tickets = BTreeSet::new();
            let mut conversations = BTreeSet::new();
            let mut settings_changed = false;
            for change in rows {
                match &change.data {
                    Pulled::Settings(s) => {
                        tx.execute(
                            "INSERT INTO settings (id, data) VALUES (1, ?1)
                             ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                            [serde_json::to_string(s)?],
                        )?;
                        settings_changed |= b.settings.sla != s.sla;
                        b.settings = (**s).clone();
                        b.changes.team = true;
                    }
                    Pulled::Agent(a) => {
                        tx.execute(
                            "INSERT INTO agents (id, name, data) VALUES (?1, ?2, ?3)
                             ON CONFLICT (id) DO UPDATE SET name = excluded.name, data = excluded.data",
                            params![a.id.to_string(), a.name, serde_json::to_string(a)?],
                        )?;
                        b.set_agent_name(a)?;
                        b.changes.team = true;
                    }
                    Pulled::Conversation(c) => {
                        if b.server_conversation(&c.conversation)? {
                            conversations.insert(c.conversation.id);
                        }
                        for m in &c.messages {
                            b.pulled_message(m)?;
                        }
                    }
                    Pulled::Ticket(t) => {
                        if b.server_ticket(&t.ticket)? {
                            tickets.insert(t.ticket.id);
                        }
                    }
                    Pulled::Activity(a) => {
                        b.activity(a, false)?;
                        if !b.bulk {
                            b.changes.activity.push((**a).clone());
                        }
                    }
                    Pulled::Message(m) => b.pulled_message(m)?,
                    // Something a newer server knows: its rows come again after an update.
                    Pulled::Unknown => {}
                }
            }
            let cursor = match cursor {
                Some(c) => {
                    set_meta(&tx, "cursor", &c.max(0).to_string())?;
                    c
                }
                None => 0,
            };
            // Acknowledged changes the cursor has passed are now in the server's rows.
            for (id, mutation) in passed(&tx, cursor)? {
                reach(&tx, &mutation, &mut tickets, &mut conversations)?;
                tx.execute("DELETE FROM outbox WHERE id = ?1", [id.to_string()])?;
                b.changes.queue = true;
            }
            if settings_changed {
                b.recompute_moments()?;
            }
            rebase(&mut b, tickets, conversations)?;
            b.finish()?
        };
        tx.commit()?;
        if !more
            && self
                .conn
                .pragma_query_value(None, "cache_size", |r| r.get::<_, i64>(0))?
                == crate::BULK_CACHE_KIB
        {
            // A first download ended: back to the everyday page cache, its
            // memory given back (an ordinary pull keeps its warm pages).
            self.conn
                .pragma_update(None, "cache_size", crate::CACHE_KIB)?;
            self.conn.execute_batch("PRAGMA shrink_memory")?;
        }
        Ok(changes)
    }
}

fn passed(conn: &Connection, cursor: i64) -> Result<Vec<(Uuid, Mutation)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, mutation FROM outbox WHERE acked_seq IS NOT NULL AND acked_seq <= ?1",
    )?;
    let rows = stmt.query_map([cursor], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, m) = row?;
        out.push((
            Uuid::parse_str(&id).map_err(|e| CacheError::Corrupt(e.to_string()))?,
            serde_json::from_str(&m)?,
        ));
    }
    Ok(out)
}

/// A mutation waiting in the outbox, as the rebase needs it.
pub(crate) struct Queued {
    pub id: Uuid,
    pub mutation: Mutation,
    pub at: i64,
    pub client_at: i64,
}

pub(crate) fn queued(conn: &Connection) -> Result<Vec<Queued>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, mutation, made_at, client_at FROM outbox ORDER BY position")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, m, at, client_at) = row?;
        out.push(Queued {
            id: Uuid::parse_str(&id).map_err(|e| CacheError::Corrupt(e.to_string()))?,
            mutation: serde_json::from_str(&m)?,
            at,
            client_at,
        });
    }
    Ok(out)
}

/// Puts `tickets` and `conversations` back to the server's rows and
/// re-applies, in outbox order, every queued mutation that reaches them.
/// A mutation the rules now refuse is left for the server to judge: the
/// agent sees the server's row until the push answers.
pub(crate) fn rebase(
    b: &mut Batch<'_>,
    mut tickets: BTreeSet<Uuid>,
    mut conversations: BTreeSet<Uuid>,
) -> Result<()> {
    if tickets.is_empty() && conversations.is_empty() {
        return Ok(());
    }
    let queue = queued(b.conn)?;
    // A conversation-wide change reaches all linked tickets: reset them together.
    loop {
        let mut grew = false;
        for q in &queue {
            let scope = q.mutation.scope();
            if let (Some(c), None) = (scope.conversation, scope.ticket) {
                let linked = crate::rows::linked_ids(b.conn, c)?;
                if conversations.contains(&c) || linked.iter().any(|t| tickets.contains(t)) {
                    grew |= conversations.insert(c);
                    for t in linked {
                        grew |= tickets.insert(t);
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    for id in &tickets {
        b.reset_ticket(*id)?;
    }
    for id in &conversations {
        b.reset_conversation(*id)?;
    }
    let Some(me) = crate::me(b.conn)? else {
        return Ok(());
    };
    for q in queue {
        let scope = q.mutation.scope();
        let reaches = scope.ticket.is_some_and(|t| tickets.contains(&t))
            || matches!((scope.conversation, scope.ticket), (Some(c), None) if conversations.contains(&c));
        if !reaches {
            continue;
        }
        let state = crate::rows::load_state(b.conn, &q.mutation)?;
        let stamp = Stamp {
            mutation_id: q.id,
            at: from_millis(q.at),
            client_at: Some(from_millis(q.client_at)),
        };
        if let Ok(applied) = apply(&state, Caller::Agent(me), &q.mutation, &stamp) {
            b.local(&applied)?;
        }
    }
    Ok(())
}
