//! Safe on a real network (API.md "Auth", "Operations"; OWASP ASVS level 2
//! V2 authentication, V3 sessions, V9 communications, V11/V13 limits):
//! each promise shown over real HTTP against a real server.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::{Kind, PASSWORD, Team, assert_error};

/// A client whose connections leave from `ip` (any 127.x address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    let ip: IpAddr = ip.parse().expect("an address");
    reqwest::Client::builder()
        .local_address(ip)
        .build()
        .expect("client")
}

async fn login_as(
    http: &reqwest::Client,
    team: &Team,
    email: &str,
    password: &str,
) -> (StatusCode, Option<u64>, Value) {
    let res = http
        .post(format!("{}/auth/login", team.url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("reaches the server");
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry, body)
}

/// ASVS 2.2.1: 20 parallel wrong guesses from one address get at most 5
/// evaluated; the rest, and then the right password, get 429 + Retry-After.
async fn parallel_guesses_from_one_address_are_cut_at_five(kind: Kind) {
    let team = Team::new(kind).await;
    let http = client_from("127.0.0.5");
    let guesses = (0..20).map(|i| {
        let http = http.clone();
        let team = &team;
        async move {
            login_as(
                &http,
                team,
                "alice@example.com",
                &format!("wrong guess {i}"),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let evaluated = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert!(evaluated <= 5, "{evaluated} guesses were evaluated");
    assert_eq!(evaluated + refused.len(), 20, "{answers:?}");
    for (_, retry, body) in &refused {
        let retry = retry.expect("Retry-After on every 429");
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
        assert_eq!(body["error"]["code"], "rate_limited");
    }
    let (status, retry, _) = login_as(&http, &team, "alice@example.com", PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password waits too"
    );
    assert!(retry.is_some());
    // Another address is not held back by this one.
    let (status, _, _) = login_as(
        &client_from("127.0.0.6"),
        &team,
        "alice@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// An email longer than any address (254 characters) is refused with
/// `invalid` before the sign-in limits count it, so made-up huge emails
/// cost the limiter nothing: after ten of them from one address, that
/// address still signs in with the right password.
async fn an_overlong_email_is_refused_before_it_is_counted(kind: Kind) {
    let team = Team::new(kind).await;
    let http = client_from("127.0.0.7");
    for i in 0..10 {
        let email = format!("{}{i}@example.com", "x".repeat(200_000));
        let (status, _, body) = login_as(&http, &team, &email, "any password at all").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "invalid", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("254")),
            "{body}"
        );
    }
    // 254 characters is still an address (a wrong one: 401, counted).
    let longest = format!("{}@example.com", "y".repeat(254 - "@example.com".len()));
    let (status, _, _) = login_as(&http, &team, &longest, "any password at all").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, body) = login_as(&http, &team, "alice@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A list's search text is at most 500 characters (each search scans
/// every row's text): one more is `invalid`, on ticket lists and the inbox.
async fn search_text_is_at_most_five_hundred_characters(kind: Kind) {
    let team = Team::new(kind).await;
    for list in ["/tickets?view=all&q=", "/conversations?q="] {
        let (status, body) = team
            .get(&team.alice, &format!("{list}{}", "a".repeat(500)))
            .await;
        assert_eq!(status, StatusCode::OK, "{list}: {body}");
        let (status, body) = team
            .get(&team.alice, &format!("{list}{}", "é".repeat(501)))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{list}: {body}");
        assert_eq!(body["error"]["code"], "invalid", "{body}");
        assert!(body["error"]["fields"]["q"].is_string(), "{body}");
    }
}

/// ASVS 2.2.1: 10 failures for one account from any addresses, and the 11th
/// attempt is refused, even from a fourth address and with the right password.
async fn one_account_is_limited_across_addresses(kind: Kind) {
    let team = Team::new(kind).await;
    let addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
    for i in 0..10 {
        let http = client_from(addresses[i % 3]);
        let (status, _, body) =
            login_as(&http, &team, "bob@example.com", "not bob's password").await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {}: {body}",
            i + 1
        );
    }
    let (status, retry, body) = login_as(
        &client_from("127.0.0.2"),
        &team,
        "bob@example.com",
        "not bob's password",
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        retry.is_some_and(|r| r > 60),
        "the account window is 15 minutes: {retry:?}"
    );
    let (status, _, _) = login_as(
        &client_from("127.0.0.7"),
        &team,
        "BOB@example.com ",
        PASSWORD,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "the account key ignores case and spaces"
    );
    // Other accounts sign in as usual.
    let (status, _, _) = login_as(
        &client_from("127.0.0.3"),
        &team,
        "alice@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// ASVS 2.2.1, 11.1.4: a flood of sign-ins (200, from 40 addresses, for
/// unknown accounts so every one is hashed) does not stop other requests:
/// reads keep answering while it runs. The slowest read is printed.
async fn a_sign_in_flood_leaves_reads_answering(kind: Kind) {
    let team = Team::new(kind).await;
    let flood = {
        let url = team.url.clone();
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for a in 0..40 {
                let http = client_from(&format!("127.0.1.{}", a + 1));
                for n in 0..5 {
                    let http = http.clone();
                    let url = url.clone();
                    tasks.push(tokio::spawn(async move {
                        http.post(format!("{url}/auth/login"))
                            .json(&json!({"email": format!("nobody{a}.{n}@example.com"), "password": "a long wrong password"}))
                            .send()
                            .await
                            .map(|r| r.status())
                    }));
                }
            }
            let mut statuses = Vec::new();
            for t in tasks {
                statuses.push(t.await.expect("joined").expect("answered"));
            }
            statuses
        })
    };
    let mut reads = 0;
    let mut slowest = Duration::ZERO;
    while !flood.is_finished() {
        let started = Instant::now();
        let (status, body) = team.get(&team.alice, "/tickets?view=all").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        slowest = slowest.max(started.elapsed());
        reads += 1;
        // An agent's pace, well under the per-session request rate.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let statuses = flood.await.expect("flood");
    assert_eq!(statuses.len(), 200);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "every sign-in of the flood was evaluated and refused: {statuses:?}"
    );
    assert!(reads >= 3, "reads went on during the flood ({reads})");
    println!("{kind:?}: {reads} reads during a 200-sign-in flood; slowest {slowest:?}");
}

/// Opens a live stream with `token`; the response, its status checked.
async fn open_stream(team: &Team, token: &str) -> reqwest::Response {
    let res = team
        .http
        .get(format!("{}/sync/stream", team.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream answers");
    assert_eq!(res.status(), StatusCode::OK);
    res
}

/// Reads `stream` until it ends; fails if it is still open after 5 s.
async fn ends_within_five_seconds(stream: reqwest::Response, what: &str) {
    let mut body = stream.bytes_stream();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the live stream stayed open after {what}");
}

async fn sign_in(team: &Team, email: &str, password: &str) -> String {
    let (s, v) = team
        .post(
            "",
            "/auth/login",
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().expect("token").to_owned()
}

/// ASVS 3.3.1, 3.3.3, 3.3.4: sessions are listed (this one marked), and
/// each way a session ends (ending it from another device, logout, a
/// password change, deactivation, an admin) makes its token 401 at once
/// and closes its live streams within 5 s.
async fn every_ended_session_stops_at_once(kind: Kind) {
    let team = Team::new(kind).await;
    let email = "alice@example.com";

    // Listed, with this device marked and an expiry 30 days out.
    let other = sign_in(&team, email, PASSWORD).await;
    let (s, list) = team.get(&team.alice, "/me/sessions").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().expect("a list").clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = list
        .iter()
        .find(|s| s["current"] == false)
        .and_then(|s| s["id"].as_str())
        .expect("the other session")
        .to_owned();
    assert!(
        list.iter()
            .all(|s| s.get("expires_at").is_some() && s.get("user_agent").is_some())
    );

    // Ended from this device.
    let stream = open_stream(&team, &other).await;
    let (s, _) = team
        .call(
            &team.alice,
            Method::DELETE,
            &format!("/me/sessions/{other_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(&team.get(&other, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "the session was ended from another device").await;
    assert_error(
        &team
            .call(
                &team.bob,
                Method::DELETE,
                &format!("/me/sessions/{other_id}"),
                None,
            )
            .await,
        404,
        "not_found",
    );

    // Logout.
    let token = sign_in(&team, email, PASSWORD).await;
    let stream = open_stream(&team, &token).await;
    let (s, _) = team.post(&token, "/auth/logout", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(&team.get(&token, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "logout").await;

    // A password change ends every other session, keeps this one.
    let other = sign_in(&team, email, PASSWORD).await;
    let stream = open_stream(&team, &other).await;
    let new_password = "a much longer passphrase";
    assert_error(
        &team
            .post(
                &team.alice,
                "/me/password",
                json!({"current_password": "not it at all", "new_password": new_password}),
            )
            .await,
        422,
        "invalid",
    );
    assert_error(
        &team
            .post(
                &team.alice,
                "/me/password",
                json!({"current_password": PASSWORD, "new_password": "too short"}),
            )
            .await,
        422,
        "invalid",
    );
    let (s, v) = team
        .post(
            &team.alice,
            "/me/password",
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_error(&team.get(&other, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "a password change").await;
    assert_eq!(
        team.get(&team.alice, "/me").await.0,
        StatusCode::OK,
        "the changing session stays"
    );
    assert_error(
        &team
            .post(
                "",
                "/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await,
        401,
        "unauthorized",
    );
    let fresh = sign_in(&team, email, new_password).await;

    // An admin ends every session of an agent; only an admin may.
    let stream = open_stream(&team, &fresh).await;
    let path = format!("/agents/{}/sessions", team.alice_id);
    assert_error(
        &team.call(&team.bob, Method::DELETE, &path, None).await,
        403,
        "forbidden",
    );
    let (s, _) = team.call(&team.admin, Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(&team.get(&team.alice, "/me").await, 401, "unauthorized");
    assert_error(&team.get(&fresh, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "an admin ended the sessions").await;

    // Deactivation ends them; reactivation does not bring them back.
    let token = sign_in(&team, email, new_password).await;
    let stream = open_stream(&team, &token).await;
    let agent = format!("/agents/{}", team.alice_id);
    let (s, v) = team
        .call(
            &team.admin,
            Method::PATCH,
            &agent,
            Some(json!({"active": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_error(&team.get(&token, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "deactivation").await;
    let (s, _) = team
        .call(
            &team.admin,
            Method::PATCH,
            &agent,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_error(&team.get(&token, "/me").await, 401, "unauthorized");
    sign_in(&team, email, new_password).await;
}

/// ASVS 3.3.2: a session unused for `--session-days` ends (here 2 s), and
/// its stream closes; one in use stays.
async fn an_unused_session_expires(kind: Kind) {
    let config = fyncall_server::Config {
        session_idle: chrono::TimeDelta::seconds(2),
        ..Default::default()
    };
    let team = Team::with_config(kind, config).await;
    let token = sign_in(&team, "bob@example.com", PASSWORD).await;
    let (s, v) = team
        .post(
            "",
            "/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let expires: chrono::DateTime<chrono::Utc> = v["expires_at"]
        .as_str()
        .expect("expires_at")
        .parse()
        .expect("a time");
    assert!(expires > chrono::Utc::now(), "{v}");
    let stream = open_stream(&team, &token).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_error(&team.get(&token, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "the session expired").await;
}

/// ASVS 3.3.2: a session ends at its absolute lifetime (`--session-max-days`)
/// however much it is used: used every half second, it still answers 401
/// once the lifetime (3 s here) has passed, and its live stream closes.
async fn a_session_in_use_ends_at_its_absolute_lifetime(kind: Kind) {
    let config = fyncall_server::Config {
        session_max: chrono::TimeDelta::seconds(3),
        ..Default::default()
    };
    let team = Team::with_config(kind, config).await;
    let token = sign_in(&team, "bob@example.com", PASSWORD).await;
    assert_eq!(team.get(&token, "/me").await.0, StatusCode::OK);
    let (_, list) = team.get(&token, "/me/sessions").await;
    let expires: chrono::DateTime<chrono::Utc> = list[0]["expires_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        expires < chrono::Utc::now() + chrono::TimeDelta::seconds(4),
        "the listed expiry is the lifetime's, not the idle timeout's: {list}"
    );
    let stream = open_stream(&team, &token).await;
    let mut ended = false;
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if team.get(&token, "/me").await.0 == StatusCode::UNAUTHORIZED {
            ended = true;
            break;
        }
    }
    assert!(ended, "a session used all along outlived its lifetime");
    assert_error(&team.get(&token, "/me").await, 401, "unauthorized");
    ends_within_five_seconds(stream, "the session reached its lifetime").await;
    // Signing in again starts a new one.
    let again = sign_in(&team, "bob@example.com", PASSWORD).await;
    assert_eq!(team.get(&again, "/me").await.0, StatusCode::OK);
}

/// Integration tokens are listed without their secret, and a revoked one
/// stops at once.
async fn integration_tokens_are_listed_and_revoked(kind: Kind) {
    let team = Team::new(kind).await;
    let (s, made) = team
        .post(
            &team.admin,
            "/integrations/tokens",
            json!({"name": "helpdesk widget"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().expect("token").to_owned();
    let id = made["id"].as_str().expect("id").to_owned();
    let (s, list) = team.get(&team.admin, "/integrations/tokens").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let mine = list
        .as_array()
        .and_then(|l| l.iter().find(|t| t["id"] == id.as_str()))
        .expect("listed")
        .clone();
    assert_eq!(mine["name"], "helpdesk widget");
    assert!(mine.get("created_at").is_some() && mine.get("last_used_at").is_some());
    assert!(
        !list.to_string().contains(&token),
        "the secret is never shown again"
    );
    assert_error(
        &team.get(&team.alice, "/integrations/tokens").await,
        403,
        "forbidden",
    );

    let open = |token: String| {
        let team = &team;
        async move {
            team.post(&token, "/integrations/conversations", json!({"customer": {"name": "Dana", "email": "dana@example.com"}, "channel": "chat"}))
                .await
        }
    };
    assert_eq!(open(token.clone()).await.0, StatusCode::CREATED);
    let (s, _) = team
        .call(
            &team.admin,
            Method::DELETE,
            &format!("/integrations/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_error(&open(token).await, 401, "unauthorized");
    assert_error(
        &team
            .call(
                &team.admin,
                Method::DELETE,
                &format!("/integrations/tokens/{id}"),
                None,
            )
            .await,
        404,
        "not_found",
    );
}

/// ASVS 11.1.4: at most 8 live streams per session; the 9th is 429.
async fn the_ninth_stream_of_a_session_is_refused(kind: Kind) {
    let team = Team::new(kind).await;
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(open_stream(&team, &team.alice).await);
    }
    let ninth = team
        .http
        .get(format!("{}/sync/stream", team.url))
        .bearer_auth(&team.alice)
        .send()
        .await
        .expect("answers");
    assert_eq!(ninth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(ninth.headers().get("retry-after").is_some());
    // Another session has its own eight; a closed stream frees its place.
    drop(open_stream(&team, &team.bob).await);
    drop(open.pop());
    let mut again = None;
    for _ in 0..50 {
        let res = team
            .http
            .get(format!("{}/sync/stream", team.url))
            .bearer_auth(&team.alice)
            .send()
            .await
            .expect("answers");
        if res.status() == StatusCode::OK {
            again = Some(res);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a closed stream gives its place back");
}

/// ASVS 11.1.4: a session over its request rate gets 429 with Retry-After;
/// another session is not slowed by it.
async fn a_session_over_its_request_rate_gets_429(kind: Kind) {
    let config = fyncall_server::Config {
        max_request_rate: 5,
        request_burst: 10,
        ..Default::default()
    };
    let team = Team::with_config(kind, config).await;
    let mut limited = None;
    for _ in 0..40 {
        let res = team
            .http
            .get(format!("{}/me", team.url))
            .bearer_auth(&team.alice)
            .send()
            .await
            .expect("answers");
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("a 429 within 40 quick requests");
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert_eq!(team.get(&team.bob, "/me").await.0, StatusCode::OK);
}

/// A sign-in from one address, with a device token or none: its status
/// and answer.
async fn login_on_device(
    team: &Team,
    from: &str,
    email: &str,
    password: &str,
    device: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"email": email, "password": password});
    if let Some(d) = device {
        body["device_token"] = json!(d);
    }
    let res = client_from(from)
        .post(format!("{}/auth/login", team.url))
        .json(&body)
        .send()
        .await
        .expect("reaches the server");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// OWASP's device-cookie defence: guesses from anywhere lock the account
/// (429 for its right password too, without a device token), but not its
/// owner's device, whose sign-ins carry the device token an earlier sign-in
/// gave it; a stolen device token has a guessing limit of its own.
async fn guesses_from_elsewhere_do_not_lock_out_the_owner_s_device(kind: Kind) {
    let team = Team::new(kind).await;
    let email = "alice@example.com";
    let (s, v) = login_on_device(&team, "127.0.1.1", email, PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let device = v["device_token"]
        .as_str()
        .expect("a device token")
        .to_owned();
    // Twelve wrong guesses from twelve other addresses lock the account.
    for i in 0..12 {
        let from = format!("127.0.2.{}", i + 1);
        login_on_device(&team, &from, email, "a wrong guess!", None).await;
    }
    let (s, _) = login_on_device(&team, "127.0.3.1", email, PASSWORD, None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the account is locked");
    // The owner's device signs in, and keeps its token.
    let (s, v) = login_on_device(&team, "127.0.1.1", email, PASSWORD, Some(&device)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["device_token"], json!(device));
    // Another account's device token is no key to this one.
    let (s, bob) = login_on_device(&team, "127.0.4.1", "bob@example.com", PASSWORD, None).await;
    assert_eq!(s, StatusCode::OK);
    let bobs = bob["device_token"]
        .as_str()
        .expect("bob's device")
        .to_owned();
    let (s, _) = login_on_device(&team, "127.0.4.2", email, PASSWORD, Some(&bobs)).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "bob's device unlocks alice"
    );
    // A stolen device token: ten wrong guesses with it, then it is held too.
    for i in 0..10 {
        let from = format!("127.0.5.{}", i + 1);
        let (s, _) = login_on_device(&team, &from, email, "a wrong guess!", Some(&device)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = login_on_device(&team, "127.0.6.1", email, PASSWORD, Some(&device)).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "the device's own limit");
}

/// At most 20 live sessions per agent: the 21st sign-in ends the least
/// recently used one, and the rest stay.
async fn an_agent_keeps_at_most_twenty_sessions(kind: Kind) {
    let team = Team::new(kind).await;
    let email = "bob@example.com";
    // Team::new signed bob in once; 19 more make 20.
    let mut tokens = vec![team.bob.clone()];
    for _ in 0..19 {
        tokens.push(sign_in(&team, email, PASSWORD).await);
    }
    // Each used once, oldest first, so the first is the least recently used.
    for token in &tokens {
        assert_eq!(team.get(token, "/me").await.0, StatusCode::OK);
    }
    let (_, list) = team.get(&tokens[1], "/me/sessions").await;
    assert_eq!(list.as_array().map(Vec::len), Some(20), "{list}");
    let newest = sign_in(&team, email, PASSWORD).await;
    assert_eq!(
        team.get(&tokens[0], "/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    for token in tokens.iter().skip(1).chain([&newest]) {
        assert_eq!(team.get(token, "/me").await.0, StatusCode::OK);
    }
    let (_, list) = team.get(&newest, "/me/sessions").await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(fyncall_server::sessions::MAX_SESSIONS_PER_AGENT),
        "{list}"
    );
}

/// Made-up bearer tokens from one address share that address's request
/// rate (each used to get a burst of its own: 600 of them, 600 × 401 and
/// never a 429); a live session's requests keep theirs.
async fn made_up_tokens_share_their_address_s_rate(kind: Kind) {
    let config = fyncall_server::Config {
        max_request_rate: 1,
        request_burst: 10,
        ..Default::default()
    };
    let team = Team::with_config(kind, config).await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        let res = team
            .http
            .get(format!("{}/me", team.url))
            .bearer_auth(format!("fyn_made_up_{i:040}"))
            .send()
            .await
            .expect("answers");
        statuses.push(res.status());
    }
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        refused >= 20,
        "{refused} of 40 made-up tokens held back: {statuses:?}"
    );
    // A session signed in earlier is rated on its own.
    assert_eq!(team.get(&team.alice, "/me").await.0, StatusCode::OK);
}

/// Only a trusted proxy's X-Forwarded-For names the client: from anyone
/// else it is ignored, so it cannot dodge the per-address limit.
async fn forwarded_addresses_count_only_from_a_trusted_proxy(kind: Kind) {
    let guess = |team: &Team, forwarded: String| {
        let http = team.http.clone();
        let url = team.url.clone();
        async move {
            http.post(format!("{url}/auth/login"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({"email": "nobody@example.com", "password": "wrong password"}))
                .send()
                .await
                .expect("answers")
                .status()
        }
    };
    let untrusted = Team::new(kind).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(guess(&untrusted, format!("203.0.113.{i}")).await);
    }
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");

    let config = fyncall_server::Config {
        trusted_proxies: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..Default::default()
    };
    let behind_proxy = Team::with_config(kind, config).await;
    for i in 0..6 {
        let status = guess(&behind_proxy, format!("198.51.100.9, 203.0.113.{i}")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "client {i} is its own address"
        );
    }
}

/// ASVS 2.1.1, 2.1.2: passwords of 12 to 1,000 characters.
async fn passwords_are_twelve_to_a_thousand_characters(kind: Kind) {
    let team = Team::new(kind).await;
    for (password, ok) in [
        ("elevenchars", false),
        ("twelve chars", true),
        (&"x".repeat(1000)[..], true),
        (&"x".repeat(1001)[..], false),
    ] {
        let n = password.len();
        let (s, v) = team
            .post(&team.admin, "/agents", json!({"name": format!("Len {n}"), "email": format!("len{n}@example.com"), "role": "agent", "password": password}))
            .await;
        if ok {
            assert_eq!(s, StatusCode::CREATED, "{n}: {v}");
        } else {
            assert_error(&(s, v), 422, "invalid");
        }
    }
}

/// Old ended sessions and idempotency records are deleted; live ones stay.
async fn pruning_keeps_what_is_live(kind: Kind) {
    let team = Team::new(kind).await;
    let ended = sign_in(&team, "bob@example.com", PASSWORD).await;
    let (s, _) = team.post(&ended, "/auth/logout", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let store = team.store.clone();
    let future = chrono::Utc::now() + chrono::TimeDelta::seconds(1);
    let past = chrono::Utc::now() - chrono::TimeDelta::days(1);
    let (tokens, _) = tokio::task::spawn_blocking(move || store.prune(future, past))
        .await
        .expect("joined")
        .expect("pruned");
    // The logged-out session and every session unused since `future`
    // (all of them): the integration token stays.
    assert!(tokens >= 1, "{tokens}");
    assert_eq!(
        team.post(
            &team.integration,
            "/integrations/conversations",
            json!({"customer": {"name": "E", "email": "e@example.com"}, "channel": "chat"})
        )
        .await
        .0,
        StatusCode::CREATED
    );
}

both_stores!(
    parallel_guesses_from_one_address_are_cut_at_five,
    an_overlong_email_is_refused_before_it_is_counted,
    guesses_from_elsewhere_do_not_lock_out_the_owner_s_device,
    a_session_in_use_ends_at_its_absolute_lifetime,
    an_agent_keeps_at_most_twenty_sessions,
    made_up_tokens_share_their_address_s_rate,
    search_text_is_at_most_five_hundred_characters,
    one_account_is_limited_across_addresses,
    a_sign_in_flood_leaves_reads_answering,
    every_ended_session_stops_at_once,
    an_unused_session_expires,
    integration_tokens_are_listed_and_revoked,
    the_ninth_stream_of_a_session_is_refused,
    a_session_over_its_request_rate_gets_429,
    forwarded_addresses_count_only_from_a_trusted_proxy,
    passwords_are_twelve_to_a_thousand_characters,
    pruning_keeps_what_is_live,
);

/// ASVS 11.1.4: past the cap on requests served at once the server answers
/// 503 at once (with Retry-After) instead of queueing without end. Sign-ins
/// hold their slot while argon2 runs, so 12 at once against a cap of 1
/// meet it.
async fn requests_past_the_concurrency_cap_are_shed(kind: Kind) {
    let config = fyncall_server::Config {
        max_concurrent_requests: 1,
        ..Default::default()
    };
    let team = Team::with_config(kind, config).await;
    let attempts = (0..12).map(|i| {
        let http = client_from(&format!("127.0.2.{}", i + 1));
        let team = &team;
        async move {
            login_as(
                &http,
                team,
                &format!("nobody{i}@example.com"),
                "a wrong password",
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let shed: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(!shed.is_empty(), "{answers:?}");
    for (_, retry, body) in shed {
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        assert!(retry.is_some(), "Retry-After on a shed request");
    }
    assert!(
        answers
            .iter()
            .any(|(s, _, _)| *s == StatusCode::UNAUTHORIZED),
        "some were served"
    );
}

/// A request that takes longer than the request timeout is answered 503
/// with a sentence, not left hanging (a sign-in's argon2 outlasts 1 ms).
async fn a_request_past_the_timeout_gets_503(kind: Kind) {
    let team = Team::new(kind).await;
    // A second server on the same store, with a 1 ms request timeout.
    let config = fyncall_server::Config {
        request_timeout: Duration::from_millis(1),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hurried = fyncall_server::start_with(team.store.clone(), listener, config)
        .await
        .expect("start");
    let res = client_from("127.0.3.1")
        .post(format!("http://{}/api/v1/auth/login", hurried.addr))
        .json(&json!({"email": "alice@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("answers");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too long"))
    );
}

both_stores!(
    requests_past_the_concurrency_cap_are_shed,
    a_request_past_the_timeout_gets_503,
);
