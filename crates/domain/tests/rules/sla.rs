//! RULES.md "Priorities and SLA": hand-computed cases. Each states the
//! expected numbers and how they follow from the rules.

use chrono::TimeDelta;
use fyncall_domain::mutation::*;
use fyncall_domain::*;

use crate::fixture::*;

fn customer_message(world: &mut World, at: Timestamp) {
    let id = world.fresh_id();
    world
        .apply(
            Caller::Integration,
            Mutation::PostMessage(PostMessage {
                id,
                conversation_id: CONV,
                author: Author::Customer,
                body: "hi".into(),
                automatic: false,
                attachment_ids: Vec::new(),
            }),
            at,
        )
        .expect("customer message");
}

#[test]
fn defaults_match_the_policy_table() {
    let p = SlaPolicy::default();
    let pairs: Vec<(u32, u32)> = Priority::ALL
        .iter()
        .map(|pr| {
            (
                p.targets_for(*pr).first_response_minutes,
                p.targets_for(*pr).resolution_minutes,
            )
        })
        .collect();
    assert_eq!(pairs, vec![(480, 4320), (240, 1440), (60, 480), (15, 240)]);
    assert_eq!(p.at_risk_fraction, 0.25);
}

#[test]
fn pause_and_resume_twice() {
    // normal: resolution 1440 min. Waiting 60→180 (120 min) and 300→400
    // (100 min, ended by a customer message) do not count.
    let mut w = World::new();
    let id = w.create(Priority::Normal, min(0));
    w.status(ALICE, id, Status::WaitingOnCustomer, min(60))
        .expect("wait");
    let paused = w.sla(id, min(100)).resolution;
    assert_eq!(paused.state, TimerState::Paused);
    assert_eq!(paused.due_at, None, "no due time while paused");
    assert_eq!(
        paused.remaining_seconds,
        (1440 - 60) * 60,
        "60 minutes counted before the pause"
    );
    assert_eq!(
        w.sla(id, min(100)).first_response.state,
        TimerState::OnTrack,
        "nothing pauses first response"
    );
    w.status(ALICE, id, Status::InProgress, min(180))
        .expect("resume");
    assert_eq!(w.sla(id, min(180)).resolution.due_at, Some(min(1440 + 120)));
    w.status(ALICE, id, Status::WaitingOnCustomer, min(300))
        .expect("wait again");
    let paused = w.sla(id, min(350)).resolution;
    assert_eq!(
        paused.remaining_seconds,
        (1440 - 180) * 60,
        "counted 60 + 120 = 180 min"
    );
    customer_message(&mut w, min(400));
    assert_eq!(w.ticket(id).status, Status::InProgress);
    let timer = w.sla(id, min(500)).resolution;
    assert_eq!(
        timer.due_at,
        Some(min(1440 + 220)),
        "due = created + 1440 + 120 + 100"
    );
    assert_eq!(timer.remaining_seconds, 1160 * 60);
    assert_eq!(timer.state, TimerState::OnTrack);
    assert_eq!(
        sla::counted_ms(
            w.ticket(id),
            &w.state.settings.sla,
            TimerKind::Resolution,
            min(500)
        ),
        280 * 60_000
    );
}

#[test]
fn priority_raised_to_urgent_after_20_minutes_breaches_at_once() {
    // urgent first response is 15 min: at minute 20 it is 5 min overdue.
    let mut w = World::new();
    let id = w.create(Priority::Normal, min(0));
    assert_eq!(
        w.sla(id, min(20)).first_response.state,
        TimerState::OnTrack,
        "240 min target before"
    );
    let applied = w
        .apply(
            Caller::Agent(ALICE),
            Mutation::ChangePriority(ChangePriority {
                ticket_id: id,
                priority: Priority::Urgent,
            }),
            min(20),
        )
        .expect("assignee changes priority");
    let sla = w.sla(id, min(20));
    assert_eq!(sla.first_response.state, TimerState::Breached);
    assert_eq!(sla.first_response.due_at, Some(min(15)));
    assert_eq!(sla.first_response.remaining_seconds, -300);
    assert_eq!(
        sla.resolution.due_at,
        Some(min(240)),
        "resolution recomputed from created_at too"
    );
    assert_eq!(sla.resolution.remaining_seconds, 220 * 60);
    assert_eq!(sla.indicator, Indicator::Breached);
    let kinds: Vec<_> = applied.activity.iter().map(|a| a.change.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            Change::PriorityChanged {
                from: Priority::Normal,
                to: Priority::Urgent
            },
            Change::SlaBreached {
                timer: TimerKind::FirstResponse,
                due_at: min(15)
            },
        ]
    );
    assert_eq!(
        observe_breaches(w.ticket(id), &w.state.settings, min(30)),
        None,
        "one sla_breached entry per timer"
    );
}

