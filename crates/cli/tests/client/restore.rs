//! A server restored from a backup: both clients notice on their own,
//! download the team again, and send again what the backup does not hold;
//! nothing typed is lost, nothing is doubled, and the agent is told once.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

fn server_cmd(args: &[&str]) {
    let out = Command::new(server_bin())
        .args(args)
        .output()
        .expect("fyncall-server runs");
    assert!(
        out.status.success(),
        "fyncall-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Comment bodies with `prefix` on the server, and how often each is there.
fn on_server(server: &Server, prefix: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for a in server.api(ADMIN).all_activity() {
        if let Some(body) = a["data"]["body"].as_str().filter(|b| b.starts_with(prefix)) {
            *seen.entry(body.to_owned()).or_insert(0) += 1;
        }
    }
    seen
}

/// A ticket as compared: version, status and how many comments its timeline has.
type Seen = (i64, String, usize);

fn seen(ticket: &Value, timeline: &Value) -> (String, Seen) {
    let comments = timeline
        .as_array()
        .map_or(0, |a| a.iter().filter(|e| e["kind"] == "comment").count());
    (
        ticket["id"].as_str().expect("id").to_owned(),
        (
            ticket["version"].as_i64().expect("version"),
            ticket["status"].as_str().expect("status").to_owned(),
            comments,
        ),
    )
}

/// Every ticket of the team as `fyncall` holds it.
fn cache_view(home: &std::path::Path) -> BTreeMap<String, Seen> {
    tickets(home, "all")
        .iter()
        .map(|t| {
            let id = t["id"].as_str().expect("id");
            seen(t, &json_of(home, &["show", id])["activity"])
        })
        .collect()
}

/// Every ticket of the team as the server holds it.
fn server_view(server: &Server) -> BTreeMap<String, Seen> {
    let api = server.api(ADMIN);
    let list = api.get("/tickets?view=all&limit=500");
    list["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| {
            let id = t["id"].as_str().expect("id");
            seen(t, &api.get(&format!("/tickets/{id}"))["activity"])
        })
        .collect()
}

/// How the server's database goes back in time.
enum Back {
    /// `fyncall-server restore`: the store gets a new database id.
    Restore,
    /// The backup file copied over by hand: the same database id, but a
    /// change sequence behind the clients' cursors.
    CopiedOver,
}

#[test]
fn a_restored_server_heals_both_clients_and_loses_nothing() {
    server_goes_back(Back::Restore);
}

#[test]
fn a_database_copied_back_by_hand_is_noticed_by_its_cursor() {
    server_goes_back(Back::CopiedOver);
}

fn server_goes_back(how: Back) {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let a = dir.path().join("alice");
    let b = dir.path().join("ben");
    login(&a, &server, ALICE);
    login(&b, &server, BEN);
    let ticket = workable(&a)[0]["id"].as_str().expect("id").to_owned();

    for i in 0..3 {
        expect(&a, &["comment", &ticket, &format!("kept {i}")], 0);
    }
    let backup = dir.path().join("backup.db");
    let db = server.db.display().to_string();
    server_cmd(&["backup", "--db", &db, "--to", &backup.display().to_string()]);

    // After the backup: acknowledged, pulled past, gone from A's outbox.
    for i in 0..5 {
        expect(&a, &["comment", &ticket, &format!("after backup {i}")], 0);
    }
    expect(&a, &["sync"], 0);
    assert_eq!(json_of(&a, &["pending"]).as_array().map(Vec::len), Some(0));
    expect(&b, &["sync"], 0);

    server.stop();
    match how {
        Back::Restore => server_cmd(&[
            "restore",
            "--db",
            &db,
            "--from",
            &backup.display().to_string(),
        ]),
        Back::CopiedOver => {
            for side in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{db}{side}"));
            }
            std::fs::copy(&backup, &server.db).expect("copy the backup over");
        }
    }
    let port = server.port;
    let server = Server::start(&server.db.clone(), port);
    assert_eq!(
        on_server(&server, "after backup").len(),
        0,
        "the backup predates them"
    );

    // B first: with the backup copied over by hand (same database id),
    // only a cursor ahead of the server's tells; A's changes sent again
    // would soon carry the server past B's cursor.
    expect(&b, &["sync"], 0);
    let out = expect(&a, &["sync"], 0);
    assert!(
        out.contains("The server was restored from a backup; 5 of your changes were sent again."),
        "A is told once, with the count: {out}"
    );
    let again = expect(&a, &["sync"], 0);
    assert!(!again.contains("restored"), "told once only: {again}");

    let kept = on_server(&server, "kept");
    let after = on_server(&server, "after backup");
    assert_eq!(kept.len(), 3);
    assert_eq!(after.len(), 5, "every change of A's is back: {after:?}");
    assert!(
        kept.values().chain(after.values()).all(|n| *n == 1),
        "nothing doubled: {kept:?} {after:?}"
    );
    assert_eq!(json_of(&a, &["problems"]).as_array().map(Vec::len), Some(0));
    // The server's SLA sweep may record a breach at any moment: both caches
    // catch up with the server within a few syncs.
    for (home, who) in [(&b, "B"), (&a, "A")] {
        let mut same = false;
        for _ in 0..5 {
            expect(home, &["sync"], 0);
            if cache_view(home) == server_view(&server) {
                same = true;
                break;
            }
        }
        assert!(same, "{who}'s cache equals the server's");
    }
}
