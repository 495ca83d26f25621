//! The desktop client's local cache: one SQLite file (WAL) holding the
//! team's tickets, timelines, conversations, agents and settings as last
//! pulled from the server, with the agent's pending changes laid on top.
//!
//! - [`Cache::act`]: a local action. In one transaction it checks the rule
//!   with `fyncall-domain` against the cached state, writes the optimistic
//!   result and appends the mutation (UUID v7) to the outbox. A refusal
//!   writes nothing.
//! - [`Cache::apply_pull`], [`Cache::record_push`]: what the sync engine
//!   calls with the server's answers. Server rows are stored beside the
//!   visible ones; pending mutations are re-applied on top of fresh server
//!   rows (rebase) until a pull passes the sequence the server acknowledged
//!   them at; refused ones move to the sync problems with the text kept.
//! - [`Cache::tickets`]: the five views of RULES.md with filters, sorts,
//!   keyset paging and full-text search, each served by an index.
//!
//! Every write returns a [`ChangeSet`]: which tickets changed, before and
//! after, for the UI and the notifier.

mod actions;
mod archive;
mod counts;
mod error;
mod events;
pub mod files;
mod inbox;
pub mod macros;
pub mod mentions;
pub mod notify;
mod outbox;
mod pull;
mod readers;
mod reports;
mod restore;
mod rows;
pub mod session;
mod views;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use fyncall_domain::{TeamSettings, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

pub use actions::Acted;
pub use error::{CacheError, Result};
pub use events::{ChangeSet, TicketChange};
pub use outbox::{OutboxEntry, Problem, PushResult};
pub use pull::{PullPage, PulledChange};
pub use readers::{Reader, Readers};
pub use views::{
    ActivityRow, AssigneeFilter, ConversationDetail, Counts, MergePreview, MergedTicket,
    MessageRow, Page, Query, TicketDetail, TicketRow,
};

/// The schema, one script per version, applied in order.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/cache/0001_init.sql"),
    include_str!("../../../migrations/cache/0002_ui_settings.sql"),
    include_str!("../../../migrations/cache/0003_at_risk_index.sql"),
    include_str!("../../../migrations/cache/0004_sent_journal.sql"),
    include_str!("../../../migrations/cache/0005_inbox.sql"),
    include_str!("../../../migrations/cache/0006_view_counts.sql"),
    include_str!("../../../migrations/cache/0007_at_risk_covering.sql"),
    include_str!("../../../migrations/cache/0008_kept_counts.sql"),
    include_str!("../../../migrations/cache/0009_contentless_search.sql"),
    include_str!("../../../migrations/cache/0010_lean_timeline.sql"),
    include_str!("../../../migrations/cache/0011_tags.sql"),
    include_str!("../../../migrations/cache/0012_mentions.sql"),
    include_str!("../../../migrations/cache/0013_macros.sql"),
    include_str!("../../../migrations/cache/0014_archive.sql"),
];

/// The version whose script makes the search index again, empty: filled
/// from the rows in the same transaction.
const CONTENTLESS_SEARCH: usize = 9;

/// The page cache of a connection, in KiB (SQLite's negative `cache_size`):
/// an action, a sync or a view's page reads a few index pages and 100 rows,
/// so 16 MiB keeps a 100k-ticket team's hot pages without each connection
/// holding a large copy of the file.
pub(crate) const CACHE_KIB: i64 = -16384;
/// The page cache of each of the window's reading connections, in KiB: a
/// view's page, a ticket or the kept counts read a few hundred pages, a
/// count over a filtered view of 100k tickets ~1,300 (which 8 MiB holds),
/// and the OS keeps the file's pages anyway; four readers at 16 MiB held
/// up to 64 MiB once an agent had opened every view.
pub(crate) const READER_CACHE_KIB: i64 = -8192;
/// The writer's page cache while a first download stores its rows and
/// builds its indexes (`pull::store_pulled`); back to `CACHE_KIB` after.
pub(crate) const BULK_CACHE_KIB: i64 = -65536;

/// The indexes that serve All Tickets sorted by each column. A first
/// download builds them once at its end instead of row by row.
pub(crate) const SORT_INDEXES: &str = "
    CREATE INDEX IF NOT EXISTS tickets_number ON tickets (open, number_key, id);
    CREATE INDEX IF NOT EXISTS tickets_subject ON tickets (open, subject_key, id);
    CREATE INDEX IF NOT EXISTS tickets_status ON tickets (open, status_rank, id);
    CREATE INDEX IF NOT EXISTS tickets_priority ON tickets (open, priority_rank, id);
    CREATE INDEX IF NOT EXISTS tickets_assignee ON tickets (open, assignee_key, id);
    CREATE INDEX IF NOT EXISTS tickets_category ON tickets (open, category_key, id);
    CREATE INDEX IF NOT EXISTS tickets_created ON tickets (open, created_at, id);
    CREATE INDEX IF NOT EXISTS tickets_sla ON tickets (open, due_key, id);";