#[test]
fn reopen_after_a_day_resolved_does_not_count_the_day() {
    // high: resolution 480 min. Resolved at 100, reopened at 100 + 1440.
    let mut w = World::new();
    let id = w.create(Priority::High, min(0));
    w.status(ALICE, id, Status::Resolved, min(100))
        .expect("resolve");
    let stopped = w.sla(id, min(500)).resolution;
    assert_eq!(
        (stopped.state, stopped.stopped_at, stopped.remaining_seconds),
        (TimerState::Met, Some(min(100)), 380 * 60)
    );
    w.status(ALICE, id, Status::InProgress, min(1540))
        .expect("reopen");
    let timer = w.sla(id, min(1600)).resolution;
    assert_eq!(timer.due_at, Some(min(480 + 1440)));
    assert_eq!(
        timer.remaining_seconds,
        320 * 60,
        "counted 100 + 60 = 160 of 480 min"
    );
    assert_eq!(timer.state, TimerState::OnTrack);
    assert_eq!(w.ticket(id).resolved_at, None);
}

#[test]
fn at_risk_boundary_is_exactly_25_percent_remaining() {
    // urgent first response 15 min = 900 s; 25% = 225 s, reached at 11 min 15 s.
    let mut w = World::new();
    let id = w.create(Priority::Urgent, min(0));
    let boundary = 11 * 60_000 + 15_000;
    let fr = |w: &World, t| w.sla(id, ms(t)).first_response;
    assert_eq!(
        fr(&w, boundary - 1).state,
        TimerState::OnTrack,
        "225.001 s left"
    );
    assert_eq!(
        (fr(&w, boundary).state, fr(&w, boundary).remaining_seconds),
        (TimerState::AtRisk, 225)
    );
    assert_eq!(
        (fr(&w, 900_000).state, fr(&w, 900_000).remaining_seconds),
        (TimerState::AtRisk, 0),
        "due, not yet past"
    );
    assert_eq!(
        (fr(&w, 900_001).state, fr(&w, 900_001).remaining_seconds),
        (TimerState::Breached, -1)
    );
    let policy = w.state.settings.sla.clone();
    assert_eq!(
        sla::next_at_risk_moment(w.ticket(id), &policy, min(0)),
        Some(ms(boundary))
    );
    assert_eq!(
        sla::next_breach_moment(w.ticket(id), &policy, min(0)),
        Some(ms(900_001))
    );
    // resolution (240 min, 60 min at risk) is later: after the first, the next is 180 min.
    assert_eq!(
        sla::next_at_risk_moment(w.ticket(id), &policy, ms(boundary)),
        Some(min(180))
    );
    assert_eq!(
        sla::moments(w.ticket(id), &policy),
        Moments {
            due_at: Some(min(15)),
            at_risk_at: Some(ms(boundary))
        }
    );
}

#[test]
fn first_response_by_comment() {
    let mut w = World::new();
    let id = w.create(Priority::Normal, min(0));
    w.comment(BOB, id, "Looking into it", min(30))
        .expect("comment");
    let fr = w.sla(id, min(90)).first_response;
    assert_eq!(
        (fr.state, fr.stopped_at, fr.remaining_seconds),
        (TimerState::Met, Some(min(30)), 210 * 60)
    );
    assert_eq!(w.ticket(id).first_response_at, Some(min(30)));
    w.comment(ALICE, id, "later", min(40)).expect("comment");
    assert_eq!(
        w.ticket(id).first_response_at,
        Some(min(30)),
        "only the first counts"
    );
}

#[test]
fn first_response_by_conversation_reply_only_after_creation() {
    let mut w = World::new();
    let reply = |w: &mut World, at| {
        let id = w.fresh_id();
        w.apply(
            Caller::Agent(BOB),
            Mutation::Reply(Reply {
                id,
                conversation_id: CONV,
                body: "On it".into(),
                attachment_ids: Vec::new(),
            }),
            at,
        )
        .expect("reply")
    };
    reply(&mut w, min(-10));
    let id = w.create(Priority::Normal, min(0));
    assert_eq!(
        w.sla(id, min(30)).first_response.state,
        TimerState::OnTrack,
        "a reply before creation does not count"
    );
    let applied = reply(&mut w, min(50));
    assert!(applied.tickets.contains(&id));
    let fr = w.sla(id, min(60)).first_response;
    assert_eq!((fr.state, fr.stopped_at), (TimerState::Met, Some(min(50))));
    assert_eq!(w.messages.len(), 2);
}

