//! The delivery worker: one per server process. It claims due rows of the
//! outbox (`crate::outbox`), attempts each (webhooks: a signed POST, the
//! Standard Webhooks way), and records what came of it. Woken at once by
//! every committed change, and every second for retries that fell due and
//! rows other processes wrote.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use fyncall_domain::delivery::{self, Attempted};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::app::AppState;
use crate::outbox::{Attempt, Claimed};

/// Deliveries claimed at once.
const BATCH: u32 = 200;
/// Attempts in flight at once.
const IN_FLIGHT: usize = 64;
/// How long a claim holds: longer than an attempt can take.
const CLAIM: Duration = Duration::from_secs(45);
/// Most of an answer kept in the log.
const ANSWER_KEPT: usize = 1024;

/// A new endpoint secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    getrandom::fill(&mut key).expect("the operating system's random numbers");
    format!("whsec_{}", STANDARD.encode(key))
}

/// `webhook-signature` for a body (Standard Webhooks): `v1,` and the
/// base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the
/// secret's bytes (after `whsec_`).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the webhook's secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether deliveries may go to `url`: `https://` anywhere, `http://` only
/// to the loopback range unless the server allows plain HTTP webhooks. The
/// refusal in words.
pub fn check_url(url: &str, allow_http: bool) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| format!("{url:?} is not a URL ({e}): use https://host/path"))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("{url:?} names no host: use https://host/path"))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            if !fyncall_domain::mail::is_loopback(host) && !allow_http {
                return Err(format!(
                    "{url} is plain http to a host outside this machine: use https, or start the server with --allow-http-webhooks"
                ));
            }
        }
        other => {
            return Err(format!(
                "{url} uses {other}: a webhook URL starts with https:// (or http:// on this machine)"
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!(
            "{url} carries a user name or password: the signature proves the sender, leave them out"
        ));
    }
    Ok(parsed)
}

/// The worker's HTTP client: answers within 15 s, redirects not followed
/// (a 3xx is an answer like any other), TLS by rustls with the OS's roots.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(delivery::ANSWER_WITHIN_SECS))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "fyncall-server/",
            env!("CARGO_PKG_VERSION"),
            " (webhooks)"
        ))
        .build()
        .unwrap_or_default()
}

/// A transport failure in words.
fn failure_words(e: &reqwest::Error, url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    let port = url.port_or_known_default().unwrap_or(0);
    if e.is_timeout() {
        format!(
            "no answer from {host}:{port} within {} s",
            delivery::ANSWER_WITHIN_SECS
        )
    } else if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut why = String::from("no connection");
        while let Some(s) = source {
            why = s.to_string();
            source = s.source();
        }
        format!("could not connect to {host}:{port}: {why}")
    } else {
        format!("sending to {host}:{port} failed: {e}")
    }
}

