//! The app's state: the cache, the sign-in and the running sync engine,
//! and the events the window listens to. No ticket rule lives here.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use fyncall_cache::session::{self, Session};
use fyncall_cache::{Acted, Cache, ChangeSet, Readers};
use fyncall_domain::{Agent, Mutation, Timestamp};
use fyncall_sync::{Client, Engine, SharedCache, SyncEvent, SyncStatus, Transport};
use serde::Serialize;
use tauri::{AppHandle, Emitter};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::Steps;
use crate::error::{IpcCode, IpcError, IpcResult};

/// Who is signed in, for the window.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct SessionInfo {
    pub server: String,
    pub agent: Agent,
    /// Running against the built-in demo server.
    pub demo: bool,
    /// The sign-in token is in the OS keyring; otherwise in a file only
    /// this user can read, which the window says.
    pub token_in_keyring: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ConnectionState {
    Online,
    Offline,
    Syncing,
    SignedOut,
}

/// The header's connection badge and counters.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct StatusInfo {
    pub connection: ConnectionState,
    pub error: Option<String>,
    #[ts(type = "string | null")]
    pub last_sync_at: Option<Timestamp>,
    pub pending: u64,
    pub problems: u64,
    /// Server clock minus local clock (for countdowns).
    #[ts(type = "number")]
    pub clock_offset_ms: i64,
    /// A message to show once (the server was restored from a backup, and
    /// how many changes were sent again); carried by one status only.
    pub notice: Option<String>,
    /// A first download under way: rows stored of how many.
    pub download: Option<DownloadInfo>,
}

/// How far a first download is (the sidebar's progress bar).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct DownloadInfo {
    #[ts(type = "number")]
    pub rows: u64,
    #[ts(type = "number")]
    pub total: u64,
}

/// The `cache-changed` event: what to re-read.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct CacheChanged {
    pub tickets: Vec<Uuid>,
    pub conversations: Vec<Uuid>,
    /// Everything may have changed (a first download).
    pub bulk: bool,
    pub team: bool,
    pub queue: bool,
}

impl From<&ChangeSet> for CacheChanged {
    fn from(c: &ChangeSet) -> Self {
        CacheChanged {
            tickets: c.tickets.iter().map(|t| t.id).collect(),
            conversations: c.conversations.clone(),
            bulk: c.bulk,
            team: c.team,
            queue: c.queue,
        }
    }
}

struct Running {
    engine: Arc<Engine>,
    stop: watch::Sender<bool>,
}

/// Reading connections for the window: a list, the sidebar's counts and
/// the sync status are asked for at once.
const READERS: u32 = 4;

pub struct Desk {
    home: PathBuf,
    /// The writer: actions, sync, notifications.
    cache: SharedCache,
    /// Connections that only read, for the window: its reads run side by
    /// side and never wait for a sync or a first download holding the
    /// writer. Replaced when the cache files are removed or made again.
    readers: Arc<Mutex<Readers>>,
    running: Mutex<Option<Running>>,
    demo: Mutex<bool>,
    app: AppHandle,
    /// Every change the cache makes, for the notifier and the tray.
    changes: broadcast::Sender<Arc<ChangeSet>>,
    /// The notifier's receiver, made with the desk: a sync started while
    /// the app starts (a saved sign-in, the demo team's first download)
    /// can send before the notifier runs, and a first download it never
    /// saw would make every ticket already at risk look like news.
    first: Mutex<Option<broadcast::Receiver<Arc<ChangeSet>>>>,
}

pub(crate) fn internal(message: impl Into<String>) -> IpcError {
    IpcError::new(IpcCode::Internal, message)
}

/// Saves the sign-in: the token in the OS keyring where there is one, else
/// in the 0600 file with the rest. A demo's throwaway token stays out of the
/// keyring. Blocking (D-Bus, disk).
fn keep(home: &Path, s: Session, demo: bool) -> IpcResult<Session> {
    let keep = if demo {
        fyncall_signin::Keep::FileOnly
    } else {
        fyncall_signin::Keep::KeyringOrFile
    };
    Ok(fyncall_signin::keep(home, s, keep)?)
}

