//! Replies delivered to a local receiver, with their sizes: how many a
//! second the delivery worker gets out (replies pushed all at once), and
//! the reply-to-receiver latency at a steady 200 replies a second (p50,
//! p99, max, how many later than 1 s), on SQLite with one server process
//! and on PostgreSQL with one and with two.
//!
//! `scripts/bench` runs it with a throwaway PostgreSQL cluster; by hand:
//! `FYNCALL_BENCH_POSTGRES=postgres://USER@HOST:PORT/postgres cargo bench -p
//! fyncall-server --bench deliveries`. Sizes: FYNCALL_BENCH_REPLIES
//! (default 5,000) pushed at once; 2,000 at 200 a second. The servers are
//! the real release binary; the receiver (fyncall_testkit::receiver)
//! answers 200 at once; everything shares the machine's cores.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fyncall_server::{Database, demo};
use fyncall_testkit::receiver::Receiver;
use serde_json::{Value, json};
use uuid::Uuid;

mod support;
use support::{BATCH, EMAILS, login, ms, percentile, post, serve};

const CLIENTS: usize = 4;
const PACED: usize = 2000;
const RATE: u64 = 200;

fn reply(conversation: &str, i: usize) -> (Uuid, Value) {
    let id = Uuid::now_v7();
    (
        id,
        json!({
            "id": Uuid::now_v7(),
            "name": "reply",
            "client_at": chrono::Utc::now(),
            "args": {"id": id, "conversation_id": conversation,
                     "body": format!("Bench reply {i}: your parcel left the warehouse today.")},
        }),
    )
}

