//! The sync engine between the local cache and the team server (API.md "Sync").
//!
//! - [`Engine::sync_once`]: push the outbox in order (1,000 per request),
//!   then pull pages from the cursor until caught up. Each answer is stored
//!   by the cache in one transaction, so a crash at any moment loses nothing
//!   and repeats nothing (pushes are idempotent by mutation id).
//! - [`Engine::run`]: stays connected: follows the live stream and pulls on
//!   each `changed`, pushes when a local action wakes it, backs off with
//!   jitter on network errors and 5xx, and pauses on 401 until
//!   [`Engine::set_client`] gives it a fresh sign-in.
//! - Every stored change goes out as a [`SyncEvent::Changed`] for the UI and
//!   the notifier; connection state as [`SyncEvent::Status`].

mod client;
mod error;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use fyncall_cache::{Cache, CacheError, ChangeSet, OutboxEntry, PushResult};
use fyncall_domain::Timestamp;
use fyncall_domain::wire::Outcome;
use serde::Serialize;
use tokio::sync::{Notify, broadcast, watch};

pub use client::{Client, Live, Pulled, SignedIn, SnapshotReader, TicketRef, Transport};
pub use error::{Result, SyncError};

/// Pull page size (the server's maximum).
pub const PAGE: u32 = 500;
/// Push batch size (the server's maximum).
pub const PUSH_BATCH: usize = 1000;
/// Most bytes of mutations in one push: well under the server's 1 MiB body
/// limit, so the envelope and JSON escaping always fit.
pub const PUSH_BYTES: usize = 512 * 1024;
/// A single mutation larger than this can never be pushed (the server takes
/// bodies up to 1 MiB): it becomes a sync problem instead of blocking the queue.
pub const MUTATION_MAX_BYTES: usize = 1024 * 1024 - 4 * 1024;
/// Most pulled rows stored in one transaction while catching up.
pub const CATCH_UP_ROWS: usize = 5000;
/// Snapshot rows read into one batch while the previous one is stored.
pub const SNAPSHOT_BATCH: usize = 2500;
/// Most snapshot rows stored in one transaction.
pub const SNAPSHOT_ROWS: usize = 20_000;
/// Reconnect when the stream is silent this long (heartbeats come every 15 s).
const STREAM_SILENCE: Duration = Duration::from_secs(45);

pub type SharedCache = Arc<Mutex<Cache>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    Online,
    Offline,
    Syncing,
    SignedOut,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncStatus {
    pub connection: Connection,
    /// Why the last attempt failed, in words for the agent.
    pub error: Option<String>,
    pub last_sync_at: Option<Timestamp>,
    /// Something the agent should read once, e.g. that the server was
    /// restored from a backup and how many changes were sent again. Carried
    /// by one status only.
    pub notice: Option<String>,
    /// A first download under way: rows stored of how many.
    pub download: Option<Download>,
}

/// How far a first download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Download {
    pub rows: u64,
    pub total: u64,
}

#[derive(Debug, Clone)]
pub enum SyncEvent {
    Changed(Arc<ChangeSet>),
    Status(SyncStatus),
    /// The team's presence (empty while not connected).
    Presence(Arc<Vec<fyncall_domain::PresenceEntry>>),
}

/// What one [`Engine::sync_once`] did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub pushed: usize,
    pub rejected: usize,
    pub pulled: usize,
    pub cursor: i64,
    pub round_trip: Option<Duration>,
    /// Set once, by the sync that finished healing from a restored server.
    pub notice: Option<String>,
    /// Changes queued again because the server's database was restored or replaced.
    pub resent: u64,
    /// Where a first download from the snapshot spent its time.
    pub snapshot: Option<SnapshotTimes>,
}

/// Where a first download from the snapshot spent its time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotTimes {
    /// Waiting for rows to arrive (storing outran reading and parsing);
    /// not part of `storing`.
    pub waited: Duration,
    /// Storing the rows.
    pub storing: Duration,
    pub transactions: u32,
    /// Building the indexes, counts and search index at the end.
    pub finishing: Duration,
}