pub(crate) const DROP_SORT_INDEXES: &str = "
    DROP INDEX IF EXISTS tickets_number; DROP INDEX IF EXISTS tickets_subject;
    DROP INDEX IF EXISTS tickets_status; DROP INDEX IF EXISTS tickets_priority;
    DROP INDEX IF EXISTS tickets_assignee; DROP INDEX IF EXISTS tickets_category;
    DROP INDEX IF EXISTS tickets_created; DROP INDEX IF EXISTS tickets_sla;";

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What `fyncall info` and the sidebar show about the cache and its sync.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SyncInfo {
    pub client_id: Uuid,
    pub agent_id: Option<Uuid>,
    pub cursor: i64,
    pub last_sync_at: Option<Timestamp>,
    pub clock_offset_ms: i64,
    pub pending: u64,
    pub problems: u64,
}

pub struct Cache {
    conn: Connection,
    path: PathBuf,
    /// The files were removed; this is an empty cache in memory.
    detached: bool,
    /// Held by a [`Settler`] at work: the files are not removed under it.
    settling: Arc<Mutex<()>>,
    /// A first download's log awaits its [`Settler`]: the writer does not
    /// copy it itself meanwhile ([`Cache::checkpoint`]).
    unsettled: bool,
}

/// Pages of write-ahead log after which a commit copies the log into the
/// file (SQLite's `wal_autocheckpoint`): the backstop for a cache that
/// writes without syncing (checkpoints run after syncs, `Cache::checkpoint`).
/// Off while a first download writes (see [`Settler`]).
const AUTOCHECKPOINT_PAGES: i64 = 10_000;

/// Copies a first download's write-ahead log into the cache file on a
/// connection of its own, off the writer: a first download writes with the
/// automatic checkpoints off (each copied ~40 MiB and flushed the disk
/// between two of its transactions) and its rows are in, readable and
/// writable on top, before this copy runs. From [`Cache::settler`].
pub struct Settler {
    path: PathBuf,
    settling: Arc<Mutex<()>>,
}

impl Settler {
    /// Copies the log into the file where no reader needs it (without
    /// waiting for readers nor for the writer), then empties the log; how
    /// long it took.
    pub fn run(self) -> Result<std::time::Duration> {
        let _held = self
            .settling
            .lock()
            .map_err(|_| CacheError::Invalid("a checkpoint of the cache crashed".into()))?;
        let start = std::time::Instant::now();
        // Not created if the files are gone; closed while the writer's
        // connection stays open, so it never removes the log itself.
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        // Then the log cut to nothing: with all of it copied this only waits
        // for reads under way (a write waits for it as briefly). A log left
        // at twice the file would be read whole at the next start after a
        // crash, and copied again.
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            // Readers held on past the busy timeout: what was copied stays
            // copied, and the next sync's checkpoint copies the rest.
            return Err(CacheError::Invalid(
                "the cache's log was not all copied: readers held it past 10 s".into(),
            ));
        }
        Ok(start.elapsed())
    }
}

