//! Every error code of API.md, and that a refused request writes nothing.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

async fn every_error_code(store: Kind) {
    let t = Team::new(store).await;
    let ticket = t.ticket(&t.alice, "normal").await;
    let id = ticket["id"].as_str().expect("id").to_owned();
    let (_, seq_before) = t.get(&t.alice, "/sync/pull?cursor=0&limit=500").await;

    // 400: malformed JSON, wrong types, unknown enum values, bad ids.
    let res = t
        .http
        .post(format!("{}/tickets", t.url))
        .bearer_auth(&t.alice)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.expect("json");
    assert_error(
        &(reqwest::StatusCode::from_u16(status).expect("status"), body),
        400,
        "bad_request",
    );
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{id}/priority"),
            json!({"priority": "critical"}),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{id}/priority"),
            json!({"priority": 3}),
        )
        .await,
        400,
        "bad_request",
    );
    assert_error(
        &t.get(&t.alice, "/tickets/not-a-uuid").await,
        400,
        "bad_request",
    );
    assert_error(
        &t.get(&t.alice, "/tickets?view=everything").await,
        400,
        "bad_request",
    );
    assert_error(
        &t.get(&t.alice, "/tickets?limit=501").await,
        400,
        "bad_request",
    );
    assert_error(
        &t.get(&t.alice, "/tickets?cursor=garbage").await,
        400,
        "bad_request",
    );

    // 401
    assert_error(&t.get("", "/tickets").await, 401, "unauthorized");
    assert_error(&t.get("fyn_0000", "/tickets").await, 401, "unauthorized");
    assert_error(
        &t.post(
            "",
            "/auth/login",
            json!({"email": "ada@example.com", "password": "wrong password"}),
        )
        .await,
        401,
        "unauthorized",
    );

    // 403
    assert_error(
        &t.post(
            &t.bob,
            &format!("/tickets/{id}/status"),
            json!({"status": "resolved"}),
        )
        .await,
        403,
        "forbidden",
    );

    // 404
    let missing = uuid::Uuid::now_v7();
    assert_error(
        &t.get(&t.alice, &format!("/tickets/{missing}")).await,
        404,
        "not_found",
    );
    assert_error(
        &t.get(&t.alice, &format!("/conversations/{missing}")).await,
        404,
        "not_found",
    );
    assert_error(
        &t.post(
            &t.alice,
            "/tickets",
            json!({"conversation_id": missing, "subject": "x", "priority": "low"}),
        )
        .await,
        404,
        "not_found",
    );

    // 409 invalid_transition and conflict (with the server's text).
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{id}/status"),
            json!({"status": "closed"}),
        )
        .await,
        409,
        "invalid_transition",
    );
    let base = ticket["version"].as_i64().expect("version");
    t.call(
        &t.admin,
        Method::PATCH,
        &format!("/tickets/{id}"),
        Some(json!({"subject": "Admin's subject", "base_version": base})),
    )
    .await;
    let r = t
        .call(
            &t.alice,
            Method::PATCH,
            &format!("/tickets/{id}"),
            Some(json!({"subject": "Alice's subject", "base_version": base})),
        )
        .await;
    assert_error(&r, 409, "conflict");
    assert_eq!(r.1["error"]["current"]["subject"], "Admin's subject");

    // 413: a body over 1 MiB, a push over 1,000 mutations.
    let huge = "x".repeat(1024 * 1024 + 10);
    assert_error(
        &t.post(
            &t.alice,
            &format!("/tickets/{id}/comments"),
            json!({"body": huge}),
        )
        .await,
        413,
        "too_large",
    );
    let many: Vec<_> = (0..1001)
        .map(|_| json!({"id": uuid::Uuid::now_v7(), "name": "comment", "args": {}}))
        .collect();
    assert_error(
        &t.post(
            &t.alice,
            "/sync/push",
            json!({"client_id": uuid::Uuid::now_v7(), "mutations": many}),
        )
        .await,
        413,
        "too_large",
    );

    // 422 with the fields at fault.
    let r = t
        .post(
            &t.alice,
            "/tickets",
            json!({"conversation_id": t.conversation, "subject": "   ", "priority": "low"}),
        )
        .await;
    assert_error(&r, 422, "invalid");
    assert!(r.1["error"]["fields"]["subject"].is_string());
    let r = t.post(&t.alice, "/tickets", json!({"conversation_id": t.conversation, "subject": "ok", "priority": "low", "category": "gardening"})).await;
    assert!(r.1["error"]["fields"]["category"].is_string());

    // Nothing refused was written: the change log moved only for the admin's edit.
    let (_, after) = t
        .get(
            &t.alice,
            &format!("/sync/pull?cursor={}", seq_before["cursor"]),
        )
        .await;
    let entities: Vec<&str> = after["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["entity"].as_str())
        .collect();
    assert_eq!(
        entities,
        ["ticket", "activity"],
        "only the admin's edit: {after}"
    );

    // 429 after repeated failed sign-ins from one address.
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            t.post(
                "",
                "/auth/login",
                json!({"email": "alice@example.com", "password": "nope nope"}),
            )
            .await,
        );
    }
    assert_error(&last.expect("tried"), 429, "rate_limited");
    assert_error(
        &t.post(
            "",
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await,
        429,
        "rate_limited",
    );

    // Unknown endpoints answer the JSON error too.
    assert_error(&t.get(&t.alice, "/nothing-here").await, 404, "not_found");
    let (s, doc) = t.get("", "/openapi.json").await;
    assert_eq!(s.as_u16(), 200);
    assert!(
        doc["paths"]["/api/v1/sync/push"]["post"].is_object(),
        "push is documented"
    );
}

crate::both_stores!(every_error_code);
