//! OS notifications and the tray, decided by `fyncall_cache::notify`.
//!
//! A background task sleeps until the earliest next at-risk or breach moment
//! of the agent's tickets (stored in the cache, clock offset applied), or
//! until the cache changes, then asks the cache which notifications are due
//! (the ledger makes each happen once), shows them and refreshes the tray.
//! It works offline: the moments are in the cache. The sleep is capped at a
//! minute, so a suspended machine catches up within a minute of waking.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use fyncall_cache::notify::{
    Notice, TraySummary, assignment_notices, mention_notices, reply_notices,
};
use fyncall_cache::{Cache, ChangeSet};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::desk::Desk;

/// Longest sleep between checks.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How many of the agent's tickets the tray menu lists.
const TRAY_TICKETS: u32 = 5;

const ICON_NORMAL: &[u8] = include_bytes!("../icons/tray-normal.png");
const ICON_AT_RISK: &[u8] = include_bytes!("../icons/tray-at-risk.png");
const ICON_BREACHED: &[u8] = include_bytes!("../icons/tray-breached.png");

/// Brings the window up and shows the ticket.
pub fn open_ticket(app: &AppHandle, id: Option<Uuid>) {
    raise(app);
    if let Some(id) = id {
        let _ = app.emit("open-ticket", id.to_string());
    }
}

/// Brings the window up and shows the conversation.
pub fn open_conversation(app: &AppHandle, id: Uuid) {
    raise(app);
    let _ = app.emit("open-conversation", id.to_string());
}

