//! Sync: push (idempotent by mutation id), pull (pages of the change log)
//! and the live stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use fyncall_domain::text::check_client_id;
use fyncall_domain::{Caller, Mutation, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::{ApiJson, AppState};
use crate::auth::{AgentAuth, Auth};
use crate::error::{ApiError, ErrorCode};
use crate::write;
use fyncall_domain::wire::PullPage;
use fyncall_domain::wire::PushAnswer;

/// Most mutations in one push.
pub const MAX_PUSH: usize = 1000;

#[derive(Deserialize, ToSchema)]
pub struct PushBody {
    pub client_id: Option<Uuid>,
    #[schema(value_type = Vec<super::schemas::PushedMutation>)]
    pub mutations: Vec<Value>,
}

#[derive(Deserialize)]
struct PushedHead {
    id: Uuid,
    #[serde(default)]
    client_at: Option<Timestamp>,
}

#[utoipa::path(post, path = "/api/v1/sync/push", request_body = PushBody, tag = "sync",
    responses((status = 200, body = PushAnswer)))]
pub async fn push(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
    ApiJson(body): ApiJson<PushBody>,
) -> Result<Json<PushAnswer>, ApiError> {
    if body.mutations.len() > MAX_PUSH {
        return Err(ApiError::new(
            ErrorCode::TooLarge,
            format!(
                "a push carries at most {MAX_PUSH} mutations; this one has {}: send them in parts",
                body.mutations.len()
            ),
        ));
    }
    // Every mutation needs its id before anything is applied, so a bad push writes nothing.
    let mut batch = Vec::with_capacity(body.mutations.len());
    for (i, raw) in body.mutations.into_iter().enumerate() {
        let head: PushedHead = serde_json::from_value(raw.clone()).map_err(|_| {
            ApiError::bad_request(format!(
                "mutation {i} needs an `id` (UUID) and an optional `client_at` time"
            ))
        })?;
        let mutation = check_client_id("id", head.id)
            .map_err(ApiError::from)
            .and_then(|()| {
                serde_json::from_value::<Mutation>(
                    json!({"name": raw.get("name"), "args": raw.get("args")}),
                )
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "mutation {} is not one this server knows: {e}",
                        head.id
                    ))
                })
            });
        batch.push(write::Pushed {
            id: head.id,
            mutation,
            client_at: head.client_at,
        });
    }
    let _ = body.client_id;
    let caller = Caller::Agent(agent.id);
    let (results, last_seq) = state
        .blocking(move |s| s.push(caller, &batch, &crate::time::now))
        .await
        .map_err(|e| {
            // The push's one transaction did not commit: nothing of it was
            // written, and every mutation in it stays queued on the client.
            if e.code == ErrorCode::Internal {
                ApiError::unavailable()
            } else {
                e
            }
        })?;
    state.announce(last_seq);
    Ok(Json(PushAnswer {
        results,
        database_id: Some(state.database_id),
    }))
}

#[utoipa::path(get, path = "/api/v1/sync/pull", tag = "sync",
    params(("cursor" = Option<i64>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = PullPage)))]
pub async fn pull(
    State(state): State<AppState>,
    _: AgentAuth,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<PullPage>, ApiError> {
    let cursor = match params.get("cursor") {
        None => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|c| *c >= 0)
            .ok_or_else(|| ApiError::bad_request("cursor must be a whole number ≥ 0"))?,
    };
    let limit = match params.get("limit") {
        None => 500,
        Some(l) => l
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| ApiError::bad_request("limit must be 1 to 500"))?,
    };
    let now = crate::time::now();
    let mut page = state.blocking(move |s| s.pull(cursor, limit, now)).await?;
    if page.changes.is_empty() {
        // A cursor past the last change was given out by another or a
        // restored database: answer this one's, so the client notices.
        let current = state.blocking(|s| s.current_seq()).await?;
        page.cursor = page.cursor.min(current);
    }
    page.database_id = Some(state.database_id);
    Ok(Json(page))
}

/// Bytes of snapshot lines sent to the client at a time.
const SNAPSHOT_CHUNK: usize = 256 * 1024;

/// An agent's first download being sent; the agent's place is given back
/// when it is dropped.
struct SnapshotOfAgent {
    sending: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
    agent: Uuid,
}

impl SnapshotOfAgent {
    /// The agent's place, unless a snapshot of theirs is being sent.
    fn claim(state: &AppState, agent: Uuid) -> Option<SnapshotOfAgent> {
        let sending = state.snapshots_of.clone();
        let fresh = sending.lock().ok()?.insert(agent);
        fresh.then_some(SnapshotOfAgent { sending, agent })
    }
}

impl Drop for SnapshotOfAgent {
    fn drop(&mut self) {
        if let Ok(mut s) = self.sending.lock() {
            s.remove(&self.agent);
        }
    }
}

