//! A team's history on one server and the desktop's working set of it:
//! N tickets over two years (FYNCALL_BENCH_HISTORY, default 1,000,000),
//! nine in ten closed, two comments each, seeded through the one write
//! path (`fyncall-server demo --tickets N --history-days 730` does the same).
//!
//! Figures, each with its size:
//! - the first download of the working set, end to end into an empty cache
//!   as `fyncall login` does it (the log's copy into the file after it
//!   reported apart), and the desktop's files;
//! - opening a ticket closed two years ago by number, online (the archive
//!   read and kept in the cache);
//! - a one-word search of the archive from the server, p50 / p95;
//! - the SLA report from the server for one month and for two years.
//!
//! `cargo bench -p fyncall-sync --bench archive`. The server runs in this
//! process on its SQLite file; the client talks to it over loopback.
//! FYNCALL_BENCH_HISTORY_DB=PATH keeps the seeded team there and reuses it
//! when it exists (seeding a million tickets takes minutes).
//! FYNCALL_BENCH_HISTORY_DB=PATH keeps the seeded team there and reuses it
//! when it exists (seeding a million tickets takes minutes).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use fyncall_cache::Cache;
use fyncall_domain::{GroupBy, ReportQuery};
use fyncall_server::{app, demo};
use fyncall_sync::{Client, Engine, TicketRef};

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The bytes of a SQLite file with its log.
fn files(path: &std::path::Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|end| {
            let mut p = path.as_os_str().to_owned();
            p.push(end);
            std::fs::metadata(p).ok().map(|m| m.len())
        })
        .sum()
}

/// min / median / p95 / max of `times`, in ms.
fn spread(times: &[std::time::Duration]) -> String {
    let mut xs: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    fyncall_testkit::stats::spread_ms(&mut xs, 0)
}

fn ms(secs: f64) -> String {
    format!("{:.0} ms", secs * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tickets: usize = std::env::var("FYNCALL_BENCH_HISTORY")
        .ok()
        .and_then(|n| n.replace(['_', ','], "").parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("dir");
    let kept = std::env::var_os("FYNCALL_BENCH_HISTORY_DB").map(std::path::PathBuf::from);
    let db = kept.unwrap_or_else(|| dir.path().join("team.db"));
    let now = Utc::now();
    let store = if db.exists() {
        let store = fyncall_server::Database::Sqlite(db.clone())
            .open()
            .expect("the kept team");
        println!(
            "history: the team kept at {} ({:.0} MiB), seeded earlier",
            db.display(),
            mib(files(&db))
        );
        store
    } else {
        let team = demo::create(&db, now).expect("demo");
        let seeding = Instant::now();
        let made = demo::history(
            team.store.as_ref(),
            &team.admin,
            &team.agents,
            tickets,
            730,
            now,
        )
        .expect("history");
        println!(
            "history: {} tickets over 730 days ({} closed) × 2 comments on {} conversations, seeded in {:.0} s; server file {:.0} MiB",
            made.tickets,
            made.closed,
            made.conversations,
            seeding.elapsed().as_secs_f64(),
            mib(files(&db))
        );
        team.store
    };

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let unlimited = fyncall_server::Config {
        max_request_rate: 0,
        ..Default::default()
    };
    let server = app::start_with(store.clone(), listener, unlimited)
        .await
        .expect("start");
    let url = format!("http://{}", server.addr);
    let client = Client::new(&url).expect("client");
    let (token, me) = client
        .login("ben@demo.fyncall.test", demo::DEMO_PASSWORD)
        .await
        .expect("login");
    let ben = client.with_token(&token);

    // The working set, end to end into an empty cache.
    let path = dir.path().join("ben.sqlite");
    let cache = Arc::new(Mutex::new(Cache::open(&path).expect("cache")));
    cache
        .lock()
        .expect("lock")
        .sign_in(&url, me.id)
        .expect("sign in");
    let engine = Engine::new(ben.clone(), cache.clone());
    let start = Instant::now();
    let report = engine.sync_once().await.expect("first download");
    let took = start.elapsed().as_secs_f64();
    let settled = engine.settled().await.map_or(0.0, |d| d.as_secs_f64());
    let held: i64 = cache
        .lock()
        .expect("lock")
        .connection()
        .query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))
        .expect("count");
    println!(
        "first download of the working set at {tickets} tickets: {} rows ({held} tickets) in {took:.2} s end to end, then {settled:.2} s copying its log into the file off the writer (target ≤ 5 s); desktop files {:.0} MiB (target ≤ 500 MiB)",
        report.pulled,
        mib(files(&path))
    );

    // A ticket closed two years ago, opened by number.
    let oldest = ben
        .archive(None, now - TimeDelta::days(700), 1, None)
        .await
        .expect("the archive's oldest page");
    let oldest_number = oldest.tickets.last().and_then(|t| t.ticket.number);
    let mut opens = Vec::new();
    for step in 0..20 {
        let Some(n) = oldest_number.map(|n| n + step * 97) else {
            break;
        };
        let start = Instant::now();
        engine
            .fetch_ticket(&TicketRef::Number(n))
            .await
            .expect("an old ticket");
        let id = cache
            .lock()
            .expect("lock")
            .find_ticket(&format!("#{n}"))
            .expect("kept");
        cache
            .lock()
            .expect("lock")
            .ticket(id, Utc::now())
            .expect("its page");
        opens.push(start.elapsed());
    }
    println!(
        "open a ticket closed about two years ago by number, online (read from the server, kept, its page read): {} over {} tickets (target ≤ 150 ms in the app)",
        spread(&opens),
        opens.len()
    );

    // One word, across the archive.
    let mut searches = Vec::new();
    for word in ["parcel", "refund", "invoice", "loyalty", "processing"]
        .iter()
        .cycle()
        .take(20)
    {
        let start = Instant::now();
        let page = engine
            .search_archive(Some((*word).to_owned()), None)
            .await
            .expect("an archive search");
        searches.push(start.elapsed());
        assert!(!page.tickets.is_empty(), "{word} finds old tickets");
    }
    println!(
        "archive search, one word, a page of 50 (the page alone, no total), from the server: {} over {} searches (target ≤ 300 ms p95)",
        spread(&searches),
        searches.len()
    );

    // The SLA report from the server for a month and for two years.
    for (label, days, target) in [("one month", 30, "≤ 200 ms"), ("two years", 730, "≤ 2 s")] {
        let query = ReportQuery {
            from: now - TimeDelta::days(days),
            to: now,
            group_by: GroupBy::Week,
        };
        let start = Instant::now();
        let report = ben.sla_report(&query).await.expect("a report");
        let took = start.elapsed().as_secs_f64();
        println!(
            "SLA report from the server, {label}: {} ({} resolutions counted; target {target})",
            ms(took),
            report.total.resolution.met + report.total.resolution.missed
        );
    }
    server.shutdown().await.expect("shutdown");
}