/// How one pass of push and pull ended.
enum Pass {
    Done,
    /// The server's database was restored or replaced: the cache started
    /// over; run the pass again.
    Healed,
}

pub struct Engine {
    client: Mutex<Client>,
    cache: SharedCache,
    events: broadcast::Sender<SyncEvent>,
    status: watch::Sender<SyncStatus>,
    wake: Notify,
    signed_in: Notify,
    one_at_a_time: tokio::sync::Mutex<()>,
    /// A first download's log to copy into the cache file once the sync
    /// that brought it ends (so that sync's own writes are copied with it).
    unsettled: Mutex<Option<fyncall_cache::Settler>>,
    /// A first download's log being copied into the cache file.
    settling: Mutex<Option<tokio::task::JoinHandle<Option<Duration>>>>,
    /// When the agent's own lists (macros, unread mentions) were last read:
    /// at most once a minute, not at every sync (a busy team syncs often).
    side_read_at: Mutex<Option<std::time::Instant>>,
}

/// How often a syncing client reads the agent's macros and unread mentions.
pub const SIDE_READS_EVERY: Duration = Duration::from_secs(60);

fn poisoned() -> SyncError {
    SyncError::Cache(CacheError::Invalid(
        "the cache lock was poisoned by a crashed task: restart Fyncall Desk".into(),
    ))
}

impl Engine {
    pub fn new(client: Client, cache: SharedCache) -> Engine {
        let (events, _) = broadcast::channel(256);
        let (status, _) = watch::channel(SyncStatus {
            connection: Connection::Offline,
            error: None,
            last_sync_at: None,
            notice: None,
            download: None,
        });
        Engine {
            client: Mutex::new(client),
            cache,
            events,
            status,
            wake: Notify::new(),
            signed_in: Notify::new(),
            one_at_a_time: tokio::sync::Mutex::new(()),
            unsettled: Mutex::new(None),
            settling: Mutex::new(None),
            side_read_at: Mutex::new(None),
        }
    }

