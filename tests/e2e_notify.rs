//! The real app's notifications end to end: `fyncall-desk --demo` under
//! Xvfb on a private D-Bus session bus with a recording notification
//! service. An admin (through the API) assigns the demo agent a ticket: the
//! agent is told; the admin mentions the agent in a comment: the agent is
//! told who; the team's at-risk threshold widens: the agent's tickets
//! entering at risk are announced, each once.
//!
//! Run by `scripts/test` with the app it built:
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e_notify -- --ignored`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn login(url: &str, email: &str) -> (reqwest::blocking::Client, String) {
    let http = reqwest::blocking::Client::new();
    let session =
        fyncall_testkit::http::login_blocking(&http, url, email, fyncall_testkit::DEMO_PASSWORD);
    (http, session.token)
}

fn wait_notice(
    seen: &Arc<Mutex<Vec<support::Recorded>>>,
    from: usize,
    what: &str,
    within: Duration,
    pred: impl Fn(&support::Recorded) -> bool,
) -> support::Recorded {
    let start = Instant::now();
    loop {
        if let Some(r) = seen
            .lock()
            .ok()
            .and_then(|s| s.iter().skip(from).find(|r| pred(r)).cloned())
        {
            return r;
        }
        assert!(
            start.elapsed() < within,
            "no notification {what}; seen: {:?}",
            seen.lock().map(|s| s.clone()).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn the_demo_agent_is_told_of_assignments_and_tickets_at_risk() {
    let app = std::env::var("FYNCALL_DESK_BIN").expect("FYNCALL_DESK_BIN");
    let run = tempfile::tempdir().expect("dir");
    let display = format!(":{}", 80 + (std::process::id() % 9));
    let _x = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb"),
    );
    std::thread::sleep(Duration::from_millis(800));
    let (_bus, address) = support::bus();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _service = runtime
        .block_on(support::serve(&address, seen.clone()))
        .expect("notification service");

    let mut child = Command::new(&app)
        .arg("--demo")
        .arg("--home")
        .arg(run.path().join("home"))
        .env("DISPLAY", &display)
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("XDG_DATA_HOME", run.path().join("data"))
        .env("XDG_CACHE_HOME", run.path().join("cache"))
        .env("XDG_CONFIG_HOME", run.path().join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the app starts");
    let stdout = child.stdout.take().expect("stdout");
    let _app = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("demo line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no demo server address in {line:?}"))
        .to_owned();
    // Let the first download finish and the stream connect.
    std::thread::sleep(Duration::from_secs(3));

    let (api, admin) = login(&url, "admin@demo.fyncall.test");
    let (_, alice_token) = login(&url, "alice@demo.fyncall.test");
    let alice: Value = api
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&alice_token)
        .send()
        .expect("me")
        .json()
        .expect("json");
    let list: Value = api
        .get(format!(
            "{url}/api/v1/tickets?view=all&status=open,in_progress&limit=200"
        ))
        .bearer_auth(&admin)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let theirs = list["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["assignee_id"] != alice["id"])
        .expect("a ticket of someone else")
        .clone();

    // An admin gives Alice a ticket.
    let before = seen.lock().map(|s| s.len()).unwrap_or(0);
    let assigned_at = Instant::now();
    let r = api
        .post(format!(
            "{url}/api/v1/tickets/{}/assign",
            theirs["id"].as_str().unwrap_or("")
        ))
        .bearer_auth(&admin)
        .json(&json!({"assignee_id": alice["id"]}))
        .send()
        .expect("assign");
    assert!(r.status().is_success());
    let label = format!("#{} assigned to you", theirs["number"]);
    let n = wait_notice(
        &seen,
        before,
        "of the assignment",
        Duration::from_secs(20),
        |r| r.summary == label,
    );
    assert!(n.body.contains("Dana Admin"), "{n:?}");
    assert_eq!(n.app_name, "Fyncall Desk");
    println!(
        "assignment → Notify: {:?}",
        n.at.duration_since(assigned_at)
    );

    // The admin mentions Alice in a comment on it: one notification, naming who.
    let before = seen.lock().map(|s| s.len()).unwrap_or(0);
    let r = api
        .post(format!(
            "{url}/api/v1/tickets/{}/comments",
            theirs["id"].as_str().unwrap_or("")
        ))
        .bearer_auth(&admin)
        .json(&json!({"body": "@Alice Moreau the customer called again", "mention_ids": [alice["id"]]}))
        .send()
        .expect("comment");
    assert!(r.status().is_success(), "{:?}", r.text());
    let label = format!("Dana Admin mentioned you on #{}", theirs["number"]);
    let n = wait_notice(
        &seen,
        before,
        "of the mention",
        Duration::from_secs(20),
        |r| r.summary == label,
    );
    assert!(n.body.contains("the customer called again"), "{n:?}");

    // A seeded ticket of Alice's reaches its at-risk moment about 15 s after
    // the start: the alert comes within a few seconds of that moment.
    // (The demo seeds two such tickets per agent, 15 s and 135 s after its start.)
    let n = wait_notice(
        &seen,
        0,
        "of a seeded ticket at risk",
        Duration::from_secs(150),
        |r| r.summary.contains(" at risk: ") && r.summary.contains("first response"),
    );
    let number: String = n
        .summary
        .trim_start_matches('#')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let mine: Value = api
        .get(format!("{url}/api/v1/tickets?view=mine&limit=200"))
        .bearer_auth(&alice_token)
        .send()
        .expect("mine")
        .json()
        .expect("json");
    let ticket = mine["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["number"].as_i64().map(|n| n.to_string()).as_deref() == Some(number.as_str()))
        .expect("the alerted ticket is Alice's")
        .clone();
    let timer = &ticket["sla"]["first_response"];
    let due = chrono::DateTime::parse_from_rfc3339(timer["due_at"].as_str().expect("due"))
        .expect("time")
        .with_timezone(&chrono::Utc);
    let threshold_ms = (0.25 * timer["target_minutes"].as_f64().expect("target") * 60_000.0) as i64;
    let moment = due - chrono::TimeDelta::milliseconds(threshold_ms);
    let shown: chrono::DateTime<chrono::Utc> = n.wall.into();
    let delay = shown - moment;
    println!(
        "at-risk moment → Notify: {} ms ({})",
        delay.num_milliseconds(),
        n.summary
    );
    assert!(
        delay >= chrono::TimeDelta::zero() && delay < chrono::TimeDelta::seconds(3),
        "alerted {} ms from the moment",
        delay.num_milliseconds()
    );

    // The admin widens the at-risk threshold: Alice's on-track tickets enter at risk.
    let mut settings: Value = api
        .get(format!("{url}/api/v1/settings"))
        .bearer_auth(&admin)
        .send()
        .expect("settings")
        .json()
        .expect("json");
    settings["at_risk_fraction"] = json!(0.99);
    let before = seen.lock().map(|s| s.len()).unwrap_or(0);
    let changed_at = Instant::now();
    let r = api
        .put(format!("{url}/api/v1/settings"))
        .bearer_auth(&admin)
        .json(&settings)
        .send()
        .expect("put settings");
    assert!(r.status().is_success(), "{}", r.status());
    let n = wait_notice(
        &seen,
        before,
        "of a ticket at risk",
        Duration::from_secs(20),
        |r| r.summary.contains(" at risk: "),
    );
    println!(
        "policy change → at-risk Notify: {:?}",
        n.at.duration_since(changed_at)
    );
    // Each once: nothing is announced twice in the next seconds.
    std::thread::sleep(Duration::from_secs(3));
    let all = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let mut summaries: Vec<&str> = all.iter().map(|r| r.summary.as_str()).collect();
    let count = summaries.len();
    summaries.sort();
    summaries.dedup();
    assert_eq!(summaries.len(), count, "a notification came twice: {all:?}");
}
