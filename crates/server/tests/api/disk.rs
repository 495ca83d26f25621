//! A bad day: the server's disk fills. On a small tmpfs of its own (which
//! needs root to mount; `scripts/test` runs it), writes answer `unavailable`
//! (per mutation in a push, never 500), reads keep answering, and when
//! space comes back writes work again without a restart; every change
//! acknowledged before is there after a kill -9.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

/// Alice's token at `server`.
async fn alice(http: &reqwest::Client, server: &str) -> String {
    fyncall_testkit::http::login(
        http,
        server,
        fyncall_testkit::ALICE,
        fyncall_testkit::DEMO_PASSWORD,
    )
    .await
    .token
}

async fn push_comment(
    http: &reqwest::Client,
    api: &str,
    token: &str,
    ticket: &str,
    n: u32,
) -> Value {
    let res = http
        .post(format!("{api}/sync/push"))
        .bearer_auth(token)
        .json(&json!({"client_id": Uuid::now_v7(), "mutations": [
            {"id": Uuid::now_v7(), "name": "comment", "client_at": chrono::Utc::now(),
             "args": {"ticket_id": ticket, "id": Uuid::now_v7(), "body": format!("note {n} {}", "x".repeat(2000))}}
        ]}))
        .send()
        .await
        .expect("answers");
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_ne!(status, 500, "a full disk is never a 500: {body}");
    json!({"status": status, "body": body})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs (root); scripts/test runs it"]
async fn a_full_disk_refuses_writes_in_words_and_recovers_without_a_restart() {
    let disk = fyncall_testkit::disk::Tmpfs::mount(24);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_fyncall-server"));
    let db = fyncall_testkit::server::demo_db(bin, disk.path());
    let mut server = Serve::new(bin).db(&db).start();
    let http = reqwest::Client::new();
    let token = alice(&http, &server.url).await;
    let api = server.api();
    let ticket = fyncall_testkit::http::first_ticket(&http, &server.url, &token).await;
    let mut acknowledged = Vec::new();
    let first = push_comment(&http, &api, &token, &ticket, 0).await;
    assert_eq!(first["body"]["results"][0]["outcome"], "applied", "{first}");
    acknowledged.push(0);

    let filler = disk.fill();
    // Writes: refused as unavailable, with words; never applied half.
    let mut refused = 0;
    for n in 1..=20 {
        let answer = push_comment(&http, &api, &token, &ticket, n).await;
        let result = &answer["body"]["results"][0];
        if result["outcome"] == "applied" {
            // The log may still have had a page free.
            acknowledged.push(n);
            continue;
        }
        refused += 1;
        let unavailable = answer["status"] == 503
            || result["error"]["code"] == "unavailable"
            || answer["body"]["error"]["code"] == "unavailable";
        assert!(unavailable, "a full disk answers unavailable: {answer}");
    }
    assert!(refused > 0, "the full disk refused nothing");
    // Reads keep answering.
    let res = http
        .get(format!("{api}/tickets?view=all&limit=50"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 200, "reads on a full disk");

    // Space again: writes work again, same process.
    std::fs::remove_file(&filler).expect("space again");
    let mut recovered = false;
    for n in 100..140 {
        let answer = push_comment(&http, &api, &token, &ticket, n).await;
        if answer["body"]["results"][0]["outcome"] == "applied" {
            acknowledged.push(n);
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "writes did not come back without a restart");

    // kill -9, start again: every acknowledged comment is there.
    server.kill();
    let server = Serve::new(bin).db(&db).start();
    let token = alice(&http, &server.url).await;
    let page: Value = http
        .get(format!("{}/tickets/{ticket}", server.api()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let text = page.to_string();
    for n in acknowledged {
        assert!(
            text.contains(&format!("note {n} ")),
            "acknowledged comment {n} is lost"
        );
    }
}
