//! Which notifications are due, and the ledger that shows each at most once.

mod fixture;

use chrono::TimeDelta;
use fixture::*;
use fyncall_cache::notify::{NoticeKind, assignment_notices, reply_notices, sla_notices};
use fyncall_cache::{Cache, ChangeSet, PulledChange, TicketChange};
use fyncall_domain::*;
use uuid::Uuid;

/// An open ticket of `me` created at `created` with `priority`.
fn my_ticket(i: usize, me: Uuid, priority: Priority, created: Timestamp) -> Ticket {
    let mut t = ticket(i);
    t.status = Status::Open;
    t.assignee_id = Some(me);
    t.priority = priority;
    t.created_at = created;
    t.updated_at = created;
    t.first_response_at = None;
    t.resolved_at = None;
    t.closed_at = None;
    t.sla_clock = SlaClock::default();
    t
}

#[test]
fn sla_notices_come_at_their_moments_for_running_timers_only() {
    let policy = SlaPolicy::default();
    let t = my_ticket(0, ALICE, Priority::Urgent, now());
    let d = sla::deadlines(&t, &policy);
    let first = d
        .iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    let just_before = first.at_risk_at - TimeDelta::milliseconds(1);
    assert!(sla_notices(&t, &policy, just_before).is_empty());
    let at_risk = sla_notices(&t, &policy, first.at_risk_at);
    assert_eq!(at_risk.len(), 1);
    assert_eq!(at_risk[0].kind, NoticeKind::AtRisk);
    assert_eq!(at_risk[0].moment, first.due_at);
    assert!(
        at_risk[0].summary.contains("at risk"),
        "{}",
        at_risk[0].summary
    );
    assert!(
        at_risk[0].summary.contains("first response"),
        "{}",
        at_risk[0].summary
    );
    assert_eq!(at_risk[0].body, t.subject);
    // At the due time itself it is still at risk; a millisecond later, breached.
    assert_eq!(
        sla_notices(&t, &policy, first.due_at)[0].kind,
        NoticeKind::AtRisk
    );
    let breached = sla_notices(&t, &policy, first.breach_at());
    assert_eq!(breached[0].kind, NoticeKind::Breached);
    assert!(breached[0].critical);
    // A paused resolution timer and a stopped first response raise nothing.
    let mut waiting = t.clone();
    waiting.status = Status::WaitingOnCustomer;
    waiting.sla_clock.resolution_halted_at = Some(now());
    waiting.sla_clock.first_response_stopped_at = Some(now());
    waiting.sla_clock.first_response_target_minutes = Some(first.target_minutes);
    assert!(sla_notices(&waiting, &policy, now() + TimeDelta::days(30)).is_empty());
}

/// A cache whose first download brought `tickets`, as it is when the app
/// first looks for notices right after it, at `now()`.
fn cache_with(dir: &std::path::Path, tickets: &[Ticket]) -> Cache {
    let cache = downloaded(dir, tickets);
    cache.take_notices(Vec::new(), now()).expect("first look");
    cache
}

/// A cache whose first download brought `tickets`, not yet looked at.
fn downloaded(dir: &std::path::Path, tickets: &[Ticket]) -> Cache {
    let mut cache = Cache::open(&dir.join("c.sqlite")).expect("open cache");
    cache.sign_in("http://127.0.0.1:1", ALICE).expect("sign in");
    let mut pages = team_pages(3, 0);
    if let Some(last) = pages.last_mut() {
        last.changes
            .extend(tickets.iter().map(|t| PulledChange::ticket(t.clone())));
    }
    for p in pages {
        cache.apply_pull(&p).expect("pull");
    }
    cache
}

