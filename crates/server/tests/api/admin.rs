//! What an admin sets for the team (API.md "Settings"): business hours,
//! retired categories, and the refusals that say what to fix.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

fn due(ticket: &Value, timer: &str) -> chrono::DateTime<chrono::Utc> {
    ticket["sla"][timer]["due_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{timer} due_at in {ticket}"))
}

async fn business_hours_move_running_deadlines_and_bad_calendars_say_what_to_fix(store: Kind) {
    let t = Team::new(store).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let before = due(&ticket, "first_response");
    let (_, mut settings) = t.get(&t.admin, "/settings").await;
    assert_eq!(settings["calendar"], Value::Null, "no calendar by default");
    assert_eq!(settings["sla_policy"]["normal"]["hours"], "always");
    assert_eq!(settings["retired_categories"], json!([]));

    // Business hours without a calendar: refused, naming the field.
    settings["sla_policy"]["normal"]["hours"] = json!("business_hours");
    let refused = t
        .call(&t.admin, Method::PUT, "/settings", Some(settings.clone()))
        .await;
    assert_error(&refused, 422, "invalid");
    assert!(
        refused.1["error"]["fields"]["sla_policy.normal.hours"]
            .as_str()
            .is_some_and(|m| m.contains("no calendar")),
        "{}",
        refused.1
    );
    // A zone that does not exist: refused with what to write instead.
    settings["calendar"] = json!({"time_zone": "Mars/Olympus", "weekly": {}, "holidays": []});
    let refused = t
        .call(&t.admin, Method::PUT, "/settings", Some(settings.clone()))
        .await;
    assert!(
        refused.0.is_client_error() && refused.1.to_string().contains("IANA"),
        "{refused:?}"
    );

    // Open one minute a day (00:00–00:01 in Tokyo): the 240 counted
    // minutes of the running ticket's first response now take 240 days.
    let minute = json!([{"from": "00:00", "to": "00:01"}]);
    settings["calendar"] = json!({
        "time_zone": "Asia/Tokyo",
        "weekly": {"mon": minute, "tue": minute, "wed": minute, "thu": minute,
                   "fri": minute, "sat": minute, "sun": minute},
        "holidays": ["2027-01-01"],
    });
    let (s, saved) = t
        .call(&t.admin, Method::PUT, "/settings", Some(settings.clone()))
        .await;
    assert_eq!(s.as_u16(), 200, "{saved}");
    assert_eq!(saved["calendar"]["time_zone"], "Asia/Tokyo");
    assert_eq!(saved["calendar"]["holidays"], json!(["2027-01-01"]));
    let (_, detail) = t.get(&t.alice, &format!("/tickets/{id}")).await;
    let now_ticket = &detail["ticket"];
    let timer = &now_ticket["sla"]["first_response"];
    assert_eq!(timer["hours"], "business_hours", "{now_ticket}");
    let after = due(now_ticket, "first_response");
    assert!(
        after - before > chrono::TimeDelta::days(200),
        "recomputed from created_at: {before} → {after}"
    );
    // The stored deadline moved too: the SLA order puts an always-urgent
    // ticket first now.
    let urgent = t.ticket(&t.alice, "urgent").await;
    let (_, list) = t
        .get(&t.alice, "/tickets?view=all&sort=sla&order=asc")
        .await;
    let order: Vec<&str> = list["tickets"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        order,
        vec![urgent["id"].as_str().expect("id"), id.as_str()],
        "{list}"
    );

    // Retiring a category: old tickets keep it, new ones cannot take it.
    let (_, mut settings) = t.get(&t.admin, "/settings").await;
    settings["categories"] = json!(["billing", "technical"]);
    settings["retired_categories"] = json!(["shipping"]);
    let (s, saved) = t
        .call(&t.admin, Method::PUT, "/settings", Some(settings))
        .await;
    assert_eq!(s.as_u16(), 200, "{saved}");
    let refused = t
        .call(&t.alice, Method::POST, "/tickets", Some(json!({"conversation_id": t.conversation, "subject": "Parcel lost", "priority": "normal", "category": "shipping"})))
        .await;
    assert_error(&refused, 422, "invalid");
    assert!(refused.1.to_string().contains("retired"), "{}", refused.1);
}

