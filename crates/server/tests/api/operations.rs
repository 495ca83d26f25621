//! Running the server as an admin installs it: settings from the
//! environment, a store newer than the binary refused with both versions
//! named, and a team moved from SQLite to PostgreSQL whole, its clients
//! carrying on without a new download.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fyncall_server::Database;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_its_settings_from_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("team.db");
    let init = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args([
            "init",
            "--admin-email",
            "ops@example.com",
            "--admin-name",
            "Ops",
        ])
        .env("FYNCALL_DB", &db)
        .env("FYNCALL_ADMIN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("init runs");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .arg("serve")
        .env("FYNCALL_DB", &db)
        .env("FYNCALL_LISTEN", "127.0.0.1:0")
        .env("FYNCALL_SESSION_DAYS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a first line");
    let url = line.trim().strip_prefix("listening on ").map(str::to_owned);
    let answer = match &url {
        Some(url) => match reqwest::Client::new()
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"email": "ops@example.com", "password": PASSWORD}))
            .send()
            .await
        {
            Ok(res) => res.json::<Value>().await.ok(),
            Err(_) => None,
        },
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.unwrap_or_else(|| panic!("served from the environment: {line:?}"));
    // The session lasts the FYNCALL_SESSION_DAYS given: two days from now.
    let expires: chrono::DateTime<chrono::Utc> = answer["expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{answer}"));
    let days = (expires - chrono::Utc::now()).num_hours();
    assert!((47..=48).contains(&days), "{answer}");
}

async fn a_store_newer_than_the_server_is_refused_naming_both_versions(kind: Kind) {
    let t = Team::new(kind).await;
    let database = match &t.place.database {
        Database::Sqlite(path) => Database::Sqlite(path.clone()),
        Database::Postgres(url) => Database::Postgres(url.clone()),
    };
    tokio::task::spawn_blocking(move || {
        match &database {
            Database::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).expect("open");
                conn.pragma_update(None, "user_version", 99).expect("newer");
            }
            Database::Postgres(url) => {
                let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                c.batch_execute("INSERT INTO fyncall_schema (version) VALUES (99)")
                    .expect("newer");
            }
        }
        let err = match database.open() {
            Ok(_) => panic!("a newer store opened"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains("schema 99") && err.contains("this one knows") && err.contains("upgrade"),
            "{err}"
        );
    })
    .await
    .expect("checked");
}

crate::both_stores!(a_store_newer_than_the_server_is_refused_naming_both_versions);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_moves_a_team_to_postgres_and_its_clients_carry_on() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("team.db");
    let demo = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            fyncall_server::demo::create(&file, chrono::Utc::now()).expect("demo")
        })
        .await
        .expect("demo")
    };
    drop(demo);
    let (mut old, old_url) = serve(&["--db".into(), file.display().to_string()]);
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{old_url}/auth/login"))
        .json(&json!({"email": "alice@demo.fyncall.test", "password": "fyncall-demo"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    // A client synced to the end before the move.
    let (before, cursor) = pull_all(&http, &old_url, &token, 0).await;
    let database_id = login["database_id"].clone();
    // A file, whose bytes are in the blob file beside the store.
    let file_bytes: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    let uploaded: Value = http
        .post(format!("{old_url}/attachments"))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .header("content-disposition", "attachment; filename=\"scan.bin\"")
        .body(file_bytes.clone())
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("json");
    let file_id = uploaded["id"].as_str().expect("id").to_owned();
    old.kill();

    let url = tokio::task::spawn_blocking(postgres_database)
        .await
        .expect("database");
    let out = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["migrate", "--from-db"])
        .arg(&file)
        .args(["--to-database-url", &url])
        .output()
        .expect("migrate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("tickets ") && said.contains("activity "),
        "{said}"
    );
    // Every row arrived: the same counts on both sides.
    let counts = {
        let (file, url) = (file.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            let sqlite = rusqlite::Connection::open(&file).expect("sqlite");
            let mut pg = postgres::Client::connect(&url, postgres::NoTls).expect("pg");
            fyncall_server::migrate::TABLES
                .iter()
                .map(|t| {
                    let a: i64 = sqlite
                        .query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))
                        .expect("count");
                    let b: i64 = pg
                        .query_one(&format!("SELECT COUNT(*) FROM {t}"), &[])
                        .expect("count")
                        .get(0);
                    (*t, a, b)
                })
                .collect::<Vec<_>>()
        })
        .await
        .expect("counted")
    };
    for (table, a, b) in &counts {
        assert_eq!(a, b, "{table}: {counts:?}");
    }
    assert!(
        counts.iter().any(|(t, n, _)| *t == "activity" && *n > 100),
        "{counts:?}"
    );
    // A second migration into the same database is refused, nothing doubled.
    let again = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(["migrate", "--from-db"])
        .arg(&file)
        .args(["--to-database-url", &url])
        .output()
        .expect("migrate runs");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a team"));

    // Served from PostgreSQL: the same token works, the same database id,
    // nothing new past the client's cursor, and the whole feed equal.
    let (mut new, new_url) = serve(&["--database-url".into(), url.clone()]);
    let moved_file = http
        .get(format!("{new_url}/attachments/{file_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("download");
    assert!(moved_file.status().is_success());
    assert_eq!(
        moved_file.bytes().await.expect("bytes").to_vec(),
        file_bytes,
        "the file moved too"
    );
    let me = http
        .get(format!("{new_url}/me"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status().as_u16(), 200, "the session moved with the team");
    let page: Value = http
        .get(format!("{new_url}/sync/pull?cursor={cursor}&limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("pull")
        .json()
        .await
        .expect("json");
    assert_eq!(page["database_id"], database_id, "{page}");
    assert_eq!(page["changes"], json!([]), "no download again: {page}");
    assert_eq!(page["cursor"], json!(cursor));
    let (after, _) = pull_all(&http, &new_url, &token, 0).await;
    let ids = |v: &[Value]| -> Vec<(String, String, i64)> {
        v.iter()
            .map(|c| {
                (
                    c["entity"].as_str().unwrap_or("").to_owned(),
                    c["id"].as_str().unwrap_or("").to_owned(),
                    c["seq"].as_i64().unwrap_or(0),
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&after),
        ids(&before),
        "the same change log, seq for seq"
    );
    // Work goes on: the next ticket gets the next number.
    let last = before
        .iter()
        .filter(|c| c["entity"] == "ticket")
        .filter_map(|c| c["data"]["number"].as_i64())
        .max()
        .expect("tickets");
    let conversation = before
        .iter()
        .find(|c| c["entity"] == "conversation")
        .and_then(|c| c["id"].as_str())
        .expect("a conversation")
        .to_owned();
    let made: Value = http
        .post(format!("{new_url}/tickets"))
        .bearer_auth(&token)
        .json(&json!({"conversation_id": conversation, "subject": "After the move", "priority": "low"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    assert_eq!(made["number"], json!(last + 1), "{made}");
    new.kill();
}
