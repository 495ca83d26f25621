//! The client as an agent uses it: the `fyncall` binary against the real
//! `fyncall-server` binary on 127.0.0.1, on real cache files.

mod archive;
mod badline;
mod common;
mod converge;
mod crash;
mod macros;
mod mentions;
mod merge;
mod offline;
mod queue;
mod rejections;
mod report;
mod restore;
mod signin;
mod tags;
