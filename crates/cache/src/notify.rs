//! Which desktop notifications are due (RULES.md "Notifications on the
//! desktop"), decided from cached facts, and the ledger that makes each one
//! happen at most once across restarts, re-syncs and windows.
//!
//! - Assigned to you: a ticket became yours by someone else's action (a
//!   manual assignment, a conversation claim or an admin's conversation
//!   assignment), never by your own.
//! - At risk, breached: a running timer of one of your tickets entered that
//!   state. One per (ticket, timer, state, due time): a priority change that
//!   moves the deadline can raise a new one; a paused or stopped timer none.
//! - Reply not delivered: one of your replies failed to reach the customer
//!   (once per failure: a retry that fails again raises a new one).
//! - Quiet: inside the agent's quiet hours, or while the desktop says do not
//!   disturb, nothing pops up (the tray still changes); what was held is
//!   told once, in one summary, when the quiet ends. Breaches of urgent
//!   tickets may be let through.

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use fyncall_domain::{Activity, Change, Priority, SlaPolicy, Ticket, TimerKind, Timestamp, sla};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::error::Result;
use crate::events::ChangeSet;
use crate::{Cache, millis};

/// Meta key set by every write of a first download's rows and cleared by
/// the next look for notices, which first records what is already at risk
/// as known (see [`Cache::baseline_notices`]).
const BASELINE_DUE: &str = "notices_baseline_due";

/// Marks that a first download wrote rows: in the transaction that writes
/// them, so no look for notices can see the rows without the mark.
pub(crate) fn baseline_due(conn: &rusqlite::Connection) -> Result<()> {
    crate::set_meta(conn, BASELINE_DUE, "1")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum NoticeKind {
    Assigned,
    AtRisk,
    Breached,
    /// One of the agent's replies could not be delivered.
    ReplyFailed,
    /// Someone mentioned the agent in a comment.
    Mentioned,
    /// What was held while notifications were quiet, told once.
    Summary,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Assigned => "assigned",
            NoticeKind::AtRisk => "at_risk",
            NoticeKind::Breached => "breached",
            NoticeKind::ReplyFailed => "reply_failed",
            NoticeKind::Mentioned => "mentioned",
            NoticeKind::Summary => "summary",
        }
    }
}

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Notice {
    /// The ticket (nil for a summary and a reply's notice).
    pub ticket_id: Uuid,
    /// The reply, for a reply's notice: with the rest, the ledger key.
    pub message_id: Option<Uuid>,
    /// The conversation a reply's notice opens.
    pub conversation_id: Option<Uuid>,
    pub kind: NoticeKind,
    /// The timer, for SLA notices.
    pub timer: Option<TimerKind>,
    /// The deadline (SLA) or the assignment's time: with the rest, the
    /// ledger key.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub moment: Timestamp,
    /// "#1042 at risk: 12 min to first response".
    pub summary: String,
    /// The ticket's subject (and who assigned it).
    pub body: String,
    /// Breaches are critical.
    pub critical: bool,
}

/// Which notifications the agent wants (the settings page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePrefs {
    pub assigned: bool,
    pub at_risk: bool,
    pub breached: bool,
    pub reply_failed: bool,
    /// At-risk alerts per priority.
    pub at_risk_for: Vec<Priority>,
    /// No notifications before this moment ("pause for 1 hour").
    pub paused_until: Option<Timestamp>,
    /// No pop-ups inside these hours.
    pub quiet: Option<QuietHours>,
    /// Breaches of urgent tickets pop up even when quiet.
    pub urgent_breaches_through: bool,
}

/// The agent's quiet hours: local times in their zone; `from` after `to`
/// runs over midnight (22:00–07:00); equal times are never quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuietHours {
    pub from: NaiveTime,
    pub to: NaiveTime,
    pub zone: Tz,
}

impl QuietHours {
    /// Reads "HH:MM" times and an IANA zone; `None` for anything else.
    pub fn parse(from: &str, to: &str, zone: &str) -> Option<QuietHours> {
        Some(QuietHours {
            from: NaiveTime::parse_from_str(from, "%H:%M").ok()?,
            to: NaiveTime::parse_from_str(to, "%H:%M").ok()?,
            zone: zone.parse().ok()?,
        })
    }

