//! `fyncall report sla` from the local cache, offline: the hand-computed
//! fixture number by number, as a table, JSON and CSV.

use fyncall_domain::SlaReport;
use fyncall_domain::testing::{ReportFixture, report_fixture};
use fyncall_server::open::Database;
use uuid::Uuid;

use crate::common::*;

#[test]
fn the_sla_report_reads_the_hand_computed_numbers_offline() {
    let dir = tempfile::tempdir().expect("dir");
    let db = demo_db(dir.path());
    // The fixture's March 2026 lies before every demo ticket.
    let store = Database::Sqlite(db.clone()).open().expect("the demo store");
    let agents = store.agents().expect("agents");
    let id_of = |email: &str| {
        agents
            .iter()
            .find(|a| a.email == email)
            .map(|a| a.id)
            .expect("a demo agent")
    };
    let (admin, alice, ben) = (id_of(ADMIN), id_of(ALICE), id_of("ben@demo.fyncall.test"));
    let conversation: Uuid = {
        let page = store
            .inbox(
                &fyncall_domain::InboxQuery {
                    view: fyncall_domain::InboxView::All,
                    search: None,
                    limit: 1,
                    cursor: None,
                },
                admin,
            )
            .expect("inbox");
        page.conversations[0].id
    };
    let fixture = report_fixture(conversation, ben);
    for (caller, mutation, at) in fixture.changes(admin, alice, ben) {
        store
            .apply(caller, &mutation, Uuid::now_v7(), at)
            .expect("a fixture step");
    }
    store.close().expect("closed");
    drop(store);

    let mut server = Server::start(&db, 0);
    let home = dir.path().join("alice");
    login(&home, &server, ALICE);
    server.stop();
    let name = ReportFixture::namer(alice, ben);
    for by in ["agent", "week"] {
        let args = [
            "report",
            "sla",
            "--from",
            &fixture.from,
            "--to",
            &fixture.to,
            "--by",
            by,
        ];
        let json = json_of(&home, &args);
        let report: SlaReport = serde_json::from_value(json).expect("the report's shape");
        assert_eq!(
            fixture.differences(&report, &name),
            Vec::<String>::new(),
            "by {by}"
        );
        let csv = expect(&home, &[&args[..], &["--csv"]].concat(), 0);
        assert_eq!(csv, report.to_csv());
        let table = expect(&home, &args, 0);
        let total = table.lines().last().expect("a total line");
        assert!(total.starts_with("Total"), "{table}");
        assert!(
            total.contains("7 met 2 missed") && total.contains("77.8%"),
            "{table}"
        );
    }
    let table = expect(
        &home,
        &[
            "report",
            "sla",
            "--from",
            &fixture.from,
            "--to",
            &fixture.to,
            "--by",
            "agent",
        ],
        0,
    );
    assert!(
        table.contains("Alice Moreau") && table.contains("Ben Okoro"),
        "{table}"
    );
    // A wrong period or grouping says what to write instead.
    for (args, says) in [
        (
            &["report", "sla", "--by", "year"][..],
            "agent, priority, category, day, week or month",
        ),
        (
            &["report", "sla", "--from", "last monday"][..],
            "2026-11-30",
        ),
    ] {
        let out = fyncall(&home, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
