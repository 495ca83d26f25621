//! What the server's benches share: a real `fyncall-server` process, its
//! API over loopback, live streams, percentiles.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use fyncall_server::demo;
use serde_json::{Value, json};
use uuid::Uuid;

pub const EMAILS: [&str; 4] = [
    "alice@demo.fyncall.test",
    "ben@demo.fyncall.test",
    "chloe@demo.fyncall.test",
    "admin@demo.fyncall.test",
];

/// Mutations per push request.
pub const BATCH: usize = 500;

pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// One `fyncall-server serve` process; killed when dropped.
pub struct Instance {
    child: Child,
    pub api: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(args: &[String]) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0", "--max-request-rate", "0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("fyncall-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    Instance {
        child,
        api: format!("{addr}/api/v1"),
    }
}

pub async fn post(http: &reqwest::Client, url: String, token: &str, body: Value) -> Value {
    let res = http
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let v: Value = res.json().await.expect("json");
    assert!(status.is_success(), "{status}: {v}");
    v
}

pub async fn login(http: &reqwest::Client, api: &str, email: &str) -> String {
    let v = post(
        http,
        format!("{api}/auth/login"),
        "",
        json!({"email": email, "password": demo::DEMO_PASSWORD}),
    )
    .await;
    v["token"].as_str().expect("token").to_owned()
}

/// Pushes `mutations` in batches; every one must apply. The seq of the last.
pub async fn push(http: &reqwest::Client, api: &str, token: &str, mutations: Vec<Value>) -> i64 {
    let mut last = 0;
    for batch in mutations.chunks(BATCH) {
        let v = post(
            http,
            format!("{api}/sync/push"),
            token,
            json!({"client_id": Uuid::now_v7(), "mutations": batch}),
        )
        .await;
        for r in v["results"].as_array().expect("results") {
            assert_eq!(r["outcome"], "applied", "{r}");
            last = r["seq"].as_i64().expect("seq");
        }
    }
    last
}

/// Every cursor announced on `api`'s live stream, with when it arrived.
pub async fn listen(
    http: &reqwest::Client,
    api: &str,
    token: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<(i64, Instant)> {
    let res = http
        .get(format!("{api}/sync/stream"))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream");
    assert!(res.status().is_success());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut body = res.bytes_stream();
    tokio::spawn(async move {
        let mut buf = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            let at = Instant::now();
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find('\n') {
                let line: String = buf.drain(..=end).collect();
                if let Some(data) = line.trim().strip_prefix("data:")
                    && let Ok(v) = serde_json::from_str::<Value>(data.trim())
                    && let Some(c) = v["cursor"].as_i64()
                    && tx.send((c, at)).is_err()
                {
                    return;
                }
            }
        }
    });
    rx
}
