//! RULES.md "Business hours": hand-computed cases. Each states the expected
//! moments and how they follow from the calendar.

use chrono::{TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use fyncall_domain::calendar::{Calendar, CalendarWire};
use fyncall_domain::*;

use crate::fixture::*;

/// Monday to Friday 09:00–18:00 in Berlin, with `holidays`.
pub fn office(holidays: &[&str]) -> Calendar {
    let day = serde_json::json!([{"from": "09:00", "to": "18:00"}]);
    let wire: CalendarWire = serde_json::from_value(serde_json::json!({
        "time_zone": "Europe/Berlin",
        "weekly": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day},
        "holidays": holidays,
    }))
    .expect("the API.md shape");
    wire.read().expect("a valid calendar")
}

/// A Berlin wall-clock time.
pub fn berlin(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Timestamp {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .earliest()
        .expect("a local time")
        .with_timezone(&Utc)
}

/// Counts `priorities` in business hours of `calendar`; the rest always.
pub fn use_calendar(w: &mut World, calendar: Calendar, priorities: &[Priority]) {
    let sla = &mut w.state.settings.sla;
    sla.calendar = Some(calendar);
    for p in priorities {
        let t = match p {
            Priority::Urgent => &mut sla.targets.urgent,
            Priority::High => &mut sla.targets.high,
            Priority::Normal => &mut sla.targets.normal,
            Priority::Low => &mut sla.targets.low,
        };
        t.hours = Hours::BusinessHours;
    }
    sla.validate().expect("a valid policy");
}

#[test]
fn friday_afternoon_plus_four_business_hours_is_due_monday_late_morning() {
    // normal: first response 240 min = 4 business hours. Created Friday
    // 2026-11-27 16:30: 1.5 h on Friday (to 18:00), 2.5 h on Monday from
    // 09:00 → due Monday 11:30. At risk at 75% counted (3 h): Monday 10:30.
    let mut w = World::new();
    use_calendar(&mut w, office(&[]), &[Priority::Normal]);
    let id = w.create(Priority::Normal, berlin(2026, 11, 27, 16, 30));
    let saturday = berlin(2026, 11, 28, 12, 0);
    let timer = w.sla(id, saturday).first_response;
    assert_eq!(timer.hours, Hours::BusinessHours);
    assert_eq!(timer.due_at, Some(berlin(2026, 11, 30, 11, 30)));
    assert_eq!(timer.at_risk_at, Some(berlin(2026, 11, 30, 10, 30)));
    assert_eq!(timer.state, TimerState::OnTrack);
    assert_eq!(timer.remaining_seconds, 150 * 60, "2.5 h left all weekend");
    assert_eq!(
        timer.closed_until,
        Some(berlin(2026, 11, 30, 9, 0)),
        "the countdown says: paused until Mon 09:00"
    );
    assert_eq!(timer.open_until, None);
    // No Saturday alert: the next at-risk moment is Monday 10:30.
    let policy = w.state.settings.sla.clone();
    assert_eq!(
        sla::next_at_risk_moment(w.ticket(id), &policy, saturday),
        Some(berlin(2026, 11, 30, 10, 30))
    );
    // Friday 17:00, open: 3.5 h left; at 18:00 (close) 2.5 h are left.
    let friday = w.sla(id, berlin(2026, 11, 27, 17, 0)).first_response;
    assert_eq!(friday.remaining_seconds, 210 * 60);
    assert_eq!(friday.open_until, Some(berlin(2026, 11, 27, 18, 0)));
    assert_eq!(friday.left_at_close_seconds, Some(150 * 60));
    // Monday 11:30 exactly is still in time; a millisecond later breached.
    let due = berlin(2026, 11, 30, 11, 30);
    assert_eq!(w.sla(id, due).first_response.state, TimerState::AtRisk);
    assert_eq!(
        w.sla(id, due + TimeDelta::milliseconds(1))
            .first_response
            .state,
        TimerState::Breached
    );
}

#[test]
fn a_ticket_created_on_a_holiday_eve_waits_for_the_next_working_day() {
    // high: resolution 480 min = 8 business hours. Thursday 2026-12-24
    // 17:00: 1 h; Friday the 25th is a holiday; Monday 09:00 + 7 h = 16:00.
    let mut w = World::new();
    use_calendar(&mut w, office(&["2026-12-25"]), &[Priority::High]);
    let id = w.create(Priority::High, berlin(2026, 12, 24, 17, 0));
    let timer = w.sla(id, berlin(2026, 12, 25, 12, 0)).resolution;
    assert_eq!(timer.due_at, Some(berlin(2026, 12, 28, 16, 0)));
    assert_eq!(timer.remaining_seconds, 7 * 3600);
    assert_eq!(timer.closed_until, Some(berlin(2026, 12, 28, 9, 0)));
}

#[test]
fn daylight_saving_days_inside_open_hours_count_their_real_hours() {
    // Open 01:00–05:00 every day in Berlin. 2026-03-29 (spring forward):
    // 02:00–03:00 does not exist, so 01:00–05:00 holds 3 real hours; a
    // 180-minute first response (urgent raised to 180) created at 01:00 is
    // due at 05:00 local, 3 real hours later.
    let night = serde_json::json!([{"from": "01:00", "to": "05:00"}]);
    let wire: CalendarWire = serde_json::from_value(serde_json::json!({
        "time_zone": "Europe/Berlin",
        "weekly": {"mon": night, "tue": night, "wed": night, "thu": night,
                   "fri": night, "sat": night, "sun": night},
    }))
    .expect("shape");
    let mut w = World::new();
    use_calendar(&mut w, wire.read().expect("calendar"), &[Priority::Urgent]);
    w.state.settings.sla.targets.urgent.first_response_minutes = 180;
    let spring = w.create(Priority::Urgent, berlin(2026, 3, 29, 1, 0));
    let timer = w.sla(spring, berlin(2026, 3, 29, 1, 0)).first_response;
    assert_eq!(timer.due_at, Some(berlin(2026, 3, 29, 5, 0)));
    assert_eq!(
        berlin(2026, 3, 29, 5, 0) - berlin(2026, 3, 29, 1, 0),
        TimeDelta::hours(3)
    );
    // 2026-10-25 (fall back): 02:00–03:00 happens twice, so 01:00–05:00
    // holds 5 real hours; 240 minutes from 01:00 end at the second 03:00…
    // that is 04:00 local on the wall clock read after the change.
    w.state.settings.sla.targets.urgent.first_response_minutes = 240;
    let autumn = w.create(Priority::Urgent, berlin(2026, 10, 25, 1, 0));
    let due = w
        .sla(autumn, berlin(2026, 10, 25, 1, 0))
        .first_response
        .due_at
        .expect("running");
    assert_eq!(due - berlin(2026, 10, 25, 1, 0), TimeDelta::hours(4));
    assert_eq!(
        due.with_timezone(&chrono_tz::Europe::Berlin)
            .format("%H:%M %Z")
            .to_string(),
        "04:00 CET"
    );
}

#[test]
fn a_pause_across_a_weekend_does_not_count_its_open_hours() {
    // normal: resolution 1440 min = 24 business hours. Created Thursday
    // 2026-11-26 09:00: Thursday 9 h, Friday 09:00–17:00 8 h, waiting on
    // the customer Friday 17:00 → Monday 10:00 (Friday 17–18 and Monday
    // 09–10 do not count), then 7 h more: due Monday 17:00.
    let mut w = World::new();
    use_calendar(&mut w, office(&[]), &[Priority::Normal]);
    let id = w.create(Priority::Normal, berlin(2026, 11, 26, 9, 0));
    w.status(
        ALICE,
        id,
        Status::WaitingOnCustomer,
        berlin(2026, 11, 27, 17, 0),
    )
    .expect("wait");
    let paused = w.sla(id, berlin(2026, 11, 28, 12, 0)).resolution;
    assert_eq!(paused.state, TimerState::Paused);
    assert_eq!(paused.remaining_seconds, 7 * 3600);
    w.status(ALICE, id, Status::InProgress, berlin(2026, 11, 30, 10, 0))
        .expect("resume");
    let timer = w.sla(id, berlin(2026, 11, 30, 10, 0)).resolution;
    assert_eq!(timer.due_at, Some(berlin(2026, 11, 30, 17, 0)));
    assert_eq!(timer.remaining_seconds, 7 * 3600);
    let policy = w.state.settings.sla.clone();
    assert_eq!(
        sla::counted_ms(
            w.ticket(id),
            &policy,
            TimerKind::Resolution,
            berlin(2026, 11, 30, 12, 0)
        ),
        19 * 3_600_000,
        "9 + 8 + 2 business hours"
    );
    // Resolved Monday 16:00: met with 1 h to spare, and that outcome is kept.
    w.status(ALICE, id, Status::Resolved, berlin(2026, 11, 30, 16, 0))
        .expect("resolve");
    let done = w.sla(id, berlin(2026, 12, 9, 0, 0)).resolution;
    assert_eq!(done.state, TimerState::Met);
    assert_eq!(done.remaining_seconds, 3600);
    assert_eq!(done.due_at, Some(berlin(2026, 11, 30, 17, 0)));
}

#[test]
fn urgent_on_always_beside_normal_on_business_hours_in_one_team() {
    // Saturday 2026-11-28 10:00. urgent counts always: first response due
    // 10:15 the same Saturday. normal counts business hours: due Monday
    // 13:00 (09:00 + 4 h).
    let mut w = World::new();
    use_calendar(&mut w, office(&[]), &[Priority::Normal]);
    let at = berlin(2026, 11, 28, 10, 0);
    let urgent = w.create(Priority::Urgent, at);
    let normal = w.create(Priority::Normal, at);
    let later = berlin(2026, 11, 28, 10, 20);
    let u = w.sla(urgent, later).first_response;
    assert_eq!(u.hours, Hours::Always);
    assert_eq!(u.due_at, Some(berlin(2026, 11, 28, 10, 15)));
    assert_eq!(u.state, TimerState::Breached);
    let n = w.sla(normal, later).first_response;
    assert_eq!(n.due_at, Some(berlin(2026, 11, 30, 13, 0)));
    assert_eq!(n.state, TimerState::OnTrack);
    assert_eq!(n.remaining_seconds, 240 * 60);
}

#[test]
fn changing_the_calendar_recomputes_running_timers_and_keeps_stopped_ones() {
    // Monday 2026-11-30 09:00, normal (first response 240 min) on 09:00–18:00:
    // due 13:00. One ticket is answered at 12:00 (met, 3 h counted).
    let mut w = World::new();
    use_calendar(&mut w, office(&[]), &[Priority::Normal]);
    let running = w.create(Priority::Normal, berlin(2026, 11, 30, 9, 0));
    let answered = w.create(Priority::Normal, berlin(2026, 11, 30, 9, 0));
    w.comment(ALICE, answered, "on it", berlin(2026, 11, 30, 12, 0))
        .expect("answer");
    let noon = berlin(2026, 11, 30, 12, 0);
    assert_eq!(
        w.sla(running, noon).first_response.due_at,
        Some(berlin(2026, 11, 30, 13, 0))
    );
    // The team now opens 09:00–11:00 only: from created_at, Monday gives 2 h
    // and Tuesday 2 h → due Tuesday 11:00; at noon Monday it is closed.
    let short = serde_json::json!([{"from": "09:00", "to": "11:00"}]);
    let wire: CalendarWire = serde_json::from_value(serde_json::json!({
        "time_zone": "Europe/Berlin",
        "weekly": {"mon": short, "tue": short, "wed": short, "thu": short, "fri": short},
    }))
    .expect("shape");
    w.state.settings.sla.calendar = Some(wire.read().expect("calendar"));
    let r = w.sla(running, noon).first_response;
    assert_eq!(r.due_at, Some(berlin(2026, 12, 1, 11, 0)));
    assert_eq!(r.remaining_seconds, 2 * 3600);
    assert_eq!(r.closed_until, Some(berlin(2026, 12, 1, 9, 0)));
    let a = w.sla(answered, noon).first_response;
    assert_eq!(a.state, TimerState::Met);
    assert_eq!(a.remaining_seconds, 3600, "kept: 3 h counted of 4");
    assert_eq!(a.due_at, Some(berlin(2026, 11, 30, 13, 0)));
    // Back to counting always: the running timer is due 13:00 again.
    w.state.settings.sla.targets.normal.hours = Hours::Always;
    assert_eq!(
        w.sla(running, noon).first_response.due_at,
        Some(berlin(2026, 11, 30, 13, 0))
    );
}

#[test]
fn a_priority_change_moves_between_always_and_business_hours() {
    // Created Saturday 10:00 as normal (business hours: due Monday 13:00),
    // raised to urgent (always) at 10:05: due 10:15 Saturday, from created_at.
    let mut w = World::new();
    use_calendar(&mut w, office(&[]), &[Priority::Normal]);
    let id = w.create(Priority::Normal, berlin(2026, 11, 28, 10, 0));
    w.apply(
        Caller::Agent(ALICE),
        Mutation::ChangePriority(mutation::ChangePriority {
            ticket_id: id,
            priority: Priority::Urgent,
        }),
        berlin(2026, 11, 28, 10, 5),
    )
    .expect("raise");
    let timer = w.sla(id, berlin(2026, 11, 28, 10, 5)).first_response;
    assert_eq!(timer.due_at, Some(berlin(2026, 11, 28, 10, 15)));
    assert_eq!(timer.hours, Hours::Always);
}

#[test]
fn a_business_hours_priority_needs_a_calendar_with_open_hours() {
    let mut policy = SlaPolicy::default();
    policy.targets.low.hours = Hours::BusinessHours;
    let err = policy.validate().expect_err("no calendar");
    let says = err
        .fields
        .get("sla_policy.low.hours")
        .expect("names the field");
    assert!(says.contains("no calendar"), "{says}");
    policy.calendar = Some(Calendar {
        time_zone: Tz::UTC,
        weekly: Default::default(),
        holidays: Default::default(),
    });
    let err = policy.validate().expect_err("never open");
    let says = err.fields.get("calendar.weekly").expect("names the field");
    assert!(says.contains("no open hours"), "{says}");
    policy.calendar = Some(office(&[]));
    policy.validate().expect("valid");
    // Settings carry it as API.md writes it.
    let json = serde_json::to_value(TeamSettings {
        sla: policy,
        ..TeamSettings::default()
    })
    .expect("json");
    assert_eq!(json["sla_policy"]["low"]["hours"], "business_hours");
    assert_eq!(json["sla_policy"]["urgent"]["hours"], "always");
    assert_eq!(json["calendar"]["time_zone"], "Europe/Berlin");
    assert_eq!(json["calendar"]["weekly"]["mon"][0]["to"], "18:00");
    assert_eq!(json["retired_categories"], serde_json::json!([]));
    let back: TeamSettings = serde_json::from_value(json).expect("read back");
    assert_eq!(back.sla.calendar, Some(office(&[])));
    // A settings body without `hours` or `calendar` reads as today's.
    let old: TeamSettings = serde_json::from_value(serde_json::json!({
        "sla_policy": {
            "urgent": {"first_response_minutes": 15, "resolution_minutes": 240},
            "high": {"first_response_minutes": 60, "resolution_minutes": 480},
            "normal": {"first_response_minutes": 240, "resolution_minutes": 1440},
            "low": {"first_response_minutes": 480, "resolution_minutes": 4320}},
        "at_risk_fraction": 0.25,
        "categories": ["billing"]
    }))
    .expect("an older body");
    assert_eq!(old.sla.calendar, None);
    assert_eq!(old.sla.targets.low.hours, Hours::Always);
}

#[test]
fn a_preview_says_how_many_running_tickets_change_state() {
    // Monday 2026-11-30: urgent created 09:00 (first response 15 min), normal
    // 08:00 (240 min). At 09:10 both are on track. Halving every target:
    // urgent's first response becomes 7 min with 10 counted → breached;
    // normal's becomes 120 min with 70 counted (50 left, above the 30-min
    // at-risk line) → still on track. Both deadlines move.
    let mut w = World::new();
    let urgent = w.create(Priority::Urgent, berlin(2026, 11, 30, 9, 0));
    let normal = w.create(Priority::Normal, berlin(2026, 11, 30, 8, 0));
    let _done = w.ticket_in(Status::Resolved);
    let now = berlin(2026, 11, 30, 9, 10);
    let old = w.state.settings.sla.clone();
    let mut new = old.clone();
    for p in Priority::ALL {
        let t = match p {
            Priority::Urgent => &mut new.targets.urgent,
            Priority::High => &mut new.targets.high,
            Priority::Normal => &mut new.targets.normal,
            Priority::Low => &mut new.targets.low,
        };
        t.first_response_minutes /= 2;
        t.resolution_minutes /= 2;
    }
    let tickets = [w.ticket(urgent).clone(), w.ticket(normal).clone()];
    let p = sla::preview(tickets.iter(), &old, &new, now);
    assert_eq!(p.tickets, 2);
    assert_eq!(
        (p.become_at_risk, p.become_breached, p.become_on_track),
        (0, 1, 0)
    );
    assert_eq!(p.deadlines_moved, 2);
    assert_eq!(
        p.summary,
        "1 ticket becomes breached; 2 tickets get a new deadline."
    );
    // Nothing changes: it says so.
    let same = sla::preview(tickets.iter(), &old, &old, now);
    assert_eq!(same.summary, "No running ticket changes state.");
    // The way back: the breached one is on track again.
    let back = sla::preview(tickets.iter(), &new, &old, now);
    assert_eq!(back.become_on_track, 1);
}