#[test]
fn each_deadline_alerts_once_across_restarts_and_again_when_it_moves() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = SlaPolicy::default();
    let t = my_ticket(100, ALICE, Priority::Urgent, now());
    let theirs = my_ticket(101, BEN, Priority::Urgent, now());
    let cache = cache_with(dir.path(), &[t.clone(), theirs]);
    let first = sla::deadlines(&t, &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    // The cache's clock is the server's: offset 0 here, so local = server time.
    assert!(
        cache
            .take_notices(Vec::new(), first.at_risk_at - TimeDelta::seconds(1))
            .expect("take")
            .is_empty()
    );
    let due = cache
        .take_notices(Vec::new(), first.at_risk_at)
        .expect("take");
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].ticket_id, t.id, "never for other agents' tickets");
    assert!(
        cache
            .take_notices(Vec::new(), first.at_risk_at + TimeDelta::seconds(5))
            .expect("take")
            .is_empty()
    );
    drop(cache);
    // After a restart the ledger still knows it.
    let mut cache = Cache::open(&dir.path().join("c.sqlite")).expect("reopen");
    assert!(
        cache
            .take_notices(Vec::new(), first.at_risk_at + TimeDelta::seconds(9))
            .expect("take")
            .is_empty()
    );
    // The breach is a new notice, once.
    let b = cache
        .take_notices(Vec::new(), first.breach_at())
        .expect("take");
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].kind, NoticeKind::Breached);
    assert!(
        cache
            .take_notices(Vec::new(), first.breach_at() + TimeDelta::minutes(1))
            .expect("take")
            .is_empty()
    );
    // A priority change moves the deadline: alerts again for the new one.
    let mut lower = t.clone();
    lower.priority = Priority::High;
    lower.version += 1;
    let cursor = cache.cursor().expect("cursor") + 1;
    cache
        .apply_pull(&page(vec![PulledChange::ticket(lower.clone())], cursor))
        .expect("pull");
    let moved = sla::deadlines(&lower, &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    assert_ne!(moved.due_at, first.due_at);
    let again = cache
        .take_notices(Vec::new(), moved.at_risk_at)
        .expect("take");
    assert!(again.iter().any(|n| n.moment == moved.due_at), "{again:?}");
}

#[test]
fn switches_and_pause_silence_notices_without_replaying_them_later() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = SlaPolicy::default();
    let urgent = my_ticket(100, ALICE, Priority::Urgent, now());
    let low = my_ticket(101, ALICE, Priority::Low, now() - TimeDelta::days(3));
    let cache = cache_with(dir.path(), &[urgent.clone(), low.clone()]);
    cache
        .set_preference("notify.at_risk.urgent", "off")
        .expect("pref");
    let first = sla::deadlines(&urgent, &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    let shown = cache
        .take_notices(Vec::new(), first.at_risk_at)
        .expect("take");
    assert!(
        shown
            .iter()
            .all(|n| n.ticket_id != urgent.id || n.kind != NoticeKind::AtRisk),
        "{shown:?}"
    );
    cache.pause_notices(first.at_risk_at, 60).expect("pause");
    let paused = cache
        .take_notices(Vec::new(), first.breach_at())
        .expect("take");
    assert!(paused.is_empty(), "paused: {paused:?}");
    cache
        .set_preference("notify.paused_until", "0")
        .expect("unpause");
    assert!(
        cache
            .take_notices(Vec::new(), first.breach_at() + TimeDelta::seconds(1))
            .expect("take")
            .is_empty(),
        "what came during the pause is not replayed"
    );
}

fn assigned_change(
    t: &Ticket,
    before: Option<Uuid>,
    by: Option<Uuid>,
    reason: AssignReason,
) -> ChangeSet {
    let mut after = t.clone();
    after.assignee_id = Some(ALICE);
    let mut prior = t.clone();
    prior.assignee_id = before;
    ChangeSet {
        tickets: vec![TicketChange {
            id: t.id,
            before: Some(prior),
            after: Some(after),
        }],
        activity: vec![Activity {
            id: Uuid::now_v7(),
            ticket_id: t.id,
            at: now(),
            client_at: None,
            actor: match by {
                Some(a) => ActorRef::agent(a),
                None => ActorRef::SYSTEM,
            },
            change: Change::Assigned {
                from: before,
                to: Some(ALICE),
                reason,
            },
        }],
        ..ChangeSet::default()
    }
}

