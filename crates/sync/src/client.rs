//! The HTTP side: API.md's auth and sync endpoints.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use futures_util::{Stream, StreamExt};
use fyncall_cache::session::Session;
use fyncall_cache::{OutboxEntry, PullPage};
use fyncall_domain::delivery::{CreatedWebhook, DeliveryPage, NewWebhook, Webhook, WebhookChange};
use fyncall_domain::mail::{MailCheck, Mailbox, MailboxChange, NewMailbox};
use fyncall_domain::wire::{
    IntegrationToken, LiveSession, NewAgent, NewIntegrationToken, PulledChange, PushAnswer,
    SnapshotEnd, SnapshotHead,
};
use fyncall_domain::{Agent, AgentChange, Message, TeamSettings, Timestamp};
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{Result, SyncError};

/// A ticket as a person names it: its id, or its number (`#1042`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRef {
    Id(Uuid),
    Number(i64),
}

impl TicketRef {
    /// `#1042`, `1042` or an id; `None` for anything else.
    pub fn parse(text: &str) -> Option<TicketRef> {
        let text = text.trim();
        let digits = text.strip_prefix('#').unwrap_or(text);
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Some(TicketRef::Number(n)),
            _ => Uuid::parse_str(text).ok().map(TicketRef::Id),
        }
    }
}

/// A connection to one Fyncall server.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// A pulled page with when it was asked for and answered (local clock).
pub struct Pulled {
    pub page: PullPage,
    /// Server clock minus local clock, estimated from the round trip.
    pub clock_offset_ms: i64,
    pub round_trip: Duration,
}

/// How long a snapshot may stay silent before it counts as broken off.
const SNAPSHOT_SILENCE: Duration = Duration::from_secs(60);

/// `GET /sync/snapshot` being read: its head, then its rows batch by batch
/// as they arrive ([`SnapshotReader::next_rows`]).
pub struct SnapshotReader {
    pub head: SnapshotHead,
    /// Server clock minus local clock, estimated from the round trip.
    pub clock_offset_ms: i64,
    body: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    /// Bytes received and not yet read, from `start`.
    buffer: Vec<u8>,
    start: usize,
    /// Row lines read so far.
    read: u64,
    ended: bool,
}

impl SnapshotReader {
    /// The next whole line, without its newline (None: the body ended).
    async fn line(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(at) = self.buffer[self.start..].iter().position(|b| *b == b'\n') {
                let line = self.buffer[self.start..self.start + at].to_vec();
                self.start += at + 1;
                return Ok(Some(line));
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads one more piece of the body; false when it ended.
    async fn fill(&mut self) -> Result<bool> {
        self.buffer.drain(..self.start);
        self.start = 0;
        let next = tokio::time::timeout(SNAPSHOT_SILENCE, self.body.next())
            .await
            .map_err(|_| {
                SyncError::Unreachable(format!(
                    "the first download stalled after {} of {} rows: it starts again",
                    self.read, self.head.rows
                ))
            })?;
        match next {
            None => Ok(false),
            Some(Ok(bytes)) => {
                self.buffer.extend_from_slice(&bytes);
                Ok(true)
            }
            Some(Err(e)) => Err(SyncError::Unreachable(format!(
                "the first download broke off after {} of {} rows ({}): it starts again",
                self.read,
                self.head.rows,
                root_cause(&e)
            ))),
        }
    }

    /// Up to `max` rows, as many as are whole in what has arrived once at
    /// least one is (None once the stream's end was read and checked).
    pub async fn next_rows(&mut self, max: usize) -> Result<Option<Vec<PulledChange>>> {
        let mut out = Vec::new();
        while !self.ended && out.len() < max.max(1) {
            let Some(at) = self.buffer[self.start..].iter().position(|b| *b == b'\n') else {
                if !out.is_empty() && self.buffer.len() - self.start < 64 * 1024 {
                    // Hand over what is whole while the rest is on its way.
                    break;
                }
                if !self.fill().await? {
                    return Err(SyncError::Unreachable(format!(
                        "the first download ended early, after {} of {} rows: it starts again",
                        self.read, self.head.rows
                    )));
                }
                continue;
            };
            let line = &self.buffer[self.start..self.start + at];
            if self.read == self.head.rows {
                let end: SnapshotEnd = serde_json::from_slice(line).map_err(not_expected)?;
                if end.end != self.head.rows {
                    return Err(SyncError::Server(format!(
                        "the snapshot announced {} rows and sent {}",
                        self.head.rows, end.end
                    )));
                }
                self.ended = true;
            } else {
                out.push(serde_json::from_slice(line).map_err(not_expected)?);
                self.read += 1;
            }
            self.start += at + 1;
        }
        Ok(if out.is_empty() && self.ended {
            None
        } else {
            Some(out)
        })
    }
}

fn not_expected(e: serde_json::Error) -> SyncError {
    SyncError::Server(format!(
        "the server's answer is not what this client expects ({e}): is it a Fyncall server of a matching version?"
    ))
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
    agent: Agent,
    /// This device's token (servers before device tokens send none).
    #[serde(default)]
    device_token: Option<String>,
}

/// A sign-in: the session's token, the agent, and this device's token to
/// send with the next sign-ins (see [`Client::login_on_device`]).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub agent: Agent,
    pub device_token: Option<String>,
}

/// An outbox entry as a pushed mutation: `{id, name, args, client_at}`.
fn wire_mutation(e: &OutboxEntry) -> Value {
    let mut m = serde_json::to_value(&e.mutation).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut m {
        map.insert("id".into(), json!(e.id));
        map.insert("client_at".into(), json!(e.client_at));
    }
    m
}

/// The bytes an entry takes in a push body.
pub(crate) fn wire_size(e: &OutboxEntry) -> usize {
    serde_json::to_vec(&wire_mutation(e)).map_or(0, |v| v.len())
}

/// How a client reaches its server: the certificates it trusts besides the
/// OS store, and whether plain HTTP to another machine is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transport {
    /// A certificate authority (PEM) to trust besides the OS store.
    pub ca_file: Option<PathBuf>,
    /// Allow `http://` to a host outside the loopback range.
    pub allow_http: bool,
}

