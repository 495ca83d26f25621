//! The first download of a large team, over loopback, with its floors:
//! N tickets with 2 comments each on N/5 conversations (2 messages each).
//!
//! - floor: the server's rows read with raw queries, no HTTP, no client
//!   (rows/s and bytes/s);
//! - the server serving a first download (HTTP only, nothing stored): the
//!   page-by-page pull and the one-stream snapshot;
//! - the client storing rows already in memory into an empty cache;
//! - end to end into an empty cache, as `fyncall sync` does it.
//!
//! `cargo bench -p fyncall-sync --bench download` (FYNCALL_BENCH_TICKETS,
//! default 100,000). The server runs in this process on its SQLite file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use fyncall_cache::{Cache, Query};
use fyncall_domain::mutation::{Comment, CreateTicket, OpenConversation, PostMessage};
use fyncall_domain::{Author, Caller, Customer, Mutation, Priority, View};
use fyncall_server::write::Pushed;
use fyncall_server::{app, demo};
use fyncall_sync::{Client, Engine};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const CATEGORIES: [&str; 5] = ["billing", "shipping", "product", "technical", "other"];

fn pushed(mutation: Mutation) -> Pushed {
    Pushed {
        id: Uuid::now_v7(),
        mutation: Ok(mutation),
        client_at: None,
    }
}

/// One read of All Tickets' first page with its total, as the window asks
/// for it; milliseconds.
fn first_page_ms(reader: &Cache) -> f64 {
    let start = Instant::now();
    reader
        .tickets(&Query::view(View::All), Utc::now())
        .expect("a page");
    start.elapsed().as_secs_f64() * 1000.0
}

fn push(store: &dyn fyncall_server::Store, caller: Caller, all: Vec<Mutation>) {
    let all: Vec<Pushed> = all.into_iter().map(pushed).collect();
    for batch in all.chunks(500) {
        let (results, _) = store.push(caller, batch, &Utc::now).expect("push");
        assert!(
            results
                .iter()
                .all(|r| r.outcome == fyncall_domain::wire::Outcome::Applied),
            "a seed mutation was refused: {:?}",
            results.iter().find(|r| r.refused())
        );
    }
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:.0}", n as f64 / secs)
}

