//! RULES.md "Merge" over HTTP, on both stores: a merge closes the source
//! as "merged into #B" and shows its comments on the target; the source
//! refuses every later change in those words, also when the change was
//! queued offline before the merge and arrives after it; a comment queued
//! offline lands on the target marked as from the source; an unmerge puts
//! the source back.

use serde_json::{Value, json};

use crate::common::*;

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["activity"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A sync push of one mutation made offline earlier; its result.
async fn pushed(t: &Team, token: &str, name: &str, args: Value) -> Value {
    let r = t
        .post(
            token,
            "/sync/push",
            json!({"client_id": uuid::Uuid::now_v7(), "mutations": [{"id": uuid::Uuid::now_v7(), "name": name,
                "args": args, "client_at": "2026-01-01T00:00:00.000Z"}]}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    r.1["results"][0].clone()
}

async fn a_merge_and_its_unmerge(store: Kind) {
    let t = Team::new(store).await;
    let a = t.ticket(&t.alice, "high").await;
    let b = t.ticket(&t.alice, "normal").await;
    let (a_id, b_id) = (id_of(&a), id_of(&b));
    let (a_no, b_no) = (
        a["number"].as_i64().expect("n"),
        b["number"].as_i64().expect("n"),
    );
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{a_id}/comments"),
            json!({"body": "customer sent the invoice twice"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    let b_sla = t.get(&t.alice, &format!("/tickets/{b_id}")).await.1["ticket"]["sla"].clone();

    // Not Bob's to merge; not into itself; not into a ticket not there.
    assert_error(
        &t.post(
            &t.bob,
            &format!("/tickets/{a_id}/merge"),
            json!({"into_ticket_id": b_id}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{a_id}/merge"),
            json!({"into_ticket_id": a_id}),
        )
        .await,
        422,
        "invalid",
    );
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{a_id}/merge"),
            json!({"into_ticket_id": uuid::Uuid::now_v7()}),
        )
        .await,
        422,
        "invalid",
    );
    assert_error(
        &t.post(&t.alice, &format!("/tickets/{a_id}/merge"), json!({}))
            .await,
        400,
        "bad_request",
    );

    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{a_id}/merge"),
            json!({"into_ticket_id": b_id}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(r.1["id"], json!(b_id), "answers the target");
    assert_eq!(r.1["merged_ids"], json!([a_id]));
    assert_eq!(r.1["merged_into_id"], Value::Null);
    // The target's SLA clocks are unchanged.
    assert_eq!(r.1["sla"], b_sla);

    let source = t.get(&t.alice, &format!("/tickets/{a_id}")).await.1;
    assert_eq!(source["ticket"]["status"], "closed");
    assert_eq!(source["ticket"]["merged_into_id"], json!(b_id));
    let last = source["activity"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["kind"], "merged_into", "{source}");
    assert_eq!(last["data"]["into_number"], b_no);
    // The target's timeline: its own entries, the merge, and A's comment
    // (named by A's id: "from #A").
    let target = t.get(&t.alice, &format!("/tickets/{b_id}")).await.1;
    assert!(
        kinds(&target).contains(&"merged_here".to_owned()),
        "{target}"
    );
    let moved: Vec<&Value> = target["activity"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["ticket_id"] == json!(a_id)).collect())
        .unwrap_or_default();
    assert_eq!(moved.len(), 1, "{target}");
    assert_eq!(moved[0]["data"]["body"], "customer sent the invoice twice");

    // Every later change of A is refused in the merge's words.
    let words = format!("merged into #{b_no}: reopen #{b_no}");
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{a_id}/status"),
            json!({"status": "in_progress"}),
        )
        .await;
    assert_error(&r, 409, "invalid_transition");
    assert_eq!(r.1["error"]["message"], words);
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{a_id}/priority"),
            json!({"priority": "low"}),
        )
        .await;
    assert_error(&r, 409, "invalid_transition");
    assert_eq!(
        r.1["error"]["message"],
        format!("merged into #{b_no}: make the change on #{b_no}")
    );

    // Queued offline before the merge, arriving after: a tag change is
    // refused with the same words; a comment lands on B marked as from A.
    let refused = pushed(
        &t,
        &t.alice,
        "set_tags",
        json!({"ticket_id": a_id, "add": ["late"]}),
    )
    .await;
    assert_eq!(refused["outcome"], "rejected", "{refused}");
    assert_eq!(refused["error"]["code"], "invalid_transition");
    assert_eq!(
        refused["error"]["message"],
        format!("merged into #{b_no}: make the change on #{b_no}")
    );
    let comment = uuid::Uuid::now_v7();
    let landed = pushed(
        &t,
        &t.bob,
        "comment",
        json!({"id": comment, "ticket_id": a_id, "body": "written on the train"}),
    )
    .await;
    assert_eq!(landed["outcome"], "applied", "{landed}");
    let target = t.get(&t.alice, &format!("/tickets/{b_id}")).await.1;
    let entry = target["activity"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["id"] == json!(comment)))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["ticket_id"], json!(b_id), "{target}");
    assert_eq!(entry["data"]["merged_from"], json!(a_id));
    // The same over plain HTTP.
    let r = t
        .post(
            &t.bob,
            &format!("/tickets/{a_id}/comments"),
            json!({"body": "and one more"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    assert_eq!(r.1["ticket_id"], json!(b_id));
    assert_eq!(r.1["data"]["merged_from"], json!(a_id));
    let unchanged = t.get(&t.alice, &format!("/tickets/{a_id}")).await.1;
    assert_eq!(
        unchanged["ticket"], source["ticket"],
        "the merged ticket took nothing"
    );

    // Unmerge: Bob may not; Alice may; A is back as it was.
    assert_error(
        &t.post(&t.bob, &format!("/tickets/{a_id}/unmerge"), json!({}))
            .await,
        403,
        "forbidden",
    );
    assert_error(
        &t.post(&t.alice, &format!("/tickets/{b_id}/unmerge"), json!({}))
            .await,
        409,
        "invalid_transition",
    );
    let r = t
        .post(&t.alice, &format!("/tickets/{a_id}/unmerge"), json!({}))
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(r.1["status"], "open");
    assert_eq!(r.1["merged_into_id"], Value::Null);
    assert_eq!(r.1["closed_at"], Value::Null);
    assert_eq!(r.1["resolved_at"], Value::Null);
    assert_eq!(r.1["number"], a_no);
    let target = t.get(&t.alice, &format!("/tickets/{b_id}")).await.1;
    assert_eq!(target["ticket"].get("merged_ids"), None, "{target}");
    assert!(kinds(&target).contains(&"unmerged_here".to_owned()));
    assert!(
        target["activity"]
            .as_array()
            .is_some_and(|a| a.iter().all(|e| e["ticket_id"] == json!(b_id))),
        "A's own comments left B's timeline with it"
    );
    // And A takes changes again.
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{a_id}/status"),
            json!({"status": "in_progress"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
}

crate::both_stores!(a_merge_and_its_unmerge);
