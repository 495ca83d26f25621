//! Fyncall Desk, the desktop app: a Tauri shell over `fyncall-cache` and
//! `fyncall-sync`. Commands are one-line adapters (`commands.rs`); the state
//! and events live in `desk.rs`; `--demo` runs the team server in-process.

mod about;
mod admin;
mod commands;
mod demo;
pub mod desk;
pub mod error;
mod files;
pub mod notifier;

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tauri::{Emitter, Manager};
use tracing_subscriber::Layer;

/// The command line: `--demo`, `--demo-as EMAIL`, `--home DIR`, and a
/// `fyncall://ticket/1042` link to open (what the desktop passes when such a
/// link is clicked anywhere).
#[derive(Debug, Default, Clone)]
pub struct Args {
    /// `--version`: print it and stop.
    pub version: bool,
    pub demo: bool,
    pub demo_as: Option<String>,
    pub home: Option<PathBuf>,
    /// The ticket a link names: `#1042` or its id.
    pub ticket: Option<String>,
}

/// The ticket a `fyncall://ticket/…` link names, as the cache finds it: a
/// number as `#1042`, or an id. Anything else is not a ticket link.
pub fn ticket_link(arg: &str) -> Option<String> {
    let rest = arg.strip_prefix("fyncall://ticket/")?;
    let reference = rest.trim_matches('/').trim_start_matches('#');
    if !reference.is_empty()
        && reference.len() <= 12
        && reference.bytes().all(|b| b.is_ascii_digit())
    {
        Some(format!("#{reference}"))
    } else {
        uuid::Uuid::parse_str(reference)
            .ok()
            .map(|id| id.to_string())
    }
}

/// Keeps the log writer running for the app's lifetime; where the logs are.
pub struct LogGuard(
    pub Option<tracing_appender::non_blocking::WorkerGuard>,
    pub PathBuf,
);

/// Steps of the start and how long each took.
pub type Steps = Vec<(&'static str, Duration)>;

/// How this start went, for the one line the log keeps of it ("started:
/// first view on screen after N ms", with the setup's steps): when a start
/// is slow on someone's machine, the log says where the time went.
pub struct Startup {
    launched: Instant,
    /// The same moment on the wall clock (the page's own times are on it).
    launched_at: std::time::SystemTime,
    steps: Mutex<Steps>,
    told: AtomicBool,
    painting: Painting,
}

impl Startup {
    /// The window drew its first view: logs the start, once. `origin`: when
    /// the page began (ms since 1970, the page's `performance.timeOrigin`);
    /// `page`: its steps, in ms after that (at most the first 12 are kept).
    pub fn first_view(&self, origin: f64, page: &[(String, f64)]) {
        if self.told.swap(true, Ordering::Relaxed) {
            return;
        }
        let steps = self.steps.lock().map(|s| s.clone()).unwrap_or_default();
        let steps: Vec<String> = steps
            .iter()
            .map(|(what, took)| format!("{what} {} ms", took.as_millis()))
            .collect();
        let launched_ms = self
            .launched_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        let page: Vec<String> = page
            .iter()
            .take(12)
            .filter(|(_, ms)| ms.is_finite())
            .map(|(what, ms)| {
                let what: String = what.chars().filter(|c| !c.is_control()).take(32).collect();
                format!("{what} +{ms:.0}")
            })
            .collect();
        tracing::info!(
            "started: first view on screen after {} ms (painted {:?}; setup: {}; page: began {:.0} ms after launch, {} ms after it)",
            self.launched.elapsed().as_millis(),
            self.painting,
            steps.join(", "),
            origin - launched_ms,
            page.join(", ")
        );
    }
}

/// A link the app was started with, until the window asks for it.
#[derive(Default)]
pub struct PendingLink(pub std::sync::Mutex<Option<String>>);

impl Args {
    /// Reads the known flags and ignores others (the WebDriver and the OS
    /// may add their own).
    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut out = Args::default();
        let mut it = args.into_iter().skip(1);
        while let Some(a) = it.next() {
            match a.as_str() {
                "--version" | "-V" => out.version = true,
                "--demo" => out.demo = true,
                "--demo-as" => {
                    out.demo = true;
                    out.demo_as = it.next();
                }
                "--home" => out.home = it.next().map(PathBuf::from),
                other => {
                    if let Some(t) = ticket_link(other) {
                        out.ticket = Some(t);
                    }
                }
            }
        }
        out
    }
}

