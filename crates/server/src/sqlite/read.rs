//! Reads, and the `Store` implementation that ties reads and writes together.

use fyncall_domain::{Agent, TeamSettings, Timestamp};
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use uuid::Uuid;

use super::tokens::SqliteTokens;
use super::{SqliteStore, agents, db_err, settings};
use crate::pull::{PullRows, Table};
use crate::query::{Arg, Dialect};
use crate::sessions::TokenDb;
use crate::store::ConversationBody;
use crate::store::{
    PullPage, Store, StoreResult, TicketBody, TicketPage, TicketQuery, parse_database_id,
};

fn to_sql(args: &[Arg]) -> Vec<Sql> {
    args.iter()
        .map(|a| match a {
            Arg::Int(i) => Sql::Integer(*i),
            Arg::Text(t) => Sql::Text(t.clone()),
        })
        .collect()
}

/// The API's reads ([`crate::read`]) on SQLite.
struct SqliteRead<'c>(&'c Connection);

impl crate::read::ReadRows for SqliteRead<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn texts(&mut self, sql: &str, args: &[Arg]) -> StoreResult<Vec<String>> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params_from_iter(to_sql(args)), |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err)).collect()
    }

    fn count(&mut self, sql: &str, args: &[Arg]) -> StoreResult<i64> {
        self.0
            .query_row(sql, params_from_iter(to_sql(args)), |r| r.get(0))
            .map_err(db_err)
    }

    fn keyed(
        &mut self,
        sql: &str,
        args: &[Arg],
        int_key: bool,
    ) -> StoreResult<Vec<(String, Arg, String)>> {
        let mut stmt = self.0.prepare(sql).map_err(db_err)?;
        let rows = stmt
            .query_map(params_from_iter(to_sql(args)), |r| {
                let key = if int_key {
                    Arg::Int(r.get(1)?)
                } else {
                    Arg::Text(r.get(1)?)
                };
                Ok((r.get(0)?, key, r.get(2)?))
            })
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err)).collect()
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.0)
    }
}

/// The reads of a pull page on SQLite (id lists as a JSON array).
struct SqliteSnapshot<'c>(&'c Connection);

impl crate::snapshot::SnapshotRows for SqliteSnapshot<'_> {
    fn seq(&mut self) -> StoreResult<i64> {
        self.0
            .query_row("SELECT seq FROM team WHERE id = 1", [], |r| r.get(0))
            .map_err(db_err)
    }

    fn count(&mut self, sql: &str, cutoff: Option<&str>) -> StoreResult<u64> {
        let n: i64 = self
            .0
            .query_row(sql, rusqlite::params_from_iter(cutoff), |r| r.get(0))
            .map_err(db_err)?;
        Ok(n.max(0) as u64)
    }

    fn settings(&mut self) -> StoreResult<String> {
        self.0
            .query_row("SELECT settings FROM team WHERE id = 1", [], |r| r.get(0))
            .map_err(db_err)
    }

    fn each(
        &mut self,
        sql: &str,
        cutoff: Option<&str>,
        row: &mut dyn FnMut(&str, &str) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut stmt = self.0.prepare(sql).map_err(db_err)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(cutoff))
            .map_err(db_err)?;
        while let Some(r) = rows.next().map_err(db_err)? {
            let id = r.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(db_err)?;
            let data = r.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(db_err)?;
            row(id, data)?;
        }
        Ok(())
    }
}

struct SqlitePull<'c>(&'c Connection);

