//! The HTTP application: shared state, the router, and the extractors that
//! turn malformed input into API.md errors instead of panics or 5xx.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use fyncall_domain::{Caller, Mutation};
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::auth::LoginLimiter;
use crate::error::{ApiError, ErrorCode};
use crate::store::{Committed, Store, StoreResult};

/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Carries the change sequence after every committed change batch.
    pub changes: broadcast::Sender<i64>,
    pub limiter: Arc<LoginLimiter>,
    /// Turns true when the server is shutting down; live streams end.
    pub shutdown: watch::Receiver<bool>,
    /// The store's identity, sent with every sign-in and sync answer.
    pub database_id: Uuid,
}

impl AppState {
    /// Runs a store call off the async workers.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(_) => Err(ApiError::internal()),
        }
    }

    /// Tells every live stream that the data changed up to `seq`.
    pub fn announce(&self, seq: Option<i64>) {
        if let Some(seq) = seq {
            // No receivers is fine: nobody is listening.
            let _ = self.changes.send(seq);
        }
    }

    /// Applies one mutation through the rules, in one transaction.
    pub async fn mutate(&self, caller: Caller, mutation: Mutation) -> Result<Committed, ApiError> {
        let now = crate::time::now();
        let id = Uuid::now_v7();
        let committed = self
            .blocking(move |s| s.apply(caller, &mutation, id, now))
            .await?;
        self.announce(committed.seq);
        Ok(committed)
    }
}

/// A JSON body; malformed JSON, wrong types and unknown enum values are
/// `bad_request`, a body over 1 MiB is `too_large`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            ErrorCode::TooLarge,
            "the request body is over 1 MiB: send less at once",
        );
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("send the body as JSON with `Content-Type: application/json`")
        }
        other => ApiError::bad_request(format!(
            "the body is not what this endpoint takes: {}",
            other.body_text()
        )),
    }
}

/// A UUID from the path; anything else is `bad_request`.
pub struct Id(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::bad_request("the path needs one id"))?;
        Uuid::parse_str(&raw)
            .map(Id)
            .map_err(|_| ApiError::bad_request(format!("{raw:?} is not an id (a UUID)")))
    }
}

async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // The route template, never the raw URI: queries may hold ticket text.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see /api/v1/openapi.json")
}

pub fn router(state: AppState) -> Router {
    let api = crate::api::routes();
    Router::new()
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(middleware::from_fn(log_requests))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        .with_state(state)
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, ends live streams.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Serves the API on `listener` until told to stop. Also runs the SLA
/// breach sweep every second.
pub async fn start(store: Arc<dyn Store>, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let (changes, _) = broadcast::channel(256);
    let database_id = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.database_id())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?
    };
    let state = AppState {
        database_id,
        store,
        changes,
        limiter: Arc::new(LoginLimiter::default()),
        shutdown: shutdown.clone(),
    };
    state
        .store
        .follow_other_instances(state.changes.clone(), shutdown.clone());
    tokio::spawn(sweep_breaches(state.clone()));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let mut stopped = shutdown.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running { addr, stop, task })
}

/// Appends `sla_breached` entries within a second of each breach, with or
/// without traffic.
async fn sweep_breaches(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let now = crate::time::now();
        match state.blocking(move |s| s.sweep_breaches(now)).await {
            Ok(seq) => state.announce(seq),
            Err(e) => tracing::warn!(error = %e, "sla sweep failed; retrying"),
        }
    }
}