/// The saved sign-in with its token; `None` when there is none, or when its
/// keyring cannot be read now (the window then asks to sign in). Blocking.
fn recall(home: &Path) -> IpcResult<Option<Session>> {
    match fyncall_signin::recall(home) {
        Ok(s) => Ok(s),
        Err(fyncall_signin::SigninError::KeyringUnreadable(e)) => {
            tracing::warn!(error = %e, "cannot read the sign-in's token from the OS keyring; sign in again");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Forgets the sign-in, its keyring entry included. Blocking.
fn forget(home: &Path, s: Option<&Session>) -> IpcResult<()> {
    Ok(fyncall_signin::forget(home, s)?)
}

impl Desk {
    /// Opens the cache in `home`; resumes syncing if a sign-in is saved.
    /// Each step's time goes into `steps` (the start-up line of the log).
    pub fn open(app: AppHandle, home: &Path, steps: &mut Steps) -> IpcResult<Desk> {
        let step = Instant::now();
        fyncall_cache::files::private_dir(home)
            .map_err(|e| internal(format!("cannot create {}: {e}", home.display())))?;
        let mut cache = Cache::open(&home.join("cache.sqlite"))?;
        steps.push(("cache", step.elapsed()));
        let step = Instant::now();
        let mut saved = recall(home)?;
        steps.push(("sign-in", step.elapsed()));
        let step = Instant::now();
        if let Some(s) = &saved {
            // The cache acts for the saved sign-in (a new or replaced cache
            // file learns who that is here).
            if let Err(e) = cache.sign_in(&s.server, s.agent.id) {
                tracing::warn!(error = %e, "the saved sign-in does not fit this cache; sign in again");
                forget(home, Some(s))?;
                saved = None;
            }
        }
        let (changes, first) = broadcast::channel(256);
        let readers = cache.readers(READERS)?;
        let desk = Desk {
            home: home.to_path_buf(),
            cache: Arc::new(Mutex::new(cache)),
            readers: Arc::new(Mutex::new(readers)),
            running: Mutex::new(None),
            demo: Mutex::new(false),
            app,
            changes,
            first: Mutex::new(Some(first)),
        };
        if let Some(s) = saved {
            desk.start_engine(&s)?;
        }
        steps.push(("readers and sync", step.elapsed()));
        Ok(desk)
    }

    pub fn cache(&self) -> &SharedCache {
        &self.cache
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Something that wakes the notifier (an empty change), for a choice
    /// made outside the window, such as the tray's Pause.
    pub fn nudger(&self) -> impl Fn() + Send + 'static {
        let changes = self.changes.clone();
        move || {
            let _ = changes.send(Arc::new(ChangeSet::default()));
        }
    }

    /// The cache's changes: the first call (the notifier's) gets the
    /// receiver made with the desk, holding every change since it opened;
    /// later calls, a new one.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeSet>> {
        self.first
            .lock()
            .ok()
            .and_then(|mut first| first.take())
            .unwrap_or_else(|| self.changes.subscribe())
    }

    /// Runs `f` on a reading connection off the window's thread: what the
    /// window shows, never behind a write nor behind another read.
    pub async fn with_reader<T, F>(&self, f: F) -> IpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Cache) -> fyncall_cache::Result<T> + Send + 'static,
    {
        let readers = self.readers()?;
        tauri::async_runtime::spawn_blocking(move || {
            let c = readers.get()?;
            f(&c).map_err(IpcError::from)
        })
        .await
        .map_err(|e| internal(format!("a cache task failed: {e}")))?
    }

    fn readers(&self) -> IpcResult<Readers> {
        current(&self.readers)
    }

    /// Points the reading connections at the cache file again (after the
    /// files were removed, or made again).
    async fn refresh_reader(&self) -> IpcResult<()> {
        let fresh = self.with_cache(|c| c.readers(READERS)).await?;
        *self
            .readers
            .lock()
            .map_err(|_| internal("the cache lock was poisoned: restart Fyncall Desk"))? = fresh;
        Ok(())
    }

    /// Runs `f` on the cache off the window's thread.
    pub async fn with_cache<T, F>(&self, f: F) -> IpcResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Cache) -> fyncall_cache::Result<T> + Send + 'static,
    {
        let cache = self.cache.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let mut c = cache
                .lock()
                .map_err(|_| internal("the cache lock was poisoned: restart Fyncall Desk"))?;
            f(&mut c).map_err(IpcError::from)
        })
        .await
        .map_err(|e| internal(format!("a cache task failed: {e}")))?
    }

    fn announce(&self, changes: &ChangeSet) {
        if changes.is_empty() {
            return;
        }
        let _ = self.app.emit("cache-changed", CacheChanged::from(changes));
        let _ = self.changes.send(Arc::new(changes.clone()));
    }

    fn start_engine(&self, s: &Session) -> IpcResult<()> {
        self.stop_engine();
        let client = Client::for_session(s)?;
        let engine = Arc::new(Engine::new(client, self.cache.clone()));
        let (stop, stopped) = watch::channel(false);
        let mut events = engine.subscribe();
        let app = self.app.clone();
        let changes = self.changes.clone();
        let readers = self.readers.clone();
        tauri::async_runtime::spawn(async move {
            let mut downloading = false;
            loop {
                match events.recv().await {
                    Ok(SyncEvent::Changed(c)) => {
                        let _ = app.emit("cache-changed", CacheChanged::from(c.as_ref()));
                        let _ = changes.send(c);
                    }
                    Ok(SyncEvent::Status(s)) => {
                        if std::mem::replace(&mut downloading, s.download.is_some())
                            && s.download.is_none()
                        {
                            tauri::async_runtime::spawn_blocking(give_back_memory);
                        }
                        // A short read on a reading connection: never
                        // behind the writer the engine is using.
                        if let Ok(info) = current(&readers).and_then(|r| status_info(&r, &s)) {
                            let _ = app.emit("sync-status", info);
                        }
                    }
                    Ok(SyncEvent::Presence(list)) => {
                        let _ = app.emit("presence", list.as_ref());
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let runner = engine.clone();
        tauri::async_runtime::spawn(async move { runner.run(stopped).await });
        if let Ok(mut running) = self.running.lock() {
            *running = Some(Running { engine, stop });
        }
        Ok(())
    }

    fn stop_engine(&self) {
        if let Ok(mut running) = self.running.lock() {
            if let Some(r) = running.take() {
                let _ = r.stop.send(true);
            }
        }
    }

    pub(crate) fn engine(&self) -> Option<Arc<Engine>> {
        self.running
            .lock()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.engine.clone()))
    }

    pub fn session(&self) -> IpcResult<Option<SessionInfo>> {
        let demo = self.demo.lock().map(|d| *d).unwrap_or(false);
        Ok(session::load(&self.home)?.map(|s| SessionInfo {
            server: s.server,
            agent: s.agent,
            demo,
            token_in_keyring: s.token_in_keyring,
        }))
    }

    pub async fn sign_in(
        &self,
        server: &str,
        email: &str,
        password: &str,
        transport: Transport,
    ) -> IpcResult<SessionInfo> {
        let client = Client::connect(server, &transport)?;
        // This computer's device token for the account, if an earlier
        // sign-in left one: guesses made elsewhere then do not lock it out.
        let (home, at, mail) = (
            self.home.clone(),
            client.server().to_owned(),
            email.to_owned(),
        );
        let device = tauri::async_runtime::spawn_blocking(move || {
            fyncall_signin::device_token(&home, &at, &mail)
        })
        .await
        .map_err(|e| internal(format!("a sign-in task failed: {e}")))?;
        let signed = client
            .login_on_device(email, password, device.as_deref())
            .await?;
        if let Some(device) = signed.device_token.clone() {
            let (home, at, mail) = (
                self.home.clone(),
                client.server().to_owned(),
                email.to_owned(),
            );
            let kept = tauri::async_runtime::spawn_blocking(move || {
                fyncall_signin::keep_device_token(&home, &at, &mail, &device)
            })
            .await;
            if !matches!(kept, Ok(Ok(()))) {
                tracing::warn!(
                    "this device's token was not kept; the next sign-in asks for a new one"
                );
            }
        }
        let (token, agent) = (signed.token, signed.agent);
        // After a sign-out that removed this computer's copy, a file again.
        self.with_cache(|c| c.reopen()).await?;
        self.refresh_reader().await?;
        let server = client.server().to_owned();
        let id = agent.id;
        let bound = server.clone();
        self.with_cache(move |c| c.sign_in(&bound, id)).await?;
        let s = Session {
            server,
            token,
            agent,
            token_in_keyring: false,
            ca_file: transport.ca_file.map(|p| p.display().to_string()),
            allow_http: transport.allow_http,
        };
        let home = self.home.clone();
        let demo = self.demo.lock().map(|d| *d).unwrap_or(false);
        let s = tauri::async_runtime::spawn_blocking(move || keep(&home, s, demo))
            .await
            .map_err(|e| internal(format!("saving the sign-in failed: {e}")))??;
        self.start_engine(&s)?;
        self.session()?
            .ok_or_else(|| internal("the sign-in was not saved"))
    }

    pub fn mark_demo(&self) {
        if let Ok(mut d) = self.demo.lock() {
            *d = true;
        }
    }

    /// The signed-in agent's client (token from the keyring or the file).
    pub(crate) async fn client(&self) -> IpcResult<Client> {
        let home = self.home.clone();
        let saved = tauri::async_runtime::spawn_blocking(move || recall(&home))
            .await
            .map_err(|e| internal(format!("reading the sign-in failed: {e}")))??;
        let s = saved
            .ok_or_else(|| IpcError::new(IpcCode::NotSignedIn, "not signed in: sign in first"))?;
        Ok(Client::for_session(&s)?)
    }

    /// A presence heartbeat. Offline or signed out it is dropped: presence
    /// is never queued and never an error the agent sees.
    pub async fn heartbeat(&self, beat: fyncall_domain::Heartbeat) -> IpcResult<()> {
        beat.check()
            .map_err(|m| IpcError::new(IpcCode::Invalid, m))?;
        if let Some(engine) = self.engine() {
            if let Err(e) = engine.heartbeat(&beat).await {
                tracing::debug!(error = %e, "presence heartbeat not sent");
            }
        }
        Ok(())
    }

    /// The agent's live sessions on the server, this device marked.
    pub async fn sessions(&self) -> IpcResult<Vec<fyncall_domain::wire::LiveSession>> {
        Ok(self.client().await?.sessions().await?)
    }

    pub async fn end_session(&self, id: Uuid) -> IpcResult<()> {
        Ok(self.client().await?.end_session(id).await?)
    }

    /// "Sign out other devices"; how many sessions ended.
    pub async fn end_other_sessions(&self) -> IpcResult<usize> {
        Ok(self.client().await?.end_other_sessions().await?)
    }

    pub async fn change_password(&self, current: &str, new: &str) -> IpcResult<()> {
        Ok(self.client().await?.change_password(current, new).await?)
    }

    /// Signs out; with `remove_data`, deletes this computer's copy of the
    /// team's tickets too (the cache files, unsent changes included).
    pub async fn sign_out(&self, remove_data: bool) -> IpcResult<()> {
        self.stop_engine();
        let home = self.home.clone();
        let saved = tauri::async_runtime::spawn_blocking(move || recall(&home))
            .await
            .map_err(|e| internal(format!("reading the sign-in failed: {e}")))??;
        if let Some(s) = &saved {
            if let Ok(client) = Client::for_session(s) {
                let _ = client.logout().await;
            }
        }
        let home = self.home.clone();
        tauri::async_runtime::spawn_blocking(move || forget(&home, saved.as_ref()))
            .await
            .map_err(|e| internal(format!("forgetting the sign-in failed: {e}")))??;
        if remove_data {
            self.with_cache(|c| c.remove_files()).await?;
            self.refresh_reader().await?;
            tracing::info!("removed this computer's copy of the team's tickets");
        }
        if let Ok(mut d) = self.demo.lock() {
            *d = false;
        }
        let info = self.status().await?;
        let _ = self.app.emit("sync-status", info);
        Ok(())
    }

    /// A ticket's page by id or `#number`. One the cache does not hold
    /// (closed before the working set) is read from the server's archive
    /// when online and kept; offline, the error says that older closed
    /// tickets need a connection.
    pub async fn ticket(&self, reference: String) -> IpcResult<fyncall_cache::TicketDetail> {
        let asked = reference.clone();
        let missing = match self
            .with_reader(move |c| {
                c.find_ticket(&asked)
                    .and_then(|id| c.ticket(id, Utc::now()))
            })
            .await
        {
            Err(e) if e.code == IpcCode::NotFound => e,
            answer => return answer,
        };
        let (Some(engine), Some(wanted)) =
            (self.engine(), fyncall_sync::TicketRef::parse(&reference))
        else {
            return Err(missing);
        };
        match engine.fetch_ticket(&wanted).await {
            Ok(id) => self.with_reader(move |c| c.ticket(id, Utc::now())).await,
            Err(e) if e.is_transient() => Err(self
                .offline(fyncall_domain::working_set::archive_offline)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    /// A page of the server's archive: tickets closed before the working
    /// set that `search` finds. Offline, the error says older closed
    /// tickets need a connection.
    pub async fn archive_tickets(
        &self,
        search: Option<String>,
        cursor: Option<String>,
    ) -> IpcResult<fyncall_cache::Page> {
        let Some(engine) = self.engine() else {
            return Err(IpcError::new(
                IpcCode::NotSignedIn,
                "older closed tickets are on the team's server: sign in to search them",
            ));
        };
        match engine.search_archive(search, cursor).await {
            Ok(page) => Ok(page.into()),
            Err(e) if e.is_transient() => Err(self
                .offline(fyncall_domain::working_set::archive_search_offline)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    /// "Older closed tickets need a connection", in `words` for the team's window.
    async fn offline(&self, words: fn(u32) -> String) -> IpcError {
        let days = self
            .with_reader(|c| c.settings())
            .await
            .map_or(fyncall_domain::working_set::SYNC_WINDOW_DEFAULT_DAYS, |s| {
                s.sync_window_days
            });
        IpcError::new(IpcCode::Unreachable, words(days))
    }

    pub async fn status(&self) -> IpcResult<StatusInfo> {
        let current = match self.engine() {
            Some(e) => e.status().borrow().clone(),
            None => SyncStatus {
                connection: fyncall_sync::Connection::SignedOut,
                error: None,
                last_sync_at: None,
                notice: None,
                download: None,
            },
        };
        let readers = self.readers()?;
        tauri::async_runtime::spawn_blocking(move || status_info(&readers, &current))
            .await
            .map_err(|e| internal(e.to_string()))?
    }

    /// A local action: applied and queued by the cache, then sent.
    pub async fn act(&self, mutation: Mutation) -> IpcResult<Acted> {
        let acted = self
            .with_cache(move |c| c.act(mutation, Utc::now()))
            .await?;
        self.announce(&acted.changes);
        if let Some(e) = self.engine() {
            e.wake();
        }
        Ok(acted)
    }

    /// Applies a macro to a ticket: each step acted and queued in order.
    pub async fn apply_macro(
        &self,
        ticket: String,
        macro_id: Uuid,
    ) -> IpcResult<fyncall_cache::macros::MacroApplied> {
        let (done, changes) = self
            .with_cache(move |c| {
                let id = c.find_ticket(&ticket)?;
                let m = c.find_macro(&macro_id.to_string())?;
                c.apply_macro(id, &m, Utc::now())
            })
            .await?;
        self.announce(&changes);
        if let Some(e) = self.engine() {
            e.wake();
        }
        Ok(done)
    }

    pub async fn retry_problem(&self, id: Uuid) -> IpcResult<Acted> {
        let acted = self
            .with_cache(move |c| c.retry_problem(id, Utc::now()))
            .await?;
        self.announce(&acted.changes);
        if let Some(e) = self.engine() {
            e.wake();
        }
        Ok(acted)
    }

    pub async fn discard_problem(&self, id: Uuid) -> IpcResult<()> {
        self.with_cache(move |c| c.discard_problem(id)).await?;
        self.announce(&ChangeSet {
            queue: true,
            ..ChangeSet::default()
        });
        Ok(())
    }

    pub async fn sync_now(&self) -> IpcResult<()> {
        match self.engine() {
            Some(e) => {
                // Asked for: the agent's own lists too, whenever they were last read.
                e.forget_side_reads();
                e.sync_once().await?;
                Ok(())
            }
            None => Err(IpcError::new(IpcCode::NotSignedIn, "sign in first")),
        }
    }
}

/// Gives the heap's free pages back to the system. A first download parses
/// and stores hundreds of thousands of rows on several threads, and glibc
/// keeps what they freed in its per-thread arenas (measured: the app held
/// 456 MiB after downloading 100,000 tickets, 186 MiB when started on the
/// same cache).
fn give_back_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own heap,
    // under glibc's own locks; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The reading connections in use now.
fn current(readers: &Mutex<Readers>) -> IpcResult<Readers> {
    Ok(readers
        .lock()
        .map_err(|_| internal("the cache lock was poisoned: restart Fyncall Desk"))?
        .clone())
}

fn status_info(readers: &Readers, s: &SyncStatus) -> IpcResult<StatusInfo> {
    let info = readers.get()?.info()?;
    Ok(StatusInfo {
        connection: match s.connection {
            fyncall_sync::Connection::Online => ConnectionState::Online,
            fyncall_sync::Connection::Offline => ConnectionState::Offline,
            fyncall_sync::Connection::Syncing => ConnectionState::Syncing,
            fyncall_sync::Connection::SignedOut => ConnectionState::SignedOut,
        },
        error: s.error.clone(),
        last_sync_at: s.last_sync_at.or(info.last_sync_at),
        pending: info.pending,
        problems: info.problems,
        clock_offset_ms: info.clock_offset_ms,
        notice: s.notice.clone(),
        download: s.download.map(|d| DownloadInfo {
            rows: d.rows,
            total: d.total,
        }),
    })
}
