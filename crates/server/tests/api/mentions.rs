//! RULES.md "Mentions" over HTTP, both stores: a comment names agents with
//! `mention_ids`; each finds it in `GET /me/mentions` until they mark it
//! read, on this machine or another (the mark is the server's).

use serde_json::json;

use crate::common::*;

async fn mentions_are_listed_per_agent_until_read(store: Kind) {
    let t = Team::new(store).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let number = ticket["number"].as_i64().expect("number");

    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/comments"),
            json!({"body": "@Bob can you check?", "mention_ids": [t.bob_id]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    assert_eq!(r.1["data"]["mention_ids"], json!([t.bob_id]));
    let entry = r.1["id"].as_str().expect("entry id").to_owned();
    // A stranger cannot be mentioned; nothing is written.
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/comments"),
            json!({"body": "hello", "mention_ids": [uuid::Uuid::now_v7()]}),
        )
        .await;
    assert_error(&r, 422, "invalid");

    let (s, mine) = t.get(&t.bob, "/me/mentions?unread=true").await;
    assert_eq!(s.as_u16(), 200, "{mine}");
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine[0]["entry_id"], entry.as_str());
    assert_eq!(mine[0]["ticket_id"], id.as_str());
    assert_eq!(mine[0]["ticket_number"], number);
    assert_eq!(mine[0]["by_agent_id"], t.alice_id.as_str());
    assert_eq!(mine[0]["read"], false);
    // Alice was not mentioned; her marks do not touch Bob's.
    assert_eq!(t.get(&t.alice, "/me/mentions").await.1, json!([]));
    let (s, _) = t
        .post(&t.alice, "/me/mentions/read", json!({"entry_ids": [entry]}))
        .await;
    assert_eq!(s.as_u16(), 204);
    assert_eq!(
        t.get(&t.bob, "/me/mentions?unread=true")
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_error(
        &t.get(&t.bob, "/me/mentions?unread=maybe").await,
        400,
        "bad_request",
    );

    // Bob marks it read (as his desktop does through a sync push).
    let r = t
        .post(
            &t.bob,
            "/sync/push",
            json!({"client_id": uuid::Uuid::now_v7(), "mutations": [{"id": uuid::Uuid::now_v7(), "name": "mark_mentions_read",
                "args": {"entry_ids": [entry]}, "client_at": "2026-01-01T00:00:00.000Z"}]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(t.get(&t.bob, "/me/mentions?unread=true").await.1, json!([]));
    let all = t.get(&t.bob, "/me/mentions").await.1;
    assert_eq!(all[0]["read"], true, "{all}");
}

crate::both_stores!(mentions_are_listed_per_agent_until_read);
