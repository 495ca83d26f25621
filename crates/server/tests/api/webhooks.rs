//! Replies reach the customer (RULES.md "Channels", "Webhooks"): signed
//! webhooks to a real receiver on 127.0.0.1, retried with the same id,
//! a reply's delivery state in the API, the integration's reports, the
//! 24-hour give-up with a moved clock, and a pending delivery that
//! survives kill -9 of the server.

use std::time::{Duration, Instant};

use fyncall_server::outbox::Attempt;
use fyncall_testkit::receiver::{Receiver, signed_with};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_stores;
use crate::common::*;

async fn subscribe(team: &Team, url: &str, events: &[&str]) -> (String, String) {
    let (s, v) = team
        .post(
            &team.admin,
            "/webhooks",
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let secret = v["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (v["id"].as_str().expect("id").to_owned(), secret)
}

async fn reply(team: &Team, body: &str) -> Value {
    let (s, v) = team
        .post(
            &team.alice,
            &format!("/conversations/{}/messages", team.conversation),
            json!({"body": body}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    v
}

/// The reply's delivery as the conversation shows it.
async fn delivery(team: &Team, message: &str) -> Value {
    let (s, c) = team
        .get(
            &team.alice,
            &format!("/conversations/{}", team.conversation),
        )
        .await;
    assert!(s.is_success(), "{c}");
    c["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == message)
        .map(|m| m["delivery"].clone())
        .unwrap_or(Value::Null)
}

async fn wait_until<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_reply_reaches_a_signed_webhook_retried_with_one_id(kind: Kind) {
    let team = Team::new(kind).await;
    let receiver = Receiver::start();
    receiver.answer_next(&[500]);
    let (hook, secret) = subscribe(&team, &receiver.url, &["message.created"]).await;
    let (s, list) = team.get(&team.admin, "/webhooks").await;
    assert!(s.is_success());
    assert_eq!(list[0]["id"], hook.as_str());
    assert_eq!(list[0]["state"], "active");
    assert!(
        list[0].get("secret").is_none(),
        "the secret is shown once: {list}"
    );
    // Agents do not manage webhooks.
    assert_error(&team.get(&team.alice, "/webhooks").await, 403, "forbidden");

    let sent_at = Instant::now();
    let message = reply(&team, "Your refund went out today.").await;
    let id = message["id"].as_str().expect("id").to_owned();
    assert_eq!(message["delivery"]["state"], "queued", "{message}");

    // 500 first, then (after about 5 s) 200: the same id both times.
    wait_until("two attempts", 20, || async {
        receiver.received().len() >= 2
    })
    .await;
    let got = receiver.received();
    let first_within = got[0].at.duration_since(sent_at);
    println!("reply to receiver: {} ms", first_within.as_millis());
    assert!(
        first_within < Duration::from_secs(2),
        "the first attempt came {first_within:?} after the reply"
    );
    assert_eq!(got[0].status, 500);
    assert_eq!(got[1].status, 200);
    assert_eq!(got[0].id, got[1].id, "one webhook-id across attempts");
    assert!(got[0].id.starts_with("msg_"), "{}", got[0].id);
    for r in &got {
        assert!(signed_with(&secret, r), "signed with the secret: {r:?}");
        assert!(!signed_with("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", r));
    }
    let event: Value = serde_json::from_str(&got[1].body).expect("json body");
    assert_eq!(event["type"], "message.created");
    assert_eq!(event["data"]["id"], id.as_str());
    assert_eq!(event["data"]["body"], "Your refund went out today.");
    assert_eq!(event["data"]["conversation_id"], team.conversation.as_str());
    assert!(event["timestamp"].is_string());
    assert_eq!(got[0].body, got[1].body, "the same body on every attempt");

    wait_until("sent", 10, || async {
        delivery(&team, &id).await["state"] == "sent"
    })
    .await;
    let d = delivery(&team, &id).await;
    assert_eq!(d["attempts"], 2, "{d}");

    // The delivery log: one delivery, both attempts.
    let (s, log) = team
        .get(&team.admin, &format!("/webhooks/{hook}/deliveries"))
        .await;
    assert!(s.is_success(), "{log}");
    let entry = &log["deliveries"][0];
    assert_eq!(entry["id"], got[0].id.as_str());
    assert_eq!(entry["state"], "sent");
    assert_eq!(entry["attempts"][0]["status"], 500);
    assert!(
        entry["attempts"][0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("500")
    );
    assert_eq!(entry["attempts"][1]["status"], 200);
    // Nothing recorded sent is sent again, by hand or by the worker.
    assert_error(
        &team
            .post(
                &team.admin,
                &format!("/webhooks/{hook}/deliveries/{}/retry", got[0].id),
                json!({}),
            )
            .await,
        409,
        "invalid_transition",
    );
    assert_error(
        &team
            .post(&team.bob, &format!("/messages/{id}/retry"), json!({}))
            .await,
        409,
        "invalid_transition",
    );

    // The integration says delivered, then read; a late "delivered" changes nothing.
    for (report, shown) in [
        ("delivered", "delivered"),
        ("read", "read"),
        ("delivered", "read"),
    ] {
        let (s, v) = team
            .post(
                &team.integration,
                &format!("/integrations/messages/{id}/delivery"),
                json!({"state": report}),
            )
            .await;
        assert_eq!(s.as_u16(), 204, "{v}");
        assert_eq!(delivery(&team, &id).await["state"], shown);
    }
    // Agents cannot report; customers' messages have no delivery.
    assert_error(
        &team
            .post(
                &team.alice,
                &format!("/integrations/messages/{id}/delivery"),
                json!({"state": "read"}),
            )
            .await,
        403,
        "forbidden",
    );

    // The change is pulled like every other: the conversation's data carries it.
    let (changes, _) = pull_all(&team.http, &team.url, &team.alice, 0).await;
    let pulled = changes
        .iter()
        .rfind(|c| c["entity"] == "conversation" && c["id"] == team.conversation.as_str())
        .expect("the conversation was pulled");
    let m = pulled["data"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == id.as_str())
        .expect("the reply");
    assert_eq!(m["delivery"]["state"], "read", "{m}");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(receiver.received().len(), 2, "nothing sent twice");
}

async fn events_are_chosen_and_comments_never_leave(kind: Kind) {
    let team = Team::new(kind).await;
    let receiver = Receiver::start();
    let (_, secret) = subscribe(&team, &receiver.url, &["ticket.created", "ticket.updated"]).await;
    let ticket = team.ticket(&team.alice, "high").await;
    let tid = ticket["id"].as_str().expect("id").to_owned();
    let (s, v) = team
        .post(
            &team.alice,
            &format!("/tickets/{tid}/comments"),
            json!({"body": "internal: customer is a VIP"}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (s, v) = team
        .post(
            &team.alice,
            &format!("/tickets/{tid}/status"),
            json!({"status": "in_progress"}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    wait_until("two events", 10, || async {
        receiver.received().len() >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = receiver.received();
    let kinds: Vec<String> = got
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).expect("json")["type"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        ["ticket.created", "ticket.updated"],
        "no event for the comment"
    );
    for r in &got {
        assert!(signed_with(&secret, r));
        assert!(
            !r.body.contains("VIP"),
            "an internal comment left the team: {}",
            r.body
        );
    }
    let updated: Value = serde_json::from_str(&got[1].body).expect("json");
    assert_eq!(updated["data"]["status"], "in_progress");
    assert!(
        updated["data"]["sla"].is_object(),
        "the ticket as the API shows it"
    );

    // Unknown events and plain http off this machine are refused before anything is kept.
    assert_error(
        &team
            .post(
                &team.admin,
                "/webhooks",
                json!({"url": receiver.url, "events": ["ticket.deleted"]}),
            )
            .await,
        422,
        "invalid",
    );
    let refused = team
        .post(
            &team.admin,
            "/webhooks",
            json!({"url": "http://hooks.example.com/x", "events": ["ticket.created"]}),
        )
        .await;
    assert_error(&refused, 422, "invalid");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("--allow-http-webhooks")
    );
    let (_, list) = team.get(&team.admin, "/webhooks").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

async fn a_reply_with_no_channel_fails_saying_what_to_do(kind: Kind) {
    let team = Team::new(kind).await;
    let message = reply(&team, "Anyone there?").await;
    assert_eq!(message["delivery"]["state"], "failed", "{message}");
    let why = message["delivery"]["reason"].as_str().unwrap_or("");
    assert!(why.contains("message.created"), "{why}");
    let id = message["id"].as_str().expect("id");
    // Retry with still nothing subscribed: refused, saying what to do.
    assert_error(
        &team
            .post(&team.alice, &format!("/messages/{id}/retry"), json!({}))
            .await,
        422,
        "invalid",
    );
    // Subscribed now: Retry sends it.
    let receiver = Receiver::start();
    let (_, secret) = subscribe(&team, &receiver.url, &["message.created"]).await;
    let (s, v) = team
        .post(&team.bob, &format!("/messages/{id}/retry"), json!({}))
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["delivery"]["state"], "queued");
    wait_until("the retried reply", 10, || async {
        !receiver.received().is_empty()
    })
    .await;
    assert!(signed_with(&secret, &receiver.received()[0]));
    wait_until("sent", 10, || async {
        delivery(&team, id).await["state"] == "sent"
    })
    .await;
}

async fn temporary_failures_give_up_after_24_hours_with_a_moved_clock(kind: Kind) {
    // The worker is off: this test attempts with its own clock.
    let team = Team::with_config(
        kind,
        fyncall_server::Config {
            deliver: false,
            ..Default::default()
        },
    )
    .await;
    // A receiver that went away: its port answers nothing.
    let url = Receiver::start().url.clone();
    let (hook, _) = subscribe(&team, &url, &["message.created"]).await;
    let message = reply(&team, "Checking in").await;
    let id = message["id"].as_str().expect("id").to_owned();
    let client = fyncall_server::deliver::client();
    let mut now = fyncall_server::time::now();
    let start = now;
    let mut attempts = 0;
    loop {
        let store = team.store.clone();
        let by = Uuid::new_v4();
        let claimed = tokio::task::spawn_blocking(move || {
            store.claim_deliveries(by, now, now + chrono::Duration::seconds(45), 10)
        })
        .await
        .expect("joined")
        .expect("claim");
        if claimed.is_empty() {
            break;
        }
        assert_eq!(claimed.len(), 1);
        let mut attempt: Attempt =
            fyncall_server::deliver::attempt(&client, false, &claimed[0]).await;
        assert!(attempt.status.is_none(), "{attempt:?}");
        attempt.at = now;
        attempts += 1;
        let store = team.store.clone();
        let done = vec![(claimed[0].clone(), attempt)];
        tokio::task::spawn_blocking(move || store.record_attempts(by, &done))
            .await
            .expect("joined")
            .expect("record");
        let (_, log) = team
            .get(&team.admin, &format!("/webhooks/{hook}/deliveries"))
            .await;
        match log["deliveries"][0]["next_at"].as_str() {
            Some(next) => {
                now = fyncall_server::time::parse(next).expect("time");
                assert_eq!(log["deliveries"][0]["state"], "queued");
            }
            None => break,
        }
    }
    println!(
        "attempts before giving up: {attempts}, over {} h",
        (now - start).num_hours()
    );
    assert_eq!(
        attempts, 29,
        "5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly for 24 h"
    );
    assert!(now - start <= chrono::Duration::hours(24));
    let d = delivery(&team, &id).await;
    assert_eq!(d["state"], "failed", "{d}");
    assert_eq!(d["attempts"], 29);
    let why = d["reason"].as_str().unwrap_or("");
    assert!(
        why.starts_with("gave up after 24 h") && why.contains("could not connect"),
        "{why}"
    );
    // Every delivery of the webhook failed for 24 hours: it is paused.
    let (_, list) = team.get(&team.admin, "/webhooks").await;
    assert_eq!(list[0]["state"], "paused", "{list}");
    assert!(
        list[0]["paused_reason"]
            .as_str()
            .unwrap_or("")
            .contains("24 hours")
    );
    // An agent's Retry queues it again (and the admin resumes the webhook).
    let (s, v) = team
        .post(&team.bob, &format!("/messages/{id}/retry"), json!({}))
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["delivery"]["state"], "queued");
    let (s, v) = team
        .call(
            &team.admin,
            Method::PATCH,
            &format!("/webhooks/{hook}"),
            Some(json!({"paused": false})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["state"], "active");
}

async fn a_retry_after_a_reported_failure_sends_the_waiting_delivery_not_a_second(kind: Kind) {
    let team = Team::new(kind).await;
    let receiver = Receiver::start();
    receiver.answer_always(503);
    subscribe(&team, &receiver.url, &["message.created"]).await;
    let message = reply(&team, "We have found your parcel.").await;
    let id = message["id"].as_str().expect("id").to_owned();
    wait_until("the first attempt", 10, || async {
        !receiver.received().is_empty()
    })
    .await;
    wait_until("the reply waits for its next try", 10, || async {
        let d = delivery(&team, &id).await;
        d["state"] == "queued" && d["attempts"] == 1
    })
    .await;
    // While it waits (about 5 s), the integration says the customer did not get it.
    let (s, v) = team
        .post(
            &team.integration,
            &format!("/integrations/messages/{id}/delivery"),
            json!({"state": "failed", "reason": "the chat session has ended"}),
        )
        .await;
    assert_eq!(s.as_u16(), 204, "{v}");
    let d = delivery(&team, &id).await;
    assert_eq!(d["state"], "failed");
    assert_eq!(d["reason"], "the chat session has ended");
    // The receiver is back; an agent presses Retry: the waiting delivery
    // goes now, under its own id, and no second one is made.
    receiver.answer_always(200);
    let (s, v) = team
        .post(&team.bob, &format!("/messages/{id}/retry"), json!({}))
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(v["delivery"]["state"], "queued");
    wait_until("sent", 10, || async {
        delivery(&team, &id).await["state"] == "sent"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = receiver.received();
    assert!(got.len() >= 2, "{got:?}");
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "one delivery, one webhook-id: {:?}",
        got.iter().map(|r| &r.id).collect::<Vec<_>>()
    );
    assert_eq!(
        got.iter().filter(|r| r.status == 200).count(),
        1,
        "taken once"
    );
}

both_stores!(
    a_retry_after_a_reported_failure_sends_the_waiting_delivery_not_a_second,
    a_reply_reaches_a_signed_webhook_retried_with_one_id,
    events_are_chosen_and_comments_never_leave,
    a_reply_with_no_channel_fails_saying_what_to_do,
    temporary_failures_give_up_after_24_hours_with_a_moved_clock,
);

const ADMIN_PASSWORD: &str = "webhook test password";

/// A delivery pending (its receiver down) when the server is killed with
/// SIGKILL is sent after the restart, once, with the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_delivery_survives_kill_9_and_waits_while_held() {
    let place = Place::new(Kind::Sqlite).await;
    let db = place.args();
    init_team(&db, ADMIN_PASSWORD);
    let (mut server, url) = serve(&db);
    let http = reqwest::Client::new();
    let base = url.trim_end_matches("/api/v1");
    let token = fyncall_testkit::http::login(&http, base, "root@example.com", ADMIN_PASSWORD)
        .await
        .token;
    let call = |method: Method, path: &str, token: &str, body: Value| {
        let req = http
            .request(method, format!("{url}{path}"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let r = req.send().await.expect("the server answers");
            let status = r.status();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The receiver's port, with nobody listening on it for now.
    let port = Receiver::start().port;
    let hook_url = format!("http://127.0.0.1:{port}/hook");
    let (s, hook) = call(
        Method::POST,
        "/webhooks",
        &token,
        json!({"url": hook_url, "events": ["message.created"]}),
    )
    .await;
    assert_eq!(s.as_u16(), 201, "{hook}");
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let hook = hook["id"].as_str().expect("id").to_owned();
    let (_, integration) = call(
        Method::POST,
        "/integrations/tokens",
        &token,
        json!({"name": "chat"}),
    )
    .await;
    let integration = integration["token"].as_str().expect("token").to_owned();
    let (_, conv) = call(
        Method::POST,
        "/integrations/conversations",
        &integration,
        json!({"customer": {"name": "C", "email": "c@example.com"}, "channel": "chat"}),
    )
    .await;
    let conv = conv["id"].as_str().expect("id").to_owned();
    let (s, message) = call(
        Method::POST,
        &format!("/conversations/{conv}/messages"),
        &token,
        json!({"body": "On its way"}),
    )
    .await;
    assert_eq!(s.as_u16(), 201, "{message}");
    // Its first attempt failed (nobody listening): pending.
    wait_until("a failed first attempt", 10, || {
        let call = call(
            Method::GET,
            &format!("/webhooks/{hook}/deliveries"),
            &token,
            Value::Null,
        );
        async move {
            let (_, log) = call.await;
            log["deliveries"][0]["attempts"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        }
    })
    .await;
    server.kill();
    let receiver = Receiver::start_on(port);
    // Served with deliveries held (a staging copy): the receiver is up,
    // and nothing is sent.
    let mut held_args = db.clone();
    held_args.push("--hold-deliveries".into());
    let (mut held, _) = serve(&held_args);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        receiver.received().is_empty(),
        "nothing leaves while deliveries are held"
    );
    held.kill();
    let (_server, _) = serve(&db);
    wait_until("the delivery after the restart", 30, || async {
        !receiver.received().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent once: {got:?}");
    assert!(signed_with(&secret, &got[0]));
    let event: Value = serde_json::from_str(&got[0].body).expect("json");
    assert_eq!(event["data"]["id"], message["id"]);
}

/// Two server processes on one PostgreSQL database work one outbox: 1,000
/// replies pushed to both, one process killed with SIGKILL half-way; every
/// reply reaches the receiver, and an id comes twice only where the killed
/// process had sent it without living to record it (its claim ran out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_processes_deliver_every_reply_while_one_is_killed() {
    const REPLIES: usize = 1000;
    let place = Place::new(Kind::Postgres).await;
    let db = place.args();
    init_team(&db, ADMIN_PASSWORD);
    let (mut a, url_a) = serve(&db);
    let (_b, url_b) = serve(&db);
    let http = reqwest::Client::new();
    let login = |url: String| {
        let http = http.clone();
        async move {
            fyncall_testkit::http::login(
                &http,
                url.trim_end_matches("/api/v1"),
                "root@example.com",
                ADMIN_PASSWORD,
            )
            .await
            .token
        }
    };
    let (token_a, token_b) = (login(url_a.clone()).await, login(url_b.clone()).await);
    let receiver = Receiver::start();
    let post = |url: &str, token: &str, path: &str, body: Value| {
        let req = http
            .post(format!("{url}{path}"))
            .bearer_auth(token)
            .json(&body);
        let path = path.to_owned();
        async move {
            let r = req.send().await.expect("the server answers");
            let status = r.status();
            let v = r.json::<Value>().await.unwrap_or(Value::Null);
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        }
    };
    let hook = post(
        &url_a,
        &token_a,
        "/webhooks",
        json!({"url": receiver.url, "events": ["message.created"]}),
    )
    .await;
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let integration = post(
        &url_a,
        &token_a,
        "/integrations/tokens",
        json!({"name": "chat"}),
    )
    .await;
    let integration = integration["token"].as_str().expect("token").to_owned();
    let conv = post(
        &url_a,
        &integration,
        "/integrations/conversations",
        json!({"customer": {"name": "C", "email": "c@example.com"}, "channel": "chat"}),
    )
    .await;
    let conv = conv["id"].as_str().expect("id").to_owned();
    let client_id = Uuid::new_v4();
    let mut ids = std::collections::HashSet::new();
    let started = Instant::now();
    for batch in 0..(REPLIES / 50) {
        let (url, token) = if batch % 2 == 0 || batch >= REPLIES / 100 {
            (&url_b, &token_b)
        } else {
            (&url_a, &token_a)
        };
        if batch == REPLIES / 100 {
            // Half-way: A dies with whatever it holds.
            a.kill();
        }
        let mutations: Vec<Value> = (0..50)
            .map(|i| {
                let id = Uuid::now_v7();
                ids.insert(id.to_string());
                json!({"id": Uuid::now_v7(), "name": "reply", "client_at": null,
                       "args": {"id": id, "conversation_id": conv, "body": format!("reply {batch}.{i}")}})
            })
            .collect();
        let v = post(
            url,
            token,
            "/sync/push",
            json!({"client_id": client_id, "mutations": mutations}),
        )
        .await;
        assert!(
            v["results"]
                .as_array()
                .expect("results")
                .iter()
                .all(|r| r["outcome"] == "applied"),
            "{v}"
        );
    }
    let delivered = || {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        for r in receiver.received().iter().filter(|r| r.status == 200) {
            let event: Value = serde_json::from_str(&r.body).expect("json");
            *seen
                .entry(event["data"]["id"].as_str().unwrap_or("").to_owned())
                .or_default() += 1;
        }
        seen
    };
    wait_until("every reply delivered", 180, || async {
        delivered().len() >= REPLIES
    })
    .await;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen = delivered();
    let all: std::collections::HashSet<String> = seen.keys().cloned().collect();
    assert_eq!(all, ids, "every reply, and nothing else");
    let twice = seen.values().filter(|n| **n > 1).count();
    println!(
        "{REPLIES} replies over two processes, one killed: all delivered in {took:?}; ids sent twice: {twice}"
    );
    assert!(
        twice <= 200,
        "at most the killed process's one claimed batch again: {twice}"
    );
    for r in receiver.received().iter().take(20) {
        assert!(signed_with(&secret, r));
    }
}
