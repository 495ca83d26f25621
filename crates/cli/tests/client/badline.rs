//! A bad line between `fyncall` and its server (a proxy on 127.0.0.1 that
//! delays every chunk, goes dark for 1.5 s in every 10 s and resets a
//! share of its connections part of the way into their answer): a first download
//! completes and equals the server's, and 200 changes made offline arrive
//! exactly once each, in order.

use fyncall_testkit::proxy::{BadLine, Faults};

use crate::common::*;

/// Runs `args` until it exits 0, at most `tries` times (a reset connection
/// is a failed command the user would run again); how many it took.
fn until_it_works(home: &std::path::Path, args: &[&str], tries: usize) -> usize {
    for attempt in 1..=tries {
        if fyncall(home, args).status.success() {
            return attempt;
        }
    }
    panic!("fyncall {args:?} never got through the bad line in {tries} tries");
}

#[test]
fn through_a_bad_line_a_download_completes_and_changes_arrive_once() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    // Harsher than the default: this CLI makes few connections (one or
    // two a run) with short answers, so every other one is reset in its
    // first 8 KiB.
    let line = BadLine::start(
        server.port,
        Faults {
            reset_every: 2,
            reset_within: 8 * 1024,
            ..Faults::default()
        },
    );
    let home = dir.path().join("alice");
    let url = line.url();
    let tries = until_it_works(&home, &["login", "--server", &url, "--email", ALICE], 20);
    println!("signed in through the bad line after {tries} tries");
    // The first download equals the server's.
    let all = tickets(&home, "all");
    let api = server.api(ALICE);
    let served = api.get("/tickets?view=all&limit=500")["tickets"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(all.len(), served, "the first download is whole");

    let ticket = workable(&home)[0]["id"]
        .as_str()
        .expect("a ticket of mine")
        .to_owned();
    let mut made = Vec::new();
    for i in 0..200 {
        let body = format!("over a bad line {i:03}");
        expect(&home, &["--offline", "comment", &ticket, &body], 0);
        made.push(body);
    }
    // However many connections the sign-in took, the first sync's is
    // reset in its answer's headers: after the server took the changes,
    // before the client heard so (sent again, they must not land twice).
    line.reset_next(64);
    let mut syncs = 0;
    while json_of(&home, &["pending"])
        .as_array()
        .is_some_and(|p| !p.is_empty())
    {
        syncs += 1;
        assert!(syncs <= 60, "the queue never emptied through the bad line");
        let _ = fyncall(&home, &["sync"]);
    }
    println!(
        "200 changes through the bad line in {syncs} syncs; {} connections reset",
        line.resets.load(std::sync::atomic::Ordering::Relaxed)
    );
    let arrived: Vec<String> = server
        .api(ADMIN)
        .all_activity()
        .into_iter()
        .filter(|a| a["kind"] == "comment")
        .filter_map(|a| a["data"]["body"].as_str().map(str::to_owned))
        .filter(|b| b.starts_with("over a bad line"))
        .collect();
    assert_eq!(arrived, made, "each change once, in the order made");
    assert!(
        line.resets.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the line reset no connection: it tested nothing"
    );
}
