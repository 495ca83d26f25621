//! The sign-in kept between runs: server, token and agent, in a file only
//! the user can read (0600) in the app's data folder. The desktop app keeps
//! the token itself in the OS keyring where there is one (the file then
//! says so and holds no token).

use std::io::Write;
use std::path::{Path, PathBuf};

use fyncall_domain::Agent;
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Session {
    /// The server's base URL, e.g. `http://127.0.0.1:8470`.
    pub server: String,
    /// Empty when the token is kept in the OS keyring instead.
    pub token: String,
    pub agent: Agent,
    /// The token is in the OS keyring, not in this file.
    #[serde(default)]
    pub token_in_keyring: bool,
    /// A certificate authority (PEM file) trusted besides the OS store, for
    /// a server with a certificate of the team's own.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Plain `http://` to a server outside this machine was allowed at
    /// sign-in (the traffic, token included, can be read on the way).
    #[serde(default)]
    pub allow_http: bool,
}

fn file(home: &Path) -> PathBuf {
    home.join("session.json")
}

/// The saved sign-in, if any.
pub fn load(home: &Path) -> Result<Option<Session>> {
    match std::fs::read_to_string(file(home)) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).map_err(|e| {
            CacheError::Corrupt(format!(
                "{} cannot be read ({e}): run `fyncall login` again",
                file(home).display()
            ))
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CacheError::Invalid(format!(
            "cannot read {}: {e}",
            file(home).display()
        ))),
    }
}

/// Saves the sign-in, readable by this user only; replaced atomically.
pub fn save(home: &Path, session: &Session) -> Result<()> {
    let io = |e: std::io::Error| {
        CacheError::Invalid(format!(
            "cannot save the sign-in in {}: {e}",
            home.display()
        ))
    };
    crate::files::private_dir(home).map_err(io)?;
    let tmp = home.join("session.json.tmp");
    {
        let _ = std::fs::remove_file(&tmp);
        let mut f = crate::files::private_file()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(serde_json::to_string_pretty(session)?.as_bytes())
            .map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, file(home)).map_err(io)?;
    Ok(())
}

/// Forgets the sign-in.
pub fn clear(home: &Path) -> Result<()> {
    match std::fs::remove_file(file(home)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CacheError::Invalid(format!(
            "cannot remove {}: {e}",
            file(home).display()
        ))),
    }
}
