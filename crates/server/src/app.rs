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
use crate::limits::{Config, SessionKey, Streams};
use crate::store::{Committed, Store, StoreResult};

/// Largest request body.
pub const MAX_BODY: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Carries the change sequence after every committed change batch.
    pub changes: broadcast::Sender<i64>,
    pub limiter: Arc<LoginLimiter>,
    /// At most one argon2 computation per CPU at a time.
    pub hashing: Arc<tokio::sync::Semaphore>,
    pub streams: Arc<Streams>,
    pub config: Arc<Config>,
    /// Turns true when the server is shutting down; live streams end.
    pub shutdown: watch::Receiver<bool>,
    /// The store's identity, sent with every sign-in and sync answer.
    pub database_id: Uuid,
    /// Who has which ticket or conversation open (memory only).
    pub presence: Arc<crate::presence::Presence>,
    /// Snapshots streaming at once (each holds one read of the store).
    pub snapshots: Arc<tokio::sync::Semaphore>,
    /// Tokens seen to be live sessions': their requests are rated per session.
    pub known_tokens: Arc<crate::limits::KnownTokens>,
    /// Reports being built at once (each reads every ticket of its period).
    pub reports: Arc<tokio::sync::Semaphore>,
    /// Agents whose first download (snapshot) is being sent: one each.
    pub snapshots_of: Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>,
    /// Wakes the delivery worker (`crate::deliver`) after every committed change.
    pub outbox: Arc<tokio::sync::Notify>,
    /// Seals mailbox passwords; `None` when the server has no mail key.
    pub sealer: Option<Arc<crate::mail::Sealer>>,
    /// Wakes the mailbox readers' keeper after a mailbox changed.
    pub mailboxes_changed: Arc<tokio::sync::Notify>,
    /// The certificates mail servers' TLS may chain to.
    pub mail_trust: Arc<crate::mail::Trust>,
}

/// Most snapshots streaming at once.
pub const SNAPSHOTS: usize = 2;

/// Most reports built at once; another answers 429 meanwhile.
pub const REPORTS: usize = 2;

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
            // A change may have queued deliveries.
            self.outbox.notify_one();
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

/// A request that failed in the tower layers (timeout, overload) as an API error.
async fn layer_error(error: tower::BoxError) -> ApiError {
    if error.is::<tower::timeout::error::Elapsed>() {
        ApiError::new(
            ErrorCode::Unavailable,
            "the server took too long to answer; if it was a change, it may still apply: sync, then try again",
        )
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        let mut e = ApiError::new(
            ErrorCode::Unavailable,
            "the server is serving as many requests as it can: try again in a moment",
        );
        e.retry_after = Some(1);
        e
    } else {
        tracing::error!(%error, "request failed in a layer");
        ApiError::internal()
    }
}

pub fn router(state: AppState) -> Router {
    use axum::error_handling::HandleErrorLayer;
    use tower::ServiceBuilder;
    let config = state.config.clone();
    // Every route but the live stream answers within the request timeout.
    let timed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(layer_error))
        .timeout(config.request_timeout);
    let api = crate::api::routes()
        .layer(timed)
        .merge(crate::api::stream_routes());
    let mut app = Router::new()
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(middleware::from_fn(log_requests))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    if config.max_request_rate > 0 {
        let period = Duration::from_nanos(1_000_000_000 / u64::from(config.max_request_rate));
        let governor = tower_governor::governor::GovernorConfigBuilder::default()
            .key_extractor(SessionKey {
                trusted: Arc::new(config.trusted_proxies.clone()),
                known: state.known_tokens.clone(),
            })
            .period(period)
            .burst_size(config.request_burst.max(1))
            .finish();
        if let Some(governor) = governor {
            let governor = Arc::new(governor);
            let limiter = governor.limiter().clone();
            let mut stop = state.shutdown.clone();
            // Forget idle keys each minute, so the rate table stays small.
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(60)) => limiter.retain_recent(),
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            });
            app = app.layer(
                tower_governor::GovernorLayer::new(governor)
                    .error_handler(crate::limits::rate_refused),
            );
        }
    }
    app.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(layer_error))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                config.max_concurrent_requests.max(1),
            )),
    )
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
        ApiError::internal().into_response()
    }))
    .with_state(state)
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    /// The server's presence (tests sweep it with a clock of their own).
    pub presence: Arc<crate::presence::Presence>,
    /// The reports being built ([`REPORTS`] permits; tests hold them).
    pub reports: Arc<tokio::sync::Semaphore>,
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

/// Ends presence past its time and lets typing fade, every second.
async fn sweep_presence(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = shutdown.wait_for(|s| *s) => return,
            _ = tick.tick() => state.presence.sweep(tokio::time::Instant::now()),
        }
    }
}

/// Serves the API on `listener` with the default limits until told to stop.
pub async fn start(store: Arc<dyn Store>, listener: TcpListener) -> std::io::Result<Running> {
    start_with(store, listener, Config::default()).await
}

