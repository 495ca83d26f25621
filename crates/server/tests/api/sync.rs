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

crate::both_stores!(
    push_in_order_duplicates_and_rejections,
    a_first_download_nobody_reads_gives_its_place_back,
    pull_pages_through_every_change,
    snapshot_holds_every_row_as_of_its_cursor,
    stream_announces_changes_made_by_another_client
);
