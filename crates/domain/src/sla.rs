//! SLA timers (RULES.md "Priorities and SLA").
//!
//! Two timers per ticket, both from `created_at`:
//! - **first response** stops at the first agent comment on the ticket or the
//!   first agent message on its conversation after the ticket was created.
//!   Nothing pauses it. A ticket resolved before any agent responded stops it
//!   at that resolve (resolving is the answer), so a done ticket never shows a
//!   running timer.
//! - **resolution** counts only while the status is open or in progress: it
//!   pauses while waiting on the customer, stops at resolved or closed, and a
//!   reopen resumes it without counting the time spent resolved.
//!
//! Each priority's targets count `always` (every moment) or
//! `business_hours` (only the team calendar's open hours, RULES.md
//! "Business hours"). A timer's **counted time** is the time it counted in
//! that sense; `remaining_seconds` is target minus counted time.
//!
//! A running timer's `due_at` is the moment its counted time reaches the
//! target, counting on from where it last started (`created_at`, or the end
//! of its last pause); for `always` that is `created_at + target + time not
//! counted`. Its at-risk moment is where counted time reaches
//! `(1 − at_risk_fraction) × target`. It is breached once `now > due_at`, at
//! risk from its at-risk moment, else on track. A stopped timer is met if its
//! counted time did not pass the target, else missed; its target, counted
//! time and due moment are kept when it stops, so a later priority, policy or
//! calendar change does not rewrite its outcome. Running and paused timers
//! always use the current priority, policy and calendar, which is how a
//! priority or calendar change recomputes them from `created_at`.
//!
//! Everything here is a function of the ticket, the policy and a `now` the
//! caller passes in; nothing reads a clock.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::calendar::{self, Calendar};
use crate::settings::{Hours, SlaPolicy};
use crate::ticket::{Kept, Pause, Priority, Status, Ticket};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    FirstResponse,
    Resolution,
}

impl TimerKind {
    pub const ALL: [TimerKind; 2] = [TimerKind::FirstResponse, TimerKind::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::FirstResponse => "first_response",
            TimerKind::Resolution => "resolution",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TimerKind::FirstResponse => "first response",
            TimerKind::Resolution => "resolution",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimerState {
    OnTrack,
    AtRisk,
    Breached,
    Paused,
    Met,
    Missed,
}

impl TimerState {
    pub fn is_running(self) -> bool {
        matches!(
            self,
            TimerState::OnTrack | TimerState::AtRisk | TimerState::Breached
        )
    }
}

/// The ticket's SLA indicator, ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    OnTrack,
    AtRisk,
    Breached,
}

/// One timer at one moment, as API.md's `timer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timer {
    pub state: TimerState,
    pub target_minutes: u32,
    /// `None` while paused.
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    /// Negative once breached; for a stopped timer, what was left when it stopped.
    pub remaining_seconds: i64,
    /// For a running timer, the first moment it is at risk (so a live
    /// countdown can change state without knowing the policy); else `None`.
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at_risk_at: Option<Timestamp>,
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub stopped_at: Option<Timestamp>,
    /// The time it counts (for a stopped timer: counted when it stopped).
    pub hours: Hours,
    /// A running business-hours timer while the calendar is open: when it
    /// next closes (its clock stands still from then).
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub open_until: Option<Timestamp>,
    /// A running business-hours timer while the calendar is closed: when it
    /// opens and the clock moves again ("paused until Mon 09:00").
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_until: Option<Timestamp>,
    /// With `open_until`: the counted seconds left at that moment, so a live
    /// countdown can run to it and stop there.
    #[serde(default)]
    pub left_at_close_seconds: Option<i64>,
}

/// Both timers and the indicator at one moment, as API.md's `sla`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sla {
    pub indicator: Indicator,
    pub first_response: Timer,
    pub resolution: Timer,
}

/// A running timer's deadline. While the ticket does not change these do not
/// move, so they can be stored and indexed ("now" becomes a range bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deadline {
    pub timer: TimerKind,
    pub target_minutes: u32,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// The first moment the timer is at risk.
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at_risk_at: Timestamp,
}

impl Deadline {
    /// The first moment (at millisecond precision) the timer is breached.
    pub fn breach_at(&self) -> Timestamp {
        self.due_at + TimeDelta::milliseconds(1)
    }
}

