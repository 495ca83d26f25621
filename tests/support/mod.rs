//! Shared by the notification and tray tests: a private D-Bus session bus, a
//! small notification service on it that records every Notify call (and can
//! say do not disturb), and a StatusNotifierWatcher that the app's tray
//! registers with, read back through the item's properties and its
//! `com.canonical.dbusmenu` menu.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use zbus::zvariant::{OwnedValue, Value};

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
    /// The desktop's do not disturb.
    pub inhibited: Arc<AtomicBool>,
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

    #[zbus(property)]
    fn inhibited(&self) -> bool {
        self.inhibited.load(Ordering::SeqCst)
    }
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
        .serve_at(
            "/org/freedesktop/Notifications",
            Service {
                seen,
                inhibited: Arc::new(AtomicBool::new(false)),
            },
        )?
        .build()
        .await
}

/// [`serve`] with a do-not-disturb switch the test flips.
pub async fn serve_inhibitable(
    address: &str,
    seen: Arc<Mutex<Vec<Recorded>>>,
    inhibited: Arc<AtomicBool>,
) -> zbus::Result<zbus::Connection> {
    zbus::connection::Builder::address(address)?
        .name("org.freedesktop.Notifications")?
        .serve_at(
            "/org/freedesktop/Notifications",
            Service { seen, inhibited },
        )?
        .build()
        .await
}

/// Says notification `id` was closed (dismissed, not clicked).
pub async fn close(connection: &zbus::Connection, id: u32) -> zbus::Result<()> {
    connection
        .emit_signal(
            None::<zbus::names::BusName<'_>>,
            "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications",
            "NotificationClosed",
            &(id, 2u32),
        )
        .await
}

/// A StatusNotifierWatcher (the tray host side of the protocol): records
/// each item that registers as (bus name, object path).
#[derive(Clone, Default)]
pub struct Watcher {
    pub items: Arc<Mutex<Vec<(String, String)>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &self,
        service: String,
        #[zbus(header)] header: zbus::message::Header<'_>,
        #[zbus(signal_emitter)] emitter: zbus::object_server::SignalEmitter<'_>,
    ) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        let (name, path) = if service.starts_with('/') {
            (sender, service)
        } else {
            (service, "/StatusNotifierItem".to_owned())
        };
        if let Ok(mut items) = self.items.lock() {
            items.push((name.clone(), path.clone()));
        }
        let _ = Self::status_notifier_item_registered(&emitter, &format!("{name}{path}")).await;
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .lock()
            .map(|i| i.iter().map(|(n, p)| format!("{n}{p}")).collect())
            .unwrap_or_default()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(signal)]
    async fn status_notifier_item_registered(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        service: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn status_notifier_host_registered(
        emitter: &zbus::object_server::SignalEmitter<'_>,
    ) -> zbus::Result<()>;
}

/// Serves a [`Watcher`] on the bus at `address`.
pub async fn serve_watcher(address: &str) -> zbus::Result<(zbus::Connection, Watcher)> {
    let watcher = Watcher::default();
    let connection = zbus::connection::Builder::address(address)?
        .name("org.kde.StatusNotifierWatcher")?
        .serve_at("/StatusNotifierWatcher", watcher.clone())?
        .build()
        .await?;
    Ok((connection, watcher))
}

/// One property of a registered tray item (`org.kde.StatusNotifierItem`).
pub async fn item_property(
    connection: &zbus::Connection,
    item: &(String, String),
    name: &str,
) -> zbus::Result<OwnedValue> {
    let reply = connection
        .call_method(
            Some(item.0.as_str()),
            item.1.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.kde.StatusNotifierItem", name),
        )
        .await?;
    reply.body().deserialize::<OwnedValue>()
}

/// A text property of a tray item ("" when it has none).
pub async fn item_text(
    connection: &zbus::Connection,
    item: &(String, String),
    name: &str,
) -> String {
    item_property(connection, item, name)
        .await
        .ok()
        .and_then(|v| String::try_from(v).ok())
        .unwrap_or_default()
}

type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

fn flatten(node: Layout, out: &mut Vec<(i32, String)>) {
    let (id, props, children) = node;
    if let Some(label) = props
        .get("label")
        .and_then(|v| String::try_from(v.clone()).ok())
    {
        out.push((id, label));
    }
    for child in children {
        let value: Value<'_> = child.into();
        let inner = match value {
            Value::Value(boxed) => *boxed,
            other => other,
        };
        if let Ok(layout) = Layout::try_from(inner) {
            flatten(layout, out);
        }
    }
}

/// The tray item's menu, read through `com.canonical.dbusmenu.GetLayout`:
/// every item's id and label, in order.
pub async fn menu_items(
    connection: &zbus::Connection,
    bus_name: &str,
    menu: &str,
) -> zbus::Result<Vec<(i32, String)>> {
    let reply = connection
        .call_method(
            Some(bus_name),
            menu,
            Some("com.canonical.dbusmenu"),
            "GetLayout",
            &(0i32, -1i32, Vec::<String>::new()),
        )
        .await?;
    let (_revision, root): (u32, Layout) = reply.body().deserialize()?;
    let mut out = Vec::new();
    flatten(root, &mut out);
    Ok(out)
}

/// Clicks menu item `id`, as a tray host does when the agent picks it.
pub async fn menu_click(
    connection: &zbus::Connection,
    bus_name: &str,
    menu: &str,
    id: i32,
) -> zbus::Result<()> {
    connection
        .call_method(
            Some(bus_name),
            menu,
            Some("com.canonical.dbusmenu"),
            "Event",
            &(id, "clicked", Value::from(""), 0u32),
        )
        .await?;
    Ok(())
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
