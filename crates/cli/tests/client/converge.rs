//! Two clients on the same tickets converge to the server's state, and a
//! change by one reaches the other's cache through the live stream.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

fn state(tickets: &[Value]) -> BTreeMap<String, (Value, Value, Value, Value, Value)> {
    tickets
        .iter()
        .map(|t| {
            (
                t["id"].as_str().expect("id").to_owned(),
                (
                    t["status"].clone(),
                    t["priority"].clone(),
                    t["assignee_id"].clone(),
                    t["version"].clone(),
                    t["subject"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn two_clients_converge_and_live_changes_arrive_through_the_stream() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let a = dir.path().join("alice");
    let b = dir.path().join("admin");
    login(&a, &server, ALICE);
    login(&b, &server, ADMIN);

    let mut watch = Command::new(env!("CARGO_BIN_EXE_fyncall"))
        .arg("--home")
        .arg(&b)
        .args(["sync", "--watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watch starts");
    std::thread::sleep(Duration::from_millis(500));
    let shared: Vec<String> = workable(&a)
        .iter()
        .take(3)
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect();
    expect(&a, &["comment", &shared[0], "hello from Alice"], 0);
    let took = wait_until("A's comment in B's cache", Duration::from_secs(10), || {
        json_of(&b, &["show", &shared[0]])["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .any(|x| x["data"]["body"] == "hello from Alice")
    });
    println!("A→B through the stream in {took:?}");
    let _ = watch.kill();
    let _ = watch.wait();

    // Both work on the same tickets offline, then sync in turn.
    for (i, id) in shared.iter().enumerate() {
        expect(&a, &["--offline", "comment", id, &format!("A on {i}")], 0);
        expect(&a, &["--offline", "priority", id, "urgent"], 0);
        expect(&b, &["--offline", "comment", id, &format!("B on {i}")], 0);
        expect(
            &b,
            &[
                "--offline",
                "priority",
                id,
                if i == 0 { "low" } else { "high" },
            ],
            0,
        );
        expect(
            &b,
            &[
                "--offline",
                "edit",
                id,
                "--subject",
                &format!("Edited by B {i}"),
            ],
            0,
        );
    }
    expect(&a, &["sync"], 0);
    expect(&b, &["sync"], 0);

    // The server's SLA sweep may change tickets at any moment: compare over
    // a quiet window (the server unchanged across both clients' syncs).
    let admin = server.api(ADMIN);
    let snapshot = || {
        state(
            admin.get("/tickets?view=all&limit=500")["tickets"]
                .as_array()
                .expect("tickets"),
        )
    };
    let mut compared = false;
    for _ in 0..10 {
        let before = snapshot();
        expect(&a, &["sync"], 0);
        expect(&b, &["sync"], 0);
        let in_a = state(&tickets(&a, "all"));
        let in_b = state(&tickets(&b, "all"));
        if snapshot() != before {
            continue;
        }
        assert_eq!(in_a, before, "A converged");
        assert_eq!(in_b, before, "B converged");
        compared = true;
        break;
    }
    assert!(compared, "the server never stood still for a comparison");
    for id in &shared {
        let timeline = |home: &std::path::Path| -> Vec<Value> {
            json_of(home, &["show", id])["activity"]
                .as_array()
                .expect("activity")
                .iter()
                .map(|x| x["id"].clone())
                .collect()
        };
        let server_timeline: Vec<Value> = admin.get(&format!("/tickets/{id}"))["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .map(|x| x["id"].clone())
            .collect();
        assert_eq!(timeline(&a), server_timeline);
        assert_eq!(timeline(&b), server_timeline);
        // B synced last: its priority wins; its edit too.
        let t = &json_of(&a, &["show", id])["ticket"];
        assert!(t["subject"].as_str().expect("s").starts_with("Edited by B"));
    }
}
