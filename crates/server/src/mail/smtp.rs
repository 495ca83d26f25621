//! Sending a reply by SMTP from its conversation's mailbox (RULES.md
//! "Outgoing email"): from the mailbox's address as "Agent via Team",
//! `Re:` and the conversation's token in the subject, `In-Reply-To` the
//! customer's last mail and `References` the thread, and a Message-ID made
//! from the reply's id, so a resend after a crash carries the same one.
//! A 4xx answer or a broken connection is retried; a 5xx fails the
//! delivery with the server's words.

use std::time::Duration;

use fyncall_domain::delivery::Attempted;
use fyncall_domain::mail::{MailSecurity, NewMailServer, reply_message_id, reply_subject};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox as Address, Message as Email, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use uuid::Uuid;

use super::{MailboxConfig, Thread};
use crate::store::{Store, StoreError, StoreResult};

/// How long one SMTP exchange may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

/// Everything one reply's mail is made of.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub mailbox: MailboxConfig,
    pub reply: Uuid,
    pub agent_name: String,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// The customer's last mail, answered.
    pub in_reply_to: Option<String>,
    /// Every mail of the thread, oldest first.
    pub references: Vec<String>,
    /// The reply's files: name, type and bytes.
    pub files: Vec<(String, String, Vec<u8>)>,
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Reads what a reply's mail needs.
pub fn outgoing(
    store: &dyn Store,
    sealer: &super::Sealer,
    reply: Uuid,
    mailbox: Uuid,
) -> StoreResult<Outgoing> {
    let conversation_of = |m: &fyncall_domain::Message| m.conversation_id;
    crate::store::read_tokens(store, |db| {
        let message =
            crate::inbox::message(db, reply)?.ok_or_else(|| db_err(format!("no reply {reply}")))?;
        let conversation = conversation_of(&message);
        let config = super::mailbox_config(db, sealer, mailbox)?.ok_or_else(|| {
            db_err("the conversation's mailbox was removed: set it up again, then retry")
        })?;
        let Thread { token, subject, .. } = super::thread(db, conversation)?.ok_or_else(|| {
            db_err(format!(
                "conversation {conversation} is not an email conversation"
            ))
        })?;
        let c = crate::outbox::conversation_of(db, conversation)?;
        let agent_name = match message.agent_id {
            Some(agent) => db
                .rows(
                    "SELECT data FROM agents WHERE id = $1",
                    &[Some(&agent.to_string())],
                )?
                .first()
                .and_then(|r| r.first().cloned().flatten())
                .and_then(|data| serde_json::from_str::<fyncall_domain::Agent>(&data).ok())
                .map(|a| a.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let (references, in_reply_to) = super::thread_ids(db, conversation)?;
        let own = reply_message_id(reply, &config.address);
        let mut files = Vec::new();
        for a in &message.attachments {
            let (_, blob) = crate::blobs::attachment(db, a.id)?
                .ok_or_else(|| db_err(format!("the reply's file {} is gone", a.name)))?;
            files.push((a.name.clone(), a.content_type.clone(), blob));
        }
        Ok((
            Outgoing {
                files: Vec::new(),
                agent_name,
                to_name: c.customer.name,
                to_address: c.customer.email,
                subject: reply_subject(&subject, &token),
                body: message.body,
                in_reply_to,
                references: references.into_iter().filter(|r| *r != own).collect(),
                mailbox: config,
                reply,
            },
            files,
        ))
    })
    .and_then(|(mut out, files)| {
        for (name, content_type, blob) in files {
            out.files
                .push((name, content_type, crate::blobs::read_all(store, blob)?));
        }
        Ok(out)
    })
}

/// The mail of a reply, as sent on every attempt.
pub fn build(out: &Outgoing) -> Result<Email, String> {
    let team = &out.mailbox.display_name;
    let from_name = if out.agent_name.trim().is_empty() {
        team.clone()
    } else {
        format!("{} via {team}", out.agent_name.trim())
    };
    let from = Address::new(
        Some(from_name),
        out.mailbox.address.parse().map_err(|e| {
            format!(
                "the mailbox's address {} is not one: {e}",
                out.mailbox.address
            )
        })?,
    );
    let to = Address::new(
        Some(out.to_name.clone()),
        out.to_address.parse().map_err(|e| {
            format!(
                "the customer's address {} is not one a mail can go to: {e}",
                out.to_address
            )
        })?,
    );
    let mut email = Email::builder()
        .from(from)
        .to(to)
        .subject(out.subject.clone())
        .message_id(Some(format!(
            "<{}>",
            reply_message_id(out.reply, &out.mailbox.address)
        )));
    if let Some(last) = &out.in_reply_to {
        email = email.in_reply_to(format!("<{last}>"));
    }
    if !out.references.is_empty() {
        let refs: Vec<String> = out.references.iter().map(|r| format!("<{r}>")).collect();
        email = email.references(refs.join(" "));
    }
    if out.files.is_empty() {
        return email
            .header(ContentType::TEXT_PLAIN)
            .body(out.body.clone())
            .map_err(|e| format!("the mail cannot be made: {e}"));
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(out.body.clone()));
    for (name, content_type, bytes) in &out.files {
        let kind = ContentType::parse(content_type).unwrap_or_else(|_| {
            ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
        });
        parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind));
    }
    email
        .multipart(parts)
        .map_err(|e| format!("the mail cannot be made: {e}"))
}

