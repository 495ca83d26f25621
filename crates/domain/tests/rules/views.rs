//! RULES.md "Views": membership and default order.

use fyncall_domain::mutation::*;
use fyncall_domain::views::{default_sort_key, views_of};
use fyncall_domain::*;

use crate::fixture::*;

#[test]
fn membership_follows_the_table() {
    let mut w = World::new();
    let policy = w.state.settings.sla.clone();
    let open = w.ticket_in(Status::Open);
    let waiting = w.ticket_in(Status::WaitingOnCustomer);
    let closed = w.ticket_in(Status::Closed);
    let views = |w: &World, id, viewer, now| views_of(w.ticket(id), viewer, &policy, now);
    assert_eq!(views(&w, open, ALICE, min(2)), vec![View::All, View::Mine]);
    assert_eq!(views(&w, open, BOB, min(2)), vec![View::All], "not Bob's");
    assert_eq!(
        views(&w, waiting, ALICE, min(2)),
        vec![View::All, View::Mine, View::Pending]
    );
    assert_eq!(
        views(&w, closed, ALICE, min(2)),
        Vec::<View>::new(),
        "closed leaves every view"
    );
    // normal first response 240 min: at risk from 180 min.
    assert!(views(&w, open, ALICE, min(180)).contains(&View::SlaAtRisk));
    assert!(!views(&w, open, ALICE, min(179)).contains(&View::SlaAtRisk));
    let id = w.fresh_id();
    w.apply(
        Caller::Integration,
        Mutation::AiEscalation(AiEscalation {
            id,
            conversation_id: CONV,
            subject: "Escalated".into(),
            priority: Priority::Low,
            description: None,
            category: None,
            ai_context: AiContext {
                trigger: Trigger::AiEscalation,
                intent: "cancel".into(),
                confidence: 0.5,
                sentiment: Sentiment::Neutral,
                actions_taken: vec![],
                suggested_resolution: "Cancel".into(),
            },
        }),
        min(3),
    )
    .expect("escalate");
    assert_eq!(
        views(&w, id, ALICE, min(4)),
        vec![View::All, View::AiEscalated]
    );
}

/// The archive: closed tickets leave every view, but a status filter that
/// names `closed` shows them in All Tickets (and only there).
#[test]
fn a_status_filter_naming_closed_opens_the_archive_in_all_only() {
    let mut w = World::new();
    let policy = w.state.settings.sla.clone();
    let closed = w.ticket_in(Status::Closed);
    let open = w.ticket_in(Status::Open);
    let at = min(2);
    let shows = |view: View, id, filter: &[Status]| {
        view.rule()
            .matches(w.ticket(id), ALICE, &policy, at, filter)
    };
    assert!(!shows(View::All, closed, &[]));
    assert!(shows(View::All, closed, &[Status::Closed]));
    assert!(shows(View::All, closed, &[Status::Open, Status::Closed]));
    assert!(
        !shows(View::All, open, &[Status::Closed]),
        "the filter still filters"
    );
    assert!(shows(View::All, open, &[Status::Open, Status::Closed]));
    for view in [
        View::Mine,
        View::SlaAtRisk,
        View::Pending,
        View::AiEscalated,
    ] {
        assert!(
            !shows(view, closed, &[Status::Closed]),
            "{view:?} never shows closed tickets"
        );
    }
    // With no filter, the rule is the view's membership.
    for view in View::ALL {
        for id in [closed, open] {
            assert_eq!(
                view.rule().matches(w.ticket(id), ALICE, &policy, at, &[]),
                view.contains(w.ticket(id), ALICE, &policy, at)
            );
        }
    }
}

#[test]
fn default_orders() {
    let mut w = World::new();
    let policy = w.state.settings.sla.clone();
    let normal = w.create(Priority::Normal, min(0));
    let urgent = w.create(Priority::Urgent, min(10));
    let key = |w: &World, v, id| default_sort_key(v, w.ticket(id), &policy);
    // All: updated newest first; urgent was updated later.
    assert!(key(&w, View::All, urgent) < key(&w, View::All, normal));
    // Pending: updated oldest first.
    assert!(key(&w, View::Pending, normal) < key(&w, View::Pending, urgent));
    // SLA: urgent is due at 25 min, normal at 240 min.
    assert!(key(&w, View::SlaAtRisk, urgent) < key(&w, View::SlaAtRisk, normal));
    assert!(key(&w, View::Mine, urgent) < key(&w, View::Mine, normal));
    assert!(
        key(&w, View::AiEscalated, urgent) < key(&w, View::AiEscalated, normal),
        "created newest first"
    );
    assert_eq!(
        View::SlaAtRisk.default_sort(),
        (SortField::SlaDue, Order::Asc)
    );
    assert_eq!(View::parse("sla-at-risk"), Some(View::SlaAtRisk));
}
