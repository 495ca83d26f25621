//! Test support shared by every crate's tests: the SLA report fixture (ten
//! tickets across two weeks and two agents with hand-computed outcomes,
//! `fixtures/sla-report.json`), as mutations to apply at chosen moments and
//! the numbers the report must give.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::report::{Compliance, GroupBy, SlaReport};
use crate::{Caller, Mutation, Timestamp};

const FIXTURE: &str = include_str!("../fixtures/sla-report.json");

/// One change of the fixture: who makes it, and when.
#[derive(Debug, Clone, Deserialize)]
pub struct FixtureStep {
    pub at: Timestamp,
    /// `admin`, `alice` or `bob`.
    pub by: String,
    pub mutation: Mutation,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReportFixture {
    /// The moment the expected numbers are computed at.
    pub now: Timestamp,
    /// The report period as API.md takes it (`from` a date, `to` a time).
    pub from: String,
    pub to: String,
    pub steps: Vec<FixtureStep>,
    expected: Value,
}

/// The fixture with its placeholders filled in: the conversation every
/// ticket is on, and Bob's agent id.
pub fn report_fixture(conversation: Uuid, bob: Uuid) -> ReportFixture {
    let text = FIXTURE
        .replace("$conversation", &conversation.to_string())
        .replace("$bob", &bob.to_string());
    serde_json::from_str(&text).expect("fixtures/sla-report.json is valid")
}

fn same(what: &str, got: &Compliance, want: &Value, out: &mut Vec<String>) {
    let want: Compliance = match serde_json::from_value(want.clone()) {
        Ok(w) => w,
        Err(e) => return out.push(format!("{what}: the fixture's numbers do not read: {e}")),
    };
    let rate_ok = match (got.rate, want.rate) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (a, b) => a == b,
    };
    if !rate_ok
        || (got.met, got.missed, got.median_seconds, got.p90_seconds)
            != (want.met, want.missed, want.median_seconds, want.p90_seconds)
    {
        out.push(format!("{what}: got {got:?}, want {want:?}"));
    }
}

impl ReportFixture {
    /// Each step as a caller, the mutation and its moment, the fixture's
    /// `admin`, `alice` and `bob` being these agents.
    pub fn changes(
        &self,
        admin: Uuid,
        alice: Uuid,
        bob: Uuid,
    ) -> Vec<(Caller, Mutation, Timestamp)> {
        self.steps
            .iter()
            .map(|step| {
                let by = match step.by.as_str() {
                    "admin" => admin,
                    "alice" => alice,
                    _ => bob,
                };
                (Caller::Agent(by), step.mutation.clone(), step.at)
            })
            .collect()
    }

    /// Reads a report's agent keys as the fixture names them.
    pub fn namer(alice: Uuid, bob: Uuid) -> impl Fn(&str) -> String {
        move |key: &str| match Uuid::parse_str(key) {
            Ok(id) if id == alice => "alice".to_owned(),
            Ok(id) if id == bob => "bob".to_owned(),
            _ => key.to_owned(),
        }
    }

    /// Every difference between `report` and the hand-computed numbers of
    /// its grouping (`agent` or `week`) and total; `name` turns an agent id
    /// key into `alice` / `bob`.
    pub fn differences(&self, report: &SlaReport, name: impl Fn(&str) -> String) -> Vec<String> {
        let mut out = Vec::new();
        let total = &self.expected["total"];
        same(
            "total first response",
            &report.total.first_response,
            &total["first_response"],
            &mut out,
        );
        same(
            "total resolution",
            &report.total.resolution,
            &total["resolution"],
            &mut out,
        );
        let Some(groups) = self.expected[report.group_by.as_str()].as_object() else {
            return out;
        };
        let keyed = |key: &str| match report.group_by {
            GroupBy::Agent => name(key),
            _ => key.to_owned(),
        };
        let got: Vec<(String, _)> = report
            .groups
            .iter()
            .filter(|g| {
                g.first_response.met
                    + g.first_response.missed
                    + g.resolution.met
                    + g.resolution.missed
                    > 0
            })
            .map(|g| (keyed(&g.key), g))
            .collect();
        if got.len() != groups.len() {
            out.push(format!(
                "groups with outcomes: got {:?}, want {:?}",
                got.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                groups.keys().collect::<Vec<_>>()
            ));
        }
        for (key, want) in groups {
            match got.iter().find(|(k, _)| k == key) {
                None => out.push(format!("no group {key}")),
                Some((_, g)) => {
                    same(
                        &format!("{key} first response"),
                        &g.first_response,
                        &want["first_response"],
                        &mut out,
                    );
                    same(
                        &format!("{key} resolution"),
                        &g.resolution,
                        &want["resolution"],
                        &mut out,
                    );
                }
            }
        }
        out
    }
}

/// How many tickets a benchmark runs with: `FYNCALL_BENCH_TICKETS`, 100,000
/// by default; `None` when cargo only lists the benchmarks (`--list`), which
/// then run nothing.
pub fn bench_tickets() -> Option<usize> {
    if std::env::args().any(|a| a == "--list") {
        return None;
    }
    Some(
        std::env::var("FYNCALL_BENCH_TICKETS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000),
    )
}
