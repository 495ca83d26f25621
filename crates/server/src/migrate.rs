//! `fyncall-server migrate`: moves a team from its SQLite file to an empty
//! PostgreSQL database, whole — agents with their passwords, sessions and
//! integration tokens, settings, conversations, messages, tickets, every
//! timeline entry, the change log with its sequence, the pushed mutation
//! ids and the store's `database_id` — so every client keeps its cache and
//! cursor and carries on without a full download.
//!
//! Both schemas have the same tables and columns (PostgreSQL adds `pos`
//! ordering columns of its own, filled in insertion order). Rows go over in
//! `rowid` order, a chunk at a time, as JSON that PostgreSQL reads into the
//! table's own column types (`json_populate_recordset`), all in one
//! transaction: a failed move leaves the target empty.

use rusqlite::types::ValueRef;
use serde_json::{Map, Number, Value};

use crate::postgres::{Db, PgStore};
use crate::sqlite::SqliteStore;
use crate::store::{StoreError, StoreResult};

/// Every table of a team, parents before children.
pub const TABLES: [&str; 20] = [
    "team",
    "agents",
    "tokens",
    "device_tokens",
    "conversations",
    "messages",
    "tickets",
    "activity",
    "mentions",
    "macros",
    "changes",
    "mutations",
    "webhooks",
    "mailboxes",
    "mail_taken",
    "mail_ids",
    "mail_threads",
    "attachments",
    "deliveries",
    "delivery_attempts",
];

/// Rows sent to PostgreSQL at once.
const CHUNK: usize = 500;

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Rows moved per table, in [`TABLES`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved(pub Vec<(&'static str, u64)>);

impl std::fmt::Display for Moved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(t, n)| format!("{t} {n}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

fn json_of(value: ValueRef<'_>) -> StoreResult<Value> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Number(i.into()),
        ValueRef::Real(r) => Number::from_f64(r).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => {
            return Err(db_err(
                "a table holds a binary value, which no Fyncall table has: is this a Fyncall team file?",
            ));
        }
    })
}

/// Moves the team in the SQLite file `from` into the empty PostgreSQL
/// database at `to_url` (its schema is made first).
pub fn sqlite_to_postgres(from: &std::path::Path, to_url: &str) -> StoreResult<Moved> {
    let source = SqliteStore::open(from)?;
    let tables: Vec<String> = source.read(|conn| {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .map_err(db_err)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_err)?;
        Ok(names)
    })?;
    if let Some(unknown) = tables.iter().find(|t| !TABLES.contains(&t.as_str())) {
        return Err(db_err(format!(
            "the file has a table {unknown:?} this fyncall-server does not know: use the fyncall-server that made it"
        )));
    }
    let target = PgStore::connect_and_migrate(to_url)?;
    let where_to = target.describe();
    target.write(|db| {
        if !db.query_dynamic("SELECT id FROM team", &[])?.is_empty() {
            return Err(db_err(format!(
                "{where_to} already holds a team: migrate into an empty database"
            )));
        }
        let mut moved = Vec::new();
        for table in TABLES {
            source.read(|conn| copy_rows(conn, table, db))?;
            moved.push((table, count_rows(db, table)?));
        }
        // The attachments' bytes, from the blob file beside the store.
        if crate::sqlite::blobs_path(from).exists() {
            for table in BLOB_TABLES {
                source.with_blobs(|conn| copy_rows(conn, table, db))?;
                moved.push((table, count_rows(db, table)?));
            }
        }
        Ok(Moved(moved))
    })
}

/// The tables of an SQLite store's blob file (`<store>.blobs`).
pub const BLOB_TABLES: [&str; 2] = ["blobs", "blob_chunks"];

fn count_rows(db: &mut Db<'_, postgres::Transaction<'_>>, table: &str) -> StoreResult<u64> {
    let counted = db.query_dynamic(&format!("SELECT COUNT(*) FROM {table}"), &[])?;
    Ok(counted
        .first()
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
        .max(0) as u64)
}

/// Copies every row of `table` from the SQLite connection into the same
/// table in PostgreSQL, in `rowid` order, a chunk at a time.
fn copy_rows(
    conn: &rusqlite::Connection,
    table: &str,
    db: &mut Db<'_, postgres::Transaction<'_>>,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare(&format!("SELECT * FROM {table} ORDER BY rowid"))
        .map_err(db_err)?;
    let columns: Vec<String> = stmt
        .column_names()
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    let list = columns.join(", ");
    let insert = format!(
        "INSERT INTO {table} ({list}) SELECT {list} FROM json_populate_recordset(NULL::{table}, $1::text::json)"
    );
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut chunk: Vec<Value> = Vec::with_capacity(CHUNK);
    loop {
        let row = rows.next().map_err(db_err)?;
        if let Some(row) = row {
            let mut object = Map::new();
            for (i, name) in columns.iter().enumerate() {
                object.insert(name.clone(), json_of(row.get_ref(i).map_err(db_err)?)?);
            }
            chunk.push(Value::Object(object));
        }
        if chunk.len() == CHUNK || (row.is_none() && !chunk.is_empty()) {
            let text = Value::Array(std::mem::take(&mut chunk)).to_string();
            db.query_dynamic(&insert, &[&text])?;
        }
        if row.is_none() {
            return Ok(());
        }
    }
}
