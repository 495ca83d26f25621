//! The sign-in token in the OS keyring: the freedesktop Secret Service
//! (GNOME Keyring, KWallet) on the session D-Bus. Where there is none, or
//! its keyring is locked and would need a prompt, the caller keeps the token
//! in its 0600 file instead and says so.
//!
//! The secret goes over the session bus in a "plain" session: the bus is
//! private to the user, as the file would be.

use std::collections::HashMap;

use zbus::blocking::Connection;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

const SERVICE: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const COLLECTION_IFACE: &str = "org.freedesktop.Secret.Collection";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
/// The attribute every item of this app carries.
const APPLICATION: &str = "fyncall-desk";

/// (session, parameters, value, content type), the Secret Service's secret.
type Secret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("no OS keyring on this desktop session: {0}")]
    Unavailable(String),
    #[error("the OS keyring is locked and asks to be unlocked")]
    Locked,
    #[error("the OS keyring refused: {0}")]
    Failed(String),
}

impl From<zbus::Error> for KeyringError {
    fn from(e: zbus::Error) -> Self {
        KeyringError::Failed(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, KeyringError>;

/// A connection to the Secret Service with an open session.
pub struct Keyring {
    conn: Connection,
    session: OwnedObjectPath,
}

fn is_none(path: &ObjectPath<'_>) -> bool {
    path.as_str() == "/"
}

impl Keyring {
    /// The keyring of the user's desktop session, if it has one.
    pub fn session() -> Result<Keyring> {
        let conn = Connection::session().map_err(|e| KeyringError::Unavailable(e.to_string()))?;
        Keyring::on(conn)
    }

    /// The keyring on the D-Bus at `address`.
    pub fn at(address: &str) -> Result<Keyring> {
        let conn = zbus::blocking::connection::Builder::address(address)
            .and_then(|b| b.build())
            .map_err(|e| KeyringError::Unavailable(e.to_string()))?;
        Keyring::on(conn)
    }

    fn on(conn: Connection) -> Result<Keyring> {
        let reply = conn
            .call_method(
                Some(SERVICE),
                SERVICE_PATH,
                Some(SERVICE_IFACE),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .map_err(|e| KeyringError::Unavailable(e.to_string()))?;
        let (_, session): (OwnedValue, OwnedObjectPath) = reply.body().deserialize()?;
        Ok(Keyring { conn, session })
    }

    fn call<B, R>(&self, path: &ObjectPath<'_>, iface: &str, method: &str, body: &B) -> Result<R>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
        R: for<'d> zbus::zvariant::DynamicDeserialize<'d>,
    {
        let reply = self
            .conn
            .call_method(Some(SERVICE), path, Some(iface), method, body)?;
        Ok(reply.body().deserialize()?)
    }

    fn service(&self) -> ObjectPath<'static> {
        ObjectPath::from_static_str_unchecked(SERVICE_PATH)
    }

    /// Unlocks `paths` where that needs no prompt.
    fn unlock(&self, paths: Vec<OwnedObjectPath>) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let (_, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) =
            self.call(&self.service(), SERVICE_IFACE, "Unlock", &(paths,))?;
        if is_none(&prompt) {
            Ok(())
        } else {
            Err(KeyringError::Locked)
        }
    }

    fn default_collection(&self) -> Result<OwnedObjectPath> {
        let (path,): (OwnedObjectPath,) =
            self.call(&self.service(), SERVICE_IFACE, "ReadAlias", &("default",))?;
        if is_none(&path) {
            return Err(KeyringError::Unavailable(
                "it has no default keyring".into(),
            ));
        }
        self.unlock(vec![path.clone()])?;
        Ok(path)
    }

    fn attributes(account: &str) -> HashMap<&str, &str> {
        HashMap::from([("application", APPLICATION), ("account", account)])
    }

    fn items(&self, account: &str) -> Result<Vec<OwnedObjectPath>> {
        let (mut unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) = self.call(
            &self.service(),
            SERVICE_IFACE,
            "SearchItems",
            &(Keyring::attributes(account),),
        )?;
        self.unlock(locked.clone())?;
        unlocked.extend(locked);
        Ok(unlocked)
    }

    /// Keeps `secret` for `account`, replacing what was kept before.
    pub fn store(&self, account: &str, label: &str, secret: &str) -> Result<()> {
        let collection = self.default_collection()?;
        let properties: HashMap<&str, Value<'_>> = HashMap::from([
            ("org.freedesktop.Secret.Item.Label", Value::from(label)),
            (
                "org.freedesktop.Secret.Item.Attributes",
                Value::from(Keyring::attributes(account)),
            ),
        ]);
        let secret: Secret = (
            self.session.clone(),
            Vec::new(),
            secret.as_bytes().to_vec(),
            "text/plain".into(),
        );
        let (_, prompt): (OwnedObjectPath, OwnedObjectPath) = self.call(
            &collection,
            COLLECTION_IFACE,
            "CreateItem",
            &(properties, secret, true),
        )?;
        if is_none(&prompt) {
            Ok(())
        } else {
            Err(KeyringError::Locked)
        }
    }

    /// The secret kept for `account`, if any.
    pub fn get(&self, account: &str) -> Result<Option<String>> {
        let Some(item) = self.items(account)?.into_iter().next() else {
            return Ok(None);
        };
        let (secret,): (Secret,) = self.call(&item, ITEM_IFACE, "GetSecret", &(&self.session,))?;
        String::from_utf8(secret.2)
            .map(Some)
            .map_err(|_| KeyringError::Failed("the kept sign-in is not text".into()))
    }

    /// Forgets what is kept for `account`.
    pub fn delete(&self, account: &str) -> Result<()> {
        for item in self.items(account)? {
            let _: (OwnedObjectPath,) = self.call(&item, ITEM_IFACE, "Delete", &())?;
        }
        Ok(())
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        let _ = self.conn.call_method(
            Some(SERVICE),
            &self.session,
            Some("org.freedesktop.Secret.Session"),
            "Close",
            &(),
        );
    }
}
