//! Signing in over HTTP (`POST /api/v1/auth/login`), as an agent's client
//! does; with the async and the blocking client.

use serde_json::{Value, json};

/// An agent's session: the bearer token and the agent as the server sent it.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub agent: Value,
}

impl Session {
    /// The agent's id.
    pub fn agent_id(&self) -> String {
        self.agent["id"].as_str().unwrap_or_default().to_owned()
    }
}

fn session(status: reqwest::StatusCode, body: Value, email: &str) -> Session {
    assert!(status.is_success(), "sign-in of {email}: {status} {body}");
    Session {
        token: body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {body}"))
            .to_owned(),
        agent: body["agent"].clone(),
    }
}

/// Signs `email` in at `server` (`http://HOST:PORT`, without `/api/v1`).
///
/// # Panics
/// When the server refuses: with its answer.
pub async fn login(http: &reqwest::Client, server: &str, email: &str, password: &str) -> Session {
    let res = http
        .post(format!("{server}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("sign-in of {email} at {server}: {e}"));
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    session(status, body, email)
}

/// [`login`] with the blocking client.
pub fn login_blocking(
    http: &reqwest::blocking::Client,
    server: &str,
    email: &str,
    password: &str,
) -> Session {
    let res = http
        .post(format!("{server}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap_or_else(|e| panic!("sign-in of {email} at {server}: {e}"));
    let status = res.status();
    let body: Value = res.json().unwrap_or(Value::Null);
    session(status, body, email)
}

/// The id of the first ticket of All Tickets at `server`, seen by `token`.
///
/// # Panics
/// When the team has no ticket.
pub async fn first_ticket(http: &reqwest::Client, server: &str, token: &str) -> String {
    let v: Value = http
        .get(format!("{server}/api/v1/tickets?view=all&limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /tickets")
        .json()
        .await
        .expect("a ticket list");
    v["tickets"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket in {v}"))
        .to_owned()
}