#[utoipa::path(get, path = "/api/v1/sync/snapshot", tag = "sync",
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String,
         description = "Every row of the team as of one sequence, one JSON value a line: a `SnapshotHead` ({cursor, rows, server_time, database_id}), then `rows` pulled changes ({entity, id, data}, no `seq`; `message` rows stand on their own), then a `SnapshotEnd` ({end}). A first download stores them and pulls from `cursor` on; a stream cut before its `SnapshotEnd` is incomplete."),
        (status = 503, body = crate::api::openapi::ErrorBody,
         description = "the store did not answer, or other first downloads are running: try again in a moment, or pull page by page"),
    ))]
pub async fn snapshot(
    State(state): State<AppState>,
    AgentAuth(agent, ..): AgentAuth,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    // One first download per agent at a time: a client that starts again
    // after a cut while the server still writes the last one pulls page by
    // page meanwhile instead of taking a second permit.
    let mine = SnapshotOfAgent::claim(&state, agent.id).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unavailable,
            "a first download of yours is still being sent: try again in a moment, or pull page by page",
        )
    })?;
    // A snapshot holds one read of the store for as long as the client
    // takes to read it: only a few at once, so writers and pulls keep theirs.
    let permit = state.snapshots.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            ErrorCode::Unavailable,
            "other first downloads are running on this server: try again in a moment, or pull page by page",
        )
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, std::io::Error>>(4);
    let store = state.store.clone();
    let database_id = state.database_id;
    let now = crate::time::now();
    let runtime = tokio::runtime::Handle::current();
    let stall = state.config.snapshot_stall;
    tokio::task::spawn_blocking(move || {
        let (_permit, _mine) = (permit, mine);
        // A client that reads nothing for `stall` (it stopped, or a cut
        // left its side open) ends the snapshot and frees its permit.
        let send = |chunk: Result<axum::body::Bytes, std::io::Error>| {
            runtime
                .block_on(tx.send_timeout(chunk, stall))
                .map_err(|e| match e {
                    tokio::sync::mpsc::error::SendTimeoutError::Timeout(_) => {
                        crate::store::StoreError::Database(format!(
                            "the client read nothing for {} s",
                            stall.as_secs()
                        ))
                    }
                    tokio::sync::mpsc::error::SendTimeoutError::Closed(_) => {
                        crate::store::StoreError::Database("the client stopped reading".into())
                    }
                })
        };
        let mut buf = Vec::with_capacity(SNAPSHOT_CHUNK * 2);
        let sent = store.snapshot(now, database_id, &mut |line| {
            buf.extend_from_slice(line);
            if buf.len() >= SNAPSHOT_CHUNK {
                let chunk = std::mem::replace(&mut buf, Vec::with_capacity(SNAPSHOT_CHUNK * 2));
                send(Ok(chunk.into()))?;
            }
            Ok(())
        });
        match sent {
            Ok(()) => {
                let _ = send(Ok(buf.into()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "a snapshot stopped before its end");
                let _ = send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    // The first chunk decides the status: a store that cannot start a
    // snapshot answers 503, not a 200 that breaks off.
    let first = match rx.recv().await {
        Some(Ok(first)) => first,
        _ => return Err(ApiError::unavailable()),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let body = axum::body::Body::from_stream(futures_util::StreamExt::chain(
        futures_util::stream::once(async { Ok(first) }),
        rest,
    ));
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/x-ndjson")],
        body,
    )
        .into_response())
}

/// How often a live stream checks that its session still stands, so an
/// ended session's streams close within 5 s.
const SESSION_CHECK: Duration = Duration::from_secs(3);

/// A live stream's state: whose it is, what it sent, and its place in the caps.
struct Live {
    state: AppState,
    token_hash: String,
    rx: tokio::sync::broadcast::Receiver<i64>,
    last: i64,
    first: Option<i64>,
    check: tokio::time::Interval,
    /// The team's presence; an event goes out at most once a second.
    presence: tokio::sync::watch::Receiver<std::sync::Arc<crate::presence::TeamPresence>>,
    presence_sent: Option<tokio::time::Instant>,
    /// When the presence changed within a second of the last event sent: the
    /// moment the latest goes out.
    presence_due: Option<tokio::time::Instant>,
    presence_opened: bool,
    /// The client asked for changes (`?presence=changes`): after the first
    /// list, `presence_changes` events against the list it holds.
    presence_changes: bool,
    /// The list this stream sent last (or holds by the changes it sent).
    presence_last: Option<std::sync::Arc<crate::presence::TeamPresence>>,
    _slot: crate::limits::StreamSlot,
}

/// At most one `presence` event a second per stream.
const PRESENCE_EVERY: Duration = Duration::from_secs(1);

/// Sleeps until `at`; never returns without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The team's presence, its JSON made once for every stream.
fn presence_event(team: &crate::presence::TeamPresence) -> Event {
    Event::default().event("presence").data(&team.json)
}

fn changed(seq: i64, database_id: Uuid) -> Event {
    Event::default()
        .event("changed")
        .data(json!({"cursor": seq, "database_id": database_id}).to_string())
}

/// `GET /sync/stream`'s query.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// `changes`: after the first `presence` list, `presence_changes`
    /// events ({set, gone}) instead of the whole list each time.
    presence: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sync/stream", tag = "sync", params(StreamParams),
    responses((status = 200, content_type = "text/event-stream", description = "`changed` events: {cursor, database_id}; `presence` events: the team's presence, a list of {agent_id, ticket_id?, conversation_id?, state}; with presence=changes, `presence_changes` events after the first list: {set: [entry], gone: [{agent_id, ticket_id?, conversation_id?}]}")))]
pub async fn stream(
    State(state): State<AppState>,
    AgentAuth(_agent, token_hash, ..): AgentAuth,
    axum::extract::Query(params): axum::extract::Query<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let presence_changes = match params.presence.as_deref() {
        None | Some("list") => false,
        Some("changes") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "presence must be list or changes, not {other:?}"
            )));
        }
    };
    let slot = state.streams.open(&token_hash)?;
    // Subscribe before reading the sequence so no change falls between.
    let rx = state.changes.subscribe();
    let current = state.blocking(|s| s.current_seq()).await?;
    let database_id = state.database_id;
    let mut presence = state.presence.subscribe();
    // The first presence goes out after the first `changed`, empty or not.
    presence.mark_changed();
    let live = Live {
        state,
        token_hash,
        rx,
        last: current,
        first: Some(current),
        check: tokio::time::interval_at(tokio::time::Instant::now() + SESSION_CHECK, SESSION_CHECK),
        presence,
        presence_sent: None,
        presence_due: None,
        presence_opened: false,
        presence_changes,
        presence_last: None,
        _slot: slot,
    };
    // `last` is the newest cursor sent: a sequence announced twice (by this
    // instance and by the database's feed from all instances) goes out once.
    let events = futures_util::stream::unfold(live, move |mut live| async move {
        if let Some(seq) = live.first.take() {
            return Some((Ok(changed(seq, database_id)), live));
        }
        let mut shutdown = live.state.shutdown.clone();
        loop {
            enum Next {
                Stop,
                Check,
                Presence,
                Msg(Result<i64, RecvError>),
            }
            // A presence change within a second of the last event waits for
            // its turn here, beside the changes: none of them waits for it.
            let due = live.presence_due;
            let next = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => Next::Stop,
                _ = live.check.tick() => Next::Check,
                () = sleep_until_some(due), if due.is_some() => Next::Presence,
                Ok(()) = live.presence.changed(), if due.is_none() => Next::Presence,
                msg = live.rx.recv() => Next::Msg(msg),
            };
            let msg = match next {
                Next::Stop => None,
                Next::Presence => {
                    let now = tokio::time::Instant::now();
                    if let Some(turn) = live.presence_sent.map(|sent| sent + PRESENCE_EVERY)
                        && turn > now
                    {
                        // Changes within the second wait; the latest goes.
                        live.presence_due = Some(turn);
                        continue;
                    }
                    live.presence_due = None;
                    let team = live.presence.borrow_and_update().clone();
                    let event = match (live.presence_changes, &live.presence_last) {
                        (true, Some(last)) => {
                            let changes = fyncall_domain::presence::PresenceChanges::between(
                                &last.list, &team.list,
                            );
                            if changes.is_empty() {
                                continue;
                            }
                            Event::default().event("presence_changes").data(
                                serde_json::to_string(&changes).unwrap_or_else(|_| "{}".into()),
                            )
                        }
                        _ => presence_event(&team),
                    };
                    live.presence_last = Some(team);
                    // The opening list does not hold back the first change.
                    live.presence_sent = match live.presence_opened {
                        false => None,
                        true => Some(now),
                    };
                    live.presence_opened = true;
                    return Some((Ok(event), live));
                }
                // An ended session (logout, expiry, password change,
                // deactivation, an admin) closes its streams.
                Next::Check => match Auth::of(&live.state, live.token_hash.clone()).await {
                    Ok(Some(_)) | Err(_) => continue,
                    Ok(None) => None,
                },
                Next::Msg(msg) => Some(msg),
            };
            match msg {
                Some(Ok(seq)) if seq <= live.last => continue,
                Some(Ok(seq)) => {
                    live.last = seq;
                    return Some((Ok(changed(seq, database_id)), live));
                }
                // A slow stream skips ahead: the next event carries the latest cursor.
                Some(Err(RecvError::Lagged(_))) => continue,
                Some(Err(RecvError::Closed)) | None => return None,
            }
        }
    });
    Ok(Sse::new(events).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}
