//! The PostgreSQL store: for teams that run several `fyncall-server`
//! processes behind a load balancer on one database. Same tables and same
//! answers as the SQLite store; every rule still comes from `fyncall-domain`.
//!
//! # Why the change sequence stays a correct pull cursor
//!
//! A client pulls `changes WHERE seq > cursor` and moves its cursor to the
//! largest `seq` it received. That is only safe if no change can become
//! visible later with a sequence number at or below one already handed out
//! to a reader. PostgreSQL sequences do not give that: `nextval` is not
//! ordered with commit, so a transaction holding 7 could commit after one
//! holding 8 had been pulled, and 7 would be skipped forever.
//!
//! Here sequence numbers come from the single `team` row instead. A write
//! transaction takes that row's lock first (`SELECT ... FOR UPDATE`, or the
//! `UPDATE team SET seq = seq + 1` of the few writes outside the write
//! path), and PostgreSQL holds row locks until the transaction ends; the
//! write path hands out the numbers after the one it read and writes the
//! last back once before committing (`write.rs`, `Counters`). So:
//!
//! 1. While transaction A holds numbers, no other transaction can take one:
//!    B's `UPDATE team` waits for A's lock. All of A's numbers are taken
//!    between A's first bump and A's commit, and nobody else's in between.
//! 2. When A ends, PostgreSQL first makes A visible to new snapshots and only
//!    then releases its locks (`CommitTransaction`: `ProcArrayEndTransaction`
//!    before `ResourceOwnerRelease` of the locks). B's update re-reads the
//!    row (READ COMMITTED re-checks an updated row) and gets A's last number
//!    plus one. Any snapshot that can see B therefore sees A.
//! 3. So the committed transactions, ordered by sequence, always form a
//!    prefix of the sequence: if a reader sees a change with sequence `n`,
//!    it sees every change with a smaller sequence. A cursor never passes a
//!    change that is still to come. A rolled-back transaction gives its
//!    numbers back (its update of `team` rolls back too), so there are no
//!    gaps to wait for either.
//!
//! Pulls read in one REPEATABLE READ snapshot, so one page is one prefix.
//! The cost is that writers of one team take turns from their first change
//! to their commit, as the single SQLite writer does; reads never wait.
//!
//! # Concurrent writers and instances
//!
//! Every write transaction takes the team row first (the write path's
//! `Counters::lock`), so writers of one team take turns, on one instance or
//! many, and each reads rows (READ COMMITTED: the latest committed version,
//! statement by statement) that nobody can change before it commits. A
//! mutation also locks the rows it will change (`FOR UPDATE` on its ticket,
//! or its conversation and that conversation's tickets), a second guard
//! that costs nothing more once the row is written; a conversation read for
//! a change that cannot reach its tickets (a new ticket on it) is read
//! without one. A push reads the answers
//! of its mutation ids at its start and claims the others with their
//! answers in one statement at its end (`INSERT ... ON CONFLICT DO
//! NOTHING`), so a resend is answered `duplicate` and never applied twice;
//! the turns make the claim's conflict impossible, and if one happened the
//! push would run again and hear the first answer. Deadlocks and
//! serialization failures are retried. Every committing transaction sends
//! `NOTIFY fyncall_changes` with its last sequence (delivered on commit), and
//! each instance LISTENs and wakes its live streams.

mod conninfo;
mod read;
mod tokens;
mod write;

use std::collections::HashMap;
use std::time::Duration;

use fyncall_domain::{Agent, Role, TeamSettings, Timestamp};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, Row, Statement};
use uuid::Uuid;

