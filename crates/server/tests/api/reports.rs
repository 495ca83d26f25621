//! `GET /reports/sla` (API.md "Reports") over real HTTP on both stores:
//! the hand-computed fixture number by number, as JSON and as CSV.

use fyncall_domain::SlaReport;
use fyncall_domain::testing::{ReportFixture, report_fixture};
use reqwest::header::ACCEPT;
use uuid::Uuid;

use crate::common::*;

/// Writes the fixture's changes at their own moments, as the server would
/// have applied them then.
pub async fn load_fixture(t: &Team) -> fyncall_domain::testing::ReportFixture {
    let id = |s: &str| Uuid::parse_str(s).expect("an agent id");
    let fixture = report_fixture(id(&t.conversation), id(&t.bob_id));
    let store = t.store.clone();
    let changes = fixture.changes(id(&t.admin_id), id(&t.alice_id), id(&t.bob_id));
    tokio::task::spawn_blocking(move || {
        for (caller, mutation, at) in &changes {
            store
                .apply(*caller, mutation, Uuid::now_v7(), *at)
                .unwrap_or_else(|e| panic!("{} at {at}: {e:?}", mutation.name()));
        }
    })
    .await
    .expect("the fixture loads");
    fixture
}

/// An agent whose name a spreadsheet would run as a formula: the SLA
/// report's CSV quotes it (`'=...`), its JSON keeps it as it is.
async fn the_report_csv_never_carries_a_formula(store: Kind) {
    let t = Team::new(store).await;
    let (s, v) = t
        .call(
            &t.admin,
            reqwest::Method::PATCH,
            &format!("/agents/{}", t.bob_id),
            Some(serde_json::json!({"name": "=HYPERLINK(\"http://example.com\")"})),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let fixture = load_fixture(&t).await;
    let period = format!("from={}&to={}", fixture.from, fixture.to);
    let csv = t
        .http
        .get(format!("{}/reports/sla?{period}&group_by=agent", t.url))
        .bearer_auth(&t.alice)
        .header(ACCEPT, "text/csv")
        .send()
        .await
        .expect("reaches the server")
        .text()
        .await
        .expect("body");
    let bob = csv
        .lines()
        .find(|l| l.contains("HYPERLINK"))
        .unwrap_or_else(|| panic!("bob's line in {csv}"));
    assert!(
        bob.contains(",\"'=HYPERLINK(") || bob.contains(",'=HYPERLINK("),
        "{bob}"
    );
    let (_, v) = t
        .get(&t.alice, &format!("/reports/sla?{period}&group_by=agent"))
        .await;
    let labels: Vec<&str> = v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["label"].as_str())
        .collect();
    assert!(
        labels.contains(&"=HYPERLINK(\"http://example.com\")"),
        "{labels:?}"
    );
}

/// At most two reports are built at once (each reads every ticket of its
/// period, off the async workers): a third answers 429 with Retry-After,
/// and is built once one of them is done; other requests are answered
/// meanwhile.
async fn a_third_report_at_once_waits_its_turn(store: Kind) {
    let t = Team::new(store).await;
    let reports = t.running.as_ref().expect("running").reports.clone();
    // Two reports being built (their permits held here).
    let held = reports
        .clone()
        .acquire_many_owned(fyncall_server::app::REPORTS as u32)
        .await
        .expect("permits");
    let res = t
        .http
        .get(format!("{}/reports/sla", t.url))
        .bearer_auth(&t.alice)
        .send()
        .await
        .expect("reaches the server");
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().get("retry-after").is_some());
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(t.get(&t.alice, "/me").await.0.as_u16(), 200);
    drop(held);
    let (s, v) = t.get(&t.alice, "/reports/sla").await;
    assert_eq!(s.as_u16(), 200, "{v}");
}

