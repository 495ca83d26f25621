//! `fyncall sync` killed with SIGKILL at many moments while 1,000 queued
//! actions go out: after a final sync nothing is lost and nothing doubled.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use fyncall_cache::Cache;
use fyncall_domain::Mutation;
use fyncall_domain::mutation::Comment;
use uuid::Uuid;

use crate::common::*;

fn queue(home: &std::path::Path, ticket: Uuid, from: usize, n: usize) {
    let mut cache = Cache::open(&home.join("cache.sqlite")).expect("cache");
    for i in from..from + n {
        cache
            .act(
                Mutation::Comment(Comment {
                    id: Uuid::now_v7(),
                    ticket_id: ticket,
                    body: format!("crash comment {i:04}"),
                    mention_ids: Vec::new(),
                }),
                Utc::now(),
            )
            .expect("queued");
    }
}

#[test]
fn killing_the_client_mid_sync_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let ticket: Uuid = workable(&home)[0]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("ticket");
    queue(&home, ticket, 0, 1000);
    let mut made = 1000;
    let mut killed_mid_sync = 0;
    let mut trials = 0u64;
    // Each trial kills `fyncall sync` at a different moment, then queues
    // more, so every trial has work in flight; at least 20 land mid-sync.
    while killed_mid_sync < 20 {
        trials += 1;
        assert!(
            trials <= 80,
            "only {killed_mid_sync} of {trials} kills landed mid-sync"
        );
        let mut child = Command::new(env!("CARGO_BIN_EXE_fyncall"))
            .arg("--home")
            .arg(&home)
            .arg("sync")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sync starts");
        std::thread::sleep(Duration::from_millis(5 + (trials * 37) % 120));
        if child.try_wait().expect("status").is_none() {
            killed_mid_sync += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        queue(&home, ticket, made, 100);
        made += 100;
    }
    expect(&home, &["sync"], 0);
    assert_eq!(json_of(&home, &["pending"]).as_array().expect("o").len(), 0);
    assert_eq!(
        json_of(&home, &["problems"]).as_array().expect("p").len(),
        0
    );

    let count = |entries: &[serde_json::Value]| {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for a in entries {
            if let Some(b) = a["data"]["body"]
                .as_str()
                .filter(|b| b.starts_with("crash comment"))
            {
                *seen.entry(b.to_owned()).or_default() += 1;
            }
        }
        seen
    };
    let on_server = count(
        server.api(ALICE).get(&format!("/tickets/{ticket}"))["activity"]
            .as_array()
            .expect("activity"),
    );
    assert_eq!(on_server.len(), made, "every queued comment arrived");
    assert!(
        on_server.values().all(|n| *n == 1),
        "none twice on the server"
    );
    let local = json_of(&home, &["show", &ticket.to_string()]);
    let activity = local["activity"].as_array().expect("activity");
    let in_cache = count(activity);
    assert_eq!(
        in_cache, on_server,
        "the cache holds exactly the server's timeline"
    );
    assert!(activity.iter().all(|a| a["pending"] == false));
    println!("{killed_mid_sync} of {trials} kills landed mid-sync; {made} comments, each once");
}