/// The TLS settings of `serve --tls-cert/--tls-key`: TLS 1.2 and 1.3 with
/// rustls's safe defaults, HTTP/1.1.
async fn tls_config(
    files: &crate::limits::TlsFiles,
) -> std::io::Result<axum_server::tls_rustls::RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let named = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::other(format!(
            "cannot read the TLS {what} {}: {e}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| named("certificate", &files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named("certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(named(
            "certificate",
            &files.cert,
            &"no CERTIFICATE block in it",
        ));
    }
    if is_ca(&certs[0]) {
        return Err(std::io::Error::other(format!(
            "the TLS certificate {} is a certificate authority's (basicConstraints CA:TRUE, as \
             `openssl req -x509` makes by default), which every client refuses as a server's own \
             (\"CaUsedAsEndEntity\"): make a CA, then a server certificate it signs for this \
             host's name, and give that one here (docs/operations.md, \"TLS\", shows the three \
             openssl commands)",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| named("key", &files.key, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            std::io::Error::other(format!("the TLS certificate and key do not fit: {e}"))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

/// Whether a certificate says it is a certificate authority's
/// (basicConstraints CA:TRUE): clients refuse such a one as a server's.
fn is_ca(der: &[u8]) -> bool {
    use x509_cert::der::Decode;
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::ext::pkix::BasicConstraints;
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return false;
    };
    cert.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|ext| ext.extn_id == BasicConstraints::OID)
        .any(|ext| BasicConstraints::from_der(ext.extn_value.as_bytes()).is_ok_and(|b| b.ca))
}

/// Serves the API on `listener` until told to stop, with these limits (and
/// TLS when `config.tls` names the files). Also runs the SLA breach sweep
/// every second and prunes old sessions and idempotency records hourly.
pub async fn start_with(
    store: Arc<dyn Store>,
    listener: TcpListener,
    config: Config,
) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let tls = match &config.tls {
        Some(files) => Some(tls_config(files).await?),
        None => None,
    };
    let (stop, shutdown) = watch::channel(false);
    let (changes, _) = broadcast::channel(256);
    let database_id = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.database_id())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?
    };
    let sealer = match &config.mail_key {
        Some(path) => Some(Arc::new(
            crate::mail::Sealer::load_or_create(path).map_err(std::io::Error::other)?,
        )),
        None => None,
    };
    let mail_trust = Arc::new(match &config.mail_ca {
        Some(path) => crate::mail::Trust::with_file(path).map_err(std::io::Error::other)?,
        None => crate::mail::Trust::default(),
    });
    let state = AppState {
        mail_trust,
        sealer,
        mailboxes_changed: Arc::default(),
        database_id,
        store,
        changes,
        limiter: Arc::new(LoginLimiter::default()),
        hashing: Arc::new(tokio::sync::Semaphore::new(crate::auth::hashing_permits())),
        streams: Streams::new(config.streams_per_session, config.max_streams),
        config: Arc::new(config),
        shutdown: shutdown.clone(),
        presence: Arc::new(crate::presence::Presence::new()),
        snapshots: Arc::new(tokio::sync::Semaphore::new(SNAPSHOTS)),
        known_tokens: Arc::default(),
        reports: Arc::new(tokio::sync::Semaphore::new(REPORTS)),
        snapshots_of: Arc::default(),
        outbox: Arc::default(),
    };
    state.store.follow_other_instances(
        state.changes.clone(),
        state.presence.clone(),
        shutdown.clone(),
    );
    if matches!(state.store.dialect(), crate::query::Dialect::Sqlite) {
        // The only process on this store: claims left by one that died are free.
        let store = state.store.clone();
        tokio::task::spawn_blocking(move || store.release_claims())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    if state.config.deliver {
        tokio::spawn(crate::deliver::run(state.clone(), state.outbox.clone()));
        tokio::spawn(crate::mail::keep_readers(state.clone()));
    }
    tokio::spawn(sweep_breaches(state.clone()));
    tokio::spawn(sweep_presence(state.clone()));
    tokio::spawn(prune(state.clone()));
    let idle = state.config.idle_timeout;
    let presence = state.presence.clone();
    let reports = state.reports.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let mut stopped = shutdown.clone();
    let on_stop = handle.clone();
    tokio::spawn(async move {
        let _ = stopped.wait_for(|s| *s).await;
        // Live streams end on the same signal; requests in flight get this long.
        on_stop.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    let listener = listener.into_std()?;
    let task = tokio::spawn(async move {
        match tls {
            Some(tls) => {
                let mut server = axum_server::from_tcp_rustls(listener, tls)?
                    .handle(handle)
                    .http1_only();
                limit_connections(server.http_builder(), idle);
                server.serve(app).await
            }
            None => {
                let mut server = axum_server::from_tcp(listener)?.handle(handle).http1_only();
                limit_connections(server.http_builder(), idle);
                server.serve(app).await
            }
        }
    });
    Ok(Running {
        addr,
        presence,
        reports,
        stop,
        task,
    })
}

/// A connection that sends no request (or a request's head too slowly) for
/// `idle` is closed. HTTP/1.1 only: it needs no protocol sniffing before
/// the timer starts, and live streams are plain long responses.
fn limit_connections(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    idle: Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(idle)
        .keep_alive(true);
}

/// Deletes ended sessions and old idempotency records, at start and hourly.
///
/// A mutation id is remembered `remember_mutations` (400 days by default):
/// a client sends a change again only while it has not heard the answer,
/// and it tries at every sync, so an id matters only as long as a device
/// can stay offline holding an unanswered push. Revoked sessions are kept
/// `session_idle` (for the record), expired ones go as they expire.
async fn prune(state: AppState) {
    let mut shutdown = state.shutdown.clone();
    loop {
        let now = crate::time::now();
        let tokens_before = now - state.config.session_idle;
        let mutations_before = now - state.config.remember_mutations;
        match state
            .blocking(move |s| s.prune(tokens_before, mutations_before))
            .await
        {
            Ok((0, 0)) => {}
            Ok((tokens, mutations)) => {
                tracing::info!(tokens, mutations, "pruned old sessions and mutation ids")
            }
            Err(e) => tracing::warn!(error = %e, "pruning failed; trying again in an hour"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
    }
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
