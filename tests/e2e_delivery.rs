//! Replies reach the customer, end to end in the real app: a real
//! `fyncall-server` with demo data, a webhook subscribed (in the app's
//! Admin → Webhooks page) to a real HTTP receiver on 127.0.0.1, and the
//! recording notification service on the desktop's private D-Bus. Alice
//! answers a customer's chat: the reply shows Sent once the receiver took
//! it (signed with the secret the page showed once). The receiver then
//! answers 503: the next reply shows Sending… while it is retried; the
//! integration reports that the customer did not get it: Failed with the
//! reason, a Retry button and a desktop notification. The receiver is
//! back, Retry: Sent; the integration reports delivered, then read.
//! Screenshots of each state in `artifacts/e2e/`.
//!
//! Run by `scripts/test` with the app it built:
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e_delivery -- --ignored`

mod desk;
mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use desk::*;
use fyncall_testkit::receiver::{Receiver, signed_with};
use serde_json::{Value, json};

/// The id of the reply in the thread whose text holds `body`.
fn reply_id(d: &Driver, body: &str) -> String {
    let id = wait_for("the reply in the thread", Duration::from_secs(20), || {
        let v = d.script(
            "const li = [...document.querySelectorAll('li.message.agent')] \
               .find((l) => l.querySelector('.message-body')?.textContent === arguments[0]); \
             return li ? li.dataset.message : null;",
            json!([body]),
        );
        v.as_str().map(|s| Value::String(s.to_owned()))
    });
    id.as_str().expect("id").to_owned()
}

/// Waits until the reply `id` shows `state`; its delivery word.
fn shows(d: &Driver, id: &str, state: &str) -> String {
    let word = wait_for(
        &format!("the reply {state}"),
        Duration::from_secs(30),
        || {
            let v = d.script(
                "const e = document.querySelector(`li[data-message='${arguments[0]}'] [data-delivery]`); \
                 return e ? [e.dataset.delivery, e.textContent] : null;",
                json!([id]),
            );
            (v[0].as_str() == Some(state)).then(|| v[1].clone())
        },
    );
    word.as_str().unwrap_or_default().to_owned()
}

fn send_reply(d: &Driver, body: &str) -> String {
    d.type_into("textarea[aria-label=Reply]", body);
    d.click("button[data-action=send-reply]");
    reply_id(d, body)
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn a_reply_shows_its_way_to_the_customer() {
    let Run {
        app,
        artifacts,
        dir: run,
        mut reaper,
    } = run();
    let mut audits: Vec<String> = Vec::new();
    let server = demo_server(run.path());
    let url = server.url.clone();
    reaper.0.push(server.child);
    let receiver = Receiver::start();
    let (api, admin) = api_login(&url, "admin@demo.fyncall.test");
    let call = |token: &str, method: reqwest::Method, path: &str, body: Value| -> Value {
        let res = api
            .request(method, format!("{url}/api/v1{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .expect("the server answers");
        let status = res.status();
        let v: Value = res.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    };
    let integration = call(
        &admin,
        reqwest::Method::POST,
        "/integrations/tokens",
        json!({"name": "chat platform"}),
    );
    let integration = integration["token"].as_str().expect("token").to_owned();
    let chat = call(
        &integration,
        reqwest::Method::POST,
        "/integrations/conversations",
        json!({"customer": {"name": "Carla Cruz", "email": "carla@example.org"}, "channel": "chat"}),
    );
    let chat_id = chat["id"].as_str().expect("id").to_owned();
    call(
        &integration,
        reqwest::Method::POST,
        &format!("/integrations/conversations/{chat_id}/messages"),
        json!({"author": "customer", "body": "Where is my parcel?"}),
    );

    let desktop = Desktop::start(run.path(), &mut reaper);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let seen: Arc<Mutex<Vec<support::Recorded>>> = Arc::default();
    let _notifications = runtime
        .block_on(support::serve(&desktop.bus, seen.clone()))
        .expect("the notification service");
    let home = run.path().join("home");
    let d = desktop.launch(&app, &["--home".into(), home.display().to_string()]);
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "admin@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");

    // The admin subscribes the chat platform's receiver in the app; the
    // secret is shown once.
    d.click("a[data-nav=admin]");
    d.click("[data-section=webhooks]");
    d.wait("[data-testid=admin-webhooks]");
    d.type_into("[data-field=webhook-url]", &receiver.url);
    d.type_into("[data-field=webhook-description]", "chat platform");
    d.click("[data-action=save-webhook]");
    let secret = d.wait_text("[data-testid=webhook-secret]", "the secret", |t| {
        t.starts_with("whsec_")
    });
    let secret = secret.trim().to_owned();
    d.screenshot(&artifacts, "23-admin-webhooks");
    audits.extend(d.audit("admin: webhooks"));
    d.click("[data-testid=new-webhook] button:last-child");

    // Carla's chat: a reply that gets through.
    d.click("a[data-inbox=unassigned]");
    d.click(&format!("li[data-conversation='{chat_id}'] a"));
    d.wait_text(
        "[data-testid=conversation-title]",
        "Carla's conversation",
        |t| t.contains("Carla Cruz"),
    );
    let first = send_reply(&d, "It left our warehouse this morning.");
    assert_eq!(shows(&d, &first, "sent"), "Sent");
    let got = receiver.received();
    let taken = got
        .iter()
        .find(|r| r.body.contains("It left our warehouse"))
        .expect("the receiver got the reply");
    assert_eq!(taken.status, 200);
    assert!(
        signed_with(&secret, taken),
        "signed with the secret the page showed"
    );
    d.screenshot(&artifacts, "24-reply-sent");
    audits.extend(d.audit("conversation: a reply sent"));

    // The receiver fails: the next reply is retried (Sending…, the reason
    // in its tooltip).
    receiver.answer_always(503);
    let second = send_reply(&d, "A courier will call you tomorrow.");
    wait_for("a refused attempt", Duration::from_secs(20), || {
        receiver
            .received()
            .iter()
            .any(|r| r.status == 503 && r.body.contains("A courier will call"))
            .then_some(Value::Null)
    });
    d.wait_text(
        &format!("li[data-message='{second}'] [data-delivery=queued]"),
        "the retry's reason",
        |_| {
            d.script(
                "return document.querySelector(`li[data-message='${arguments[0]}'] [data-delivery]`)?.title ?? '';",
                json!([second]),
            )
            .as_str()
            .is_some_and(|t| t.contains("503"))
        },
    );
    assert_eq!(shows(&d, &second, "queued"), "Sending…");
    d.screenshot(&artifacts, "25-reply-retrying");

    // The integration says the customer did not get it: Failed, the
    // reason, Retry; and Alice's desktop tells her.
    let from = seen.lock().map(|s| s.len()).unwrap_or(0);
    call(
        &integration,
        reqwest::Method::POST,
        &format!("/integrations/messages/{second}/delivery"),
        json!({"state": "failed", "reason": "the customer's chat session has ended"}),
    );
    assert_eq!(shows(&d, &second, "failed"), "Failed");
    let failed = d.text(&format!(
        "li[data-message='{second}'] [data-testid=delivery-failed]"
    ));
    assert!(
        failed.contains("the customer's chat session has ended") && failed.contains("Retry"),
        "{failed}"
    );
    d.screenshot(&artifacts, "26-reply-failed");
    audits.extend(d.audit("conversation: a reply failed"));
    let start = Instant::now();
    let notice = loop {
        let found = seen.lock().ok().and_then(|s| {
            s.iter()
                .skip(from)
                .find(|r| r.summary.contains("could not be delivered"))
                .cloned()
        });
        if let Some(n) = found {
            break n;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no notification of the failed reply; seen: {:?}",
            seen.lock().map(|s| s.clone()).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        notice.summary,
        "Your reply to Carla Cruz could not be delivered: the customer's chat session has ended"
    );
    assert!(notice.body.contains("A courier will call"), "{notice:?}");

    // The receiver is back; Retry: the waiting delivery goes now.
    receiver.answer_always(200);
    d.click(&format!(
        "li[data-message='{second}'] [data-action=retry-delivery]"
    ));
    assert_eq!(shows(&d, &second, "sent"), "Sent");
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .filter(|r| r.body.contains("A courier will call"))
        .map(|r| r.id.clone())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one delivery, one webhook-id: {ids:?}"
    );

    // The integration reports delivered, then read.
    call(
        &integration,
        reqwest::Method::POST,
        &format!("/integrations/messages/{second}/delivery"),
        json!({"state": "delivered"}),
    );
    assert_eq!(shows(&d, &second, "delivered"), "Delivered");
    d.screenshot(&artifacts, "27-reply-delivered");
    call(
        &integration,
        reqwest::Method::POST,
        &format!("/integrations/messages/{first}/delivery"),
        json!({"state": "read"}),
    );
    assert_eq!(shows(&d, &first, "read"), "Read");

    // The delivery log in the admin console: both replies, each attempt.
    d.click("a[data-nav=admin]");
    d.click("[data-section=webhooks]");
    d.click("[data-action=webhook-log]");
    d.wait_text("[data-testid=webhook-log]", "the delivery log", |t| {
        t.contains("503") && t.contains("200")
    });
    d.screenshot(&artifacts, "28-webhook-log");
    audits.extend(d.audit("admin: webhook log"));

    d.quit();
    assert!(audits.is_empty(), "accessibility findings: {audits:#?}");
}
