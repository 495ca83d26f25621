//! Reads, and the `Store` implementation that ties reads and writes together.

use fyncall_domain::{Agent, TeamSettings, Timestamp};
use postgres::GenericClient;
use postgres::types::ToSql;
use uuid::Uuid;

use super::tokens::PgTokens;
use super::{Db, PgStore, agents, db_err, settings};
use crate::pull::{PullRows, Table};
use crate::query::{Arg, Dialect};
use crate::sessions::TokenDb;
use crate::store::ConversationBody;
use crate::store::{
    PullPage, Store, StoreResult, TicketBody, TicketPage, TicketQuery, parse_database_id,
};

fn boxed(args: &[Arg]) -> Vec<Box<dyn ToSql + Sync>> {
    args.iter()
        .map(|a| -> Box<dyn ToSql + Sync> {
            match a {
                Arg::Int(i) => Box::new(*i),
                Arg::Text(t) => Box::new(t.clone()),
            }
        })
        .collect()
}

/// The API's reads ([`crate::read`]) on PostgreSQL.
struct PgRead<'a, 'b, C: GenericClient>(&'a mut Db<'b, C>);

impl<C: GenericClient> crate::read::ReadRows for PgRead<'_, '_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn texts(&mut self, sql: &str, args: &[Arg]) -> StoreResult<Vec<String>> {
        let args = boxed(args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(AsRef::as_ref).collect();
        Ok(self
            .0
            .query_dynamic(sql, &refs)?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect())
    }

    fn count(&mut self, sql: &str, args: &[Arg]) -> StoreResult<i64> {
        let args = boxed(args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(AsRef::as_ref).collect();
        Ok(self
            .0
            .query_dynamic(sql, &refs)?
            .first()
            .map(|r| r.get(0))
            .unwrap_or(0))
    }

    fn keyed(
        &mut self,
        sql: &str,
        args: &[Arg],
        int_key: bool,
    ) -> StoreResult<Vec<(String, Arg, String)>> {
        let args = boxed(args);
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(AsRef::as_ref).collect();
        Ok(self
            .0
            .query_dynamic(sql, &refs)?
            .iter()
            .map(|row| {
                let key = if int_key {
                    Arg::Int(row.get(1))
                } else {
                    Arg::Text(row.get(1))
                };
                (row.get::<_, String>(0), key, row.get::<_, String>(2))
            })
            .collect())
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.0)
    }
}

/// The reads of a pull page on PostgreSQL (id lists as arrays).
struct PgPull<'a, 'b, C: GenericClient>(&'a mut Db<'b, C>);

