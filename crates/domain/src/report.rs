//! SLA compliance (RULES.md "SLA compliance"): one function computes the
//! report from tickets and their assignment history, so the server's report
//! and the desktop's offline report give the same numbers for the same data.
//!
//! For a period `[from, to)` and each timer kind, a ticket's timer counts
//! once, in the period where its outcome became known: `met` at its stop
//! moment, `missed` at its due moment (stopped since or still running; a
//! resolution timer paused past its target missed at the moment its counted
//! time reached the target). Running timers not yet due count nowhere.
//! Median and 90th percentile (nearest rank) of counted time are over the
//! timers that stopped in the period, grouped as of their stop moment.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::activity::{Activity, Change};
use crate::agent::Agent;
use crate::settings::TeamSettings;
use crate::sla::{self, TimerKind};
use crate::ticket::{Priority, Ticket};

/// How the report's rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Agent,
    Priority,
    Category,
    Day,
    Week,
    Month,
}

impl GroupBy {
    pub const ALL: [GroupBy; 6] = [
        GroupBy::Agent,
        GroupBy::Priority,
        GroupBy::Category,
        GroupBy::Day,
        GroupBy::Week,
        GroupBy::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Agent => "agent",
            GroupBy::Priority => "priority",
            GroupBy::Category => "category",
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == text)
    }

    fn is_time(self) -> bool {
        matches!(self, GroupBy::Day | GroupBy::Week | GroupBy::Month)
    }
}

/// A report's period and grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ReportQuery {
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub from: Timestamp,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub to: Timestamp,
    pub group_by: GroupBy,
}

/// Who a ticket was assigned to from a moment on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub at: Timestamp,
    pub to: Option<Uuid>,
}

/// A ticket with its assignment history, oldest first.
#[derive(Debug, Clone)]
pub struct ReportTicket {
    pub ticket: Ticket,
    pub assignments: Vec<Assignment>,
}

/// The assignment history in a ticket's timeline (its creation and every
/// assignment), oldest first.
pub fn assignments<'a>(entries: impl IntoIterator<Item = &'a Activity>) -> Vec<Assignment> {
    let mut out: Vec<Assignment> = entries
        .into_iter()
        .filter_map(|e| match &e.change {
            Change::Created { assignee_id, .. } => Some(Assignment {
                at: e.at,
                to: *assignee_id,
            }),
            Change::Assigned { to, .. } => Some(Assignment { at: e.at, to: *to }),
            _ => None,
        })
        .collect();
    out.sort_by_key(|a| a.at);
    out
}

/// Tickets with their assignment histories, from the tickets and any of
/// their timeline entries (entries other than creation and assignment are
/// passed over).
pub fn gather(
    tickets: impl IntoIterator<Item = Ticket>,
    entries: impl IntoIterator<Item = Activity>,
) -> Vec<ReportTicket> {
    let mut history: std::collections::HashMap<Uuid, Vec<Activity>> = Default::default();
    for e in entries {
        history.entry(e.ticket_id).or_default().push(e);
    }
    tickets
        .into_iter()
        .map(|ticket| {
            let assignments = assignments(history.get(&ticket.id).into_iter().flatten());
            ReportTicket {
                ticket,
                assignments,
            }
        })
        .collect()
}

/// One timer kind's numbers in a group.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compliance {
    pub met: u32,
    pub missed: u32,
    /// met / (met + missed) to four decimals; `None` when nothing counted
    /// (shown as "–").
    pub rate: Option<f64>,
    /// Counted time to the stop, over the timers that stopped in the period.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportGroup {
    /// An agent id or `unassigned`; a priority; a category or `none`; the
    /// first day of a day, week (Monday) or month as `YYYY-MM-DD`.
    pub key: String,
    /// The key as a person reads it ("Alice Moreau", "Week of 30 Nov 2026").
    pub label: String,
    pub first_response: Compliance,
    pub resolution: Compliance,
}