fn raise(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Shows one notification through the desktop's notification service
/// (D-Bus `org.freedesktop.Notifications`), from its own thread and with a
/// time limit: a service that holds the name but never answers must not
/// stall anything. `on_click` runs if the agent clicks it (where the
/// desktop supports actions).
pub fn show_notice(
    notice: &Notice,
    on_click: impl FnOnce() + Send + 'static,
) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let notice = notice.clone();
    std::thread::spawn(move || {
        let mut note = notify_rust::Notification::new();
        note.appname("Fyncall Desk")
            .summary(&notice.summary)
            .body(&escape_markup(&notice.body))
            .icon("dialog-information")
            .action(
                "default",
                if notice.conversation_id.is_some() {
                    "Open conversation"
                } else {
                    "Open ticket"
                },
            )
            .urgency(if notice.critical {
                notify_rust::Urgency::Critical
            } else {
                notify_rust::Urgency::Normal
            });
        match note.show() {
            Ok(handle) => {
                let _ = tx.send(Ok(()));
                let mut on_click = Some(on_click);
                handle.wait_for_action(|action| {
                    if action == "default" {
                        if let Some(f) = on_click.take() {
                            f();
                        }
                    }
                });
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(3)) {
        Ok(r) => r,
        Err(_) => Err("the notification service did not answer within 3 s".into()),
    }
}

fn deliver(app: &AppHandle, n: &Notice, warned: &AtomicBool) {
    let handle = app.clone();
    // A summary of quiet hours opens the window, not a ticket; a reply's
    // notice its conversation.
    let ticket = (!n.ticket_id.is_nil()).then_some(n.ticket_id);
    let conversation = n.conversation_id;
    let on_click = move || match conversation {
        Some(c) => open_conversation(&handle, c),
        None => open_ticket(&handle, ticket),
    };
    match show_notice(n, on_click) {
        Ok(()) => {
            tracing::info!(kind = n.kind.as_str(), ticket = %n.ticket_id, "notification shown");
        }
        Err(e) => {
            if !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "notifications are not shown; the tray still shows the state");
            }
        }
    }
}

fn tray_menu(app: &AppHandle, summary: &TraySummary) -> tauri::Result<Menu<tauri::Wry>> {
    let menu = Menu::new(app)?;
    for t in &summary.urgent {
        let left = match t.seconds_left {
            Some(s) if s < 0 => format!("overdue {} min", (-s + 59) / 60),
            Some(s) => format!("{} min left", (s + 59) / 60),
            None => String::new(),
        };
        let subject: String = t.subject.chars().take(40).collect();
        let item = MenuItem::with_id(
            app,
            format!("ticket:{}", t.id),
            format!("{} {} — {}", t.label, subject, left),
            true,
            None::<&str>,
        )?;
        menu.append(&item)?;
    }
    if !summary.urgent.is_empty() {
        menu.append(&PredefinedMenuItem::separator(app)?)?;
    }
    menu.append(&MenuItem::with_id(
        app,
        "open",
        "Open Fyncall Desk",
        true,
        None::<&str>,
    )?)?;
    let pause = match summary.paused_until {
        Some(until) => MenuItem::with_id(
            app,
            "resume",
            format!(
                "Notifications paused until {}: resume",
                until.with_timezone(&chrono::Local).format("%H:%M")
            ),
            true,
            None::<&str>,
        )?,
        None => MenuItem::with_id(
            app,
            "pause",
            "Pause notifications for 1 hour",
            true,
            None::<&str>,
        )?,
    };
    menu.append(&pause)?;
    menu.append(&MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?)?;
    Ok(menu)
}

/// The count in words: "N at risk, M breached".
pub fn tooltip(summary: &TraySummary) -> String {
    format!("{} at risk, {} breached", summary.at_risk, summary.breached)
}

/// Whether the desktop says do not disturb: the `Inhibited` property of
/// the notification service, where it has one (read with a short time
/// limit; no answer means no).
#[cfg(target_os = "linux")]
fn inhibited() -> bool {
    use std::sync::OnceLock;
    static BUS: OnceLock<Option<zbus::blocking::Connection>> = OnceLock::new();
    let Some(bus) = BUS.get_or_init(|| {
        zbus::blocking::connection::Builder::session()
            .ok()?
            .method_timeout(Duration::from_secs(2))
            .build()
            .ok()
    }) else {
        return false;
    };
    bus.call_method(
        Some("org.freedesktop.Notifications"),
        "/org/freedesktop/Notifications",
        Some("org.freedesktop.DBus.Properties"),
        "Get",
        &("org.freedesktop.Notifications", "Inhibited"),
    )
    .ok()
    .and_then(|reply| {
        reply
            .body()
            .deserialize::<zbus::zvariant::OwnedValue>()
            .ok()
    })
    .and_then(|v| bool::try_from(v).ok())
    .unwrap_or(false)
}

#[cfg(not(target_os = "linux"))]
fn inhibited() -> bool {
    false
}

/// The tray's state in words for those who cannot see the icon: on Linux
/// the StatusNotifierItem's title and the icon's accessible description
/// (tray-icon sets neither: its tooltip is not exported there).
#[cfg(target_os = "linux")]
// The one unsafe block of the app: tray-icon hands out its indicator only as
// a raw pointer, and libappindicator's setters take `&mut`; see SAFETY below.
#[allow(unsafe_code)]
fn describe_tray(tray: &TrayIcon, icon: &std::path::Path, words: &str) {
    let (icon, words) = (icon.to_path_buf(), words.to_owned());
    let _ = tray.with_inner_tray_icon(move |inner| {
        // SAFETY: `app_indicator` points at the indicator tray-icon owns for
        // as long as `inner` lives, on this (the GTK main) thread. The copy
        // is the same GObject handle (the struct holds only its pointer);
        // its methods pass that pointer to libappindicator, and it is never
        // dropped (ManuallyDrop), so nothing is freed twice.
        let mut handle =
            std::mem::ManuallyDrop::new(unsafe { std::ptr::read(inner.app_indicator()) });
        if let Some(dir) = icon.parent() {
            handle.set_icon_theme_path(&dir.to_string_lossy());
        }
        handle.set_icon_full(&icon.to_string_lossy(), &words);
        handle.set_title(&format!("Fyncall Desk: {words}"));
    });
}

/// The three tray icons as files (the indicator reads icons from disk).
#[cfg(target_os = "linux")]
fn icon_files(app: &AppHandle) -> Option<[std::path::PathBuf; 3]> {
    let dir = app.path().app_cache_dir().ok()?.join("tray");
    std::fs::create_dir_all(&dir).ok()?;
    let mut out: [std::path::PathBuf; 3] = Default::default();
    for (i, (name, bytes)) in [
        ("fyncall-tray-normal.png", ICON_NORMAL),
        ("fyncall-tray-at-risk.png", ICON_AT_RISK),
        ("fyncall-tray-breached.png", ICON_BREACHED),
    ]
    .into_iter()
    .enumerate()
    {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes).ok()?;
        }
        out[i] = path;
    }
    Some(out)
}

