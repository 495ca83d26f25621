//! The embedded SQLite store: one file in WAL mode, one writer connection
//! behind a mutex (SQLite has one writer at a time anyway, and holding it in
//! process keeps the change sequence in commit order), and a few reader
//! connections so reads never wait for writes.
//!
//! # Durable answers
//!
//! The writer runs `synchronous=FULL`: in WAL mode SQLite then syncs the
//! WAL file to disk at every commit, before `COMMIT` returns. Every write
//! path commits before it returns to the API, and the API answers only
//! after that (a push is one transaction, `crate::write`), so a client
//! never hears `applied` for a change a power cut could take back; with
//! `NORMAL` the last commits before a power cut could be lost while the
//! client had already dropped them. One push is one commit, so the cost is
//! one sync per push, not per mutation. [`SqliteStore::durability`] reads
//! the settings back for the test that holds this.

mod read;
mod tokens;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fyncall_domain::{Agent, Role, TeamSettings, Ticket, Timestamp};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use uuid::Uuid;

use crate::store::{NewAgent, StoreError, StoreResult};
use crate::time::iso;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server/0001_init.sql"),
    include_str!("../../../../migrations/server/0002_database_id.sql"),
    include_str!("../../../../migrations/server/0003_sessions.sql"),
    include_str!("../../../../migrations/server/0004_inbox.sql"),
    include_str!("../../../../migrations/server/0005_device_tokens.sql"),
    include_str!("../../../../migrations/server/0006_deliveries.sql"),
    include_str!("../../../../migrations/server/0007_mail.sql"),
    include_str!("../../../../migrations/server/0008_attachments.sql"),
    include_str!("../../../../migrations/server/0009_mail_readers.sql"),
    include_str!("../../../../migrations/server/0010_tags.sql"),
    include_str!("../../../../migrations/server/0011_mentions.sql"),
    include_str!("../../../../migrations/server/0012_macros.sql"),
];
const READERS: usize = 4;

pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    /// The blob file beside the store (`<store>.blobs`), opened when first used.
    blobs: Mutex<Option<Connection>>,
}

/// The blob file of an SQLite store: `<store>.blobs`, beside it.
pub fn blobs_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".blobs");
    PathBuf::from(name)
}