/// API.md `GET /reports/sla`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaReport {
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: Timestamp,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: Timestamp,
    pub group_by: GroupBy,
    /// The zone days, weeks and months are read in.
    pub time_zone: String,
    pub groups: Vec<ReportGroup>,
    pub total: ReportGroup,
    /// Set on a desktop's report whose period reaches past its working set:
    /// the outcomes it counts are those known since this moment (what the
    /// desktop keeps); the server's report covers the whole period. Absent:
    /// the whole period is counted.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::wire::millis_opt"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string | null", optional))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub covers_since: Option<Timestamp>,
}

/// What happened to one timer, as the report reads it.
struct Outcome {
    met: bool,
    /// When the outcome became known.
    at: Timestamp,
    /// For a stopped timer: its stop and the counted time to it.
    stop: Option<(Timestamp, i64)>,
}

fn outcome(
    ticket: &Ticket,
    settings: &TeamSettings,
    kind: TimerKind,
    now: Timestamp,
) -> Option<Outcome> {
    let policy = &settings.sla;
    let timer = match kind {
        TimerKind::FirstResponse => sla::first_response(ticket, policy, now),
        TimerKind::Resolution => sla::resolution(ticket, policy, now),
    };
    let stop = timer
        .stopped_at
        .map(|s| (s, sla::counted_ms(ticket, policy, kind, now)));
    use crate::sla::TimerState::*;
    let (met, at) = match timer.state {
        Met => (true, timer.stopped_at?),
        Missed | Breached => (false, timer.due_at?),
        Paused if timer.remaining_seconds < 0 => (false, sla::paused_due(ticket, policy)?),
        _ => return None,
    };
    if !met && at > now {
        return None;
    }
    Some(Outcome { met, at, stop })
}

/// Whether a report of `[from, to)` must read `ticket` ([`candidates_sql`]
/// in Rust: the property tests hold the two to the whole team's answer).
pub fn candidate(ticket: &Ticket, from: Timestamp, to: Timestamp) -> bool {
    use crate::ticket::Status;
    ticket.created_at < to
        && (ticket.updated_at >= from
            || !matches!(ticket.status, Status::Resolved | Status::Closed))
}

/// The tickets a report of `[from, to)` must read, as SQL over stored
/// columns (`status`, `created_at`, `updated_at`, and the parameters
/// `from` and `to`, in the store's time form): created before `to`, and
/// changed since `from` or with a timer still running. Every other ticket's
/// outcomes were known before `from`: a met is known at its stop, which
/// changes the ticket; a miss at its due moment, and a ticket whose timer
/// was missed in the period and stopped since was changed by that stop, or
/// it still runs. So a month's report reads the month's tickets and the
/// running ones, not the team's whole history.
pub fn candidates_sql(
    status: &str,
    created_at: &str,
    updated_at: &str,
    from: &str,
    to: &str,
) -> String {
    use crate::ticket::Status;
    let running: Vec<String> = Status::ALL
        .iter()
        .filter(|s| !matches!(s, Status::Resolved | Status::Closed))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "{created_at} < {to} AND ({updated_at} >= {from} OR {status} IN ({}))",
        running.join(", ")
    )
}

/// The zone days, weeks and months are read in: the calendar's, else UTC.
pub fn report_zone(settings: &TeamSettings) -> Tz {
    settings
        .sla
        .calendar
        .as_ref()
        .map(|c| c.time_zone)
        .unwrap_or(Tz::UTC)
}

/// A report time as API.md takes it: an RFC 3339 time, or a plain date
/// (`YYYY-MM-DD`), which is its 00:00 in `zone`.
pub fn parse_when(text: &str, zone: Tz) -> Result<Timestamp, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        format!("{text:?} is not a time: write a date (2026-11-30) or an RFC 3339 time (2026-11-30T09:00:00Z)")
    })?;
    Ok(midnight(zone, day))
}

