//! Sync push, pull and stream (API.md "Sync").

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

fn comment(ticket: &str, body: &str) -> Value {
    json!({"id": Uuid::now_v7(), "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": ticket, "body": body}, "client_at": "2026-01-01T00:00:00.000Z"})
}

async fn push_in_order_duplicates_and_rejections(store: Kind) {
    let t = Team::new(store).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id");
    let new_id = Uuid::now_v7();
    let first = comment(id, "one");
    let refused = json!({"id": Uuid::now_v7(), "name": "change_status", "args": {"ticket_id": id, "status": "closed"}});
    let unknown = json!({"id": Uuid::now_v7(), "name": "launch_rocket", "args": {}});
    let create = json!({"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": new_id, "conversation_id": t.conversation, "subject": "Offline ticket", "priority": "high"}});
    let second = comment(id, "two");
    let mutations = json!([first, refused, unknown, create, second]);
    let (s, v) = t
        .post(
            &t.alice,
            "/sync/push",
            json!({"client_id": Uuid::now_v7(), "mutations": mutations}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let outcomes: Vec<&str> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(
        outcomes,
        ["applied", "rejected", "rejected", "applied", "applied"],
        "a rejection does not stop later ones"
    );
    assert_eq!(v["results"][1]["error"]["code"], "invalid_transition");
    assert_eq!(v["results"][2]["error"]["code"], "bad_request");
    let seqs: Vec<i64> = v["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["seq"].as_i64())
        .collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "applied in order: {seqs:?}"
    );

    // The same push again: every one a duplicate, nothing changes.
    let (_, before) = t.get(&t.alice, "/sync/pull?cursor=0&limit=500").await;
    let (_, again) = t
        .post(
            &t.alice,
            "/sync/push",
            json!({"client_id": Uuid::now_v7(), "mutations": mutations}),
        )
        .await;
    let outcomes: Vec<&str> = again["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["duplicate"; 5]);
    assert_eq!(
        again["results"][0]["seq"], v["results"][0]["seq"],
        "the first outcome"
    );
    let (_, after) = t.get(&t.alice, "/sync/pull?cursor=0&limit=500").await;
    assert_eq!(before["cursor"], after["cursor"]);

    let (_, shown) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    let comments: Vec<&str> = shown["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "comment")
        .filter_map(|e| e["data"]["body"].as_str())
        .collect();
    assert_eq!(comments, ["one", "two"]);
    let entry = shown["activity"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "comment"))
        .cloned()
        .expect("entry");
    assert_eq!(
        entry["client_at"], "2026-01-01T00:00:00.000Z",
        "the client's time is kept beside the server's"
    );
    let (s, created) = t.get(&t.alice, &format!("/tickets/{new_id}")).await;
    assert_eq!(
        (s.as_u16(), created["ticket"]["subject"].as_str()),
        (200, Some("Offline ticket"))
    );

    // Another mutation creating a ticket with an id already taken: refused,
    // and the ticket there stays as it was (number, subject, priority).
    // Between two new tickets in one push: they are applied, with numbers
    // that follow each other (the refused one took none).
    let reuse = json!({"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": new_id, "conversation_id": t.conversation, "subject": "Taken over", "priority": "low"}});
    let fresh = |subject: &str| {
        let id = Uuid::now_v7();
        (
            id,
            json!({"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": id, "conversation_id": t.conversation, "subject": subject, "priority": "low"}}),
        )
    };
    let (before, first) = fresh("Before the taken one");
    let (after, last) = fresh("After the taken one");
    let (_, v) = t
        .post(
            &t.alice,
            "/sync/push",
            json!({"client_id": Uuid::now_v7(), "mutations": [first, reuse, last]}),
        )
        .await;
    assert_eq!(v["results"][0]["outcome"], "applied", "{v}");
    assert_eq!(v["results"][1]["outcome"], "rejected", "{v}");
    assert_eq!(v["results"][1]["error"]["code"], "conflict", "{v}");
    assert_eq!(v["results"][2]["outcome"], "applied", "{v}");
    let (_, before) = t.get(&t.alice, &format!("/tickets/{before}")).await;
    let (_, after) = t.get(&t.alice, &format!("/tickets/{after}")).await;
    let number = |v: &serde_json::Value| v["ticket"]["number"].as_i64().expect("number");
    assert_eq!(number(&after), number(&before) + 1, "{before} {after}");
    let (_, kept) = t.get(&t.alice, &format!("/tickets/{new_id}")).await;
    assert_eq!(kept["ticket"]["subject"], "Offline ticket");
    assert_eq!(kept["ticket"]["priority"], "high");
    assert_eq!(kept["ticket"]["number"], created["ticket"]["number"]);
}

