//! The token in the OS keyring through the `keyring` crate. Where there is
//! no keyring, or it is locked and its unlock prompt is dismissed, the
//! caller keeps the token in its 0600 file instead and says so.

/// The keyring service name every entry of this app carries.
const SERVICE: &str = "fyncall-desk";

#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyringError {
    #[error("no OS keyring on this desktop session: {0}")]
    Unavailable(String),
    #[error("the OS keyring is locked and was not unlocked")]
    Locked,
    #[error("the OS keyring refused: {0}")]
    Failed(String),
}

impl From<keyring::Error> for KeyringError {
    fn from(e: keyring::Error) -> Self {
        match e {
            keyring::Error::NoStorageAccess(inner) => {
                let text = inner.to_string();
                let lower = text.to_lowercase();
                if lower.contains("lock") || lower.contains("prompt") {
                    KeyringError::Locked
                } else {
                    KeyringError::Unavailable(text)
                }
            }
            keyring::Error::PlatformFailure(inner) => KeyringError::Unavailable(inner.to_string()),
            other => KeyringError::Failed(other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, KeyringError>;

/// The user's OS keyring (on Linux: the Secret Service of the session bus
/// `DBUS_SESSION_BUS_ADDRESS` names).
#[derive(Debug, Default, Clone, Copy)]
pub struct Keyring;

impl Keyring {
    pub fn new() -> Keyring {
        Keyring
    }

    #[cfg(target_os = "linux")]
    fn entry(&self, account: &str, label: Option<&str>) -> Result<keyring::Entry> {
        let mut credential =
            keyring::secret_service::SsCredential::new_with_target(None, SERVICE, account)?;
        if let Some(label) = label {
            credential.label = label.to_owned();
        }
        Ok(keyring::Entry::new_with_credential(Box::new(credential)))
    }

    #[cfg(not(target_os = "linux"))]
    fn entry(&self, account: &str, _label: Option<&str>) -> Result<keyring::Entry> {
        Ok(keyring::Entry::new(SERVICE, account)?)
    }

    /// Keeps `secret` for `account`, replacing what was kept.
    pub fn store(&self, account: &str, label: &str, secret: &str) -> Result<()> {
        Ok(self.entry(account, Some(label))?.set_password(secret)?)
    }

    /// The secret kept for `account`, if any.
    pub fn get(&self, account: &str) -> Result<Option<String>> {
        match self.entry(account, None)?.get_password() {
            Ok(secret) => Ok(Some(secret)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Forgets `account`'s secret (nothing kept is fine).
    pub fn delete(&self, account: &str) -> Result<()> {
        match self.entry(account, None)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