/// Bytes this process has sent towards the disk so far (Linux's
/// `/proc/self/io` `write_bytes`: file pages it made dirty; 0 where there is
/// none): the server in this process only reads while a download runs, so
/// the difference across one is what the cache wrote.
fn bytes_written() -> usize {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(tickets) = fyncall_domain::testing::bench_tickets() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");

    // A new ticket's cost must not grow with the tickets already on its
    // conversation: the same tickets onto a few conversations and onto many.
    let few = tickets / 10;
    for conversations in [5, few.div_ceil(5)] {
        let team = demo::create(
            &dir.path().join(format!("shape-{conversations}.db")),
            Utc::now(),
        )
        .expect("demo");
        let ids: Vec<Uuid> = (0..conversations).map(|_| Uuid::now_v7()).collect();
        let open = ids
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Mutation::OpenConversation(OpenConversation {
                    id: *c,
                    customer: Customer {
                        name: format!("Customer {i}"),
                        email: format!("c{i}@example.com"),
                    },
                    channel: "chat".into(),
                    subject: None,
                })
            })
            .collect();
        push(team.store.as_ref(), Caller::Integration, open);
        let agent = team.agents[0].id;
        let creates: Vec<Mutation> = (0..few)
            .map(|i| {
                Mutation::CreateTicket(CreateTicket {
                    id: Uuid::now_v7(),
                    conversation_id: ids[i % conversations],
                    subject: format!("Ticket {i}"),
                    priority: Priority::ALL[i % 4],
                    description: None,
                    category: None,
                    assignee_id: None,
                })
            })
            .collect();
        let start = Instant::now();
        push(team.store.as_ref(), Caller::Agent(agent), creates);
        let took = start.elapsed().as_secs_f64();
        println!(
            "new tickets:       {few} onto {conversations} conversations ({} each at the end) in {took:.2} s = {} tickets/s",
            few / conversations,
            rate(few, took)
        );
    }

    let db = dir.path().join("team.db");
    let team = demo::create(&db, Utc::now()).expect("demo");
    let store = team.store.clone();
    let agents: Vec<Uuid> = team.agents.iter().map(|a| a.id).collect();

    let seeding = Instant::now();
    let conversations: Vec<Uuid> = (0..tickets.div_ceil(5)).map(|_| Uuid::now_v7()).collect();
    let mut open = Vec::new();
    for (i, c) in conversations.iter().enumerate() {
        open.push(Mutation::OpenConversation(OpenConversation {
            id: *c,
            customer: Customer {
                name: format!("Customer {i}"),
                email: format!("c{i}@example.com"),
            },
            channel: "chat".into(),
            subject: None,
        }));
        for (k, author) in [Author::Customer, Author::Ai].into_iter().enumerate() {
            open.push(Mutation::PostMessage(PostMessage {
                id: Uuid::now_v7(),
                conversation_id: *c,
                author,
                body: format!("Message {k} of customer {i}: my parcel has not arrived yet."),
                automatic: false,
                attachment_ids: Vec::new(),
            }));
        }
    }
    push(store.as_ref(), Caller::Integration, open);
    let ticket_ids: Vec<Uuid> = (0..tickets).map(|_| Uuid::now_v7()).collect();
    for (a, agent) in agents.iter().enumerate() {
        let mut mine = Vec::new();
        for (i, id) in ticket_ids.iter().enumerate().skip(a).step_by(agents.len()) {
            mine.push(Mutation::CreateTicket(CreateTicket {
                id: *id,
                conversation_id: conversations[i / 5],
                subject: format!("Ticket {i}: parcel stuck in transit"),
                priority: Priority::ALL[i % 4],
                description: Some(format!("Order #{} has not moved for a week.", 50_000 + i)),
                category: Some(CATEGORIES[i % 5].into()),
                assignee_id: Some(*agent),
            }));
            for k in 0..2 {
                mine.push(Mutation::Comment(Comment {
                    id: Uuid::now_v7(),
                    ticket_id: *id,
                    body: format!(
                        "Comment {k} on ticket {i}: asked the carrier, waiting for an answer."
                    ),
                    mention_ids: Vec::new(),
                }));
            }
        }
        push(store.as_ref(), Caller::Agent(*agent), mine);
    }
    let seq = store.current_seq().expect("seq");
    println!(
        "team: {tickets} tickets × 2 comments, {} conversations × 2 messages ({seq} changes), seeded in {:.1} s",
        conversations.len(),
        seeding.elapsed().as_secs_f64()
    );

    // The floor: the same rows read with raw queries on the server's file.
    {
        let conn = rusqlite::Connection::open(&db).expect("open");
        let start = Instant::now();
        let (mut rows, mut bytes) = (0usize, 0usize);
        for sql in [
            "SELECT data FROM tickets",
            "SELECT data FROM activity",
            "SELECT data FROM conversations",
            "SELECT data FROM messages",
            "SELECT data FROM agents",
        ] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let mut q = stmt.query([]).expect("query");
            while let Some(r) = q.next().expect("row") {
                let data: String = r.get(0).expect("data");
                rows += 1;
                bytes += data.len();
            }
        }
        let took = start.elapsed().as_secs_f64();
        println!(
            "floor, raw read:   {rows} rows, {:.1} MiB in {took:.2} s = {} rows/s, {:.0} MiB/s",
            mib(bytes),
            rate(rows, took),
            mib(bytes) / took
        );
    }

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
    let login = |email: &'static str| {
        let url = url.clone();
        async move {
            let c = Client::new(&url).expect("client");
            let (token, _) = c.login(email, demo::DEMO_PASSWORD).await.expect("login");
            c.with_token(&token)
        }
    };
    let ben = login("ben@demo.fyncall.test").await;

    // The server serving a first download page by page, nothing stored.
    let start = Instant::now();
    let (mut cursor, mut rows) = (0, 0usize);
    let mut pages = Vec::new();
    loop {
        let p = ben.pull(cursor, fyncall_sync::PAGE).await.expect("pull");
        rows += p.page.changes.len();
        cursor = p.page.cursor;
        let more = p.page.has_more;
        pages.push(p.page);
        if !more {
            break;
        }
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "pull from 0:       {rows} rows in {} pages in {took:.2} s = {} rows/s (HTTP and JSON, nothing stored)",
        pages.len(),
        rate(rows, took)
    );

    // The server serving a first download as one snapshot stream, read and
    // parsed by the client, nothing stored.
    let start = Instant::now();
    let mut reader = ben.snapshot().await.expect("snapshot").expect("a snapshot");
    let mut snapshot = Vec::new();
    while let Some(rows) = reader
        .next_rows(fyncall_sync::SNAPSHOT_BATCH)
        .await
        .expect("rows")
    {
        snapshot.extend(rows);
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "snapshot read:     {} rows in {took:.2} s = {} rows/s (one stream, HTTP and JSON, nothing stored)",
        snapshot.len(),
        rate(snapshot.len(), took)
    );
    {
        let mut cache = Cache::open(&dir.path().join("snapshot-only.sqlite")).expect("cache");
        let me = ben.me().await.expect("me").id;
        cache.sign_in(&url, me).expect("sign in");
        let start = Instant::now();
        for chunk in snapshot.chunks(fyncall_sync::SNAPSHOT_ROWS) {
            cache.apply_snapshot(chunk, None).expect("store");
        }
        let mid = start.elapsed().as_secs_f64();
        cache
            .apply_snapshot(&[], Some(reader.head.cursor))
            .expect("end");
        let took = start.elapsed().as_secs_f64();
        println!(
            "cache store only:  {} snapshot rows into an empty cache in {took:.2} s = {} rows/s ({mid:.2} s the rows, {:.2} s the indexes, counts and search at the end)",
            snapshot.len(),
            rate(snapshot.len(), took),
            took - mid
        );
    }
    drop(snapshot);

    // The client storing those rows, already in memory, into an empty cache.
    {
        let mut cache = Cache::open(&dir.path().join("store-only.sqlite")).expect("cache");
        let me = ben.me().await.expect("me").id;
        cache.sign_in(&url, me).expect("sign in");
        let start = Instant::now();
        for chunk in pages.chunks(10) {
            cache.apply_pulls(chunk).expect("store");
        }
        let took = start.elapsed().as_secs_f64();
        println!(
            "cache store only:  {rows} pulled rows into an empty cache in {took:.2} s = {} rows/s (pages already in memory)",
            rate(rows, took)
        );
    }
    drop(pages);

    // End to end into an empty cache, as `fyncall sync` does it.
    let mut runs = Vec::new();
    for run in 1..=3 {
        let path = dir.path().join(format!("ben-{run}.sqlite"));
        let cache = Arc::new(Mutex::new(Cache::open(&path).expect("cache")));
        let me = ben.me().await.expect("me").id;
        cache
            .lock()
            .expect("lock")
            .sign_in(&url, me)
            .expect("sign in");
        // On the first run, the window's read meanwhile: All Tickets' first
        // page with its total, on a reading connection, every 20 ms.
        let watcher = (run == 1).then(|| {
            let reader = cache.lock().expect("lock").reader().expect("reader");
            let stop = Arc::new(AtomicBool::new(false));
            let seen = stop.clone();
            let thread = std::thread::spawn(move || {
                let mut times = Vec::new();
                while !seen.load(Ordering::Relaxed) {
                    times.push(first_page_ms(&reader));
                    std::thread::sleep(Duration::from_millis(20));
                }
                (reader, times)
            });
            (stop, thread)
        });
        let engine = Engine::new(ben.clone(), cache);
        let written = bytes_written();
        let start = Instant::now();
        let report = engine.sync_once().await.expect("first download");
        let took = start.elapsed().as_secs_f64();
        let settled = engine.settled().await;
        let written = bytes_written().saturating_sub(written);
        if let Some((stop, thread)) = watcher {
            stop.store(true, Ordering::Relaxed);
            let (reader, mut during) = thread.join().expect("reader");
            let mut idle: Vec<f64> = (0..200).map(|_| first_page_ms(&reader)).collect();
            println!(
                "view while downloading: All Tickets' first page with its total, read {} times during the download and the copy of its log after it: {}; with no download: {} (target ≤ 5 ms p95)",
                during.len(),
                fyncall_testkit::stats::spread_ms(&mut during, 2),
                fyncall_testkit::stats::spread_ms(&mut idle, 2)
            );
        }
        let times = report.snapshot.unwrap_or_default();
        println!(
            "first download {run}:  {} rows into an empty cache in {took:.2} s = {} rows/s (end to end over loopback: rows stored in {:.2} s in {} transactions, and {:.2} s more waiting for rows; indexes, counts and search at the end {:.2} s)",
            report.pulled,
            rate(report.pulled, took),
            times.storing.as_secs_f64(),
            times.transactions,
            times.waited.as_secs_f64(),
            times.finishing.as_secs_f64()
        );
        println!(
            "settled {run}:         the download's log copied into the cache file afterwards, off the writer, in {}",
            settled.map_or("— (not run)".to_owned(), |d| format!(
                "{:.2} s",
                d.as_secs_f64()
            ))
        );
        runs.push(took);
        drop(engine);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
        println!(
            "written {run}:         {:.0} MiB of file pages written by the cache during the download and the copy after it (its log and its file; {:.1}× the {:.0} MiB file)",
            mib(written),
            written as f64 / size.max(1) as f64,
            mib(size)
        );
        if run == 1 {
            // Where the file's bytes are: each table and index, largest first.
            let conn = rusqlite::Connection::open(&path).expect("open the cache");
            let mut stmt = conn
                .prepare(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 14",
                )
                .expect("dbstat");
            let parts: Vec<String> = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{} {:.1}",
                        r.get::<_, String>(0)?,
                        mib(r.get::<_, i64>(1)? as usize)
                    ))
                })
                .expect("dbstat")
                .collect::<rusqlite::Result<_>>()
                .expect("dbstat");
            println!("file, MiB:         {}", parts.join(", "));
            // The floor of the disk: writing as many bytes as the cache
            // holds, once, to a file made durable at the end.
            let floor = dir.path().join("floor.bin");
            let start = Instant::now();
            {
                use std::io::Write;
                let mut f = std::fs::File::create(&floor).expect("floor file");
                let block = vec![7u8; 1 << 20];
                for _ in 0..size.div_ceil(block.len()) {
                    f.write_all(&block).expect("write");
                }
                f.sync_all().expect("sync");
            }
            let took = start.elapsed().as_secs_f64();
            let _ = std::fs::remove_file(&floor);
            println!(
                "floor, disk:       the cache file is {:.0} MiB; writing that much to this disk once, durably, takes {took:.2} s ({:.0} MiB/s; the cache writes it twice: its log, then the file)",
                mib(size),
                mib(size) / took
            );
        }
        for file in [
            path.clone(),
            path.with_extension("sqlite-wal"),
            path.with_extension("sqlite-shm"),
        ] {
            let _ = std::fs::remove_file(file);
        }
    }
    runs.sort_by(f64::total_cmp);
    println!(
        "first download:    min {:.2} s, median {:.2} s, max {:.2} s over {} runs ({tickets} tickets; target ≤ 5 s at 100,000)",
        runs[0],
        runs[runs.len() / 2],
        runs[runs.len() - 1],
        runs.len()
    );
    server.shutdown().await.expect("shutdown");
}
