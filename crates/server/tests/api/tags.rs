//! RULES.md "Tags" over HTTP: who may tag, what a tag may be, the filters
//! of `GET /tickets` and the counts of `GET /tags`, on both stores.

use serde_json::{Value, json};

use crate::common::*;

fn ids(page: &Value) -> Vec<String> {
    page["tickets"]
        .as_array()
        .map(|items| {
            let mut out: Vec<String> = items
                .iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned))
                .collect();
            out.sort();
            out
        })
        .unwrap_or_default()
}

async fn tags_are_set_filtered_and_counted(store: Kind) {
    let t = Team::new(store).await;
    let a = t.ticket(&t.alice, "normal").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = t.ticket(&t.alice, "high").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let c = t.ticket(&t.bob, "low").await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{a}/tags"),
            json!({"add": ["VIP", "#refund"]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(
        r.1["tags"],
        json!(["refund", "vip"]),
        "stored lower-case, sorted"
    );
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{b}/tags"),
            json!({"add": ["vip"]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    // Whoever may edit the ticket tags it: not another agent, an admin yes.
    assert_error(
        &t.post(&t.bob, &format!("/tickets/{a}/tags"), json!({"add": ["x"]}))
            .await,
        403,
        "forbidden",
    );
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{c}/tags"),
            json!({"add": ["late_delivery"]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    // A bad tag is refused in words and nothing is written.
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{a}/tags"),
            json!({"add": ["two words", "ok"]}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.1["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("letters, digits"),
        "{}",
        r.1
    );
    assert_eq!(
        t.get(&t.alice, &format!("/tickets/{a}")).await.1["ticket"]["tags"],
        json!(["refund", "vip"])
    );
    // The timeline says what moved.
    let detail = t.get(&t.alice, &format!("/tickets/{a}")).await.1;
    let entry = detail["activity"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "tags_changed"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["data"]["added"], json!(["refund", "vip"]), "{detail}");

    // Filters: any of, none of, and both; a `_` in a tag is not a wildcard.
    let mut ab = vec![a.clone(), b.clone()];
    ab.sort();
    assert_eq!(ids(&t.get(&t.alice, "/tickets?tag=vip").await.1), ab);
    let mut ac = vec![a.clone(), c.clone()];
    ac.sort();
    assert_eq!(
        ids(&t.get(&t.alice, "/tickets?tag=refund,late_delivery").await.1),
        ac
    );
    assert_eq!(
        ids(&t.get(&t.alice, "/tickets?tag=vip&not_tag=refund").await.1),
        vec![b.clone()]
    );
    assert_eq!(
        ids(&t.get(&t.alice, "/tickets?tag=late-delivery").await.1),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&t.get(&t.alice, "/tickets?tag=late_deliver").await.1),
        Vec::<String>::new()
    );
    let none_vip = ids(&t.get(&t.alice, "/tickets?not_tag=vip").await.1);
    assert!(none_vip.contains(&c) && !none_vip.contains(&a) && !none_vip.contains(&b));
    assert_eq!(
        t.get(&t.alice, "/tickets?tag=VIP&view=mine").await.1["total"],
        2
    );
    assert_error(
        &t.get(&t.alice, "/tickets?tag=a%20b").await,
        400,
        "bad_request",
    );

    // Counts over tickets not closed, most used first.
    let counts = t.get(&t.alice, "/tags").await.1;
    assert_eq!(counts[0], json!({"tag": "vip", "count": 2}), "{counts}");
    assert_eq!(counts.as_array().map(Vec::len), Some(3), "{counts}");
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{b}/tags"),
            json!({"remove": ["vip"]}),
        )
        .await;
    assert_eq!(r.1["tags"], json!([]));
    assert_eq!(t.get(&t.alice, "/tags").await.1[0]["count"], 1);

    // The same change through a sync push, as the desktop sends it offline.
    let r = t
        .post(
            &t.alice,
            "/sync/push",
            json!({"client_id": uuid::Uuid::now_v7(), "mutations": [{"id": uuid::Uuid::now_v7(), "name": "set_tags",
                "args": {"ticket_id": b, "add": ["pushed"]}, "client_at": "2026-01-01T00:00:00.000Z"}]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(
        t.get(&t.alice, &format!("/tickets/{b}")).await.1["ticket"]["tags"],
        json!(["pushed"])
    );
}

crate::both_stores!(tags_are_set_filtered_and_counted);
