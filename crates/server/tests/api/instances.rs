//! Several `fyncall-server` processes on one PostgreSQL database, as behind
//! a load balancer: concurrent starts, pushes through both at once, the same
//! mutation through both, live streams across instances, and kill -9 of one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const PASSWORD: &str = "two instances";

/// `fyncall-server init` twice at once on a fresh database: one team, one
/// refusal that says why.
async fn init_twice_at_once(place: &Place) {
    let runs: Vec<_> = (0..2)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
                .arg("init")
                .args(place.args())
                .args([
                    "--admin-email",
                    &format!("root{i}@example.com"),
                    "--admin-name",
                    "Root",
                ])
                .env("FYNCALL_ADMIN_PASSWORD", PASSWORD)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("init runs")
        })
        .collect();
    let outputs: Vec<_> = runs
        .into_iter()
        .map(|c| c.wait_with_output().expect("init ends"))
        .collect();
    let ok = outputs.iter().filter(|o| o.status.success()).count();
    assert_eq!(ok, 1, "exactly one init creates the team");
    let refused = outputs
        .iter()
        .find(|o| !o.status.success())
        .expect("one refused");
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("already holds a team"), "{why}");
}

struct Two {
    /// The database, kept as long as the processes serve it.
    #[allow(dead_code)]
    place: Place,
    a: (Served, String),
    b: (Served, String),
    http: reqwest::Client,
    /// The admin who made the team, signed in (a token works on both).
    token: String,
}

