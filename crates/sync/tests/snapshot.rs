//! A first download from `GET /sync/snapshot` leaves the cache exactly as
//! one pulled page by page does, row for row; local changes made while it
//! runs stay on top; a download cut half-way starts again and ends equal.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use fyncall_cache::Cache;
use fyncall_domain::mutation::{ChangePriority, Comment};
use fyncall_domain::wire::Pulled;
use fyncall_domain::{Mutation, Priority};
use fyncall_server::{app, demo};
use fyncall_sync::{Client, Engine};
use uuid::Uuid;

const ALICE: &str = "alice@demo.fyncall.test";

struct Team {
    dir: tempfile::TempDir,
    url: String,
    client: Client,
    me: Uuid,
    _server: app::Running,
}

async fn team() -> Team {
    let dir = tempfile::tempdir().expect("dir");
    let team = demo::create(&dir.path().join("team.db"), chrono::Utc::now()).expect("demo");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let server = app::start(team.store.clone(), listener)
        .await
        .expect("start");
    let url = format!("http://{}", server.addr);
    let client = Client::new(&url).expect("client");
    let (token, agent) = client
        .login(ALICE, demo::DEMO_PASSWORD)
        .await
        .expect("login");
    Team {
        dir,
        url,
        client: client.with_token(&token),
        me: agent.id,
        _server: server,
    }
}

impl Team {
    fn cache(&self, name: &str) -> Cache {
        let mut cache = Cache::open(&self.dir.path().join(name)).expect("cache");
        cache.sign_in(&self.url, self.me).expect("sign in");
        cache
    }

    /// A first download page by page, as before snapshots.
    async fn pulled(&self, name: &str) -> Cache {
        let mut cache = self.cache(name);
        let mut cursor = 0;
        loop {
            let page = self.client.pull(cursor, 37).await.expect("pull").page;
            cache.apply_pull(&page).expect("store");
            cursor = page.cursor;
            if !page.has_more {
                return cache;
            }
        }
    }

    /// The server's snapshot, opened.
    async fn snapshot(&self) -> fyncall_sync::SnapshotReader {
        self.client
            .snapshot()
            .await
            .expect("snapshot")
            .expect("this server has snapshots")
    }

    /// A first download as the engine makes it (from the snapshot).
    async fn downloaded(&self, cache: Cache) -> Arc<Mutex<Cache>> {
        let cache = Arc::new(Mutex::new(cache));
        let engine = Engine::new(self.client.clone(), cache.clone());
        let report = engine.sync_once().await.expect("download");
        assert!(report.cursor > 0, "the download reached no cursor");
        cache
    }
}

/// Every row the server's data lands in, per table, in a stable order
/// (search terms by their ticket: rowids are the cache's own).
fn dump(path: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut out = BTreeMap::new();
    for (name, sql) in [
        ("agents", "SELECT * FROM agents ORDER BY id"),
        (
            "tickets",
            "SELECT id, conversation_id, number_key, subject_key, status, status_rank, priority,
                    priority_rank, assignee_id, assignee_key, category, category_key, source, open,
                    created_at, updated_at, updated_desc, due_key, at_risk_at, overlay, data,
                    server_data FROM tickets ORDER BY id",
        ),
        ("activity", "SELECT * FROM activity ORDER BY id"),
        ("conversations", "SELECT * FROM conversations ORDER BY id"),
        ("messages", "SELECT * FROM messages ORDER BY id"),
        ("view_counts", "SELECT * FROM view_counts ORDER BY 1, 2"),
        (
            "outbox",
            "SELECT id, mutation, acked_seq FROM outbox ORDER BY position",
        ),
        (
            "meta",
            "SELECT key, value FROM meta WHERE key IN ('cursor', 'bootstrap') ORDER BY key",
        ),
        (
            "indexes",
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name",
        ),
    ] {
        let mut stmt = conn.prepare(sql).expect(name);
        let columns = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut row = Vec::new();
                for i in 0..columns {
                    row.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(row.join(" | "))
            })
            .expect(name)
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect(name);
        out.insert(name, rows);
    }
    // The search index by its terms (it keeps no text).
    let terms = Cache::open(path)
        .expect("open")
        .search_terms()
        .expect("search terms");
    out.insert(
        "search",
        terms.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>(),
    );
    out
}

