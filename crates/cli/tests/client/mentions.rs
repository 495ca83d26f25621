//! `fyncall mentions`: a comment naming the agent shows as unread on each
//! of their machines; `--read` on one marks it read on the server, and the
//! other machine agrees after its next sync.

use crate::common::*;

#[test]
fn a_mention_is_read_on_one_machine_and_the_other_agrees() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::demo(dir.path());
    let laptop = dir.path().join("laptop");
    let desktop = dir.path().join("desktop");
    login(&laptop, &server, BEN);
    login(&desktop, &server, BEN);
    let before = json_of(&laptop, &["mentions"]);
    let unread_before = before["unread"].as_i64().expect("count");

    let admin = server.api(ADMIN);
    let ben = server.api(BEN).me();
    let ticket = &tickets(&laptop, "mine")[0];
    let id = ticket["id"].as_str().expect("id");
    admin.post(
        &format!("/tickets/{id}/comments"),
        serde_json::json!({"body": "@Ben Okoro the parcel is back", "mention_ids": [ben["id"]]}),
    );
    for home in [&laptop, &desktop] {
        expect(home, &["sync"], 0);
        let list = json_of(home, &["mentions"]);
        assert_eq!(list["unread"].as_i64(), Some(unread_before + 1), "{list}");
        assert_eq!(list["items"][0]["body"], "@Ben Okoro the parcel is back");
        assert_eq!(list["items"][0]["read"], false);
    }
    let shown = expect(&laptop, &["mentions"], 0);
    assert!(
        shown.contains("the parcel is back") && shown.contains("Dana Admin"),
        "{shown}"
    );

    let out = expect(&laptop, &["mentions", "--read"], 0);
    assert!(out.contains("Mentions read"), "{out}");
    assert_eq!(json_of(&laptop, &["mentions"])["unread"], 0);
    assert_eq!(
        server.api(BEN).get("/me/mentions?unread=true"),
        serde_json::json!([])
    );
    // The other machine: read there too after a sync.
    expect(&desktop, &["sync"], 0);
    assert_eq!(json_of(&desktop, &["mentions"])["unread"], 0);
    let again = expect(&desktop, &["mentions", "--read"], 0);
    assert!(again.contains("No unread mentions"), "{again}");
}
