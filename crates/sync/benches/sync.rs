//! Server and sync figures over loopback, with their sizes:
//! push throughput (1 and 8 clients), pull of the whole team from cursor 0,
//! bootstrap of a client cache, change propagation A→B through the server,
//! and SSE fan-out latency to 100 streams.
//!
//! `cargo bench -p fyncall-sync` (FYNCALL_BENCH_TICKETS, default 100,000).
//! The server runs in this process (its real router, store and SQLite file),
//! so client and server share the machine's cores.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use fyncall_cache::{Cache, OutboxEntry};
use fyncall_domain::mutation::{Comment, CreateTicket};
use fyncall_domain::{Mutation, Priority};
use fyncall_server::{app, demo};
use fyncall_sync::{Client, Engine, SyncEvent};
use fyncall_testkit::stats::percentile;
use serde_json::{Value, json};
use uuid::Uuid;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn entry(mutation: Mutation) -> OutboxEntry {
    OutboxEntry {
        id: Uuid::now_v7(),
        mutation,
        client_at: Utc::now(),
        summary: String::new(),
        acked_seq: None,
    }
}

const CATEGORIES: [&str; 5] = ["billing", "shipping", "product", "technical", "other"];

fn create(i: usize, conversation: Uuid) -> OutboxEntry {
    entry(Mutation::CreateTicket(CreateTicket {
        id: Uuid::now_v7(),
        conversation_id: conversation,
        subject: format!("Bench ticket {i}: parcel stuck in transit"),
        priority: Priority::ALL[i % 4],
        description: Some(format!("Order #{} has not moved for a week.", 50_000 + i)),
        category: Some(CATEGORIES[i % 5].into()),
        assignee_id: None,
    }))
}