/// Waits until the receiver holds `count` taken deliveries; when each
/// reply arrived, by message id.
async fn arrivals(receiver: &Receiver, count: usize, limit: Duration) -> HashMap<Uuid, Instant> {
    let start = Instant::now();
    loop {
        let got = receiver.received();
        let taken: HashMap<Uuid, Instant> = got
            .iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| {
                let v: Value = serde_json::from_str(&r.body).ok()?;
                let id = Uuid::parse_str(v["data"]["id"].as_str()?).ok()?;
                Some((id, r.at))
            })
            .collect();
        if taken.len() >= count || start.elapsed() > limit {
            return taken;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Figures {
    rate: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    late: usize,
}

async fn run(
    label: &str,
    database: Database,
    args: Vec<String>,
    instances: usize,
    replies: usize,
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
    let receiver = Receiver::start();
    let admin = login(&http, &apis[0], EMAILS[3]).await;
    post(
        &http,
        format!("{}/webhooks", apis[0]),
        &admin,
        json!({"url": receiver.url, "events": ["message.created"]}),
    )
    .await;
    let mut conversations = Vec::new();
    for i in 0..20 {
        let v = post(
            &http,
            format!("{}/integrations/conversations", apis[0]),
            &integration,
            json!({"customer": {"name": format!("Customer {i}"), "email": format!("c{i}@example.com")},
                   "channel": "chat"}),
        )
        .await;
        conversations.push(v["id"].as_str().expect("id").to_owned());
    }
    let mut tokens = Vec::new();
    for k in 0..CLIENTS {
        tokens.push(login(&http, &apis[k % instances], EMAILS[0]).await);
    }

    // Throughput: every reply pushed at once by four clients; from the
    // first push until the receiver holds the last.
    let all: Vec<(Uuid, Value)> = (0..replies)
        .map(|i| reply(&conversations[i % conversations.len()], i))
        .collect();
    let start = Instant::now();
    let mut pushers = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        let mine: Vec<Value> = all
            .iter()
            .skip(k)
            .step_by(CLIENTS)
            .map(|(_, m)| m.clone())
            .collect();
        let (http, api, token) = (http.clone(), apis[k % instances].clone(), token.clone());
        pushers.push(tokio::spawn(async move {
            for batch in mine.chunks(BATCH) {
                post(
                    &http,
                    format!("{api}/sync/push"),
                    &token,
                    json!({"client_id": Uuid::now_v7(), "mutations": batch}),
                )
                .await;
            }
        }));
    }
    for p in pushers {
        p.await.expect("pusher");
    }
    let pushed = start.elapsed();
    let got = arrivals(&receiver, replies, Duration::from_secs(600)).await;
    let last = got
        .values()
        .max()
        .map_or(pushed, |t| t.duration_since(start));
    let rate = got.len() as f64 / last.as_secs_f64();
    println!(
        "deliveries, all at once:  {} of {replies} replies at the receiver {:.2} s after the first push ({:.2} s to push them) = {rate:.0} replies/s",
        got.len(),
        last.as_secs_f64(),
        pushed.as_secs_f64()
    );

    // Latency: one reply every 5 ms (200 a second), each its own push,
    // from the push sent until the receiver has it.
    let before = receiver.received().len();
    let mut sent: HashMap<Uuid, Instant> = HashMap::new();
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut pending = Vec::new();
    let paced_start = Instant::now();
    for i in 0..PACED {
        ticker.tick().await;
        let (id, m) = reply(&conversations[i % conversations.len()], replies + i);
        sent.insert(id, Instant::now());
        let (http, api, token) = (
            http.clone(),
            apis[i % instances].clone(),
            tokens[i % CLIENTS].clone(),
        );
        pending.push(tokio::spawn(async move {
            post(
                &http,
                format!("{api}/sync/push"),
                &token,
                json!({"client_id": Uuid::now_v7(), "mutations": [m]}),
            )
            .await;
        }));
    }
    let offered = PACED as f64 / paced_start.elapsed().as_secs_f64();
    for p in pending {
        p.await.expect("push");
    }
    let got = arrivals(&receiver, before + PACED, Duration::from_secs(120)).await;
    let mut samples: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, at)| got.get(id).map(|r| r.saturating_duration_since(*at)))
        .collect();
    let missing = PACED - samples.len();
    let late = samples
        .iter()
        .filter(|d| **d > Duration::from_secs(1))
        .count();
    let max = samples.iter().max().copied().unwrap_or_default();
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    println!(
        "deliveries at {offered:.0}/s:   reply to receiver p50 {} p99 {} max {}; {late} of {PACED} later than 1 s, {missing} missing",
        ms(p50),
        ms(p99),
        ms(max)
    );
    drop(servers);
    Figures {
        rate,
        p50,
        p99,
        max,
        late,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let replies: usize = std::env::var("FYNCALL_BENCH_REPLIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("team.db");
    let mut rows = vec![(
        "SQLite, 1 process",
        run(
            "SQLite",
            Database::Sqlite(path.clone()),
            vec!["--db".into(), path.display().to_string()],
            1,
            replies,
        )
        .await,
    )];
    match std::env::var("FYNCALL_BENCH_POSTGRES") {
        Ok(admin) => {
            for instances in [1, 2] {
                let admin = admin.clone();
                let url = tokio::task::spawn_blocking(move || {
                    fyncall_testkit::postgres::new_database(&admin, "deliveries")
                })
                .await
                .expect("joined");
                let figures = run(
                    "PostgreSQL",
                    Database::Postgres(url.clone()),
                    vec!["--database-url".into(), url],
                    instances,
                    replies,
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
        }
        Err(_) => {
            println!("PostgreSQL: not measured (set FYNCALL_BENCH_POSTGRES, or run scripts/bench)")
        }
    }
    println!(
        "-- deliveries summary: {replies} replies at once; {PACED} at {RATE}/s (target: ≥ 1,000 replies/s on SQLite, none later than 1 s at 200/s)"
    );
    for (label, f) in rows {
        println!(
            "deliveries {label:<24} {:>6.0} replies/s   at 200/s: p50 {} p99 {} max {}, {} later than 1 s",
            f.rate,
            ms(f.p50),
            ms(f.p99),
            ms(f.max),
            f.late
        );
    }
}
