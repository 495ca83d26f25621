//! What the server's benches share: a real `fyncall-server` process, its
//! API over loopback, live streams, percentiles.

#![allow(dead_code, unused_imports)]

use std::time::Instant;

use futures_util::StreamExt;
use fyncall_testkit::server::{Serve, Served};
use serde_json::{Value, json};
use uuid::Uuid;

pub use fyncall_testkit::DEMO_EMAILS as EMAILS;
pub use fyncall_testkit::stats::{ms, percentile};

/// Mutations per push request.
pub const BATCH: usize = 500;

/// The release `fyncall-server` serving with `args` on a free port,
/// unthrottled (`--max-request-rate 0`), its errors on the bench's output.
pub fn serve(args: &[String]) -> Served {
    Serve::new(env!("CARGO_BIN_EXE_fyncall-server"))
        .args(args)
        .args(["--max-request-rate", "0"])
        .show_errors()
        .start()
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

/// A demo agent's token, signed in at `api` (`URL/api/v1`).
pub async fn login(http: &reqwest::Client, api: &str, email: &str) -> String {
    let server = api.trim_end_matches("/api/v1");
    fyncall_testkit::http::login(http, server, email, fyncall_testkit::DEMO_PASSWORD)
        .await
        .token
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
        .get(format!("{api}/sync/stream?presence=changes"))
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
