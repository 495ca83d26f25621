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
//! `due_at = created_at + target + time not counted`. A running timer is
//! breached once `now > due_at`, at risk once `due_at - now` is at most
//! `at_risk_fraction × target`, else on track. A stopped timer is met if it
//! stopped at or before its due time, else missed; it keeps the target that
//! was in force when it stopped, so a later priority or policy change does
//! not rewrite its outcome. Running and paused timers always use the current
//! priority and policy, which is how a priority change recomputes both
//! targets from `created_at`.
//!
//! Everything here is a function of the ticket, the policy and a `now` the
//! caller passes in; nothing reads a clock.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::settings::SlaPolicy;
use crate::ticket::{Status, Ticket};

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

fn minutes(m: u32) -> TimeDelta {
    TimeDelta::minutes(i64::from(m))
}

fn ms(d: TimeDelta) -> i64 {
    d.num_milliseconds()
}

/// The resolution timer counts only in these statuses.
pub fn resolution_counts_in(status: Status) -> bool {
    matches!(status, Status::Open | Status::InProgress)
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

fn running(policy: &SlaPolicy, target: u32, due: Timestamp, now: Timestamp) -> Timer {
    let remaining = ms(due - now);
    let state = if remaining < 0 {
        TimerState::Breached
    } else if remaining <= policy.at_risk_threshold_ms(target) {
        TimerState::AtRisk
    } else {
        TimerState::OnTrack
    };
    Timer {
        state,
        target_minutes: target,
        due_at: Some(due),
        remaining_seconds: remaining.div_euclid(1000),
        stopped_at: None,
        at_risk_at: Some(due - TimeDelta::milliseconds(policy.at_risk_threshold_ms(target))),
    }
}

fn stopped(target: u32, due: Timestamp, stop: Timestamp) -> Timer {
    let remaining = ms(due - stop);
    Timer {
        state: if remaining >= 0 {
            TimerState::Met
        } else {
            TimerState::Missed
        },
        target_minutes: target,
        due_at: Some(due),
        remaining_seconds: remaining.div_euclid(1000),
        stopped_at: Some(stop),
        at_risk_at: None,
    }
}

/// The first-response timer at `now`.
pub fn first_response(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Timer {
    let target = first_response_target(ticket, policy);
    let due = ticket.created_at + minutes(target);
    match ticket.sla_clock.first_response_stopped_at {
        Some(stop) => stopped(target, due, stop),
        None => running(policy, target, due, now),
    }
}

/// The resolution timer at `now`.
pub fn resolution(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Timer {
    let clock = &ticket.sla_clock;
    let target = resolution_target(ticket, policy);
    let excluded = TimeDelta::milliseconds(clock.resolution_excluded_ms);
    match (ticket.status, clock.resolution_halted_at) {
        (Status::Resolved | Status::Closed, Some(halted)) => {
            // It stopped when resolved; any wait just before that did not count either.
            let stop = ticket.resolved_at.unwrap_or(halted).max(halted);
            let due = ticket.created_at + minutes(target) + excluded + (stop - halted);
            stopped(target, due, stop)
        }
        (Status::WaitingOnCustomer, Some(halted)) => {
            let counted = ms(halted - ticket.created_at) - clock.resolution_excluded_ms;
            Timer {
                state: TimerState::Paused,
                target_minutes: target,
                due_at: None,
                remaining_seconds: (ms(minutes(target)) - counted).div_euclid(1000),
                stopped_at: None,
                at_risk_at: None,
            }
        }
        _ => running(
            policy,
            target,
            ticket.created_at + minutes(target) + excluded,
            now,
        ),
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

/// Time the timer has counted up to `now`, in milliseconds. Never more than
/// the wall time since creation.
pub fn counted_ms(ticket: &Ticket, timer: TimerKind, now: Timestamp) -> i64 {
    let clock = &ticket.sla_clock;
    match timer {
        TimerKind::FirstResponse => {
            let end = clock.first_response_stopped_at.unwrap_or(now);
            ms(end - ticket.created_at)
        }
        TimerKind::Resolution => {
            let end = clock.resolution_halted_at.unwrap_or(now);
            ms(end - ticket.created_at) - clock.resolution_excluded_ms
        }
    }
}

/// The deadlines of the running timers (none for paused or stopped ones).
pub fn deadlines(ticket: &Ticket, policy: &SlaPolicy) -> Vec<Deadline> {
    let mut out = Vec::with_capacity(2);
    // `now` does not change whether a timer runs nor its due time.
    let now = ticket.created_at;
    for (kind, timer) in [
        (
            TimerKind::FirstResponse,
            first_response(ticket, policy, now),
        ),
        (TimerKind::Resolution, resolution(ticket, policy, now)),
    ] {
        if let (true, Some(due), Some(at_risk_at)) =
            (timer.state.is_running(), timer.due_at, timer.at_risk_at)
        {
            out.push(Deadline {
                timer: kind,
                target_minutes: timer.target_minutes,
                due_at: due,
                at_risk_at,
            });
        }
    }
    out
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
        let recorded = match kind {
            TimerKind::FirstResponse => &mut ticket.sla_clock.first_response_breach_recorded,
            TimerKind::Resolution => &mut ticket.sla_clock.resolution_breach_recorded,
        };
        if late && !*recorded {
            *recorded = true;
            if let Some(due) = timer.due_at {
                out.push((kind, due));
            }
        }
    }
    out
}

/// Stops the first-response timer at `at` (an agent responded, or the
/// ticket was resolved first). Only the first stop counts.
pub(crate) fn stop_first_response(ticket: &mut Ticket, policy: &SlaPolicy, at: Timestamp) {
    if ticket.sla_clock.first_response_stopped_at.is_none() {
        let target = first_response_target(ticket, policy);
        ticket.sla_clock.first_response_stopped_at = Some(at);
        ticket.sla_clock.first_response_target_minutes = Some(target);
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
    let clock = &mut ticket.sla_clock;
    match (resolution_counts_in(from), resolution_counts_in(to)) {
        (true, false) => clock.resolution_halted_at = Some(at),
        (false, true) => {
            if let Some(halted) = clock.resolution_halted_at.take() {
                clock.resolution_excluded_ms += ms(at - halted).max(0);
            }
            clock.resolution_target_minutes = None;
        }
        _ => {}
    }
    if matches!(to, Status::Resolved) && !matches!(from, Status::Resolved | Status::Closed) {
        clock.resolution_target_minutes =
            Some(policy.targets_for(ticket.priority).resolution_minutes);
    }
}