async fn push_all(client: &Client, entries: Vec<OutboxEntry>) {
    for batch in entries.chunks(1000) {
        let results = client
            .push(Uuid::now_v7(), batch)
            .await
            .expect("push")
            .results;
        assert!(
            results
                .iter()
                .all(|r| r.outcome == fyncall_domain::wire::Outcome::Applied),
            "refused: {:?}",
            results
                .iter()
                .find(|r| r.outcome != fyncall_domain::wire::Outcome::Applied)
        );
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(tickets) = fyncall_domain::testing::bench_tickets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let team = demo::create(&dir.path().join("team.db"), Utc::now()).expect("demo");
    let integration = team.integration_token.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    // A load test: the per-session request rate is off.
    let unlimited = fyncall_server::Config {
        max_request_rate: 0,
        ..Default::default()
    };
    let server = app::start_with(team.store.clone(), listener, unlimited)
        .await
        .expect("start");
    let url = format!("http://{}", server.addr);
    let http = reqwest::Client::new();
    println!("server: in-process on {url}, SQLite file, demo team + {tickets} tickets");

    // Conversations for the tickets, five tickets each, made by the integration.
    let conversations: Vec<Uuid> = {
        let n = tickets.div_ceil(5);
        let made = Arc::new(Mutex::new(Vec::with_capacity(n)));
        let mut workers = Vec::new();
        for w in 0..8 {
            let (http, url, token, made) =
                (http.clone(), url.clone(), integration.clone(), made.clone());
            workers.push(tokio::spawn(async move {
                for i in (w..n).step_by(8) {
                    let v: Value = http
                        .post(format!("{url}/api/v1/integrations/conversations"))
                        .bearer_auth(&token)
                        .json(&json!({"customer": {"name": format!("Customer {i}"),
                            "email": format!("c{i}@example.com")}, "channel": "chat"}))
                        .send()
                        .await
                        .expect("conversation")
                        .json()
                        .await
                        .expect("json");
                    let id = v["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
                    made.lock().expect("lock").push(id);
                }
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
        made.lock().expect("lock").clone()
    };

    let emails = [
        "alice@demo.fyncall.test",
        "ben@demo.fyncall.test",
        "chloe@demo.fyncall.test",
        "admin@demo.fyncall.test",
    ];
    let mut clients = Vec::new();
    for i in 0..8 {
        let c = Client::new(&url).expect("client");
        let (token, _) = c
            .login(emails[i % 4], demo::DEMO_PASSWORD)
            .await
            .expect("login");
        clients.push(c.with_token(&token));
    }

    // Push throughput, one client.
    let one = tickets / 10;
    let entries: Vec<OutboxEntry> = (0..one).map(|i| create(i, conversations[i / 5])).collect();
    let start = Instant::now();
    push_all(&clients[0], entries).await;
    let took = start.elapsed();
    println!(
        "push, 1 client:    {one} create_ticket mutations in {:.2} s = {:.0} mutations/s (batches of 1,000)",
        took.as_secs_f64(),
        one as f64 / took.as_secs_f64()
    );
    // Push throughput, eight clients at once.
    let rest: Vec<usize> = (one..tickets).collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (k, client) in clients.iter().enumerate() {
        let mine: Vec<OutboxEntry> = rest
            .iter()
            .filter(|i| *i % 8 == k)
            .map(|i| create(*i, conversations[i / 5]))
            .collect();
        let client = client.clone();
        tasks.push(tokio::spawn(async move { push_all(&client, mine).await }));
    }
    for t in tasks {
        t.await.expect("pusher");
    }
    let took = start.elapsed();
    println!(
        "push, 8 clients:   {} create_ticket mutations in {:.2} s = {:.0} mutations/s",
        rest.len(),
        took.as_secs_f64(),
        rest.len() as f64 / took.as_secs_f64()
    );

    // Pull of the whole team from cursor 0, HTTP and JSON only.
    let start = Instant::now();
    let (mut cursor, mut rows, mut pages) = (0, 0usize, 0usize);
    loop {
        let p = clients[1].pull(cursor, 500).await.expect("pull");
        rows += p.page.changes.len();
        pages += 1;
        cursor = p.page.cursor;
        if !p.page.has_more {
            break;
        }
    }
    let took = start.elapsed();
    println!(
        "pull from 0:       {rows} rows in {pages} pages in {:.2} s = {:.0} rows/s",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );

    // Bootstrap of a client cache (pull + store + index) over loopback.
    let cache = Arc::new(Mutex::new(
        Cache::open(&dir.path().join("ben.sqlite")).expect("cache"),
    ));
    let ben = clients[1].clone();
    let ben_id = ben.me().await.expect("me").id;
    cache
        .lock()
        .expect("lock")
        .sign_in(&url, ben_id)
        .expect("sign in");
    let engine = Arc::new(Engine::new(ben, cache.clone()));
    let start = Instant::now();
    let report = engine.sync_once().await.expect("bootstrap");
    let took = start.elapsed();
    println!(
        "bootstrap:         {} rows into a new cache in {:.2} s = {:.0} rows/s (target: 100k tickets ≤ 10 s)",
        report.pulled,
        took.as_secs_f64(),
        report.pulled as f64 / took.as_secs_f64()
    );

    // A→B: A pushes a comment, B's running engine reports it.
    let mut events = engine.subscribe();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let runner = tokio::spawn({
        let engine = engine.clone();
        async move { engine.run(stopped).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let target: Uuid = fyncall_testkit::http::first_ticket(&http, &url, &token_of(&clients[0]))
        .await
        .parse()
        .expect("a ticket id");
    let mut samples = Vec::new();
    for i in 0..50 {
        let comment = Uuid::now_v7();
        let start = Instant::now();
        push_all(
            &clients[0],
            vec![entry(Mutation::Comment(Comment {
                id: comment,
                ticket_id: target,
                body: format!("propagation probe {i}"),
                mention_ids: Vec::new(),
            }))],
        )
        .await;
        loop {
            match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
                Ok(Ok(SyncEvent::Changed(c))) if c.activity.iter().any(|a| a.id == comment) => {
                    break;
                }
                Ok(_) => {}
                Err(_) => panic!("B never saw comment {i}"),
            }
        }
        samples.push(start.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "A→B propagation:   p50 {} p95 {} over {} changes (push, SSE, pull, store in B's cache; target p50 ≤ 100 ms)",
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95)),
        samples.len()
    );
    let _ = stop.send(true);
    let _ = runner.await;

    // SSE fan-out: 100 streams, time from a push to each stream's event.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut streams = Vec::new();
    for _ in 0..100 {
        let mut s = Box::pin(clients[2].stream().await.expect("stream"));
        // The first event says where the team is now.
        let _ = s.next().await;
        let tx = tx.clone();
        streams.push(tokio::spawn(async move {
            while let Some(item) = s.next().await {
                if let Ok(fyncall_sync::Live::Changed(_)) = item {
                    let _ = tx.send(Instant::now());
                }
            }
        }));
    }
    let mut fanout = Vec::new();
    for i in 0..20 {
        let start = Instant::now();
        push_all(
            &clients[0],
            vec![entry(Mutation::Comment(Comment {
                id: Uuid::now_v7(),
                ticket_id: target,
                body: format!("fan-out probe {i}"),
                mention_ids: Vec::new(),
            }))],
        )
        .await;
        for _ in 0..100 {
            let at = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every stream hears it")
                .expect("open");
            fanout.push(at.saturating_duration_since(start));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "SSE fan-out:       100 streams × 20 changes: p50 {} p95 {} max {} from push start to event",
        ms(percentile(&mut fanout, 0.5)),
        ms(percentile(&mut fanout, 0.95)),
        ms(percentile(&mut fanout, 1.0))
    );
    for s in streams {
        s.abort();
    }
    server.shutdown().await.expect("shutdown");
}

fn token_of(client: &Client) -> String {
    client.token().unwrap_or_default().to_owned()
}
