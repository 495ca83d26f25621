//! Presence (RULES.md "Presence", API.md `POST /presence` and the stream's
//! `presence` event) on both stores, over real HTTP: heartbeats from one
//! session reach another's stream, typing shows, `left` and expiry end it,
//! deactivation removes it, bad heartbeats are refused.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::{Kind, Team, assert_error};

/// A live stream's `presence` events, as they come.
pub struct Watch {
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    text: String,
}

impl Watch {
    pub async fn open(http: &reqwest::Client, url: &str, token: &str) -> Watch {
        Watch::open_at(http, url, token, "/sync/stream").await
    }

    /// A stream at `path` (with its query).
    pub async fn open_at(http: &reqwest::Client, url: &str, token: &str, path: &str) -> Watch {
        let res = http
            .get(format!("{url}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("stream");
        assert!(res.status().is_success(), "{}", res.status());
        Watch {
            body: Box::pin(res.bytes_stream()),
            text: String::new(),
        }
    }

    /// The next event of any kind, its name and data, within `within`.
    pub async fn next_event(&mut self, within: Duration) -> (String, String) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let name = block
                    .lines()
                    .find_map(|l| l.strip_prefix("event:"))
                    .map(str::trim);
                let Some(name) = name else { continue };
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                return (name.to_owned(), data);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("an event came in time")
                .expect("the stream is open")
                .expect("bytes");
            self.text
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// The next `presence` list that satisfies `pred`, within `within`.
    pub async fn until(&mut self, within: Duration, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                if !block.contains("event: presence") {
                    continue;
                }
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                let list: Vec<Value> = serde_json::from_str(&data).expect("a presence list");
                if pred(&list) {
                    return list;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .expect("the presence awaited came in time")
                .expect("the stream is open")
                .expect("bytes");
            self.text
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }
}

async fn presence_reaches_the_team_and_ends(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "high").await;
    let tid = ticket["id"].as_str().expect("id").to_owned();
    let mut alice = Watch::open(&t.http, &t.url, &t.alice).await;
    // The first presence event: nobody anywhere.
    alice.until(Duration::from_secs(5), |l| l.is_empty()).await;

    let started = std::time::Instant::now();
    let (s, v) = t
        .post(
            &t.bob,
            "/presence",
            json!({"ticket_id": tid, "state": "viewing"}),
        )
        .await;
    assert_eq!(s, 204, "{v}");
    let list = alice.until(Duration::from_secs(3), |l| !l.is_empty()).await;
    println!(
        "bob's heartbeat reached alice's stream in {:?}",
        started.elapsed()
    );
    assert_eq!(
        list,
        vec![json!({"agent_id": t.bob_id, "ticket_id": tid, "state": "viewing"})]
    );
    // Typing shows; then a second agent on a conversation.
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "typing"}),
    )
    .await;
    alice
        .until(Duration::from_secs(3), |l| {
            l.iter().any(|e| e["state"] == "typing")
        })
        .await;
    t.post(
        &t.admin,
        "/presence",
        json!({"conversation_id": t.conversation, "state": "viewing"}),
    )
    .await;
    let list = alice.until(Duration::from_secs(3), |l| l.len() == 2).await;
    assert!(
        list.iter()
            .any(|e| e["conversation_id"] == Value::String(t.conversation.clone()))
    );
    // Leaving ends it at once.
    t.post(&t.bob, "/presence", json!({"state": "left"})).await;
    alice
        .until(Duration::from_secs(3), |l| {
            l.len() == 1 && l[0]["agent_id"] == Value::String(t.admin_id.clone())
        })
        .await;
    // 30 s with no heartbeat ends it too (the server's clock, moved on).
    let presence = t.running.as_ref().expect("running").presence.clone();
    presence.sweep(tokio::time::Instant::now() + Duration::from_secs(31));
    alice.until(Duration::from_secs(3), |l| l.is_empty()).await;

    // A deactivated agent is seen nowhere.
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "viewing"}),
    )
    .await;
    alice.until(Duration::from_secs(3), |l| l.len() == 1).await;
    let (s, v) = t
        .call(
            &t.admin,
            reqwest::Method::PATCH,
            &format!("/agents/{}", t.bob_id),
            Some(json!({"active": false})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    alice.until(Duration::from_secs(3), |l| l.is_empty()).await;

    // Heartbeats that name no place, or two, say what to do.
    let bad = t
        .post(&t.alice, "/presence", json!({"state": "viewing"}))
        .await;
    assert_error(&bad, 400, "bad_request");
    let bad = t
        .post(
            &t.alice,
            "/presence",
            json!({"ticket_id": tid, "conversation_id": t.conversation, "state": "typing"}),
        )
        .await;
    assert_error(&bad, 400, "bad_request");
    let bad = t
        .post(
            &t.alice,
            "/presence",
            json!({"ticket_id": tid, "state": "dancing"}),
        )
        .await;
    assert_error(&bad, 400, "bad_request");
    // Only agents have a presence.
    let anon = t
        .post(
            &t.integration,
            "/presence",
            json!({"ticket_id": tid, "state": "viewing"}),
        )
        .await;
    assert!(anon.0 == 401 || anon.0 == 403, "{:?}", anon);
}

async fn presence_events_come_at_most_once_a_second(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "high").await;
    let tid = ticket["id"].as_str().expect("id").to_owned();
    let mut alice = Watch::open(&t.http, &t.url, &t.alice).await;
    alice.until(Duration::from_secs(5), |l| l.is_empty()).await;
    // Twenty changes in a burst: the stream sends the latest, a second apart.
    let started = std::time::Instant::now();
    for i in 0..20 {
        let state = if i % 2 == 0 { "viewing" } else { "left" };
        t.post(
            &t.bob,
            "/presence",
            json!({"ticket_id": tid, "state": state}),
        )
        .await;
    }
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "typing"}),
    )
    .await;
    let mut events = 0;
    loop {
        let list = alice.until(Duration::from_secs(5), |_| true).await;
        events += 1;
        if list.iter().any(|e| e["state"] == "typing") {
            break;
        }
    }
    let took = started.elapsed();
    assert!(
        events <= 1 + took.as_secs() as usize + 1,
        "{events} events in {took:?}"
    );
}

