//! `fyncall merge` and `fyncall unmerge`: the preview's words, a merge and
//! a comment on the merged ticket made offline reaching the server once it
//! is back (the comment on the target, marked as from the source), and the
//! unmerge.

use crate::common::*;

#[test]
fn a_merge_made_offline_reaches_the_server_and_is_undone() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let mine = workable(&home);
    assert!(mine.len() >= 2, "two tickets of Alice's to merge");
    let (a, b) = (
        mine[0]["id"].as_str().expect("id").to_owned(),
        mine[1]["id"].as_str().expect("id").to_owned(),
    );
    let (a_no, b_no) = (
        mine[0]["number"].as_i64().expect("n"),
        mine[1]["number"].as_i64().expect("n"),
    );

    let said = expect(
        &home,
        &[
            "merge",
            &format!("#{a_no}"),
            &format!("#{b_no}"),
            "--preview",
        ],
        0,
    );
    assert!(
        said.contains(&format!("#{a_no} closes as \"merged into #{b_no}\"")),
        "{said}"
    );
    assert!(
        json_of(&home, &["pending"])
            .as_array()
            .expect("o")
            .is_empty(),
        "a preview queues nothing"
    );
    // Into itself: refused in words, nothing queued.
    let out = fyncall(&home, &["merge", &a, &a]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be merged into itself"));

    server.stop();
    let out = expect(&home, &["merge", &a, &b], 0);
    assert!(out.contains("queued"), "{out}");
    let shown = expect(&home, &["show", &a], 0);
    assert!(shown.contains(&format!("merged into #{b_no}")), "{shown}");
    // A comment on the merged ticket lands on the target, offline too.
    expect(&home, &["comment", &a, "sent to the old ticket"], 0);
    let target = expect(&home, &["show", &b], 0);
    assert!(
        target.contains(&format!("sent to the old ticket (from #{a_no})")),
        "{target}"
    );
    // Any other change of it is refused in the merge's words.
    let out = fyncall(&home, &["priority", &a, "low"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("merged into #{b_no}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    server.restart();
    expect(&home, &["sync"], 0);
    let api = server.api(ALICE);
    let source = api.get(&format!("/tickets/{a}"));
    assert_eq!(
        source["ticket"]["merged_into_id"],
        serde_json::json!(b),
        "{source}"
    );
    let landed = api.get(&format!("/tickets/{b}"));
    let comment = landed["activity"]
        .as_array()
        .and_then(|x| {
            x.iter()
                .find(|e| e["data"]["body"] == "sent to the old ticket")
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(comment["ticket_id"], serde_json::json!(b), "{landed}");
    assert_eq!(comment["data"]["merged_from"], serde_json::json!(a));

    let out = expect(&home, &["unmerge", &a], 0);
    assert!(out.contains("Unmerged"), "{out}");
    let back = server.api(ALICE).get(&format!("/tickets/{a}"));
    assert_eq!(
        back["ticket"]["merged_into_id"],
        serde_json::Value::Null,
        "{back}"
    );
    assert_ne!(back["ticket"]["status"], "closed");
}
