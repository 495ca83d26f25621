//! A long offline queue never jams sync: pushes are cut by bytes as well as
//! by count, and a change too large for any push becomes a sync problem
//! while the rest goes on.

use serde_json::json;
use uuid::Uuid;

use crate::common::*;

#[test]
fn two_hundred_long_comments_and_one_oversized_change_sync_in_one_go() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let mine = workable(&home);
    let ticket = mine[0]["id"].as_str().expect("id").to_owned();
    server.stop();

    // A 3 MiB comment written straight into the outbox, first in line, as a
    // cache from another version or a bug could hold: no push can carry it.
    let conn = rusqlite::Connection::open(home.join("cache.sqlite")).expect("cache file");
    let huge = json!({"name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": ticket, "body": "x".repeat(3 * 1024 * 1024)}});
    let now = chrono::Utc::now().timestamp_millis();
    conn.execute(
        "INSERT INTO outbox (id, mutation, client_at, made_at, summary) VALUES (?1, ?2, ?3, ?3, 'comment (3 MiB)')",
        rusqlite::params![Uuid::now_v7().to_string(), huge.to_string(), now],
    )
    .expect("crafted outbox row");
    drop(conn);
    assert_eq!(
        json_of(&home, &["pending"]).as_array().map(Vec::len),
        Some(1)
    );

    // 200 comments of 15,000 characters: about 3 MB, three times the
    // server's body limit, so they need several pushes.
    let mut bodies = Vec::new();
    for i in 0..200 {
        let body = format!("long comment {i:03} {}", "lorem ipsum ".repeat(1250));
        let body: String = body.chars().take(15_000).collect();
        expect(&home, &["comment", &ticket, &body], 0);
        bodies.push(body);
    }
    // Each command tries to send what is queued; the oversized change needs
    // no server to be judged, so it has left the queue already.
    assert_eq!(
        json_of(&home, &["pending"]).as_array().map(Vec::len),
        Some(200)
    );

    server.restart();
    expect(&home, &["sync"], 0);
    assert_eq!(
        json_of(&home, &["pending"]).as_array().map(Vec::len),
        Some(0),
        "nothing stays stuck behind the oversized change"
    );
    let problems = json_of(&home, &["problems"]);
    let problems = problems.as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0]["code"], "too_large");
    assert!(
        problems[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 MiB")),
        "says what the limit is: {}",
        problems[0]["message"]
    );

    let admin = server.api(ADMIN);
    let stored: Vec<String> = admin
        .all_activity()
        .into_iter()
        .filter(|a| a["kind"] == "comment")
        .filter_map(|a| a["data"]["body"].as_str().map(str::to_owned))
        .filter(|b| b.starts_with("long comment"))
        .collect();
    assert_eq!(stored, bodies, "each long comment once, in order");
}
