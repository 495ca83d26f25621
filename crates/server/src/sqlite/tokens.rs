//! `crate::sessions` on SQLite: the `$1` placeholders run as `?1`.

use rusqlite::{Connection, params_from_iter};

use super::db_err;
use crate::sessions::TokenDb;
use crate::store::StoreResult;

/// Token statements on an SQLite connection (or open transaction).
pub(crate) struct SqliteTokens<'a>(pub(crate) &'a Connection);

impl TokenDb for SqliteTokens<'_> {
    fn exec(&mut self, sql: &'static str, args: &[Option<&str>]) -> StoreResult<u64> {
        let mut st = self
            .0
            .prepare_cached(&sql.replace('$', "?"))
            .map_err(db_err)?;
        Ok(st.execute(params_from_iter(args.iter())).map_err(db_err)? as u64)
    }

    fn rows(
        &mut self,
        sql: &'static str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>> {
        self.rows_built(sql, args)
    }

    fn rows_built(
        &mut self,
        sql: &str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>> {
        let mut st = self
            .0
            .prepare_cached(&sql.replace('$', "?"))
            .map_err(db_err)?;
        let columns = st.column_count();
        let rows = st
            .query_map(params_from_iter(args.iter()), |r| {
                (0..columns)
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect()
            })
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)
    }

    fn time_limit(&mut self, limit: Option<std::time::Duration>) -> StoreResult<()> {
        match limit {
            Some(limit) => {
                let deadline = std::time::Instant::now() + limit;
                // Asked every thousand virtual-machine steps; true interrupts.
                self.0
                    .progress_handler(1000, Some(move || std::time::Instant::now() >= deadline));
            }
            None => self.0.progress_handler(1000, None::<fn() -> bool>),
        }
        Ok(())
    }
}
