//! The email channel with its sizes, against a real Dovecot and a real SMTP
//! server on 127.0.0.1 and the release server process: mails taken a
//! second from a mailbox already holding FYNCALL_BENCH_MAILS (default
//! 10,000), the mail-to-conversation latency with IDLE (one mail at a time,
//! p50/p95/max of 50), and replies sent a second by SMTP (500 queued at
//! once). Everything shares the machine's cores.

use std::time::{Duration, Instant};

use fyncall_testkit::mail::{Dovecot, SmtpSink};
use serde_json::{Value, json};

mod support;
use support::{login, ms, percentile, post, serve};

const SUPPORT: &str = "support@bench.example";

fn mail(i: usize) -> Vec<u8> {
    format!(
        "From: Customer {i} <customer{i}@bench.example>\r\nTo: {SUPPORT}\r\nSubject: Question {i}\r\nMessage-ID: <bench-{i}@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, where is parcel {i}? It was due on Monday.\r\n"
    )
    .into_bytes()
}

async fn total(http: &reqwest::Client, api: &str, token: &str) -> u64 {
    let v: Value = match http
        .get(format!("{api}/conversations?view=all&limit=1"))
        .bearer_auth(token)
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    v["total"].as_u64().unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mails: usize = std::env::var("FYNCALL_BENCH_MAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let bin = env!("CARGO_BIN_EXE_fyncall-server");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = fyncall_testkit::server::demo_db(bin.as_ref(), dir.path());
    let mut dovecot = Dovecot::start(SUPPORT, "bench-imap");
    let smtp = SmtpSink::start(SUPPORT, "bench-smtp");
    for i in 0..mails {
        dovecot.deliver(&mail(i));
    }
    let served = serve(&["--db".into(), db.display().to_string()]);
    let api = served.api();
    let http = reqwest::Client::new();
    let admin = login(&http, &api, fyncall_testkit::ADMIN).await;
    let alice = login(&http, &api, fyncall_testkit::ALICE).await;
    let base = total(&http, &api, &admin).await;

    // Mails taken a second from a full mailbox.
    let started = Instant::now();
    post(
        &http,
        format!("{api}/channels/email"),
        &admin,
        json!({"address": SUPPORT, "display_name": "Bench Support",
               "imap": {"host": "127.0.0.1", "port": dovecot.port, "security": "none",
                        "username": SUPPORT, "password": "bench-imap"},
               "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none",
                        "username": SUPPORT, "password": "bench-smtp"}}),
    )
    .await;
    while total(&http, &api, &admin).await < base + mails as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "mails not taken within 10 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    println!(
        "mail taken: {mails} mails already in the mailbox in {:.1} s = {:.0} mails/s (target >= 200/s)",
        took.as_secs_f64(),
        mails as f64 / took.as_secs_f64()
    );

    // Mail to conversation with IDLE, one at a time.
    let mut seen = total(&http, &api, &admin).await;
    let mut latencies = Vec::new();
    for i in 0..50 {
        let at = Instant::now();
        dovecot.deliver(&mail(mails + i));
        loop {
            let now = total(&http, &api, &admin).await;
            if now > seen {
                seen = now;
                break;
            }
            assert!(
                at.elapsed() < Duration::from_secs(30),
                "a mail not taken within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(at.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    latencies.sort();
    println!(
        "mail to conversation with IDLE: 50 mails one at a time: p50 {}, p95 {}, max {} (target p95 <= 1000 ms)",
        ms(percentile(&mut latencies, 0.5)),
        ms(percentile(&mut latencies, 0.95)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );

    // Replies sent by SMTP: 500 at once.
    let page: Value = http
        .get(format!("{api}/conversations?view=all&limit=500"))
        .bearer_auth(&alice)
        .send()
        .await
        .expect("conversations")
        .json()
        .await
        .expect("json");
    let email: Vec<String> = page["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|c| c["channel"] == "email")
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    let before = smtp.mails().len();
    let started = Instant::now();
    for c in &email {
        post(
            &http,
            format!("{api}/conversations/{c}/messages"),
            &alice,
            json!({"body": "Your parcel left the warehouse today."}),
        )
        .await;
    }
    let queued = started.elapsed();
    while smtp.mails().len() < before + email.len() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "replies not sent within 10 min"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    println!(
        "replies sent by SMTP: {} replies (written in {:.1} s) accepted by the local SMTP server in {:.1} s = {:.0} replies/s",
        email.len(),
        queued.as_secs_f64(),
        took.as_secs_f64(),
        email.len() as f64 / took.as_secs_f64()
    );
}
