//! Human-readable output.

use std::collections::HashMap;

use fyncall_cache::{Cache, ConversationDetail, OutboxEntry, Page, Problem, TicketDetail};
use fyncall_domain::{Timer, TimerState, Timestamp, View};
use uuid::Uuid;

use crate::Failure;

fn names(cache: &Cache) -> Result<HashMap<Uuid, String>, Failure> {
    Ok(cache
        .agents()?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect())
}

fn cut(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:width$}")
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// "12m 05s", "2h 03m", "3d 4h".
pub fn span(seconds: i64) -> String {
    let s = seconds.abs();
    if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d {}h", s / 86_400, (s % 86_400) / 3600)
    }
}

fn timer_text(t: &Timer) -> String {
    match t.state {
        TimerState::OnTrack => format!("on track, {} left", span(t.remaining_seconds)),
        TimerState::AtRisk => format!("AT RISK, {} left", span(t.remaining_seconds)),
        TimerState::Breached => format!("BREACHED {} ago", span(t.remaining_seconds)),
        TimerState::Paused => format!("paused, {} left", span(t.remaining_seconds)),
        TimerState::Met => "met".into(),
        TimerState::Missed => "missed".into(),
    }
}

fn label(number: Option<i64>) -> String {
    number.map_or_else(|| "(new)".into(), |n| format!("#{n}"))
}