async fn the_sla_report_gives_the_hand_computed_numbers(store: Kind) {
    let t = Team::new(store).await;
    let fixture = load_fixture(&t).await;
    let id = |s: &str| Uuid::parse_str(s).expect("an agent id");
    let name = ReportFixture::namer(id(&t.alice_id), id(&t.bob_id));
    let period = format!("from={}&to={}", fixture.from, fixture.to);
    for by in ["agent", "week"] {
        let (s, v) = t
            .get(&t.alice, &format!("/reports/sla?{period}&group_by={by}"))
            .await;
        assert_eq!(s.as_u16(), 200, "{v}");
        let report: SlaReport = serde_json::from_value(v.clone()).expect("the API.md shape");
        assert_eq!(
            fixture.differences(&report, &name),
            Vec::<String>::new(),
            "by {by}: {v}"
        );
        assert_eq!(v["total"]["first_response"]["met"], 7);
        // CSV carries the same numbers, line for line.
        let csv = t
            .http
            .get(format!("{}/reports/sla?{period}&group_by={by}", t.url))
            .bearer_auth(&t.alice)
            .header(ACCEPT, "text/csv")
            .send()
            .await
            .expect("reaches the server");
        assert_eq!(csv.status().as_u16(), 200);
        assert!(
            csv.headers()["content-type"]
                .to_str()
                .is_ok_and(|c| c.starts_with("text/csv")),
            "{:?}",
            csv.headers()
        );
        let body = csv.text().await.expect("body");
        assert_eq!(body, report.to_csv());
        assert_eq!(body.lines().count(), report.groups.len() + 2);
    }
    // A period in the zone's dates; an empty week has no rate, never 0%.
    let (_, v) = t
        .get(
            &t.alice,
            "/reports/sla?from=2026-02-23&to=2026-03-02&group_by=week",
        )
        .await;
    assert_eq!(
        v["groups"][0]["first_response"]["rate"],
        serde_json::Value::Null,
        "{v}"
    );
    // Bad parameters say what to write instead.
    for (query, field) in [
        ("group_by=year", "group_by"),
        ("from=yesterday", "from"),
        ("from=2026-03-09&to=2026-03-02", "from"),
    ] {
        let got = t.get(&t.alice, &format!("/reports/sla?{query}")).await;
        assert_error(&got, 422, "invalid");
        assert!(
            got.1["error"]["fields"][field].is_string(),
            "{query}: {}",
            got.1
        );
    }
    assert_error(&t.get("", "/reports/sla").await, 401, "unauthorized");
}

/// A report whose read of the tickets outlasts the server's limit is
/// stopped (SQLite's progress handler, PostgreSQL's statement_timeout) and
/// says so in words; the connection it used reads normally afterwards.
async fn a_report_that_reads_too_long_is_stopped_in_words(store: Kind) {
    let t = Team::with_config(
        store,
        fyncall_server::Config {
            report_time_limit: std::time::Duration::ZERO,
            ..Default::default()
        },
    )
    .await;
    // Enough tickets that the read takes many steps and well over 1 ms.
    for batch in 0..6 {
        let mutations: Vec<serde_json::Value> = (0..500)
            .map(|i| {
                serde_json::json!({"id": Uuid::now_v7(), "name": "create_ticket",
                    "client_at": chrono::Utc::now(),
                    "args": {"id": Uuid::now_v7(), "conversation_id": t.conversation,
                        "subject": format!("Parcel {batch}-{i} stuck in transit"), "priority": "normal"}})
            })
            .collect();
        let (s, v) = t
            .post(
                &t.alice,
                "/sync/push",
                serde_json::json!({"client_id": Uuid::now_v7(), "mutations": mutations}),
            )
            .await;
        assert!(s.is_success(), "{v}");
    }
    let (s, v) = t.get(&t.alice, "/reports/sla").await;
    assert_eq!(s.as_u16(), 503, "{v}");
    assert_eq!(v["error"]["code"], "unavailable", "{v}");
    let words = v["error"]["message"].as_str().unwrap_or_default();
    assert!(words.contains("choose a shorter period"), "{words}");
    // No limit is left on the pooled connections: every read works.
    for _ in 0..8 {
        let (s, v) = t.get(&t.alice, "/tickets?view=all&limit=100").await;
        assert_eq!(s.as_u16(), 200, "{v}");
    }
}

crate::both_stores!(
    a_report_that_reads_too_long_is_stopped_in_words,
    the_sla_report_gives_the_hand_computed_numbers,
    a_third_report_at_once_waits_its_turn,
    the_report_csv_never_carries_a_formula
);