fn midnight(zone: Tz, day: NaiveDate) -> Timestamp {
    let local = day.and_time(NaiveTime::MIN);
    // A midnight skipped by a clock change starts the day at its first instant.
    (0..180)
        .find_map(|m| {
            zone.from_local_datetime(&(local + Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// The first day of the period of `by` holding `day`.
fn period_start(by: GroupBy, day: NaiveDate) -> NaiveDate {
    match by {
        GroupBy::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        GroupBy::Month => day.with_day(1).unwrap_or(day),
        _ => day,
    }
}

fn next_period(by: GroupBy, start: NaiveDate) -> NaiveDate {
    match by {
        GroupBy::Week => start + Duration::days(7),
        GroupBy::Month => start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(start + Duration::days(31)),
        _ => start + Duration::days(1),
    }
}

fn period_label(by: GroupBy, start: NaiveDate) -> String {
    match by {
        GroupBy::Week => format!("Week of {}", start.format("%-d %b %Y")),
        GroupBy::Month => start.format("%B %Y").to_string(),
        _ => start.format("%a %-d %b %Y").to_string(),
    }
}

fn priority_label(p: Priority) -> String {
    let s = p.as_str();
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The assignee as of `at` (the latest assignment at or before it).
fn assignee_at(t: &ReportTicket, at: Timestamp) -> Option<Uuid> {
    match t.assignments.iter().rev().find(|a| a.at <= at) {
        Some(a) => a.to,
        None => t
            .assignments
            .first()
            .map(|a| a.to)
            .unwrap_or(t.ticket.assignee_id),
    }
}

/// Nearest-rank percentile `p` (0 < p ≤ 1) of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

#[derive(Default)]
struct Tally {
    met: u32,
    missed: u32,
    stopped: Vec<i64>,
}

impl Tally {
    fn compliance(&mut self) -> Compliance {
        self.stopped.sort_unstable();
        let counted = self.met + self.missed;
        Compliance {
            met: self.met,
            missed: self.missed,
            // Four decimals (0.01 %): what anyone reads, and exact through JSON.
            rate: (counted > 0)
                .then(|| (f64::from(self.met) / f64::from(counted) * 1e4).round() / 1e4),
            median_seconds: percentile(&self.stopped, 0.5),
            p90_seconds: percentile(&self.stopped, 0.9),
        }
    }
}

/// The SLA compliance report of `tickets` for `query`, at `now`.
pub fn sla_report(
    tickets: &[ReportTicket],
    settings: &TeamSettings,
    agents: &[Agent],
    query: &ReportQuery,
    now: Timestamp,
) -> SlaReport {
    let zone = report_zone(settings);
    let by = query.group_by;
    let key_of = |t: &ReportTicket, at: Timestamp| -> String {
        match by {
            GroupBy::Agent => assignee_at(t, at)
                .map(|a| a.to_string())
                .unwrap_or_else(|| "unassigned".into()),
            GroupBy::Priority => t.ticket.priority.as_str().to_owned(),
            GroupBy::Category => t.ticket.category.clone().unwrap_or_else(|| "none".into()),
            GroupBy::Day | GroupBy::Week | GroupBy::Month => {
                period_start(by, at.with_timezone(&zone).date_naive()).to_string()
            }
        }
    };
    let in_period = |at: Timestamp| query.from <= at && at < query.to;
    // Two tallies (first response, resolution) per key, and the total.
    let mut groups: BTreeMap<String, [Tally; 2]> = BTreeMap::new();
    let mut total: [Tally; 2] = Default::default();
    for t in tickets.iter().filter(|t| t.ticket.created_at < query.to) {
        for (i, kind) in TimerKind::ALL.into_iter().enumerate() {
            let Some(o) = outcome(&t.ticket, settings, kind, now) else {
                continue;
            };
            if in_period(o.at) {
                let tally = &mut groups.entry(key_of(t, o.at)).or_default()[i];
                for tally in [tally, &mut total[i]] {
                    if o.met {
                        tally.met += 1;
                    } else {
                        tally.missed += 1;
                    }
                }
            }
            if let Some((stop, counted_ms)) = o.stop.filter(|(s, _)| in_period(*s)) {
                let seconds = counted_ms.div_euclid(1000);
                groups.entry(key_of(t, stop)).or_default()[i]
                    .stopped
                    .push(seconds);
                total[i].stopped.push(seconds);
            }
        }
    }
    // Every day, week or month of the period is a row, empty or not.
    if by.is_time() && query.from < query.to {
        let last = (query.to - Duration::milliseconds(1))
            .with_timezone(&zone)
            .date_naive();
        let mut day = period_start(by, query.from.with_timezone(&zone).date_naive());
        let mut guard = 0;
        while day <= last && guard < 20_000 {
            groups.entry(day.to_string()).or_default();
            day = next_period(by, day);
            guard += 1;
        }
    }
    let label = |key: &str| -> String {
        match by {
            GroupBy::Agent => match Uuid::parse_str(key) {
                Ok(id) => agents
                    .iter()
                    .find(|a| a.id == id)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| key.to_owned()),
                Err(_) => "Unassigned".into(),
            },
            GroupBy::Priority => Priority::parse(key)
                .map(priority_label)
                .unwrap_or_else(|| key.to_owned()),
            GroupBy::Category if key == "none" => "No category".into(),
            GroupBy::Category => key.to_owned(),
            _ => NaiveDate::parse_from_str(key, "%Y-%m-%d")
                .map(|d| period_label(by, d))
                .unwrap_or_else(|_| key.to_owned()),
        }
    };
    let mut rows: Vec<ReportGroup> = groups
        .into_iter()
        .map(|(key, [mut fr, mut res])| ReportGroup {
            label: label(&key),
            first_response: fr.compliance(),
            resolution: res.compliance(),
            key,
        })
        .collect();
    // Time keys sort as dates already; priorities most urgent first; agents
    // and categories by name, the unassigned / uncategorised row last.
    match by {
        GroupBy::Priority => {
            rows.sort_by_key(|r| Priority::parse(&r.key).map(|p| p.rank()).unwrap_or(u8::MAX))
        }
        GroupBy::Agent | GroupBy::Category => rows.sort_by(|a, b| {
            let last = |r: &ReportGroup| r.key == "unassigned" || r.key == "none";
            (last(a), a.label.to_lowercase()).cmp(&(last(b), b.label.to_lowercase()))
        }),
        _ => {}
    }
    let [mut fr, mut res] = total;
    SlaReport {
        from: query.from,
        to: query.to,
        group_by: by,
        time_zone: zone.name().to_owned(),
        groups: rows,
        total: ReportGroup {
            key: "total".into(),
            label: "Total".into(),
            first_response: fr.compliance(),
            resolution: res.compliance(),
        },
        covers_since: None,
    }
}

impl SlaReport {
    /// The name its CSV is saved under: `sla-2026-03-02-2026-03-16-by-week.csv`.
    pub fn file_name(&self) -> String {
        format!(
            "sla-{}-{}-by-{}.csv",
            self.from.format("%Y-%m-%d"),
            self.to.format("%Y-%m-%d"),
            self.group_by.as_str()
        )
    }

    /// The report as CSV: a header, one line per group, then the total. A
    /// text cell (a group's key and label: agents' and categories' names)
    /// that a spreadsheet would run as a formula is quoted ([`csv_text`]).
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["key".to_owned(), "label".to_owned()];
        for kind in TimerKind::ALL {
            for col in ["met", "missed", "rate", "median_seconds", "p90_seconds"] {
                header.push(format!("{}_{col}", kind.as_str()));
            }
        }
        // Writing to memory fails only on a broken invariant of the writer.
        let _ = w.write_record(&header);
        let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        for g in self.groups.iter().chain(std::iter::once(&self.total)) {
            let mut record = vec![csv_text(&g.key), csv_text(&g.label)];
            for c in [&g.first_response, &g.resolution] {
                record.push(c.met.to_string());
                record.push(c.missed.to_string());
                record.push(c.rate.map(|r| format!("{r:.4}")).unwrap_or_default());
                record.push(opt(c.median_seconds));
                record.push(opt(c.p90_seconds));
            }
            let _ = w.write_record(&record);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A text cell of a CSV as a spreadsheet must not run it: one starting with
/// `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's
/// CSV injection defence), so an agent named "=HYPERLINK(...)" stays a name.
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}