/// One attempt of a claimed delivery.
pub async fn attempt(client: &reqwest::Client, allow_http: bool, d: &Claimed) -> Attempt {
    let at = crate::time::now();
    let started = Instant::now();
    let done = |status, outcome, answer| Attempt {
        at,
        status,
        outcome,
        answer,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let url = match check_url(&d.url, allow_http) {
        Ok(u) => u,
        Err(why) => return done(None, Attempted::Permanent(why), None),
    };
    let timestamp = at.timestamp();
    let signature = match sign(&d.secret, &d.id, timestamp, &d.body) {
        Ok(s) => s,
        Err(why) => return done(None, Attempted::Permanent(why), None),
    };
    let sent = client
        .post(url.clone())
        .header("content-type", "application/json")
        .header("webhook-id", &d.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(d.body.clone())
        .send()
        .await;
    match sent {
        Err(e) => done(None, Attempted::Temporary(failure_words(&e, &url)), None),
        Ok(answer) => {
            let status = answer.status();
            let outcome = delivery::http_answer(status.as_u16(), status.canonical_reason());
            // The first KiB of the answer, read within what is left of the 15 s.
            let mut kept = Vec::new();
            let mut body = answer.bytes_stream();
            while kept.len() < ANSWER_KEPT {
                match body.next().await {
                    Some(Ok(chunk)) => kept.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            kept.truncate(ANSWER_KEPT);
            let text = String::from_utf8_lossy(&kept).into_owned();
            done(
                Some(status.as_u16()),
                outcome,
                (!text.is_empty()).then_some(text),
            )
        }
    }
}

/// One attempt of a reply's mail (`crate::mail::smtp`).
pub async fn attempt_mail(state: &AppState, d: &Claimed) -> Attempt {
    let at = crate::time::now();
    let started = Instant::now();
    let outcome = match (&state.sealer, d.message_id, d.mailbox_id) {
        (Some(sealer), Some(reply), Some(mailbox)) => {
            let (sealer, store) = (sealer.clone(), state.store.clone());
            match tokio::task::spawn_blocking(move || {
                crate::mail::smtp::outgoing(store.as_ref(), &sealer, reply, mailbox)
            })
            .await
            {
                Ok(Ok(out)) => crate::mail::smtp::send(&out, &state.mail_trust).await,
                Ok(Err(e)) => Attempted::Temporary(format!("the reply's mail cannot be made: {e}")),
                Err(e) => Attempted::Temporary(format!("the reply's mail cannot be made: {e}")),
            }
        }
        (None, ..) => Attempted::Temporary(
            "the server has no mail key: start it with --mail-key (docs/operations.md)".into(),
        ),
        _ => Attempted::Permanent("this delivery names no reply to send".into()),
    };
    Attempt {
        at,
        status: None,
        outcome,
        answer: None,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// Works the outbox until the server shuts down.
pub async fn run(state: AppState, wake: Arc<tokio::sync::Notify>) {
    let client = client();
    let allow_http = state.config.allow_http_webhooks;
    let mut shutdown = state.shutdown.clone();
    loop {
        // Every due row, a batch at a time.
        loop {
            let by = Uuid::new_v4();
            let now = crate::time::now();
            let until = now + chrono::Duration::from_std(CLAIM).unwrap_or_default();
            let claimed = match state
                .blocking(move |s| s.claim_deliveries(by, now, until, BATCH))
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = ?e, "claiming deliveries failed; trying again");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            let full = claimed.len() as u32 == BATCH;
            let done: Vec<(Claimed, Attempt)> = futures_util::stream::iter(claimed)
                .map(|d| {
                    let (client, state) = (&client, &state);
                    async move {
                        let a = if d.mailbox_id.is_some() {
                            attempt_mail(state, &d).await
                        } else {
                            attempt(client, allow_http, &d).await
                        };
                        (d, a)
                    }
                })
                .buffer_unordered(IN_FLIGHT)
                .collect()
                .await;
            match state.blocking(move |s| s.record_attempts(by, &done)).await {
                Ok(seq) => state.announce(seq),
                Err(e) => {
                    // The claims run out and the rows are tried again.
                    tracing::warn!(error = ?e, "recording deliveries failed");
                    break;
                }
            }
            if !full {
                break;
            }
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_example_does() {
        // The specification's own example.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:9000/x", false).is_ok());
        assert!(check_url("http://127.8.0.1/x", false).is_ok());
        assert!(check_url("http://[::1]:9000/x", false).is_ok());
        assert!(check_url("http://localhost/x", false).is_ok());
        let refused = check_url("http://hooks.example.com/x", false).unwrap_err();
        assert!(refused.contains("--allow-http-webhooks"), "{refused}");
        assert!(check_url("http://10.0.0.1/x", false).is_err());
        assert!(check_url("http://10.0.0.1/x", true).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
        assert!(check_url("https://user:pw@example.com/", true).is_err());
    }

    #[test]
    fn a_secret_is_whsec_and_24_bytes() {
        let s = new_secret();
        let key = STANDARD.decode(s.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 24);
        assert_ne!(new_secret(), s);
    }
}