use crate::store::{NewAgent, StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server-postgres/0001_init.sql"),
    include_str!("../../../../migrations/server-postgres/0002_database_id.sql"),
    include_str!("../../../../migrations/server-postgres/0003_sessions.sql"),
    include_str!("../../../../migrations/server-postgres/0004_inbox.sql"),
    include_str!("../../../../migrations/server-postgres/0005_device_tokens.sql"),
    include_str!("../../../../migrations/server-postgres/0006_deliveries.sql"),
    include_str!("../../../../migrations/server-postgres/0007_mail.sql"),
    include_str!("../../../../migrations/server-postgres/0008_attachments.sql"),
    include_str!("../../../../migrations/server-postgres/0009_mail_readers.sql"),
    include_str!("../../../../migrations/server-postgres/0010_tags.sql"),
    include_str!("../../../../migrations/server-postgres/0011_mentions.sql"),
    include_str!("../../../../migrations/server-postgres/0012_macros.sql"),
];
/// The advisory lock migrations run under, so two instances starting at
/// once apply each migration once.
const MIGRATION_LOCK: i64 = 0x0066_796e_6361_6c6c;
/// The NOTIFY channel carrying committed sequences.
pub(crate) const CHANNEL: &str = "fyncall_changes";
/// Connections one instance keeps at most.
const MAX_CONNECTIONS: u32 = 16;
/// How often a transaction that lost a deadlock or serialization race runs again.
const RETRIES: u32 = 8;

pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

pub(crate) fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// The database went away (restarting, shutting down, the connection lost):
/// nothing was written, and the client is told to try again in a moment
/// (`unavailable`), never a 500.
fn lost_the_database(e: &postgres::Error) -> bool {
    use std::error::Error as _;
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        // Class 08: connection exceptions; 57P01-57P03: admin or crash
        // shutdown, cannot connect now.
        let code = code.code();
        return code.starts_with("08") || ["57P01", "57P02", "57P03"].contains(&code);
    }
    let mut cause = e.source();
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A PostgreSQL error as a store error; races between transactions are
/// `Retry`, which the store runs again.
pub(crate) fn pg_err(e: postgres::Error) -> StoreError {
    if lost_the_database(&e) {
        tracing::warn!(error = %e, "PostgreSQL cannot be reached now");
        return StoreError::Api(crate::error::ApiError::unavailable());
    }
    match e.code() {
        Some(code)
            if *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            StoreError::Retry(e.to_string())
        }
        _ => match e.as_db_error() {
            Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
            None => StoreError::Database(e.to_string()),
        },
    }
}

pub(crate) use conninfo::Target;
pub use conninfo::describe;

/// One pooled connection with the statements it has prepared.
pub(crate) struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// Statements on a client or a transaction, each prepared once per connection.
pub(crate) struct Db<'a, C: GenericClient> {
    c: &'a mut C,
    statements: &'a mut HashMap<&'static str, Statement>,
    /// Statements sent that may have changed something (all but plain
    /// reads) or that failed: a failed statement aborts the transaction.
    /// The write path compares it before and after a step to know whether
    /// undoing that step needs a real savepoint (`write::PgSteps`).
    touched: u64,
}

impl<'a, C: GenericClient> Db<'a, C> {
    fn new(c: &'a mut C, statements: &'a mut HashMap<&'static str, Statement>) -> Self {
        Db {
            c,
            statements,
            touched: 0,
        }
    }

    /// See the field: how many statements so far may have changed something or failed.
    pub(crate) fn touched(&self) -> u64 {
        self.touched
    }

    /// Counts a statement that is not a plain read, or that failed.
    fn note<T>(&mut self, reads_only: bool, result: Result<T, postgres::Error>) -> StoreResult<T> {
        if !reads_only || result.is_err() {
            self.touched += 1;
        }
        result.map_err(pg_err)
    }

