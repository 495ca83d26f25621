//! What the project's tests and benches share, written once: a real
//! `fyncall-server` process on 127.0.0.1 ([`server`]), signing in over HTTP
//! ([`http`]), a new database in a throwaway PostgreSQL cluster
//! ([`postgres`]), waiting for a condition ([`wait`]), percentiles of
//! timings ([`stats`]), a bad line between client and server ([`proxy`]) and
//! a small disk to fill ([`disk`]), a webhook receiver ([`receiver`]), real
//! IMAP and SMTP servers ([`mail`]). Dev-only: never a dependency of a shipped crate.

pub mod disk;
pub mod http;
pub mod mail;
pub mod postgres;
pub mod proxy;
pub mod receiver;
pub mod server;
pub mod stats;
pub mod wait;

/// The demo team's password (`fyncall-server demo`).
pub const DEMO_PASSWORD: &str = "fyncall-demo";
/// The demo team's agents and its admin.
pub const ALICE: &str = "alice@demo.fyncall.test";
pub const BEN: &str = "ben@demo.fyncall.test";
pub const CHLOE: &str = "chloe@demo.fyncall.test";
pub const ADMIN: &str = "admin@demo.fyncall.test";
/// Every demo account, agents first.
pub const DEMO_EMAILS: [&str; 4] = [ALICE, BEN, CHLOE, ADMIN];
