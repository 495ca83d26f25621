//! RULES.md "Who may do what" and "Status lifecycle" over HTTP, for both roles.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn create_assign_and_manage_by_role(store: Kind) {
    let t = Team::new(store).await;
    // Any agent creates; the assignee defaults to the creator.
    let ticket = t.ticket(&t.alice, "normal").await;
    assert_eq!(ticket["assignee_id"], t.alice_id.as_str());
    assert!(
        ticket["number"].as_i64().is_some(),
        "the server gives a number"
    );
    assert_eq!(ticket["sla"]["first_response"]["target_minutes"], 240);
    let id = ticket["id"].as_str().expect("id").to_owned();

    // An agent cannot create for someone else; an admin can.
    let r = t.post(&t.bob, "/tickets", json!({"conversation_id": t.conversation, "subject": "x", "priority": "low", "assignee_id": t.alice_id})).await;
    assert_error(&r, 403, "forbidden");
    let r = t.post(&t.admin, "/tickets", json!({"conversation_id": t.conversation, "subject": "x", "priority": "low", "assignee_id": t.bob_id})).await;
    assert_eq!(r.0.as_u16(), 201);

    // Manage actions: the assignee or an admin only.
    for (path, body) in [
        ("priority", json!({"priority": "urgent"})),
        ("status", json!({"status": "in_progress"})),
    ] {
        let r = t
            .post(&t.bob, &format!("/tickets/{id}/{path}"), body.clone())
            .await;
        assert_error(&r, 403, "forbidden");
        assert!(
            r.1["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("only the assignee or an admin")
        );
    }
    let r = t
        .call(
            &t.bob,
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"subject": "Mine now"})),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .call(
            &t.alice,
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"subject": "Refund late"})),
        )
        .await;
    assert_eq!(
        (r.0.as_u16(), r.1["subject"].as_str()),
        (200, Some("Refund late"))
    );
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{id}/priority"),
            json!({"priority": "high"}),
        )
        .await;
    assert_eq!(r.1["priority"], "high");

    // Comments: any agent, and an agent comment is the first response.
    let r = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/comments"),
            json!({"body": "I know this customer"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    assert_eq!(r.1["kind"], "comment");
    let (_, v) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    assert_eq!(v["ticket"]["sla"]["first_response"]["state"], "met");

    // Assign: agent only to themself; admin anyone or nobody.
    let r = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/assign"),
            json!({"assignee_id": t.alice_id}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/assign"),
            json!({"assignee_id": null}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .post(
            &t.bob,
            &format!("/tickets/{id}/assign"),
            json!({"assignee_id": t.bob_id}),
        )
        .await;
    assert_eq!(r.1["assignee_id"], t.bob_id.as_str());
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{id}/assign"),
            json!({"assignee_id": null}),
        )
        .await;
    assert_eq!(r.1["assignee_id"], serde_json::Value::Null);
    let r = t
        .post(
            &t.admin,
            &format!("/tickets/{id}/assign"),
            json!({"assignee_id": t.alice_id}),
        )
        .await;
    assert_eq!(r.1["assignee_id"], t.alice_id.as_str());

    let (_, v) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    let kinds: Vec<&str> = v["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "edited",
            "priority_changed",
            "comment",
            "assigned",
            "assigned",
            "assigned"
        ]
    );
}

async fn every_lifecycle_move(store: Kind) {
    let t = Team::new(store).await;
    let allowed = [
        ("open", "in_progress"),
        ("open", "waiting_on_customer"),
        ("open", "resolved"),
        ("in_progress", "waiting_on_customer"),
        ("in_progress", "resolved"),
        ("waiting_on_customer", "in_progress"),
        ("waiting_on_customer", "resolved"),
        ("resolved", "closed"),
        ("resolved", "in_progress"),
    ];
    let path_to = |s: &str| -> Vec<&'static str> {
        match s {
            "open" => vec![],
            "in_progress" => vec!["in_progress"],
            "waiting_on_customer" => vec!["waiting_on_customer"],
            "resolved" => vec!["resolved"],
            _ => vec!["resolved", "closed"],
        }
    };
    let all = [
        "open",
        "in_progress",
        "waiting_on_customer",
        "resolved",
        "closed",
    ];
    for from in all {
        for to in all {
            let ticket = t.ticket(&t.alice, "normal").await;
            let id = ticket["id"].as_str().expect("id");
            for step in path_to(from) {
                let r = t
                    .post(
                        &t.alice,
                        &format!("/tickets/{id}/status"),
                        json!({"status": step}),
                    )
                    .await;
                assert_eq!(r.0.as_u16(), 200, "{}", r.1);
            }
            let r = t
                .post(
                    &t.alice,
                    &format!("/tickets/{id}/status"),
                    json!({"status": to}),
                )
                .await;
            if allowed.contains(&(from, to)) {
                assert_eq!(
                    (r.0.as_u16(), r.1["status"].as_str()),
                    (200, Some(to)),
                    "{from} → {to}: {}",
                    r.1
                );
            } else {
                assert_error(&r, 409, "invalid_transition");
            }
        }
    }
}

