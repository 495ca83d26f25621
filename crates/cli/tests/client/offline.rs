//! 200 mixed actions with the server down reach it exactly once each, in
//! order, once it is back.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::*;

const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];

#[test]
fn two_hundred_offline_actions_arrive_once_each_in_order() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let mine = workable(&home);
    assert!(mine.len() >= 4, "the demo gives Alice open tickets");
    let tickets: Vec<Value> = mine.into_iter().take(6).collect();
    server.stop();

    let mut priority: BTreeMap<String, String> = BTreeMap::new();
    let mut status: BTreeMap<String, String> = BTreeMap::new();
    for t in &tickets {
        let id = t["id"].as_str().expect("id").to_owned();
        priority.insert(id.clone(), t["priority"].as_str().expect("p").to_owned());
        status.insert(id, t["status"].as_str().expect("s").to_owned());
    }
    let mut comments = Vec::new();
    for i in 0..200 {
        let id = tickets[i % tickets.len()]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let out = match i % 5 {
            3 => {
                let now = priority[&id].clone();
                let next = PRIORITIES
                    .iter()
                    .cycle()
                    .skip_while(|p| **p != now)
                    .nth(1)
                    .expect("next")
                    .to_string();
                priority.insert(id.clone(), next.clone());
                expect(&home, &["priority", &id, &next], 0)
            }
            4 => {
                let next = if status[&id] == "in_progress" {
                    "waiting_on_customer"
                } else {
                    "in_progress"
                };
                status.insert(id.clone(), next.into());
                expect(&home, &["status", &id, next], 0)
            }
            _ => {
                let body = format!("offline comment {i:03}");
                comments.push(body.clone());
                expect(&home, &["comment", &id, &body], 0)
            }
        };
        assert!(out.contains("queued"), "says it is queued: {out}");
    }
    let pending = json_of(&home, &["pending"]);
    assert_eq!(pending.as_array().expect("outbox").len(), 200);
    // Syncing with the server down: exit 3, everything stays queued.
    expect(&home, &["sync"], 3);
    assert_eq!(
        json_of(&home, &["pending"]).as_array().expect("o").len(),
        200
    );

    server.restart();
    expect(&home, &["sync"], 0);
    assert_eq!(json_of(&home, &["pending"]).as_array().expect("o").len(), 0);
    assert_eq!(
        json_of(&home, &["problems"]).as_array().expect("p").len(),
        0
    );

    let admin = server.api(ADMIN);
    let ours: Vec<(chrono::DateTime<chrono::Utc>, String)> = admin
        .all_activity()
        .into_iter()
        .filter(|a| a["kind"] == "comment")
        .filter_map(|a| {
            let body = a["data"]["body"].as_str()?.to_owned();
            if !body.starts_with("offline comment") {
                return None;
            }
            let at = a["at"].as_str()?.parse().ok()?;
            Some((at, body))
        })
        .collect();
    // Pull returns entries in the order the server wrote them (change sequence).
    let bodies: Vec<String> = ours.into_iter().map(|(_, b)| b).collect();
    assert_eq!(bodies, comments, "each comment once, in the order made");
    for t in &tickets {
        let id = t["id"].as_str().expect("id");
        let server_ticket = &admin.get(&format!("/tickets/{id}"))["ticket"];
        assert_eq!(
            server_ticket["priority"].as_str(),
            Some(priority[id].as_str())
        );
        assert_eq!(server_ticket["status"].as_str(), Some(status[id].as_str()));
        let local = &json_of(&home, &["show", id])["ticket"];
        assert_eq!(
            local["version"], server_ticket["version"],
            "client caught up"
        );
        assert_eq!(local["pending"], false);
    }
}

/// A bad day on the desktop: its disk fills (a small tmpfs as the CLI's
/// folder, which needs root to mount; scripts/test runs it). An action is
/// refused with words about space and nothing is half-queued; when space
/// comes back the same action is queued once and reaches the server.
#[test]
#[ignore = "mounts a tmpfs (root); scripts/test runs it"]
fn a_full_disk_refuses_an_action_in_words_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let disk = fyncall_testkit::disk::Tmpfs::mount(24);
    let home = disk.path().join("alice");
    login(&home, &server, ALICE);
    let ticket = workable(&home)[0]["id"]
        .as_str()
        .expect("a ticket of mine")
        .to_owned();
    // Fill the disk to its last byte.
    let filler = disk.fill();
    let text = format!("written on a full disk {}", "x".repeat(4000));
    let out = fyncall(&home, &["--offline", "comment", &ticket, &text]);
    assert_ne!(out.status.code(), Some(0), "an action on a full disk");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("disk") && err.contains("free some space"),
        "{err}"
    );
    std::fs::remove_file(&filler).expect("space again");
    let info = json_of(&home, &["info"]);
    assert_eq!(info["sync"]["pending"], 0, "half-queued: {info}");
    expect(&home, &["comment", &ticket, &text], 0);
    expect(&home, &["sync"], 0);
    let on_server = server
        .api(ALICE)
        .all_activity()
        .into_iter()
        .filter(|a| a.to_string().contains("written on a full disk"))
        .count();
    assert_eq!(on_server, 1, "the comment reached the server once");
}
