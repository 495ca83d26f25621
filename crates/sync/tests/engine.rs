//! The sync engine against the real server (in-process, on 127.0.0.1, on a
//! real SQLite file) with a real cache file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fyncall_cache::Cache;
use fyncall_server::app::{Running, start};
use fyncall_server::demo;
use fyncall_sync::{Client, Connection, Engine, SyncEvent, SyncStatus};
use tokio::net::TcpListener;
use tokio::sync::watch;

const ALICE: &str = "alice@demo.fyncall.test";

async fn serve_demo(dir: &std::path::Path, addr: &str) -> Running {
    let db = dir.join("team.db");
    let store: Arc<dyn fyncall_server::Store> = if db.exists() {
        Arc::new(fyncall_server::sqlite::SqliteStore::open(&db).expect("open"))
    } else {
        demo::create(&db, chrono::Utc::now()).expect("demo").store
    };
    let listener = TcpListener::bind(addr).await.expect("bind");
    start(store, listener).await.expect("start")
}

fn cache(dir: &std::path::Path) -> Arc<Mutex<Cache>> {
    Arc::new(Mutex::new(
        Cache::open(&dir.join("cache.sqlite")).expect("cache"),
    ))
}

async fn until(
    status: &mut watch::Receiver<SyncStatus>,
    what: Connection,
    within: Duration,
) -> SyncStatus {
    tokio::time::timeout(within, async {
        loop {
            let now = status.borrow_and_update().clone();
            // The engine starts "offline" with no reason: not yet tried.
            if now.connection == what && (what == Connection::Online || now.error.is_some()) {
                return now;
            }
            status.changed().await.expect("engine alive");
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what:?} within {within:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pauses_on_401_and_resumes_after_signing_in_again() {
    let dir = tempfile::tempdir().expect("dir");
    let server = serve_demo(dir.path(), "127.0.0.1:0").await;
    let url = format!("http://{}", server.addr);
    let good = Client::new(&url).expect("client");
    let (token, agent) = good.login(ALICE, demo::DEMO_PASSWORD).await.expect("login");
    let wrong = good.login(ALICE, "wrong password").await;
    assert!(matches!(
        wrong,
        Err(fyncall_sync::SyncError::Unauthorized(_))
    ));

    let cache = cache(dir.path());
    cache
        .lock()
        .expect("lock")
        .sign_in(&url, agent.id)
        .expect("sign in");
    let engine = Arc::new(Engine::new(
        Client::new(&url).expect("client").with_token("fyn_revoked"),
        cache.clone(),
    ));
    let mut status = engine.status();
    let (stop, stopped) = watch::channel(false);
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(stopped).await }
    });
    let paused = until(&mut status, Connection::SignedOut, Duration::from_secs(5)).await;
    assert!(paused.error.is_some());
    // Paused: no retries while signed out.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(status.borrow().connection, Connection::SignedOut);
    engine.set_client(Client::new(&url).expect("client").with_token(&token));
    until(&mut status, Connection::Online, Duration::from_secs(5)).await;
    let info = cache.lock().expect("lock").info().expect("info");
    assert!(info.cursor > 0, "pulled after resuming");
    assert!(info.clock_offset_ms.abs() < 1000, "same machine: {info:?}");
    let _ = stop.send(true);
    runner.await.expect("runner");
    server.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backs_off_while_the_server_is_down_and_recovers_by_itself() {
    let dir = tempfile::tempdir().expect("dir");
    let server = serve_demo(dir.path(), "127.0.0.1:0").await;
    let addr = server.addr;
    let url = format!("http://{addr}");
    let (token, agent) = Client::new(&url)
        .expect("client")
        .login(ALICE, demo::DEMO_PASSWORD)
        .await
        .expect("login");
    server.shutdown().await.expect("shutdown");

    let cache = cache(dir.path());
    cache
        .lock()
        .expect("lock")
        .sign_in(&url, agent.id)
        .expect("sign in");
    let engine = Arc::new(Engine::new(
        Client::new(&url).expect("client").with_token(&token),
        cache.clone(),
    ));
    let mut events = engine.subscribe();
    let mut status = engine.status();
    let (stop, stopped) = watch::channel(false);
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(stopped).await }
    });
    let offline = until(&mut status, Connection::Offline, Duration::from_secs(5)).await;
    assert!(offline.error.expect("reason").contains("cannot reach"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = serve_demo(dir.path(), &addr.to_string()).await;
    until(&mut status, Connection::Online, Duration::from_secs(40)).await;
    // The first pull brought the tickets, announced as a change.
    let got_tickets = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(SyncEvent::Changed(c)) = events.recv().await {
                // The first download comes as bulk pages.
                if c.bulk || !c.tickets.is_empty() {
                    return c.tickets.len().max(1);
                }
            }
        }
    })
    .await
    .expect("a change event");
    assert!(got_tickets > 0);

    // A change made by someone else arrives through the live stream.
    let ben = Client::new(&url).expect("client");
    let (ben_token, _) = ben
        .login("ben@demo.fyncall.test", demo::DEMO_PASSWORD)
        .await
        .expect("ben");
    let ticket = cache
        .lock()
        .expect("lock")
        .tickets(
            &fyncall_cache::Query::view(fyncall_domain::View::All),
            chrono::Utc::now(),
        )
        .expect("tickets")
        .tickets[0]
        .ticket
        .id;
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{url}/api/v1/tickets/{ticket}/comments"))
        .bearer_auth(&ben_token)
        .json(&serde_json::json!({"body": "seen live"}))
        .send()
        .await
        .expect("comment");
    assert!(answer.status().is_success());
    let arrived = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Ok(SyncEvent::Changed(c)) = events.recv().await {
                if c.activity.iter().any(|a| a.ticket_id == ticket) {
                    return;
                }
            }
        }
    })
    .await;
    assert!(arrived.is_ok(), "the stream brought the comment");
    let _ = stop.send(true);
    runner.await.expect("runner");
    server.shutdown().await.expect("shutdown");
}
