//! The working set as `fyncall` keeps it: a sign-in downloads every ticket
//! not closed and those closed within the team's 90 days; a ticket closed
//! before is one `fyncall show` away while the server answers, kept once
//! read (then it shows offline too), and offline before that the command
//! says older closed tickets need a connection.

use crate::common::*;

#[test]
fn an_old_closed_ticket_comes_from_the_server_and_stays() {
    let dir = tempfile::tempdir().expect("dir");
    // 200 tickets over 400 days: most closed long before the window.
    let mut server = Server::start(&history_db(dir.path(), 200, 400), 0);
    let api = server.api(ALICE);
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);

    let on_server = |status: &str, order: &str| {
        api.get(&format!(
            "/tickets?view=all&status={status}&sort=updated&order={order}&limit=500"
        ))
    };
    let closed = on_server("closed", "asc");
    let total = closed["total"].as_u64().expect("total");
    let old: Vec<i64> = closed["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter(|t| {
            let at: chrono::DateTime<chrono::Utc> = t["updated_at"]
                .as_str()
                .expect("updated")
                .parse()
                .expect("time");
            at < chrono::Utc::now() - chrono::TimeDelta::days(91)
        })
        .map(|t| t["number"].as_i64().expect("number"))
        .collect();
    assert!(
        old.len() >= 100,
        "most of the history closed long ago: {}",
        old.len()
    );
    let here = json_of(&home, &["tickets", "--status", "closed", "--limit", "500"]);
    let here_total = here["total"].as_u64().expect("total");
    assert_eq!(
        here_total,
        total - old.len() as u64,
        "the desktop holds the closed tickets of the last 90 days only"
    );
    let open_on_server = on_server("open,in_progress,waiting_on_customer,resolved", "asc")["total"]
        .as_u64()
        .expect("total");
    let open_here = json_of(
        &home,
        &[
            "tickets",
            "--status",
            "open,in_progress,waiting_on_customer,resolved",
            "--limit",
            "1",
        ],
    )["total"]
        .as_u64()
        .expect("total");
    assert_eq!(
        open_here, open_on_server,
        "every ticket not closed, however old"
    );

    // The archive, searched on the server: the old ones, newest first.
    let listed = json_of(&home, &["archive"]);
    assert_eq!(
        listed["tickets"].as_array().map(Vec::len),
        Some(50),
        "a page: {listed}"
    );
    assert!(listed["next_cursor"].is_string(), "more: {listed}");
    assert!(
        listed["total"].is_null(),
        "the page alone, nothing counted: {listed}"
    );
    let numbers: Vec<i64> = listed["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .map(|t| t["number"].as_i64().expect("number"))
        .collect();
    assert!(
        numbers.iter().all(|n| old.contains(n)),
        "only closed before the window"
    );
    let words = json_of(&home, &["archive", "parcel"]);
    let found = words["tickets"].as_array().expect("tickets");
    assert!(!found.is_empty(), "a word finds some: {words}");
    assert!(
        found.iter().all(|t| t["subject"]
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("parcel"))),
        "{words}"
    );
    let table = expect(&home, &["archive", "parcel"], 0);
    assert!(
        table.starts_with("Closed before the last 90 days (from the server)"),
        "{table}"
    );
    let out = fyncall(&home, &["--offline", "archive"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Older closed tickets need a connection")
    );

    // Offline, an old one is not here, and the command says why.
    let first = format!("#{}", old[0]);
    let out = fyncall(&home, &["--offline", "show", &first]);
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Older closed tickets need a connection"),
        "{said}"
    );

    // Online, it comes from the server with its timeline, and stays.
    let shown = expect(&home, &["show", &first], 0);
    assert!(
        shown.contains("Checked with the warehouse"),
        "its timeline: {shown}"
    );
    assert!(shown.to_lowercase().contains("closed"), "{shown}");
    let again = expect(&home, &["--offline", "show", &first], 0);
    assert_eq!(again, shown, "kept: the same page offline");

    // The server gone: another old one cannot come, in the same words.
    server.stop();
    let second = format!("#{}", old[1]);
    let out = fyncall(&home, &["show", &second]);
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Older closed tickets need a connection"),
        "{said}"
    );
    // A number no team has is still said as such.
    let out = fyncall(&home, &["--offline", "show", "not-a-ticket"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a ticket"));
}