#[test]
fn assignment_notices_are_for_others_actions_only() {
    let t = ticket(0);
    let name = |id: Uuid| {
        if id == ADMIN {
            "Ada Admin".to_owned()
        } else {
            id.to_string()
        }
    };
    let by_admin = assignment_notices(
        &assigned_change(&t, None, Some(ADMIN), AssignReason::Manual),
        ALICE,
        name,
    );
    assert_eq!(by_admin.len(), 1);
    assert!(
        by_admin[0].summary.ends_with("assigned to you"),
        "{}",
        by_admin[0].summary
    );
    assert!(by_admin[0].body.contains("Ada Admin"));
    let conv = assignment_notices(
        &assigned_change(
            &t,
            Some(BEN),
            Some(ADMIN),
            AssignReason::ConversationAssigned,
        ),
        ALICE,
        name,
    );
    assert_eq!(conv.len(), 1, "an admin's conversation assignment");
    let own = assignment_notices(
        &assigned_change(&t, None, Some(ALICE), AssignReason::ConversationClaimed),
        ALICE,
        name,
    );
    assert!(own.is_empty(), "never for your own action (a claim)");
    let mut already = assigned_change(&t, Some(ALICE), Some(ADMIN), AssignReason::Manual);
    already.tickets[0].before = Some({
        let mut b = t.clone();
        b.assignee_id = Some(ALICE);
        b
    });
    assert!(
        assignment_notices(&already, ALICE, name).is_empty(),
        "already yours"
    );
    let to_ben = assigned_change(&t, None, Some(ADMIN), AssignReason::Manual);
    assert!(
        assignment_notices(&to_ben, BEN, name).is_empty(),
        "not for someone else"
    );
}