impl PullRows for SqlitePull<'_> {
    fn changes_after(
        &mut self,
        cursor: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String, String)>> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT seq, entity, entity_id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map(rusqlite::params![cursor, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn data_of(&mut self, table: Table, ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        let sql = format!(
            "SELECT id, data FROM {} WHERE id IN (SELECT value FROM json_each(?1))",
            table.name()
        );
        let ids = serde_json::to_string(ids).map_err(db_err)?;
        let mut stmt = self.0.prepare_cached(&sql).map_err(db_err)?;
        let rows = stmt
            .query_map([ids], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn messages_of(&mut self, conversations: &[String]) -> StoreResult<Vec<(String, String)>> {
        let ids = serde_json::to_string(conversations).map_err(db_err)?;
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT conversation_id, data FROM messages
                 WHERE conversation_id IN (SELECT value FROM json_each(?1))
                 ORDER BY conversation_id, sent_at, rowid",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([ids], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.0)
    }
}

impl Store for SqliteStore {
    fn login_candidate(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, password_hash FROM agents WHERE email = ?1",
                    [email.trim()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            row.map(|(d, h)| Ok((serde_json::from_str(&d).map_err(db_err)?, h)))
                .transpose()
        })
    }

    fn token_read(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read(|c| work(&mut SqliteTokens(c)))
    }

    fn blob_write(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.with_blobs(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            work(&mut SqliteTokens(&tx))?;
            tx.commit().map_err(db_err)
        })
    }

    fn blob_read(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.with_blobs(|conn| work(&mut SqliteTokens(conn)))
    }

    fn token_write(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            work(&mut SqliteTokens(&tx))?;
            tx.commit().map_err(db_err)
        })
    }

    fn agents(&self) -> StoreResult<Vec<Agent>> {
        self.read(agents)
    }

    fn settings(&self) -> StoreResult<TeamSettings> {
        self.read(settings)
    }

    fn transact(
        &self,
        work: &mut dyn FnMut(&mut dyn crate::write::Steps) -> StoreResult<()>,
    ) -> StoreResult<()> {
        SqliteStore::transact(self, work)
    }

    fn ticket(&self, id: Uuid, now: Timestamp) -> StoreResult<TicketBody> {
        self.read(|c| crate::read::ticket(&mut SqliteRead(c), id, now))
    }

    fn ticket_with_activity(
        &self,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<(TicketBody, Vec<fyncall_domain::Activity>)> {
        self.read(|c| crate::read::ticket_with_activity(&mut SqliteRead(c), id, now))
    }

    fn tickets(&self, query: &TicketQuery, now: Timestamp) -> StoreResult<TicketPage> {
        self.read(|c| crate::read::list_tickets(&mut SqliteRead(c), query, now))
    }

    fn ticket_numbered(&self, number: i64) -> StoreResult<Uuid> {
        self.read(|c| crate::read::ticket_numbered(&mut SqliteRead(c), number))
    }

    fn conversation(&self, id: Uuid) -> StoreResult<ConversationBody> {
        self.read(|c| crate::read::conversation(&mut SqliteRead(c), id))
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn pull(&self, cursor: i64, limit: u32, now: Timestamp) -> StoreResult<PullPage> {
        self.read(|c| crate::pull::page(&mut SqlitePull(c), cursor, limit, now))
    }

    fn snapshot(
        &self,
        now: Timestamp,
        database_id: Uuid,
        out: &mut dyn FnMut(&[u8]) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read(|c| {
            // One read transaction: every row as of the sequence it reads first.
            let tx = c.unchecked_transaction().map_err(db_err)?;
            crate::snapshot::write(&mut SqliteSnapshot(&tx), now, database_id, out)?;
            tx.commit().map_err(db_err)
        })
    }

    fn database_id(&self) -> StoreResult<Uuid> {
        self.read(|c| {
            let id: Option<String> = c
                .query_row("SELECT database_id FROM team WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .map_err(db_err)?;
            parse_database_id(id)
        })
    }

    fn current_seq(&self) -> StoreResult<i64> {
        self.read(|c| {
            c.query_row("SELECT seq FROM team WHERE id = 1", [], |r| r.get(0))
                .map_err(db_err)
        })
    }

    fn close(&self) -> StoreResult<()> {
        self.checkpoint()
    }
}