/// The app's version, as `--version` and Settings → About say it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Logs to standard error and to a file a day in `dir` (the newest 14
/// kept), readable by this user only (the umask set in [`run`]).
fn init_logs(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,tao=warn,wry=warn".into())
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = fyncall_cache::files::private_dir(dir).ok().and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("fyncall-desk")
            .filename_suffix("log")
            .max_log_files(14)
            .build(dir)
            .ok()
    });
    match file {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            let _ = tracing_subscriber::registry()
                .with(stderr)
                .with(layer)
                .try_init();
            Some(guard)
        }
        None => {
            let _ = tracing_subscriber::registry().with(stderr).try_init();
            None
        }
    }
}

/// How WebKit puts the page on screen, decided before it starts.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Painting {
    /// As WebKit chooses: composited with the GPU.
    Composited,
    /// No GPU here: painted on the CPU, without compositing.
    WithoutGpu,
    /// As `WEBKIT_DISABLE_COMPOSITING_MODE` in the environment says.
    AsAsked,
}

/// WebKit composites the page with OpenGL. On a machine with no GPU (a
/// virtual or remote desktop, where many agents work) that OpenGL is
/// Mesa's software rasteriser, and every frame goes through it: measured
/// on a 2-core machine with no GPU (`scripts/bench app`), a view click
/// took 58 ms median (41 ms of it WebKit's paint), and WebKit's web process
/// held 330 MiB; painted without compositing, 32 ms (13 of paint) and 210
/// MiB, and the first view was on screen 0.18 s sooner. So with no GPU
/// render node, WebKit paints without compositing; a GPU keeps it, and the
/// variable set by hand wins either way.
// The one `unsafe` here: setting the variable WebKit reads (see below).
#[allow(unsafe_code)]
fn choose_painting() -> Painting {
    if !cfg!(target_os = "linux") {
        return Painting::Composited;
    }
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some() {
        return Painting::AsAsked;
    }
    let gpu = std::fs::read_dir("/dev/dri").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    if gpu {
        return Painting::Composited;
    }
    // SAFETY: `run` calls this first, before this process starts any
    // thread, so nothing reads the environment while it is written.
    unsafe { std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1") };
    Painting::WithoutGpu
}

pub fn run() {
    let painting = choose_painting();
    let args = Args::parse(std::env::args());
    if args.version {
        println!("fyncall-desk {VERSION}");
        return;
    }
    // Everything the app writes is this user's only: the cache (also made
    // 0600 explicitly), the sign-in file, the logs.
    #[cfg(unix)]
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let (launched, launched_at) = (Instant::now(), std::time::SystemTime::now());
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.show();
                let _ = w.set_focus();
            }
            // A link clicked while the app runs opens its ticket here.
            if let Some(t) = argv.iter().find_map(|a| ticket_link(a)) {
                let _ = app.emit("open-ticket", t);
            }
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            let mut steps: Steps = vec![("until setup", launched.elapsed())];
            let base = match &args.home {
                Some(h) => h.clone(),
                None => app.path().app_data_dir()?,
            };
            let home = if args.demo { base.join("demo") } else { base };
            if args.demo {
                // A fresh demo team each time: start from an empty cache.
                let _ = std::fs::remove_dir_all(&home);
            }
            // Logs in the platform's log folder (beside the data with --home).
            let logs = match &args.home {
                Some(h) => h.join("logs"),
                None => app.path().app_log_dir()?,
            };
            app.manage(LogGuard(init_logs(&logs), logs));
            let desk = desk::Desk::open(app.handle().clone(), &home, &mut steps)
                .map_err(|e| format!("cannot open the cache: {}", e.message))?;
            if args.demo {
                let email = args
                    .demo_as
                    .clone()
                    .unwrap_or_else(|| demo::DEFAULT_ACCOUNT.into());
                let url = tauri::async_runtime::block_on(demo::start(&desk, &email))
                    .map_err(|e| format!("cannot start the demo: {}", e.message))?;
                // For people and scripts: where the demo team's server is.
                println!("demo server on {url} (password for every demo account: fyncall-demo)");
            }
            app.manage(desk);
            app.manage(PendingLink(std::sync::Mutex::new(args.ticket.clone())));
            // The desktop hands fyncall:// links to this program: registered
            // with it at every start (a .desktop handler in the data folder,
            // made the default for x-scheme-handler/fyncall), so the link
            // works wherever the app was put. A link clicked while it runs
            // comes through the single-instance callback above.
            let step = Instant::now();
            #[cfg(target_os = "linux")]
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                if let Err(e) = app.deep_link().register_all() {
                    tracing::warn!(error = %e, "fyncall:// links are not registered with this desktop");
                }
            }
            steps.push(("links", step.elapsed()));
            let step = Instant::now();
            let tray = match notifier::tray(app.handle()) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!(error = %e, "no tray icon on this desktop");
                    None
                }
            };
            notifier::spawn(app.handle().clone(), tray);
            steps.push(("tray and notifier", step.elapsed()));
            app.manage(Startup {
                launched,
                launched_at,
                steps: Mutex::new(steps),
                told: AtomicBool::new(false),
                painting,
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps the app in the tray, unless the
            // agent turned that off in the settings.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let to_tray = window
                    .app_handle()
                    .try_state::<desk::Desk>()
                    .and_then(|d| d.cache().lock().ok()?.preference("close_to_tray").ok())
                    .flatten()
                    .as_deref()
                    != Some("off");
                if to_tray {
                    api.prevent_close();
                    let _ = window.hide();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::session,
            commands::sign_in,
            commands::sign_out,
            commands::sessions,
            commands::end_session,
            commands::end_other_sessions,
            commands::change_password,
            commands::status,
            commands::counts,
            commands::tickets,
            commands::ticket,
            commands::conversation,
            commands::inbox,
            commands::inbox_counts,
            commands::settings,
            commands::agents,
            commands::tags,
            commands::merge_targets,
            commands::archive_tickets,
            commands::merge_preview,
            commands::mentions,
            commands::macros,
            commands::macro_preview,
            commands::apply_macro,
            commands::save_macro,
            commands::delete_macro,
            commands::act,
            commands::check,
            commands::outbox,
            commands::problems,
            commands::retry_problem,
            commands::discard_problem,
            commands::sync_now,
            commands::take_link,
            commands::started,
            commands::heartbeat,
            commands::preferences,
            commands::set_preference,
            commands::admin_agents,
            commands::create_agent,
            commands::update_agent,
            commands::end_agent_sessions,
            commands::integration_tokens,
            commands::create_integration_token,
            commands::revoke_integration_token,
            commands::mailboxes,
            commands::create_mailbox,
            commands::update_mailbox,
            commands::delete_mailbox,
            commands::check_mailbox,
            commands::open_attachment,
            commands::upload_attachment,
            commands::webhooks,
            commands::create_webhook,
            commands::update_webhook,
            commands::delete_webhook,
            commands::webhook_deliveries,
            commands::send_delivery_again,
            commands::retry_reply,
            commands::preview_settings,
            commands::save_settings,
            commands::sla_report,
            commands::export_sla_report,
            commands::about,
            commands::diagnostics,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("fyncall-desk: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod links {
    use super::*;

    #[test]
    fn a_ticket_link_names_a_number_or_an_id_and_nothing_else() {
        assert_eq!(ticket_link("fyncall://ticket/1042"), Some("#1042".into()));
        assert_eq!(ticket_link("fyncall://ticket/1042/"), Some("#1042".into()));
        let id = "0190e7a0-0000-7000-8000-000000000001";
        assert_eq!(
            ticket_link(&format!("fyncall://ticket/{id}")),
            Some(id.into())
        );
        for not in [
            "fyncall://ticket/",
            "fyncall://ticket/12ab",
            "fyncall://conversation/1",
            "https://ticket/1042",
            "fyncall://ticket/99999999999999999999",
        ] {
            assert_eq!(ticket_link(not), None, "{not}");
        }
        let args = Args::parse(
            ["fyncall-desk", "--home", "/tmp/x", "fyncall://ticket/7"].map(String::from),
        );
        assert_eq!(args.ticket.as_deref(), Some("#7"));
    }
}
