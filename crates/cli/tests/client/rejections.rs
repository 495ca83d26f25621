//! A change the server refuses lands in `problems` with its reason and the
//! agent's text; the ticket shows the server's state; later changes sync.

use serde_json::json;

use crate::common::*;

#[test]
fn a_refused_change_is_kept_with_its_text_and_later_ones_still_sync() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let mine = workable(&home);
    let (t1, t2) = (
        mine[0]["id"].as_str().expect("id").to_owned(),
        mine[1]["id"].as_str().expect("id").to_owned(),
    );
    let note = "Replaced the blender lid; refund not needed";
    expect(
        &home,
        &["--offline", "status", &t1, "resolved", "--note", note],
        0,
    );
    expect(&home, &["--offline", "comment", &t2, "a later action"], 0);
    let shown = json_of(&home, &["show", &t1]);
    assert_eq!(shown["ticket"]["status"], "resolved", "optimistic");
    assert_eq!(shown["ticket"]["pending"], true);

    // Meanwhile an admin gives the ticket to Ben.
    let admin = server.api(ADMIN);
    let ben = server.api(BEN).me();
    admin.post(
        &format!("/tickets/{t1}/assign"),
        json!({"assignee_id": ben["id"]}),
    );

    let out = expect(&home, &["sync"], 0);
    assert!(out.contains("1 refused"), "{out}");
    let problems = json_of(&home, &["problems"]);
    let problems = problems.as_array().expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0]["code"], "forbidden");
    assert!(
        problems[0]["message"]
            .as_str()
            .expect("m")
            .contains("only the assignee"),
        "{}",
        problems[0]
    );
    assert_eq!(problems[0]["typed"]["note"], note, "the typed text is kept");
    let human = expect(&home, &["problems"], 0);
    assert!(
        human.contains(note) && human.contains("refused (forbidden)"),
        "{human}"
    );

    let t1_local = json_of(&home, &["show", &t1])["ticket"].clone();
    let t1_server = admin.get(&format!("/tickets/{t1}"))["ticket"].clone();
    assert_eq!(t1_local["status"], t1_server["status"]);
    assert_eq!(t1_local["assignee_id"], ben["id"]);
    assert_eq!(t1_local["pending"], false);

    let t2_server = admin.get(&format!("/tickets/{t2}"));
    assert!(
        t2_server["activity"]
            .as_array()
            .expect("activity")
            .iter()
            .any(|a| a["data"]["body"] == "a later action"),
        "the later comment reached the server"
    );
    assert_eq!(json_of(&home, &["pending"]).as_array().expect("o").len(), 0);

    // A change the rules refuse locally: exit 2, nothing queued.
    let out = fyncall(&home, &["status", &t1, "closed"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    assert_eq!(json_of(&home, &["pending"]).as_array().expect("o").len(), 0);

    // Retrying is refused again by the server (still Ben's); discarding clears it.
    let id = problems[0]["id"].as_str().expect("id").to_owned();
    expect(&home, &["problems", "retry", &id], 2);
    expect(&home, &["problems", "discard", &id], 0);
    assert_eq!(
        json_of(&home, &["problems"]).as_array().expect("p").len(),
        0
    );
    // Unknown commands and ids: exit 1 with a message.
    expect(&home, &["show", "#999999"], 1);
    expect(&home, &["problems", "discard", "nope"], 1);
}