/// A presence change held back to keep its stream at one presence event a
/// second holds back nothing else: a change made meanwhile is announced
/// before it (a stream that slept out the second sent every teammate's
/// change up to a second late).
async fn a_change_is_never_held_behind_presence(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "high").await;
    let tid = ticket["id"].as_str().expect("id").to_owned();
    let mut alice = Watch::open(&t.http, &t.url, &t.alice).await;
    alice.until(Duration::from_secs(5), |l| l.is_empty()).await;
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "viewing"}),
    )
    .await;
    alice.until(Duration::from_secs(5), |l| !l.is_empty()).await;
    // Within the second after that event: this one waits for its turn...
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "typing"}),
    )
    .await;
    // ...and a change made now does not.
    t.ticket(&t.bob, "low").await;
    let (first, data) = alice.next_event(Duration::from_secs(5)).await;
    assert_eq!(
        first, "changed",
        "the change waited behind presence: {data}"
    );
    loop {
        let (name, data) = alice.next_event(Duration::from_secs(5)).await;
        if name == "presence" {
            assert!(data.contains("typing"), "{data}");
            break;
        }
    }
}

/// With `?presence=changes`, the first list comes whole and then only what
/// changed: a heartbeat's entry, a state that moved, a place left.
async fn presence_changes_carry_what_changed(kind: Kind) {
    let t = Team::new(kind).await;
    let ticket = t.ticket(&t.alice, "high").await;
    let tid = ticket["id"].as_str().expect("id").to_owned();
    let (s, v) = t.get(&t.alice, "/sync/stream?presence=everything").await;
    assert_error(&(s, v), 400, "bad_request");
    let mut alice =
        Watch::open_at(&t.http, &t.url, &t.alice, "/sync/stream?presence=changes").await;
    let wait = Duration::from_secs(5);
    let mut next_presence = async || loop {
        let (name, data) = alice.next_event(wait).await;
        if name.starts_with("presence") {
            return (name, serde_json::from_str::<Value>(&data).expect("json"));
        }
    };
    assert_eq!(next_presence().await, ("presence".to_owned(), json!([])));
    t.post(
        &t.admin,
        "/presence",
        json!({"conversation_id": t.conversation, "state": "viewing"}),
    )
    .await;
    assert_eq!(
        next_presence().await,
        (
            "presence_changes".to_owned(),
            json!({"set": [{"agent_id": t.admin_id, "conversation_id": t.conversation, "state": "viewing"}]})
        )
    );
    t.post(
        &t.bob,
        "/presence",
        json!({"ticket_id": tid, "state": "typing"}),
    )
    .await;
    assert_eq!(
        next_presence().await,
        (
            "presence_changes".to_owned(),
            json!({"set": [{"agent_id": t.bob_id, "ticket_id": tid, "state": "typing"}]})
        ),
        "only Bob's entry: the admin's did not change"
    );
    t.post(&t.bob, "/presence", json!({"state": "left"})).await;
    assert_eq!(
        next_presence().await,
        (
            "presence_changes".to_owned(),
            json!({"gone": [{"agent_id": t.bob_id, "ticket_id": tid}]})
        )
    );
}

both_stores!(
    presence_changes_carry_what_changed,
    presence_reaches_the_team_and_ends,
    presence_events_come_at_most_once_a_second,
    a_change_is_never_held_behind_presence
);
