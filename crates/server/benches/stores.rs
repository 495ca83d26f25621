//! The two stores side by side, with their sizes: push throughput and pull
//! of a whole team from cursor 0 on SQLite and on PostgreSQL, with one and
//! with two `fyncall-server` processes on one database, and how fast a
//! change pushed through one process reaches a live stream on the other.
//!
//! `scripts/bench` runs it with a throwaway PostgreSQL cluster; by hand:
//! `FYNCALL_BENCH_POSTGRES=postgres://USER@HOST:PORT/postgres cargo bench -p
//! fyncall-server --bench stores` (the user must be allowed to create
//! databases). Size: FYNCALL_BENCH_TICKETS (default 100,000). Without
//! FYNCALL_BENCH_POSTGRES only SQLite is measured.
//!
//! The servers are the real release binary, each its own process, serving
//! over loopback; clients and servers share the machine's cores.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fyncall_server::{Database, demo};
use serde_json::{Value, json};
use uuid::Uuid;

mod support;
use support::{BATCH, EMAILS, listen, login, ms, percentile, post, push, serve};

const CATEGORIES: [&str; 5] = ["billing", "shipping", "product", "technical", "other"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const CLIENTS: usize = 8;

fn create_ticket(i: usize, conversation: &str) -> Value {
    json!({
        "id": Uuid::now_v7(),
        "name": "create_ticket",
        "client_at": chrono::Utc::now(),
        "args": {
            "id": Uuid::now_v7(),
            "conversation_id": conversation,
            "subject": format!("Bench ticket {i}: parcel stuck in transit"),
            "priority": PRIORITIES[i % 4],
            "description": format!("Order #{} has not moved for a week.", 50_000 + i),
            "category": CATEGORIES[i % 5],
        },
    })
}

/// Pulls everything from cursor 0: rows and pages.
async fn pull_all(http: &reqwest::Client, api: &str, token: &str) -> (usize, usize) {
    let (mut cursor, mut rows, mut pages) = (0i64, 0usize, 0usize);
    loop {
        let v: Value = http
            .get(format!("{api}/sync/pull?cursor={cursor}&limit=500"))
            .bearer_auth(token)
            .send()
            .await
            .expect("pull")
            .json()
            .await
            .expect("json");
        rows += v["changes"].as_array().expect("changes").len();
        pages += 1;
        cursor = v["cursor"].as_i64().expect("cursor");
        if v["has_more"] != true {
            return (rows, pages);
        }
    }
}

struct Figures {
    push: f64,
    pull: f64,
}

async fn run(
    label: &str,
    database: Database,
    args: Vec<String>,
    instances: usize,
    tickets: usize,
) -> Figures {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http");
    let integration = {
        let database = database.clone();
        tokio::task::spawn_blocking(move || {
            let team = demo::create_in(&database, chrono::Utc::now()).expect("demo team");
            team.store.close().expect("close");
            team.integration_token
        })
        .await
        .expect("joined")
    };
    let servers: Vec<fyncall_testkit::server::Served> =
        (0..instances).map(|_| serve(&args)).collect();
    let apis: Vec<String> = servers.iter().map(|s| s.api()).collect();
    println!(
        "-- {label}: {instances} server process{} on {}",
        if instances == 1 { "" } else { "es" },
        database.describe()
    );

    // Conversations, five tickets each, made by the integration through every instance.
    let conversations: Vec<String> = {
        let n = tickets.div_ceil(5);
        let made = Arc::new(Mutex::new(vec![String::new(); n]));
        let mut workers = Vec::new();
        for w in 0..CLIENTS {
            let (http, api, token, made) = (
                http.clone(),
                apis[w % instances].clone(),
                integration.clone(),
                made.clone(),
            );
            workers.push(tokio::spawn(async move {
                for i in (w..n).step_by(CLIENTS) {
                    let v = post(
                        &http,
                        format!("{api}/integrations/conversations"),
                        &token,
                        json!({"customer": {"name": format!("Customer {i}"),
                            "email": format!("c{i}@example.com")}, "channel": "chat"}),
                    )
                    .await;
                    made.lock().expect("lock")[i] = v["id"].as_str().expect("id").to_owned();
                }
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
        made.lock().expect("lock").clone()
    };

    // Eight clients, spread over the instances, push every ticket at once.
    let mut tokens = Vec::new();
    for i in 0..CLIENTS {
        tokens.push(login(&http, &apis[i % instances], EMAILS[i % 4]).await);
    }
    let start = Instant::now();
    let mut pushers = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let mine: Vec<Value> = (k..tickets)
            .step_by(CLIENTS)
            .map(|i| create_ticket(i, &conversations[i / 5]))
            .collect();
        let (http, api, token) = (http.clone(), apis[k % instances].clone(), token.clone());
        pushers.push(tokio::spawn(async move {
            push(&http, &api, &token, mine).await
        }));
    }
    for p in pushers {
        p.await.expect("pusher");
    }
    let took = start.elapsed();
    let push_rate = tickets as f64 / took.as_secs_f64();
    println!(
        "push, {CLIENTS} clients:        {tickets} create_ticket mutations in {:.1} s = {push_rate:.0} mutations/s (batches of {BATCH})",
        took.as_secs_f64()
    );

    // Two clients pull the whole team from cursor 0 at once, one per instance.
    let start = Instant::now();
    let pullers: Vec<_> = (0..2)
        .map(|k| {
            let (http, api, token) = (http.clone(), apis[k % instances].clone(), tokens[k].clone());
            tokio::spawn(async move { pull_all(&http, &api, &token).await })
        })
        .collect();
    let mut rows = 0;
    let mut pages = 0;
    for p in pullers {
        let (r, g) = p.await.expect("puller");
        rows += r;
        pages += g;
    }
    let took = start.elapsed();
    let pull_rate = rows as f64 / took.as_secs_f64();
    println!(
        "pull from 0, 2 clients:  {rows} rows in {pages} pages in {:.1} s = {pull_rate:.0} rows/s",
        took.as_secs_f64()
    );

    // A change pushed through the first instance, seen on the last one's stream.
    let target =
        fyncall_testkit::http::first_ticket(&http, apis[0].trim_end_matches("/api/v1"), &tokens[0])
            .await;
    let watcher = instances - 1;
    let mut events = listen(&http, &apis[watcher], &tokens[watcher]).await;
    // The first event says where the team is now.
    let _ = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    let mut samples = Vec::new();
    for i in 0..100 {
        let start = Instant::now();
        let seq = push(
            &http,
            &apis[0],
            &tokens[0],
            vec![json!({"id": Uuid::now_v7(), "name": "comment", "client_at": chrono::Utc::now(),
                "args": {"ticket_id": target, "id": Uuid::now_v7(), "body": format!("latency probe {i}")}})],
        )
        .await;
        loop {
            let (cursor, at) = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .unwrap_or_else(|_| panic!("the stream never announced change {seq}"))
                .expect("stream open");
            if cursor >= seq {
                samples.push(at.saturating_duration_since(start));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "stream on instance {}:    change pushed through instance 1 announced after p50 {} p95 {} ({} changes, from push sent)",
        watcher + 1,
        ms(percentile(&mut samples, 0.5)),
        ms(percentile(&mut samples, 0.95)),
        samples.len()
    );
    // An offline queue on one ticket: the same row changed by every mutation of a push.
    let queue: Vec<Value> = (0..2 * BATCH)
        .map(|i| json!({"id": Uuid::now_v7(), "name": "comment", "client_at": chrono::Utc::now(),
            "args": {"ticket_id": target, "id": Uuid::now_v7(), "body": format!("queued note {i}")}}))
        .collect();
    let start = Instant::now();
    push(&http, &apis[0], &tokens[0], queue).await;
    let took = start.elapsed();
    let one_ticket = (2 * BATCH) as f64 / took.as_secs_f64();
    println!(
        "one ticket's queue:      {} comments on one ticket in {:.2} s = {one_ticket:.0} mutations/s (1 client, batches of {BATCH})",
        2 * BATCH,
        took.as_secs_f64()
    );
    drop(servers);
    Figures {
        push: push_rate,
        pull: pull_rate,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(tickets) = fyncall_domain::testing::bench_tickets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("team.db");
    let sqlite = run(
        "SQLite",
        Database::Sqlite(path.clone()),
        vec!["--db".into(), path.display().to_string()],
        1,
        tickets,
    )
    .await;
    let Ok(admin) = std::env::var("FYNCALL_BENCH_POSTGRES") else {
        println!("PostgreSQL: not measured (set FYNCALL_BENCH_POSTGRES, or run scripts/bench)");
        return;
    };
    let mut rows = vec![("SQLite, 1 process", sqlite)];
    for instances in [1, 2] {
        let admin = admin.clone();
        let url = tokio::task::spawn_blocking(move || {
            fyncall_testkit::postgres::new_database(&admin, "bench")
        })
        .await
        .expect("joined");
        let figures = run(
            "PostgreSQL",
            Database::Postgres(url.clone()),
            vec!["--database-url".into(), url],
            instances,
            tickets,
        )
        .await;
        rows.push((
            if instances == 1 {
                "PostgreSQL, 1 process"
            } else {
                "PostgreSQL, 2 processes"
            },
            figures,
        ));
    }
    println!("-- summary, {tickets} tickets");
    for (label, f) in rows {
        println!(
            "{label:<24} push {:>6.0} mutations/s   pull {:>6.0} rows/s",
            f.push, f.pull
        );
    }
}
