//! RULES.md "Merge": a merge closes the source with "merged into #B", the
//! source refuses every later change in those words, a comment sent to it
//! lands on the target, and an unmerge within 7 days puts it back exactly.

use chrono::TimeDelta;
use fyncall_domain::actions::{evaluate, ticket_candidates};
use fyncall_domain::mutation::*;
use fyncall_domain::*;

use crate::fixture::*;

/// Two tickets of Alice's numbered #41 (in progress) and #42 (open).
fn pair() -> (World, uuid::Uuid, uuid::Uuid) {
    let mut w = World::new();
    let a = w.create(Priority::High, min(0));
    let b = w.create(Priority::Normal, min(1));
    w.status(ALICE, a, Status::InProgress, min(2))
        .expect("in progress");
    w.state.tickets.get_mut(&a).expect("a").number = Some(41);
    w.state.tickets.get_mut(&b).expect("b").number = Some(42);
    (w, a, b)
}

fn merge(
    w: &mut World,
    by: uuid::Uuid,
    a: uuid::Uuid,
    b: uuid::Uuid,
    at: Timestamp,
) -> Result<Applied, Refusal> {
    w.apply(
        Caller::Agent(by),
        Mutation::MergeTicket(MergeTicket {
            ticket_id: a,
            into_ticket_id: b,
        }),
        at,
    )
}

fn unmerge(
    w: &mut World,
    by: uuid::Uuid,
    a: uuid::Uuid,
    at: Timestamp,
) -> Result<Applied, Refusal> {
    w.apply(
        Caller::Agent(by),
        Mutation::UnmergeTicket(UnmergeTicket { ticket_id: a }),
        at,
    )
}

#[test]
fn a_merge_closes_the_source_and_names_it_on_both_timelines() {
    let (mut w, a, b) = pair();
    let b_clock = w.ticket(b).sla_clock.clone();
    let b_due = w.sla(b, min(10));
    let applied = merge(&mut w, ALICE, a, b, min(10)).expect("Alice may edit both");
    let words: Vec<(uuid::Uuid, String)> = applied
        .activity
        .iter()
        .map(|e| (e.ticket_id, e.change.describe(&|_| "x".into())))
        .collect();
    assert_eq!(
        words,
        vec![
            (a, "merged into #42".to_owned()),
            (b, "merged #41 into this ticket".to_owned())
        ]
    );
    let source = w.ticket(a);
    assert_eq!(source.status, Status::Closed);
    assert_eq!(source.merged_into_id, Some(b));
    assert_eq!(source.closed_at, Some(min(10)));
    assert_eq!(w.ticket(b).merged_ids, vec![a]);
    // The target's SLA clocks are unchanged.
    assert_eq!(w.ticket(b).sla_clock, b_clock);
    assert_eq!(w.sla(b, min(10)), b_due);
    // The source's outcome is frozen at the merge: nothing runs on.
    let frozen = w.sla(a, min(11));
    assert_eq!(w.sla(a, min(10) + TimeDelta::days(30)), frozen);
}

#[test]
fn a_merged_ticket_refuses_every_change_in_the_merge_s_words() {
    let (mut w, a, b) = pair();
    merge(&mut w, ALICE, a, b, min(10)).expect("merged");
    let refused = w
        .status(ALICE, a, Status::InProgress, min(11))
        .expect_err("a reopen is refused");
    assert_eq!(refused.code, RefusalCode::InvalidTransition);
    assert_eq!(refused.message, "merged into #42: reopen #42");
    for m in [
        Mutation::ChangePriority(ChangePriority {
            ticket_id: a,
            priority: Priority::Low,
        }),
        Mutation::Assign(Assign {
            ticket_id: a,
            assignee_id: Some(BOB),
        }),
        Mutation::SetTags(SetTags {
            ticket_id: a,
            add: vec!["vip".into()],
            remove: Vec::new(),
        }),
        Mutation::EditTicket(EditTicket {
            ticket_id: a,
            subject: Some("New".into()),
            ..EditTicket::default()
        }),
    ] {
        let r = w
            .apply(Caller::Agent(ADMIN), m.clone(), min(11))
            .expect_err("refused");
        assert_eq!(
            r.message,
            "merged into #42: make the change on #42",
            "{}",
            m.name()
        );
    }
    // Nor can it be merged again, or anything be merged into it.
    let c = w.create(Priority::Low, min(12));
    assert_eq!(
        merge(&mut w, ALICE, a, c, min(13))
            .expect_err("merged")
            .message,
        "merged into #42: merge #42 instead"
    );
    assert_eq!(
        merge(&mut w, ALICE, c, a, min(13))
            .expect_err("merged")
            .message,
        "#41 is merged into #42: merge into #42 instead"
    );
}

#[test]
fn a_comment_sent_to_a_merged_ticket_lands_on_the_target_marked_as_from_it() {
    let (mut w, a, b) = pair();
    merge(&mut w, ALICE, a, b, min(10)).expect("merged");
    let before = w.ticket(a).clone();
    // Bob may comment anywhere: a comment queued offline on #41 lands on #42.
    let applied = w.comment(BOB, a, "late note", min(20)).expect("redirected");
    let entry = &applied.activity[0];
    assert_eq!(entry.ticket_id, b);
    assert_eq!(
        entry.change,
        Change::Comment {
            body: "late note".into(),
            mention_ids: Vec::new(),
            merged_from: Some(a),
        }
    );
    assert_eq!(w.ticket(a), &before, "the merged ticket is untouched");
    let wire = serde_json::to_value(entry).expect("json");
    assert_eq!(wire["data"]["merged_from"], serde_json::json!(a));
}

