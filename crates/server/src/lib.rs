//! The Fyncall team server: the HTTP API of API.md, the authority every
//! desktop client syncs with. Every ticket rule comes from `fyncall-domain`;
//! this crate stores, authenticates, serves and announces changes.

pub mod api;
pub mod app;
pub mod auth;
pub mod blobs;
pub mod deliver;
pub mod demo;
pub mod error;
pub mod inbox;
pub mod limits;
pub mod macros;
pub mod mail;
pub mod mentions;
pub mod migrate;
pub mod open;
pub mod outbox;
pub mod postgres;
pub mod presence;
pub mod pull;
pub mod query;
pub mod read;
pub mod reports;
pub mod rows;
pub mod sessions;
pub mod snapshot;
pub mod sqlite;
pub mod store;
pub mod time;
pub mod write;

pub use app::{Running, start, start_with};
pub use limits::Config;
pub use open::Database;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::Store;