impl Cache {
    /// Opens (creating and upgrading as needed) the cache at `path`.
    pub fn open(path: &Path) -> Result<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::private_dir(dir).map_err(|e| {
                CacheError::Invalid(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        files::ensure_private_file(path)
            .map_err(|e| CacheError::Invalid(format!("cannot create {}: {e}", path.display())))?;
        let conn = Connection::open(path)?;
        Cache::on(conn, path)
    }

    /// Sets up a connection as the cache of `path`.
    fn on(mut conn: Connection, path: &Path) -> Result<Cache> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every transaction takes the write lock when it begins, waiting for
        // it (the busy timeout): one that began reading and then wrote would
        // be refused at once, without waiting, whenever another connection
        // (the `Settler`'s checkpoint, the CLI, a second app) held the lock
        // then, since SQLite cannot let a reader wait to become a writer.
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Checkpoints run after syncs (`Cache::checkpoint`) and when the last
        // connection closes, not inside an agent's action; this is the backstop.
        conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
        // A first download's log grows to twice the file; once copied, the
        // next write starting the log over cuts the file back to this.
        conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
        migrate(&mut conn)?;
        // A first download interrupted by a crash left the sort indexes and
        // the kept counts off; a build with other view rules recounts.
        if meta(&conn, "bootstrap")?.is_none() {
            conn.execute_batch(SORT_INDEXES)?;
            if !counts::current(&conn)? {
                let tx = conn.transaction()?;
                counts::install(&tx)?;
                tx.commit()?;
            }
        }
        let cache = Cache {
            conn,
            path: path.to_path_buf(),
            detached: false,
            settling: Arc::default(),
            unsettled: false,
        };
        if cache.meta("client_id")?.is_none() {
            cache.set_meta("client_id", &Uuid::now_v7().to_string())?;
        }
        Ok(cache)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes this computer's copy of the team (the cache files, queued
    /// changes included) and goes on as an empty cache in memory until
    /// `reopen`.
    pub fn remove_files(&mut self) -> Result<()> {
        // After a checkpoint still copying the log into them.
        let settling = self.settling.clone();
        let _settled = settling
            .lock()
            .map_err(|_| CacheError::Invalid("a checkpoint of the cache crashed".into()))?;
        let memory = Cache::on(Connection::open_in_memory()?, &self.path)?;
        let old = std::mem::replace(self, memory);
        let path = old.path.clone();
        old.conn.close().map_err(|(_, e)| CacheError::from(e))?;
        files::remove_database(&path)
            .map_err(|e| CacheError::Invalid(format!("cannot delete {}: {e}", path.display())))?;
        self.detached = true;
        Ok(())
    }

    /// A second connection to the same file that only reads: in WAL mode
    /// it reads the last committed state while this one writes (a first
    /// download, a sync), so views never queue behind sync. A detached
    /// cache gives an empty one in memory.
    pub fn reader(&self) -> Result<Cache> {
        Cache::open_reader(&self.path, self.detached)
    }

    /// A pool of up to `size` reading connections (see `reader`), for the
    /// window: its reads (a list, the counts, a ticket) run side by side.
    pub fn readers(&self, size: u32) -> Result<Readers> {
        readers::Readers::new(&self.path, self.detached, size)
    }

    fn open_reader(path: &Path, detached: bool) -> Result<Cache> {
        if detached {
            return Cache::on(Connection::open_in_memory()?, path);
        }
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
                | rusqlite::OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Cache {
            conn,
            path: path.to_path_buf(),
            detached: false,
            settling: Arc::default(),
            unsettled: false,
        })
    }

    /// True after `remove_files`: nothing is on disk.
    pub fn is_detached(&self) -> bool {
        self.detached
    }

    /// Opens the cache file again after `remove_files` (a new sign-in).
    pub fn reopen(&mut self) -> Result<()> {
        if self.detached {
            *self = Cache::open(&self.path.clone())?;
        }
        Ok(())
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        meta(&self.conn, key)
    }

    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        set_meta(&self.conn, key, value)
    }

    /// This installation's id, sent with every push.
    pub fn client_id(&self) -> Result<Uuid> {
        let id = self
            .meta("client_id")?
            .ok_or_else(|| CacheError::Corrupt("the cache has no client id".into()))?;
        Uuid::parse_str(&id).map_err(|e| CacheError::Corrupt(format!("client id: {e}")))
    }

    /// The signed-in agent the cache acts for.
    pub fn me(&self) -> Result<Option<Uuid>> {
        me(&self.conn)
    }

    /// Binds the cache to an agent of a server. A cache holds one team's data
    /// for one agent: signing in as someone else (or to another server) starts
    /// from an empty cache, but only when nothing is waiting to be sent.
    pub fn sign_in(&mut self, server: &str, agent_id: Uuid) -> Result<()> {
        let same = self.meta("server")?.as_deref() == Some(server) && self.me()? == Some(agent_id);
        if !same && self.meta("server")?.is_some() {
            let waiting = self.outbox()?.len() + self.problems()?.len();
            if waiting > 0 {
                return Err(CacheError::Invalid(format!(
                    "this cache still holds {waiting} unsent or refused change(s) of another \
                     sign-in: sign in as that agent to send them, or use another --home"
                )));
            }
            let tx = self.conn.transaction()?;
            for table in restore::SERVER_TABLES
                .iter()
                .chain(&["notification_ledger", "sent"])
            {
                restore::empty(&tx, table)?;
            }
            tx.execute(
                "DELETE FROM meta WHERE key IN ('cursor', 'last_sync_at', 'clock_offset_ms', 'database_id')",
                [],
            )?;
            tx.commit()?;
        }
        self.set_meta("server", server)?;
        self.set_meta("agent_id", &agent_id.to_string())?;
        Ok(())
    }

