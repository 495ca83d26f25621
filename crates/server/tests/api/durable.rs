//! No acknowledged change lost, no client able to jam sync: durable answers,
//! text and ids (RULES.md "Text and ids"), and a sweep no forged id can stop.

use chrono::TimeDelta;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

fn push_body(mutations: Value) -> Value {
    json!({"client_id": Uuid::now_v7(), "mutations": mutations})
}

fn outcomes(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["outcome"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sqlite_answers_only_after_the_commit_is_synced() {
    // WAL with synchronous=FULL syncs the log at every commit; every write
    // path commits before the API answers (see the sqlite module's doc).
    let dir = tempfile::tempdir().expect("dir");
    let admin = fyncall_server::store::NewAgent {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        role: fyncall_domain::Role::Admin,
        password: PASSWORD.into(),
    };
    let (store, _) = fyncall_server::SqliteStore::create(
        &dir.path().join("team.db"),
        &admin,
        "x",
        fyncall_server::time::now(),
    )
    .expect("create");
    let (mode, sync) = store.durability().expect("pragmas");
    assert_eq!(mode, "wal");
    assert_eq!(
        sync, 2,
        "synchronous=FULL (2): NORMAL (1) can lose the last commits"
    );
}

async fn control_characters_are_refused_never_a_500(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    for bad in ["nul\u{0}here", "bell\u{7}"] {
        // Over the REST endpoints.
        let got = t
            .post(
                &t.alice,
                "/tickets",
                json!({"conversation_id": t.conversation, "subject": bad, "priority": "low"}),
            )
            .await;
        assert_error(&got, 422, "invalid");
        assert!(got.1["error"]["fields"]["subject"].is_string(), "{}", got.1);
        let got = t
            .post(
                &t.alice,
                &format!("/tickets/{id}/comments"),
                json!({"body": bad}),
            )
            .await;
        assert_error(&got, 422, "invalid");
        let got = t
            .call(
                &t.alice,
                reqwest::Method::PATCH,
                &format!("/tickets/{id}"),
                Some(json!({"description": bad})),
            )
            .await;
        assert_error(&got, 422, "invalid");
        let got = t
            .post(
                &t.alice,
                &format!("/tickets/{id}/status"),
                json!({"status": "resolved", "note": bad}),
            )
            .await;
        assert_error(&got, 422, "invalid");
        let got = t
            .post(
                &t.alice,
                &format!("/conversations/{}/messages", t.conversation),
                json!({"body": bad}),
            )
            .await;
        assert_error(&got, 422, "invalid");
        let got = t
            .post(
                &t.integration,
                "/integrations/conversations",
                json!({"customer": {"name": bad, "email": "x@example.com"}, "channel": "chat"}),
            )
            .await;
        assert_error(&got, 422, "invalid");
        // Over push: that mutation refused, the one after it applied.
        let (s, v) = t
            .post(&t.alice, "/sync/push", push_body(json!([
                {"id": Uuid::now_v7(), "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": id, "body": bad}},
                {"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": Uuid::now_v7(), "conversation_id": t.conversation, "subject": bad, "priority": "low"}},
                {"id": Uuid::now_v7(), "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": id, "body": "fine"}},
            ])))
            .await;
        assert_eq!(s.as_u16(), 200, "{v}");
        assert_eq!(outcomes(&v), ["rejected", "rejected", "applied"], "{v}");
        assert_eq!(v["results"][0]["error"]["code"], "invalid");
        assert!(
            v["results"][1]["error"]["fields"]["subject"].is_string(),
            "{v}"
        );
    }
    // \r\n is stored as \n.
    let (s, entry) = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/comments"),
            json!({"body": "line one\r\nline two"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{entry}");
    let (_, shown) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    let bodies: Vec<&str> = shown["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["data"]["body"].as_str())
        .collect();
    assert!(bodies.contains(&"line one\nline two"), "{bodies:?}");
    assert!(
        !bodies
            .iter()
            .any(|b| b.contains('\u{0}') || b.contains('\r'))
    );
}

async fn forged_ids_are_refused_and_the_sweep_goes_on(kind: Kind) {
    let t = Team::new(kind).await;
    let target = t.ticket(&t.alice, "urgent").await;
    let target_id: Uuid = target["id"].as_str().expect("id").parse().expect("uuid");
    let other = t.ticket(&t.bob, "urgent").await;
    let other_id = other["id"].as_str().expect("id").to_owned();
    // The id the server will give the target's resolution breach entry.
    let breach_id = Uuid::new_v5(&target_id, b"sla_breached/resolution");
    let v1 = Uuid::parse_str("6ba7b810-9dad-11d1-80b4-00c04fd430c8").expect("v1");
    let (s, v) = t
        .post(&t.alice, "/sync/push", push_body(json!([
            {"id": Uuid::now_v7(), "name": "comment", "args": {"id": breach_id, "ticket_id": target_id, "body": "mine now"}},
            {"id": Uuid::now_v7(), "name": "comment", "args": {"id": v1, "ticket_id": target_id, "body": "v1"}},
            {"id": breach_id, "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": target_id, "body": "v5 mutation id"}},
            {"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": Uuid::new_v5(&Uuid::NAMESPACE_URL, b"x"), "conversation_id": t.conversation, "subject": "v5 ticket", "priority": "low"}},
        ])))
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    assert_eq!(outcomes(&v), ["rejected"; 4], "{v}");
    for r in v["results"].as_array().expect("results") {
        assert_eq!(r["error"]["code"], "invalid", "{r}");
    }
    // Past both deadlines: both tickets get their breach entries.
    let later = fyncall_server::time::now() + TimeDelta::hours(5);
    assert!(t.sweep(later).await.is_some(), "the sweep wrote");
    for id in [target_id.to_string(), other_id] {
        let (_, shown) = t.get(&t.alice, &format!("/tickets/{id}")).await;
        let breaches = shown["activity"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter(|e| e["kind"] == "sla_breached")
            .count();
        assert_eq!(
            breaches, 2,
            "first response and resolution, once each: {shown}"
        );
    }
    // A second sweep writes nothing new, and later changes to the ticket go through.
    t.sweep(later).await;
    let (s, v) = t
        .post(
            &t.alice,
            &format!("/tickets/{target_id}/comments"),
            json!({"body": "still working"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
}

async fn one_push_is_one_transaction_with_a_savepoint_per_mutation(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let (_, before) = t.get(&t.alice, "/sync/pull?cursor=0&limit=500").await;
    // A refused create in the middle must leave no half-written row behind
    // (its ticket number, its entries), and the others all apply.
    let taken = Uuid::now_v7();
    let mutations: Vec<Value> = (0..50)
        .map(|i| {
            if i == 25 {
                json!({"id": Uuid::now_v7(), "name": "create_ticket", "args": {"id": taken, "conversation_id": Uuid::now_v7(), "subject": "nowhere", "priority": "low"}})
            } else {
                json!({"id": Uuid::now_v7(), "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": id, "body": format!("note {i}")}})
            }
        })
        .collect();
    let (s, v) = t
        .post(&t.alice, "/sync/push", push_body(json!(mutations)))
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let got = outcomes(&v);
    assert_eq!(got.iter().filter(|o| *o == "applied").count(), 49);
    assert_eq!(got[25], "rejected");
    let (_, after) = t
        .get(
            &t.alice,
            &format!("/sync/pull?cursor={}&limit=500", before["cursor"]),
        )
        .await;
    let changes = after["changes"].as_array().expect("changes");
    assert!(
        changes.iter().all(|c| c["id"] != json!(taken)),
        "nothing of the refused mutation is written"
    );
    // The next ticket gets the next number: the refused one took none.
    let next = t.ticket(&t.alice, "low").await;
    assert_eq!(
        next["number"].as_i64(),
        ticket["number"].as_i64().map(|n| n + 1)
    );
}

async fn every_sync_answer_names_the_database_and_a_restore_renames_it(kind: Kind) {
    let t = Team::new(kind).await;
    let (_, login) = t
        .post(
            "",
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    let id = login["database_id"]
        .as_str()
        .expect("login carries database_id")
        .to_owned();
    let ticket = t.ticket(&t.alice, "low").await;
    let (_, pushed) = t
        .post(&t.alice, "/sync/push", push_body(json!([
            {"id": Uuid::now_v7(), "name": "comment", "args": {"id": Uuid::now_v7(), "ticket_id": ticket["id"], "body": "hi"}}
        ])))
        .await;
    assert_eq!(pushed["database_id"], json!(id));
    let (_, pulled) = t.get(&t.alice, "/sync/pull?cursor=0").await;
    assert_eq!(pulled["database_id"], json!(id));
    let current = pulled["cursor"].as_i64().expect("cursor");
    // A cursor this database never gave out gets this database's back.
    let (_, ahead) = t
        .get(&t.alice, &format!("/sync/pull?cursor={}", current + 1000))
        .await;
    assert_eq!(ahead["cursor"].as_i64(), Some(current), "{ahead}");

    // A restore gives the store a new id, with its data and files.
    let file: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let uploaded: serde_json::Value = t
        .http
        .post(format!("{}/attachments", t.url))
        .bearer_auth(&t.alice)
        .header("content-type", "application/octet-stream")
        .header("content-disposition", "attachment; filename=\"data.bin\"")
        .body(file.clone())
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let file_id = Uuid::parse_str(uploaded["id"].as_str().expect("id")).expect("uuid");
    let renamed = match &t.place.database {
        fyncall_server::Database::Sqlite(path) => {
            let copy = t.place.dir.path().join("copy.db");
            fyncall_server::SqliteStore::backup(path, &copy).expect("backup of a live store");
            let restored = t.place.dir.path().join("restored.db");
            std::fs::copy(path, &restored).expect("a store to restore over");
            fyncall_server::SqliteStore::restore(&restored, &copy).expect("restore");
            let store = fyncall_server::SqliteStore::open(&restored).expect("open");
            let n = fyncall_server::Store::current_seq(&store).expect("seq");
            assert_eq!(n, current, "the backup holds every change made before it");
            let mut blob = None;
            fyncall_server::Store::token_read(&store, &mut |db| {
                blob = fyncall_server::blobs::attachment(db, file_id)?.map(|(_, b)| b);
                Ok(())
            })
            .expect("read");
            let blob = blob.expect("the file's row came back");
            let bytes = fyncall_server::blobs::read_all(&store, blob).expect("its bytes");
            assert_eq!(bytes, file, "the file's bytes came back");
            fyncall_server::Store::database_id(&store).expect("id")
        }
        fyncall_server::Database::Postgres(url) => {
            let url = url.clone();
            tokio::task::spawn_blocking(move || fyncall_server::PgStore::restored(&url))
                .await
                .expect("joined")
                .expect("restored")
        }
    };
    assert_ne!(renamed.to_string(), id, "a new id");
}

crate::both_stores!(
    every_sync_answer_names_the_database_and_a_restore_renames_it,
    control_characters_are_refused_never_a_500,
    forged_ids_are_refused_and_the_sweep_goes_on,
    one_push_is_one_transaction_with_a_savepoint_per_mutation
);
