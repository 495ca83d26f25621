//! Random JSON at the write endpoints: never a 5xx, never a panic.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::common::*;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_ ]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "open",
            "resolved",
            "closed",
            "urgent",
            "low",
            "billing",
            "agent",
            "customer",
            "ai",
            "00000000-0000-0000-0000-000000000000"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "subject",
                    "priority",
                    "status",
                    "note",
                    "assignee_id",
                    "body",
                    "id",
                    "conversation_id",
                    "ticket_id",
                    "name",
                    "args",
                    "mutations",
                    "ai_context",
                    "customer",
                    "author",
                    "base_version",
                    "description",
                    "category"
                ]),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

#[test]
fn random_bodies_never_break_the_server_sqlite() {
    random_bodies_never_break_the_server(Kind::Sqlite);
}

#[test]
fn random_bodies_never_break_the_server_postgres() {
    random_bodies_never_break_the_server(Kind::Postgres);
}

fn random_bodies_never_break_the_server(kind: Kind) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let team = rt.block_on(Team::new(kind));
    let ticket = rt.block_on(team.ticket(&team.alice, "normal"));
    let id = ticket["id"].as_str().expect("id").to_owned();
    let conv = team.conversation.clone();
    let endpoints: Vec<(Method, String, bool)> = vec![
        (Method::POST, "/tickets".into(), false),
        (Method::PATCH, format!("/tickets/{id}"), false),
        (Method::POST, format!("/tickets/{id}/status"), false),
        (Method::POST, format!("/tickets/{id}/priority"), false),
        (Method::POST, format!("/tickets/{id}/assign"), false),
        (Method::POST, format!("/tickets/{id}/comments"), false),
        (
            Method::POST,
            format!("/conversations/{conv}/messages"),
            false,
        ),
        (Method::POST, format!("/conversations/{conv}/assign"), false),
        (Method::POST, "/sync/push".into(), false),
        (Method::PUT, "/settings".into(), false),
        (Method::POST, "/agents".into(), false),
        (Method::POST, "/integrations/escalations".into(), true),
        (Method::POST, "/integrations/conversations".into(), true),
        (
            Method::POST,
            format!("/integrations/conversations/{conv}/messages"),
            true,
        ),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let strategy = (0..endpoints.len(), json_value(), any::<bool>());
    runner
        .run(&strategy, |(which, body, wrap_push)| {
            let (method, path, integration) = &endpoints[which];
            let token = if *integration { &team.integration } else { &team.admin };
            let body = if wrap_push && path == "/sync/push" {
                json!({"mutations": [{"id": uuid::Uuid::now_v7(), "name": body.get("name").cloned().unwrap_or(Value::Null), "args": body}]})
            } else {
                body
            };
            let (status, answer) = rt.block_on(team.call(token, method.clone(), path, Some(body)));
            prop_assert!(status.as_u16() < 500, "{method} {path} answered {status}: {answer}");
            if !status.is_success() {
                prop_assert!(answer["error"]["code"].is_string(), "errors are API.md JSON: {answer}");
            }
            Ok(())
        })
        .expect("no 5xx for any body");
    // And the server is still serving.
    let (s, _) = rt.block_on(team.get(&team.alice, "/me"));
    assert_eq!(s.as_u16(), 200);
}
