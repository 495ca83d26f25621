//! The inbox (`GET /conversations`) on both stores: the three views, their
//! orders, search, paging and each row's summary.

use reqwest::Method;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::{Kind, Team, assert_error};

async fn say(team: &Team, conversation: &str, author: &str, body: &str) {
    let (s, v) = team
        .post(
            &team.integration,
            &format!("/integrations/conversations/{conversation}/messages"),
            json!({"author": author, "body": body}),
        )
        .await;
    assert!(s.is_success(), "{v}");
}

async fn open(team: &Team, name: &str) -> String {
    let (s, v) = team
        .call(&team.integration, Method::POST, "/integrations/conversations",
            Some(json!({"customer": {"name": name, "email": format!("{}@example.net", name.to_lowercase())}, "channel": "email"})))
        .await;
    assert!(s.is_success(), "{v}");
    v["id"].as_str().expect("id").to_owned()
}

/// Every id of a view, page by page (`limit` rows a page).
async fn ids(team: &Team, token: &str, query: &str, limit: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, page) = team
            .get(
                token,
                &format!("/conversations?{query}&limit={limit}{cursor}"),
            )
            .await;
        assert!(s.is_success(), "{query}: {page}");
        for c in page["conversations"].as_array().expect("rows") {
            out.push(c["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

async fn inbox_views_orders_and_search(kind: Kind) {
    let team = Team::new(kind).await;
    // The team's first conversation (Casey) has no message; three more chats.
    let ana = open(&team, "Ana").await;
    let ben = open(&team, "Ben").await;
    let cy = open(&team, "Cy").await;
    say(&team, &ben, "customer", "Where is my refund?").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    say(&team, &ana, "customer", "Login fails").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    say(&team, &cy, "customer", "Hello").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // An answer moves Ben to the top of All, but not out of the waiting order.
    say(&team, &ben, "ai", "We are checking the refund").await;

    let unassigned = ids(&team, &team.alice, "view=unassigned", 2).await;
    assert_eq!(
        unassigned,
        vec![
            team.conversation.clone(),
            ben.clone(),
            ana.clone(),
            cy.clone()
        ],
        "who has waited longest first (no message: since it was opened)"
    );
    let all = ids(&team, &team.alice, "view=all", 3).await;
    assert_eq!(
        all,
        vec![
            ben.clone(),
            cy.clone(),
            ana.clone(),
            team.conversation.clone()
        ]
    );

    // Alice claims Ana's chat and makes a ticket on it; Bob's Mine stays empty.
    let (s, v) = team
        .post(
            &team.alice,
            &format!("/conversations/{ana}/claim"),
            json!({}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, v) = team
        .post(
            &team.alice,
            "/tickets",
            json!({"conversation_id": ana, "subject": "Login", "priority": "high"}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(
        ids(&team, &team.alice, "view=mine", 5).await,
        vec![ana.clone()]
    );
    assert!(ids(&team, &team.bob, "view=mine", 5).await.is_empty());
    assert!(
        !ids(&team, &team.alice, "view=unassigned", 5)
            .await
            .contains(&ana)
    );

    // One row as the inbox shows it.
    let (_, page) = team.get(&team.alice, "/conversations?view=mine").await;
    let row = &page["conversations"][0];
    assert_eq!(row["customer"]["name"], "Ana");
    assert_eq!(row["channel"], "email");
    assert_eq!(row["assignee_id"], Value::String(team.alice_id.clone()));
    assert_eq!(
        row["last_message"],
        json!({"author": "customer", "body": "Login fails"})
    );
    assert_eq!(row["open_ticket_count"], 1);
    assert_eq!(page["total"], 1);

    // Search: customer name, email, message text; any case; wildcards literal.
    for (q, want) in [
        ("ana", vec![ana.clone()]),
        ("BEN@EXAMPLE", vec![ben.clone()]),
        ("refund", vec![ben.clone()]),
        ("%", vec![]),
        ("nothing like it", vec![]),
    ] {
        let got = ids(&team, &team.bob, &format!("view=all&q={}", urlencode(q)), 5).await;
        assert_eq!(got, want, "q={q}");
    }

    // Bad input says what to do.
    let bad = team.get(&team.alice, "/conversations?view=closed").await;
    assert_error(&bad, 400, "bad_request");
    let bad = team.get(&team.alice, "/conversations?cursor=abc").await;
    assert_error(&bad, 400, "bad_request");
    let bad = team.get(&team.alice, "/conversations?limit=0").await;
    assert_error(&bad, 400, "bad_request");
    let anon = team.get("", "/conversations").await;
    assert_eq!(anon.0, 401);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A store of before the inbox (schema 3) gets its inbox columns filled
/// from the rows it has when a newer server opens it: the views list the
/// same conversations in the same order, with the same summaries.
async fn an_older_store_gets_its_inbox_on_upgrade(kind: Kind) {
    let team = Team::new(kind).await;
    let ana = open(&team, "Ana").await;
    let ben = open(&team, "Ben").await;
    say(&team, &ben, "customer", "Where is my refund?").await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    say(&team, &ana, "customer", "Login fails").await;
    say(&team, &ana, "ai", "Trying a reset").await;
    let viewer = uuid::Uuid::parse_str(&team.alice_id).expect("id");
    // Store calls block (PostgreSQL's client runs its own runtime): off the async threads.
    let pages = |store: std::sync::Arc<dyn fyncall_server::Store>| {
        tokio::task::spawn_blocking(move || {
            fyncall_domain::InboxView::ALL
                .into_iter()
                .map(|view| {
                    let q = fyncall_domain::InboxQuery {
                        view,
                        search: None,
                        limit: 100,
                        cursor: None,
                    };
                    store.inbox(&q, viewer).expect("inbox")
                })
                .collect::<Vec<_>>()
        })
    };
    let before = pages(team.store.clone()).await.expect("joined");
    // As of schema 3: what later migrations add is not there either.
    let downgrade = "DROP TABLE macros; DROP TABLE mentions; ALTER TABLE tickets DROP COLUMN tags;
        DROP TABLE attachments; DROP TABLE mail_threads; DROP TABLE mail_ids;
        DROP TABLE mail_taken;
        DROP TABLE delivery_attempts; DROP TABLE deliveries; DROP TABLE webhooks;
        DROP TABLE mailboxes;
        DROP TABLE device_tokens;
        DROP INDEX conversations_by_last_message; DROP INDEX conversations_mine;
        DROP INDEX conversations_waiting;
        ALTER TABLE conversations DROP COLUMN search;
        ALTER TABLE conversations DROP COLUMN last_message_at;
        ALTER TABLE conversations DROP COLUMN waiting_since;
        ALTER TABLE messages DROP COLUMN author; ALTER TABLE messages DROP COLUMN body;";
    let database = team.place.database.clone();
    tokio::task::spawn_blocking(move || match &database {
        fyncall_server::Database::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("open");
            conn.execute_batch(&format!("{downgrade} PRAGMA user_version = 3;"))
                .expect("downgrade");
        }
        fyncall_server::Database::Postgres(url) => {
            let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            client
                .batch_execute(&format!(
                    "{downgrade} DROP TABLE blob_chunks; DROP TABLE blobs;
                     DELETE FROM fyncall_schema WHERE version > 3;"
                ))
                .expect("downgrade");
        }
    })
    .await
    .expect("joined");
    let database = team.place.database.clone();
    let upgraded = tokio::task::spawn_blocking(move || database.open())
        .await
        .expect("joined")
        .expect("an upgraded store");
    let after = pages(upgraded).await.expect("joined");
    assert_eq!(after, before);
    assert_eq!(
        before[2].conversations[0]
            .last_message
            .as_ref()
            .map(|m| m.body.as_str()),
        Some("Trying a reset")
    );
}

both_stores!(
    inbox_views_orders_and_search,
    an_older_store_gets_its_inbox_on_upgrade
);