    /// The next moment after `now` the quiet hours end.
    pub fn ends_after(&self, now: Timestamp) -> Option<Timestamp> {
        let local = now.with_timezone(&self.zone);
        (0..=2).find_map(|d| {
            let day = local.date_naive() + chrono::Days::new(d);
            let end = chrono::TimeZone::from_local_datetime(&self.zone, &day.and_time(self.to))
                .earliest()?
                .with_timezone(&chrono::Utc);
            (end > now).then_some(end)
        })
    }

    pub fn contains(&self, now: Timestamp) -> bool {
        let t = now.with_timezone(&self.zone).time();
        if self.from <= self.to {
            self.from <= t && t < self.to
        } else {
            t >= self.from || t < self.to
        }
    }
}

impl Default for NoticePrefs {
    fn default() -> Self {
        NoticePrefs {
            assigned: true,
            at_risk: true,
            breached: true,
            reply_failed: true,
            at_risk_for: Priority::ALL.to_vec(),
            paused_until: None,
            quiet: None,
            urgent_breaches_through: false,
        }
    }
}

impl NoticePrefs {
    pub fn allows(&self, notice: &Notice, priority: Priority, now: Timestamp) -> bool {
        if self.paused_until.is_some_and(|p| now < p) {
            return false;
        }
        match notice.kind {
            NoticeKind::Assigned => self.assigned,
            NoticeKind::AtRisk => self.at_risk && self.at_risk_for.contains(&priority),
            NoticeKind::Breached => self.breached,
            NoticeKind::ReplyFailed => self.reply_failed,
            // Someone asked for this agent by name: as an assignment is.
            NoticeKind::Mentioned => self.assigned,
            NoticeKind::Summary => true,
        }
    }

    /// Whether pop-ups are held at `now`: quiet hours, or the desktop's do
    /// not disturb (`inhibited`).
    pub fn is_quiet(&self, now: Timestamp, inhibited: bool) -> bool {
        inhibited || self.quiet.as_ref().is_some_and(|q| q.contains(now))
    }

    /// Whether `notice` pops up even when quiet.
    pub fn breaks_through(&self, notice: &Notice, priority: Priority) -> bool {
        self.urgent_breaches_through
            && notice.kind == NoticeKind::Breached
            && priority == Priority::Urgent
    }
}

/// The one notification that tells what quiet hours held back:
/// "3 tickets turned at risk, 1 breached while notifications were quiet".
pub fn quiet_summary(
    at_risk: u32,
    breached: u32,
    assigned: u32,
    replies_failed: u32,
) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let first = |n: u32, what: &str, parts: &mut Vec<String>| {
        if n == 0 {
            return;
        }
        parts.push(if parts.is_empty() {
            format!("{n} {} {what}", if n == 1 { "ticket" } else { "tickets" })
        } else {
            format!("{n} {what}")
        });
    };
    first(at_risk, "turned at risk", &mut parts);
    first(breached, "breached", &mut parts);
    first(assigned, "assigned to you", &mut parts);
    if replies_failed > 0 {
        parts.push(format!(
            "{replies_failed} {} not delivered",
            if replies_failed == 1 {
                "reply"
            } else {
                "replies"
            }
        ));
    }
    (!parts.is_empty()).then(|| format!("{} while notifications were quiet", parts.join(", ")))
}

fn label(t: &Ticket) -> String {
    t.number
        .map_or_else(|| "New ticket".into(), |n| format!("#{n}"))
}