fn update_tray(app: &AppHandle, tray: &TrayIcon, summary: &TraySummary) {
    let which = if summary.breached > 0 {
        2
    } else if summary.at_risk > 0 {
        1
    } else {
        0
    };
    #[cfg(target_os = "linux")]
    match icon_files(app) {
        Some(files) => describe_tray(tray, &files[which], &tooltip(summary)),
        None => {
            if let Ok(image) = Image::from_bytes([ICON_NORMAL, ICON_AT_RISK, ICON_BREACHED][which])
            {
                let _ = tray.set_icon(Some(image));
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    if let Ok(image) = Image::from_bytes([ICON_NORMAL, ICON_AT_RISK, ICON_BREACHED][which]) {
        let _ = tray.set_icon(Some(image));
    }
    let _ = tray.set_tooltip(Some(tooltip(summary)));
    let count = summary.at_risk + summary.breached;
    let _ = tray.set_title(if count > 0 {
        Some(count.to_string())
    } else {
        None
    });
    if let Ok(menu) = tray_menu(app, summary) {
        let _ = tray.set_menu(Some(menu));
    }
}

/// Creates the tray icon (always present while the app runs).
pub fn tray(app: &AppHandle) -> tauri::Result<TrayIcon> {
    let menu = tray_menu(app, &TraySummary::default())?;
    TrayIconBuilder::with_id("sla")
        .icon(Image::from_bytes(ICON_NORMAL)?)
        .tooltip("0 at risk, 0 breached")
        .menu(&menu)
        .on_menu_event(|app, event| {
            let id = event.id().as_ref().to_owned();
            match id.as_str() {
                "open" => open_ticket(app, None),
                "quit" => app.exit(0),
                "pause" | "resume" => {
                    if let Some(desk) = app.try_state::<Desk>() {
                        let cache = desk.cache().clone();
                        let pause = id == "pause";
                        let nudge = desk.nudger();
                        tauri::async_runtime::spawn_blocking(move || {
                            if let Ok(c) = cache.lock() {
                                let _ = if pause {
                                    c.pause_notices(Utc::now(), 60)
                                } else {
                                    c.resume_notices()
                                };
                            }
                            // The tray's menu says until when at once.
                            nudge();
                        });
                    }
                }
                other => {
                    let ticket = other
                        .strip_prefix("ticket:")
                        .and_then(|t| t.parse::<Uuid>().ok());
                    if ticket.is_some() {
                        open_ticket(app, ticket);
                    }
                }
            }
        })
        .build(app)
}

fn names(cache: &Cache) -> impl Fn(Uuid) -> String + use<> {
    let agents = cache.agents().unwrap_or_default();
    move |id| {
        agents
            .iter()
            .find(|a| a.id == id)
            .map_or_else(|| "a teammate".to_owned(), |a| a.name.clone())
    }
}

/// One pass: notices due now, shown; the tray refreshed. Returns when to
/// look again at the latest.
fn pass(
    app: &AppHandle,
    cache: &Arc<std::sync::Mutex<Cache>>,
    tray: Option<&TrayIcon>,
    changes: Vec<Arc<ChangeSet>>,
    warned: &AtomicBool,
) -> Duration {
    // Asked before the cache is locked: it is a D-Bus round trip.
    let quiet_desktop = inhibited();
    let Ok(c) = cache.lock() else {
        return MAX_SLEEP;
    };
    let Ok(Some(me)) = c.me() else {
        return MAX_SLEEP;
    };
    let named = names(&c);
    let customer = |id: Uuid| c.customer_name(id).ok().flatten();
    let assigned = changes
        .iter()
        .flat_map(|ch| {
            let mut n = assignment_notices(ch, me, &named);
            n.extend(reply_notices(ch, me, customer));
            n.extend(mention_notices(ch, me, &named, |id| {
                c.ticket(id, Utc::now())
                    .ok()
                    .map(|d| (d.ticket.ticket.number, d.ticket.ticket.subject))
            }));
            n
        })
        .collect();
    let local_now = Utc::now();
    // What a first download brought already at risk is not news: the cache
    // knows which rows came so, whether or not their change reached us yet.
    let due = c
        .due_notices(assigned, local_now, quiet_desktop)
        .unwrap_or_default();
    let summary = c.tray(local_now, TRAY_TICKETS).unwrap_or_default();
    let sleep = c.next_wake(local_now, MAX_SLEEP).unwrap_or(MAX_SLEEP);
    drop(c);
    for n in &due {
        deliver(app, n, warned);
    }
    if let Some(tray) = tray {
        update_tray(app, tray, &summary);
    }
    let _ = app.emit("tray-summary", &summary);
    sleep
}

/// Runs the notifier for the app's lifetime.
pub fn spawn(app: AppHandle, tray: Option<TrayIcon>) {
    let Some(desk) = app.try_state::<Desk>() else {
        return;
    };
    let cache = desk.cache().clone();
    let mut events = desk.subscribe();
    tauri::async_runtime::spawn(async move {
        let warned = Arc::new(AtomicBool::new(false));
        let mut batch: Vec<Arc<ChangeSet>> = Vec::new();
        loop {
            // Every change already sent comes into this pass (assignments
            // made while the last pass ran are told in this one).
            loop {
                match events.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(broadcast::error::TryRecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
            let (a, c, t, w) = (app.clone(), cache.clone(), tray.clone(), warned.clone());
            let changes = std::mem::take(&mut batch);
            let sleep =
                tauri::async_runtime::spawn_blocking(move || pass(&a, &c, t.as_ref(), changes, &w))
                    .await
                    .unwrap_or(MAX_SLEEP);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                ev = events.recv() => match ev {
                    Ok(c) => batch.push(c),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    });
}

/// Notification bodies may be read as markup (the `body-markup` capability):
/// a subject with `<b>` must show those characters, not bold text.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