async fn pull_pages_through_every_change(store: Kind) {
    let t = Team::new(store).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(
            t.ticket(&t.alice, "low").await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let mut cursor = 0;
    let mut tickets = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let (s, v) = t
            .get(&t.bob, &format!("/sync/pull?cursor={cursor}&limit=5"))
            .await;
        assert_eq!(s.as_u16(), 200);
        assert!(v["server_time"].is_string());
        let changes = v["changes"].as_array().expect("changes");
        assert!(changes.len() <= 5);
        let mut last = cursor;
        for c in changes {
            let seq = c["seq"].as_i64().expect("seq");
            assert!(seq > last, "oldest change first");
            last = seq;
            if c["entity"] == "ticket" {
                assert!(c["data"]["sla"].is_object());
                tickets.insert(c["id"].as_str().expect("id").to_owned());
            }
        }
        cursor = v["cursor"].as_i64().expect("cursor");
        pages += 1;
        if !v["has_more"].as_bool().expect("has_more") {
            break;
        }
    }
    assert!(pages >= 5);
    assert_eq!(tickets.len(), 12);
    let (_, v) = t.get(&t.bob, &format!("/sync/pull?cursor={cursor}")).await;
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(0), "caught up");
    assert_eq!(v["cursor"], cursor);
}

async fn stream_announces_changes_made_by_another_client(store: Kind) {
    let t = Team::new(store).await;
    let res = t
        .http
        .get(format!("{}/sync/stream", t.url))
        .bearer_auth(&t.bob)
        .send()
        .await
        .expect("stream");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let mut text = String::new();
    // The first event tells the current cursor.
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("first event")
            .expect("chunk")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: changed"), "{text}");
    text.clear();
    let ticket = t.ticket(&t.alice, "high").await;
    let (_, pulled) = t.get(&t.alice, "/sync/pull?cursor=0&limit=500").await;
    let expected = pulled["cursor"].as_i64().expect("cursor");
    while !text.contains(&format!("\"cursor\":{expected}")) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("changed event in time")
            .expect("chunk")
            .expect("bytes");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(ticket["id"].is_string());
}