fn minutes_text(ms: i64) -> String {
    let minutes = (ms.max(0) + 59_999) / 60_000;
    if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

/// SLA notices due for `ticket` at `now` (before the ledger filters them):
/// for each running timer, breached once its due time has passed, else at
/// risk once its at-risk moment has come.
pub fn sla_notices(ticket: &Ticket, policy: &SlaPolicy, now: Timestamp) -> Vec<Notice> {
    let mut out = Vec::new();
    // Time left is counted time: on business hours, a night or a weekend
    // before the due moment does not count.
    let timers = sla::evaluate(ticket, policy, now);
    for d in sla::deadlines(ticket, policy) {
        let left_ms = match d.timer {
            TimerKind::FirstResponse => timers.first_response.remaining_seconds,
            TimerKind::Resolution => timers.resolution.remaining_seconds,
        } * 1000;
        let (kind, text) = if now >= d.breach_at() {
            (
                NoticeKind::Breached,
                format!("{} breached: {} overdue", label(ticket), d.timer.label()),
            )
        } else if now >= d.at_risk_at {
            (
                NoticeKind::AtRisk,
                format!(
                    "{} at risk: {} to {}",
                    label(ticket),
                    minutes_text(left_ms),
                    d.timer.label()
                ),
            )
        } else {
            continue;
        };
        out.push(Notice {
            ticket_id: ticket.id,
            message_id: None,
            conversation_id: None,
            kind,
            timer: Some(d.timer),
            moment: d.due_at,
            summary: text,
            body: ticket.subject.clone(),
            critical: kind == NoticeKind::Breached,
        });
    }
    out
}

/// "Assigned to you" notices in what a sync brought: tickets now assigned
/// to `me` whose assignment entry names someone else (or no one: the
/// system). Local actions and first downloads carry no entries, so they
/// raise none.
pub fn assignment_notices(
    changes: &ChangeSet,
    me: Uuid,
    names: impl Fn(Uuid) -> String,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for c in &changes.tickets {
        let Some(after) = &c.after else { continue };
        let was_mine = c.before.as_ref().is_some_and(|b| b.assignee_id == Some(me));
        if after.assignee_id != Some(me) || was_mine {
            continue;
        }
        let entry: Option<&Activity> = changes.activity.iter().rev().find(|a| {
            a.ticket_id == after.id
                && matches!(&a.change, Change::Assigned { to, .. } if *to == Some(me))
        });
        let Some(entry) = entry else { continue };
        if entry.actor.agent_id == Some(me) {
            continue;
        }
        let by = entry
            .actor
            .agent_id
            .map_or_else(|| "the system".to_owned(), &names);
        out.push(Notice {
            ticket_id: after.id,
            message_id: None,
            conversation_id: None,
            kind: NoticeKind::Assigned,
            timer: None,
            moment: entry.at,
            summary: format!("{} assigned to you", label(after)),
            body: format!("{} (by {by})", after.subject),
            critical: false,
        });
    }
    out
}

/// "Dana mentioned you on #1042" notices in what a sync brought: comments
/// by someone else that name `me`. `ticket` gives a ticket's number and
/// subject. Local actions and first downloads carry no entries, so they
/// raise none.
pub fn mention_notices(
    changes: &ChangeSet,
    me: Uuid,
    names: impl Fn(Uuid) -> String,
    ticket: impl Fn(Uuid) -> Option<(Option<i64>, String)>,
) -> Vec<Notice> {
    let mut out = Vec::new();
    for a in &changes.activity {
        let Change::Comment {
            body, mention_ids, ..
        } = &a.change
        else {
            continue;
        };
        if !mention_ids.contains(&me) || a.actor.agent_id == Some(me) {
            continue;
        }
        let by = a
            .actor
            .agent_id
            .map_or_else(|| "Someone".to_owned(), &names);
        let (number, subject) = ticket(a.ticket_id).unwrap_or((None, String::new()));
        let on = number.map_or_else(|| "a ticket".to_owned(), |n| format!("#{n}"));
        let excerpt: String = body.chars().take(120).collect();
        out.push(Notice {
            ticket_id: a.ticket_id,
            message_id: None,
            conversation_id: None,
            kind: NoticeKind::Mentioned,
            timer: None,
            moment: a.at,
            summary: format!("{by} mentioned you on {on}"),
            body: if subject.is_empty() {
                excerpt
            } else {
                format!("{subject}: {excerpt}")
            },
            critical: false,
        });
    }
    out
}

/// "Your reply could not be delivered" notices in what a sync brought:
/// replies by `me` whose delivery failed. `customer` names a
/// conversation's customer. The failure's last attempt is the moment, so
/// a retry that fails again is told again.
pub fn reply_notices(
    changes: &ChangeSet,
    me: Uuid,
    customer: impl Fn(Uuid) -> Option<String>,
) -> Vec<Notice> {
    let mut out: Vec<Notice> = Vec::new();
    for m in &changes.failed_replies {
        let Some(d) = &m.delivery else { continue };
        if m.agent_id != Some(me) || d.state != fyncall_domain::DeliveryState::Failed {
            continue;
        }
        if out.iter().any(|n| n.message_id == Some(m.id)) {
            continue;
        }
        let to = customer(m.conversation_id).unwrap_or_else(|| "the customer".to_owned());
        let why = d.reason.as_deref().unwrap_or("the channel gave no reason");
        let excerpt: String = m.body.chars().take(80).collect();
        out.push(Notice {
            ticket_id: Uuid::nil(),
            message_id: Some(m.id),
            conversation_id: Some(m.conversation_id),
            kind: NoticeKind::ReplyFailed,
            timer: None,
            moment: d.last_attempt_at.unwrap_or(m.sent_at),
            summary: format!("Your reply to {to} could not be delivered: {why}"),
            body: excerpt,
            critical: false,
        });
    }
    out
}

impl Cache {
    /// Records a notice in the ledger; `true` when it was not there yet
    /// (show it), `false` when it was already shown.
    pub fn record_notice(&self, n: &Notice, now: Timestamp) -> Result<bool> {
        let added = self.conn.execute(
            "INSERT OR IGNORE INTO notification_ledger (ticket_id, kind, timer, due_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                n.message_id.unwrap_or(n.ticket_id).to_string(),
                n.kind.as_str(),
                n.timer.map(|t| t.as_str()).unwrap_or(""),
                millis(n.moment),
                millis(now)
            ],
        )?;
        Ok(added > 0)
    }

    /// The agent's notification switches.
    pub fn notice_prefs(&self) -> Result<NoticePrefs> {
        let on =
            |key: &str| -> Result<bool> { Ok(self.preference(key)?.as_deref() != Some("off")) };
        let mut prefs = NoticePrefs {
            assigned: on("notify.assigned")?,
            at_risk: on("notify.at_risk")?,
            breached: on("notify.breached")?,
            reply_failed: on("notify.reply_failed")?,
            at_risk_for: Vec::new(),
            paused_until: self
                .preference("notify.paused_until")?
                .and_then(|t| t.parse::<i64>().ok())
                .map(crate::from_millis),
            quiet: match (
                self.preference("notify.quiet.from")?,
                self.preference("notify.quiet.to")?,
                self.preference("notify.quiet.zone")?,
            ) {
                (Some(from), Some(to), Some(zone)) => QuietHours::parse(&from, &to, &zone),
                _ => None,
            },
            urgent_breaches_through: self.preference("notify.quiet.urgent_breaches")?.as_deref()
                == Some("on"),
        };
        for p in Priority::ALL {
            if on(&format!("notify.at_risk.{}", p.as_str()))? {
                prefs.at_risk_for.push(p);
            }
        }
        Ok(prefs)
    }

    /// Ends a pause now.
    pub fn resume_notices(&self) -> Result<()> {
        self.set_preference("notify.paused_until", "0")
    }

    /// Pauses notifications for `minutes` from `local_now`.
    pub fn pause_notices(&self, local_now: Timestamp, minutes: i64) -> Result<()> {
        let until = self.server_now(local_now)? + TimeDelta::minutes(minutes);
        self.set_preference("notify.paused_until", &millis(until).to_string())
    }

    /// The notifications due now (server time from `local_now`) that the
    /// ledger has not seen and the agent wants, recording them as sent.
    /// `assigned` are the assignment and reply notices of the latest sync.
    pub fn take_notices(&self, assigned: Vec<Notice>, local_now: Timestamp) -> Result<Vec<Notice>> {
        self.due_notices(assigned, local_now, false)
    }

    /// [`Cache::take_notices`] on a desktop that may say do not disturb
    /// (`inhibited`): while quiet, notices are recorded and counted, not
    /// returned; the first call after the quiet returns one summary of them.
    pub fn due_notices(
        &self,
        assigned: Vec<Notice>,
        local_now: Timestamp,
        inhibited: bool,
    ) -> Result<Vec<Notice>> {
        let now = self.server_now(local_now)?;
        let prefs = self.notice_prefs()?;
        let settings = self.settings()?;
        let me = match self.me()? {
            Some(me) => me,
            None => return Ok(Vec::new()),
        };
        if crate::meta(&self.conn, BASELINE_DUE)?.is_some() {
            // Rows of a first download came since the last look: what was
            // already at risk then is not news.
            self.baseline_notices(local_now)?;
            self.conn
                .execute("DELETE FROM meta WHERE key = ?1", [BASELINE_DUE])?;
        }
        let mut candidates: Vec<(Notice, Priority)> = Vec::new();
        for n in assigned {
            if n.kind == NoticeKind::ReplyFailed {
                candidates.push((n, Priority::Normal));
                continue;
            }
            if let Some((t, _)) = crate::rows::visible_ticket(&self.conn, n.ticket_id)? {
                if t.assignee_id == Some(me) {
                    candidates.push((n, t.priority));
                }
            }
        }
        for t in self.my_tickets_at_risk(me, now)? {
            for n in sla_notices(&t, &settings.sla, now) {
                candidates.push((n, t.priority));
            }
        }
        // Quiet is read on the agent's own clock: it is their night.
        let quiet = prefs.is_quiet(local_now, inhibited);
        let mut held = [0u32; 4];
        let mut out = Vec::new();
        for (n, priority) in candidates {
            // A breach already seen makes its at-risk notice moot.
            if n.kind == NoticeKind::AtRisk
                && self.ledger_has(n.ticket_id, NoticeKind::Breached, n.timer, n.moment)?
            {
                continue;
            }
            if !prefs.allows(&n, priority, now) {
                // Not wanted now: remember it anyway, so unpausing does not
                // replay a backlog of stale alerts.
                self.record_notice(&n, now)?;
                continue;
            }
            if !self.record_notice(&n, now)? {
                continue;
            }
            if quiet && !prefs.breaks_through(&n, priority) {
                held[match n.kind {
                    NoticeKind::AtRisk => 0,
                    NoticeKind::Breached => 1,
                    NoticeKind::ReplyFailed => 3,
                    _ => 2,
                }] += 1;
            } else {
                out.push(n);
            }
        }
        const HELD: [&str; 4] = [
            "notify.held.at_risk",
            "notify.held.breached",
            "notify.held.assigned",
            "notify.held.reply_failed",
        ];
        let mut total = [0u32; 4];
        for (i, key) in HELD.iter().enumerate() {
            let before: u32 = self
                .preference(key)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            total[i] = before + held[i];
        }
        if quiet {
            for (i, key) in HELD.iter().enumerate() {
                if held[i] > 0 {
                    self.set_preference(key, &total[i].to_string())?;
                }
            }
        } else if let Some(text) = quiet_summary(total[0], total[1], total[2], total[3]) {
            for key in HELD {
                self.set_preference(key, "0")?;
            }
            out.insert(
                0,
                Notice {
                    ticket_id: Uuid::nil(),
                    message_id: None,
                    conversation_id: None,
                    kind: NoticeKind::Summary,
                    timer: None,
                    moment: now,
                    summary: text,
                    body: "The tray and SLA At Risk show them.".into(),
                    critical: false,
                },
            );
        }
        Ok(out)
    }

    /// Records every SLA notice due now as already shown, without showing
    /// any: after a first download, tickets that were at risk or breached
    /// before this device knew them did not just enter that state.
    /// [`Cache::due_notices`] does it by itself when a first download's
    /// rows came since it last looked.
    pub fn baseline_notices(&self, local_now: Timestamp) -> Result<usize> {
        let now = self.server_now(local_now)?;
        let settings = self.settings()?;
        let Some(me) = self.me()? else {
            return Ok(0);
        };
        let mut recorded = 0;
        for t in self.my_tickets_at_risk(me, now)? {
            for n in sla_notices(&t, &settings.sla, now) {
                if self.record_notice(&n, now)? {
                    recorded += 1;
                }
            }
        }
        Ok(recorded)
    }

    /// The agent's open tickets with a timer at risk or breached at `now`
    /// (served by the stored at-risk moments).
    fn my_tickets_at_risk(&self, me: Uuid, now: Timestamp) -> Result<Vec<Ticket>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT data FROM tickets WHERE assignee_id = ?1 AND open = 1 AND at_risk_at <= ?2",
        )?;
        let rows = stmt.query_map(params![me.to_string(), millis(now)], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    fn ledger_has(
        &self,
        ticket: Uuid,
        kind: NoticeKind,
        timer: Option<TimerKind>,
        moment: Timestamp,
    ) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM notification_ledger
             WHERE ticket_id = ?1 AND kind = ?2 AND timer = ?3 AND due_at = ?4)",
            params![
                ticket.to_string(),
                kind.as_str(),
                timer.map(|t| t.as_str()).unwrap_or(""),
                millis(moment)
            ],
            |r| r.get(0),
        )?)
    }

    /// How long the alert scheduler may sleep from `local_now`: until the
    /// earliest next at-risk or breach moment of the agent's tickets (server
    /// time, offset applied), and never more than `cap`, so a clock that
    /// jumps (suspend, resume) is caught up within `cap`.
    pub fn next_wake(
        &self,
        local_now: Timestamp,
        cap: std::time::Duration,
    ) -> Result<std::time::Duration> {
        let now = self.server_now(local_now)?;
        let mut wake = match self.next_my_moment(now)? {
            Some(at) => (at - now).to_std().unwrap_or_default().min(cap),
            None => cap,
        };
        // The end of quiet hours, on the agent's clock: its summary is due then.
        if let Some(q) = self.notice_prefs()?.quiet.filter(|q| q.contains(local_now)) {
            if let Some(end) = q.ends_after(local_now) {
                wake = wake.min((end - local_now).to_std().unwrap_or_default());
            }
        }
        Ok(wake)
    }

    /// The tray: how many of the agent's tickets are at risk and breached
    /// now, and the most urgent ones (earliest due first).
    pub fn tray(&self, local_now: Timestamp, top: u32) -> Result<TraySummary> {
        let now = self.server_now(local_now)?;
        let settings = self.settings()?;
        let me = match self.me()? {
            Some(me) => me,
            None => return Ok(TraySummary::default()),
        };
        let mut summary = TraySummary {
            paused_until: self.notice_prefs()?.paused_until.filter(|p| *p > now),
            ..TraySummary::default()
        };
        for t in self.my_tickets_at_risk(me, now)? {
            match sla::evaluate(&t, &settings.sla, now).indicator {
                fyncall_domain::Indicator::Breached => summary.breached += 1,
                fyncall_domain::Indicator::AtRisk => summary.at_risk += 1,
                fyncall_domain::Indicator::OnTrack => {}
            }
        }
        for t in self.my_deadlines(top)? {
            // Counted time left of its running timer due first (business
            // hours count only open time).
            let timers = sla::evaluate(&t, &settings.sla, now);
            let seconds_left = [timers.first_response, timers.resolution]
                .into_iter()
                .filter(|x| x.state.is_running())
                .min_by_key(|x| x.due_at)
                .map(|x| x.remaining_seconds);
            summary.urgent.push(TrayTicket {
                id: t.id,
                label: label(&t),
                subject: t.subject.clone(),
                seconds_left,
            });
        }
        Ok(summary)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TraySummary {
    pub at_risk: u32,
    pub breached: u32,
    pub urgent: Vec<TrayTicket>,
    /// Notifications are paused until then ("Pause for 1 hour").
    pub paused_until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrayTicket {
    pub id: Uuid,
    pub label: String,
    pub subject: String,
    pub seconds_left: Option<i64>,
}