    fn statement(&mut self, sql: &'static str) -> StoreResult<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.c.prepare(sql);
        let s = self.note(true, prepared)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    pub(crate) fn query(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        let s = self.statement(sql)?;
        let rows = self.c.query(&s, params);
        self.note(reads_only(sql), rows)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> StoreResult<Option<Row>> {
        let s = self.statement(sql)?;
        let row = self.c.query_opt(&s, params);
        self.note(reads_only(sql), row)
    }

    pub(crate) fn query_one(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<Row> {
        let s = self.statement(sql)?;
        let row = self.c.query_one(&s, params);
        self.note(reads_only(sql), row)
    }

    pub(crate) fn execute(&mut self, sql: &'static str, params: Params<'_>) -> StoreResult<u64> {
        let s = self.statement(sql)?;
        let count = self.c.execute(&s, params);
        self.note(false, count)
    }

    /// SQL with no parameters and no result (savepoints).
    pub(crate) fn batch_execute(&mut self, sql: &str) -> StoreResult<()> {
        let done = self.c.batch_execute(sql);
        self.note(false, done)
    }

    /// A statement built at run time (the ticket list); not kept.
    pub(crate) fn query_dynamic(&mut self, sql: &str, params: Params<'_>) -> StoreResult<Vec<Row>> {
        let rows = self.c.query(sql, params);
        self.note(reads_only(sql), rows)
    }
}

/// Whether a statement only reads (locking rows is not a change: a lock
/// taken by a step later undone is only held until commit).
fn reads_only(sql: &str) -> bool {
    let head = sql.trim_start();
    head.get(..6)
        .is_some_and(|w| w.eq_ignore_ascii_case("select"))
        && !sql.contains("pg_notify")
}

/// Makes and checks the pool's connections (r2d2 does the pooling).
pub(crate) struct Manager {
    target: Target,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.target.connect_raw()?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

type Pool = r2d2::Pool<Manager>;

fn migrate(client: &mut Client) -> StoreResult<()> {
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(pg_err)?;
    let result = (|| {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS fyncall_schema (version INTEGER NOT NULL)")
            .map_err(pg_err)?;
        let version: i32 = client
            .query_one("SELECT COALESCE(MAX(version), 0) FROM fyncall_schema", &[])
            .map_err(pg_err)?
            .get(0);
        let known = MIGRATIONS.len() as i32;
        if version > known {
            return Err(db_err(format!(
                "the database was made by a newer fyncall-server (schema {version}, this one knows {known}): upgrade the server"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let mut tx = client.transaction().map_err(pg_err)?;
            tx.batch_execute(sql).map_err(pg_err)?;
            tx.execute(
                "INSERT INTO fyncall_schema (version) VALUES ($1)",
                &[&(i as i32 + 1)],
            )
            .map_err(pg_err)?;
            tx.commit().map_err(pg_err)?;
        }
        Ok(())
    })();
    let unlocked = client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .map_err(pg_err);
    result.and(unlocked)
}

pub struct PgStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    target: Target,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection of the blocking client runs a small runtime of
        // its own, which panics on a thread that is driving async tasks; the
        // last handle to the store may well be dropped on one. So the pool,
        // and its connections with it, go on a thread of their own.
        let Some(pool) = self.pool.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::Builder::new()
                .name("fyncall-pg-close".into())
                .spawn(move || drop(pool));
        } else {
            drop(pool);
        }
    }
}

impl PgStore {
    pub(crate) fn connect_and_migrate(url: &str) -> StoreResult<PgStore> {
        let mut target = Target::parse(url)?;
        target.config.connect_timeout(Duration::from_secs(10));
        target.config.application_name("fyncall-server");
        let mut client = target.connect()?;
        migrate(&mut client)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            .min_idle(Some(1))
            // A connection is checked when it comes back (`has_broken`), not
            // with a round trip each time it is taken.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager {
                target: target.clone(),
            })
            .map_err(|e| {
                db_err(format!(
                    "cannot reach PostgreSQL at {}: {e}; check --database-url and that the server is running",
                    target.describe()
                ))
            })?;
        Ok(PgStore {
            pool: Some(pool),
            target,
        })
    }

    /// Creates the team in an empty database (applying the schema) with
    /// one admin. Refuses a database that already holds a team.
    pub fn create(
        url: &str,
        admin: &NewAgent,
        password_hash: &str,
    ) -> StoreResult<(PgStore, Agent)> {
        let store = PgStore::connect_and_migrate(url)?;
        let agent = Agent {
            id: Uuid::now_v7(),
            name: admin.name.trim().to_owned(),
            email: admin.email.trim().to_owned(),
            role: Role::Admin,
            active: true,
        };
        let target = store.describe();
        let settings = serde_json::to_string(&TeamSettings::default()).map_err(db_err)?;
        store.write(|db| {
            let inserted = db.execute(
                "INSERT INTO team (id, settings, database_id) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
                &[&settings, &Uuid::new_v4().to_string()],
            )?;
            if inserted == 0 {
                return Err(db_err(format!(
                    "the database {target} already holds a team: serve it with `fyncall-server serve --database-url ...`, or use an empty database"
                )));
            }
            write::insert_agent(db, &agent, password_hash)
        })?;
        Ok((store, agent))
    }

    /// Opens the team in an existing database, applying newer migrations.
    pub fn open(url: &str) -> StoreResult<PgStore> {
        let store = PgStore::connect_and_migrate(url)?;
        let has_team = store.read(|db| Ok(db.query_opt("SELECT id FROM team", &[])?.is_some()))?;
        if !has_team {
            return Err(db_err(format!(
                "the database {} holds no team yet: create one with `fyncall-server init --database-url ...` or `fyncall-server demo --database-url ...`",
                store.describe()
            )));
        }
        // A store made before database ids gets its own now.
        let id = Uuid::new_v4().to_string();
        store.write(|db| {
            db.execute(
                "UPDATE team SET database_id = $1 WHERE id = 1 AND database_id IS NULL",
                &[&id],
            )
        })?;
        Ok(store)
    }

    /// Gives a store restored with `pg_restore` a new database id, so every
    /// client notices and heals (API.md "Operations").
    pub fn restored(url: &str) -> StoreResult<Uuid> {
        let store = PgStore::open(url)?;
        let id = Uuid::new_v4();
        store.write(|db| {
            db.execute(
                "UPDATE team SET database_id = $1 WHERE id = 1",
                &[&id.to_string()],
            )
        })?;
        Ok(id)
    }

    pub fn describe(&self) -> String {
        self.target.describe()
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// A connection from the pool; `unavailable` when none comes in time.
    fn lease(&self) -> StoreResult<r2d2::PooledConnection<Manager>> {
        let pool = self
            .pool
            .as_ref()
            .ok_or_else(|| db_err("the store is closing"))?;
        pool.get().map_err(|e| {
            // Nothing is written without a connection: try again shortly.
            tracing::warn!(error = %e, database = %self.target.describe(), "no connection to PostgreSQL");
            StoreError::Api(crate::error::ApiError::unavailable())
        })
    }

    /// Runs `f` in one READ COMMITTED transaction; a deadlock or
    /// serialization failure runs it again from the start.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut Db<'_, postgres::Transaction<'_>>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut attempt = 0;
        loop {
            let mut lease = self.lease()?;
            let conn = &mut *lease;
            let result = (|| {
                let mut tx = conn.client.transaction().map_err(pg_err)?;
                let value = f(&mut Db::new(&mut tx, &mut conn.statements))?;
                tx.commit().map_err(pg_err)?;
                Ok(value)
            })();
            match result {
                Err(StoreError::Retry(why)) if attempt < RETRIES => {
                    attempt += 1;
                    tracing::debug!(attempt, %why, "transaction lost a race; running it again");
                    drop(lease);
                    std::thread::sleep(Duration::from_millis(
                        u64::from(attempt) * 3 + u64::from(Uuid::now_v7().as_bytes()[15] % 5),
                    ));
                }
                other => return other,
            }
        }
    }

    /// Runs `f` on a connection, each statement on its own.
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, Client>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut lease = self.lease()?;
        let conn = &mut *lease;
        f(&mut Db::new(&mut conn.client, &mut conn.statements))
    }

    /// Runs `f` in one read-only REPEATABLE READ snapshot.
    pub(crate) fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, postgres::Transaction<'_>>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut lease = self.lease()?;
        let conn = &mut *lease;
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(pg_err)?;
        let value = f(&mut Db::new(&mut tx, &mut conn.statements))?;
        tx.commit().map_err(pg_err)?;
        Ok(value)
    }
}