async fn snapshot_holds_every_row_as_of_its_cursor(store: Kind) {
    let t = Team::new(store).await;
    for priority in ["low", "high", "urgent"] {
        let ticket = t.ticket(&t.alice, priority).await;
        let id = ticket["id"].as_str().expect("id").to_owned();
        let (s, v) = t
            .post(
                &t.alice,
                &format!("/tickets/{id}/comments"),
                json!({"body": "Asked the carrier."}),
            )
            .await;
        assert!(s.is_success(), "a comment: {s} {v}");
    }
    let (s, v) = t
        .call(
            &t.integration,
            reqwest::Method::POST,
            &format!("/integrations/conversations/{}/messages", t.conversation),
            Some(json!({"author": "customer", "body": "Any news?"})),
        )
        .await;
    assert!(s.is_success(), "a message: {s} {v}");
    // Without a token: refused like every sync call.
    let res = t
        .http
        .get(format!("{}/sync/snapshot", t.url))
        .send()
        .await
        .expect("snapshot");
    assert_eq!(res.status().as_u16(), 401);
    let res = t
        .http
        .get(format!("{}/sync/snapshot", t.url))
        .bearer_auth(&t.bob)
        .send()
        .await
        .expect("snapshot");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let text = res.text().await.expect("body");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON value"))
        .collect();
    let head = &lines[0];
    let rows = head["rows"].as_u64().expect("rows") as usize;
    assert_eq!(lines.len(), rows + 2, "head, rows, end");
    assert_eq!(lines[rows + 1], json!({"end": rows}));
    assert!(head["database_id"].is_string() && head["server_time"].is_string());
    // The same rows a pull from 0 gives, as of the same cursor.
    let (pulled, cursor) = crate::common::pull_all(&t.http, &t.url, &t.bob, 0).await;
    assert_eq!(head["cursor"], cursor);
    let snapshot: std::collections::BTreeMap<(String, String), Value> = lines[1..=rows]
        .iter()
        .map(|l| {
            assert!(l.get("seq").is_none(), "a snapshot row has no seq: {l}");
            let key = (
                l["entity"].as_str().expect("entity").to_owned(),
                l["id"].as_str().expect("id").to_owned(),
            );
            (key, l["data"].clone())
        })
        .collect();
    assert_eq!(snapshot.len(), rows, "a row came twice");
    let mut seen = 0;
    for change in &pulled {
        let entity = change["entity"].as_str().expect("entity");
        let id = change["id"].as_str().expect("id").to_owned();
        let mut data = change["data"].clone();
        if entity == "ticket" {
            data.as_object_mut().expect("ticket").remove("sla");
        }
        if entity == "conversation" {
            // A snapshot sends messages on their own rows.
            for m in data["messages"].as_array().cloned().unwrap_or_default() {
                let key = (
                    "message".to_owned(),
                    m["id"].as_str().expect("id").to_owned(),
                );
                assert_eq!(snapshot.get(&key), Some(&m), "message {key:?}");
            }
            data.as_object_mut()
                .expect("conversation")
                .remove("messages");
        }
        if entity == "settings" {
            continue;
        }
        let key = (entity.to_owned(), id);
        assert_eq!(snapshot.get(&key), Some(&data), "{key:?}");
        seen += 1;
    }
    assert!(seen >= 3 + 3, "tickets and comments were compared");
    for kind in [
        "agent",
        "conversation",
        "message",
        "ticket",
        "activity",
        "settings",
    ] {
        assert!(
            snapshot.keys().any(|(e, _)| e == kind),
            "no {kind} row in the snapshot"
        );
    }
}

/// A client that stops reading a first download (a cut line that left its
/// side open) holds the server's snapshot place only until it has read
/// nothing for the stall time (1 s here): then the snapshot ends and the
/// place is free; meanwhile a second first download by the same agent is
/// refused (`unavailable`: pull page by page), never a second place taken.
async fn a_first_download_nobody_reads_gives_its_place_back(store: Kind) {
    let config = fyncall_server::Config {
        snapshot_stall: Duration::from_secs(1),
        ..Default::default()
    };
    let t = Team::with_config(store, config).await;
    // Enough rows (about 8 MB) that the snapshot outgrows every buffer
    // between the server and a client that reads nothing.
    let (db, alice, conversation) = (
        t.store.clone(),
        Uuid::parse_str(&t.alice_id).expect("id"),
        Uuid::parse_str(&t.conversation).expect("id"),
    );
    tokio::task::spawn_blocking(move || {
        let now = chrono::Utc::now();
        for i in 0..4000 {
            let create =
                fyncall_domain::Mutation::CreateTicket(fyncall_domain::mutation::CreateTicket {
                    id: Uuid::now_v7(),
                    conversation_id: conversation,
                    subject: format!("Parcel {i} stuck in transit"),
                    priority: fyncall_domain::Priority::Normal,
                    description: Some("The parcel has not moved for a week. ".repeat(50)),
                    category: None,
                    assignee_id: None,
                });
            db.apply(
                fyncall_domain::Caller::Agent(alice),
                &create,
                Uuid::now_v7(),
                now,
            )
            .expect("a ticket");
        }
    })
    .await
    .expect("seeded");
    let addr = t
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/api/v1")
        .to_owned();
    // A reader that takes the head of the answer, then nothing more.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("a small buffer");
    let mut stuck = socket
        .connect(addr.parse().expect("an address"))
        .await
        .expect("connects");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stuck
        .write_all(
            format!(
                "GET /api/v1/sync/snapshot HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\r\n",
                t.alice
            )
            .as_bytes(),
        )
        .await
        .expect("asks");
    let mut head = [0u8; 64];
    let n = stuck.read(&mut head).await.expect("an answer begins");
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
    // Meanwhile, the same agent's second first download is refused at once.
    let (s, v) = t.get(&t.alice, "/sync/snapshot").await;
    assert_eq!(s.as_u16(), 503, "{v}");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
    // Within moments of the stall, the place is free and a download whole.
    let mut whole = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let res = t
            .http
            .get(format!("{}/sync/snapshot", t.url))
            .bearer_auth(&t.alice)
            .send()
            .await
            .expect("answers");
        if res.status().as_u16() == 200 {
            whole = Some(res.text().await.expect("the whole snapshot"));
            break;
        }
    }
    let whole = whole.expect("the stalled snapshot never gave its place back");
    let last: Value = serde_json::from_str(whole.lines().last().expect("lines")).expect("json");
    assert!(last.get("end").is_some(), "a snapshot to its end: {last}");
    assert!(whole.lines().count() > 4000);
    drop(stuck);
}