pub(crate) fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // 64 MiB of page cache (the default is 2 MiB): a 100k-ticket team's
    // indexes stay in memory, so a push does not wait on disk reads.
    conn.pragma_update(None, "cache_size", -65536)?;
    // A push runs each mutation in a savepoint, whose undo copy of every
    // page it changes (the statement journal) went to a temporary file: a
    // quarter of a push's time was that file's writes. It is only read to
    // roll back to a savepoint inside the open transaction, never for
    // durability (the WAL holds that), so memory loses nothing.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db_err)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(db_err(format!(
            "the database was made by a newer fyncall-server (schema {version}, this one knows {known}): upgrade the server"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(db_err)?;
        tx.execute_batch(sql).map_err(db_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Creates a new team database with one admin. Refuses an existing file.
    pub fn create(
        path: &Path,
        admin: &NewAgent,
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<(SqliteStore, Agent)> {
        if path.exists() {
            return Err(db_err(format!(
                "{} already exists: choose a new path, or serve the existing team with `fyncall-server serve --db {}`",
                path.display(),
                path.display()
            )));
        }
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )
        .map_err(db_err)?;
        configure(&conn).map_err(db_err)?;
        migrate(&mut conn)?;
        let settings = serde_json::to_string(&TeamSettings::default()).map_err(db_err)?;
        conn.execute(
            "INSERT INTO team (id, settings, database_id) VALUES (1, ?1, ?2)",
            params![settings, Uuid::new_v4().to_string()],
        )
        .map_err(db_err)?;
        drop(conn);
        let store = SqliteStore::open(path)?;
        let agent = Agent {
            id: Uuid::now_v7(),
            name: admin.name.trim().to_owned(),
            email: admin.email.trim().to_owned(),
            role: Role::Admin,
            active: true,
        };
        crate::store::Store::create_agent(&store, &agent, password_hash)?;
        let _ = now;
        Ok((store, agent))
    }

    /// Opens an existing team database, applying newer migrations.
    pub fn open(path: &Path) -> StoreResult<SqliteStore> {
        if !path.exists() {
            return Err(db_err(format!(
                "no team database at {}: create one with `fyncall-server init --db {}` or `fyncall-server demo --db {}`",
                path.display(),
                path.display(),
                path.display()
            )));
        }
        let mut writer = Connection::open(path).map_err(db_err)?;
        configure(&writer).map_err(db_err)?;
        migrate(&mut writer)?;
        let has_team: Option<i64> = writer
            .query_row("SELECT id FROM team", [], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if has_team.is_none() {
            return Err(db_err(format!(
                "{} is not a Fyncall team database",
                path.display()
            )));
        }
        // A store made before database ids gets its own now.
        writer
            .execute(
                "UPDATE team SET database_id = ?1 WHERE id = 1 AND database_id IS NULL",
                params![Uuid::new_v4().to_string()],
            )
            .map_err(db_err)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(db_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(db_err)?;
            readers.push(conn);
        }
        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: Mutex::new(readers),
            path: path.to_owned(),
            blobs: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        // A panic in an earlier write poisons the lock but leaves the
        // connection sound: roll back what it left open and carry on, so one
        // panic does not fail every later write.
        let mut conn = self.writer.lock().unwrap_or_else(|poisoned| {
            self.writer.clear_poison();
            poisoned.into_inner()
        });
        if !conn.is_autocommit() {
            tracing::warn!("rolling back a write transaction an earlier panic left open");
            conn.execute_batch("ROLLBACK").map_err(db_err)?;
        }
        f(&mut conn)
    }

    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let taken = self
            .readers
            .lock()
            .map_err(|_| db_err("reader pool poisoned"))?
            .pop();
        let conn = match taken {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .map_err(db_err)?;
                c.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(db_err)?;
                c
            }
        };
        let result = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < READERS {
                pool.push(conn);
            }
        }
        result
    }

    /// Runs `f` on the blob file's connection (made, with its tables, when
    /// first used).
    pub(crate) fn with_blobs<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut slot = self.blobs.lock().unwrap_or_else(|p| {
            self.blobs.clear_poison();
            p.into_inner()
        });
        if slot.is_none() {
            let conn = Connection::open(blobs_path(&self.path)).map_err(db_err)?;
            configure(&conn).map_err(db_err)?;
            conn.execute_batch(crate::blobs::SQLITE_SCHEMA)
                .map_err(db_err)?;
            *slot = Some(conn);
        }
        match slot.as_mut() {
            Some(conn) => {
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK").map_err(db_err)?;
                }
                f(conn)
            }
            None => Err(db_err("the blob file is not open")),
        }
    }

    /// The writer's `journal_mode` and `synchronous` as SQLite reports them
    /// (`("wal", 2)` is WAL with a sync at every commit).
    pub fn durability(&self) -> StoreResult<(String, i64)> {
        self.write(|c| {
            let mode: String = c
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .map_err(db_err)?;
            let sync: i64 = c
                .pragma_query_value(None, "synchronous", |r| r.get(0))
                .map_err(db_err)?;
            Ok((mode, sync))
        })
    }

    /// A consistent copy of the live store at `path` into `to` (`VACUUM
    /// INTO`: one read transaction, so a running server's writers go on
    /// meanwhile). Refuses to overwrite.
    pub fn backup(path: &Path, to: &Path) -> StoreResult<()> {
        if !path.exists() {
            return Err(db_err(format!("no team database at {}", path.display())));
        }
        if to.exists() {
            return Err(db_err(format!(
                "{} already exists: name a new file for the backup",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| db_err(format!("{} is not a UTF-8 path", to.display())))?;
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(db_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_err)?;
        conn.execute("VACUUM INTO ?1", params![target])
            .map_err(db_err)?;
        // The attachments' bytes, from the blob file beside the store.
        let blobs = blobs_path(path);
        if blobs.exists() {
            let side = blobs_path(to);
            let side_text = side
                .to_str()
                .ok_or_else(|| db_err(format!("{} is not a UTF-8 path", side.display())))?;
            let conn = Connection::open_with_flags(&blobs, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(db_err)?;
            conn.busy_timeout(std::time::Duration::from_secs(30))
                .map_err(db_err)?;
            conn.execute("VACUUM INTO ?1", params![side_text])
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Puts the backup `from` in place of the store at `path` (the server
    /// must be stopped) and gives it a new database id, so every client
    /// notices and heals. The file is copied beside `path` first and moved
    /// over it in one rename, so a crash leaves either the old or the new.
    pub fn restore(path: &Path, from: &Path) -> StoreResult<Uuid> {
        let checked = SqliteStore::open(from).map_err(|e| {
            db_err(format!(
                "{} is not a backup this server can restore: {e}",
                from.display()
            ))
        })?;
        drop(checked);
        let staging = path.with_extension("restoring");
        std::fs::copy(from, &staging).map_err(|e| {
            db_err(format!(
                "cannot copy {} to {}: {e}",
                from.display(),
                staging.display()
            ))
        })?;
        let id = Uuid::new_v4();
        {
            let conn = Connection::open(&staging).map_err(db_err)?;
            conn.pragma_update(None, "journal_mode", "DELETE")
                .map_err(db_err)?;
            conn.execute(
                "UPDATE team SET database_id = ?1 WHERE id = 1",
                params![id.to_string()],
            )
            .map_err(db_err)?;
        }
        for stale in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{stale}", path.display()));
            if side.exists() {
                std::fs::remove_file(&side)
                    .map_err(|e| db_err(format!("cannot remove {}: {e}", side.display())))?;
            }
        }
        // The attachments' bytes: the backup's blob file, or none.
        let blobs = blobs_path(path);
        for stale in ["", "-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{stale}", blobs.display()));
            if side.exists() {
                std::fs::remove_file(&side)
                    .map_err(|e| db_err(format!("cannot remove {}: {e}", side.display())))?;
            }
        }
        let kept = blobs_path(from);
        if kept.exists() {
            std::fs::copy(&kept, &blobs).map_err(|e| {
                db_err(format!(
                    "cannot copy {} to {}: {e}",
                    kept.display(),
                    blobs.display()
                ))
            })?;
        }
        std::fs::rename(&staging, path).map_err(|e| {
            db_err(format!(
                "cannot move the restored copy into {}: {e}",
                path.display()
            ))
        })?;
        Ok(id)
    }

    /// Flushes the WAL into the main file; called on clean shutdown.
    pub fn checkpoint(&self) -> StoreResult<()> {
        self.write(|c| {
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(db_err)?;
            Ok(())
        })
    }
}

// Row helpers shared by reads and writes.

pub(crate) fn settings(conn: &Connection) -> StoreResult<TeamSettings> {
    let json: String = conn
        .prepare_cached("SELECT settings FROM team WHERE id = 1")
        .and_then(|mut st| st.query_row([], |r| r.get(0)))
        .map_err(db_err)?;
    serde_json::from_str(&json).map_err(db_err)
}

/// The JSON `data` column (the first) of every row `sql` gives, parsed.
pub(crate) fn parse_rows<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row.map_err(db_err)?).map_err(db_err)?);
    }
    Ok(out)
}

