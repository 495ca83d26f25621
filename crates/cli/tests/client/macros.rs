//! `fyncall macros`, `fyncall macro preview` and `fyncall macro apply`: the
//! team's macros kept on the machine at each sync, previewed and applied
//! offline as ordinary queued changes that reach the server later.

use serde_json::json;

use crate::common::*;

#[test]
fn a_team_macro_is_previewed_and_applied_offline() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::demo(dir.path());
    let admin = server.api(ADMIN);
    admin.post(
        "/macros",
        json!({"name": "Refund sent", "scope": "team", "text_kind": "comment",
            "text": "Refund issued for {{ticket.number}} by {{agent.first_name}}",
            "actions": [{"kind": "status", "value": "waiting_on_customer"}, {"kind": "add_tags", "value": ["refund-sent"]}]}),
    );
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    let listed = expect(&home, &["macros"], 0);
    assert!(listed.contains("Refund sent"), "{listed}");
    let ticket = workable(&home)
        .into_iter()
        .find(|t| t["status"] == "in_progress" || t["status"] == "open")
        .expect("a ticket of Alice's");
    let id = ticket["id"].as_str().expect("id").to_owned();
    let number = ticket["number"].as_i64().expect("number");

    let preview = json_of(&home, &["macro", "preview", &id, "refund sent"]);
    assert_eq!(
        preview["text"],
        format!("Refund issued for #{number} by Alice")
    );
    assert!(
        preview["actions"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["allowed"] == true),
        "{preview}"
    );
    let unknown = fyncall(&home, &["macro", "apply", &id, "nope"]);
    assert_ne!(unknown.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("\"Refund sent\""));

    server.stop();
    let out = expect(
        &home,
        &["--offline", "macro", "apply", &id, "Refund sent"],
        0,
    );
    assert!(out.contains("3 step(s) done (queued"), "{out}");
    assert_eq!(
        json_of(&home, &["pending"]).as_array().map(Vec::len),
        Some(3),
        "one change a step"
    );
    server.restart();
    expect(&home, &["sync"], 0);
    let on_server = server.api(ALICE).get(&format!("/tickets/{id}"));
    assert_eq!(on_server["ticket"]["status"], "waiting_on_customer");
    assert_eq!(
        on_server["ticket"]["tags"]
            .as_array()
            .map(|t| t.contains(&json!("refund-sent"))),
        Some(true)
    );
    assert!(
        on_server["activity"]
            .as_array()
            .expect("timeline")
            .iter()
            .any(|e| e["data"]["body"] == format!("Refund issued for #{number} by Alice")),
        "{on_server}"
    );

    // Ben on Alice's ticket: the comment is his to write, the rest is refused in words.
    let ben = dir.path().join("ben");
    login(&ben, &server, BEN);
    let out = expect(&ben, &["macro", "apply", &id, "Refund sent"], 0);
    assert!(
        out.contains("1 step(s) done") && out.contains("only the assignee or an admin"),
        "{out}"
    );
}