/// Bob's snapshot, a JSON value a line.
async fn snapshot_lines(t: &Team) -> Vec<Value> {
    let res = t
        .http
        .get(format!("{}/sync/snapshot", t.url))
        .bearer_auth(&t.bob)
        .send()
        .await
        .expect("snapshot");
    assert_eq!(res.status().as_u16(), 200);
    res.text()
        .await
        .expect("body")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON value"))
        .collect()
}

/// Seeds, with the team's own write path and a clock of its own, a ticket
/// created at `created` and (when `closed` is given) resolved and closed then;
/// its id and number.
async fn old_ticket(
    t: &Team,
    created: fyncall_domain::Timestamp,
    closed: Option<fyncall_domain::Timestamp>,
) -> (String, i64) {
    use fyncall_domain::mutation::{ChangeStatus, Comment, CreateTicket};
    use fyncall_domain::{Caller, Mutation, Priority, Status};
    let store = t.store.clone();
    let alice = Uuid::parse_str(&t.alice_id).expect("alice");
    let conversation = Uuid::parse_str(&t.conversation).expect("conversation");
    let id = Uuid::now_v7();
    let body = tokio::task::spawn_blocking(move || {
        let mut steps = vec![
            (
                Mutation::CreateTicket(CreateTicket {
                    id,
                    conversation_id: conversation,
                    subject: "Refund for a lost parcel".into(),
                    priority: Priority::Normal,
                    description: None,
                    category: None,
                    assignee_id: Some(alice),
                }),
                created,
            ),
            (
                Mutation::Comment(Comment {
                    ticket_id: id,
                    id: Uuid::now_v7(),
                    body: "Refunded in full.".into(),
                    mention_ids: Vec::new(),
                }),
                created,
            ),
        ];
        if let Some(closed) = closed {
            for status in [Status::Resolved, Status::Closed] {
                steps.push((
                    Mutation::ChangeStatus(ChangeStatus {
                        ticket_id: id,
                        status,
                        note: None,
                    }),
                    closed,
                ));
            }
        }
        for (m, at) in steps {
            store
                .apply(Caller::Agent(alice), &m, Uuid::now_v7(), at)
                .expect("seeded");
        }
        store.ticket(id, closed.unwrap_or(created)).expect("read")
    })
    .await
    .expect("joined");
    (id.to_string(), body.ticket.number.expect("numbered"))
}

