//! Macros over HTTP, both stores (API.md "Tags, macros, mentions, merge"):
//! team macros are admins' to keep, personal ones their owner's; a preview
//! says what each step would do for the caller; applying makes each step an
//! ordinary change, a refused one named while the rest apply.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn refund_sent(scope: &str) -> Value {
    json!({"name": "Refund sent", "scope": scope, "text_kind": "reply",
        "text": "Hi {{customer.first_name}}, the refund for {{ticket.number}} is on its way. {{agent.first_name}}",
        "actions": [{"kind": "status", "value": "waiting_on_customer"},
                    {"kind": "add_tags", "value": ["Refund"]},
                    {"kind": "assign", "value": "me"}]})
}

async fn macros_are_kept_previewed_and_applied_step_by_step(store: Kind) {
    let t = Team::new(store).await;
    // Team macros: admins only; personal ones: anyone, their own.
    assert_error(
        &t.post(&t.alice, "/macros", refund_sent("team")).await,
        403,
        "forbidden",
    );
    let r = t.post(&t.admin, "/macros", refund_sent("team")).await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    let team = r.1["id"].as_str().expect("id").to_owned();
    assert_eq!(
        r.1["actions"][1]["value"],
        json!(["refund"]),
        "tags cleaned"
    );
    let r = t
        .post(&t.bob, "/macros", json!({"name": "Ping", "scope": "personal", "text": "Any news, {{customer.name}}?", "actions": []}))
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    let bobs = r.1["id"].as_str().expect("id").to_owned();
    assert_eq!(r.1["owner_id"], t.bob_id.as_str());
    let bad = t
        .post(
            &t.bob,
            "/macros",
            json!({"name": "x", "scope": "personal", "text": "{{customer.nick}}"}),
        )
        .await;
    assert_error(&bad, 422, "invalid");
    assert!(
        bad.1["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("{{customer.nick}} is not a placeholder")
    );
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(&t.get(&t.bob, "/macros").await.1),
        vec!["Ping", "Refund sent"]
    );
    assert_eq!(
        names(&t.get(&t.alice, "/macros").await.1),
        vec!["Refund sent"],
        "Bob's own stay his"
    );
    // Only the owner changes a personal macro; only an admin a team one.
    assert_error(
        &t.call(&t.alice, Method::DELETE, &format!("/macros/{bobs}"), None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &t.call(
            &t.alice,
            Method::PATCH,
            &format!("/macros/{team}"),
            Some(refund_sent("team")),
        )
        .await,
        403,
        "forbidden",
    );

    // Preview: Alice on her own ticket may do everything.
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let number = ticket["number"].as_i64().expect("number");
    let (s, p) = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/macros/{team}/preview"),
            json!({}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{p}");
    assert_eq!(
        p["text"],
        format!("Hi Casey, the refund for #{number} is on its way. alice")
    );
    let allowed: Vec<bool> = p["actions"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|a| a["allowed"] == true)
        .collect();
    assert_eq!(allowed, vec![true, true, true, true], "{p}");
    // Bob: the reply and taking it are his to do; status and tags are not.
    let p = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/macros/{team}/preview"),
            json!({}),
        )
        .await
        .1;
    let allowed: Vec<(String, bool)> = p["actions"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or("").to_owned(),
                a["allowed"] == true,
            )
        })
        .collect();
    assert_eq!(
        allowed,
        vec![
            ("reply".into(), true),
            ("status".into(), false),
            ("add_tags".into(), false),
            ("assign".into(), true)
        ]
    );
    assert!(
        p["actions"][1]["refusal"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("only the assignee or an admin"),
        "{p}"
    );
    // Nothing was written by the previews.
    assert_eq!(
        t.get(&t.alice, &format!("/tickets/{id}")).await.1["ticket"]["status"],
        "open"
    );

    // Apply as Bob: refused steps named, the others done, in order.
    let (s, a) = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/macros/{team}/apply"),
            json!({}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{a}");
    assert_eq!(a["applied"], json!(["reply", "assign"]), "{a}");
    assert_eq!(a["refused"].as_array().map(Vec::len), Some(2), "{a}");
    assert_eq!(a["refused"][0]["kind"], "status");
    assert_eq!(a["ticket"]["assignee_id"], t.bob_id.as_str());
    // Now his: applied again, every step goes through.
    let a = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/macros/{team}/apply"),
            json!({}),
        )
        .await
        .1;
    assert_eq!(a["refused"], json!([]), "{a}");
    assert_eq!(a["ticket"]["status"], "waiting_on_customer");
    assert_eq!(a["ticket"]["tags"], json!(["refund"]));
    let conversation = t
        .get(&t.bob, &format!("/conversations/{}", t.conversation))
        .await
        .1;
    let replies = conversation["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("Hi Casey, the refund"))
        })
        .count();
    assert_eq!(replies, 2, "each apply replied once");
    // A macro of someone else's: not found.
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{id}/macros/{bobs}/apply"),
            json!({}),
        )
        .await,
        404,
        "not_found",
    );
    let (s, _) = t
        .call(&t.bob, Method::DELETE, &format!("/macros/{bobs}"), None)
        .await;
    assert_eq!(s.as_u16(), 204);
}

crate::both_stores!(macros_are_kept_previewed_and_applied_step_by_step);