fn when(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

pub fn tickets(cache: &Cache, page: &Page, view: View, now: Timestamp) -> Result<(), Failure> {
    titled(cache, page, view.title(), now)
}

/// A page of tickets under `title`.
pub fn titled(cache: &Cache, page: &Page, title: &str, _now: Timestamp) -> Result<(), Failure> {
    let names = names(cache)?;
    match page.total {
        Some(n) => println!("{title} — {n} ticket(s)"),
        None => println!("{title}"),
    }
    println!(
        "  {:<7} {:<40} {:<20} {:<7} {:<16} {:<10} {:<26} UPDATED",
        "#", "SUBJECT", "STATUS", "PRIO", "ASSIGNEE", "CATEGORY", "SLA"
    );
    for row in &page.tickets {
        let t = &row.ticket;
        let sla = [&row.sla.first_response, &row.sla.resolution]
            .into_iter()
            .filter(|t| t.state.is_running())
            .min_by_key(|t| t.remaining_seconds)
            .map_or_else(|| "—".to_owned(), timer_text);
        println!(
            "{} {:<7} {} {:<20} {:<7} {} {:<10} {} {}",
            if row.pending { "*" } else { " " },
            label(t.number),
            cut(&t.subject, 40),
            t.status.as_str(),
            t.priority.as_str(),
            cut(
                &t.assignee_id
                    .map(|a| names.get(&a).cloned().unwrap_or_else(|| a.to_string()))
                    .unwrap_or_else(|| "—".into()),
                16
            ),
            t.category.as_deref().unwrap_or("—"),
            cut(&sla, 26),
            when(t.updated_at),
        );
    }
    if page.tickets.iter().any(|r| r.pending) {
        println!("* not yet synced");
    }
    if let Some(c) = &page.next_cursor {
        println!("more: --cursor '{c}'");
    }
    Ok(())
}

/// The macros the agent may use.
pub fn macros(list: &[fyncall_domain::macros::Macro]) {
    if list.is_empty() {
        println!(
            "No macros yet: an admin keeps the team's; anyone may keep their own (in the app)."
        );
        return;
    }
    for m in list {
        let scope = match m.scope {
            fyncall_domain::macros::MacroScope::Team => "team",
            fyncall_domain::macros::MacroScope::Personal => "mine",
        };
        println!(
            "  {:<40} {scope:<5} {} action(s){}",
            m.name,
            m.actions.len(),
            if m.text.is_some() { " + text" } else { "" }
        );
    }
}

/// A macro's preview: the text filled in, each step allowed or refused.
pub fn macro_preview(m: &fyncall_domain::macros::Macro, p: &fyncall_domain::macros::Preview) {
    println!("{}", m.name);
    if let Some(text) = &p.text {
        println!("  text: {text}");
    }
    for s in &p.actions {
        match &s.refusal {
            None => println!("  ✓ {} {}", s.kind, s.value),
            Some(r) => println!("  ✗ {} {}: {}", s.kind, s.value, r.message),
        }
    }
}

/// The agent's mentions, unread ones marked.
pub fn mentions(cache: &Cache, list: &fyncall_cache::mentions::Mentions) -> Result<(), Failure> {
    let names = names(cache)?;
    println!("Mentions — {} unread", list.unread);
    if list.items.is_empty() {
        println!("  Nobody has mentioned you yet.");
    }
    for m in &list.items {
        let by = m
            .by_agent_id
            .and_then(|a| names.get(&a).cloned())
            .unwrap_or_else(|| "someone".into());
        println!(
            "{} {:<7} {} · {by}: {}",
            if m.read { " " } else { "*" },
            label(m.ticket_number),
            when(m.at),
            cut(&m.body, 80)
        );
    }
    if list.unread > 0 {
        println!("* unread (`fyncall mentions --read` marks them read)");
    }
    Ok(())
}

/// The team's tags with how many tickets not closed carry each.
pub fn tags(counts: &[fyncall_domain::tags::TagCount]) {
    if counts.is_empty() {
        println!("No tags yet: add one with `fyncall tag <ticket> <tag>`.");
        return;
    }
    println!("  {:<40} TICKETS", "TAG");
    for c in counts {
        println!("  {:<40} {}", c.tag, c.count);
    }
}

pub fn ticket(cache: &Cache, d: &TicketDetail, _now: Timestamp) -> Result<(), Failure> {
    let names = names(cache)?;
    let who = |id: Option<Uuid>| {
        id.map(|a| names.get(&a).cloned().unwrap_or_else(|| a.to_string()))
            .unwrap_or_else(|| "nobody".into())
    };
    let t = &d.ticket.ticket;
    println!(
        "{} {}{}",
        label(t.number),
        t.subject,
        if d.ticket.pending {
            "  (not yet synced)"
        } else {
            ""
        }
    );
    println!("  id:           {}", t.id);
    println!("  status:       {}", t.status.as_str());
    println!("  priority:     {}", t.priority.as_str());
    println!("  assignee:     {}", who(t.assignee_id));
    println!("  category:     {}", t.category.as_deref().unwrap_or("—"));
    if !t.tags.is_empty() {
        println!("  tags:         {}", t.tags.join(", "));
    }
    println!("  created:      {}", when(t.created_at));
    println!("  conversation: {}", t.conversation_id);
    if let Some(c) = &d.conversation {
        println!(
            "                {} <{}> via {}",
            c.customer.name, c.customer.email, c.channel
        );
    }
    println!("  SLA:          {:?}", d.ticket.sla.indicator);
    for (name, timer) in [
        ("first response", &d.ticket.sla.first_response),
        ("resolution", &d.ticket.sla.resolution),
    ] {
        println!(
            "    {name:<15} {} (target {} min{})",
            timer_text(timer),
            timer.target_minutes,
            timer
                .due_at
                .map(|d| format!(", due {}", d.to_rfc3339()))
                .unwrap_or_default()
        );
    }
    if let Some(desc) = &t.description {
        println!("\n{desc}");
    }
    if let Some(ai) = &t.ai_context {
        println!("\nAI context:");
        println!("{}", serde_json::to_string_pretty(ai).unwrap_or_default());
    }
    println!("\nTimeline:");
    for row in &d.activity {
        let a = &row.entry;
        let (actor, what) = (&row.who, &row.text);
        let from = row
            .from
            .as_ref()
            .map(|f| format!(" (from {f})"))
            .unwrap_or_default();
        println!(
            "  {} {} {}: {}{from}",
            if row.pending { "*" } else { " " },
            when(a.at),
            actor,
            what
        );
    }
    for m in &d.merged {
        println!(
            "Merged here: {} {}",
            fyncall_domain::merge::number_words(m.number),
            m.subject
        );
    }
    Ok(())
}

pub fn conversation(cache: &Cache, d: &ConversationDetail, now: Timestamp) -> Result<(), Failure> {
    let names = names(cache)?;
    let c = &d.conversation;
    println!(
        "Conversation {} — {} <{}> via {}",
        c.id, c.customer.name, c.customer.email, c.channel
    );
    println!(
        "  assignee: {}",
        c.assignee_id
            .map(|a| names.get(&a).cloned().unwrap_or_else(|| a.to_string()))
            .unwrap_or_else(|| "nobody".into())
    );
    for m in &d.messages {
        println!(
            "  {} {} {:?}: {}",
            if m.pending { "*" } else { " " },
            when(m.message.sent_at),
            m.message.author,
            m.message.body
        );
    }
    let page = Page {
        tickets: d.tickets.clone(),
        next_cursor: None,
        total: Some(d.tickets.len() as u64),
    };
    println!();
    tickets(cache, &page, View::All, now)
}

pub fn pending(outbox: &[OutboxEntry]) {
    if outbox.is_empty() {
        println!("Nothing waiting to be sent.");
        return;
    }
    for e in outbox {
        println!(
            "{} {} {}{}",
            e.id,
            when(e.client_at),
            e.summary,
            if e.acked_seq.is_some() {
                "  (sent; confirming)"
            } else {
                ""
            }
        );
    }
}

pub fn problems(problems: &[Problem]) {
    if problems.is_empty() {
        println!("No sync problems.");
        return;
    }
    for p in problems {
        println!("{}  {}", p.id, p.summary);
        println!("  refused ({}): {}", p.code.as_str(), p.message);
        for (field, text) in &p.typed {
            println!("  your {field}: {text}");
        }
        if let Some(details) = &p.details {
            println!("  details: {details}");
        }
        println!(
            "  `fyncall problems retry {}` or `fyncall problems discard {}`",
            p.id, p.id
        );
    }
}

/// "83.3%", or "–" when nothing counted.
fn rate(r: Option<f64>) -> String {
    r.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn time(seconds: Option<i64>) -> String {
    seconds.map(span).unwrap_or_else(|| "–".into())
}

/// The SLA compliance report as a table, the total last.
pub fn sla_report(report: &fyncall_domain::SlaReport) {
    println!(
        "SLA compliance {} – {} ({}), by {}",
        report.from.format("%Y-%m-%d %H:%M"),
        report.to.format("%Y-%m-%d %H:%M"),
        report.time_zone,
        report.group_by.as_str()
    );
    if let Some(since) = report.covers_since {
        println!(
            "(this period reaches past what this computer keeps: outcomes since {} only; the server's report counts it whole)",
            since.format("%Y-%m-%d")
        );
    }
    println!(
        "{:24}  {:>16} {:>6} {:>8} {:>8}   {:>16} {:>6} {:>8} {:>8}",
        "", "first response", "rate", "median", "p90", "resolution", "rate", "median", "p90"
    );
    for g in report.groups.iter().chain(std::iter::once(&report.total)) {
        let f = &g.first_response;
        let r = &g.resolution;
        println!(
            "{}  {:>16} {:>6} {:>8} {:>8}   {:>16} {:>6} {:>8} {:>8}",
            cut(&g.label, 24),
            format!("{} met {} missed", f.met, f.missed),
            rate(f.rate),
            time(f.median_seconds),
            time(f.p90_seconds),
            format!("{} met {} missed", r.met, r.missed),
            rate(r.rate),
            time(r.median_seconds),
            time(r.p90_seconds),
        );
    }
}
