//! Shared by the notification tests: a private D-Bus session bus and a
//! small notification service on it that records every Notify call.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub app_name: String,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    pub urgency: Option<u8>,
    pub at: std::time::Instant,
    pub wall: std::time::SystemTime,
}

pub struct Service {
    pub seen: Arc<Mutex<Vec<Recorded>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Service {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints.get("urgency").and_then(|v| u8::try_from(v).ok());
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(Recorded {
                app_name,
                summary,
                body,
                actions,
                urgency,
                at: std::time::Instant::now(),
                wall: std::time::SystemTime::now(),
            });
            seen.len() as u32
        } else {
            0
        }
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("test".into(), "fyncall".into(), "1".into(), "1.2".into())
    }

    fn close_notification(&self, _id: u32) {}
}

pub use fyncall_signin::testing::Daemon;

/// A private session bus (one D-Bus helper for every test: the signin
/// crate's); with its address. Its folder lives as long as the bus.
pub fn bus() -> ((Daemon, tempfile::TempDir), String) {
    let dir = tempfile::tempdir().expect("dir");
    let (daemon, address) = fyncall_signin::testing::private_bus(dir.path());
    ((daemon, dir), address)
}

/// Serves the recording notification service on the bus at `address`.
pub async fn serve(
    address: &str,
    seen: Arc<Mutex<Vec<Recorded>>>,
) -> zbus::Result<zbus::Connection> {
    zbus::connection::Builder::address(address)?
        .name("org.freedesktop.Notifications")?
        .serve_at("/org/freedesktop/Notifications", Service { seen })?
        .build()
        .await
}

/// Says the agent clicked notification `id` (its default action), as a
/// desktop's notification service does: the `ActionInvoked` signal.
pub async fn click(connection: &zbus::Connection, id: u32) -> zbus::Result<()> {
    connection
        .emit_signal(
            None::<zbus::names::BusName<'_>>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "ActionInvoked",
            &(id, "default"),
        )
        .await
}