impl Transport {
    /// The transport a saved sign-in was made with.
    pub fn of(session: &Session) -> Transport {
        Transport {
            ca_file: session.ca_file.as_ref().map(PathBuf::from),
            allow_http: session.allow_http,
        }
    }
}

/// How this client names itself to the server (the sessions list shows it):
/// the program, its version, the OS and, where known, the computer's name.
fn user_agent() -> String {
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|p| p.starts_with("fyncall"))
        .unwrap_or_else(|| "fyncall".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| {
            h.trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect::<String>()
        })
        .filter(|h| !h.is_empty());
    let os = std::env::consts::OS;
    match host {
        Some(host) => format!("{program}/{} ({os}; {host})", env!("CARGO_PKG_VERSION")),
        None => format!("{program}/{} ({os})", env!("CARGO_PKG_VERSION")),
    }
}

/// Whether `host` is this machine: `localhost` or a loopback address.
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

impl Client {
    /// `server` is the base URL, e.g. `https://desk.example.com` or
    /// `http://127.0.0.1:8470`, with the OS's trusted certificates and
    /// plain HTTP only to this machine.
    pub fn new(server: &str) -> Result<Client> {
        Client::connect(server, &Transport::default())
    }

    /// The client of a saved sign-in, with its token and transport.
    pub fn for_session(session: &Session) -> Result<Client> {
        Ok(Client::connect(&session.server, &Transport::of(session))?.with_token(&session.token))
    }

