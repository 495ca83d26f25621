//! The sign-in kept between runs, one code path for the desktop app and the
//! `fyncall` CLI: the token in the OS keyring where there is one (the
//! `keyring` crate: Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows), else in the sign-in file only the user can read
//! (0600). Either program finds the other's sign-in.

pub mod keyring;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;

use fyncall_cache::session::{self, Session};
use uuid::Uuid;

pub use keyring::{Keyring, KeyringError};

#[derive(Debug, thiserror::Error)]
pub enum SigninError {
    #[error(transparent)]
    Cache(#[from] fyncall_cache::CacheError),
    /// The saved sign-in keeps its token in the OS keyring, which cannot be
    /// read now (no keyring on this session, or it is locked).
    #[error(
        "the sign-in's token is in the OS keyring, which cannot be read now ({0}): unlock it, or sign in again"
    )]
    KeyringUnreadable(KeyringError),
}

pub type Result<T, E = SigninError> = std::result::Result<T, E>;

/// The keyring entry of a sign-in: one per server and agent.
pub fn account(server: &str, agent: Uuid) -> String {
    format!("{server} {agent}")
}

/// Where a token may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The OS keyring where there is one, else the 0600 file.
    KeyringOrFile,
    /// The 0600 file only (a demo's throwaway token).
    FileOnly,
}

/// Saves the sign-in in `home`: the token in the OS keyring where there is
/// one (`keep` allowing), else in the 0600 file with the rest. Returns the
/// session with `token_in_keyring` saying which. Blocking (D-Bus, disk).
pub fn keep(home: &Path, mut s: Session, keep: Keep) -> Result<Session> {
    let stored = match keep {
        Keep::FileOnly => Err(KeyringError::Unavailable(
            "a throwaway sign-in is not worth a keyring entry".into(),
        )),
        Keep::KeyringOrFile => Keyring::new().store(
            &account(&s.server, s.agent.id),
            &format!("Fyncall Desk sign-in ({})", s.server),
            &s.token,
        ),
    };
    let file = match stored {
        Ok(()) => Session {
            token: String::new(),
            token_in_keyring: true,
            ..s.clone()
        },
        Err(e) => {
            tracing::info!(reason = %e, "keeping the sign-in token in a file only this user can read");
            s.token_in_keyring = false;
            s.clone()
        }
    };
    session::save(home, &file)?;
    s.token_in_keyring = file.token_in_keyring;
    Ok(s)
}

/// The saved sign-in with its token, read from the keyring when it is kept
/// there. `None` when there is none, or its token is gone from the keyring
/// (the file is cleared then). A keyring that cannot be read now is an
/// error: the sign-in stays for when it can. Blocking.
pub fn recall(home: &Path) -> Result<Option<Session>> {
    let Some(mut s) = session::load(home)? else {
        return Ok(None);
    };
    if !s.token_in_keyring {
        return Ok(Some(s));
    }
    match Keyring::new().get(&account(&s.server, s.agent.id)) {
        Ok(Some(token)) => {
            s.token = token;
            Ok(Some(s))
        }
        Ok(None) => {
            tracing::warn!("the sign-in's token is no longer in the OS keyring; sign in again");
            session::clear(home)?;
            Ok(None)
        }
        Err(e) => Err(SigninError::KeyringUnreadable(e)),
    }
}

/// Forgets the sign-in in `home`, its keyring entry included. Blocking.
pub fn forget(home: &Path, s: Option<&Session>) -> Result<()> {
    if let Some(s) = s.filter(|s| s.token_in_keyring) {
        if let Err(e) = Keyring::new().delete(&account(&s.server, s.agent.id)) {
            tracing::warn!(error = %e, "could not remove the token from the OS keyring");
        }
    }
    Ok(session::clear(home)?)
}

/// The file of this computer's device tokens: one line per server and
/// account (`server email token`), 0600. It outlives sign-outs: the device
/// token is what keeps the owner's sign-ins clear of a lock that guesses
/// from elsewhere set off.
fn devices_file(home: &Path) -> std::path::PathBuf {
    home.join("devices")
}

/// The device token this computer was given for `email` at `server`.
pub fn device_token(home: &Path, server: &str, email: &str) -> Option<String> {
    let text = std::fs::read_to_string(devices_file(home)).ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.split(' ');
        let (s, e, t) = (parts.next()?, parts.next()?, parts.next()?);
        (s == server && e.eq_ignore_ascii_case(email.trim())).then(|| t.to_owned())
    })
}

/// Keeps the device token given for `email` at `server` (replacing the one
/// before); the file is this user's only. Blocking (disk).
pub fn keep_device_token(home: &Path, server: &str, email: &str, token: &str) -> Result<()> {
    use std::io::Write;
    let io = |e: std::io::Error| {
        fyncall_cache::CacheError::Invalid(format!(
            "cannot keep this device's token in {}: {e}",
            home.display()
        ))
    };
    let email = email.trim().to_lowercase();
    let kept: Vec<String> = std::fs::read_to_string(devices_file(home))
        .unwrap_or_default()
        .lines()
        .filter(|line| {
            let mut parts = line.split(' ');
            !(parts.next() == Some(server) && parts.next() == Some(email.as_str()))
        })
        .map(str::to_owned)
        .chain(std::iter::once(format!("{server} {email} {token}")))
        .collect();
    fyncall_cache::files::private_dir(home).map_err(io)?;
    let tmp = home.join("devices.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = fyncall_cache::files::private_file()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io)?;
    f.write_all((kept.join("\n") + "\n").as_bytes())
        .map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, devices_file(home)).map_err(io)?;
    Ok(())
}
