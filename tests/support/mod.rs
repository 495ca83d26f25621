//! Shared by the notification tests: a private D-Bus session bus and a
//! small notification service on it that records every Notify call.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
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

/// A private session bus; ended however the test ends.
pub struct Daemon(pub Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `dbus-daemon --session` and returns it with its address.
pub fn bus() -> (Daemon, String) {
    let mut daemon = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon runs (scripts/setup installs dbus)");
    let stdout = daemon.stdout.take().expect("stdout");
    let daemon = Daemon(daemon);
    let mut address = String::new();
    BufReader::new(stdout)
        .read_line(&mut address)
        .expect("address");
    (daemon, address.trim().to_owned())
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
