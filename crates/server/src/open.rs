//! Which database a team lives in: an SQLite file (the zero-setup default)
//! or PostgreSQL (several server instances on one database).

use std::path::PathBuf;
use std::sync::Arc;

use fyncall_domain::{Agent, Timestamp};

use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::{NewAgent, Store, StoreResult};

#[derive(Debug, Clone)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Database {
    /// Creates the team with one admin; refuses a database that has one.
    pub fn create(
        &self,
        admin: &NewAgent,
        password_hash: &str,
        now: Timestamp,
    ) -> StoreResult<(Arc<dyn Store>, Agent)> {
        match self {
            Database::Sqlite(path) => {
                let (store, agent) = SqliteStore::create(path, admin, password_hash, now)?;
                Ok((Arc::new(store), agent))
            }
            Database::Postgres(url) => {
                let (store, agent) = PgStore::create(url, admin, password_hash)?;
                Ok((Arc::new(store), agent))
            }
        }
    }

    /// Opens the team, applying newer migrations.
    pub fn open(&self) -> StoreResult<Arc<dyn Store>> {
        Ok(match self {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Database::Postgres(url) => Arc::new(PgStore::open(url)?),
        })
    }

    /// Where it is, without any password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => match crate::postgres::Target::parse(url) {
                Ok(target) => target.describe(),
                Err(_) => "an unreadable PostgreSQL URL".into(),
            },
        }
    }
}
