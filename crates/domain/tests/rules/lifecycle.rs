//! RULES.md "Status lifecycle": one test per row of the table, each trying
//! every target status from a real ticket in that status.

use fyncall_domain::*;

use crate::fixture::*;

fn check_row(from: Status, allowed: &[Status]) {
    for to in Status::ALL {
        let mut world = World::new();
        let id = world.ticket_in(from);
        let before = world.state.clone();
        let result = world.status(ADMIN, id, to, min(30));
        if allowed.contains(&to) {
            let applied = result.unwrap_or_else(|r| {
                panic!("{from:?} → {to:?} is in the table but was refused: {r}")
            });
            assert_eq!(applied.state.tickets[&id].status, to);
            let entry = applied
                .activity
                .last()
                .expect("a status change appends an entry");
            assert_eq!(entry.change, Change::StatusChanged { from, to });
        } else {
            let refusal = result.expect_err("a move outside the table must be refused");
            assert_eq!(
                refusal.code,
                RefusalCode::InvalidTransition,
                "{from:?} → {to:?}: {refusal}"
            );
            assert_eq!(world.state, before, "a refused move writes nothing");
        }
    }
}

#[test]
fn open_moves_to_in_progress_waiting_or_resolved() {
    check_row(
        Status::Open,
        &[
            Status::InProgress,
            Status::WaitingOnCustomer,
            Status::Resolved,
        ],
    );
}

#[test]
fn in_progress_moves_to_waiting_or_resolved() {
    check_row(
        Status::InProgress,
        &[Status::WaitingOnCustomer, Status::Resolved],
    );
}

#[test]
fn waiting_moves_to_in_progress_or_resolved() {
    check_row(
        Status::WaitingOnCustomer,
        &[Status::InProgress, Status::Resolved],
    );
}

#[test]
fn resolved_moves_to_closed_or_reopens_to_in_progress() {
    check_row(Status::Resolved, &[Status::Closed, Status::InProgress]);
}

#[test]
fn closed_is_final() {
    check_row(Status::Closed, &[]);
    let mut world = World::new();
    let id = world.ticket_in(Status::Closed);
    let refusal = world
        .comment(ALICE, id, "one more thing", min(40))
        .expect_err("closed takes no comment");
    assert!(
        refusal.message.contains("create a new ticket"),
        "{}",
        refusal.message
    );
}

#[test]
fn refusals_say_what_to_do() {
    let mut world = World::new();
    let open = world.ticket_in(Status::Open);
    let r = world
        .status(ALICE, open, Status::Closed, min(5))
        .expect_err("open cannot close");
    assert_eq!(r.message, "resolve the ticket before closing it");
    let closed = world.ticket_in(Status::Closed);
    let r = world
        .status(ALICE, closed, Status::InProgress, min(5))
        .expect_err("closed cannot reopen");
    assert!(
        r.message.starts_with("a closed ticket cannot be reopened"),
        "{}",
        r.message
    );
}

#[test]
fn resolving_with_a_note_appends_the_note() {
    let mut world = World::new();
    let id = world.ticket_in(Status::InProgress);
    let applied = world
        .apply(
            Caller::Agent(ALICE),
            Mutation::ChangeStatus(mutation::ChangeStatus {
                ticket_id: id,
                status: Status::Resolved,
                note: Some("Refunded".into()),
            }),
            min(10),
        )
        .expect("the assignee may resolve");
    let kinds: Vec<&str> = applied.activity.iter().map(|a| a.change.kind()).collect();
    assert_eq!(kinds, ["status_changed", "resolution_note"]);
    assert_eq!(applied.state.tickets[&id].resolved_at, Some(min(10)));
    let r = world
        .apply(
            Caller::Agent(ALICE),
            Mutation::ChangeStatus(mutation::ChangeStatus {
                ticket_id: id,
                status: Status::Closed,
                note: Some("x".into()),
            }),
            min(11),
        )
        .expect_err("a note goes only with resolving");
    assert_eq!(r.code, RefusalCode::Invalid);
}

#[test]
fn a_customer_message_moves_waiting_tickets_to_in_progress() {
    let mut world = World::new();
    let waiting = world.ticket_in(Status::WaitingOnCustomer);
    let resolved = world.ticket_in(Status::Resolved);
    let id = world.fresh_id();
    let applied = world
        .apply(
            Caller::Integration,
            Mutation::PostMessage(mutation::PostMessage {
                id,
                conversation_id: CONV,
                author: Author::Customer,
                body: "here you go".into(),
                automatic: false,
                attachment_ids: Vec::new(),
            }),
            min(20),
        )
        .expect("the integration posts customer messages");
    assert_eq!(applied.state.tickets[&waiting].status, Status::InProgress);
    assert_eq!(
        applied.state.tickets[&resolved].status,
        Status::InProgress,
        "a resolved ticket reopens before it would close on its own (RULES.md \"Auto-close\")"
    );
    assert_eq!(applied.state.tickets[&resolved].resolved_at, None);
    let entry = applied
        .activity
        .iter()
        .find(|a| a.ticket_id == waiting)
        .expect("an entry for the moved ticket");
    assert_eq!(entry.actor, ActorRef::CUSTOMER);
    assert_eq!(applied.messages.len(), 1);
}