/// The alert scheduler's loop with an injected clock: sleep as long as the
/// cache says, wake, take what is due.
#[test]
fn the_scheduler_wakes_exactly_at_each_moment_rearms_and_survives_clock_jumps() {
    let dir = tempfile::tempdir().expect("dir");
    let policy = SlaPolicy::default();
    let cap = std::time::Duration::from_secs(60);
    let t = my_ticket(100, ALICE, Priority::High, now());
    let mut cache = cache_with(dir.path(), std::slice::from_ref(&t));
    let first = sla::deadlines(&t, &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    // Start 10 minutes before the at-risk moment; sleep and wake as told.
    let mut clock = first.at_risk_at - TimeDelta::minutes(10);
    let mut fired = Vec::new();
    for _ in 0..100 {
        let wait = cache.next_wake(clock, cap).expect("wake");
        assert!(wait <= cap);
        clock += TimeDelta::from_std(wait).expect("delta");
        for n in cache.take_notices(Vec::new(), clock).expect("take") {
            fired.push((clock, n));
        }
        if !fired.is_empty() {
            break;
        }
    }
    assert_eq!(fired.len(), 1);
    assert_eq!(
        fired[0].0, first.at_risk_at,
        "woke exactly at the at-risk moment"
    );
    assert_eq!(fired[0].1.kind, NoticeKind::AtRisk);
    // The next wake is the breach, one millisecond after the due time.
    let wait = cache
        .next_wake(clock, std::time::Duration::from_secs(86_400))
        .expect("wake");
    assert_eq!(
        clock + TimeDelta::from_std(wait).expect("delta"),
        first.breach_at()
    );

    // A change re-arms it: the ticket becomes normal priority, its deadline
    // moves later, and the old breach moment is no longer awaited.
    let mut urgent = t.clone();
    urgent.priority = Priority::Normal;
    urgent.version += 1;
    let cursor = cache.cursor().expect("cursor") + 1;
    cache
        .apply_pull(&page(vec![PulledChange::ticket(urgent.clone())], cursor))
        .expect("pull");
    let moved = sla::deadlines(&urgent, &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    let wait = cache
        .next_wake(clock, std::time::Duration::from_secs(86_400))
        .expect("wake");
    let woke = clock + TimeDelta::from_std(wait).expect("delta");
    assert_eq!(woke, moved.at_risk_at, "re-armed for the new deadline");
    assert_ne!(woke, first.breach_at());

    // The machine sleeps for five hours: on waking everything due comes at
    // once, each once, and nothing twice afterwards.
    clock += TimeDelta::hours(5);
    let late = cache.take_notices(Vec::new(), clock).expect("take");
    assert!(
        late.iter().any(|n| n.kind == NoticeKind::Breached),
        "{late:?}"
    );
    assert!(
        cache
            .take_notices(Vec::new(), clock + TimeDelta::seconds(1))
            .expect("take")
            .is_empty()
    );
}

#[test]
fn the_tray_counts_my_tickets_at_risk_and_breached_and_lists_the_most_urgent() {
    let dir = tempfile::tempdir().expect("dir");
    let fresh = my_ticket(100, ALICE, Priority::Low, now());
    let at_risk = my_ticket(101, ALICE, Priority::High, now() - TimeDelta::minutes(50));
    let breached = my_ticket(102, ALICE, Priority::Urgent, now() - TimeDelta::minutes(30));
    let bens = my_ticket(103, BEN, Priority::Urgent, now() - TimeDelta::minutes(30));
    let cache = cache_with(
        dir.path(),
        &[fresh, at_risk.clone(), breached.clone(), bens],
    );
    let tray = cache.tray(now(), 5).expect("tray");
    assert_eq!((tray.at_risk, tray.breached), (1, 1), "{tray:?}");
    let first_two: Vec<Uuid> = tray.urgent.iter().take(2).map(|t| t.id).collect();
    assert_eq!(
        first_two,
        vec![breached.id, at_risk.id],
        "earliest due first"
    );
    assert!(tray.urgent[0].seconds_left.expect("due") < 0, "overdue");
    assert!(
        tray.urgent.iter().all(|t| t.id != ticket_id(103)),
        "only my tickets"
    );
    assert!(tray.urgent.len() <= 5);
}

#[test]
fn a_first_download_does_not_flood_with_old_alerts() {
    let dir = tempfile::tempdir().expect("dir");
    let old = my_ticket(100, ALICE, Priority::Urgent, now() - TimeDelta::hours(3));
    let soon = my_ticket(101, ALICE, Priority::High, now() - TimeDelta::minutes(40));
    let cache = downloaded(dir.path(), &[old.clone(), soon.clone()]);
    assert_eq!(cache.tray(now(), 5).expect("tray").breached, 1);
    // The first look after the download records what it finds as known.
    assert!(
        cache
            .take_notices(Vec::new(), now())
            .expect("take")
            .is_empty(),
        "nothing replayed"
    );
    assert_eq!(cache.baseline_notices(now()).expect("baseline"), 0);
    // What enters at risk afterwards still alerts, once.
    let later = now() + TimeDelta::minutes(6);
    let due = cache.take_notices(Vec::new(), later).expect("take");
    assert!(
        due.iter()
            .any(|n| n.ticket_id == soon.id && n.kind == NoticeKind::AtRisk),
        "{due:?}"
    );
}

#[test]
fn a_business_hours_ticket_due_monday_is_not_announced_on_saturday() {
    // Berlin office, Monday to Friday 09:00–18:00; normal counts it. A
    // ticket created Friday 2026-11-27 16:30 (15:30 UTC) has its first
    // response due Monday 11:30 and at risk from Monday 10:30 (09:30 UTC).
    let day = serde_json::json!([{"from": "09:00", "to": "18:00"}]);
    let mut policy = SlaPolicy {
        calendar: Some(
            serde_json::from_value(serde_json::json!({"time_zone": "Europe/Berlin",
                "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}))
            .expect("a calendar"),
        ),
        ..SlaPolicy::default()
    };
    policy.targets.normal.hours = Hours::BusinessHours;
    let at = |s: &str| -> Timestamp { s.parse().expect("time") };
    let t = my_ticket(0, ALICE, Priority::Normal, at("2026-11-27T15:30:00Z"));
    for quiet in [
        "2026-11-27T17:59:00Z",
        "2026-11-28T12:00:00Z",
        "2026-11-29T23:00:00Z",
        "2026-11-30T09:29:59Z",
    ] {
        assert!(
            sla_notices(&t, &policy, at(quiet)).is_empty(),
            "nothing at {quiet}"
        );
    }
    assert_eq!(
        sla::next_at_risk_moment(&t, &policy, at("2026-11-28T12:00:00Z")),
        Some(at("2026-11-30T09:30:00Z"))
    );
    let monday = sla_notices(&t, &policy, at("2026-11-30T09:30:00Z"));
    assert_eq!(monday.len(), 1);
    assert_eq!(monday[0].kind, NoticeKind::AtRisk);
    // Counted time left, not the wall time since Friday.
    assert!(
        monday[0].summary.contains("60 min to first response"),
        "{}",
        monday[0].summary
    );
    assert_eq!(monday[0].moment, at("2026-11-30T10:30:00Z"));
}

#[test]
fn quiet_hours_hold_pop_ups_and_tell_them_once_in_a_summary() {
    use fyncall_cache::notify::QuietHours;
    // Quiet 22:00–07:00 UTC runs over midnight; equal times are never quiet.
    let q = QuietHours::parse("22:00", "07:00", "UTC").expect("valid");
    let at = |s: &str| -> Timestamp { s.parse().expect("time") };
    assert!(q.contains(at("2026-11-30T23:30:00Z")) && q.contains(at("2026-12-01T06:59:59Z")));
    assert!(!q.contains(at("2026-12-01T07:00:00Z")) && !q.contains(at("2026-11-30T21:59:00Z")));
    assert!(
        !QuietHours::parse("09:00", "09:00", "UTC")
            .expect("valid")
            .contains(at("2026-12-01T09:00:00Z"))
    );
    assert_eq!(QuietHours::parse("9", "07:00", "UTC"), None);
    assert_eq!(QuietHours::parse("22:00", "07:00", "Mars/Base"), None);

    let dir = tempfile::tempdir().expect("dir");
    let policy = SlaPolicy::default();
    // Three urgent tickets of mine, created now: at risk, then breached.
    let mine: Vec<Ticket> = (0..3)
        .map(|i| my_ticket(200 + i, ALICE, Priority::Urgent, now()))
        .collect();
    let cache = cache_with(dir.path(), &mine);
    let first = sla::deadlines(&mine[0], &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    // Quiet over the whole at-risk stretch, in the agent's zone.
    let quiet_from = (first.at_risk_at - TimeDelta::minutes(1))
        .format("%H:%M")
        .to_string();
    let quiet_to = (first.at_risk_at + TimeDelta::minutes(2))
        .format("%H:%M")
        .to_string();
    cache
        .set_preference("notify.quiet.from", &quiet_from)
        .expect("pref");
    cache
        .set_preference("notify.quiet.to", &quiet_to)
        .expect("pref");
    cache
        .set_preference("notify.quiet.zone", "UTC")
        .expect("pref");
    let held = cache
        .take_notices(Vec::new(), first.at_risk_at)
        .expect("take");
    assert!(held.is_empty(), "nothing pops up while quiet: {held:?}");
    // The tray still counts them.
    assert_eq!(cache.tray(first.at_risk_at, 5).expect("tray").at_risk, 3);
    // When the quiet ends: one summary, not a burst; then nothing more.
    let after = first.at_risk_at + TimeDelta::minutes(2) + TimeDelta::seconds(1);
    let told = cache.take_notices(Vec::new(), after).expect("take");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].kind, NoticeKind::Summary);
    assert_eq!(
        told[0].summary,
        "3 tickets turned at risk while notifications were quiet"
    );
    assert!(
        cache
            .take_notices(Vec::new(), after + TimeDelta::seconds(1))
            .expect("take")
            .is_empty()
    );

    // Do not disturb behaves the same; urgent breaches may break through.
    let breach = first.breach_at();
    let dnd = cache.due_notices(Vec::new(), breach, true).expect("take");
    assert!(dnd.is_empty(), "do not disturb holds breaches too: {dnd:?}");
    let told = cache
        .due_notices(Vec::new(), breach + TimeDelta::seconds(1), false)
        .expect("take");
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0].summary,
        "3 tickets breached while notifications were quiet"
    );
    let other: Vec<Ticket> = (0..2)
        .map(|i| my_ticket(300 + i, ALICE, Priority::Urgent, breach))
        .collect();
    let dir2 = tempfile::tempdir().expect("dir");
    let cache2 = cache_with(dir2.path(), &other);
    cache2
        .set_preference("notify.quiet.urgent_breaches", "on")
        .expect("pref");
    let later = sla::deadlines(&other[0], &policy)
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    assert!(
        cache2
            .due_notices(Vec::new(), later.at_risk_at, true)
            .expect("take")
            .is_empty()
    );
    let through = cache2
        .due_notices(Vec::new(), later.breach_at(), true)
        .expect("take");
    assert_eq!(
        through.len(),
        2,
        "urgent breaches break through: {through:?}"
    );
    assert!(through.iter().all(|n| n.kind == NoticeKind::Breached));
    let told = cache2
        .due_notices(Vec::new(), later.breach_at() + TimeDelta::seconds(1), false)
        .expect("take");
    assert_eq!(
        told[0].summary,
        "2 tickets turned at risk while notifications were quiet"
    );
}

/// A reply of `agent` in conversation 0 whose delivery failed at `at`.
fn failed_reply(id: u128, agent: Uuid, at: Timestamp) -> Message {
    Message {
        id: client_id(id),
        conversation_id: conversation_id(0),
        author: Author::Agent,
        agent_id: Some(agent),
        body: "Your refund is on its way".into(),
        sent_at: at - TimeDelta::hours(24),
        delivery: Some(Delivery {
            state: DeliveryState::Failed,
            attempts: 29,
            last_attempt_at: Some(at),
            reason: Some("the receiver answered 503 Service Unavailable".into()),
        }),
        automatic: false,
        attachments: Vec::new(),
    }
}

fn message_change(m: &Message) -> PulledChange {
    PulledChange::from_json(
        fyncall_domain::wire::Entity::Message,
        m.id,
        None,
        serde_json::to_value(m).expect("message"),
    )
    .expect("a pulled change")
}

#[test]
fn a_failed_reply_is_told_to_its_author_once_per_failure() {
    let dir = tempfile::tempdir().expect("dir");
    let mut cache = cache_with(dir.path(), &[]);
    let mine = failed_reply(0xF1, ALICE, now());
    let bens = failed_reply(0xF2, BEN, now());
    let mut sent = failed_reply(0xF3, ALICE, now());
    sent.delivery = Some(Delivery {
        state: DeliveryState::Sent,
        attempts: 1,
        last_attempt_at: Some(now()),
        reason: None,
    });
    let cursor = cache.cursor().expect("cursor") + 1;
    let changes = cache
        .apply_pull(&page(
            vec![
                message_change(&mine),
                message_change(&bens),
                message_change(&sent),
            ],
            cursor,
        ))
        .expect("pull");
    assert_eq!(
        changes.failed_replies.len(),
        2,
        "both failed replies are in the change set"
    );
    let customer = |id: Uuid| cache.customer_name(id).ok().flatten();
    let notices = reply_notices(&changes, ALICE, customer);
    assert_eq!(notices.len(), 1, "only Alice's own reply: {notices:?}");
    let n = &notices[0];
    assert_eq!(n.kind, NoticeKind::ReplyFailed);
    assert_eq!(
        n.summary,
        "Your reply to Customer 0 could not be delivered: the receiver answered 503 Service Unavailable"
    );
    assert_eq!(n.conversation_id, Some(conversation_id(0)));
    assert_eq!(n.message_id, Some(mine.id));
    let shown = cache.take_notices(notices.clone(), now()).expect("take");
    assert_eq!(shown.len(), 1);
    // The same failure pulled again (a re-sync) is not told twice.
    assert!(cache.take_notices(notices, now()).expect("take").is_empty());
    // Retried and failed again later: a new failure, told again.
    let again = failed_reply(0xF1, ALICE, now() + TimeDelta::hours(30));
    let cursor = cache.cursor().expect("cursor") + 1;
    let changes = cache
        .apply_pull(&page(vec![message_change(&again)], cursor))
        .expect("pull");
    let customer = |id: Uuid| cache.customer_name(id).ok().flatten();
    let notices = reply_notices(&changes, ALICE, customer);
    assert_eq!(cache.take_notices(notices, now()).expect("take").len(), 1);
    // Switched off in Settings: recorded, not shown.
    cache
        .set_preference("notify.reply_failed", "off")
        .expect("pref");
    let later = failed_reply(0xF1, ALICE, now() + TimeDelta::hours(60));
    let cursor = cache.cursor().expect("cursor") + 1;
    let changes = cache
        .apply_pull(&page(vec![message_change(&later)], cursor))
        .expect("pull");
    let customer = |id: Uuid| cache.customer_name(id).ok().flatten();
    let notices = reply_notices(&changes, ALICE, customer);
    assert!(cache.take_notices(notices, now()).expect("take").is_empty());
}

#[test]
fn a_first_download_tells_no_old_failures() {
    let dir = tempfile::tempdir().expect("dir");
    let mut cache = Cache::open(&dir.path().join("c.sqlite")).expect("open cache");
    cache.sign_in("http://127.0.0.1:1", ALICE).expect("sign in");
    let mut pages = team_pages(3, 0);
    let first = pages.first_mut().expect("a page");
    first.has_more = true;
    first
        .changes
        .push(message_change(&failed_reply(0xF1, ALICE, now())));
    let mut failed = 0;
    for p in pages {
        failed += cache.apply_pull(&p).expect("pull").failed_replies.len();
    }
    assert_eq!(failed, 0, "a first download's rows are not news");
}
