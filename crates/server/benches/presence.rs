//! How fast a change reaches a team's live streams, without and with
//! presence: 40 agents (or more) each with a live stream on one release server, 50
//! comment pushes a second for 10 s; then the same with every agent's
//! presence heartbeat every 10 s (4 a second in all), as the app sends them.
//! Latency is from the push sent to the `changed` event read on each of the
//! 40 streams; p50 / p99 / max of every (push, stream) pair.
//!
//! `cargo bench -p fyncall-server --bench presence` (part of `scripts/bench`);
//! FYNCALL_BENCH_AGENTS (default 40) and FYNCALL_BENCH_SECONDS (default 10)
//! set the team and each phase's length. The server's resident memory is
//! printed before and after each phase.
//! The server is the real release binary in its own process, on loopback;
//! the clients share the machine's cores with it.

use std::time::{Duration, Instant};

use fyncall_server::demo;
use serde_json::json;
use uuid::Uuid;

mod support;
use support::{EMAILS, listen, login, ms, percentile, post, push, serve};

const PUSHES_PER_SECOND: u64 = 50;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

/// The resident memory of process `pid`, in MiB.
fn rss_mib(pid: Option<u32>) -> f64 {
    pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

struct Phase {
    samples: Vec<Duration>,
    pushes: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let agents = setting("FYNCALL_BENCH_AGENTS", 40) as usize;
    let seconds = setting("FYNCALL_BENCH_SECONDS", 10);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("team.db");
    let team = demo::create(&path, chrono::Utc::now()).expect("demo team");
    team.store.close().expect("close");
    let server = serve(&["--db".into(), path.display().to_string()]);
    let api = server.api();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http");
    // One agent per stream, as a team has them (an agent's sessions are
    // capped): the demo's, then agents the admin adds.
    let admin = login(&http, &api, "admin@demo.fyncall.test").await;
    let mut tokens = Vec::new();
    for i in 0..agents {
        let email = match EMAILS.get(i) {
            Some(e) => (*e).to_owned(),
            None => {
                let email = format!("bench{i}@demo.fyncall.test");
                post(
                    &http,
                    format!("{api}/agents"),
                    &admin,
                    json!({"name": format!("Bench Agent {i}"), "email": email, "role": "agent",
                        "password": fyncall_testkit::DEMO_PASSWORD}),
                )
                .await;
                email
            }
        };
        tokens.push(login(&http, &api, &email).await);
    }
    let ticket = fyncall_testkit::http::first_ticket(&http, &server.url, &tokens[0]).await;
    // Streams last as long as the bench: a client without the requests'
    // 60 s limit (a longer run's streams would end half-way).
    let streaming = reqwest::Client::new();
    let mut streams = Vec::new();
    for token in &tokens {
        streams.push(listen(&streaming, &api, token).await);
    }
    println!(
        "presence: {agents} agents each with a live stream, {PUSHES_PER_SECOND} comment pushes a second for {seconds} s, heartbeats every {} s per agent",
        HEARTBEAT_EVERY.as_secs()
    );
    let mut figures = Vec::new();
    for heartbeats in [false, true] {
        let rss_before = rss_mib(server.pid());
        let phase = run(
            &http,
            &api,
            &tokens,
            &ticket,
            &mut streams,
            heartbeats,
            seconds,
        )
        .await;
        let rss_after = rss_mib(server.pid());
        let mut samples = phase.samples;
        let label = if heartbeats {
            "with presence   "
        } else {
            "without presence"
        };
        let (p50, p99) = (
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99),
        );
        println!(
            "-- change to the other streams {label}: p50 {} p99 {} max {} ({} pushes x {agents} streams = {} arrivals); server RSS {rss_before:.0} → {rss_after:.0} MiB",
            ms(p50),
            ms(p99),
            ms(*samples.last().expect("samples")),
            phase.pushes,
            samples.len()
        );
        figures.push(p99);
    }
    println!(
        "-- presence's cost to a change: p99 {:.2}x the figure without it (target: at most 2x)",
        figures[1].as_secs_f64() / figures[0].as_secs_f64()
    );
}

async fn run(
    http: &reqwest::Client,
    api: &str,
    tokens: &[String],
    ticket: &str,
    streams: &mut [tokio::sync::mpsc::UnboundedReceiver<(i64, Instant)>],
    heartbeats: bool,
    seconds: u64,
) -> Phase {
    // What the streams said before this phase is not part of it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in streams.iter_mut() {
        while s.try_recv().is_ok() {}
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut beaters = Vec::new();
    if heartbeats {
        for (i, token) in tokens.iter().enumerate() {
            let (http, api, token, ticket) = (
                http.clone(),
                api.to_owned(),
                token.clone(),
                ticket.to_owned(),
            );
            let mut stop = stop.clone();
            // Spread over the period, as agents' windows are.
            let offset = HEARTBEAT_EVERY * i as u32 / tokens.len() as u32;
            beaters.push(tokio::spawn(async move {
                let mut every =
                    tokio::time::interval_at(tokio::time::Instant::now() + offset, HEARTBEAT_EVERY);
                let mut beats = 0usize;
                loop {
                    tokio::select! {
                        _ = stop.changed() => return beats,
                        _ = every.tick() => {}
                    }
                    let state = if beats % 2 == 0 { "viewing" } else { "typing" };
                    let res = http
                        .post(format!("{api}/presence"))
                        .bearer_auth(&token)
                        .json(&json!({"ticket_id": ticket, "state": state}))
                        .send()
                        .await
                        .expect("heartbeat");
                    assert_eq!(res.status(), 204, "heartbeat");
                    beats += 1;
                }
            }));
        }
    }
    let mut pushes = Vec::new();
    let mut every = tokio::time::interval(Duration::from_millis(1000 / PUSHES_PER_SECOND));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for i in 0..PUSHES_PER_SECOND * seconds {
        every.tick().await;
        let (http, api, token, ticket) = (
            http.clone(),
            api.to_owned(),
            tokens[0].clone(),
            ticket.to_owned(),
        );
        pushes.push(tokio::spawn(async move {
            let sent = Instant::now();
            let seq = push(
                &http,
                &api,
                &token,
                vec![json!({"id": Uuid::now_v7(), "name": "comment", "client_at": chrono::Utc::now(),
                    "args": {"ticket_id": ticket, "id": Uuid::now_v7(), "body": format!("presence bench {i}")}})],
            )
            .await;
            (seq, sent)
        }));
    }
    let mut sent = Vec::new();
    for p in pushes {
        sent.push(p.await.expect("pusher"));
    }
    let _ = stop_tx.send(true);
    for b in beaters {
        b.await.expect("heartbeats");
    }
    // The last announcements.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut samples = Vec::new();
    // Every stream but the pusher's own (whose agent made the change).
    for stream in streams.iter_mut().skip(1) {
        let mut events = Vec::new();
        while let Ok(e) = stream.try_recv() {
            events.push(e);
        }
        for &(seq, at) in &sent {
            let first = events.partition_point(|&(cursor, _)| cursor < seq);
            let (_, arrived) = *events
                .get(first)
                .unwrap_or_else(|| panic!("a stream never announced change {seq}"));
            samples.push(arrived.saturating_duration_since(at));
        }
    }
    Phase {
        samples,
        pushes: sent.len(),
    }
}
