//! The server's API against API.md and RULES.md, over real HTTP.

mod admin;
mod autoclose;
mod common;
mod crash;
mod disk;
mod durable;
mod errors;
mod fuzz;
mod inbox;
mod instances;
mod macros;
mod mail;
mod mentions;
mod merge;
mod operations;
mod permissions;
mod presence;
mod reports;
mod security;
mod sync;
mod tags;
mod transport;
mod webhooks;
