//! RULES.md "Macros": a macro's preview runs each step through the rules in
//! order, for each role; a refused step is named and the rest still apply.

use fyncall_domain::macros::*;
use fyncall_domain::*;
use uuid::Uuid;

use crate::fixture::*;

fn refund_sent() -> Macro {
    Macro {
        id: Uuid::from_u128(0x3AC),
        name: "Refund sent".into(),
        scope: MacroScope::Team,
        owner_id: None,
        text: Some("Hi {{customer.first_name}}, the refund for {{ticket.number}} is on its way. {{agent.first_name}}".into()),
        text_kind: TextKind::Reply,
        actions: vec![
            MacroAction::Status(Status::WaitingOnCustomer),
            MacroAction::AddTags(vec!["refund".into()]),
            MacroAction::Assign(Some("me".into())),
        ],
    }
}

fn kinds(p: &Preview) -> Vec<(String, bool)> {
    p.actions
        .iter()
        .map(|a| (a.kind.clone(), a.allowed))
        .collect()
}

#[test]
fn the_assignee_may_do_every_step_and_the_text_is_filled_in() {
    let mut world = World::new();
    let id = world.create_by(ALICE, Priority::Normal, min(0));
    let p = preview(&world.state, ALICE, &refund_sent(), id, min(5)).expect("preview");
    let text = p.text.clone().expect("text");
    assert!(text.starts_with("Hi "), "{text}");
    assert!(text.ends_with("is on its way. Alice"), "{text}");
    assert_eq!(
        kinds(&p),
        vec![
            ("reply".into(), true),
            ("status".into(), true),
            ("add_tags".into(), true),
            ("assign".into(), true),
        ]
    );
}

#[test]
fn another_agent_is_told_which_steps_the_rules_refuse_and_why() {
    let mut world = World::new();
    let id = world.create_by(ALICE, Priority::Normal, min(0));
    let p = preview(&world.state, BOB, &refund_sent(), id, min(5)).expect("preview");
    // Any agent replies; status and tags are the assignee's or an admin's;
    // taking the ticket is allowed to anyone for themselves.
    assert_eq!(
        kinds(&p),
        vec![
            ("reply".into(), true),
            ("status".into(), false),
            ("add_tags".into(), false),
            ("assign".into(), true),
        ]
    );
    let why = p.actions[1].refusal.as_ref().expect("a refusal");
    assert_eq!(why.code, RefusalCode::Forbidden);
    assert!(
        why.message.contains("only the assignee or an admin"),
        "{why:?}"
    );
    // An admin may do it all.
    let p = preview(&world.state, ADMIN, &refund_sent(), id, min(5)).expect("preview");
    assert!(p.actions.iter().all(|a| a.allowed), "{p:?}");
}

#[test]
fn each_step_sees_what_the_steps_before_it_did() {
    let mut world = World::new();
    let id = world.ticket_in(Status::Resolved);
    let close_then_raise = Macro {
        text: None,
        actions: vec![
            MacroAction::Status(Status::Closed),
            MacroAction::Priority(Priority::High),
        ],
        ..refund_sent()
    };
    let p = preview(&world.state, ALICE, &close_then_raise, id, min(9)).expect("preview");
    assert_eq!(
        kinds(&p),
        vec![("status".into(), true), ("priority".into(), false)],
        "closed by the first step, the ticket takes no priority"
    );
    assert_eq!(
        p.actions[1].refusal.as_ref().map(|r| r.code),
        Some(RefusalCode::InvalidTransition)
    );
    // Nothing of the preview is kept.
    assert_eq!(world.ticket(id).status, Status::Resolved);
}

#[test]
fn team_macros_are_everyone_s_and_personal_ones_their_owner_s() {
    let team = refund_sent();
    let mine = Macro {
        scope: MacroScope::Personal,
        owner_id: Some(ALICE),
        ..refund_sent()
    };
    assert!(usable_by(&team, BOB));
    assert!(usable_by(&mine, ALICE));
    assert!(!usable_by(&mine, BOB));
}
