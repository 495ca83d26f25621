//! The real app end to end: the `fyncall-desk` binary built by
//! `scripts/build` (FYNCALL_DESK_BIN), driven over WebDriver (tauri-driver +
//! WebKitWebDriver) under Xvfb with a private D-Bus session, against a real
//! `fyncall-server` process with demo data. Screenshots go to `artifacts/`.
//!
//! Run by `scripts/test` (it builds the app first):
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e -- --ignored`

mod desk;
mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use desk::*;
use serde_json::{Value, json};

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn the_real_app_end_to_end() {
    let Run {
        app,
        artifacts,
        dir: run,
        mut reaper,
    } = run();
    // Accessibility findings (axe-core) on every main screen, both themes.
    let mut audits: Vec<String> = Vec::new();

    // The team server with demo data, as a real process.
    let server = demo_server(run.path());
    let db = run.path().join("team.db");
    let url = server.url.clone();
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    reaper.0.push(server.child);

    // X, then D-Bus and tauri-driver inside it; the app in a WebDriver session.
    let desktop = Desktop::start(run.path(), &mut reaper);
    let home = run.path().join("home");
    let started = Instant::now();
    let d = desktop.launch(&app, &["--home".into(), home.display().to_string()]);

    // Sign in.
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "alice@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.screenshot(&artifacts, "01-sign-in");
    audits.extend(d.audit("sign-in"));
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
    println!("sign-in to first rendered view: {:?}", started.elapsed());
    // An agent has Reports, and no admin section.
    d.wait("a[data-nav=reports]");
    assert!(
        d.find("a[data-nav=admin]").is_none(),
        "an agent sees no admin section"
    );

    // Each view shows its rows and the count the server gives.
    let (api, token) = api_login(&url, "alice@demo.fyncall.test");
    for (view, shot) in [
        ("all", "02-all"),
        ("mine", "03-mine"),
        ("sla_at_risk", "04-sla-at-risk"),
        ("pending", "05-pending"),
        ("ai_escalated", "06-ai-escalated"),
    ] {
        let clicked = Instant::now();
        d.click(&format!("a[data-view={view}]"));
        let server_total: Value = api
            .get(format!("{url}/api/v1/tickets?view={view}&limit=1"))
            .bearer_auth(&token)
            .send()
            .expect("list")
            .json()
            .expect("json");
        let expected = server_total["total"].as_u64().expect("total").to_string();
        let side = d.wait_text(&format!("[data-count={view}]"), view, |t| t == expected);
        let total = d.wait_text("[data-testid=total]", view, |t| t == expected);
        println!(
            "view {view}: {total} tickets (sidebar {side}), rendered in {:?}",
            clicked.elapsed()
        );
        d.screenshot(&artifacts, shot);
    }

    // A notification and its click: an admin gives Alice a ticket; the
    // desktop's notification service (a recording one on the app's bus)
    // shows it; clicking it opens that ticket in the window.
    let seen = Arc::new(Mutex::new(Vec::<support::Recorded>::new()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let service = runtime
        .block_on(support::serve(&desktop.bus, seen.clone()))
        .expect("notification service");
    let (admin_api, admin_token) = api_login(&url, "admin@demo.fyncall.test");
    let list: Value = admin_api
        .get(format!(
            "{url}/api/v1/tickets?view=all&status=open,in_progress&limit=200"
        ))
        .bearer_auth(&admin_token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let alice_id = api
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .expect("me")
        .json::<Value>()
        .expect("json")["id"]
        .clone();
    let given = list["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["assignee_id"] != alice_id)
        .expect("someone else's ticket")
        .clone();
    let given_number = format!("#{}", given["number"]);
    let assigned = admin_api
        .post(format!(
            "{url}/api/v1/tickets/{}/assign",
            given["id"].as_str().expect("id")
        ))
        .bearer_auth(&admin_token)
        .json(&json!({"assignee_id": alice_id}))
        .send()
        .expect("assign");
    assert!(assigned.status().is_success(), "{}", assigned.status());
    let notice_id = wait_for(
        "the assignment notification",
        Duration::from_secs(20),
        || {
            let seen = seen.lock().ok()?;
            let i = seen.iter().position(|r| {
                r.body.contains(&given_number) || r.summary.contains(&given_number)
            })?;
            Some(Value::from(i as u64 + 1))
        },
    );
    runtime
        .block_on(support::click(
            &service,
            notice_id.as_u64().unwrap_or(0) as u32,
        ))
        .expect("click");
    d.wait_text(
        "[data-testid=ticket-subject]",
        "the ticket the notification named",
        |t| t.starts_with(&format!("{given_number} ")),
    );
    d.screenshot(&artifacts, "06b-notification-click");
    drop(service);

    // fyncall:// links: the app registered itself with the desktop as their
    // handler, and a link given to the program while it runs opens its
    // ticket in the window that is already there.
    let apps = run.path().join("data/applications");
    let handler = std::fs::read_dir(&apps)
        .unwrap_or_else(|e| panic!("{}: {e}", apps.display()))
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .find(|text| text.contains("x-scheme-handler/fyncall"))
        .expect("a desktop entry for fyncall:// links");
    assert!(handler.contains("%u"), "{handler}");
    let linked = list["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| t["id"] != given["id"])
        .expect("another ticket")
        .clone();
    let link = format!("fyncall://ticket/{}", linked["number"]);
    let second = Command::new(&app)
        .arg(&link)
        .env("DISPLAY", &desktop.display)
        .env("DBUS_SESSION_BUS_ADDRESS", &desktop.bus)
        .env("XDG_DATA_HOME", run.path().join("data"))
        .env("XDG_CACHE_HOME", run.path().join("cache"))
        .env("XDG_CONFIG_HOME", run.path().join("config"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the app runs with a link");
    assert!(
        second.success(),
        "the second start hands the link over and ends: {second}"
    );
    d.wait_text("[data-testid=ticket-subject]", "the linked ticket", |t| {
        t.starts_with(&format!("#{} ", linked["number"]))
    });
    d.screenshot(&artifacts, "06c-fyncall-link");

    // Open my first ticket; change priority, comment, resolve with a note, reopen.
    // The list names the view its rows belong to: until My Tickets has
    // loaded, the rows on screen are still the last view's.
    d.click("a[data-view=mine]");
    d.wait("[data-testid=ticket-list][data-view=mine] tbody tr");
    let tid = d
        .script(
            "return document.querySelector('[data-testid=ticket-list][data-view=mine] tbody tr').dataset.ticket;",
            json!([]),
        )
        .as_str()
        .expect("ticket id")
        .to_owned();
    // That very ticket, wherever a live change has moved its row since.
    d.click(&format!(
        "[data-testid=ticket-list] tbody tr[data-ticket='{tid}'] td.subject"
    ));
    let subject = d.wait_text("[data-testid=ticket-subject]", "the ticket page", |t| {
        t.starts_with('#')
    });
    let number = subject.split(' ').next().unwrap_or_default().to_owned();
    assert!(number.starts_with('#'), "{subject}");
    let set_select = |css: &str, value: &str| {
        let id = d.wait(css);
        d.script(
            "const s = arguments[0]; s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([{"element-6066-11e4-a52e-4f8c6e9ae5a4": id}, value]),
        );
    };
    d.click("select[aria-label='Change priority'] option[value=urgent]");
    if !d.text("[data-testid=timeline]").contains("→ urgent") {
        set_select("select[aria-label='Change priority']", "urgent");
    }
    d.wait_text("[data-testid=timeline]", "priority change", |t| {
        t.contains("→ urgent")
    });
    d.type_into("textarea[aria-label=Comment]", "Checked with the warehouse");
    d.click("button[data-action=comment]");
    d.wait_text("[data-testid=timeline]", "comment", |t| {
        t.contains("Checked with the warehouse")
    });
    d.type_into("input[aria-label='Resolution note']", "Sent a new lid");
    d.screenshot(&artifacts, "07-ticket");
    audits.extend(d.audit("ticket page"));
    d.click("button[data-action=resolve]");
    d.wait_text("[data-testid=timeline]", "resolution", |t| {
        t.contains("resolution note: Sent a new lid")
    });
    // It reached the server.
    let server_ticket = || -> Value {
        api.get(format!("{url}/api/v1/tickets/{tid}"))
            .bearer_auth(&token)
            .send()
            .ok()
            .and_then(|r| r.json().ok())
            .unwrap_or(Value::Null)
    };
    let synced =
        |v: &Value| v["ticket"]["status"] == "resolved" && v["ticket"]["priority"] == "urgent";
    let start = Instant::now();
    let mut last = server_ticket();
    while !synced(&last) && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(200));
        last = server_ticket();
    }
    if !synced(&last) {
        d.screenshot(&artifacts, "07-not-synced");
        let problems = d.text("[data-testid=connection]");
        panic!(
            "the resolve did not reach the server in 30 s; connection panel: {problems:?}; server ticket: {}",
            last["ticket"]
        );
    }
    // Reopen.
    d.click("button[data-action=reopen]");
    d.wait_text("[data-testid=timeline]", "reopen", |t| {
        t.contains("resolved → in progress")
    });

    // A ticket whose subject is markup renders as text.
    let (admin, admin_token) = api_login(&url, "admin@demo.fyncall.test");
    let conversations: Value = admin
        .get(format!("{url}/api/v1/conversations"))
        .bearer_auth(&admin_token)
        .send()
        .expect("conversations")
        .json()
        .expect("json");
    let conversation = conversations
        .as_array()
        .and_then(|a| a.first())
        .or_else(|| {
            conversations["conversations"]
                .as_array()
                .and_then(|a| a.first())
        })
        .and_then(|c| c["id"].as_str())
        .expect("a conversation")
        .to_owned();
    let markup = "<img src=x onerror=alert(1)>";
    let me: Value = api
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .expect("me")
        .json()
        .expect("json");
    let created = admin
        .post(format!("{url}/api/v1/tickets"))
        .bearer_auth(&admin_token)
        .json(
            &json!({"conversation_id": conversation, "subject": markup, "priority": "high",
                      "assignee_id": me["id"]}),
        )
        .send()
        .expect("create");
    assert!(created.status().is_success(), "{}", created.status());
    d.click("a[data-view=all]");
    d.wait_text("[data-testid=ticket-list]", "the markup ticket", |t| {
        t.contains(markup)
    });
    let images = d.script(
        "return document.querySelectorAll('[data-testid=ticket-list] img').length;",
        json!([]),
    );
    assert_eq!(images, json!(0), "no element was made from ticket text");
    d.screenshot(&artifacts, "08-markup-as-text");

    // Someone else's ticket: as an agent, Alice cannot change its status
    // (the control says why); she claims its conversation and it becomes hers.
    let all_open: Value = admin
        .get(format!(
            "{url}/api/v1/tickets?view=all&status=open,in_progress&limit=200"
        ))
        .bearer_auth(&admin_token)
        .send()
        .expect("list")
        .json()
        .expect("json");
    let bens = all_open["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .find(|t| !t["assignee_id"].is_null() && t["assignee_id"] != me["id"])
        .expect("someone else's open ticket")
        .clone();
    let bens_id = bens["id"].as_str().expect("id").to_owned();
    // A comment puts it at the top of All Tickets (newest update first).
    let commented = admin
        .post(format!("{url}/api/v1/tickets/{bens_id}/comments"))
        .bearer_auth(&admin_token)
        .json(&json!({"body": "Alice, can you take this one?"}))
        .send()
        .expect("comment");
    assert!(commented.status().is_success());
    let bens_subject = bens["subject"].as_str().expect("subject").to_owned();
    d.click("a[data-view=all]");
    d.wait(&format!(
        "[data-testid=ticket-list] tbody tr:first-child[data-ticket='{bens_id}']"
    ));
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    d.wait_text("[data-testid=ticket-subject]", "their ticket", |t| {
        t.starts_with('#') && t.contains(&bens_subject)
    });
    let why = wait_for(
        "the disabled status control",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const o = document.querySelector(\"select[aria-label='Change status'] option[value=resolved]\"); \
             return o && o.disabled ? o.title : null;",
            json!([]),
        );
            v.as_str()
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.to_owned()))
        },
    );
    assert!(
        why.as_str().unwrap_or("").contains("only the assignee"),
        "{why}"
    );
    d.screenshot(&artifacts, "08b-not-mine");
    d.click("a[data-action=conversation]");
    d.click("button[data-action=claim]");
    d.click("a[data-view=mine]");
    d.wait(&format!(
        "[data-testid=ticket-list] [data-ticket='{bens_id}']"
    ));

    // Create a ticket from that conversation.
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    d.click("a[data-action=conversation]");
    d.click("button[data-action=create]");
    d.type_into(
        "[data-testid=create-form] input[aria-label=Subject]",
        "Follow-up: replacement part",
    );
    d.click("[data-testid=create-form] button[type=submit]");
    d.wait_text("[data-testid=ticket-subject]", "the new ticket", |t| {
        t.contains("Follow-up: replacement part")
    });
    d.wait_text(
        "[data-testid=ticket-subject]",
        "its number from the server",
        |t| t.starts_with('#'),
    );
    d.screenshot(&artifacts, "08c-created");

    // Offline: stop the server, act, see the pending mark; start it, see it sync.
    reaper.0[0].kill().expect("stop server");
    let _ = reaper.0[0].wait();
    d.click("a[data-view=mine]");
    d.click("[data-testid=ticket-list][data-view=mine] tbody tr td.subject");
    d.type_into("textarea[aria-label=Comment]", "Typed while offline");
    d.click("button[data-action=comment]");
    d.wait_text("[data-testid=timeline]", "offline comment", |t| {
        t.contains("Typed while offline")
    });
    d.wait("[data-testid=pending]");
    d.wait("[data-testid=timeline] .pending-mark");
    d.screenshot(&artifacts, "09-offline-pending");
    let again = serve(&db, port);
    reaper.0[0] = again.child;
    d.click("[data-testid=connection] button");
    wait_for(
        "the pending change to sync",
        Duration::from_secs(30),
        || {
            d.find("[data-testid=pending]")
                .is_none()
                .then_some(Value::Null)
        },
    );
    d.screenshot(&artifacts, "10-synced");

    // The app's files are private from the moment they exist.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        assert_eq!(mode(&home), 0o700, "the data folder");
        for name in [
            "cache.sqlite",
            "cache.sqlite-wal",
            "cache.sqlite-shm",
            "session.json",
        ] {
            let path = home.join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
    }

    // The archive: All Tickets with the status filter on "closed" lists the
    // closed tickets, and only them.
    d.click("a[data-view=all]");
    d.wait("[data-testid=ticket-list] tbody tr");
    d.choose("select[aria-label='Status']", "closed");
    let closed = wait_for(
        "the closed tickets of the archive",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const rows = [...document.querySelectorAll('[data-testid=ticket-list] tbody tr')]; \
             if (rows.length === 0) return null; \
             const statuses = rows.map((r) => r.querySelectorAll('td')[2]?.textContent?.trim()); \
             return statuses.every((s) => s === 'closed') ? rows.length : null;",
            json!([]),
        );
            v.as_u64().map(Value::from)
        },
    );
    assert!(closed.as_u64().is_some_and(|n| n > 0), "{closed}");
    d.screenshot(&artifacts, "09b-archive");
    d.choose("select[aria-label='Status']", "");

    // A new customer chat nobody has claimed: it appears under Inbox →
    // Unassigned; Alice opens it, claims it and makes a ticket of it with a
    // category picked from the team's.
    let integration: Value = admin
        .post(format!("{url}/api/v1/integrations/tokens"))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "e2e chat"}))
        .send()
        .expect("integration token")
        .json()
        .expect("json");
    let integration = integration["token"].as_str().expect("token").to_owned();
    let chat: Value = admin
        .post(format!("{url}/api/v1/integrations/conversations"))
        .bearer_auth(&integration)
        .json(&json!({"customer": {"name": "Nia Newcomer", "email": "nia@example.org"}, "channel": "chat"}))
        .send()
        .expect("open chat")
        .json()
        .expect("json");
    let chat_id = chat["id"].as_str().expect("id").to_owned();
    let said = admin
        .post(format!(
            "{url}/api/v1/integrations/conversations/{chat_id}/messages"
        ))
        .bearer_auth(&integration)
        .json(&json!({"author": "customer", "body": "My subscription renewal failed twice"}))
        .send()
        .expect("message");
    assert!(said.status().is_success());
    d.click("a[data-inbox=unassigned]");
    d.wait(&format!(
        "[data-testid=inbox][data-view=unassigned] li[data-conversation='{chat_id}']"
    ));
    d.screenshot(&artifacts, "12-inbox-unassigned");
    audits.extend(d.audit("inbox"));
    // Its text as the row holds it (the last message may be cut to fit).
    wait_for("the chat's last message", Duration::from_secs(20), || {
        let t = d.script(
            "return document.querySelector(`li[data-conversation='${arguments[0]}']`)?.textContent ?? '';",
            json!([chat_id]),
        );
        let t = t.as_str().unwrap_or_default();
        (t.contains("renewal failed twice")
            && t.contains("nia@example.org")
            && t.contains("Unassigned"))
        .then(|| Value::String(t.to_owned()))
    });
    d.click(&format!("li[data-conversation='{chat_id}'] a"));
    d.wait_text(
        "[data-testid=conversation-title]",
        "the conversation page",
        |t| t.contains("Nia Newcomer"),
    );
    d.click("button[data-action=claim]");
    d.wait_text("[data-testid=conversation-assignee]", "the claim", |t| {
        t.contains("Alice")
    });
    d.click("button[data-action=create]");
    d.type_into(
        "[data-testid=create-form] input[aria-label=Subject]",
        "Renewal payment fails",
    );
    let category = d.script(
        "const s = document.querySelector(\"[data-testid=create-form] select[aria-label=Category]\"); \
         const o = [...s.options].find((o) => o.value !== ''); \
         s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return o.value;",
        json!([]),
    );
    let category = category.as_str().expect("a team category").to_owned();
    d.screenshot(&artifacts, "13-conversation-create");
    d.click("[data-testid=create-form] button[type=submit]");
    let created = d.wait_text(
        "[data-testid=ticket-subject]",
        "the new ticket with its number",
        |t| t.starts_with('#') && t.contains("Renewal payment fails"),
    );
    let new_number = created.split(' ').next().unwrap_or_default().to_owned();
    d.wait_text("main header", "its category", |t| {
        t.contains(&format!("Category: {category}"))
    });
    // In My Tickets, with the conversation one click away.
    d.click("a[data-view=mine]");
    d.wait_text(
        "[data-testid=ticket-list][data-view=mine]",
        "the new ticket in My Tickets",
        |t| t.contains("Renewal payment fails"),
    );
    let renewal = d.script(
        "return [...document.querySelectorAll('[data-testid=ticket-list] tbody tr')] \
           .find((r) => r.textContent.includes('Renewal payment fails'))?.dataset.ticket ?? null;",
        json!([]),
    );
    let renewal = renewal.as_str().expect("the new ticket's row").to_owned();
    d.click(&format!("[data-ticket='{renewal}'] td.subject"));
    d.click("a[data-action=conversation]");
    d.wait_text(
        "[data-testid=linked-tickets]",
        "the ticket on its conversation",
        |t| t.contains("Renewal payment fails"),
    );
    d.screenshot(&artifacts, "14-conversation-page");
    audits.extend(d.audit("conversation page"));

    // Closed, it is found under All + closed and by its number in the palette.
    d.click("[data-testid=linked-tickets] button.ticket-link");
    for status in ["resolved", "closed"] {
        // Once the rules' answer has enabled that choice.
        d.click(&format!(
            "select[aria-label='Change status'] option[value={status}]:not([disabled])"
        ));
        d.wait_text("[data-testid=timeline]", status, |t| {
            t.contains(&format!("→ {status}"))
        });
    }
    d.click("a[data-view=all]");
    d.wait("[data-testid=ticket-list][data-view=all] tbody tr");
    d.choose("select[aria-label='Status']", "closed");
    d.wait_text(
        "[data-testid=ticket-list]",
        "the closed ticket in the archive",
        |t| t.contains("Renewal payment fails"),
    );
    d.click("button[data-action=palette]");
    d.type_into("input[aria-label=Command]", &new_number);
    d.wait_text("[data-testid=palette]", "the number in the palette", |t| {
        t.contains(&format!("Open ticket {new_number}"))
    });
    d.screenshot(&artifacts, "15-palette");
    audits.extend(d.audit("palette"));
    let command = d.wait("input[aria-label=Command]");
    d.call(
        reqwest::Method::POST,
        &format!("/element/{command}/value"),
        Some(json!({"text": "\u{E007}"})),
    );
    d.wait_text(
        "[data-testid=ticket-subject]",
        "the ticket from the palette",
        |t| t.starts_with(&format!("{new_number} ")),
    );

    // Back returns to the list at the same row: scroll All Tickets down,
    // open the row at the top of the pane, come back.
    d.click("a[data-view=all]");
    d.wait("[data-testid=ticket-list][data-view=all] tbody tr");
    d.choose("select[aria-label='Status']", "");
    let top = wait_for(
        "a row at the top of the scrolled list",
        Duration::from_secs(20),
        || {
            let v = d.script(
                "const m = document.querySelector('main.main'); m.scrollTop = 1200; \
             if (m.scrollTop < 600) return null; \
             const top = m.getBoundingClientRect().top + 40; \
             const r = [...document.querySelectorAll('[data-testid=ticket-list] tbody tr')] \
               .find((r) => r.getBoundingClientRect().top >= top); \
             return r ? [r.dataset.ticket, m.scrollTop] : null;",
                json!([]),
            );
            (!v.is_null()).then_some(v)
        },
    );
    let (top_id, scrolled) = (
        top[0].as_str().expect("id").to_owned(),
        top[1].as_f64().expect("scroll"),
    );
    d.click(&format!("[data-ticket='{top_id}'] td.subject"));
    d.wait("[data-testid=ticket-subject]");
    d.click("button[data-action=back]");
    wait_for(
        "the list where it was left",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const m = document.querySelector('main.main'); \
             const r = document.querySelector(`[data-testid=ticket-list] tr[data-ticket='${arguments[0]}']`); \
             if (!r) return null; \
             const b = r.getBoundingClientRect(), p = m.getBoundingClientRect(); \
             return Math.abs(m.scrollTop - arguments[1]) < 2 && b.top >= p.top && b.bottom <= p.bottom ? true : null;",
            json!([top_id, scrolled]),
        );
            (v == json!(true)).then_some(v)
        },
    );
    d.screenshot(&artifacts, "16-back-to-the-row");
    audits.extend(d.audit("All Tickets"));

    // Settings lists this device's session.
    d.click("a[href='#settings']");
    d.wait("[data-testid=sessions] [data-testid=this-device]");
    d.screenshot(&artifacts, "10a-settings-sessions");
    audits.extend(d.audit("settings"));

    // About says the versions; the diagnostic info names the app, the
    // server and the sync state, and never the sign-in token.
    d.wait_text("[data-testid=about]", "the versions", |t| {
        t.contains(&format!("Fyncall Desk {}", env!("CARGO_PKG_VERSION")))
            && t.contains("fyncall-server")
    });
    let diagnostics = d.script_async(
        "const done = arguments[arguments.length - 1]; \
         window.__TAURI_INTERNALS__.invoke('diagnostics').then(done, (e) => done('failed: ' + JSON.stringify(e)));",
        json!([]),
    );
    let diagnostics = diagnostics.as_str().unwrap_or_default().to_owned();
    assert!(diagnostics.starts_with("Fyncall Desk "), "{diagnostics}");
    assert!(
        diagnostics.contains(&url) && diagnostics.contains("Sync: "),
        "{diagnostics}"
    );
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("session.json")).unwrap_or_else(|_| "{}".into()),
    )
    .unwrap_or(Value::Null);
    if let Some(token) = saved["token"].as_str().filter(|t| !t.is_empty()) {
        assert!(
            !diagnostics.contains(token),
            "the token leaked into the diagnostics"
        );
    }
    assert!(
        !diagnostics.contains(PASSWORD),
        "the password leaked into the diagnostics"
    );
    // The app's logs: a file a day in its log folder, this user's only.
    let logs: Vec<_> = std::fs::read_dir(home.join("logs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        !logs.is_empty(),
        "a log file in {}",
        home.join("logs").display()
    );
    for log in &logs {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(log)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600, "{} is {mode:o}", log.display());
    }
    // With no GPU render node (as under Xvfb here) WebKit paints without
    // compositing, and the start's line in the log says so.
    let logged: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    let gpu = std::fs::read_dir("/dev/dri").is_ok_and(|d| {
        d.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    let expected = match (
        std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some(),
        gpu,
    ) {
        (true, _) => "painted AsAsked",
        (false, true) => "painted Composited",
        (false, false) => "painted WithoutGpu",
    };
    assert!(
        logged.contains(expected),
        "the start's line says {expected:?}: {}",
        logged
            .lines()
            .filter(|l| l.contains("started: "))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Signing out can take this computer's copy of the team with it.
    d.click("[data-testid=connection] button[data-action=sign-out]");
    d.click("input[name=remove-data]");
    d.screenshot(&artifacts, "10b-sign-out");
    d.click("[data-action=confirm-sign-out]");
    d.wait("input[name=server]");
    for name in ["cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"] {
        assert!(
            !home.join(name).exists(),
            "{name} is gone after sign-out with removal"
        );
    }

    // As an admin, the same ticket's controls are open.
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "admin@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");
    d.click("a[data-view=all]");
    d.click(&format!("[data-ticket='{bens_id}'] td.subject"));
    wait_for(
        "the admin's open status control",
        Duration::from_secs(20),
        || {
            let v = d.script(
            "const o = document.querySelector(\"select[aria-label='Change status'] option[value=resolved]\"); \
             return o ? !o.disabled : null;",
            json!([]),
        );
            (v == json!(true)).then_some(v)
        },
    );
    d.screenshot(&artifacts, "11-admin");

    // An admin assigns a conversation from the app; its open tickets follow.
    d.click("a[data-inbox=all]");
    d.click(&format!("li[data-conversation='{chat_id}'] a"));
    d.wait_text(
        "[data-testid=conversation-title]",
        "Nia's conversation",
        |t| t.contains("Nia Newcomer"),
    );
    // A ticket of the admin's own on it (the first one is closed), then the
    // conversation goes to another agent: the open ticket follows.
    d.click("button[data-action=create]");
    d.type_into(
        "[data-testid=create-form] input[aria-label=Subject]",
        "Renewal follow-up",
    );
    d.click("[data-testid=create-form] button[type=submit]");
    d.wait_text("[data-testid=ticket-subject]", "the admin's ticket", |t| {
        t.contains("Renewal follow-up")
    });
    d.click("a[data-action=conversation]");
    d.wait("select[aria-label='Assign conversation'] option[value]:not([value=''])");
    let to = d.script(
        "const s = document.querySelector(\"select[aria-label='Assign conversation']\"); \
         const o = [...s.options].find((o) => o.value !== '' && !o.disabled && !/Alice|Admin/.test(o.textContent)); \
         s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return o.textContent;",
        json!([]),
    );
    let to = to
        .as_str()
        .unwrap_or_else(|| panic!("an agent to assign to: {to}"))
        .to_owned();
    d.wait_text(
        "[data-testid=conversation-assignee]",
        "the conversation's new assignee",
        |t| t.contains(&to),
    );
    d.wait_text(
        "[data-testid=linked-tickets]",
        "its ticket following",
        |t| t.contains("Renewal follow-up") && t.contains(&to),
    );
    d.screenshot(&artifacts, "17-admin-assigns-conversation");

    d.call(reqwest::Method::DELETE, "", None);
    println!("screenshots in {}", artifacts.display());
    assert!(
        audits.is_empty(),
        "serious or critical accessibility findings:\n{}",
        audits.join("\n")
    );
}