/// The snapshot is the desktop's working set: tickets not closed, however
/// old, and those closed within the sync window, with their timelines;
/// a ticket closed before it is not sent, and stays one request away, by id
/// or by number, with its timeline.
async fn snapshot_sends_the_working_set(store: Kind) {
    let t = Team::new(store).await;
    let now = fyncall_server::time::now();
    let days = |n: i64| chrono::TimeDelta::days(n);
    let (archived, number) = old_ticket(&t, now - days(400), Some(now - days(91))).await;
    let (recent, _) = old_ticket(&t, now - days(400), Some(now - days(89))).await;
    let (waiting, _) = old_ticket(&t, now - days(700), None).await;
    let lines = snapshot_lines(&t).await;
    let rows = lines[0]["rows"].as_u64().expect("rows") as usize;
    assert_eq!(lines.len(), rows + 2, "the head counts what is sent");
    let tickets: Vec<&str> = lines
        .iter()
        .filter(|l| l["entity"] == "ticket")
        .map(|l| l["id"].as_str().expect("id"))
        .collect();
    assert!(
        tickets.contains(&recent.as_str()),
        "closed 89 days ago: sent"
    );
    assert!(tickets.contains(&waiting.as_str()), "open 700 days: sent");
    assert!(
        !tickets.contains(&archived.as_str()),
        "closed 91 days ago: not sent"
    );
    let timeline_of = |id: &str| {
        lines
            .iter()
            .filter(|l| l["entity"] == "activity" && l["data"]["ticket_id"] == id)
            .count()
    };
    assert_eq!(timeline_of(&archived), 0, "nor its timeline");
    assert!(
        timeline_of(&recent) >= 4,
        "a sent ticket comes with its timeline"
    );
    // A team that keeps a year sends it too.
    let (_, mut settings) = t.get(&t.admin, "/settings").await;
    assert_eq!(settings["sync_window_days"], 90, "the default window");
    settings["sync_window_days"] = json!(365);
    let (s, v) = t
        .call(
            &t.admin,
            reqwest::Method::PUT,
            "/settings",
            Some(settings.clone()),
        )
        .await;
    assert!(s.is_success(), "{s} {v}");
    let lines = snapshot_lines(&t).await;
    assert!(
        lines.iter().any(|l| l["id"] == archived.as_str()),
        "within a year's window"
    );
    settings["sync_window_days"] = json!(0);
    let (s, v) = t
        .call(&t.admin, reqwest::Method::PUT, "/settings", Some(settings))
        .await;
    assert_error(&(s, v.clone()), 422, "invalid");
    assert!(v.to_string().contains("sync_window_days"), "{v}");
    // The archive: by id and by number, with the timeline.
    for path in [format!("/tickets/{archived}"), format!("/tickets/{number}")] {
        let (s, v) = t.get(&t.bob, &path).await;
        assert_eq!(s.as_u16(), 200, "{path}: {v}");
        assert_eq!(v["ticket"]["id"], archived.as_str());
        assert_eq!(v["ticket"]["status"], "closed");
        assert!(
            v["activity"].as_array().expect("timeline").len() >= 4,
            "{v}"
        );
    }
    // The archive's page alone, without counting every match.
    let (s, v) = t
        .get(
            &t.bob,
            "/tickets?view=all&status=closed&q=parcel&total=false",
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert!(v.get("total").is_none(), "{v}");
    let ids: Vec<&Value> = v["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| &t["id"])
        .collect();
    assert!(ids.contains(&&json!(archived)) && ids.len() == 2, "{v}");
    let (s, v) = t
        .get(&t.bob, "/tickets?view=all&status=closed&q=parcel")
        .await;
    assert_eq!((s.as_u16(), v["total"].as_i64()), (200, Some(2)), "{v}");
    let (s, v) = t.get(&t.bob, "/tickets?total=maybe").await;
    assert_error(&(s, v), 400, "bad_request");
    let (s, v) = t.get(&t.bob, "/tickets/999999").await;
    assert_error(&(s, v.clone()), 404, "not_found");
    assert!(v.to_string().contains("#999999"), "{v}");
    let (s, v) = t.get(&t.bob, "/tickets/last-week").await;
    assert_error(&(s, v.clone()), 400, "bad_request");
    assert!(v.to_string().contains("ticket number"), "{v}");
}

crate::both_stores!(
    push_in_order_duplicates_and_rejections,
    a_first_download_nobody_reads_gives_its_place_back,
    pull_pages_through_every_change,
    snapshot_holds_every_row_as_of_its_cursor,
    snapshot_sends_the_working_set,
    stream_announces_changes_made_by_another_client
);
