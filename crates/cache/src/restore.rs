//! Healing after the server's database was restored from a backup or
//! replaced (API.md "Sync"): the cache notices another `database_id`, or a
//! cursor ahead of the server's, and starts over without losing anything
//! typed.
//!
//! Starting over means: the server's rows go, the cursor goes back to 0, and
//! every change of this client that the new data might not hold is queued
//! again in the order it was made: the outbox as it is, preceded by the
//! journal of acknowledged changes (`sent`). Pushes are idempotent by
//! mutation id, so the ones the restored store already has answer
//! `duplicate` and change nothing; the others apply once. When the last of
//! them is answered, the cache holds one notice for the window: "The server
//! was restored from a backup; N of your changes were sent again."

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::error::Result;
use crate::events::ChangeSet;
use crate::{Cache, meta, millis, set_meta};

/// Acknowledged changes kept at most, and for at most this long.
const JOURNAL_ROWS: i64 = 20_000;
const JOURNAL_DAYS: i64 = 30;

/// The server tables the cache mirrors; emptied when starting over.
pub(crate) const SERVER_TABLES: [&str; 7] = [
    "settings",
    "agents",
    "conversations",
    "messages",
    "tickets",
    "ticket_search",
    "activity",
];

/// Empties one of the cache's tables in the caller's transaction. The
/// search index holds no text to scan row by row: it is emptied whole.
pub(crate) fn empty(conn: &Connection, table: &str) -> Result<()> {
    if table == "ticket_search" {
        conn.execute(
            "INSERT INTO ticket_search (ticket_search) VALUES ('delete-all')",
            [],
        )?;
    } else {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    Ok(())
}

/// Keeps an acknowledged outbox row in the journal (before it leaves the outbox).
pub(crate) fn journal(
    conn: &Connection,
    id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO sent (id, mutation, client_at, made_at, summary, sent_at)
         SELECT id, mutation, client_at, made_at, summary, ?2 FROM outbox WHERE id = ?1",
    )?
    .execute(params![id.to_string(), millis(now)])?;
    Ok(())
}

/// Drops journal rows past the limits.
pub(crate) fn prune(conn: &Connection, now: chrono::DateTime<chrono::Utc>) -> Result<()> {
    let oldest = millis(now) - JOURNAL_DAYS * 86_400_000;
    conn.prepare_cached(
        "DELETE FROM sent WHERE sent_at < ?1
            OR position <= (SELECT max(position) FROM sent) - ?2",
    )?
    .execute(params![oldest, JOURNAL_ROWS])?;
    Ok(())
}

/// Counts a queued-again change the server applied (not a duplicate).
pub(crate) fn count_resent(conn: &Connection, id: Uuid, applied: bool) -> Result<()> {
    let resent: Option<i64> = conn
        .prepare_cached("SELECT resent FROM outbox WHERE id = ?1")?
        .query_row([id.to_string()], |r| r.get(0))
        .optional()?;
    if resent == Some(1) && applied {
        let n: i64 = meta(conn, "restore_resent")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        set_meta(conn, "restore_resent", &(n + 1).to_string())?;
    }
    Ok(())
}

impl Cache {
    /// The id of the server database this cache mirrors, once known.
    pub fn database_id(&self) -> Result<Option<Uuid>> {
        Ok(self
            .meta("database_id")?
            .and_then(|v| Uuid::parse_str(&v).ok()))
    }

    /// Whether an answer from the store `seen` means this cache must start
    /// over; a first `seen` is simply remembered.
    pub fn must_heal(&self, seen: Option<Uuid>) -> Result<bool> {
        let Some(seen) = seen else {
            return Ok(false);
        };
        match self.database_id()? {
            Some(known) => Ok(known != seen),
            None => {
                self.set_meta("database_id", &seen.to_string())?;
                Ok(false)
            }
        }
    }

    /// Starts over from a restored or replaced server database `now_id`
    /// (see the module doc); how many changes are queued to be sent again.
    pub fn heal(&mut self, now_id: Option<Uuid>) -> Result<(u64, ChangeSet)> {
        let tx = self.conn.transaction()?;
        for table in SERVER_TABLES {
            empty(&tx, table)?;
        }
        tx.execute(
            "DELETE FROM meta WHERE key IN ('cursor', 'bootstrap', 'restore_resent', 'restore_notice')",
            [],
        )?;
        tx.execute_batch(crate::SORT_INDEXES)?;
        crate::counts::install(&tx)?;
        // The journal first (older), then the outbox, each in its order.
        let outbox: Vec<(String, String, i64, i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT id, mutation, client_at, made_at, summary FROM sent
                 WHERE id NOT IN (SELECT id FROM outbox) ORDER BY position",
            )?;
            let journal = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut stmt = tx.prepare(
                "SELECT id, mutation, client_at, made_at, summary FROM outbox ORDER BY position",
            )?;
            let queued = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            journal.into_iter().chain(queued).collect()
        };
        tx.execute("DELETE FROM outbox", [])?;
        tx.execute("DELETE FROM sent", [])?;
        for (id, mutation, client_at, made_at, summary) in &outbox {
            tx.execute(
                "INSERT INTO outbox (id, mutation, client_at, made_at, summary, resent)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)",
                params![id, mutation, client_at, made_at, summary],
            )?;
        }
        match now_id {
            Some(id) => set_meta(&tx, "database_id", &id.to_string())?,
            None => {
                tx.execute("DELETE FROM meta WHERE key = 'database_id'", [])?;
            }
        }
        set_meta(&tx, "restore_notice", "pending")?;
        tx.commit()?;
        let changes = ChangeSet {
            bulk: true,
            team: true,
            queue: true,
            ..ChangeSet::default()
        };
        Ok((outbox.len() as u64, changes))
    }

    /// The notice of a finished heal, once: `None` until every change
    /// queued again has been answered, and after it was taken.
    pub fn take_restore_notice(&mut self) -> Result<Option<String>> {
        if self.meta("restore_notice")?.as_deref() != Some("pending") {
            return Ok(None);
        }
        let waiting: i64 = self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE resent = 1 AND acked_seq IS NULL",
            [],
            |r| r.get(0),
        )?;
        if waiting > 0 {
            return Ok(None);
        }
        let n: i64 = self
            .meta("restore_resent")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM meta WHERE key IN ('restore_notice', 'restore_resent')",
            [],
        )?;
        tx.commit()?;
        Ok(Some(match n {
            0 => "The server was restored from a backup; it already had every change of yours."
                .to_owned(),
            1 => "The server was restored from a backup; 1 of your changes was sent again."
                .to_owned(),
            n => format!(
                "The server was restored from a backup; {n} of your changes were sent again."
            ),
        }))
    }
}
