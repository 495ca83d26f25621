//! Real delivery: a private D-Bus session bus (dbus-daemon), a small
//! notification service on it (zbus) that records each Notify call, and the
//! app's real notify-rust path. The delivery runs in a child process of this
//! test binary, so only it sees the private bus address.

use std::process::Command;
use std::sync::{Arc, Mutex};

mod support;

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use fyncall_cache::notify::{NoticeKind, sla_notices};
use fyncall_domain::mutation::CreateTicket;
use fyncall_domain::*;
use uuid::Uuid;

/// A high-priority ticket (first response in 60 min, at risk in the last 15)
/// and the moment 12 minutes before its first-response deadline.
fn ticket_at_risk() -> (Ticket, Timestamp) {
    let agent = Agent {
        id: Uuid::from_u128(1),
        name: "Alice".into(),
        email: "alice@example.com".into(),
        role: Role::Agent,
        active: true,
    };
    let conversation = Conversation {
        id: Uuid::from_u128(2),
        customer: Customer {
            name: "Maya".into(),
            email: "maya@example.com".into(),
        },
        channel: "chat".into(),
        assignee_id: None,
        created_at: Utc::now(),
        subject: None,
    };
    let mut state = State::default();
    state.agents.insert(agent.id, agent.clone());
    state
        .conversations
        .insert(conversation.id, conversation.clone());
    let created = Utc::now();
    // Ids as a client makes them (RULES.md "Text and ids"): v4 here.
    let ticket_id = uuid::Builder::from_random_bytes(3u128.to_be_bytes()).into_uuid();
    let m = Mutation::CreateTicket(CreateTicket {
        id: ticket_id,
        conversation_id: conversation.id,
        // Markup in a subject is shown as the characters typed.
        subject: "Refund <b>not</b> received & late".into(),
        priority: Priority::High,
        description: None,
        category: None,
        assignee_id: None,
    });
    let stamp = Stamp {
        mutation_id: uuid::Builder::from_random_bytes(4u128.to_be_bytes()).into_uuid(),
        at: created,
        client_at: None,
    };
    let applied = apply(&state, Caller::Agent(agent.id), &m, &stamp).expect("created");
    let mut t = applied.state.tickets[&ticket_id].clone();
    t.number = Some(1042);
    let first = sla::deadlines(&t, &SlaPolicy::default())
        .into_iter()
        .find(|d| d.timer == TimerKind::FirstResponse)
        .expect("running");
    (t, first.due_at - TimeDelta::minutes(12))
}

/// The child: shows the at-risk and the breach notices through the real path.
#[test]
fn deliver_in_child() {
    if std::env::var("FYNCALL_NOTIFY_CHILD").is_err() {
        return;
    }
    let (t, at) = ticket_at_risk();
    let policy = SlaPolicy::default();
    let at_risk = sla_notices(&t, &policy, at);
    assert_eq!(at_risk[0].kind, NoticeKind::AtRisk);
    fyncall_desk::notifier::show_notice(&at_risk[0], || {}).expect("shown");
    let breached = sla_notices(&t, &policy, at + TimeDelta::minutes(13));
    assert_eq!(breached[0].kind, NoticeKind::Breached);
    fyncall_desk::notifier::show_notice(&breached[0], || {}).expect("shown");
}

#[test]
fn notices_reach_the_session_bus_with_summary_body_and_urgency() {
    let (daemon, address) = support::bus();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _service = runtime
        .block_on(support::serve(&address, seen.clone()))
        .expect("service on the private bus");

    let out = Command::new(std::env::current_exe().expect("exe"))
        .args([
            "--exact",
            "deliver_in_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FYNCALL_NOTIFY_CHILD", "1")
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .output()
        .expect("child runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let start = std::time::Instant::now();
    while seen.lock().map(|s| s.len()).unwrap_or(0) < 2 && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = seen.lock().expect("lock").clone();
    drop(daemon);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].app_name, "Fyncall Desk");
    assert_eq!(seen[0].summary, "#1042 at risk: 12 min to first response");
    assert_eq!(
        seen[0].body, "Refund &lt;b&gt;not&lt;/b&gt; received &amp; late",
        "the body escapes markup, so the characters show"
    );
    assert!(
        seen[0].actions.contains(&"default".to_owned()),
        "clickable: {:?}",
        seen[0].actions
    );
    assert_eq!(seen[0].urgency, Some(1), "normal");
    assert!(
        seen[1]
            .summary
            .starts_with("#1042 breached: first response"),
        "{}",
        seen[1].summary
    );
    assert_eq!(seen[1].urgency, Some(2), "breaches are critical");
}
