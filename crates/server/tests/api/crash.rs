//! The real binary killed with SIGKILL while pushes are in flight: after a
//! restart every acknowledged mutation is present exactly once and the
//! change log still holds every change. Also: SIGTERM stops it cleanly.

use std::process::Command;
use std::time::Duration;

use fyncall_server::Database;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const ADMIN_PASSWORD: &str = "crash test password";

async fn login(http: &reqwest::Client, url: &str) -> String {
    let server = url.trim_end_matches("/api/v1");
    fyncall_testkit::http::login(http, server, "root@example.com", ADMIN_PASSWORD)
        .await
        .token
}

fn comment_mutation(ticket: &str, n: usize) -> (Value, Uuid) {
    let comment_id = Uuid::now_v7();
    (
        json!({"id": Uuid::now_v7(), "name": "comment", "args": {"id": comment_id, "ticket_id": ticket, "body": format!("note {n}")}}),
        comment_id,
    )
}

async fn kill_9_during_pushes_loses_and_doubles_nothing(kind: Kind) {
    let place = Place::new(kind).await;
    let db = place.args();
    init_team(&db, ADMIN_PASSWORD);
    let again = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .arg("init")
        .args(&db)
        .args(["--admin-email", "x@example.com", "--admin-name", "X"])
        .env("FYNCALL_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .expect("init runs");
    assert!(!again.status.success(), "init refuses an existing database");

    let (mut child, url) = serve(&db);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let token = login(&http, &url).await;
    let integration: Value = http
        .post(format!("{url}/integrations/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "chat"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let integration = integration["token"].as_str().expect("token").to_owned();
    let conv: Value = http
        .post(format!("{url}/integrations/conversations"))
        .bearer_auth(&integration)
        .json(&json!({"customer": {"name": "C", "email": "c@example.com"}, "channel": "chat"}))
        .send()
        .await
        .expect("conversation")
        .json()
        .await
        .expect("json");
    let ticket: Value = http
        .post(format!("{url}/tickets"))
        .bearer_auth(&token)
        .json(&json!({"conversation_id": conv["id"], "subject": "Crash me", "priority": "low"}))
        .send()
        .await
        .expect("ticket")
        .json()
        .await
        .expect("json");
    let ticket_id = ticket["id"].as_str().expect("id").to_owned();

    // 4 clients push one mutation per request as fast as they can.
    let mut all = Vec::new();
    let mut tasks = Vec::new();
    for client in 0..4 {
        let muts: Vec<(Value, Uuid)> = (0..400)
            .map(|n| comment_mutation(&ticket_id, client * 1000 + n))
            .collect();
        all.extend(muts.clone());
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
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
    child.kill();
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.expect("task"));
    }
    assert!(
        !acked.is_empty(),
        "some pushes were acknowledged before the kill"
    );

    let (mut child, url) = serve(&db);
    let token = login(&http, &url).await;
    let shown: Value = http
        .get(format!("{url}/tickets/{ticket_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let ids: Vec<String> = shown["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "comment")
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    for id in &acked {
        let n = ids.iter().filter(|x| **x == id.to_string()).count();
        assert_eq!(n, 1, "acknowledged comment {id} present exactly once");
    }
    // Clients retry everything: nothing doubles, everything lands.
    for chunk in all.chunks(500) {
        let muts: Vec<&Value> = chunk.iter().map(|(m, _)| m).collect();
        let v: Value = http
            .post(format!("{url}/sync/push"))
            .bearer_auth(&token)
            .json(&json!({"client_id": Uuid::nil(), "mutations": muts}))
            .send()
            .await
            .expect("retry")
            .json()
            .await
            .expect("json");
        assert!(
            v["results"]
                .as_array()
                .expect("results")
                .iter()
                .all(|r| r["outcome"] == "applied" || r["outcome"] == "duplicate"),
            "{v}"
        );
    }
    let shown: Value = http
        .get(format!("{url}/tickets/{ticket_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let comments = shown["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "comment")
        .count();
    assert_eq!(comments, all.len(), "each mutation applied exactly once");
    // The change log from 0 holds every comment, in increasing order.
    let (changes, _) = pull_all(&http, &url, &token, 0).await;
    let activity = changes
        .iter()
        .filter(|c| c["entity"] == "activity" && c["data"]["kind"] == "comment")
        .count();
    assert_eq!(activity, all.len());

    // SIGTERM: a clean stop.
    let exit = child.stop().expect("exits");
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    if let Database::Sqlite(path) = &place.database {
        let wal = path.with_extension("db-wal");
        assert!(
            !wal.exists() || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
            "WAL checkpointed on shutdown"
        );
    }
}

crate::both_stores!(kill_9_during_pushes_loses_and_doubles_nothing);