async fn conversation_claim_and_assign_move_open_tickets(store: Kind) {
    let t = Team::new(store).await;
    let open = t.ticket(&t.alice, "normal").await;
    let done = t.ticket(&t.alice, "normal").await;
    let done_id = done["id"].as_str().expect("id");
    t.post(
        &t.alice,
        &format!("/tickets/{done_id}/status"),
        json!({"status": "resolved", "note": "fixed"}),
    )
    .await;

    let r = t
        .post(
            &t.bob,
            &format!("/conversations/{}/claim", t.conversation),
            json!({}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 200, "{}", r.1);
    assert_eq!(r.1["assignee_id"], t.bob_id.as_str());
    assert_eq!(r.1["ticket_ids"].as_array().map(Vec::len), Some(2));
    let (_, v) = t
        .get(
            &t.bob,
            &format!("/tickets/{}", open["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(v["ticket"]["assignee_id"], t.bob_id.as_str());
    let last = v["activity"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .expect("entry");
    assert_eq!(last["data"]["reason"], "conversation_claimed");
    let (_, v) = t.get(&t.bob, &format!("/tickets/{done_id}")).await;
    assert_eq!(
        v["ticket"]["assignee_id"],
        t.alice_id.as_str(),
        "resolved tickets stay"
    );
    let (_, mine) = t.get(&t.bob, "/tickets?view=mine").await;
    assert_eq!(mine["total"], 1);

    let r = t
        .post(
            &t.alice,
            &format!("/conversations/{}/assign", t.conversation),
            json!({"agent_id": t.alice_id}),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .post(
            &t.admin,
            &format!("/conversations/{}/assign", t.conversation),
            json!({"agent_id": t.alice_id}),
        )
        .await;
    assert_eq!(r.1["assignee_id"], t.alice_id.as_str());
    let (_, v) = t
        .get(
            &t.bob,
            &format!("/tickets/{}", open["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(v["ticket"]["assignee_id"], t.alice_id.as_str());
}

async fn integration_endpoints_are_for_integration_tokens_only(store: Kind) {
    let t = Team::new(store).await;
    let ctx = json!({"trigger": "sentiment_threshold", "intent": "request a refund", "confidence": 0.9,
        "sentiment": "upset", "actions_taken": ["looked up the order"], "suggested_resolution": "refund"});
    let body = json!({"conversation_id": t.conversation, "subject": "Angry customer", "priority": "high", "ai_context": ctx});
    let r = t
        .post(&t.admin, "/integrations/escalations", body.clone())
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .post(&t.integration, "/integrations/escalations", body)
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    assert_eq!(
        (r.1["source"].as_str(), r.1["assignee_id"].is_null()),
        (Some("ai"), true)
    );
    assert_eq!(r.1["ai_context"]["intent"], "request a refund");
    let r = t.get(&t.integration, "/tickets").await;
    assert_error(&r, 403, "forbidden");
    let (_, v) = t.get(&t.alice, "/tickets?view=ai_escalated").await;
    assert_eq!(v["total"], 1);

    // A customer message moves waiting tickets to in progress.
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id");
    t.post(
        &t.alice,
        &format!("/tickets/{id}/status"),
        json!({"status": "waiting_on_customer"}),
    )
    .await;
    let (_, v) = t.get(&t.alice, "/tickets?view=pending").await;
    assert_eq!(v["total"], 1);
    let r = t
        .post(
            &t.integration,
            &format!("/integrations/conversations/{}/messages", t.conversation),
            json!({"author": "customer", "body": "Here is the photo"}),
        )
        .await;
    assert_eq!(r.0.as_u16(), 201, "{}", r.1);
    let (_, v) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    assert_eq!(v["ticket"]["status"], "in_progress");
    assert_eq!(
        v["activity"]
            .as_array()
            .and_then(|a| a.last())
            .map(|e| e["actor"]["kind"].clone()),
        Some(json!("customer"))
    );

    // An agent reply is the first response of tickets made before it.
    let fresh = t.ticket(&t.bob, "urgent").await;
    let r = t
        .post(
            &t.bob,
            &format!("/conversations/{}/messages", t.conversation),
            json!({"body": "On it"}),
        )
        .await;
    assert_eq!((r.0.as_u16(), r.1["author"].as_str()), (201, Some("agent")));
    let (_, v) = t
        .get(
            &t.bob,
            &format!("/tickets/{}", fresh["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(v["ticket"]["sla"]["first_response"]["state"], "met");
    let (_, c) = t
        .get(&t.bob, &format!("/conversations/{}", t.conversation))
        .await;
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(2));
}

async fn sla_breach_entry_is_appended_once_by_the_sweep(store: Kind) {
    let t = Team::new(store).await;
    let ticket = t.ticket(&t.alice, "urgent").await;
    let id = ticket["id"].as_str().expect("id");
    // Pretend 20 minutes passed: the sweep is a store call with a later `now`.
    let later = fyncall_server::time::now() + chrono::TimeDelta::minutes(20);
    assert!(t.sweep(later).await.is_some());
    assert!(t.sweep(later).await.is_none(), "recorded once");
    let (_, v) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    let breaches: Vec<_> = v["activity"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "sla_breached")
        .collect();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0]["data"]["timer"], "first_response");
    assert_eq!(breaches[0]["actor"]["kind"], "system");
}

async fn views_filters_search_and_keyset_paging(store: Kind) {
    let t = Team::new(store).await;
    for i in 0..7 {
        let priority = if i % 2 == 0 { "high" } else { "low" };
        let (s, _) = t
            .post(&t.alice, "/tickets", json!({"conversation_id": t.conversation, "subject": format!("Parcel {i}"), "priority": priority, "category": "shipping"}))
            .await;
        assert_eq!(s.as_u16(), 201);
    }
    let special = t.ticket(&t.bob, "normal").await;
    t.post(
        &t.bob,
        &format!("/tickets/{}/comments", special["id"].as_str().expect("id")),
        json!({"body": "customer mentioned zebra"}),
    )
    .await;
    let (_, v) = t.get(&t.alice, "/tickets?q=zebra").await;
    assert_eq!(v["total"], 1, "comments are searched");
    let (_, v) = t
        .get(&t.alice, "/tickets?priority=high&category=shipping")
        .await;
    assert_eq!(v["total"], 4);
    let (_, v) = t
        .get(&t.alice, &format!("/tickets?assignee_id={}", t.bob_id))
        .await;
    assert_eq!(v["total"], 1);
    // Page through all 8 three at a time, sorted by number: no repeats, no gaps.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/tickets?sort=number&limit=3&cursor={c}"),
            None => "/tickets?sort=number&limit=3".to_owned(),
        };
        let (s, v) = t.get(&t.alice, &path).await;
        assert_eq!(s.as_u16(), 200, "{v}");
        assert_eq!(v["total"], 8);
        for ticket in v["tickets"].as_array().expect("tickets") {
            seen.push(ticket["number"].as_i64().expect("number"));
        }
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(seen, sorted, "ascending, each once");
    assert_eq!(seen.len(), 8);
}

async fn deactivated_agents_and_logged_out_tokens_stop_working(store: Kind) {
    let t = Team::new(store).await;
    let (s, _) = t.get(&t.bob, "/me").await;
    assert_eq!(s.as_u16(), 200);
    let r = t
        .call(
            &t.alice,
            Method::PATCH,
            &format!("/agents/{}", t.bob_id),
            Some(json!({"active": false})),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = t
        .call(
            &t.admin,
            Method::PATCH,
            &format!("/agents/{}", t.bob_id),
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(r.1["active"], false);
    assert_error(&t.get(&t.bob, "/me").await, 401, "unauthorized");
    assert_error(
        &t.post(
            "",
            "/auth/login",
            json!({"email": "bob@example.com", "password": PASSWORD}),
        )
        .await,
        401,
        "unauthorized",
    );
    let (s, _) = t.post(&t.alice, "/auth/logout", json!({})).await;
    assert_eq!(s.as_u16(), 204);
    assert_error(&t.get(&t.alice, "/me").await, 401, "unauthorized");
    let r = t
        .call(
            &t.admin,
            Method::PATCH,
            &format!("/agents/{}", t.admin_id),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert_error(&r, 422, "invalid");
}

async fn settings_are_admin_only_and_validated(store: Kind) {
    let t = Team::new(store).await;
    let (_, mut settings) = t.get(&t.alice, "/settings").await;
    assert_eq!(
        settings["sla_policy"]["urgent"]["first_response_minutes"],
        15
    );
    settings["sla_policy"]["normal"]["first_response_minutes"] = json!(30);
    assert_error(
        &t.call(&t.alice, Method::PUT, "/settings", Some(settings.clone()))
            .await,
        403,
        "forbidden",
    );
    let (s, _) = t
        .call(&t.admin, Method::PUT, "/settings", Some(settings.clone()))
        .await;
    assert_eq!(s.as_u16(), 200);
    let ticket = t.ticket(&t.alice, "normal").await;
    assert_eq!(ticket["sla"]["first_response"]["target_minutes"], 30);
    settings["at_risk_fraction"] = json!(1.5);
    assert_error(
        &t.call(&t.admin, Method::PUT, "/settings", Some(settings))
            .await,
        422,
        "invalid",
    );
}

crate::both_stores!(
    create_assign_and_manage_by_role,
    every_lifecycle_move,
    conversation_claim_and_assign_move_open_tickets,
    integration_endpoints_are_for_integration_tokens_only,
    sla_breach_entry_is_appended_once_by_the_sweep,
    views_filters_search_and_keyset_paging,
    deactivated_agents_and_logged_out_tokens_stop_working,
    settings_are_admin_only_and_validated
);