#[test]
fn an_unmerge_within_seven_days_puts_the_source_back_as_it_was() {
    let (mut w, a, b) = pair();
    let as_it_was = w.ticket(a).clone();
    merge(&mut w, ALICE, a, b, min(10)).expect("merged");
    let applied = unmerge(&mut w, ALICE, a, min(10) + TimeDelta::days(6)).expect("in time");
    let source = w.ticket(a);
    assert_eq!(source.status, Status::InProgress);
    assert_eq!(source.resolved_at, None);
    assert_eq!(source.closed_at, None);
    assert_eq!(source.sla_clock.first_response_stopped_at, None);
    assert_eq!(source.merged_into_id, None);
    assert_eq!(source.merge, None);
    assert_eq!(source.tags, as_it_was.tags);
    assert!(w.ticket(b).merged_ids.is_empty());
    let words: Vec<String> = applied
        .activity
        .iter()
        .filter(|e| e.change.kind() != "sla_breached")
        .map(|e| e.change.describe(&|_| "x".into()))
        .collect();
    assert_eq!(
        words,
        ["unmerged from #42", "unmerged #41 from this ticket"]
    );
    // Its timers run as they did: six days on, a high ticket's are breached.
    assert!(
        applied
            .activity
            .iter()
            .any(|e| e.ticket_id == a && e.change.kind() == "sla_breached"),
        "deadlines passed while merged are breaches once back"
    );
    // And it takes changes again.
    w.status(ALICE, a, Status::Resolved, min(10) + TimeDelta::days(6))
        .expect("an ordinary ticket again");
}

#[test]
fn an_unmerge_after_seven_days_is_refused_and_so_is_one_of_an_unmerged_ticket() {
    let (mut w, a, b) = pair();
    merge(&mut w, ALICE, a, b, min(10)).expect("merged");
    let late = unmerge(&mut w, ALICE, a, min(11) + TimeDelta::days(7)).expect_err("too late");
    assert_eq!(late.code, RefusalCode::InvalidTransition);
    assert!(
        late.message.contains("more than 7 days ago"),
        "{}",
        late.message
    );
    let never = unmerge(&mut w, ALICE, b, min(12)).expect_err("b is not merged");
    assert!(never.message.contains("not merged"), "{}", never.message);
}

#[test]
fn only_who_may_edit_both_merges_and_closed_or_self_targets_are_refused() {
    let (mut w, a, b) = pair();
    // Bob is assignee of neither.
    let bob = merge(&mut w, BOB, a, b, min(10)).expect_err("not his");
    assert_eq!(bob.code, RefusalCode::Forbidden);
    assert_eq!(
        bob.message,
        "only the assignee or an admin can merge this ticket"
    );
    let own = merge(&mut w, ALICE, a, a, min(10)).expect_err("itself");
    assert_eq!(own.code, RefusalCode::Invalid);
    let closed = w.ticket_in(Status::Closed);
    w.state.tickets.get_mut(&closed).expect("c").number = Some(43);
    let into_closed = merge(&mut w, ALICE, a, closed, min(10)).expect_err("closed target");
    assert!(
        into_closed.message.starts_with("#43 is closed"),
        "{}",
        into_closed.message
    );
    // An admin may merge anyone's.
    merge(&mut w, ADMIN, a, b, min(10)).expect("admin");
    // A ticket with others merged into it is not merged on.
    let c = w.create(Priority::Low, min(11));
    let chain = merge(&mut w, ALICE, b, c, min(12)).expect_err("chain");
    assert!(
        chain
            .message
            .contains("1 other ticket is merged into this one"),
        "{}",
        chain.message
    );
}

#[test]
fn the_ticket_page_offers_merge_and_unmerge_with_the_rules_answer() {
    let (mut w, a, b) = pair();
    let stamp = Stamp {
        mutation_id: uuid::Uuid::from_u128(1),
        at: min(10),
        client_at: None,
    };
    let agents: Vec<Agent> = w.state.agents.values().cloned().collect();
    let offered = |w: &World, who, id| {
        evaluate(
            &w.state,
            Caller::Agent(who),
            ticket_candidates(w.ticket(id), &agents, who),
            &stamp,
        )
    };
    let find = |actions: &[actions::Action], key: &str| {
        actions
            .iter()
            .find(|x| x.key == key)
            .cloned()
            .expect("offered")
    };
    assert_eq!(find(&offered(&w, ALICE, a), "merge").refusal, None);
    assert!(find(&offered(&w, BOB, a), "merge").refusal.is_some());
    merge(&mut w, ALICE, a, b, min(10)).expect("merged");
    let after = offered(&w, ALICE, a);
    assert!(after.iter().all(|x| x.key != "merge"));
    assert_eq!(find(&after, "unmerge").refusal, None);
    assert_eq!(
        find(&after, "status:in_progress")
            .refusal
            .map(|r| r.message),
        Some("merged into #42: reopen #42".to_owned())
    );
}

#[test]
fn the_preview_says_what_moves() {
    let (w, a, b) = pair();
    let words = merge::preview_words(w.ticket(a), w.ticket(b), 3);
    assert_eq!(
        words[0],
        "#41 closes as \"merged into #42\" and takes no further change"
    );
    assert_eq!(
        words[1],
        "its 3 comments show on #42's timeline, marked as from #41"
    );
}