pub(crate) fn agents(conn: &Connection) -> StoreResult<Vec<Agent>> {
    parse_rows(conn, "SELECT data FROM agents ORDER BY rowid", [])
}

pub(crate) fn load_ticket(conn: &Connection, id: Uuid) -> StoreResult<Option<Ticket>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT data FROM tickets WHERE id = ?1")
        .and_then(|mut st| {
            st.query_row(params![id.to_string()], |r| r.get(0))
                .optional()
        })
        .map_err(db_err)?;
    json.map(|j| serde_json::from_str(&j).map_err(db_err))
        .transpose()
}

pub(crate) fn load_tickets_of(
    conn: &Connection,
    conversation_id: Uuid,
) -> StoreResult<Vec<Ticket>> {
    parse_rows(
        conn,
        "SELECT data FROM tickets WHERE conversation_id = ?1 ORDER BY created_at, id",
        params![conversation_id.to_string()],
    )
}

pub(crate) fn now_text(now: Timestamp) -> String {
    iso(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic while holding the writer (here inside an open transaction)
    /// rolls back what it began, and the next write goes through.
    #[test]
    fn a_panic_holding_the_writer_does_not_fail_later_writes() {
        let dir = tempfile::tempdir().expect("dir");
        let admin = NewAgent {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            role: Role::Admin,
            password: "a long password".into(),
        };
        let (store, _) = SqliteStore::create(
            &dir.path().join("team.db"),
            &admin,
            "hash",
            crate::time::now(),
        )
        .expect("team");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.write(|conn| -> StoreResult<()> {
                conn.execute_batch("BEGIN; UPDATE team SET next_number = 99999")
                    .expect("update");
                panic!("a bug in the middle of a write");
            });
        }));
        assert!(panicked.is_err());
        let next: i64 = store
            .write(|conn| {
                conn.query_row("SELECT next_number FROM team", [], |r| r.get(0))
                    .map_err(db_err)
            })
            .expect("the next write works");
        assert_ne!(next, 99999, "the half-done write was rolled back");
        crate::store::Store::put_settings(&store, &TeamSettings::default()).expect("a real write");
    }

    #[test]
    fn the_mail_migration_keeps_every_delivery_and_its_attempts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("team.db");
        let mut conn = Connection::open(&path).expect("open");
        configure(&conn).expect("configure");
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).expect("an older schema");
        }
        conn.pragma_update(None, "user_version", 6)
            .expect("version");
        conn.execute_batch(
            "INSERT INTO webhooks (id, url, events, secret, created_at)
                 VALUES ('w1', 'https://example.com/h', 'message.created', 'whsec_x', '2026-01-01');
             INSERT INTO deliveries (id, webhook_id, event, body, state, attempts, created_at, queued_at)
                 VALUES ('d1', 'w1', 'message.created', '{}', 'sent', 1, '2026-01-01', '2026-01-01');
             INSERT INTO delivery_attempts (delivery_id, n, at, status, duration_ms)
                 VALUES ('d1', 1, '2026-01-01', '200', '5');",
        )
        .expect("rows of schema 6");
        migrate(&mut conn).expect("migrated");
        let (state, attempts): (String, i64) = conn
            .query_row(
                "SELECT d.state, (SELECT COUNT(*) FROM delivery_attempts a WHERE a.delivery_id = d.id)
                 FROM deliveries d WHERE d.id = 'd1' AND d.mailbox_id IS NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the delivery kept");
        assert_eq!((state.as_str(), attempts), ("sent", 1));
        let broken: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("checked");
        assert_eq!(broken, 0);
    }
}