#[test]
fn missed_then_met() {
    // urgent: first response at 20 min is 5 min late (missed); resolved at
    // 200 of 240 min is met with 40 min left. Nothing running and one
    // missed: indicator breached.
    let mut w = World::new();
    let id = w.create(Priority::Urgent, min(0));
    let applied = w
        .comment(ALICE, id, "sorry for the wait", min(20))
        .expect("comment");
    assert_eq!(
        applied.activity[0].change,
        Change::SlaBreached {
            timer: TimerKind::FirstResponse,
            due_at: min(15)
        },
        "the breach is recorded before the late response"
    );
    let fr = w.sla(id, min(21)).first_response;
    assert_eq!((fr.state, fr.remaining_seconds), (TimerState::Missed, -300));
    w.status(ALICE, id, Status::Resolved, min(200))
        .expect("resolve");
    let s = w.sla(id, min(300));
    assert_eq!(
        (s.resolution.state, s.resolution.remaining_seconds),
        (TimerState::Met, 40 * 60)
    );
    assert_eq!(s.indicator, Indicator::Breached);
    // A stopped timer keeps its outcome through a priority change.
    w.apply(
        Caller::Agent(ALICE),
        Mutation::ChangePriority(ChangePriority {
            ticket_id: id,
            priority: Priority::Low,
        }),
        min(301),
    )
    .expect("priority on a resolved ticket");
    let s = w.sla(id, min(302));
    assert_eq!(
        (s.first_response.state, s.first_response.target_minutes),
        (TimerState::Missed, 15)
    );
    assert_eq!(
        (s.resolution.state, s.resolution.target_minutes),
        (TimerState::Met, 240)
    );
}

#[test]
fn policy_change_moves_running_deadlines_only() {
    let mut w = World::new();
    let running = w.create(Priority::Normal, min(0));
    let answered = w.create(Priority::Normal, min(0));
    w.comment(ALICE, answered, "hello", min(100))
        .expect("comment");
    w.state.settings.sla.targets.normal.first_response_minutes = 60;
    let s = w.sla(running, min(90));
    assert_eq!(
        (s.first_response.due_at, s.first_response.state),
        (Some(min(60)), TimerState::Breached)
    );
    assert_eq!(s.first_response.remaining_seconds, -30 * 60);
    let s = w.sla(answered, min(90));
    assert_eq!(
        (s.first_response.state, s.first_response.target_minutes),
        (TimerState::Met, 240),
        "stopped at 100 of 240"
    );
}

#[test]
fn indicator_is_the_worst_running_timer() {
    let mut w = World::new();
    let id = w.create(Priority::Urgent, min(0));
    assert_eq!(w.sla(id, min(1)).indicator, Indicator::OnTrack);
    assert_eq!(w.sla(id, min(12)).indicator, Indicator::AtRisk);
    assert_eq!(w.sla(id, min(16)).indicator, Indicator::Breached);
    w.comment(ALICE, id, "answer", min(5))
        .expect("answered in time");
    w.status(ALICE, id, Status::WaitingOnCustomer, min(6))
        .expect("wait");
    let s = w.sla(id, min(1000));
    assert_eq!(
        (s.resolution.state, s.indicator),
        (TimerState::Paused, Indicator::OnTrack),
        "paused is not running"
    );
}

#[test]
fn resolving_without_a_response_stops_first_response_too() {
    let mut w = World::new();
    let id = w.create(Priority::Normal, min(0));
    w.status(ALICE, id, Status::Resolved, min(10))
        .expect("resolve");
    let s = w.sla(id, min(10_000));
    assert_eq!(
        (s.first_response.state, s.first_response.stopped_at),
        (TimerState::Met, Some(min(10)))
    );
    assert!(
        sla::deadlines(w.ticket(id), &w.state.settings.sla).is_empty(),
        "a done ticket has no running timer"
    );
    assert_eq!(w.ticket(id).first_response_at, None, "no agent responded");
}

#[test]
fn sweep_records_a_breach_once_per_timer() {
    let w = {
        let mut w = World::new();
        w.create(Priority::Urgent, min(0));
        w
    };
    let ticket = w.state.tickets.values().next().expect("ticket");
    assert_eq!(
        observe_breaches(ticket, &w.state.settings, min(15)),
        None,
        "at due it is not yet past"
    );
    let (after, entries) = observe_breaches(
        ticket,
        &w.state.settings,
        min(15) + TimeDelta::milliseconds(1),
    )
    .expect("breach seen");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor, ActorRef::SYSTEM);
    assert_eq!(
        observe_breaches(&after, &w.state.settings, min(300)).map(|(_, e)| e.len()),
        Some(1),
        "then only resolution"
    );
}
