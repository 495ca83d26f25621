//! `crate::sessions` on PostgreSQL: the statements run as they are.

use postgres::GenericClient;
use postgres::types::ToSql;

use super::Db;
use crate::sessions::TokenDb;
use crate::store::StoreResult;

/// Token statements on a pooled connection or an open transaction.
pub(crate) struct PgTokens<'a, 'b, C: GenericClient>(pub(crate) &'a mut Db<'b, C>);

fn params<'a>(args: &'a [Option<&'a str>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> TokenDb for PgTokens<'_, '_, C> {
    fn exec(&mut self, sql: &'static str, args: &[Option<&str>]) -> StoreResult<u64> {
        self.0.execute(sql, &params(args))
    }

    fn rows(
        &mut self,
        sql: &'static str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>> {
        Ok(self
            .0
            .query(sql, &params(args))?
            .iter()
            .map(text_row)
            .collect())
    }

    fn rows_built(
        &mut self,
        sql: &str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>> {
        Ok(self
            .0
            .query_dynamic(sql, &params(args))?
            .iter()
            .map(text_row)
            .collect())
    }

    fn time_limit(&mut self, limit: Option<std::time::Duration>) -> StoreResult<()> {
        // Whole milliseconds, at least one (0 would mean no limit).
        let ms = limit.map_or(0, |l| l.as_millis().clamp(1, i32::MAX as u128));
        self.0
            .batch_execute(&format!("SET statement_timeout = {ms}"))
    }
}

fn text_row(r: &postgres::Row) -> Vec<Option<String>> {
    (0..r.len())
        .map(|i| r.get::<_, Option<String>>(i))
        .collect()
}