impl<C: GenericClient> PullRows for PgPull<'_, '_, C> {
    fn changes_after(
        &mut self,
        cursor: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String, String)>> {
        Ok(self
            .0
            .query(
                "SELECT seq, entity, entity_id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&cursor, &limit],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    fn data_of(&mut self, table: Table, ids: &[String]) -> StoreResult<Vec<(String, String)>> {
        let sql = match table {
            Table::Tickets => "SELECT id, data FROM tickets WHERE id = ANY($1)",
            Table::Activity => "SELECT id, data FROM activity WHERE id = ANY($1)",
            Table::Conversations => "SELECT id, data FROM conversations WHERE id = ANY($1)",
            Table::Agents => "SELECT id, data FROM agents WHERE id = ANY($1)",
        };
        Ok(self
            .0
            .query(sql, &[&ids])?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn messages_of(&mut self, conversations: &[String]) -> StoreResult<Vec<(String, String)>> {
        Ok(self
            .0
            .query(
                "SELECT conversation_id, data FROM messages WHERE conversation_id = ANY($1)
                 ORDER BY conversation_id, sent_at, pos",
                &[&conversations],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn settings(&mut self) -> StoreResult<TeamSettings> {
        settings(self.0)
    }
}

struct PgSnapshot<'a, 'b, 'c>(&'a mut Db<'b, postgres::Transaction<'c>>);

impl crate::snapshot::SnapshotRows for PgSnapshot<'_, '_, '_> {
    fn seq(&mut self) -> StoreResult<i64> {
        Ok(self
            .0
            .query_one("SELECT seq FROM team WHERE id = 1", &[])?
            .get(0))
    }

    fn count(&mut self, sql: &str, cutoff: Option<&str>) -> StoreResult<u64> {
        let rows = match cutoff {
            Some(cutoff) => self.0.query_dynamic(sql, &[&cutoff])?,
            None => self.0.query_dynamic(sql, &[])?,
        };
        let n: i64 = rows.first().map_or(0, |r| r.get(0));
        Ok(n.max(0) as u64)
    }

    fn settings(&mut self) -> StoreResult<String> {
        Ok(self
            .0
            .query_one("SELECT settings FROM team WHERE id = 1", &[])?
            .get(0))
    }

    fn each(
        &mut self,
        sql: &str,
        cutoff: Option<&str>,
        row: &mut dyn FnMut(&str, &str) -> StoreResult<()>,
    ) -> StoreResult<()> {
        use postgres::fallible_iterator::FallibleIterator;
        // Rows stream from the server as they are read, not all at once.
        let args: Vec<&(dyn ToSql + Sync)> = cutoff
            .as_ref()
            .map(|c| c as &(dyn ToSql + Sync))
            .into_iter()
            .collect();
        let mut rows = self.0.c.query_raw(sql, args).map_err(super::pg_err)?;
        while let Some(r) = rows.next().map_err(super::pg_err)? {
            let id: &str = r.try_get(0).map_err(super::pg_err)?;
            let data: &str = r.try_get(1).map_err(super::pg_err)?;
            row(id, data)?;
        }
        Ok(())
    }
}

impl Store for PgStore {
    fn login_candidate(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        self.read(|db| {
            db.query_opt(
                "SELECT data, password_hash FROM agents WHERE lower(email) = lower($1)",
                &[&email.trim()],
            )?
            .map(|r| {
                Ok((
                    serde_json::from_str(r.get::<_, &str>(0)).map_err(db_err)?,
                    r.get::<_, String>(1),
                ))
            })
            .transpose()
        })
    }

    fn token_read(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.read(|db| work(&mut PgTokens(db)))
    }

    fn token_write(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.write(|db| work(&mut PgTokens(db)))
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
        PgStore::transact(self, work)
    }

    /// A commit waits for the write-ahead log to be on disk, and pushes
    /// take the team row one after the other, so every commit is time no
    /// other push can use: a push of 500 commits once. But each change of
    /// a row inside one transaction leaves a version of it that every
    /// later read of the row in that transaction walks past (a queue of
    /// 500 comments on one ticket would walk 125,000), so a transaction
    /// changes one row at most 64 times. Measured by `cargo bench -p
    /// fyncall-server --bench stores` ("push" and "one ticket's queue").
    fn mutations_per_transaction(&self) -> (usize, usize) {
        (500, 64)
    }

    fn ticket(&self, id: Uuid, now: Timestamp) -> StoreResult<TicketBody> {
        self.read(|db| crate::read::ticket(&mut PgRead(db), id, now))
    }

    fn ticket_with_activity(
        &self,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<(TicketBody, Vec<fyncall_domain::Activity>)> {
        self.snapshot(|db| crate::read::ticket_with_activity(&mut PgRead(db), id, now))
    }

    fn tickets(&self, query: &TicketQuery, now: Timestamp) -> StoreResult<TicketPage> {
        self.snapshot(|db| crate::read::list_tickets(&mut PgRead(db), query, now))
    }

    fn ticket_numbered(&self, number: i64) -> StoreResult<Uuid> {
        self.read(|db| crate::read::ticket_numbered(&mut PgRead(db), number))
    }

    fn conversation(&self, id: Uuid) -> StoreResult<ConversationBody> {
        self.snapshot(|db| crate::read::conversation(&mut PgRead(db), id))
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn pull(&self, cursor: i64, limit: u32, now: Timestamp) -> StoreResult<PullPage> {
        self.snapshot(|db| crate::pull::page(&mut PgPull(db), cursor, limit, now))
    }

    fn snapshot(
        &self,
        now: Timestamp,
        database_id: Uuid,
        out: &mut dyn FnMut(&[u8]) -> StoreResult<()>,
    ) -> StoreResult<()> {
        // One REPEATABLE READ snapshot: every row as of the sequence it reads first.
        self.snapshot(|db| crate::snapshot::write(&mut PgSnapshot(db), now, database_id, out))
    }

    fn database_id(&self) -> StoreResult<Uuid> {
        self.read(|db| {
            let id: Option<String> = db
                .query_one("SELECT database_id FROM team WHERE id = 1", &[])?
                .get(0);
            parse_database_id(id)
        })
    }

    fn current_seq(&self) -> StoreResult<i64> {
        self.read(|db| {
            Ok(db
                .query_one("SELECT seq FROM team WHERE id = 1", &[])?
                .get(0))
        })
    }

    fn publish_presence(&self, beat: &str) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "SELECT pg_notify($1, $2)",
                &[&crate::presence::CHANNEL, &beat],
            )
            .map(|_| ())
        })
    }

    fn follow_other_instances(
        &self,
        changes: tokio::sync::broadcast::Sender<i64>,
        presence: std::sync::Arc<crate::presence::Presence>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let target = self.target().clone();
        let spawned = std::thread::Builder::new()
            .name("fyncall-listen".into())
            .spawn(move || super::listen(target, changes, presence, stop));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the change feed from other instances");
        }
    }
}