fn assert_same(left: &Path, right: &Path) {
    let (a, b) = (dump(left), dump(right));
    for (table, rows) in &a {
        assert!(!rows.is_empty() || *table == "outbox", "{table} is empty");
        assert_eq!(rows.len(), b[table].len(), "{table}: row counts differ");
        for (x, y) in rows.iter().zip(&b[table]) {
            assert_eq!(x, y, "{table}: a row differs");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_download_equals_a_pulled_one_row_for_row() {
    let team = team().await;
    let pulled = team.pulled("pulled.sqlite").await;
    drop(pulled);
    let snapshot = team.downloaded(team.cache("snapshot.sqlite")).await;
    drop(snapshot);
    let dir = team.dir.path();
    assert_same(&dir.join("snapshot.sqlite"), &dir.join("pulled.sqlite"));
    // The views agree too (their counts come from the kept counts).
    let s = Cache::open(&dir.join("snapshot.sqlite")).expect("open");
    let p = Cache::open(&dir.join("pulled.sqlite")).expect("open");
    let now = chrono::Utc::now();
    assert_eq!(
        s.counts(now).expect("counts"),
        p.counts(now).expect("counts")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_while_a_snapshot_is_stored_stay_on_top_and_reach_the_server() {
    let team = team().await;
    let mut cache = team.cache("acting.sqlite");
    let mut reader = team.snapshot().await;
    let mut acted = None;
    while let Some(rows) = reader.next_rows(50).await.expect("rows") {
        cache.apply_snapshot(&rows, None).expect("store");
        // The first ticket stored: the agent works on it at once.
        if acted.is_none() {
            let ticket = rows.iter().find_map(|r| match &r.data {
                Pulled::Ticket(t) => Some(t.ticket.clone()),
                _ => None,
            });
            if let Some(t) = ticket {
                let priority = if t.priority == Priority::Urgent {
                    Priority::Low
                } else {
                    Priority::Urgent
                };
                for m in [
                    Mutation::ChangePriority(ChangePriority {
                        ticket_id: t.id,
                        priority,
                    }),
                    Mutation::Comment(Comment {
                        id: Uuid::now_v7(),
                        ticket_id: t.id,
                        body: "Written while the team was still downloading.".into(),
                        mention_ids: Vec::new(),
                    }),
                ] {
                    cache.act(m, chrono::Utc::now()).expect("act");
                }
                acted = Some((t.id, priority));
            }
        }
    }
    let (id, priority) = acted.expect("a ticket came");
    cache
        .apply_snapshot(&[], Some(reader.head.cursor))
        .expect("end");
    let page = cache.ticket(id, chrono::Utc::now()).expect("ticket");
    assert_eq!(
        page.ticket.ticket.priority, priority,
        "the local change was lost"
    );
    assert!(
        page.ticket.pending,
        "the local change is not shown as pending"
    );
    assert_eq!(
        cache.info().expect("info").pending,
        2,
        "the queue lost a change"
    );
    // Synced, it is the server's, and the cache equals a fresh download.
    let synced = team.downloaded(cache).await;
    drop(synced);
    let fresh = team.pulled("fresh.sqlite").await;
    drop(fresh);
    let dir = team.dir.path();
    assert_same(&dir.join("acting.sqlite"), &dir.join("fresh.sqlite"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_half_way_starts_again_and_ends_equal() {
    let team = team().await;
    let mut cache = team.cache("cut.sqlite");
    let mut reader = team.snapshot().await;
    let half = reader.head.rows / 2;
    let mut stored = 0;
    while stored < half {
        let rows = reader.next_rows(25).await.expect("rows").expect("more");
        stored += rows.len() as u64;
        cache.apply_snapshot(&rows, None).expect("store");
    }
    // The app is killed here: nothing more of this download is stored.
    drop(reader);
    drop(cache);
    let reopened = Cache::open(&team.dir.path().join("cut.sqlite")).expect("reopen");
    assert_eq!(
        reopened.cursor().expect("cursor"),
        0,
        "a cut download moved the cursor"
    );
    let again = team.downloaded(reopened).await;
    drop(again);
    let whole = team.pulled("whole.sqlite").await;
    drop(whole);
    let dir = team.dir.path();
    assert_same(&dir.join("cut.sqlite"), &dir.join("whole.sqlite"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_s_log_is_copied_into_the_file_after_it_on_its_own() {
    let team = team().await;
    let path = team.dir.path().join("settled.sqlite");
    let engine = Engine::new(
        team.client.clone(),
        Arc::new(Mutex::new(team.cache("settled.sqlite"))),
    );
    assert_eq!(engine.settled().await, None, "nothing to wait for yet");
    let report = engine.sync_once().await.expect("download");
    assert!(report.snapshot.is_some(), "a snapshot download");
    // The rows are in before the copy: readable on a connection of their own.
    let tickets = |path: &Path| -> i64 {
        rusqlite::Connection::open(path)
            .expect("open")
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
            .expect("count")
    };
    let downloaded = tickets(&path);
    assert!(downloaded >= 150, "{downloaded} tickets");
    assert!(engine.settled().await.is_some(), "the copy ran");
    assert_eq!(engine.settled().await, None, "once");
    // Commits copy the log again past its backstop size.
    let pages: i64 = engine
        .cache()
        .lock()
        .expect("lock")
        .connection()
        .pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))
        .expect("pragma");
    assert_eq!(pages, 10_000);
    // The log is emptied, and the file alone holds the whole download.
    let log = std::fs::metadata(team.dir.path().join("settled.sqlite-wal")).map_or(0, |m| m.len());
    assert_eq!(log, 0, "the log is cut once copied");
    let alone = team.dir.path().join("alone.sqlite");
    std::fs::copy(&path, &alone).expect("copy the file alone");
    assert_eq!(tickets(&alone), downloaded);
}

/// A server that takes the request and never answers (stuck, or a line
/// that lost the answer): the client stops waiting after 30 s and says the
/// server is busy, in words the app's status shows; nothing is half-written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_never_begins_is_given_up_after_30_s_in_words() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    // Reads the request and answers nothing, holding the connection open
    // until the test is done.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let silent = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().expect("the client connects");
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap_or(0);
        let _ = finished.recv();
        drop(conn);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    let client = Client::new(&url)
        .expect("client")
        .with_token("fyt_made_up_for_a_silent_server");
    let started = std::time::Instant::now();
    let err = match client.snapshot().await {
        Ok(_) => panic!("a silent server gave a snapshot"),
        Err(e) => e,
    };
    let waited = started.elapsed();
    println!("gave up after {:.1} s", waited.as_secs_f64());
    assert!(err.is_transient(), "tried again later: {err:?}");
    let words = err.to_string();
    assert!(
        words.contains("did not begin the first download within 30 s") && words.contains("busy"),
        "{words}"
    );
    let _ = done.send(());
    let request = silent.join().expect("the silent server");
    assert!(
        request.starts_with("GET /api/v1/sync/snapshot"),
        "the request reached it: {request}"
    );
}