/// The transport to a mailbox's SMTP server.
pub fn transport(
    server: &NewMailServer,
    trust: &super::Trust,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let host = server.host.as_str();
    let tls = || {
        let mut builder = TlsParameters::builder(host.to_owned());
        if let Some(pem) = &trust.pem {
            let ca = lettre::transport::smtp::client::Certificate::from_pem(pem)
                .map_err(|e| format!("the mail CA file: {e}"))?;
            builder = builder.add_root_certificate(ca);
        }
        builder
            .build_rustls()
            .map_err(|e| format!("TLS settings for {host}: {e}"))
    };
    let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(server.port)
        .timeout(Some(ANSWER_WITHIN))
        .credentials(Credentials::new(
            server.username.clone(),
            server.password.clone(),
        ));
    let builder = match server.security {
        MailSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
        MailSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
        MailSecurity::None => builder.tls(Tls::None),
    };
    Ok(builder.build())
}

/// An SMTP error in words, and whether trying again may help.
fn outcome_of(e: &lettre::transport::smtp::Error, server: &NewMailServer) -> Attempted {
    let at = format!("{}:{}", server.host, server.port);
    if e.is_permanent() {
        Attempted::Permanent(format!("the mail server {at} refused the mail: {e}"))
    } else if e.is_transient() {
        Attempted::Temporary(format!("the mail server {at} asked to try later: {e}"))
    } else if e.is_timeout() {
        Attempted::Temporary(format!("the mail server {at} did not answer in time"))
    } else {
        let mut why = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            why = format!("{why}: {s}");
            source = s.source();
        }
        Attempted::Temporary(format!("sending through {at} failed: {why}"))
    }
}

/// Sends a reply's mail: taken, or what failed.
pub async fn send(out: &Outgoing, trust: &super::Trust) -> Attempted {
    let email = match build(out) {
        Ok(e) => e,
        Err(why) => return Attempted::Permanent(why),
    };
    let transport = match transport(&out.mailbox.smtp, trust) {
        Ok(t) => t,
        Err(why) => return Attempted::Temporary(why),
    };
    match transport.send(email).await {
        Ok(_) => Attempted::Taken,
        Err(e) => outcome_of(&e, &out.mailbox.smtp),
    }
}

/// `POST /channels/email/{id}/check`'s SMTP half: connects and signs in.
pub async fn check(m: &MailboxConfig, trust: &super::Trust) -> Result<(), String> {
    let transport = transport(&m.smtp, trust).map_err(|e| format!("SMTP: {e}"))?;
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "SMTP: {}:{} did not keep the connection open",
            m.smtp.host, m.smtp.port
        )),
        Err(e) => Err(match outcome_of(&e, &m.smtp) {
            Attempted::Permanent(w) | Attempted::Temporary(w)
                if e.is_permanent() && w.contains("535") =>
            {
                format!("SMTP: authentication failed for {} ({e})", m.smtp.username)
            }
            Attempted::Permanent(w) | Attempted::Temporary(w) => format!("SMTP: {w}"),
            Attempted::Taken => "SMTP: unknown".into(),
        }),
    }
}