crate::both_stores!(business_hours_move_running_deadlines_and_bad_calendars_say_what_to_fix);

async fn agents_and_tokens_as_the_admin_console_uses_them(store: Kind) {
    let t = Team::new(store).await;
    let (s, made) = t
        .post(&t.admin, "/agents", json!({"name": "  Dana Reyes ", "email": "dana@example.com", "role": "agent", "password": "twelve chars ok"}))
        .await;
    assert_eq!(s.as_u16(), 201, "{made}");
    assert_eq!(made["name"], "Dana Reyes", "trimmed");
    // A role that is not one: refused, naming the two there are.
    let bad = t
        .post(&t.admin, "/agents", json!({"name": "Eve", "email": "eve@example.com", "role": "owner", "password": "twelve chars ok"}))
        .await;
    assert!(bad.0.is_client_error(), "{}", bad.1);
    let said = bad.1["error"]["message"].as_str().unwrap_or("").to_owned();
    assert!(said.contains("admin") && said.contains("agent"), "{said}");
    let path = format!("/agents/{}", made["id"].as_str().expect("id"));
    // Renamed, then made an admin, in two changes.
    let (s, renamed) = t
        .call(
            &t.admin,
            Method::PATCH,
            &path,
            Some(json!({"name": "Dana Reyes-Ortiz"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{renamed}");
    assert_eq!(renamed["name"], "Dana Reyes-Ortiz");
    assert_eq!(renamed["role"], "agent", "untouched");
    let (_, promoted) = t
        .call(
            &t.admin,
            Method::PATCH,
            &path,
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promoted["role"], "admin");
    assert_eq!(promoted["name"], "Dana Reyes-Ortiz");
    // A name with a control character, or empty: refused, naming the field.
    for bad in ["Dana\u{7}", "   "] {
        let refused = t
            .call(&t.admin, Method::PATCH, &path, Some(json!({"name": bad})))
            .await;
        assert_error(&refused, 422, "invalid");
        assert!(
            refused.1["error"]["fields"]["name"].is_string(),
            "{}",
            refused.1
        );
    }
    // Agents may not change agents.
    assert_error(
        &t.call(&t.alice, Method::PATCH, &path, Some(json!({"name": "x"})))
            .await,
        403,
        "forbidden",
    );
    // The team keeps one active admin: with Dana demoted again, the first
    // admin cannot step down.
    t.call(
        &t.admin,
        Method::PATCH,
        &path,
        Some(json!({"role": "agent"})),
    )
    .await;
    let refused = t
        .call(
            &t.admin,
            Method::PATCH,
            &format!("/agents/{}", t.admin_id),
            Some(json!({"role": "agent"})),
        )
        .await;
    assert!(refused.0.is_client_error(), "{refused:?}");
    assert!(refused.1.to_string().contains("admin"), "{}", refused.1);
    // Deactivate, reactivate; end sessions.
    let (_, off) = t
        .call(
            &t.admin,
            Method::PATCH,
            &path,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(off["active"], false);
    let (_, on) = t
        .call(
            &t.admin,
            Method::PATCH,
            &path,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(on["active"], true);
    let (s, _) = t
        .call(&t.admin, Method::DELETE, &format!("{path}/sessions"), None)
        .await;
    assert_eq!(s.as_u16(), 204);
    // Integration tokens: made (shown once), listed without the secret, revoked.
    let (s, token) = t
        .post(
            &t.admin,
            "/integrations/tokens",
            json!({"name": "helpdesk widget"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{token}");
    let secret = token["token"]
        .as_str()
        .expect("the secret, once")
        .to_owned();
    let (_, list) = t.get(&t.admin, "/integrations/tokens").await;
    let listed = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["id"] == token["id"])
        .expect("listed");
    assert_eq!(listed["name"], "helpdesk widget");
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    let (s, _) = t
        .call(
            &t.admin,
            Method::DELETE,
            &format!("/integrations/tokens/{}", token["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 204);
    let (s, _) = t.get(&secret, "/conversations").await;
    assert_eq!(s.as_u16(), 401, "a revoked token stops working");
}

crate::both_stores!(agents_and_tokens_as_the_admin_console_uses_them);