/// Forwards every sequence NOTIFY'd on the channel to `changes` until `stop`,
/// reconnecting after a lost connection (and then announcing the current
/// sequence, in case a change came while it was away).
pub(crate) fn listen(
    target: Target,
    changes: tokio::sync::broadcast::Sender<i64>,
    presence: std::sync::Arc<crate::presence::Presence>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let stopped = || *stop.borrow();
    while !stopped() {
        match listen_once(&target, &changes, &presence, &stop) {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "lost the change feed from other instances; reconnecting");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Whether a heartbeat NOTIFY'd by another process is one a server could
/// have sent: a live session of its agent, or (`gone`) an agent now
/// deactivated. A payload anyone else wrote names neither and is dropped.
fn known_beat(checker: &mut Client, beat: &crate::presence::Beat) -> bool {
    let agent = beat.agent_id.to_string();
    if beat.gone {
        return checker
            .query_opt("SELECT data FROM agents WHERE id = $1", &[&agent])
            .ok()
            .flatten()
            .and_then(|row| row.try_get::<_, String>(0).ok())
            .and_then(|data| serde_json::from_str::<Agent>(&data).ok())
            .is_some_and(|a| !a.active);
    }
    checker
        .query_opt(
            "SELECT 1 FROM tokens WHERE id = $1 AND agent_id = $2 AND revoked_at IS NULL",
            &[&beat.session, &agent],
        )
        .is_ok_and(|row| row.is_some())
}

fn listen_once(
    target: &Target,
    changes: &tokio::sync::broadcast::Sender<i64>,
    presence: &crate::presence::Presence,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> StoreResult<()> {
    let mut client = target.connect()?;
    // Checks the heartbeats other processes announce against the store.
    let mut checker = target.connect()?;
    client
        .batch_execute(&format!(
            "LISTEN {CHANNEL}; LISTEN {}",
            crate::presence::CHANNEL
        ))
        .map_err(pg_err)?;
    let seq: i64 = client
        .query_one("SELECT seq FROM team WHERE id = 1", &[])
        .map_err(pg_err)?
        .get(0);
    let _ = changes.send(seq);
    loop {
        {
            let mut notifications = client.notifications();
            let mut waiting = notifications.timeout_iter(Duration::from_millis(250));
            loop {
                if *stop.borrow() {
                    return Ok(());
                }
                match postgres::fallible_iterator::FallibleIterator::next(&mut waiting) {
                    Ok(Some(n)) if n.channel() == crate::presence::CHANNEL => {
                        // Another process's heartbeat, kept with this one's
                        // clock, if it names a session the store knows: any
                        // role of the database can NOTIFY.
                        if let Ok(beat) = serde_json::from_str::<crate::presence::Beat>(n.payload())
                            && beat.origin != presence.origin()
                            && known_beat(&mut checker, &beat)
                        {
                            presence.take(&beat, tokio::time::Instant::now());
                        }
                    }
                    Ok(Some(n)) => {
                        if let Ok(seq) = n.payload().parse::<i64>() {
                            // No receivers is fine: nobody is listening.
                            let _ = changes.send(seq);
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(pg_err(e)),
                }
            }
        }
        if client.is_closed() {
            return Err(db_err("connection closed"));
        }
    }
}

// Row helpers shared by reads and writes.

pub(crate) fn settings<C: GenericClient>(db: &mut Db<'_, C>) -> StoreResult<TeamSettings> {
    let row = db.query_one("SELECT settings FROM team WHERE id = 1", &[])?;
    serde_json::from_str(row.get::<_, &str>(0)).map_err(db_err)
}

pub(crate) fn agents<C: GenericClient>(db: &mut Db<'_, C>) -> StoreResult<Vec<Agent>> {
    db.query("SELECT data FROM agents ORDER BY pos", &[])?
        .iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(db_err))
        .collect()
}

/// Parses the JSON in column 0 of each row.
pub(crate) fn parse_rows<T: serde::de::DeserializeOwned>(rows: &[Row]) -> StoreResult<Vec<T>> {
    rows.iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(db_err))
        .collect()
}

pub(crate) fn iso_opt(t: Option<Timestamp>) -> Option<String> {
    t.map(crate::time::iso)
}