    /// Waits for a first download's log to be copied into the cache file
    /// (it runs on its own after the download); how long the copy took,
    /// `None` when there was none or it failed (the next sync copies it).
    pub async fn settled(&self) -> Option<Duration> {
        let handle = self.settling.lock().ok()?.take()?;
        handle.await.ok().flatten()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    pub fn cache(&self) -> &SharedCache {
        &self.cache
    }

    /// Tells a running engine that local actions were queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Replaces the sign-in (after a 401 pause, or a new login).
    pub fn set_client(&self, client: Client) {
        if let Ok(mut c) = self.client.lock() {
            *c = client;
        }
        self.signed_in.notify_one();
    }

    fn client(&self) -> Result<Client> {
        self.client
            .lock()
            .map(|c| c.clone())
            .map_err(|_| poisoned())
    }

    /// Sends a presence heartbeat. Presence is best effort: offline, it is
    /// dropped (never queued), and the caller carries on.
    pub async fn heartbeat(&self, beat: &fyncall_domain::Heartbeat) -> Result<()> {
        self.client()?.heartbeat(beat).await
    }

    /// Runs `f` on the cache off the async threads.
    pub async fn with_cache<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Cache) -> fyncall_cache::Result<T> + Send + 'static,
    {
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = cache.lock().map_err(|_| poisoned())?;
            f(&mut c).map_err(SyncError::from)
        })
        .await
        .map_err(|e| SyncError::Invalid(format!("a cache task failed: {e}")))?
    }

    fn set_status(&self, connection: Connection, error: Option<String>) {
        self.set_status_with(connection, error, None);
    }

    fn set_status_with(
        &self,
        connection: Connection,
        error: Option<String>,
        notice: Option<String>,
    ) {
        let last = self.status.borrow().last_sync_at;
        let status = SyncStatus {
            connection,
            error,
            notice,
            last_sync_at: if connection == Connection::Online {
                Some(Utc::now())
            } else {
                last
            },
            download: None,
        };
        self.status.send_replace(status.clone());
        let _ = self.events.send(SyncEvent::Status(status));
    }

    /// Says how far a first download is (the status stays `syncing`).
    fn set_download(&self, download: Download) {
        let mut status = self.status.borrow().clone();
        status.connection = Connection::Syncing;
        status.notice = None;
        status.download = Some(download);
        self.status.send_replace(status.clone());
        let _ = self.events.send(SyncEvent::Status(status));
    }

    /// A first download from the server's snapshot: its rows are read and
    /// parsed while the ones before are stored, in large transactions, the
    /// views showing them as they come; the cursor moves to the snapshot's
    /// only once every row is in. `None`: done, or no snapshot to be had
    /// (pull page by page); `Some`: the pass ends so (the server's database
    /// was replaced).
    async fn download(&self, client: &Client, report: &mut Report) -> Result<Option<Pass>> {
        let Some(mut reader) = client.snapshot().await? else {
            return Ok(None);
        };
        let seen = reader.head.database_id;
        if self.with_cache(move |c| c.must_heal(seen)).await? {
            return self.heal(seen, report).await.map(Some);
        }
        let (total, cursor, offset) =
            (reader.head.rows, reader.head.cursor, reader.clock_offset_ms);
        self.set_download(Download { rows: 0, total });
        // Two transactions' worth: the next one's rows are read while one is
        // stored (one's worth left the writer waiting 0.70 s per 100k-ticket
        // download, two 0.60 s: the rest is reading starved of a core).
        let (tx, mut rx) = tokio::sync::mpsc::channel(2 * SNAPSHOT_ROWS / SNAPSHOT_BATCH);
        let reading = tokio::spawn(async move {
            loop {
                let next = reader.next_rows(SNAPSHOT_BATCH).await;
                let last = !matches!(next, Ok(Some(_)));
                if tx.send(next).await.is_err() || last {
                    break;
                }
            }
        });
        let mut stored = 0u64;
        let mut times = SnapshotTimes::default();
        let outcome: Result<()> = async {
            let mut ended = false;
            while !ended {
                let gathering = Instant::now();
                let mut rows: Vec<fyncall_cache::PulledChange> = Vec::new();
                // A transaction's worth is gathered while the one before is
                // stored: a commit costs about the same however many rows it
                // holds, so fewer and larger ones store the team faster.
                loop {
                    match rx.recv().await {
                        Some(Ok(Some(more))) => rows.extend(more),
                        Some(Ok(None)) => {
                            ended = true;
                            break;
                        }
                        Some(Err(e)) => return Err(e),
                        None => {
                            return Err(SyncError::Invalid(
                                "the first download's reader stopped".into(),
                            ));
                        }
                    }
                    if rows.len() >= SNAPSHOT_ROWS {
                        break;
                    }
                }
                if rows.is_empty() {
                    continue;
                }
                stored += rows.len() as u64;
                times.waited += gathering.elapsed();
                let storing = Instant::now();
                times.transactions += 1;
                let changes = self
                    .with_cache(move |c| c.apply_snapshot(&rows, None))
                    .await?;
                times.storing += storing.elapsed();
                self.changed(changes);
                self.set_download(Download {
                    rows: stored,
                    total,
                });
            }
            Ok(())
        }
        .await;
        reading.abort();
        outcome?;
        let finishing = Instant::now();
        let (changes, settler) = self
            .with_cache(move |c| {
                let changes = c.apply_snapshot(&[], Some(cursor))?;
                c.record_sync(offset, Utc::now())?;
                Ok((changes, c.settler()))
            })
            .await?;
        times.finishing = finishing.elapsed();
        // The rows are in: the log is copied into the file when this sync
        // ends, with the cache free for the window and the agent's actions.
        if let Ok(mut u) = self.unsettled.lock() {
            *u = Some(settler);
        }
        report.pulled += stored as usize;
        report.cursor = cursor;
        report.snapshot = Some(times);
        self.changed(changes);
        Ok(None)
    }

    /// Moves a mutation too large for any push to the sync problems, with a
    /// message that says what to do; the text typed is kept there.
    async fn too_large(&self, entry: &OutboxEntry, report: &mut Report) -> Result<()> {
        report.pushed += 1;
        report.rejected += 1;
        let bytes = client::wire_size(entry);
        let result = PushResult {
            id: entry.id,
            outcome: Outcome::Rejected,
            seq: None,
            error: Some(fyncall_domain::wire::PushError::new(
                fyncall_domain::wire::ErrorCode::TooLarge,
                format!(
                    "this change is {} KiB, more than the server takes in one request (1 MiB): copy its text, shorten it or split it, and make it again",
                    bytes / 1024
                ),
            )),
        };
        let now = Utc::now();
        let changes = self
            .with_cache(move |c| c.record_push(&[result], now))
            .await?;
        self.changed(changes);
        Ok(())
    }

    fn changed(&self, changes: ChangeSet) {
        if !changes.is_empty() {
            let _ = self.events.send(SyncEvent::Changed(Arc::new(changes)));
        }
    }

    /// Pushes everything queued, then pulls until caught up.
    pub async fn sync_once(&self) -> Result<Report> {
        let _one = self.one_at_a_time.lock().await;
        self.set_status(Connection::Syncing, None);
        let outcome = self.push_then_pull().await;
        self.settle();
        match &outcome {
            Ok(report) => self.set_status_with(Connection::Online, None, report.notice.clone()),
            Err(SyncError::Unauthorized(m)) => {
                self.set_status(Connection::SignedOut, Some(m.clone()))
            }
            Err(e) => self.set_status(Connection::Offline, Some(e.to_string())),
        }
        outcome
    }

    /// Starts copying a first download's log into the cache file on a
    /// thread of its own, once the sync that brought it has written all it
    /// writes: nothing of the sync races the copy (a checkpoint against a
    /// writer) and the log is empty after it unless something wrote since.
    fn settle(&self) {
        let Some(settler) = self.unsettled.lock().ok().and_then(|mut u| u.take()) else {
            return;
        };
        let cache = self.cache.clone();
        let settling = tokio::task::spawn_blocking(move || {
            let took = settler.run();
            if let Ok(mut c) = cache.lock() {
                if let Err(e) = c.resume_checkpoints() {
                    tracing::warn!(error = %e, "the cache's checkpoints stay off until it opens again");
                }
            }
            took.inspect_err(|e| {
                tracing::warn!(error = %e, "the first download's log was not copied into the cache file yet (the next sync does it)");
            })
            .ok()
        });
        if let Ok(mut s) = self.settling.lock() {
            *s = Some(settling);
        }
    }

    async fn push_then_pull(&self) -> Result<Report> {
        let mut report = Report::default();
        // Twice at most: a server restored again while this one heals waits
        // for the next sync.
        for _ in 0..3 {
            match self.pass(&mut report).await? {
                Pass::Done => break,
                Pass::Healed => continue,
            }
        }
        report.notice = self.with_cache(|c| c.take_restore_notice()).await?;
        let due = self.side_read_at.lock().is_ok_and(|mut at| {
            let due = at.is_none_or(|t| t.elapsed() >= SIDE_READS_EVERY);
            if due {
                *at = Some(std::time::Instant::now());
            }
            due
        });
        if due {
            self.settle_mentions().await;
            self.keep_macros().await;
            self.trim_working_set().await;
        }
        Ok(report)
    }

    /// The next sync reads the agent's macros and unread mentions again
    /// (a sync the agent asks for, or one after they changed a macro).
    pub fn forget_side_reads(&self) {
        if let Ok(mut at) = self.side_read_at.lock() {
            *at = None;
        }
    }

    /// Mentions read on another machine of the same agent: the server's
    /// list of what is still unread settles the marks here. A server
    /// without the list (older) or a failed read leaves them as they are.
    async fn settle_mentions(&self) {
        const LIMIT: u32 = 500;
        let Ok(client) = self.client() else { return };
        match client.unread_mentions(LIMIT).await {
            Ok(unread) => {
                let complete = unread.len() < LIMIT as usize;
                match self
                    .with_cache(move |c| c.settle_mention_reads(&unread, complete))
                    .await
                {
                    Ok(n) if n > 0 => self.changed(ChangeSet {
                        mentions: true,
                        ..ChangeSet::default()
                    }),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mentions' read marks not settled"),
                }
            }
            Err(e) => tracing::debug!(error = %e, "the server's unread mentions were not read"),
        }
    }

    /// The macros the agent may use, as the server lists them now, kept
    /// for offline use. A server without them (older) or a failed read
    /// leaves the kept ones.
    pub async fn keep_macros(&self) {
        let Ok(client) = self.client() else { return };
        match client.macros().await {
            Ok(list) => match self.with_cache(move |c| c.replace_macros(&list)).await {
                Ok(true) => self.changed(ChangeSet {
                    team: true,
                    ..ChangeSet::default()
                }),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "the macros were not kept"),
            },
            Err(e) => tracing::debug!(error = %e, "the server's macros were not read"),
        }
    }

    /// Lets go of the tickets closed before the team's sync window
    /// (`Cache::trim_working_set`), as of the server's clock.
    pub async fn trim_working_set(&self) {
        let trimmed = self
            .with_cache(|c| {
                let now = c.server_now(Utc::now())?;
                c.trim_working_set(now)
            })
            .await;
        match trimmed {
            Ok((0, _)) => {}
            Ok((gone, changes)) => {
                tracing::info!(gone, "closed tickets past the sync window let go");
                self.changed(changes);
            }
            Err(e) => tracing::warn!(error = %e, "the working set was not trimmed"),
        }
    }

    /// Reads a ticket the cache does not hold (closed before the working
    /// set) from the server, keeps it, and answers its id. Offline, the
    /// error is the unreachable server's.
    pub async fn fetch_ticket(&self, reference: &TicketRef) -> Result<uuid::Uuid> {
        let detail = self.client()?.ticket(reference).await?;
        let id = detail.ticket.ticket.id;
        let changes = self
            .with_cache(move |c| {
                c.keep_archived(&detail.ticket.ticket, &detail.activity, Utc::now())
            })
            .await?;
        self.changed(changes);
        Ok(id)
    }

    /// A page of the tickets closed before the working set that `words`
    /// find, from the server (the desktop does not keep them); offline,
    /// the unreachable server's error.
    pub async fn search_archive(
        &self,
        words: Option<String>,
        cursor: Option<String>,
    ) -> Result<fyncall_domain::wire::TicketPage> {
        let before = self
            .with_cache(|c| {
                let now = c.server_now(Utc::now())?;
                let days = c.settings()?.sync_window_days;
                Ok(fyncall_domain::working_set::cutoff(now, days))
            })
            .await?;
        self.client()?
            .archive(words.as_deref(), before, 50, cursor.as_deref())
            .await
    }

    /// Starts the cache over after an answer from another database.
    async fn heal(&self, seen: Option<uuid::Uuid>, report: &mut Report) -> Result<Pass> {
        let (resent, changes) = self.with_cache(move |c| c.heal(seen)).await?;
        tracing::warn!(
            resent,
            "the server's database was restored or replaced; downloading the team again and sending this client's changes again"
        );
        report.resent += resent;
        self.changed(changes);
        Ok(Pass::Healed)
    }

    async fn pass(&self, report: &mut Report) -> Result<Pass> {
        let client = self.client()?;
        let client_id = self.with_cache(|c| c.client_id()).await?;
        // Batches are cut by count and by bytes; a 413 halves the count, and a
        // mutation no batch can carry becomes a sync problem, so the queue
        // never stalls on one item.
        let mut limit = PUSH_BATCH;
        loop {
            let queued = self.with_cache(move |c| c.to_push(limit)).await?;
            if queued.is_empty() {
                break;
            }
            let batch = cut_by_bytes(queued, PUSH_BYTES);
            if let [only] = batch.as_slice() {
                if client::wire_size(only) > MUTATION_MAX_BYTES {
                    self.too_large(only, report).await?;
                    continue;
                }
            }
            let answer = match client.push(client_id, &batch).await {
                Err(SyncError::Refused { code, .. }) if code == "too_large" || code == "413" => {
                    if let [only] = batch.as_slice() {
                        self.too_large(only, report).await?;
                    } else {
                        limit = (batch.len() / 2).max(1);
                    }
                    continue;
                }
                other => other?,
            };
            let seen = answer.database_id;
            if self.with_cache(move |c| c.must_heal(seen)).await? {
                return self.heal(seen, report).await;
            }
            let results = answer.results;
            if results.is_empty() {
                return Err(SyncError::Server(
                    "the server answered a push with no results".into(),
                ));
            }
            report.pushed += results.len();
            report.rejected += results.iter().filter(|r| r.refused()).count();
            let now = Utc::now();
            let changes = self
                .with_cache(move |c| c.record_push(&results, now))
                .await?;
            self.changed(changes);
        }
        // A first download comes whole from the snapshot; the pulls then
        // bring what changed since.
        if self.with_cache(|c| c.cursor()).await? == 0 {
            if let Some(pass) = self.download(&client, report).await? {
                return Ok(pass);
            }
        }
        // While pages are stored, the next is already on its way; when far
        // behind, up to `CATCH_UP_ROWS` rows go into one transaction.
        let cursor = self.with_cache(|c| c.cursor()).await?;
        let mut next = Some(client.pull(cursor, PAGE).await?);
        let mut held: Vec<fyncall_cache::PullPage> = Vec::new();
        let mut asked = cursor;
        while let Some(pulled) = next.take() {
            // Another database answered, or this one is behind the cursor it
            // gave out: start over before storing anything of it.
            let seen = pulled.page.database_id;
            if pulled.page.cursor < asked || self.with_cache(move |c| c.must_heal(seen)).await? {
                return self.heal(seen, report).await;
            }
            asked = pulled.page.cursor;
            report.pulled += pulled.page.changes.len();
            report.round_trip = Some(
                report
                    .round_trip
                    .map_or(pulled.round_trip, |r| r.min(pulled.round_trip)),
            );
            let prefetch = pulled.page.has_more.then(|| {
                let client = client.clone();
                let cursor = pulled.page.cursor;
                tokio::spawn(async move { client.pull(cursor, PAGE).await })
            });
            let offset = pulled.clock_offset_ms;
            held.push(pulled.page);
            let rows: usize = held.iter().map(|p| p.changes.len()).sum();
            if prefetch.is_none() || rows >= CATCH_UP_ROWS {
                let pages = std::mem::take(&mut held);
                let stored = self
                    .with_cache(move |c| {
                        let changes = c.apply_pulls(&pages)?;
                        c.record_sync(offset, Utc::now())?;
                        c.checkpoint()?;
                        Ok((changes, c.cursor()?))
                    })
                    .await;
                let (changes, cursor) = match stored {
                    Ok(done) => done,
                    Err(e) => {
                        if let Some(p) = prefetch {
                            p.abort();
                        }
                        return Err(e);
                    }
                };
                report.cursor = cursor;
                self.changed(changes);
            }
            if let Some(p) = prefetch {
                next = Some(
                    p.await
                        .map_err(|e| SyncError::Invalid(format!("a pull task failed: {e}")))??,
                );
            }
        }
        Ok(Pass::Done)
    }

    /// Stays in sync until `stop` turns true: the live stream, pushes on
    /// [`Engine::wake`], backoff on failures, a pause while signed out.
    /// Returns only when stopped.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::default();
        loop {
            if *stop.borrow() {
                return;
            }
            let failure = match self.sync_once().await {
                Ok(_) => self.follow(&mut stop, &mut backoff).await,
                Err(e) => Some(e),
            };
            let Some(failure) = failure else {
                return;
            };
            tracing::info!(error = %failure, "sync paused");
            let wait = if matches!(failure, SyncError::Unauthorized(_)) {
                None
            } else {
                Some(backoff.next_delay())
            };
            tokio::select! {
                _ = stop.changed() => return,
                _ = self.signed_in.notified() => backoff.reset(),
                _ = self.wake.notified(), if wait.is_some() => {}
                _ = sleep_opt(wait) => {}
            }
        }
    }

    /// Follows the live stream; returns why it stopped following (`None`: stopped).
    async fn follow(
        &self,
        stop: &mut watch::Receiver<bool>,
        backoff: &mut Backoff,
    ) -> Option<SyncError> {
        let client = match self.client() {
            Ok(c) => c,
            Err(e) => return Some(e),
        };
        let stream = match client.stream().await {
            Ok(s) => s,
            Err(e) => return Some(e),
        };
        backoff.reset();
        let mut stream = std::pin::pin!(stream);
        let why = self.follow_stream(&mut stream, stop).await;
        // Not connected: nobody is shown anywhere.
        let _ = self.events.send(SyncEvent::Presence(Arc::new(Vec::new())));
        why
    }

    async fn follow_stream(
        &self,
        stream: &mut std::pin::Pin<&mut impl futures_util::Stream<Item = Result<client::Live>>>,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<SyncError> {
        loop {
            tokio::select! {
                _ = stop.changed() => return None,
                _ = self.wake.notified() => {
                    if let Err(e) = self.sync_once().await {
                        return Some(e);
                    }
                }
                item = tokio::time::timeout(STREAM_SILENCE, stream.next()) => match item {
                    Err(_) => return Some(SyncError::Unreachable("the live stream went silent".into())),
                    Ok(None) => return Some(SyncError::Unreachable("the server closed the live stream".into())),
                    Ok(Some(Err(e))) => return Some(e),
                    Ok(Some(Ok(client::Live::Alive))) => {}
                    Ok(Some(Ok(client::Live::Presence(list)))) => {
                        let _ = self.events.send(SyncEvent::Presence(Arc::new(list)));
                    }
                    Ok(Some(Ok(client::Live::Changed(cursor)))) => {
                        let behind = match self.with_cache(|c| c.cursor()).await {
                            Ok(mine) => cursor > mine,
                            Err(e) => return Some(e),
                        };
                        if behind {
                            if let Err(e) = self.sync_once().await {
                                return Some(e);
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

/// Exponential backoff with jitter: 0.25 s doubling to 30 s, each wait
/// drawn between half and all of the current step.
#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            step: Backoff::FIRST,
        }
    }
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(250);
    pub const MAX: Duration = Duration::from_secs(30);

    pub fn reset(&mut self) {
        self.step = Backoff::FIRST;
    }

    pub fn next_delay(&mut self) -> Duration {
        let step = self.step;
        self.step = (self.step * 2).min(Backoff::MAX);
        let fraction = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
        step / 2 + step / 2 * fraction / 1000
    }
}

/// The longest prefix of `queued` whose wire size fits in `budget` bytes;
/// always at least the first entry, which the caller checks on its own.
fn cut_by_bytes(mut queued: Vec<OutboxEntry>, budget: usize) -> Vec<OutboxEntry> {
    let mut used = 0;
    let mut keep = 0;
    for entry in &queued {
        used += client::wire_size(entry) + 1;
        if keep > 0 && used > budget {
            break;
        }
        keep += 1;
    }
    queued.truncate(keep);
    queued
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::default();
        let first = b.next_delay();
        assert!(first >= Backoff::FIRST / 2 && first <= Backoff::FIRST);
        let mut last = first;
        for _ in 0..20 {
            last = b.next_delay();
            assert!(last <= Backoff::MAX);
        }
        assert!(last >= Backoff::MAX / 2);
        b.reset();
        assert!(b.next_delay() <= Backoff::FIRST);
    }
}
