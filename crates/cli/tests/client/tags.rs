//! `fyncall tag`, `fyncall tags` and `fyncall tickets --tag`: online, and
//! offline with the change reaching the server once it is back.

use crate::common::*;

fn ids(home: &std::path::Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["tickets", "--limit", "500"];
    all.extend_from_slice(args);
    json_of(home, &all)["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter_map(|t| t["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn tags_are_added_listed_filtered_and_sent_from_offline() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let untagged = workable(&home)
        .into_iter()
        .find(|t| t["tags"].as_array().is_some_and(Vec::is_empty))
        .expect("an untagged ticket of Alice's");
    let id = untagged["id"].as_str().expect("id").to_owned();

    let out = expect(&home, &["tag", &id, "Escalate-Me", "#second"], 0);
    assert!(out.contains("Tags changed"), "{out}");
    assert_eq!(ids(&home, &["--tag", "escalate-me"]), vec![id.clone()]);
    let shown = expect(&home, &["show", &id], 0);
    assert!(
        shown.contains("tags:         escalate-me, second"),
        "{shown}"
    );
    let counts = json_of(&home, &["tags"]);
    assert!(
        counts
            .as_array()
            .expect("counts")
            .iter()
            .any(|c| c["tag"] == "escalate-me" && c["count"] == 1),
        "{counts}"
    );
    // A bad tag: refused in words before anything is queued.
    let out = fyncall(&home, &["tag", &id, "two words"]);
    assert_ne!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("letters, digits"), "{said}");
    assert!(
        json_of(&home, &["pending"])
            .as_array()
            .expect("o")
            .is_empty()
    );
    // Nothing named: said what to do.
    let out = fyncall(&home, &["tag", &id]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--remove"));

    // Offline: the change shows at once and reaches the server later.
    server.stop();
    let out = expect(&home, &["tag", &id, "offline", "--remove", "second"], 0);
    assert!(out.contains("queued"), "{out}");
    assert_eq!(
        ids(&home, &["--tag", "offline", "--not-tag", "second"]),
        vec![id.clone()]
    );
    server.restart();
    expect(&home, &["sync"], 0);
    let on_server = server.api(ALICE).get(&format!("/tickets/{id}"));
    assert_eq!(
        on_server["ticket"]["tags"],
        serde_json::json!(["escalate-me", "offline"]),
        "{on_server}"
    );
    // The demo team's own tags are there to filter by.
    let vip = ids(&home, &["--view", "all", "--tag", "vip"]);
    assert!(!vip.is_empty(), "the demo tags some tickets vip");
    let not_vip = ids(&home, &["--view", "all", "--not-tag", "vip"]);
    assert!(vip.iter().all(|v| !not_vip.contains(v)));
}
