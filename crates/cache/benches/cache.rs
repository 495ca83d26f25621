//! Cache figures at scale: first page of each view and of a search, a local
//! action, and the same index lookup in raw rusqlite as the floor.
//!
//! `cargo bench -p fyncall-cache` (sizes: FYNCALL_BENCH_TICKETS, default
//! 100,000 tickets with 5 comments each = 500,000 timeline entries).

#[path = "../tests/fixture/mod.rs"]
mod fixture;

use std::time::{Duration, Instant};

use fixture::*;
use fyncall_cache::{Cache, Query};
use fyncall_domain::mutation::Comment;
use fyncall_domain::{InboxQuery, InboxView, Mutation, View};
use uuid::Uuid;

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    use fyncall_testkit::stats::percentile;
    (
        percentile(&mut samples, 0.5),
        percentile(&mut samples, 0.95),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn measure(runs: usize, mut f: impl FnMut(usize)) -> (Duration, Duration) {
    for i in 0..runs / 10 {
        f(i);
    }
    let samples = (0..runs)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect();
    percentiles(samples)
}

fn main() {
    let Some(tickets) = fyncall_domain::testing::bench_tickets() else {
        return;
    };
    let comments: usize = std::env::var("FYNCALL_BENCH_COMMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let pages = team_pages(tickets, comments);
    let mut cache = Cache::open(&dir.path().join("bench.sqlite")).expect("open");
    cache.sign_in("http://127.0.0.1:1", ALICE).expect("sign in");
    let start = Instant::now();
    // As the sync engine stores a first download: 10 pages of 500 per transaction.
    for group in pages.chunks(10) {
        cache.apply_pulls(group).expect("apply pages");
    }
    println!(
        "cache: {tickets} tickets, {} timeline entries, loaded from pull pages in {:.1} s",
        tickets * comments,
        start.elapsed().as_secs_f64()
    );
    cache.checkpoint().expect("checkpoint");
    if std::env::var("FYNCALL_BENCH_LOAD_ONLY").is_ok() {
        return;
    }
    let now = now();
    println!(
        "{:<28} {:>10} {:>10}   target",
        "query (limit 50)", "p50", "p95"
    );
    for view in View::ALL {
        let mut q = Query::view(view);
        let total = cache.tickets(&q, now).expect("page").total.unwrap_or(0);
        let (p50t, p95t) = measure(100, |_| {
            cache.tickets(&q, now).expect("page");
        });
        q.with_total = false;
        let (p50, p95) = measure(200, |_| {
            cache.tickets(&q, now).expect("page");
        });
        println!(
            "{:<28} {:>10} {:>10}   ≤ 2 ms p95   ({total} tickets in view)",
            format!("view {}", view.as_str()),
            ms(p50),
            ms(p95)
        );
        println!(
            "{:<28} {:>10} {:>10}",
            format!("view {} + total count", view.as_str()),
            ms(p50t),
            ms(p95t)
        );
        let mut q2 = Query::view(view);
        q2.with_total = false;
        let first = cache.tickets(&q2, now).expect("page");
        q2.cursor = first.next_cursor;
        if q2.cursor.is_some() {
            let (p50, p95) = measure(200, |_| {
                cache.tickets(&q2, now).expect("page");
            });
            println!(
                "{:<28} {:>10} {:>10}   ≤ 2 ms p95",
                format!("view {} page 2", view.as_str()),
                ms(p50),
                ms(p95)
            );
        }
    }
    let words = [
        "refund",
        "blender cracked",
        "warehouse 4711",
        "invoice address",
        "40123",
    ];
    let (p50, p95) = measure(100, |i| {
        let mut q = Query::view(View::All);
        q.search = Some(words[i % words.len()].into());
        q.with_total = false;
        cache.tickets(&q, now).expect("search");
    });
    println!(
        "{:<28} {:>10} {:>10}   ≤ 20 ms p95",
        "search (5 queries, all)",
        ms(p50),
        ms(p95)
    );
    // What the sidebar reads on each refresh: every ticket view's count and
    // every inbox view's.
    let (p50, p95) = measure(200, |_| {
        cache.counts(now).expect("counts");
        cache.inbox_counts().expect("inbox counts");
    });
    println!(
        "{:<28} {:>10} {:>10}   ≤ 2 ms p95   (5 ticket views + 3 inbox views)",
        "sidebar counts",
        ms(p50),
        ms(p95)
    );
    // The inbox: each view's first page (with its total) and a search.
    let conversations = cache.inbox_counts().expect("counts");
    for view in InboxView::ALL {
        let q = InboxQuery {
            view,
            search: None,
            limit: 50,
            cursor: None,
        };
        let total = cache.inbox(&q).expect("inbox").total;
        let (p50, p95) = measure(200, |_| {
            cache.inbox(&q).expect("inbox");
        });
        println!(
            "{:<28} {:>10} {:>10}   ≤ 2 ms p95   ({total} of {} conversations)",
            format!("inbox {}", view.as_str()),
            ms(p50),
            ms(p95),
            conversations.all
        );
    }
    let (p50, p95) = measure(50, |i| {
        let q = InboxQuery {
            view: InboxView::All,
            search: Some(["customer 4711", "c123@example", "order"][i % 3].into()),
            limit: 50,
            cursor: None,
        };
        cache.inbox(&q).expect("inbox search");
    });
    println!(
        "{:<28} {:>10} {:>10}   (name, email, message text)",
        "inbox search (3 queries)",
        ms(p50),
        ms(p95)
    );
    let (p50, p95) = measure(200, |_| {
        cache.inbox_counts().expect("counts");
    });
    println!(
        "{:<28} {:>10} {:>10}",
        "inbox counts (3 views)",
        ms(p50),
        ms(p95)
    );
    let conn = rusqlite::Connection::open(dir.path().join("bench.sqlite")).expect("raw");
    let (p50, p95) = measure(200, |_| {
        let mut stmt = conn
            .prepare_cached(
                "SELECT data FROM tickets WHERE open = 1 ORDER BY updated_at DESC, id DESC LIMIT 51",
            )
            .expect("prepare");
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 51);
    });
    println!(
        "{:<28} {:>10} {:>10}   (floor: same index, raw rusqlite, no JSON)",
        "raw first page, view all",
        ms(p50),
        ms(p95)
    );
    let open: Vec<Uuid> = (0..tickets)
        .filter(|i| (i / 3) % 5 < 3)
        .take(500)
        .map(ticket_id)
        .collect();
    let (p50, p95) = measure(300, |i| {
        cache
            .act(
                Mutation::Comment(Comment {
                    id: Uuid::now_v7(),
                    ticket_id: open[i % open.len()],
                    body: format!("bench comment {i}"),
                    mention_ids: Vec::new(),
                }),
                now,
            )
            .expect("act");
    });
    println!(
        "{:<28} {:>10} {:>10}   ≤ 1 ms p95",
        "local action (comment)",
        ms(p50),
        ms(p95)
    );

    // The window's first page while a first download is being written: the
    // writer re-applies the team's pages (10 pages of 500 per transaction,
    // as a first download does) in a loop. Read through the one connection
    // behind the writer's lock (before), and through the reader connection.
    let reader = cache.reader().expect("reader");
    let mine = {
        let mut q = Query::view(View::Mine);
        q.with_total = false;
        q
    };
    let (p50, p95) = measure(200, |_| {
        reader.tickets(&mine, now).expect("page");
    });
    println!(
        "{:<28} {:>10} {:>10}   (floor: no download running)",
        "first page, idle",
        ms(p50),
        ms(p95)
    );
    let shared = std::sync::Arc::new(std::sync::Mutex::new(cache));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (shared, stop, pages) = (shared.clone(), stop.clone(), pages.clone());
        std::thread::spawn(move || {
            let mut transactions = 0;
            let mut round = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                round += 1;
                for group in pages.chunks(10) {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    // Newer versions at later sequence numbers: every row is
                    // written again, as a download of changed data would.
                    let mut group = group.to_vec();
                    let shift = round * 10_000_000;
                    for p in &mut group {
                        p.cursor += shift;
                        for c in &mut p.changes {
                            c.seq = c.seq.map(|s| s + shift);
                            if let fyncall_domain::wire::Pulled::Ticket(t) = &mut c.data {
                                t.ticket.version += round;
                            }
                        }
                    }
                    let mut c = shared.lock().expect("lock");
                    c.apply_pulls(&group).expect("apply pages");
                    transactions += 1;
                }
            }
            transactions
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    // Reads come now and then, as clicks do (every 15 ms here), so each one
    // lands somewhere inside the writer's transactions.
    let spaced = |read: &mut dyn FnMut()| {
        let samples = (0..120)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(15));
                let start = Instant::now();
                read();
                start.elapsed()
            })
            .collect();
        percentiles(samples)
    };
    let (p50, p95) = spaced(&mut || {
        shared
            .lock()
            .expect("lock")
            .tickets(&mine, now)
            .expect("page");
    });
    println!(
        "{:<28} {:>10} {:>10}   (before: the one connection, behind the writer)",
        "first page, download running",
        ms(p50),
        ms(p95)
    );
    let (p50, p95) = spaced(&mut || {
        reader.tickets(&mine, now).expect("page");
    });
    println!(
        "{:<28} {:>10} {:>10}   ≤ 5 ms p95 (the reader connection)",
        "first page, download running",
        ms(p50),
        ms(p95)
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let transactions = writer.join().expect("writer");
    println!(
        "  (the writer committed {transactions} transactions of 10 pages of 500 changes meanwhile)"
    );
}
