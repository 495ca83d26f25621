//! Presence end to end: two app processes, each on its own X display,
//! session bus and WebDriver session, signed in as two agents against one
//! real `fyncall-server`. Ben opens the ticket Alice has open: she sees him
//! viewing, then typing; her comment is held back with a warning naming
//! him; Ben's app goes away: his presence ends within 35 s.
//!
//! Run by `scripts/test` with the app it built:
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e_presence -- --ignored`

mod desk;

use std::time::{Duration, Instant};

use desk::*;
use serde_json::Value;

fn sign_in(d: &Driver, url: &str, email: &str) {
    d.type_into("input[name=server]", url);
    d.type_into("input[name=email]", email);
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
}

fn open_ticket(d: &Driver, id: &str) {
    d.click("a[data-view=all]");
    d.wait(&format!(
        "[data-testid=ticket-list][data-view=all] tr[data-ticket='{id}']"
    ));
    d.click(&format!("[data-ticket='{id}'] td.subject"));
    d.wait("[data-testid=ticket-subject]");
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn two_agents_see_each_other_on_a_ticket() {
    let Run {
        app,
        artifacts,
        dir: run,
        reaper: mut server_reaper,
    } = run();
    let server = demo_server(run.path());
    let url = server.url.clone();
    server_reaper.0.push(server.child);

    // The newest ticket: first in All Tickets on both sides.
    let (api, token) = api_login(&url, "alice@demo.fyncall.test");
    let page: Value = api
        .get(format!("{url}/api/v1/tickets?view=all&limit=1"))
        .bearer_auth(&token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let tid = page["tickets"][0]["id"]
        .as_str()
        .expect("a ticket")
        .to_owned();

    let (run_a, run_b) = (run.path().join("a"), run.path().join("b"));
    let mut reaper_a = Reaper(Vec::new());
    let mut reaper_b = Reaper(Vec::new());
    let desktop_a = Desktop::start(&run_a, &mut reaper_a);
    let desktop_b = Desktop::start(&run_b, &mut reaper_b);
    let a = desktop_a.launch(
        &app,
        &["--home".into(), run_a.join("home").display().to_string()],
    );
    let b = desktop_b.launch(
        &app,
        &["--home".into(), run_b.join("home").display().to_string()],
    );
    sign_in(&a, &url, "alice@demo.fyncall.test");
    sign_in(&b, &url, "ben@demo.fyncall.test");

    open_ticket(&a, &tid);
    let clicked = Instant::now();
    open_ticket(&b, &tid);
    a.wait_text("[data-testid=presence]", "Ben viewing", |t| {
        t.contains("Ben is viewing")
    });
    let seen = clicked.elapsed();
    println!("Ben opens the ticket → Alice sees \"Ben is viewing\": {seen:?}");
    assert!(seen < Duration::from_secs(5), "{seen:?}");
    a.screenshot(&artifacts, "20-presence-viewing");

    let typed = Instant::now();
    b.type_into("textarea[aria-label=Comment]", "Calling the customer now");
    a.wait_text("[data-testid=presence]", "Ben typing", |t| {
        t.contains("Ben is typing a comment")
    });
    println!("Ben types → Alice sees \"typing\": {:?}", typed.elapsed());
    a.screenshot(&artifacts, "21-presence-typing");

    // Alice's comment waits for her word while Ben types.
    a.type_into("textarea[aria-label=Comment]", "I emailed them a label");
    a.click("button[data-action=comment]");
    let warning = a.wait_text("[data-testid=typing-warning]", "the warning", |t| {
        t.contains("Ben is typing")
    });
    assert!(warning.contains("Send yours anyway"), "{warning}");
    a.screenshot(&artifacts, "22-presence-warning");
    a.click("button[data-action=wait]");

    // Ben's app goes away without a word: his presence ends by expiry.
    drop(b);
    drop(desktop_b);
    drop(reaper_b);
    let gone = Instant::now();
    wait_for("Ben's presence to end", Duration::from_secs(40), || {
        let v = a.script(
            "return document.querySelector('[data-testid=presence]') === null;",
            serde_json::json!([]),
        );
        (v == serde_json::json!(true)).then_some(v)
    });
    println!(
        "Ben's app gone → his presence ends on Alice's screen: {:?}",
        gone.elapsed()
    );
    assert!(
        gone.elapsed() <= Duration::from_secs(36),
        "{:?}",
        gone.elapsed()
    );
    a.call(reqwest::Method::DELETE, "", None);
}