    /// The server this cache syncs with.
    pub fn server(&self) -> Result<Option<String>> {
        self.meta("server")
    }

    /// The pull cursor: the change sequence the cache has caught up to.
    pub fn cursor(&self) -> Result<i64> {
        cursor(&self.conn)
    }

    /// Server clock minus local clock, in milliseconds.
    pub fn clock_offset_ms(&self) -> Result<i64> {
        clock_offset_ms(&self.conn)
    }

    /// The server's time now, estimated from the local clock and the offset.
    pub fn server_now(&self, local_now: Timestamp) -> Result<Timestamp> {
        Ok(local_now + TimeDelta::milliseconds(self.clock_offset_ms()?))
    }

    /// Records a sync: the offset estimated from a pull's `server_time`.
    pub fn record_sync(&self, clock_offset_ms: i64, at: Timestamp) -> Result<()> {
        self.set_meta("clock_offset_ms", &clock_offset_ms.to_string())?;
        self.set_meta("last_sync_at", &at.to_rfc3339())?;
        Ok(())
    }

    pub fn info(&self) -> Result<SyncInfo> {
        let count = |sql: &str| -> Result<u64> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))?.max(0) as u64)
        };
        Ok(SyncInfo {
            client_id: self.client_id()?,
            agent_id: self.me()?,
            cursor: self.cursor()?,
            last_sync_at: self
                .meta("last_sync_at")?
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
            clock_offset_ms: self.clock_offset_ms()?,
            pending: count("SELECT count(*) FROM outbox WHERE acked_seq IS NULL")?,
            problems: count("SELECT count(*) FROM problems")?,
        })
    }

    /// The team settings as last pulled (the defaults before the first pull).
    pub fn settings(&self) -> Result<TeamSettings> {
        rows::settings(&self.conn)
    }

    /// A local preference (notification switches and the like).
    pub fn preference(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM preferences WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_preference(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO preferences (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// Copies the write-ahead log into the database file where no reader
    /// needs it (never waits for readers). The sync engine calls it after
    /// storing pulls, so agents' actions do not pay for it.
    /// While a first download's log awaits its [`Settler`] this does nothing:
    /// the copy of the whole download is the settler's, off the writer.
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.unsettled {
            return Ok(());
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        self.resume_checkpoints()
    }

    /// What copies a first download's log into the file, to run on a
    /// thread of its own (see [`Settler`]); then [`Cache::resume_checkpoints`].
    /// Until then [`Cache::checkpoint`] leaves the log to it.
    pub fn settler(&mut self) -> Settler {
        self.unsettled = true;
        Settler {
            path: self.path.clone(),
            settling: self.settling.clone(),
        }
    }

    /// Commits copy the log into the file again past its backstop size
    /// (off while a first download writes), unless a download is under way.
    pub fn resume_checkpoints(&mut self) -> Result<()> {
        self.unsettled = false;
        if meta(&self.conn, "bootstrap")?.is_none() {
            self.conn
                .pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
        }
        Ok(())
    }

    /// Direct read access for tests and benchmarks (query plans, floors).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// What the search index holds, for tests (it keeps no text to read
    /// back): (ticket id, column, term, occurrences), in that order.
    pub fn search_terms(&self) -> Result<Vec<(String, String, String, i64)>> {
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms
             USING fts5vocab(main, ticket_search, instance)",
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT t.id, v.col, v.term, count(*) FROM temp.search_terms v
             JOIN tickets t ON t.rowid = v.doc GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(CacheError::Invalid(format!(
            "this cache was written by a newer Fyncall Desk (schema {version}, this build knows \
             {SCHEMA_VERSION}): update the app, or use another --home"
        )));
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(script)?;
        if i + 1 == CONTENTLESS_SEARCH {
            rows::rebuild_search(&tx)?;
        }
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn me(conn: &Connection) -> Result<Option<Uuid>> {
    meta(conn, "agent_id")?
        .map(|id| Uuid::parse_str(&id).map_err(|e| CacheError::Corrupt(format!("agent id: {e}"))))
        .transpose()
}

pub(crate) fn cursor(conn: &Connection) -> Result<i64> {
    Ok(meta(conn, "cursor")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn clock_offset_ms(conn: &Connection) -> Result<i64> {
    Ok(meta(conn, "clock_offset_ms")?
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn millis(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