#[test]
fn an_automatic_message_is_kept_but_moves_no_ticket() {
    let mut world = World::new();
    let waiting = world.ticket_in(Status::WaitingOnCustomer);
    let id = world.fresh_id();
    let applied = world
        .apply(
            Caller::Integration,
            Mutation::PostMessage(mutation::PostMessage {
                id,
                conversation_id: CONV,
                author: Author::Customer,
                body: "I am out of the office until Monday".into(),
                automatic: true,
                attachment_ids: Vec::new(),
            }),
            min(20),
        )
        .expect("an automatic message is kept");
    assert_eq!(
        applied.state.tickets[&waiting].status,
        Status::WaitingOnCustomer
    );
    assert!(applied.activity.is_empty(), "{:?}", applied.activity);
    assert_eq!(applied.messages.len(), 1);
    assert!(applied.messages[0].automatic);
}

#[test]
fn a_customer_message_leaves_a_resolved_ticket_when_the_team_never_auto_closes() {
    let mut world = World::new();
    world.state.settings.auto_close_after_days = 0;
    let resolved = world.ticket_in(Status::Resolved);
    let id = world.fresh_id();
    let applied = world
        .apply(
            Caller::Integration,
            Mutation::PostMessage(mutation::PostMessage {
                id,
                conversation_id: CONV,
                author: Author::Customer,
                body: "thanks!".into(),
                automatic: false,
                attachment_ids: Vec::new(),
            }),
            min(20),
        )
        .expect("posted");
    assert_eq!(applied.state.tickets[&resolved].status, Status::Resolved);
}

#[test]
fn a_resolved_ticket_closes_on_its_own_after_the_team_s_days_once() {
    let mut world = World::new();
    let id = world.ticket_in(Status::Resolved);
    let resolved_at = world.ticket(id).resolved_at.expect("resolved");
    let settings = world.state.settings.clone();
    assert_eq!(settings.auto_close_after_days, 4, "the default");
    let due = resolved_at + chrono::TimeDelta::days(4);
    assert_eq!(auto_close_at(world.ticket(id), &settings), Some(due));
    let just_before = due - chrono::TimeDelta::seconds(1);
    assert!(auto_close(world.ticket(id), &settings, just_before).is_none());
    let (closed, entries) = auto_close(world.ticket(id), &settings, due).expect("due");
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(closed.closed_at, Some(due));
    assert!(closed.version > world.ticket(id).version);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, ActorRef::SYSTEM);
    assert_eq!(
        entries[0].change,
        Change::AutoClosed {
            days: 4,
            business_days: false
        }
    );
    assert_eq!(
        entries[0].change.describe(&|_| String::new()),
        "closed automatically after 4 days resolved"
    );
    // The same close again is the same entry (its id names the resolve).
    let (_, again) = auto_close(
        world.ticket(id),
        &settings,
        due + chrono::TimeDelta::minutes(1),
    )
    .expect("due");
    assert_eq!(again[0].id, entries[0].id);
    // A closed ticket, an open one, or a team that never closes: nothing.
    assert!(auto_close(&closed, &settings, due).is_none());
    let open = world.ticket_in(Status::InProgress);
    assert!(auto_close_at(world.ticket(open), &settings).is_none());
    let mut never = settings.clone();
    never.auto_close_after_days = 0;
    assert!(auto_close(world.ticket(id), &never, due).is_none());
    never.auto_close_after_days = 31;
    assert!(never.validate().is_err(), "at most 30 days");
}

#[test]
fn with_a_calendar_a_friday_resolve_closes_on_thursday_after_four_business_days() {
    use crate::business_hours::{berlin, office};
    let mut world = World::new();
    world.state.settings.sla.calendar = Some(office(&[]));
    let id = world.create(Priority::Normal, berlin(2026, 3, 6, 10, 0));
    world
        .status(ALICE, id, Status::Resolved, berlin(2026, 3, 6, 16, 30))
        .expect("resolved on a Friday");
    let settings = world.state.settings.clone();
    assert_eq!(
        auto_close_at(world.ticket(id), &settings),
        Some(berlin(2026, 3, 12, 16, 30)),
        "Mon, Tue, Wed, Thu: Thursday at the same time"
    );
    // A holiday on the Tuesday moves it to Friday.
    world.state.settings.sla.calendar = Some(office(&["2026-03-10"]));
    let settings = world.state.settings.clone();
    assert_eq!(
        auto_close_at(world.ticket(id), &settings),
        Some(berlin(2026, 3, 13, 16, 30))
    );
    let (_, entries) =
        auto_close(world.ticket(id), &settings, berlin(2026, 3, 13, 16, 30)).expect("due");
    assert_eq!(
        entries[0].change.describe(&|_| String::new()),
        "closed automatically after 4 business days resolved"
    );
}
