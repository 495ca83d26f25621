//! RULES.md "SLA compliance": the hand-computed fixture (ten tickets, two
//! weeks, two agents) number by number, and the report's shape.

use fyncall_domain::report::{self, GroupBy, ReportQuery, ReportTicket, SlaReport};
use fyncall_domain::testing::{ReportFixture, report_fixture};
use fyncall_domain::*;

use crate::fixture::*;

fn team() -> (World, ReportFixture) {
    let fixture = report_fixture(CONV, BOB);
    let mut w = World::new();
    for (caller, mutation, at) in fixture.changes(ADMIN, ALICE, BOB) {
        w.apply(caller, mutation.clone(), at)
            .unwrap_or_else(|r| panic!("{:?} at {at}: {r:?}", mutation.name()));
    }
    (w, fixture)
}

fn run(w: &World, fixture: &ReportFixture, by: GroupBy) -> SlaReport {
    let zone = report::report_zone(&w.state.settings);
    let tickets: Vec<ReportTicket> = w
        .state
        .tickets
        .values()
        .map(|t| ReportTicket {
            ticket: t.clone(),
            assignments: report::assignments(w.timeline.iter().filter(|e| e.ticket_id == t.id)),
        })
        .collect();
    let agents: Vec<Agent> = w.state.agents.values().cloned().collect();
    let query = ReportQuery {
        from: report::parse_when(&fixture.from, zone).expect("from"),
        to: report::parse_when(&fixture.to, zone).expect("to"),
        group_by: by,
    };
    report::sla_report(&tickets, &w.state.settings, &agents, &query, fixture.now)
}

#[test]
fn the_fixture_gives_the_hand_computed_numbers() {
    let (w, fixture) = team();
    for by in [GroupBy::Agent, GroupBy::Week] {
        let report = run(&w, &fixture, by);
        assert_eq!(
            fixture.differences(&report, ReportFixture::namer(ALICE, BOB)),
            Vec::<String>::new(),
            "by {by:?}"
        );
    }
    // The same data gives the same numbers every time.
    assert_eq!(
        run(&w, &fixture, GroupBy::Agent),
        run(&w, &fixture, GroupBy::Agent)
    );
}

#[test]
fn rows_read_as_a_person_expects() {
    let (w, fixture) = team();
    let by_agent = run(&w, &fixture, GroupBy::Agent);
    let labels: Vec<&str> = by_agent.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels, ["Alice", "Bob"]);
    // Every day of the period is a row; days without outcomes have no rate.
    let by_day = run(&w, &fixture, GroupBy::Day);
    let keys: Vec<&str> = by_day.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys.len(), 12, "2 to 13 March: {keys:?}");
    assert_eq!(keys[0], "2026-03-02");
    let saturday = by_day
        .groups
        .iter()
        .find(|g| g.key == "2026-03-07")
        .expect("a row");
    assert_eq!(saturday.label, "Sat 7 Mar 2026");
    assert_eq!(
        saturday.first_response.rate, None,
        "no outcome: no rate, never 0%"
    );
    assert_eq!(saturday.first_response.median_seconds, None);
    let by_month = run(&w, &fixture, GroupBy::Month);
    assert_eq!(by_month.groups.len(), 1);
    assert_eq!(by_month.groups[0].label, "March 2026");
    let by_priority = run(&w, &fixture, GroupBy::Priority);
    let keys: Vec<&str> = by_priority.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["urgent", "high", "normal"]);
    // urgent: T2 (first response missed, resolution met), T7 (met, missed).
    let urgent = &by_priority.groups[0];
    assert_eq!(
        (urgent.first_response.met, urgent.first_response.missed),
        (1, 1)
    );
    assert_eq!((urgent.resolution.met, urgent.resolution.missed), (1, 1));
    // The CSV carries the same numbers, the total last.
    let csv = by_agent.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "key,label,first_response_met,first_response_missed,first_response_rate,first_response_median_seconds,first_response_p90_seconds,resolution_met,resolution_missed,resolution_rate,resolution_median_seconds,resolution_p90_seconds"
    );
    assert_eq!(
        lines[1],
        format!("{ALICE},Alice,4,1,0.8000,1200,1800,4,0,1.0000,10800,82800")
    );
    assert_eq!(
        lines[3],
        "total,Total,7,2,0.7778,1200,7200,5,3,0.6250,18000,172800"
    );
}

#[test]
fn report_times_are_dates_in_the_team_zone_or_rfc_3339() {
    let berlin = chrono_tz::Europe::Berlin;
    assert_eq!(
        report::parse_when("2026-03-02", berlin)
            .expect("date")
            .to_rfc3339(),
        "2026-03-01T23:00:00+00:00"
    );
    assert_eq!(
        report::parse_when("2026-03-02T09:00:00+01:00", berlin)
            .expect("time")
            .to_rfc3339(),
        "2026-03-02T08:00:00+00:00"
    );
    let err = report::parse_when("last week", berlin).expect_err("refused");
    assert!(err.contains("2026-11-30"), "{err}");
}

#[test]
fn a_csv_cell_a_spreadsheet_would_run_is_quoted() {
    use fyncall_domain::report::csv_text;
    for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(csv_text(formula), format!("'{formula}"));
    }
    for plain in ["Alice", "billing", "", "1-2", "a=b", "'quoted"] {
        assert_eq!(csv_text(plain), plain);
    }
}