    /// A client for `server` over `transport`. Refuses, before any
    /// connection, `http://` to a host outside the loopback range unless
    /// `transport.allow_http`: the token would cross the network readable.
    pub fn connect(server: &str, transport: &Transport) -> Result<Client> {
        let base = server.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        let Some(url) = url else {
            return Err(SyncError::Invalid(format!(
                "\"{server}\" is not a server address: give it as https://HOST or http://127.0.0.1:PORT"
            )));
        };
        if url.scheme() == "http" && !is_loopback(&url) && !transport.allow_http {
            return Err(SyncError::Invalid(format!(
                "{base} is plain HTTP to another machine: anyone on the way could read your password and tickets. \
                 Use https://, or allow plain HTTP explicitly (--allow-http, or the box in the sign-in form) on a network you trust"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(user_agent())
            .https_only(!transport.allow_http && url.scheme() == "https");
        if let Some(path) = &transport.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                SyncError::Invalid(format!(
                    "cannot read the certificate authority file {}: {e}",
                    path.display()
                ))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                SyncError::Invalid(format!(
                    "{} holds no PEM certificate ({e}): give the CA's certificate in PEM form",
                    path.display()
                ))
            })?;
            if certs.is_empty() {
                return Err(SyncError::Invalid(format!(
                    "{} holds no PEM certificate: give the CA's certificate in PEM form",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| SyncError::Invalid(format!("cannot start the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            token: None,
        })
    }

    pub fn with_token(mut self, token: &str) -> Client {
        self.token = Some(token.to_owned());
        self
    }

    /// The bearer token in use, if signed in.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn server(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Response> {
        let response = req.send().await.map_err(|e| self.unreachable(&e))?;
        check(response).await
    }

    /// Why the server could not be reached, in words that say what to do.
    fn unreachable(&self, e: &reqwest::Error) -> SyncError {
        let cause = root_cause(e);
        let lower = cause.to_lowercase();
        if lower.contains("causedasendentity") {
            return SyncError::Unreachable(format!(
                "cannot reach {}: it presents a certificate authority's certificate as its own \
                 ({cause}), which no client accepts. The server's admin must serve a server \
                 certificate signed by that CA instead (fyncall-server's docs/operations.md, \
                 \"TLS\", shows how)",
                self.base
            ));
        }
        if lower.contains("certificate") || lower.contains("unknownissuer") {
            return SyncError::Unreachable(format!(
                "cannot reach {}: its certificate is not trusted ({cause}). If the team uses a \
                 certificate of its own, give its CA certificate (PEM) with --ca FILE, or in the sign-in form",
                self.base
            ));
        }
        SyncError::Unreachable(format!("cannot reach {}: {cause}", self.base))
    }

    /// Signs in; returns the token and the agent.
    pub async fn login(&self, email: &str, password: &str) -> Result<(String, Agent)> {
        let signed = self.login_on_device(email, password, None).await?;
        Ok((signed.token, signed.agent))
    }

    /// Signs in from a device that may hold a device token of this account
    /// (from an earlier sign-in): with it, guesses made elsewhere that lock
    /// the account do not lock this device out. Keep the answer's
    /// `device_token` for the next sign-in.
    pub async fn login_on_device(
        &self,
        email: &str,
        password: &str,
        device_token: Option<&str>,
    ) -> Result<SignedIn> {
        let mut body = json!({"email": email, "password": password});
        if let Some(device) = device_token {
            body["device_token"] = json!(device);
        }
        let req = self
            .request(reqwest::Method::POST, "/auth/login")
            .timeout(Duration::from_secs(30))
            .json(&body);
        let answer: LoginAnswer = read(self.send(req).await?).await?;
        Ok(SignedIn {
            token: answer.token,
            agent: answer.agent,
            device_token: answer.device_token,
        })
    }

    /// Revokes this client's token.
    pub async fn logout(&self) -> Result<()> {
        let req = self
            .request(reqwest::Method::POST, "/auth/logout")
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// A presence heartbeat (API.md `POST /presence`).
    pub async fn heartbeat(&self, beat: &fyncall_domain::Heartbeat) -> Result<()> {
        let req = self
            .request(reqwest::Method::POST, "/presence")
            .timeout(Duration::from_secs(5))
            .json(beat);
        self.send(req).await?;
        Ok(())
    }

    /// The agent's live sessions, this one marked.
    pub async fn sessions(&self) -> Result<Vec<LiveSession>> {
        let req = self
            .request(reqwest::Method::GET, "/me/sessions")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Ends one of the agent's sessions.
    pub async fn end_session(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(reqwest::Method::DELETE, &format!("/me/sessions/{id}"))
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// Ends every session of the agent but this one; how many ended.
    pub async fn end_other_sessions(&self) -> Result<usize> {
        let mut ended = 0;
        for s in self.sessions().await?.into_iter().filter(|s| !s.current) {
            match self.end_session(s.id).await {
                Ok(()) => ended += 1,
                // Ended meanwhile (expired, or from another device): fine.
                Err(SyncError::Refused { code, .. }) if code == "not_found" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ended)
    }

    /// Changes the agent's password; every other session ends.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let req = self
            .request(reqwest::Method::POST, "/me/password")
            .timeout(Duration::from_secs(30))
            .json(&json!({"current_password": current, "new_password": new}));
        self.send(req).await?;
        Ok(())
    }

    /// The server's version, as its API document says it.
    pub async fn server_version(&self) -> Result<String> {
        let req = self
            .request(reqwest::Method::GET, "/openapi.json")
            .timeout(Duration::from_secs(10));
        let doc: Value = read(self.send(req).await?).await?;
        doc["info"]["version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SyncError::Server("the server's API document names no version".into()))
    }

    /// A ticket and its timeline as the server has it, by id or by number:
    /// how the desktop reads a ticket closed before its working set.
    pub async fn ticket(
        &self,
        reference: &TicketRef,
    ) -> Result<fyncall_domain::wire::TicketDetail> {
        let path = match reference {
            TicketRef::Id(id) => format!("/tickets/{id}"),
            TicketRef::Number(n) => format!("/tickets/{n}"),
        };
        let req = self
            .request(reqwest::Method::GET, &path)
            .timeout(Duration::from_secs(15));
        read(self.send(req).await?).await
    }

    /// The tickets closed before `before` (a working set's cutoff) that
    /// `words` find, most recently closed first, a page of `limit` from
    /// `cursor`: the archive a desktop does not keep.
    pub async fn archive(
        &self,
        words: Option<&str>,
        before: Timestamp,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<fyncall_domain::wire::TicketPage> {
        let mut query = vec![
            ("view", "all".to_owned()),
            ("status", fyncall_domain::Status::Closed.as_str().to_owned()),
            (
                "updated_before",
                fyncall_domain::wire::millis::format(&before),
            ),
            ("sort", "updated".to_owned()),
            ("order", "desc".to_owned()),
            ("limit", limit.to_string()),
            // The page alone: counting every match reads the whole archive.
            ("total", "false".to_owned()),
        ];
        if let Some(w) = words.map(str::trim).filter(|w| !w.is_empty()) {
            query.push(("q", w.to_owned()));
        }
        if let Some(c) = cursor {
            query.push(("cursor", c.to_owned()));
        }
        let req = self
            .request(reqwest::Method::GET, "/tickets")
            .query(&query)
            .timeout(Duration::from_secs(30));
        read(self.send(req).await?).await
    }

    /// The server's SLA report for `query` (the whole history, not only
    /// what this machine keeps).
    pub async fn sla_report(
        &self,
        query: &fyncall_domain::ReportQuery,
    ) -> Result<fyncall_domain::SlaReport> {
        use fyncall_domain::wire::millis::format;
        let req = self
            .request(reqwest::Method::GET, "/reports/sla")
            .query(&[
                ("from", format(&query.from)),
                ("to", format(&query.to)),
                ("group_by", query.group_by.as_str().to_owned()),
            ])
            .timeout(Duration::from_secs(30));
        read(self.send(req).await?).await
    }

    /// The signed-in agent's unread mentions' entry ids (at most `limit`).
    pub async fn unread_mentions(&self, limit: u32) -> Result<Vec<uuid::Uuid>> {
        #[derive(serde::Deserialize)]
        struct Row {
            entry_id: uuid::Uuid,
        }
        let req = self
            .request(
                reqwest::Method::GET,
                &format!("/me/mentions?unread=true&limit={limit}"),
            )
            .timeout(Duration::from_secs(10));
        let rows: Vec<Row> = read(self.send(req).await?).await?;
        Ok(rows.into_iter().map(|r| r.entry_id).collect())
    }

    /// Every agent of the team, deactivated ones too.
    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let req = self
            .request(reqwest::Method::GET, "/agents")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Adds an agent (admins only): `{name, email, role, password}`.
    pub async fn create_agent(&self, agent: &NewAgent) -> Result<Agent> {
        let req = self
            .request(reqwest::Method::POST, "/agents")
            .timeout(Duration::from_secs(30))
            .json(agent);
        read(self.send(req).await?).await
    }

    /// Changes an agent (admins only): any of `{name, role, active}`.
    pub async fn update_agent(&self, id: Uuid, change: &AgentChange) -> Result<Agent> {
        let req = self
            .request(reqwest::Method::PATCH, &format!("/agents/{id}"))
            .timeout(Duration::from_secs(10))
            .json(change);
        read(self.send(req).await?).await
    }

    /// The macros the agent may use: the team's and their own.
    pub async fn macros(&self) -> Result<Vec<fyncall_domain::macros::Macro>> {
        let req = self
            .request(reqwest::Method::GET, "/macros")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Keeps a new macro (a team one: admins only).
    pub async fn create_macro(
        &self,
        m: &fyncall_domain::macros::NewMacro,
    ) -> Result<fyncall_domain::macros::Macro> {
        let req = self
            .request(reqwest::Method::POST, "/macros")
            .timeout(Duration::from_secs(10))
            .json(m);
        read(self.send(req).await?).await
    }

    /// Replaces a macro (its owner's, or an admin's for a team one).
    pub async fn update_macro(
        &self,
        id: Uuid,
        m: &fyncall_domain::macros::NewMacro,
    ) -> Result<fyncall_domain::macros::Macro> {
        let req = self
            .request(reqwest::Method::PATCH, &format!("/macros/{id}"))
            .timeout(Duration::from_secs(10))
            .json(m);
        read(self.send(req).await?).await
    }

    /// Removes a macro.
    pub async fn delete_macro(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(reqwest::Method::DELETE, &format!("/macros/{id}"))
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// Ends every session of an agent (admins only).
    pub async fn end_agent_sessions(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(reqwest::Method::DELETE, &format!("/agents/{id}/sessions"))
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// The team's integration tokens (admins only), without their secrets.
    pub async fn integration_tokens(&self) -> Result<Vec<IntegrationToken>> {
        let req = self
            .request(reqwest::Method::GET, "/integrations/tokens")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Makes an integration token (admins only): `{id, token}`, the token
    /// shown this once.
    pub async fn create_integration_token(&self, name: &str) -> Result<NewIntegrationToken> {
        let req = self
            .request(reqwest::Method::POST, "/integrations/tokens")
            .timeout(Duration::from_secs(10))
            .json(&json!({"name": name}));
        read(self.send(req).await?).await
    }

    pub async fn revoke_integration_token(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(
                reqwest::Method::DELETE,
                &format!("/integrations/tokens/{id}"),
            )
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// The team's webhooks (admins only), without their secrets.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let req = self
            .request(reqwest::Method::GET, "/webhooks")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Adds a webhook (admins only); its secret is in the answer, this once.
    pub async fn create_webhook(&self, hook: &NewWebhook) -> Result<CreatedWebhook> {
        let req = self
            .request(reqwest::Method::POST, "/webhooks")
            .timeout(Duration::from_secs(10))
            .json(hook);
        read(self.send(req).await?).await
    }

    /// Changes a webhook's URL, events, description or pause (admins only).
    pub async fn update_webhook(&self, id: Uuid, change: &WebhookChange) -> Result<Webhook> {
        let req = self
            .request(reqwest::Method::PATCH, &format!("/webhooks/{id}"))
            .timeout(Duration::from_secs(10))
            .json(change);
        read(self.send(req).await?).await
    }

    pub async fn delete_webhook(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(reqwest::Method::DELETE, &format!("/webhooks/{id}"))
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// The team's mailboxes (admins only), without their passwords.
    pub async fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        let req = self
            .request(reqwest::Method::GET, "/channels/email")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Sets up a mailbox (admins only).
    pub async fn create_mailbox(&self, mailbox: &NewMailbox) -> Result<Mailbox> {
        let req = self
            .request(reqwest::Method::POST, "/channels/email")
            .timeout(Duration::from_secs(10))
            .json(mailbox);
        read(self.send(req).await?).await
    }

    /// Changes a mailbox (admins only); a password only when given.
    pub async fn update_mailbox(&self, id: Uuid, change: &MailboxChange) -> Result<Mailbox> {
        let req = self
            .request(reqwest::Method::PATCH, &format!("/channels/email/{id}"))
            .timeout(Duration::from_secs(10))
            .json(change);
        read(self.send(req).await?).await
    }

    /// Stops reading a mailbox (admins only); its conversations stay.
    pub async fn delete_mailbox(&self, id: Uuid) -> Result<()> {
        let req = self
            .request(reqwest::Method::DELETE, &format!("/channels/email/{id}"))
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// Signs in to a mailbox's IMAP and SMTP servers and says what failed.
    pub async fn check_mailbox(&self, id: Uuid) -> Result<MailCheck> {
        let req = self
            .request(
                reqwest::Method::POST,
                &format!("/channels/email/{id}/check"),
            )
            .timeout(Duration::from_secs(40));
        read(self.send(req).await?).await
    }

    /// Uploads a file for a reply (`POST /attachments`); what to name in
    /// `attachment_ids`.
    pub async fn upload_attachment(
        &self,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<fyncall_domain::Attachment> {
        let quoted: String = name
            .chars()
            .map(|c| {
                if c == '"' || c == '\\' || c.is_control() || !c.is_ascii() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        let req = self
            .request(reqwest::Method::POST, "/attachments")
            .timeout(Duration::from_secs(300))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(
                reqwest::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{quoted}\""),
            )
            .body(bytes);
        read(self.send(req).await?).await
    }

    /// Downloads a file into `path` (written beside it first, then moved
    /// into place); its size.
    pub async fn download_attachment(&self, id: Uuid, path: &std::path::Path) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let req = self
            .request(reqwest::Method::GET, &format!("/attachments/{id}"))
            .timeout(Duration::from_secs(300));
        let response = self.send(req).await?;
        let partial = path.with_extension("part");
        let failed = |e: std::io::Error| {
            SyncError::Invalid(format!("cannot write {}: {e}", partial.display()))
        };
        let mut file = tokio::fs::File::create(&partial).await.map_err(failed)?;
        let mut body = response.bytes_stream();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                SyncError::Unreachable(format!("the file broke off: {}", root_cause(&e)))
            })?;
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(failed)?;
        }
        file.sync_all().await.map_err(failed)?;
        drop(file);
        tokio::fs::rename(&partial, path).await.map_err(failed)?;
        Ok(size)
    }

    /// A page of a webhook's delivery log, newest first.
    pub async fn webhook_deliveries(&self, id: Uuid, cursor: Option<&str>) -> Result<DeliveryPage> {
        let mut req = self
            .request(reqwest::Method::GET, &format!("/webhooks/{id}/deliveries"))
            .timeout(Duration::from_secs(10));
        if let Some(c) = cursor {
            req = req.query(&[("cursor", c)]);
        }
        read(self.send(req).await?).await
    }

    /// Sends a failed webhook delivery again, under its own id.
    pub async fn send_delivery_again(&self, id: Uuid, delivery: &str) -> Result<()> {
        // Delivery ids are `msg_` and hex digits: nothing to escape. Any
        // other text is not one, and must not reach the path.
        if delivery.is_empty()
            || !delivery
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(SyncError::Invalid(format!(
                "{delivery:?} is not a delivery id"
            )));
        }
        let req = self
            .request(
                reqwest::Method::POST,
                &format!("/webhooks/{id}/deliveries/{delivery}/retry"),
            )
            .timeout(Duration::from_secs(10));
        self.send(req).await?;
        Ok(())
    }

    /// Queues a failed reply's delivery again (any agent); the reply as
    /// it now stands.
    pub async fn retry_reply(&self, message: Uuid) -> Result<Message> {
        let req = self
            .request(reqwest::Method::POST, &format!("/messages/{message}/retry"))
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Replaces the team's settings (admins only); the settings saved.
    pub async fn put_settings(&self, settings: &TeamSettings) -> Result<TeamSettings> {
        let req = self
            .request(reqwest::Method::PUT, "/settings")
            .timeout(Duration::from_secs(30))
            .json(settings);
        read(self.send(req).await?).await
    }

    pub async fn me(&self) -> Result<Agent> {
        let req = self
            .request(reqwest::Method::GET, "/me")
            .timeout(Duration::from_secs(10));
        read(self.send(req).await?).await
    }

    /// Pushes mutations in order (at most 1,000).
    pub async fn push(&self, client_id: Uuid, entries: &[OutboxEntry]) -> Result<PushAnswer> {
        let mutations: Vec<Value> = entries.iter().map(wire_mutation).collect();
        let req = self
            .request(reqwest::Method::POST, "/sync/push")
            .timeout(Duration::from_secs(60))
            .json(&json!({"client_id": client_id, "mutations": mutations}));
        read(self.send(req).await?).await
    }

    /// One page of changes after `cursor`.
    pub async fn pull(&self, cursor: i64, limit: u32) -> Result<Pulled> {
        let asked = Utc::now();
        let started = Instant::now();
        let req = self
            .request(
                reqwest::Method::GET,
                &format!("/sync/pull?cursor={cursor}&limit={limit}"),
            )
            .timeout(Duration::from_secs(60));
        let response = self.send(req).await?;
        // The server stamps `server_time` before it writes the body: take
        // the moment the headers arrived as the answer's time.
        let round_trip = started.elapsed();
        let page: PullPage = read(response).await?;
        let midpoint: Timestamp =
            asked + TimeDelta::milliseconds(round_trip.as_millis() as i64 / 2);
        Ok(Pulled {
            clock_offset_ms: (page.server_time - midpoint).num_milliseconds(),
            page,
            round_trip,
        })
    }

    /// Opens `GET /sync/snapshot` and reads its head. `None` when this
    /// server has no snapshot (an older server) or has no room for one
    /// now: pull page by page instead.
    pub async fn snapshot(&self) -> Result<Option<SnapshotReader>> {
        let asked = Utc::now();
        let started = Instant::now();
        let req = self.request(reqwest::Method::GET, "/sync/snapshot");
        // An answer that does not begin in time: the server is busy (or the
        // line lost it); the sync tries again later rather than waiting on.
        let answer = tokio::time::timeout(SNAPSHOT_SILENCE / 2, self.send(req))
            .await
            .map_err(|_| {
                SyncError::Unreachable(format!(
                    "the server did not begin the first download within {} s: it is busy or the connection is poor; trying again shortly",
                    (SNAPSHOT_SILENCE / 2).as_secs()
                ))
            })?;
        let response = match answer {
            Ok(r) => r,
            Err(SyncError::Refused { code, .. }) if code == "404" || code == "not_found" => {
                return Ok(None);
            }
            Err(SyncError::Server(why)) => {
                tracing::info!(%why, "no snapshot now; pulling page by page");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let round_trip = started.elapsed();
        let mut reader = SnapshotReader {
            head: SnapshotHead {
                cursor: 0,
                rows: 0,
                server_time: asked,
                database_id: None,
            },
            clock_offset_ms: 0,
            body: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            start: 0,
            read: 0,
            ended: false,
        };
        let head = reader.line().await?.ok_or_else(|| {
            SyncError::Unreachable(
                "the first download broke off before it began: it starts again".into(),
            )
        })?;
        reader.head = serde_json::from_slice(&head).map_err(not_expected)?;
        let midpoint: Timestamp =
            asked + TimeDelta::milliseconds(round_trip.as_millis() as i64 / 2);
        reader.clock_offset_ms = (reader.head.server_time - midpoint).num_milliseconds();
        Ok(Some(reader))
    }

    /// The live stream: each event as a [`Live`] (a heartbeat says the line
    /// is alive). Presence comes as changes to the list this client holds
    /// (`?presence=changes`), given on as the whole list each time.
    pub async fn stream(&self) -> Result<impl Stream<Item = Result<Live>> + use<>> {
        let req = self
            .request(reqwest::Method::GET, "/sync/stream?presence=changes")
            .header("accept", "text/event-stream");
        let response = self.send(req).await?;
        let base = self.base.clone();
        let bytes = response.bytes_stream();
        Ok(futures_util::stream::unfold(
            (bytes, String::new(), Vec::<Result<Live>>::new(), Vec::new()),
            move |(mut bytes, mut buffer, mut ready, mut team)| {
                let base = base.clone();
                async move {
                    loop {
                        if !ready.is_empty() {
                            let item = ready.remove(0);
                            return Some((item, (bytes, buffer, ready, team)));
                        }
                        match bytes.next().await {
                            None => return None,
                            Some(Err(e)) => {
                                let item = Err(SyncError::Unreachable(format!(
                                    "the live stream from {base} broke: {}",
                                    root_cause(&e)
                                )));
                                return Some((item, (bytes, buffer, ready, team)));
                            }
                            Some(Ok(chunk)) => {
                                buffer.push_str(&String::from_utf8_lossy(&chunk));
                                buffer = buffer.replace("\r\n", "\n");
                                while let Some(end) = buffer.find("\n\n") {
                                    let block: String = buffer.drain(..end + 2).collect();
                                    let live = match parse_event(&block) {
                                        Event::Live(Live::Presence(list)) => {
                                            team = list.clone();
                                            Live::Presence(list)
                                        }
                                        Event::Live(live) => live,
                                        Event::PresenceChanges(changes) => {
                                            team = changes.apply(&team);
                                            Live::Presence(team.clone())
                                        }
                                    };
                                    ready.push(Ok(live));
                                }
                            }
                        }
                    }
                }
            },
        ))
    }
}

/// One event of the live stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// A comment, or an event this client does not know: the line is alive.
    Alive,
    /// The team's data changed up to this cursor.
    Changed(i64),
    /// The team's presence now.
    Presence(Vec<fyncall_domain::PresenceEntry>),
}

/// An event of the stream as read: presence changes are laid on the list
/// the client holds before they go on.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Live(Live),
    PresenceChanges(fyncall_domain::presence::PresenceChanges),
}

/// An event block of the stream, read.
fn parse_event(block: &str) -> Event {
    let mut event = "message";
    let mut data = String::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim());
        }
    }
    match event {
        "changed" => Event::Live(
            serde_json::from_str::<Value>(&data)
                .ok()
                .and_then(|v| v.get("cursor")?.as_i64())
                .map_or(Live::Alive, Live::Changed),
        ),
        "presence" => Event::Live(serde_json::from_str(&data).map_or(Live::Alive, Live::Presence)),
        "presence_changes" => {
            serde_json::from_str(&data).map_or(Event::Live(Live::Alive), Event::PresenceChanges)
        }
        _ => Event::Live(Live::Alive),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

async fn check(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let error = body.get("error").cloned().unwrap_or(Value::Null);
    let text = |k: &str| error.get(k).and_then(Value::as_str).map(str::to_owned);
    let message = text("message").unwrap_or_else(|| format!("the server answered {status}"));
    Err(match status {
        StatusCode::UNAUTHORIZED => SyncError::Unauthorized(message),
        s if s.is_server_error() => SyncError::Server(message),
        _ => SyncError::Refused {
            code: text("code").unwrap_or_else(|| status.as_str().to_owned()),
            message,
            fields: error
                .get("fields")
                .and_then(|f| serde_json::from_value(f.clone()).ok())
                .unwrap_or_default(),
        },
    })
}

async fn read<T: serde::de::DeserializeOwned>(response: Response) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| SyncError::Unreachable(format!("the answer broke off: {}", root_cause(&e))))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        SyncError::Server(format!(
            "the server's answer is not what this client expects ({e}): is it a Fyncall server of a matching version?"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::{Event, Live, parse_event};

    #[test]
    fn parses_changed_and_presence_events_and_skips_comments() {
        assert_eq!(
            parse_event("event: changed\ndata: {\"cursor\": 42}\n\n"),
            Event::Live(Live::Changed(42))
        );
        assert_eq!(parse_event(":keep-alive\n\n"), Event::Live(Live::Alive));
        assert_eq!(
            parse_event("event: other\ndata: {\"cursor\": 1}\n\n"),
            Event::Live(Live::Alive)
        );
        assert_eq!(
            parse_event("event: changed\ndata: nonsense\n\n"),
            Event::Live(Live::Alive)
        );
        assert_eq!(
            parse_event("event: presence\ndata: []\n\n"),
            Event::Live(Live::Presence(Vec::new()))
        );
        let id = "0190e7a0-0000-7000-8000-000000000001";
        match parse_event(&format!(
            "event: presence\ndata: [{{\"agent_id\": \"{id}\", \"ticket_id\": \"{id}\", \"state\": \"typing\"}}]\n\n"
        )) {
            Event::Live(Live::Presence(list)) => {
                assert_eq!(list.len(), 1);
                assert_eq!(list[0].state, fyncall_domain::PresenceState::Typing);
            }
            other => panic!("{other:?}"),
        }
        match parse_event(&format!(
            "event: presence_changes\ndata: {{\"gone\": [{{\"agent_id\": \"{id}\"}}]}}\n\n"
        )) {
            Event::PresenceChanges(c) => {
                assert!(c.set.is_empty());
                assert_eq!(c.gone.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }
}