/// The earliest deadlines among a ticket's running timers: what the cache
/// stores and indexes for the SLA views and the alert scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Moments {
    /// Earliest due time among running timers (SLA urgency sort key).
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    /// Earliest at-risk moment among running timers: the ticket belongs to
    /// SLA At Risk exactly while `at_risk_at <= now`.
    #[serde(default, with = "crate::wire::millis_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub at_risk_at: Option<Timestamp>,
}

fn minutes_ms(m: u32) -> i64 {
    i64::from(m) * 60_000
}

fn ms(d: TimeDelta) -> i64 {
    d.num_milliseconds()
}

/// The time a timer counts: every moment, or a calendar's open hours.
#[derive(Debug, Clone, Copy)]
enum Clock<'a> {
    Always,
    Open(&'a Calendar),
}

impl<'a> Clock<'a> {
    fn of(policy: &'a SlaPolicy, priority: Priority) -> Clock<'a> {
        match policy.calendar_for(priority) {
            Some(c) => Clock::Open(c),
            None => Clock::Always,
        }
    }

    fn hours(self) -> Hours {
        match self {
            Clock::Always => Hours::Always,
            Clock::Open(_) => Hours::BusinessHours,
        }
    }

    /// Counted milliseconds in `[from, to)`.
    fn counted(self, from: Timestamp, to: Timestamp) -> i64 {
        match self {
            Clock::Always => ms(to - from).max(0),
            Clock::Open(c) => c.counted_ms(from, to),
        }
    }

    /// The moment `by` milliseconds of counted time after `from` (before
    /// it when negative). A calendar too sparse to hold that much open time
    /// within three years gives the end of that search, so a deadline
    /// always exists and later targets never come earlier.
    fn shift(self, from: Timestamp, by: i64) -> Timestamp {
        let beyond = TimeDelta::days(calendar::HORIZON_DAYS);
        match self {
            Clock::Always => from + TimeDelta::milliseconds(by),
            Clock::Open(c) if by >= 0 => c.add_ms(from, by).unwrap_or(from + beyond),
            Clock::Open(c) => c.sub_ms(from, -by).unwrap_or(from - beyond),
        }
    }
}

/// The resolution timer counts only in these statuses.
pub fn resolution_counts_in(status: Status) -> bool {
    matches!(status, Status::Open | Status::InProgress)
}

fn is_stopped(status: Status) -> bool {
    matches!(status, Status::Resolved | Status::Closed)
}

fn first_response_target(ticket: &Ticket, policy: &SlaPolicy) -> u32 {
    match (
        ticket.sla_clock.first_response_stopped_at,
        ticket.sla_clock.first_response_target_minutes,
    ) {
        (Some(_), Some(frozen)) => frozen,
        _ => policy.targets_for(ticket.priority).first_response_minutes,
    }
}

fn resolution_target(ticket: &Ticket, policy: &SlaPolicy) -> u32 {
    match (ticket.status, ticket.sla_clock.resolution_target_minutes) {
        (Status::Resolved | Status::Closed, Some(frozen)) => frozen,
        _ => policy.targets_for(ticket.priority).resolution_minutes,
    }
}

/// Where a timer last (re)started counting and what it had counted before:
/// `created_at` and 0 for first response; for resolution, the end of its
/// last finished pause and the counted time of the stretches before it.
fn anchor(ticket: &Ticket, kind: TimerKind, clock: Clock<'_>) -> (Timestamp, i64) {
    let c = &ticket.sla_clock;
    if kind == TimerKind::FirstResponse {
        return (ticket.created_at, 0);
    }
    let mut start = ticket.created_at;
    let mut counted = 0;
    let mut paused_wall = 0;
    for p in &c.resolution_pauses {
        counted += clock.counted(start, p.from);
        paused_wall += ms(p.to - p.from);
        start = p.to;
    }
    // Pauses from before their periods were kept: taken off as wall time.
    let legacy = (c.resolution_excluded_ms - paused_wall).max(0);
    (start, counted - legacy)
}

/// A running timer's fixed facts: its target, due and at-risk moments, and
/// where it last started counting with what it had counted before.
struct Running {
    target: u32,
    due: Timestamp,
    at_risk: Timestamp,
    from: Timestamp,
    before: i64,
}

fn running_moments(ticket: &Ticket, kind: TimerKind, policy: &SlaPolicy) -> Option<Running> {
    let clock = Clock::of(policy, ticket.priority);
    let (target, runs) = match kind {
        TimerKind::FirstResponse => (
            first_response_target(ticket, policy),
            ticket.sla_clock.first_response_stopped_at.is_none(),
        ),
        TimerKind::Resolution => (
            resolution_target(ticket, policy),
            ticket.sla_clock.resolution_halted_at.is_none(),
        ),
    };
    if !runs {
        return None;
    }
    let (from, before) = anchor(ticket, kind, clock);
    let target_ms = minutes_ms(target);
    let due = clock.shift(from, target_ms - before);
    let at_risk = clock.shift(
        from,
        target_ms - policy.at_risk_threshold_ms(target) - before,
    );
    Some(Running {
        target,
        due,
        at_risk,
        from,
        before,
    })
}

/// A running timer at `now`.
fn running(ticket: &Ticket, kind: TimerKind, policy: &SlaPolicy, now: Timestamp) -> Option<Timer> {
    let Running {
        target,
        due,
        at_risk: at_risk_at,
        from,
        before,
    } = running_moments(ticket, kind, policy)?;
    let clock = Clock::of(policy, ticket.priority);
    let left = minutes_ms(target) - before - clock.counted(from, now);
    let state = if now > due {
        TimerState::Breached
    } else if now >= at_risk_at {
        TimerState::AtRisk
    } else {
        TimerState::OnTrack
    };
    let (mut open_until, mut closed_until, mut left_at_close_seconds) = (None, None, None);
    if let Clock::Open(c) = clock {
        match c.open_until(now) {
            Some(close) => {
                open_until = Some(close);
                left_at_close_seconds = Some((left - ms(close - now)).div_euclid(1000));
            }
            None => closed_until = c.next_open(now),
        }
    }
    Some(Timer {
        state,
        target_minutes: target,
        due_at: Some(due),
        remaining_seconds: left.div_euclid(1000),
        at_risk_at: Some(at_risk_at),
        stopped_at: None,
        hours: clock.hours(),
        open_until,
        closed_until,
        left_at_close_seconds,
    })
}

fn stopped(target: u32, hours: Hours, left_ms: i64, due: Timestamp, stop: Timestamp) -> Timer {
    Timer {
        state: if left_ms >= 0 {
            TimerState::Met
        } else {
            TimerState::Missed
        },
        target_minutes: target,
        due_at: Some(due),
        remaining_seconds: left_ms.div_euclid(1000),
        stopped_at: Some(stop),
        at_risk_at: None,
        hours,
        open_until: None,
        closed_until: None,
        left_at_close_seconds: None,
    }
}

/// The first-response timer at `now`.
pub fn first_response(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Timer {
    let c = &ticket.sla_clock;
    match c.first_response_stopped_at {
        None => running(ticket, TimerKind::FirstResponse, policy, now)
            .expect("a first-response timer that has not stopped runs"),
        Some(stop) => {
            let target = first_response_target(ticket, policy);
            match c.first_response_kept {
                Some(kept) => stopped(
                    target,
                    kept.hours,
                    minutes_ms(target) - kept.counted_ms,
                    kept.due_at,
                    stop,
                ),
                // Stopped before outcomes were kept: it counted every moment.
                _ => stopped(
                    target,
                    Hours::Always,
                    minutes_ms(target) - ms(stop - ticket.created_at),
                    ticket.created_at + TimeDelta::milliseconds(minutes_ms(target)),
                    stop,
                ),
            }
        }
    }
}

/// The resolution timer at `now`.
pub fn resolution(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Timer {
    let c = &ticket.sla_clock;
    let target = resolution_target(ticket, policy);
    let Some(halted) = c.resolution_halted_at else {
        return running(ticket, TimerKind::Resolution, policy, now)
            .expect("a resolution timer that has not halted runs");
    };
    if is_stopped(ticket.status) {
        // It stopped when resolved; any wait just before that did not count either.
        let stop = ticket.resolved_at.unwrap_or(halted).max(halted);
        if let Some(kept) = c.resolution_kept {
            return stopped(
                target,
                kept.hours,
                minutes_ms(target) - kept.counted_ms,
                kept.due_at,
                stop,
            );
        }
        // Stopped before outcomes were kept: it counted every moment.
        let (from, before) = anchor(ticket, TimerKind::Resolution, Clock::Always);
        let left = minutes_ms(target) - before - ms(halted - from);
        return stopped(
            target,
            Hours::Always,
            left,
            stop + TimeDelta::milliseconds(left),
            stop,
        );
    }
    let clock = Clock::of(policy, ticket.priority);
    let (from, before) = anchor(ticket, TimerKind::Resolution, clock);
    let left = minutes_ms(target) - before - clock.counted(from, halted);
    Timer {
        state: TimerState::Paused,
        target_minutes: target,
        due_at: None,
        remaining_seconds: left.div_euclid(1000),
        stopped_at: None,
        at_risk_at: None,
        hours: clock.hours(),
        open_until: None,
        closed_until: None,
        left_at_close_seconds: None,
    }
}

/// Both timers and the indicator at `now`.
pub fn evaluate(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Sla {
    let first_response = first_response(ticket, policy, now);
    let resolution = resolution(ticket, policy, now);
    Sla {
        indicator: indicator(&[first_response, resolution]),
        first_response,
        resolution,
    }
}

/// The worst state among running timers; with none running, breached if
/// either was missed, else on track.
pub fn indicator(timers: &[Timer]) -> Indicator {
    let worst_running = timers
        .iter()
        .filter(|t| t.state.is_running())
        .map(|t| match t.state {
            TimerState::Breached => Indicator::Breached,
            TimerState::AtRisk => Indicator::AtRisk,
            _ => Indicator::OnTrack,
        })
        .max();
    match worst_running {
        Some(worst) => worst,
        None if timers.iter().any(|t| t.state == TimerState::Missed) => Indicator::Breached,
        None => Indicator::OnTrack,
    }
}

/// Time the timer has counted up to `now`, in milliseconds (in open hours
/// for a business-hours timer). Never more than the wall time since
/// creation.
pub fn counted_ms(ticket: &Ticket, policy: &SlaPolicy, timer: TimerKind, now: Timestamp) -> i64 {
    let t = match timer {
        TimerKind::FirstResponse => first_response(ticket, policy, now),
        TimerKind::Resolution => resolution(ticket, policy, now),
    };
    let target = minutes_ms(t.target_minutes);
    match t.state {
        TimerState::Met | TimerState::Missed => {
            let c = &ticket.sla_clock;
            let kept = match timer {
                TimerKind::FirstResponse => c.first_response_kept.map(|k| k.counted_ms),
                TimerKind::Resolution => c.resolution_kept.map(|k| k.counted_ms),
            };
            kept.unwrap_or_else(|| target - t.remaining_seconds * 1000)
        }
        _ => {
            let clock = Clock::of(policy, ticket.priority);
            let (from, before) = anchor(ticket, timer, clock);
            let end = match timer {
                TimerKind::FirstResponse => now,
                TimerKind::Resolution => ticket.sla_clock.resolution_halted_at.unwrap_or(now),
            };
            before + clock.counted(from, end)
        }
    }
}

/// For a paused resolution timer: the moment its counted time reached (or
/// will reach, counting on from its last start) the target.
pub fn paused_due(ticket: &Ticket, policy: &SlaPolicy) -> Option<Timestamp> {
    if ticket.sla_clock.resolution_halted_at.is_none() || is_stopped(ticket.status) {
        return None;
    }
    let clock = Clock::of(policy, ticket.priority);
    let (from, before) = anchor(ticket, TimerKind::Resolution, clock);
    let target = minutes_ms(resolution_target(ticket, policy));
    Some(clock.shift(from, target - before))
}

/// The deadlines of the running timers (none for paused or stopped ones).
pub fn deadlines(ticket: &Ticket, policy: &SlaPolicy) -> Vec<Deadline> {
    TimerKind::ALL
        .into_iter()
        .filter_map(|kind| {
            running_moments(ticket, kind, policy).map(|r| Deadline {
                timer: kind,
                target_minutes: r.target,
                due_at: r.due,
                at_risk_at: r.at_risk,
            })
        })
        .collect()
}

/// The earliest running deadlines, for storing and indexing.
pub fn moments(ticket: &Ticket, policy: &SlaPolicy) -> Moments {
    let d = deadlines(ticket, policy);
    Moments {
        due_at: d.iter().map(|d| d.due_at).min(),
        at_risk_at: d.iter().map(|d| d.at_risk_at).min(),
    }
}

/// The next moment after `now` a running timer becomes at risk.
pub fn next_at_risk_moment(
    ticket: &Ticket,
    policy: &SlaPolicy,
    now: Timestamp,
) -> Option<Timestamp> {
    deadlines(ticket, policy)
        .into_iter()
        .map(|d| d.at_risk_at)
        .filter(|m| *m > now)
        .min()
}

/// The next moment after `now` a running timer becomes breached.
pub fn next_breach_moment(
    ticket: &Ticket,
    policy: &SlaPolicy,
    now: Timestamp,
) -> Option<Timestamp> {
    deadlines(ticket, policy)
        .into_iter()
        .map(|d| d.breach_at())
        .filter(|m| *m > now)
        .min()
}

/// Whether the one `sla_breached` entry of the `kind` timer is recorded.
pub fn breach_recorded(ticket: &Ticket, kind: TimerKind) -> bool {
    match kind {
        TimerKind::FirstResponse => ticket.sla_clock.first_response_breach_recorded,
        TimerKind::Resolution => ticket.sla_clock.resolution_breach_recorded,
    }
}

/// The earliest moment a server's sweep has work on `ticket`: a timer's
/// `sla_breached` entry falls due ([`take_new_breaches`] would record it),
/// or the ticket closes on its own (RULES.md "Auto-close"). `None`: nothing
/// will ever fall due (a closed ticket, every breach recorded).
pub fn sweep_at(ticket: &Ticket, settings: &crate::TeamSettings) -> Option<Timestamp> {
    deadlines(ticket, &settings.sla)
        .into_iter()
        .filter(|d| !breach_recorded(ticket, d.timer))
        .map(|d| d.breach_at())
        .chain(crate::auto_close_at(ticket, settings))
        .min()
}

/// Timers seen breached (running past due, or stopped late) at `now` whose
/// one `sla_breached` entry is not yet recorded; marks them recorded.
/// Returns each with the due time it passed.
pub(crate) fn take_new_breaches(
    ticket: &mut Ticket,
    policy: &SlaPolicy,
    now: Timestamp,
) -> Vec<(TimerKind, Timestamp)> {
    let sla = evaluate(ticket, policy, now);
    let mut out = Vec::new();
    for (kind, timer) in [
        (TimerKind::FirstResponse, sla.first_response),
        (TimerKind::Resolution, sla.resolution),
    ] {
        let late = matches!(timer.state, TimerState::Breached | TimerState::Missed);
        if late && !breach_recorded(ticket, kind) {
            match kind {
                TimerKind::FirstResponse => ticket.sla_clock.first_response_breach_recorded = true,
                TimerKind::Resolution => ticket.sla_clock.resolution_breach_recorded = true,
            }
            if let Some(due) = timer.due_at {
                out.push((kind, due));
            }
        }
    }
    out
}

/// Stops the first-response timer at `at` (an agent responded, or the
/// ticket was resolved first). Only the first stop counts; its target,
/// counted time and due moment are kept, so a later priority, policy or
/// calendar change does not rewrite its outcome.
pub(crate) fn stop_first_response(ticket: &mut Ticket, policy: &SlaPolicy, at: Timestamp) {
    if ticket.sla_clock.first_response_stopped_at.is_none() {
        let target = first_response_target(ticket, policy);
        let clock = Clock::of(policy, ticket.priority);
        let counted = clock.counted(ticket.created_at, at);
        let due = clock.shift(ticket.created_at, minutes_ms(target));
        let c = &mut ticket.sla_clock;
        c.first_response_stopped_at = Some(at);
        c.first_response_target_minutes = Some(target);
        c.first_response_kept = Some(Kept {
            counted_ms: counted,
            due_at: due,
            hours: clock.hours(),
        });
    }
}

/// Keeps the resolution clock in step with a status move at `at`.
pub(crate) fn on_status_change(
    ticket: &mut Ticket,
    policy: &SlaPolicy,
    from: Status,
    to: Status,
    at: Timestamp,
) {
    if is_stopped(to) && !is_stopped(from) {
        // Kept as it stands at the stop, before the status moves.
        let target = policy.targets_for(ticket.priority).resolution_minutes;
        let clock = Clock::of(policy, ticket.priority);
        let (anchor_at, before) = anchor(ticket, TimerKind::Resolution, clock);
        let halted = ticket.sla_clock.resolution_halted_at.unwrap_or(at);
        let counted = before + clock.counted(anchor_at, halted);
        let c = &mut ticket.sla_clock;
        c.resolution_target_minutes = Some(target);
        c.resolution_kept = Some(Kept {
            counted_ms: counted,
            due_at: clock.shift(at, minutes_ms(target) - counted),
            hours: clock.hours(),
        });
    }
    let clock = &mut ticket.sla_clock;
    match (resolution_counts_in(from), resolution_counts_in(to)) {
        (true, false) => clock.resolution_halted_at = Some(at),
        (false, true) => {
            if let Some(halted) = clock.resolution_halted_at.take() {
                clock.resolution_excluded_ms += ms(at - halted).max(0);
                if at > halted {
                    clock.resolution_pauses.push(Pause {
                        from: halted,
                        to: at,
                    });
                }
            }
            clock.resolution_target_minutes = None;
            clock.resolution_kept = None;
        }
        _ => {}
    }
}

/// What a new policy or calendar would do to the running tickets now,
/// shown before an admin saves it ("3 tickets become at risk, 1 breached").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PolicyPreview {
    /// Open tickets looked at.
    pub tickets: u32,
    /// Tickets whose indicator turns at risk.
    pub become_at_risk: u32,
    /// Tickets whose indicator turns breached.
    pub become_breached: u32,
    /// Tickets at risk or breached now that turn on track.
    pub become_on_track: u32,
    /// Tickets whose earliest deadline moves.
    pub deadlines_moved: u32,
    /// The preview in words.
    pub summary: String,
}

/// The [`PolicyPreview`] of going from `old` to `new` at `now`.
pub fn preview<'a>(
    tickets: impl IntoIterator<Item = &'a Ticket>,
    old: &SlaPolicy,
    new: &SlaPolicy,
    now: Timestamp,
) -> PolicyPreview {
    let mut p = PolicyPreview::default();
    for t in tickets.into_iter().filter(|t| !t.status.is_done()) {
        p.tickets += 1;
        let (before, after) = (
            evaluate(t, old, now).indicator,
            evaluate(t, new, now).indicator,
        );
        if before != after {
            match after {
                Indicator::AtRisk => p.become_at_risk += 1,
                Indicator::Breached => p.become_breached += 1,
                Indicator::OnTrack => p.become_on_track += 1,
            }
        }
        if moments(t, old).due_at != moments(t, new).due_at {
            p.deadlines_moved += 1;
        }
    }
    let mut parts = Vec::new();
    // "1 ticket becomes", "3 tickets become".
    let count = |n: u32, one: &str, many: &str| {
        if n == 1 {
            format!("1 ticket {one}")
        } else {
            format!("{n} tickets {many}")
        }
    };
    if p.become_at_risk > 0 {
        parts.push(count(p.become_at_risk, "becomes at risk", "become at risk"));
    }
    if p.become_breached > 0 {
        parts.push(if parts.is_empty() {
            count(p.become_breached, "becomes breached", "become breached")
        } else {
            format!("{} breached", p.become_breached)
        });
    }
    if p.become_on_track > 0 {
        parts.push(count(
            p.become_on_track,
            "is back on track",
            "are back on track",
        ));
    }
    p.summary = if parts.is_empty() {
        "No running ticket changes state".to_owned()
    } else {
        parts.join(", ")
    };
    if p.deadlines_moved > 0 {
        p.summary.push_str(&format!(
            "; {}",
            count(
                p.deadlines_moved,
                "gets a new deadline",
                "get a new deadline"
            )
        ));
    }
    p.summary.push('.');
    p
}