impl Two {
    async fn start() -> Two {
        let place = Place::new(Kind::Postgres).await;
        init_twice_at_once(&place).await;
        let a = serve(&place.args());
        let b = serve(&place.args());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let mut token = String::new();
        for email in ["root0@example.com", "root1@example.com"] {
            let v: Value = http
                .post(format!("{}/auth/login", a.1))
                .json(&json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .expect("login")
                .json()
                .await
                .expect("json");
            if let Some(t) = v["token"].as_str() {
                token = t.to_owned();
            }
        }
        assert!(!token.is_empty(), "the admin of the one team signs in");
        Two {
            place,
            a,
            b,
            http,
            token,
        }
    }

    async fn call(
        &self,
        url: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self
            .http
            .request(method, format!("{url}{path}"))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// A conversation and `n` tickets on it, made through A.
    async fn tickets(&self, n: usize) -> Vec<String> {
        let integration = self
            .call(
                &self.a.1,
                reqwest::Method::POST,
                "/integrations/tokens",
                Some(json!({"name": "chat"})),
            )
            .await["token"]
            .as_str()
            .expect("token")
            .to_owned();
        let conv: Value = self
            .http
            .post(format!("{}/integrations/conversations", self.a.1))
            .bearer_auth(&integration)
            .json(&json!({"customer": {"name": "C", "email": "c@example.com"}, "channel": "chat"}))
            .send()
            .await
            .expect("conversation")
            .json()
            .await
            .expect("json");
        let mut ids = Vec::new();
        for i in 0..n {
            let t = self
                .call(
                    &self.b.1,
                    reqwest::Method::POST,
                    "/tickets",
                    Some(json!({"conversation_id": conv["id"], "subject": format!("Shared {i}"), "priority": "normal"})),
                )
                .await;
            ids.push(t["id"].as_str().unwrap_or_else(|| panic!("{t}")).to_owned());
        }
        ids
    }

    /// Every change from cursor 0 through `url`, as (entity, id) → (seq, data without `sla`).
    async fn pull_all(&self, url: &str) -> BTreeMap<(String, String), (i64, Value)> {
        let mut out = BTreeMap::new();
        let mut cursor = 0;
        let mut last_seq = 0;
        loop {
            let v = self
                .call(
                    url,
                    reqwest::Method::GET,
                    &format!("/sync/pull?cursor={cursor}&limit=500"),
                    None,
                )
                .await;
            for c in v["changes"].as_array().expect("changes") {
                let seq = c["seq"].as_i64().expect("seq");
                assert!(seq > last_seq, "sequences increase: {seq} after {last_seq}");
                last_seq = seq;
                let mut data = c["data"].clone();
                if let Some(map) = data.as_object_mut() {
                    map.remove("sla");
                }
                let key = (
                    c["entity"].as_str().expect("entity").to_owned(),
                    c["id"].as_str().expect("id").to_owned(),
                );
                assert!(
                    out.insert(key, (seq, data)).is_none(),
                    "an entity once per pull"
                );
            }
            cursor = v["cursor"].as_i64().expect("cursor");
            if v["has_more"] != true {
                break;
            }
        }
        out
    }

    /// Stops both processes (also done when a failing test drops it).
    fn stop(self) {
        drop(self);
    }
}

impl Drop for Two {
    fn drop(&mut self) {
        for served in [&mut self.a.0, &mut self.b.0] {
            served.kill();
        }
    }
}

fn comment(ticket: &str) -> (Value, Uuid) {
    let comment_id = Uuid::now_v7();
    (
        json!({"id": Uuid::now_v7(), "name": "comment", "args": {"id": comment_id, "ticket_id": ticket, "body": format!("from a client {comment_id}")}}),
        comment_id,
    )
}

/// Reads `changed` events of a live stream and sends each cursor on.
fn follow_stream(res: reqwest::Response) -> tokio::sync::watch::Receiver<i64> {
    let (tx, rx) = tokio::sync::watch::channel(0);
    tokio::spawn(async move {
        let mut body = res.bytes_stream();
        let mut text = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = text.find("\n\n") {
                let event: String = text.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    if let Some(c) = serde_json::from_str::<Value>(data)
                        .ok()
                        .and_then(|v| v["cursor"].as_i64())
                    {
                        tx.send_modify(|seen| *seen = (*seen).max(c));
                    }
                }
            }
        }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_pushing_through_two_instances_converge_exactly_once() {
    let two = Two::start().await;
    let tickets = two.tickets(4).await;
    // An agent's live stream on B.
    let stream = two
        .http
        .get(format!("{}/sync/stream", two.b.1))
        .bearer_auth(&two.token)
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .expect("stream on B");
    let mut seen_on_b = follow_stream(stream);

    // A client pulling as it goes, small pages from its own cursor,
    // alternating between the instances while the pushes run: the cursor
    // is only correct if no change ever shows up below it later.
    let (done, mut finished) = tokio::sync::watch::channel(false);
    let puller = {
        let (http, token) = (two.http.clone(), two.token.clone());
        let urls = [two.a.1.clone(), two.b.1.clone()];
        tokio::spawn(async move {
            let mut seen: HashSet<String> = HashSet::new();
            let mut cursor = 0i64;
            let mut turn = 0usize;
            let mut last_round = false;
            loop {
                let stop = *finished.borrow_and_update();
                let v: Value = http
                    .get(format!(
                        "{}/sync/pull?cursor={cursor}&limit=50",
                        urls[turn % 2]
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("pull")
                    .json()
                    .await
                    .expect("json");
                turn += 1;
                for c in v["changes"].as_array().expect("changes") {
                    if c["entity"] == "activity" {
                        seen.insert(c["id"].as_str().expect("id").to_owned());
                    }
                }
                cursor = v["cursor"].as_i64().expect("cursor");
                if v["has_more"] == true {
                    continue;
                }
                // Caught up: after the pushes end, one more full catch-up.
                if last_round {
                    return seen;
                }
                if stop {
                    last_round = true;
                    continue;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // 8 clients × 200 mutations on the 4 shared tickets: comments and
    // priority changes, in batches of 20 that alternate between A and B.
    // Every fifth batch goes to both instances at once (the same ids).
    let priorities = ["low", "normal", "high", "urgent"];
    let mut tasks = Vec::new();
    for client in 0..8usize {
        let mut batch_list: Vec<Vec<(Value, Option<Uuid>)>> = Vec::new();
        let mut current = Vec::new();
        for n in 0..200usize {
            let ticket = &tickets[(client + n) % tickets.len()];
            let m = if n % 4 == 3 {
                let p = priorities[(client * 7 + n) % priorities.len()];
                (
                    json!({"id": Uuid::now_v7(), "name": "change_priority", "args": {"ticket_id": ticket, "priority": p}}),
                    None,
                )
            } else {
                let (m, c) = comment(ticket);
                (m, Some(c))
            };
            current.push(m);
            if current.len() == 20 {
                batch_list.push(std::mem::take(&mut current));
            }
        }
        let (http, token) = (two.http.clone(), two.token.clone());
        let urls = [two.a.1.clone(), two.b.1.clone()];
        tasks.push(tokio::spawn(async move {
            let mut answers: Vec<(Uuid, String)> = Vec::new();
            let mut comments = Vec::new();
            for (i, batch) in batch_list.into_iter().enumerate() {
                let body = json!({"client_id": Uuid::now_v7(), "mutations": batch.iter().map(|(m, _)| m).collect::<Vec<_>>()});
                comments.extend(batch.iter().filter_map(|(m, c)| c.map(|c| (m["id"].as_str().map(str::to_owned), c))));
                let targets: Vec<&String> = if i % 5 == 4 {
                    urls.iter().collect()
                } else {
                    vec![&urls[(client + i) % 2]]
                };
                let sends = targets.into_iter().map(|url| {
                    http.post(format!("{url}/sync/push"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                });
                for res in futures_util::future::join_all(sends).await {
                    let v: Value = res.expect("push").json().await.expect("json");
                    for r in v["results"].as_array().unwrap_or_else(|| panic!("{v}")) {
                        answers.push((
                            Uuid::parse_str(r["id"].as_str().expect("id")).expect("uuid"),
                            r["outcome"].as_str().expect("outcome").to_owned(),
                        ));
                    }
                }
            }
            (answers, comments)
        }));
    }
    let mut outcomes: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut comment_of: HashMap<String, Uuid> = HashMap::new();
    for t in tasks {
        let (answers, comments) = t.await.expect("client");
        for (id, outcome) in answers {
            outcomes.entry(id).or_default().push(outcome);
        }
        for (m, c) in comments {
            comment_of.insert(m.expect("mutation id"), c);
        }
    }
    assert_eq!(outcomes.len(), 8 * 200, "every mutation answered");
    let mut applied_comments = HashSet::new();
    for (id, answers) in &outcomes {
        let applied = answers.iter().filter(|o| *o == "applied").count();
        assert!(
            applied <= 1,
            "mutation {id} applied once, answers {answers:?}"
        );
        assert!(
            answers
                .iter()
                .all(|o| o == "applied" || o == "duplicate" || o == "rejected"),
            "{answers:?}"
        );
        if applied == 1 {
            if let Some(c) = comment_of.get(&id.to_string()) {
                applied_comments.insert(c.to_string());
            }
        }
    }
    // Comments never conflict: every one of them applied.
    assert_eq!(applied_comments.len(), comment_of.len());
    // The client that pulled as it went saw every one of them.
    done.send(true).expect("puller runs");
    let pulled_as_it_went = puller.await.expect("puller");
    let missed: Vec<&String> = applied_comments
        .iter()
        .filter(|c| !pulled_as_it_went.contains(*c))
        .collect();
    assert!(
        missed.is_empty(),
        "a cursor passed {} comments that became visible later: {:?}",
        missed.len(),
        missed.iter().take(5).collect::<Vec<_>>()
    );

    // Both instances pull the same changes from cursor 0, and they hold
    // every applied comment exactly once.
    let from_a = two.pull_all(&two.a.1).await;
    let from_b = two.pull_all(&two.b.1).await;
    assert_eq!(from_a, from_b, "one state through either instance");
    let pulled_comments: HashSet<String> = from_a
        .iter()
        .filter(|((entity, _), (_, data))| entity == "activity" && data["kind"] == "comment")
        .map(|((_, id), _)| id.clone())
        .collect();
    assert!(applied_comments.is_subset(&pulled_comments));
    for ticket in &tickets {
        let shown = two
            .call(
                &two.b.1,
                reqwest::Method::GET,
                &format!("/tickets/{ticket}"),
                None,
            )
            .await;
        let ids: Vec<&str> = shown["activity"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|e| e["kind"] == "comment")
            .filter_map(|e| e["id"].as_str())
            .collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "no comment twice on {ticket}");
    }

    // A change made only through A reaches the live stream on B.
    let (m, _) = comment(&tickets[0]);
    let v = two
        .call(
            &two.a.1,
            reqwest::Method::POST,
            "/sync/push",
            Some(json!({"client_id": Uuid::nil(), "mutations": [m]})),
        )
        .await;
    let seq = v["results"][0]["seq"]
        .as_i64()
        .unwrap_or_else(|| panic!("{v}"));
    tokio::time::timeout(Duration::from_secs(20), seen_on_b.wait_for(|c| *c >= seq))
        .await
        .expect("B's stream announces A's change")
        .expect("stream open");
    two.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_one_instance_loses_nothing_and_clients_retry_through_the_other() {
    let mut two = Two::start().await;
    let ticket = two.tickets(1).await.remove(0);
    let mut all = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let muts: Vec<(Value, Uuid)> = (0..400).map(|_| comment(&ticket)).collect();
        all.extend(muts.clone());
        let (http, url, token) = (two.http.clone(), two.a.1.clone(), two.token.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for (m, comment_id) in muts {
                let res = http
                    .post(format!("{url}/sync/push"))
                    .bearer_auth(&token)
                    .json(&json!({"client_id": Uuid::nil(), "mutations": [m]}))
                    .send()
                    .await;
                let Ok(res) = res else { break };
                let Ok(v) = res.json::<Value>().await else {
                    break;
                };
                if v["results"][0]["outcome"] == "applied" {
                    acked.push(comment_id);
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    two.a.0.kill();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("task"));
    }
    assert!(
        !acked.is_empty(),
        "some pushes were acknowledged before the kill"
    );
    assert!(acked.len() < all.len(), "the kill came mid-push");

    let timeline = |shown: &Value| -> Vec<String> {
        shown["activity"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|e| e["kind"] == "comment")
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    };
    let shown = two
        .call(
            &two.b.1,
            reqwest::Method::GET,
            &format!("/tickets/{ticket}"),
            None,
        )
        .await;
    let ids = timeline(&shown);
    for id in &acked {
        let n = ids.iter().filter(|x| **x == id.to_string()).count();
        assert_eq!(n, 1, "acknowledged comment {id} present exactly once");
    }
    // The clients retry everything through B.
    for chunk in all.chunks(500) {
        let muts: Vec<&Value> = chunk.iter().map(|(m, _)| m).collect();
        let v = two
            .call(
                &two.b.1,
                reqwest::Method::POST,
                "/sync/push",
                Some(json!({"client_id": Uuid::nil(), "mutations": muts})),
            )
            .await;
        let results = v["results"].as_array().unwrap_or_else(|| panic!("{v}"));
        assert!(
            results
                .iter()
                .all(|r| r["outcome"] == "applied" || r["outcome"] == "duplicate"),
            "{v}"
        );
    }
    let shown = two
        .call(
            &two.b.1,
            reqwest::Method::GET,
            &format!("/tickets/{ticket}"),
            None,
        )
        .await;
    let ids = timeline(&shown);
    assert_eq!(ids.len(), all.len(), "each mutation applied exactly once");
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), all.len());
    two.stop();
}

/// The last handle to a PostgreSQL store may go on a thread that drives
/// async tasks (a server task ending, a test's end): its connections close
/// without taking the thread down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_dropped_on_an_async_thread_closes_its_connections_quietly() {
    let mut team = Team::new(Kind::Postgres).await;
    let running = team.running.take().expect("running");
    running.shutdown().await.expect("shutdown");
    let store = team.store.clone();
    drop(team);
    // Used once more off the async threads, so the pool holds a connection...
    let used = store.clone();
    tokio::task::spawn_blocking(move || used.pull(0, 10, fyncall_server::time::now()))
        .await
        .expect("joined")
        .expect("pull");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::sync::Arc::strong_count(&store) > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server let go of its store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and the last handle is dropped here, on a runtime worker.
    drop(store);
}

/// Presence is shared between the instances through the database's
/// notifications: a heartbeat taken by A shows on a stream served by B,
/// and leaving through A ends it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_taken_by_one_instance_shows_on_the_other() {
    let two = Two::start().await;
    let ids = two.tickets(1).await;
    let mut on_b = crate::presence::Watch::open(&two.http, &two.b.1, &two.token).await;
    on_b.until(Duration::from_secs(5), |l| l.is_empty()).await;
    let started = std::time::Instant::now();
    let beat = two
        .http
        .post(format!("{}/presence", two.a.1))
        .bearer_auth(&two.token)
        .json(&json!({"ticket_id": ids[0], "state": "typing"}))
        .send()
        .await
        .expect("heartbeat");
    assert_eq!(beat.status(), 204);
    let list = on_b
        .until(Duration::from_secs(5), |l| {
            l.iter()
                .any(|e| e["ticket_id"] == json!(ids[0]) && e["state"] == "typing")
        })
        .await;
    println!(
        "a heartbeat through A reached a stream on B in {:?}",
        started.elapsed()
    );
    assert_eq!(list.len(), 1);
    two.http
        .post(format!("{}/presence", two.a.1))
        .bearer_auth(&two.token)
        .json(&json!({"state": "left"}))
        .send()
        .await
        .expect("left");
    on_b.until(Duration::from_secs(5), |l| l.is_empty()).await;
}

/// A heartbeat any database role NOTIFYs itself (not from a server's own
/// session) shows nowhere: a process keeps only beats that name a live
/// session of their agent, and the payloads carry session ids, never
/// token hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_notified_by_anyone_else_is_ignored() {
    let two = Two::start().await;
    let ids = two.tickets(2).await;
    let me: Value = two
        .http
        .get(format!("{}/me", two.a.1))
        .bearer_auth(&two.token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let agent = me["id"].as_str().expect("an id").to_owned();
    let mut on_b = crate::presence::Watch::open(&two.http, &two.b.1, &two.token).await;
    on_b.until(Duration::from_secs(5), |l| l.is_empty()).await;
    let fyncall_server::Database::Postgres(url) = two.place.database.clone() else {
        panic!("two instances share a PostgreSQL database");
    };
    let fake = json!({
        "origin": Uuid::new_v4(), "session": Uuid::new_v4().to_string(), "agent_id": agent,
        "ticket_id": ids[0], "state": "typing",
    })
    .to_string();
    tokio::task::spawn_blocking(move || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("the database");
        db.execute("SELECT pg_notify('fyncall_presence', $1)", &[&fake])
            .expect("NOTIFY");
    })
    .await
    .expect("notified");
    // Then a real one through A: B shows it, and only it.
    let beat = two
        .http
        .post(format!("{}/presence", two.a.1))
        .bearer_auth(&two.token)
        .json(&json!({"ticket_id": ids[1], "state": "viewing"}))
        .send()
        .await
        .expect("heartbeat");
    assert_eq!(beat.status(), 204);
    let list = on_b.until(Duration::from_secs(5), |l| !l.is_empty()).await;
    assert_eq!(
        list,
        vec![json!({"agent_id": agent, "ticket_id": ids[1], "state": "viewing"})],
        "the notified beat was taken"
    );
}

/// Restarts the test cluster (`scripts/pg-throwaway`: its data folder in
/// `FYNCALL_TEST_POSTGRES_SOCKET`), fast, waiting until it is back.
fn restart_the_cluster() {
    let dir = std::env::var("FYNCALL_TEST_POSTGRES_SOCKET")
        .expect("FYNCALL_TEST_POSTGRES_SOCKET names the throwaway cluster's folder");
    let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed")
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pg_ctl"))
        .filter(|p| p.exists())
        .max()
        .expect("pg_ctl");
    let data = format!("{dir}/data");
    // The shutdown checkpoint flushes what every test wrote: done first, so
    // the restart itself is quick on a loaded machine too.
    let admin = fyncall_testkit::postgres::test_cluster();
    postgres::Client::connect(&admin, postgres::NoTls)
        .and_then(|mut c| c.batch_execute("CHECKPOINT"))
        .expect("a checkpoint before the restart");
    let mut command = if Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]).arg(&pg_ctl);
        c
    } else {
        Command::new(&pg_ctl)
    };
    let out = command
        .args(["-D", &data, "-m", "fast", "-w", "-t", "300", "restart"])
        .stdout(Stdio::null())
        .output()
        .expect("pg_ctl runs");
    assert!(
        out.status.success(),
        "pg_ctl restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bad day: PostgreSQL restarts while two server processes take pushes.
/// Clients see `unavailable` (or a dropped connection), send the same
/// mutation again, and nothing acknowledged is lost or applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the shared test cluster; scripts/test runs it alone"]
async fn postgres_restarting_under_pushes_loses_and_doubles_nothing() {
    let two = Two::start().await;
    let ticket = two.tickets(1).await.remove(0);
    let urls = [two.a.1.clone(), two.b.1.clone()];
    let (http, token, client) = (two.http.clone(), two.token.clone(), Uuid::now_v7());
    let pushing = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        let mut refused = 0u32;
        for i in 0..150u32 {
            let (id, comment) = (Uuid::now_v7(), Uuid::now_v7());
            let body = format!("through a restart {i:03}");
            let (mut tries, began) = (0usize, std::time::Instant::now());
            loop {
                tries += 1;
                assert!(
                    began.elapsed() < Duration::from_secs(300),
                    "push {i} never got through"
                );
                let url = &urls[(i as usize + tries) % 2];
                let answer = http
                    .post(format!("{url}/sync/push"))
                    .bearer_auth(&token)
                    .json(&json!({"client_id": client, "mutations": [
                        {"id": id, "name": "comment", "client_at": chrono::Utc::now(),
                         "args": {"ticket_id": ticket, "id": comment, "body": body}}]}))
                    .send()
                    .await;
                let Ok(res) = answer else {
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let status = res.status().as_u16();
                let v: Value = res.json().await.unwrap_or(Value::Null);
                assert_ne!(status, 500, "a restart is never a 500: {v}");
                let outcome = v["results"][0]["outcome"].as_str().unwrap_or("");
                if outcome == "applied" || outcome == "duplicate" {
                    acknowledged.push(body);
                    // Paced, so the pushes span the restart.
                    tokio::time::sleep(Duration::from_millis(25)).await;
                    break;
                }
                let code = v["results"][0]["error"]["code"]
                    .as_str()
                    .or(v["error"]["code"].as_str())
                    .unwrap_or("");
                assert_eq!(
                    code, "unavailable",
                    "while PostgreSQL restarts: {status} {v}"
                );
                refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        (acknowledged, refused)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::task::spawn_blocking(restart_the_cluster)
        .await
        .expect("restarted");
    let (acknowledged, refused) = pushing.await.expect("the pusher");
    println!("150 pushes through a PostgreSQL restart: {refused} refusals on the way");
    // B answers `unavailable` until its pool has new connections: a pull
    // that gets its changes, then the whole of them.
    fyncall_testkit::wait::wait_for("B to read again", Duration::from_secs(60), || {
        let (http, url, token) = (two.http.clone(), two.b.1.clone(), two.token.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?
                .block_on(async move {
                    let res = http
                        .get(format!("{url}/sync/pull?cursor=0&limit=1"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .ok()?;
                    let v: Value = res.json().await.ok()?;
                    v["changes"].is_array().then_some(())
                })
        })
        .join()
        .ok()
        .flatten()
    });
    let from_b = two.pull_all(&two.b.1).await;
    let mut arrived: Vec<String> = from_b
        .values()
        .filter(|(_, data)| data["kind"] == "comment")
        .filter_map(|(_, data)| data["data"]["body"].as_str().map(str::to_owned))
        .filter(|b| b.starts_with("through a restart"))
        .collect();
    arrived.sort();
    assert_eq!(arrived, acknowledged, "each acknowledged push once");
    two.stop();
}
