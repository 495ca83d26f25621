//! RULES.md "Auto-close" over HTTP, both stores: a resolved ticket closes
//! on its own when the team's days have passed (the sweep is a store call
//! with a later `now`: a moved clock), exactly once, with an entry saying
//! so; a customer message before then reopens it; 0 days never closes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn resolve(t: &Team, conversation: &str) -> String {
    let (s, v) = t
        .call(&t.alice, Method::POST, "/tickets", Some(json!({"conversation_id": conversation, "subject": "Refund sent", "priority": "normal"})))
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let id = v["id"].as_str().expect("id").to_owned();
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/status"),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(r.1["status"], "resolved", "{}", r.1);
    id
}

async fn ticket(t: &Team, id: &str) -> Value {
    t.get(&t.alice, &format!("/tickets/{id}")).await.1
}

async fn resolved_tickets_close_on_their_own_once(store: Kind) {
    let t = Team::new(store).await;
    let (_, settings) = t.get(&t.alice, "/settings").await;
    assert_eq!(settings["auto_close_after_days"], 4, "the default");
    let mut bad = settings.clone();
    bad["auto_close_after_days"] = json!(31);
    let r = t.call(&t.admin, Method::PUT, "/settings", Some(bad)).await;
    assert_error(&r, 422, "invalid");
    assert!(
        r.1["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("0 to 30 days"),
        "{}",
        r.1
    );

    let id = resolve(&t, &t.conversation).await;
    let resolved_at: fyncall_domain::Timestamp = ticket(&t, &id).await["ticket"]["resolved_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("resolved_at");
    let due = resolved_at + chrono::TimeDelta::days(4);
    // A minute early: nothing.
    t.sweep(due - chrono::TimeDelta::minutes(1)).await;
    assert_eq!(ticket(&t, &id).await["ticket"]["status"], "resolved");
    // On time: closed by the system, with the words.
    assert!(t.sweep(due).await.is_some(), "the sweep wrote the close");
    let v = ticket(&t, &id).await;
    assert_eq!(v["ticket"]["status"], "closed", "{v}");
    assert_eq!(
        v["ticket"]["closed_at"]
            .as_str()
            .and_then(|s| s.parse::<fyncall_domain::Timestamp>().ok()),
        Some(due)
    );
    let closes: Vec<&Value> = v["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "auto_closed")
        .collect();
    assert_eq!(closes.len(), 1, "{v}");
    assert_eq!(closes[0]["actor"]["kind"], "system");
    assert_eq!(
        closes[0]["data"],
        json!({"days": 4, "business_days": false})
    );
    // Once: a later sweep finds nothing to do.
    assert!(t.sweep(due + chrono::TimeDelta::minutes(5)).await.is_none());
    // Closed now: an agent's change is refused as for any closed ticket.
    let r = t
        .post(
            &t.alice,
            &format!("/tickets/{id}/priority"),
            json!({"priority": "high"}),
        )
        .await;
    assert_error(&r, 409, "invalid_transition");

    // A customer message before then reopens it to In Progress, and it stays open.
    let other = t.new_conversation().await;
    let reopened = resolve(&t, &other).await;
    let r = t
        .post(
            &t.integration,
            &format!("/integrations/conversations/{other}/messages"),
            json!({"author": "customer", "body": "It did not arrive after all"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    let v = ticket(&t, &reopened).await;
    assert_eq!(v["ticket"]["status"], "in_progress", "{v}");
    t.sweep(due + chrono::TimeDelta::days(30)).await;
    assert_eq!(
        ticket(&t, &reopened).await["ticket"]["status"],
        "in_progress"
    );

    // 0 days: never.
    let mut never = t.get(&t.alice, "/settings").await.1;
    never["auto_close_after_days"] = json!(0);
    let (s, _) = t
        .call(&t.admin, Method::PUT, "/settings", Some(never))
        .await;
    assert_eq!(s.as_u16(), 200);
    let kept = resolve(&t, &t.conversation).await;
    t.sweep(fyncall_server::time::now() + chrono::TimeDelta::days(60))
        .await;
    assert_eq!(ticket(&t, &kept).await["ticket"]["status"], "resolved");
}

crate::both_stores!(resolved_tickets_close_on_their_own_once);
