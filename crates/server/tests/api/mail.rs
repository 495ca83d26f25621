//! The email channel (RULES.md "Channels") against a real Dovecot (IMAP,
//! IDLE) and a real SMTP server on 127.0.0.1: a customer's mail becomes a
//! conversation, the reply leaves threaded, answers join by In-Reply-To or
//! by the subject's token, automatic mail wakes nothing, a bounce fails the
//! reply, 550 fails at once and 451 is tried again, IMAP down shows
//! `failing` and catches up, passwords never come back out.

use std::time::{Duration, Instant};

use fyncall_testkit::mail::{Dovecot, SmtpSink};
use mail_parser::MimeHeaders;
use reqwest::Method;
use serde_json::{Value, json};

use crate::both_stores;
use crate::common::*;

const SUPPORT: &str = "support@example.test";
const IMAP_PASSWORD: &str = "imap-secret-7f3a";
const SMTP_PASSWORD: &str = "smtp-secret-91c2";

/// A team whose server keeps a mail key, with Dovecot and an SMTP server
/// beside it and one mailbox set up on them.
struct Desk {
    team: Team,
    dovecot: Dovecot,
    smtp: SmtpSink,
    mailbox: String,
    _key: tempfile::TempDir,
}

async fn desk(kind: Kind) -> Desk {
    let key = tempfile::tempdir().expect("a folder for the mail key");
    let config = fyncall_server::Config {
        mail_key: Some(key.path().join("mail.key")),
        ..fyncall_server::Config::default()
    };
    let team = Team::with_config(kind, config).await;
    let dovecot = Dovecot::start(SUPPORT, IMAP_PASSWORD);
    let smtp = SmtpSink::start(SUPPORT, SMTP_PASSWORD);
    let (s, m) = team
        .post(
            &team.admin,
            "/channels/email",
            mailbox_body(dovecot.port, smtp.port, IMAP_PASSWORD),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{m}");
    let mailbox = m["id"].as_str().expect("id").to_owned();
    Desk {
        team,
        dovecot,
        smtp,
        mailbox,
        _key: key,
    }
}

fn mailbox_body(imap_port: u16, smtp_port: u16, imap_password: &str) -> Value {
    json!({
        "address": SUPPORT,
        "display_name": "Example Support",
        "imap": {"host": "127.0.0.1", "port": imap_port, "security": "none",
                 "username": SUPPORT, "password": imap_password},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                 "username": SUPPORT, "password": SMTP_PASSWORD},
    })
}

/// A customer's mail, as their mail program writes it.
fn mail(from: &str, subject: &str, id: &str, answers: Option<&str>, body: &str) -> Vec<u8> {
    let mut m = format!(
        "From: Ann Lee <{from}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    );
    if let Some(a) = answers {
        m.push_str(&format!("In-Reply-To: <{a}>\r\nReferences: <{a}>\r\n"));
    }
    m.push_str(&format!(
        "Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ));
    m.into_bytes()
}

async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The team's email conversations, newest first.
async fn email_conversations(team: &Team) -> Vec<Value> {
    let (s, v) = team
        .get(&team.alice, "/conversations?view=all&limit=100")
        .await;
    assert!(s.is_success(), "{v}");
    v["conversations"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["channel"] == "email")
        .collect()
}

async fn conversation(team: &Team, id: &str) -> Value {
    let (s, v) = team.get(&team.alice, &format!("/conversations/{id}")).await;
    assert!(s.is_success(), "{v}");
    v
}

async fn messages(team: &Team, id: &str) -> Vec<Value> {
    conversation(team, id).await["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one email conversation, once it has `n` messages.
async fn email_conversation_with(team: &Team, n: usize) -> String {
    wait_for("the email conversation's messages", 10, || async {
        let all = email_conversations(team).await;
        let c = all.first()?;
        let id = c["id"].as_str()?.to_owned();
        (messages(team, &id).await.len() >= n).then_some(id)
    })
    .await
}

async fn reply(team: &Team, conversation: &str, body: &str) -> Value {
    let (s, v) = team
        .post(
            &team.alice,
            &format!("/conversations/{conversation}/messages"),
            json!({"body": body}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    v
}

async fn delivery_of(team: &Team, conversation: &str, message: &str) -> Value {
    messages(team, conversation)
        .await
        .into_iter()
        .find(|m| m["id"] == message)
        .map(|m| m["delivery"].clone())
        .unwrap_or(Value::Null)
}

async fn delivery_becomes(
    team: &Team,
    conversation: &str,
    message: &str,
    state: &str,
    secs: u64,
) -> Value {
    let start = Instant::now();
    loop {
        let d = delivery_of(team, conversation, message).await;
        if d["state"] == state {
            return d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "the reply's delivery is not {state} after {secs} s: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l[name.len()..].starts_with(':')
        })
        .map(|l| l[name.len() + 1..].trim())
}

/// A small PNG (a 1×1 picture) with some bytes of every value after it.
fn png() -> Vec<u8> {
    let mut p =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    p.extend((0..=255u8).cycle().take(300_000));
    p
}

/// A customer's mail carrying a file.
fn mail_with_file(
    from: &str,
    subject: &str,
    id: &str,
    body: &str,
    name: &str,
    bytes: &[u8],
) -> Vec<u8> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    format!(
        "From: Ann Lee <{from}>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n--sep\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--sep--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

async fn a_customer_mail_becomes_a_conversation_and_the_reply_leaves_threaded(kind: Kind) {
    let mut d = desk(kind).await;
    let team = &d.team;
    let started = Instant::now();
    let picture = png();
    d.dovecot.deliver(&mail_with_file(
        "ann@example.org",
        "Order 1042 is late",
        "m1@example.org",
        "Where is my order?",
        "label.png",
        &picture,
    ));
    let conv = email_conversation_with(team, 1).await;
    let within = started.elapsed();
    assert!(within < Duration::from_secs(5), "taken after {within:?}");
    let c = conversation(team, &conv).await;
    assert_eq!(c["channel"], "email", "{c}");
    assert_eq!(c["subject"], "Order 1042 is late", "{c}");
    assert_eq!(c["customer"]["email"], "ann@example.org", "{c}");
    assert_eq!(c["customer"]["name"], "Ann Lee", "{c}");
    assert_eq!(c["messages"][0]["body"], "Where is my order?", "{c}");
    assert_eq!(c["messages"][0]["author"], "customer", "{c}");
    // Its file, byte for byte, only ever as a download.
    let file = &c["messages"][0]["attachments"][0];
    assert_eq!(file["name"], "label.png", "{c}");
    assert_eq!(file["content_type"], "image/png", "{c}");
    assert_eq!(file["size"], picture.len(), "{c}");
    let got = team
        .http
        .get(format!(
            "{}/attachments/{}",
            team.url,
            file["id"].as_str().expect("id")
        ))
        .bearer_auth(&team.alice)
        .send()
        .await
        .expect("download");
    assert!(got.status().is_success());
    let headers = got.headers().clone();
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap_or("")
            .starts_with("attachment;")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(got.bytes().await.expect("bytes").to_vec(), picture);

    // The reply leaves threaded from the mailbox, with the agent's PDF.
    let pdf = b"%PDF-1.4\n% a small PDF\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let up = team
        .http
        .post(format!("{}/attachments", team.url))
        .bearer_auth(&team.alice)
        .header("content-type", "application/pdf")
        .header(
            "content-disposition",
            "attachment; filename=\"invoice.pdf\"",
        )
        .body(pdf.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status().as_u16(), 201);
    let up: Value = up.json().await.expect("json");
    let (s, r) = team
        .post(
            &team.alice,
            &format!("/conversations/{conv}/messages"),
            json!({"body": "It ships today.", "attachment_ids": [up["id"]]}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{r}");
    assert_eq!(r["attachments"][0]["name"], "invoice.pdf", "{r}");
    let rid = r["id"].as_str().expect("id").to_owned();
    assert_eq!(r["delivery"]["state"], "queued", "{r}");
    delivery_becomes(team, &conv, &rid, "sent", 15).await;
    let sent = String::from_utf8(d.smtp.mails().pop().expect("a mail sent")).expect("text");
    let subject = header(&sent, "Subject").expect("a subject");
    let token = format!("[#C-{}]", &conv.replace('-', "")[24..]);
    assert_eq!(subject, format!("Re: Order 1042 is late {token}"), "{sent}");
    assert_eq!(
        header(&sent, "In-Reply-To"),
        Some("<m1@example.org>"),
        "{sent}"
    );
    assert!(
        header(&sent, "References").is_some_and(|r| r.contains("<m1@example.org>")),
        "{sent}"
    );
    let own_id = format!("<{}@example.test>", rid.replace('-', ""));
    assert_eq!(header(&sent, "Message-ID"), Some(own_id.as_str()), "{sent}");
    let from = header(&sent, "From").expect("from");
    assert!(
        from.contains("via Example Support") && from.contains(SUPPORT),
        "{from}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(sent.as_bytes())
        .expect("the sent mail reads");
    assert_eq!(
        parsed.body_text(0).as_deref().map(str::trim),
        Some("It ships today.")
    );
    let attached: Vec<_> = parsed.attachments().collect();
    assert_eq!(attached.len(), 1, "{sent}");
    assert_eq!(attached[0].attachment_name(), Some("invoice.pdf"));
    assert_eq!(attached[0].contents(), pdf.as_slice());

    // The customer's answer joins by In-Reply-To; another by the token only.
    d.dovecot.deliver(&mail(
        "ann@example.org",
        "Re: Order 1042 is late",
        "m2@example.org",
        Some(own_id.trim_matches(['<', '>'])),
        "Thanks!",
    ));
    d.dovecot.deliver(&mail(
        "ann.lee@elsewhere.example",
        &format!("One more thing {token}"),
        "m3@elsewhere.example",
        None,
        "Also the invoice, please.",
    ));
    email_conversation_with(team, 4).await;
    let all = email_conversations(team).await;
    assert_eq!(
        all.len(),
        1,
        "both answers joined the one conversation: {all:?}"
    );
    let bodies: Vec<Value> = messages(team, &conv)
        .await
        .iter()
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(
        bodies,
        vec![
            json!("Where is my order?"),
            json!("It ships today."),
            json!("Thanks!"),
            json!("Also the invoice, please.")
        ]
    );
    // The mailbox stays the team's record.
    assert_eq!(d.dovecot.count(), 3);

    // A mail on its own subject opens a new conversation.
    d.dovecot.deliver(&mail(
        "bo@example.org",
        "Hello",
        "m4@example.org",
        None,
        "New question",
    ));
    wait_for("a second conversation", 10, || async {
        (email_conversations(team).await.len() == 2).then_some(())
    })
    .await;
}

async fn automatic_mail_wakes_nothing_and_a_bounce_fails_the_reply(kind: Kind) {
    let mut d = desk(kind).await;
    let team = &d.team;
    d.dovecot.deliver(&mail(
        "ann@example.org",
        "Refund",
        "a1@example.org",
        None,
        "Refund please",
    ));
    let conv = email_conversation_with(team, 1).await;
    let (s, t) = team
        .post(
            &team.alice,
            "/tickets",
            json!({"conversation_id": conv, "subject": "Refund", "priority": "normal"}),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{t}");
    let ticket = t["id"].as_str().expect("id").to_owned();
    for status in ["in_progress", "waiting_on_customer"] {
        let (s, v) = team
            .post(
                &team.alice,
                &format!("/tickets/{ticket}/status"),
                json!({"status": status}),
            )
            .await;
        assert!(s.is_success(), "{v}");
    }
    let r = reply(team, &conv, "Which order?").await;
    let rid = r["id"].as_str().expect("id").to_owned();
    delivery_becomes(team, &conv, &rid, "sent", 15).await;
    let sent_before = d.smtp.mails().len();

    // An out-of-office answer: kept, marked, moves no ticket, answered by nobody.
    let mut ooo = mail(
        "ann@example.org",
        "Automatic reply: Refund",
        "ooo@example.org",
        Some(&format!("{}@example.test", rid.replace('-', ""))),
        "I am away until Monday.",
    );
    ooo.splice(0..0, b"Auto-Submitted: auto-replied\r\n".iter().copied());
    d.dovecot.deliver(&ooo);
    email_conversation_with(team, 3).await;
    let kept = messages(team, &conv).await;
    assert_eq!(kept[2]["automatic"], true, "{kept:?}");
    let (_, t) = team.get(&team.alice, &format!("/tickets/{ticket}")).await;
    assert_eq!(
        t["ticket"]["status"], "waiting_on_customer",
        "an automatic mail moves no ticket: {t}"
    );

    // A bounce names the reply: it fails with the report's reason.
    let bounce = format!(
        "From: MAILER-DAEMON@example.org\r\nTo: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; ann@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{}@example.test>\r\nSubject: Re: Refund\r\n--b--\r\n",
        rid.replace('-', "")
    );
    d.dovecot.deliver(bounce.as_bytes());
    let failed = delivery_becomes(team, &conv, &rid, "failed", 10).await;
    let reason = failed["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("mailbox full") && reason.contains("ann@example.org"),
        "{failed}"
    );
    // The bounce is no customer message, and nothing answered either mail.
    assert_eq!(messages(team, &conv).await.len(), 3);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(d.smtp.mails().len(), sent_before, "nothing was sent back");
}

async fn a_550_fails_at_once_and_a_451_is_tried_again(kind: Kind) {
    let mut d = desk(kind).await;
    let team = &d.team;
    d.dovecot.deliver(&mail(
        "reject-me@example.org",
        "One",
        "r1@example.org",
        None,
        "Hello",
    ));
    let refused = email_conversation_with(team, 1).await;
    let r = reply(team, &refused, "Hi there").await;
    let rid = r["id"].as_str().expect("id").to_owned();
    let failed = delivery_becomes(team, &refused, &rid, "failed", 15).await;
    assert_eq!(failed["attempts"], 1, "{failed}");
    let reason = failed["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("550") && reason.contains("User unknown"),
        "the server's words: {failed}"
    );

    d.dovecot.deliver(&mail(
        "later@example.org",
        "Two",
        "l1@example.org",
        None,
        "Hello again",
    ));
    let later = wait_for("the second conversation", 10, || async {
        email_conversations(team)
            .await
            .into_iter()
            .find(|c| c["customer"]["email"] == "later@example.org")
            .and_then(|c| c["id"].as_str().map(str::to_owned))
    })
    .await;
    let r = reply(team, &later, "Sorry for the wait").await;
    let rid = r["id"].as_str().expect("id").to_owned();
    // The first attempt hears 451, the one 5 s later gets through.
    let sent = delivery_becomes(team, &later, &rid, "sent", 30).await;
    assert_eq!(sent["attempts"], 2, "{sent}");
    let mails = d.smtp.mails();
    assert_eq!(mails.len(), 1, "the 550 and the 451 kept nothing");
}

/// The one mailbox as the admin console shows it.
async fn state(team: &Team) -> Value {
    let (_, v) = team.get(&team.admin, "/channels/email").await;
    v[0].clone()
}

async fn imap_down_shows_failing_then_catches_up(kind: Kind) {
    let mut d = desk(kind).await;
    let team = &d.team;
    d.dovecot.deliver(&mail(
        "ann@example.org",
        "First",
        "f1@example.org",
        None,
        "one",
    ));
    email_conversation_with(team, 1).await;
    assert_eq!(state(team).await["state"], "idle", "Dovecot offers IDLE");
    d.dovecot.stop();
    let failing = wait_for("the mailbox to show failing", 20, || async {
        let m = state(team).await;
        (m["state"] == "failing").then_some(m)
    })
    .await;
    let error = failing["last_error"].as_str().unwrap_or("");
    assert!(
        error.starts_with("IMAP:") && error.contains("127.0.0.1"),
        "{failing}"
    );
    for i in 0..5 {
        d.dovecot.deliver(&mail(
            "ann@example.org",
            &format!("While down {i}"),
            &format!("down{i}@example.org"),
            None,
            &format!("mail {i}"),
        ));
    }
    d.dovecot.start_again();
    wait_for("the mails that came while IMAP was down", 90, || async {
        (email_conversations(team).await.len() == 6).then_some(())
    })
    .await;
    let m = wait_for("the mailbox to be idle again", 10, || async {
        let m = state(team).await;
        (m["state"] == "idle").then_some(m)
    })
    .await;
    assert!(m.get("last_error").is_none(), "{m}");
}

async fn passwords_go_in_and_never_come_out(kind: Kind) {
    let d = desk(kind).await;
    let team = &d.team;
    let (s, list) = team.get(&team.admin, "/channels/email").await;
    assert!(s.is_success(), "{list}");
    let text = list.to_string();
    assert!(
        !text.contains(IMAP_PASSWORD) && !text.contains(SMTP_PASSWORD),
        "{text}"
    );
    assert_eq!(list[0]["imap"]["username"], SUPPORT);
    // Agents may not see or change mailboxes.
    let (s, _) = team.get(&team.alice, "/channels/email").await;
    assert_eq!(s.as_u16(), 403);
    // The store's file alone does not reveal them.
    if let fyncall_server::Database::Sqlite(path) = &team.place.database {
        let mut bytes = std::fs::read(path).expect("the store");
        let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
        bytes.extend(wal);
        let hay = String::from_utf8_lossy(&bytes);
        assert!(!hay.contains(IMAP_PASSWORD) && !hay.contains(SMTP_PASSWORD));
    }
    // Check says what works and what fails, in words.
    let (s, ok) = team
        .post(
            &team.admin,
            &format!("/channels/email/{}/check", d.mailbox),
            json!({}),
        )
        .await;
    assert!(s.is_success(), "{ok}");
    assert_eq!(ok, json!({"imap": {"ok": true}, "smtp": {"ok": true}}));
    let (s, v) = team
        .call(
            &team.admin,
            Method::PATCH,
            &format!("/channels/email/{}", d.mailbox),
            Some(json!({"imap": {"password": "wrong"}, "smtp": {"password": "wrong"}})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    assert!(!v.to_string().contains("wrong"), "{v}");
    let (_, bad) = team
        .post(
            &team.admin,
            &format!("/channels/email/{}/check", d.mailbox),
            json!({}),
        )
        .await;
    assert_eq!(bad["imap"]["ok"], false, "{bad}");
    let imap = bad["imap"]["error"].as_str().unwrap_or("");
    assert!(
        imap.starts_with(&format!("IMAP: authentication failed for {SUPPORT}")),
        "{bad}"
    );
    let smtp = bad["smtp"]["error"].as_str().unwrap_or("");
    assert!(
        smtp.starts_with(&format!("SMTP: authentication failed for {SUPPORT}")),
        "{bad}"
    );
    // Plain mail leaves this machine only when the server allows it.
    let mut far = mailbox_body(993, 587, "x");
    far["address"] = json!("sales@example.test");
    far["imap"]["host"] = json!("imap.example.com");
    let refused = team.post(&team.admin, "/channels/email", far).await;
    assert_error(&refused, 422, "invalid");
    assert!(
        refused.1.to_string().contains("--allow-plain-mail"),
        "{}",
        refused.1
    );
    // One mailbox an address.
    let twice = team
        .post(
            &team.admin,
            "/channels/email",
            mailbox_body(d.dovecot.port, d.smtp.port, "x"),
        )
        .await;
    assert_error(&twice, 409, "conflict");
}

/// Teams served by real `fyncall-server` processes: the store's
/// arguments with a mail key, Dovecot and an SMTP server, the admin's token.
struct Processes {
    _place: Place,
    _key: tempfile::TempDir,
    args: Vec<String>,
    dovecot: Dovecot,
    smtp: SmtpSink,
    http: reqwest::Client,
    password: &'static str,
}

impl Processes {
    async fn new(kind: Kind, password: &'static str) -> Processes {
        let place = Place::new(kind).await;
        let key = tempfile::tempdir().expect("a folder for the mail key");
        let mut args = place.args();
        init_team(&args, password);
        args.extend([
            "--mail-key".to_owned(),
            key.path().join("mail.key").display().to_string(),
        ]);
        Processes {
            _place: place,
            _key: key,
            args,
            dovecot: Dovecot::start(SUPPORT, IMAP_PASSWORD),
            smtp: SmtpSink::start(SUPPORT, SMTP_PASSWORD),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            password,
        }
    }

    /// The admin's token at `url` (`…/api/v1`).
    async fn login(&self, url: &str) -> String {
        fyncall_testkit::http::login(
            &self.http,
            url.trim_end_matches("/api/v1"),
            "root@example.com",
            self.password,
        )
        .await
        .token
    }

    async fn add_mailbox(&self, url: &str, token: &str) {
        let created = self
            .http
            .post(format!("{url}/channels/email"))
            .bearer_auth(token)
            .json(&mailbox_body(
                self.dovecot.port,
                self.smtp.port,
                IMAP_PASSWORD,
            ))
            .send()
            .await
            .expect("a mailbox");
        assert_eq!(created.status().as_u16(), 201);
    }

    /// The team's conversations through `url`, if it answers.
    async fn conversations(&self, url: &str, token: &str) -> Option<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{url}/conversations?view=all&limit=100"))
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        v["conversations"].as_array().cloned()
    }

    /// Delivers mails `from..to`, each on its own subject and body.
    fn deliver(&mut self, tag: &str, from: usize, to: usize) {
        for i in from..to {
            self.dovecot.deliver(&mail(
                "ann@example.org",
                &format!("{tag} {i}"),
                &format!("{tag}{i}@example.org"),
                None,
                &format!("{tag} {i}"),
            ));
        }
    }
}

async fn mails_arriving_across_a_kill_9_are_each_taken_once(kind: Kind) {
    let mut p = Processes::new(kind, "mail crash password").await;
    let (mut child, url) = serve(&p.args);
    let token = p.login(&url).await;
    p.add_mailbox(&url, &token).await;
    p.deliver("body", 0, 10);
    wait_for("the first mails taken", 10, || async {
        p.conversations(&url, &token)
            .await
            .filter(|c| !c.is_empty())
            .map(|_| ())
    })
    .await;
    p.deliver("body", 10, 20);
    child.kill();
    let (_child, url) = serve(&p.args);
    let token = p.login(&url).await;
    // PostgreSQL: the killed process's lease runs out first (about 25 s).
    wait_for("all 20 mails after the restart", 60, || async {
        p.conversations(&url, &token)
            .await
            .filter(|c| c.len() >= 20)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = p.conversations(&url, &token).await.unwrap_or_default();
    let mut bodies: Vec<String> = all
        .iter()
        .map(|c| c["last_message"]["body"].as_str().unwrap_or("").to_owned())
        .collect();
    bodies.sort();
    let mut want: Vec<String> = (0..20).map(|i| format!("body {i}")).collect();
    want.sort();
    assert_eq!(bodies, want, "each mail taken once");
    assert!(all.iter().all(|c| c["channel"] == "email"));
    assert_eq!(p.dovecot.count(), 20, "the mailbox still holds every mail");
}

/// Two server processes on one PostgreSQL database: one of them reads the
/// mailbox (it holds the lease), each mail is taken once, and the mailbox
/// never shows the other's failed takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_take_each_mail_once() {
    let mut p = Processes::new(Kind::Postgres, "two readers, one mailbox").await;
    let (_a, url_a) = serve(&p.args);
    let (_b, url_b) = serve(&p.args);
    let token = p.login(&url_a).await;
    p.add_mailbox(&url_a, &token).await;
    p.deliver("two", 0, 30);
    // Whichever process holds the lease reads them.
    wait_for("the 30 mails", 30, || async {
        p.conversations(&url_b, &token)
            .await
            .filter(|c| c.len() >= 30)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all = p.conversations(&url_a, &token).await.unwrap_or_default();
    assert_eq!(all.len(), 30, "each mail once");
    let boxes: Value = p
        .http
        .get(format!("{url_b}/channels/email"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("mailboxes")
        .json()
        .await
        .expect("json");
    assert_ne!(boxes[0]["state"], "failing", "{boxes}");
    assert!(boxes[0].get("last_error").is_none(), "{boxes}");
}

async fn files_are_held_to_their_limits(kind: Kind) {
    let team = Team::new(kind).await;
    let upload = |token: String, bytes: Vec<u8>, disposition: Option<&'static str>| {
        let (http, url) = (team.http.clone(), team.url.clone());
        async move {
            // A server that refuses a body too large answers before it has
            // read it all and closes; the client, still sending, may see the
            // connection end instead of the answer. Asked again, it reads it.
            let mut last = None;
            for _ in 0..3 {
                let mut req = http
                    .post(format!("{url}/attachments"))
                    .bearer_auth(token.clone())
                    .header("content-type", "application/octet-stream")
                    .body(bytes.clone());
                if let Some(d) = disposition {
                    req = req.header("content-disposition", d);
                }
                match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        return (status, res.json::<Value>().await.unwrap_or(Value::Null));
                    }
                    Err(e) => last = Some(e),
                }
            }
            panic!("the server did not answer: {last:?}");
        }
    };
    // Past 25 MiB: 413 with words, nothing kept.
    let (status, body) = upload(
        team.alice.clone(),
        vec![7u8; 25 * 1024 * 1024 + 1],
        Some("attachment; filename=\"big.bin\""),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body.to_string().contains("25 MiB"), "{body}");
    // Unnamed: said what to send.
    let (status, body) = upload(team.alice.clone(), b"x".to_vec(), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("Content-Disposition"), "{body}");
    // The integration may upload too; a file exactly at the limit is taken.
    let (status, at_limit) = upload(
        team.integration.clone(),
        vec![1u8; 25 * 1024 * 1024],
        Some("attachment; filename=\"../../limit.bin\""),
    )
    .await;
    assert_eq!(status, 201, "{at_limit}");
    assert_eq!(
        at_limit["name"], "limit.bin",
        "no folder in a name: {at_limit}"
    );
    assert_eq!(at_limit["size"], 25 * 1024 * 1024);
    // Three such files are past the 50 MiB a message carries.
    let mut ids = vec![at_limit["id"].clone()];
    for _ in 0..2 {
        let (_, more) = upload(
            team.alice.clone(),
            vec![2u8; 25 * 1024 * 1024],
            Some("attachment; filename=\"more.bin\""),
        )
        .await;
        ids.push(more["id"].clone());
    }
    let too_much = team
        .post(
            &team.alice,
            &format!("/conversations/{}/messages", team.conversation),
            json!({"body": "three big files", "attachment_ids": ids}),
        )
        .await;
    assert_error(&too_much, 422, "invalid");
    assert!(too_much.1.to_string().contains("50 MiB"), "{}", too_much.1);
    // A file no one uploaded.
    let unknown = team
        .post(
            &team.alice,
            &format!("/conversations/{}/messages", team.conversation),
            json!({"body": "a file", "attachment_ids": [uuid::Uuid::now_v7()]}),
        )
        .await;
    assert_error(&unknown, 422, "invalid");
    // Nothing was written by the refused replies.
    let (_, c) = team
        .get(
            &team.alice,
            &format!("/conversations/{}", team.conversation),
        )
        .await;
    assert!(
        c["messages"]
            .as_array()
            .is_some_and(|m| m.iter().all(|m| m["author"] != "agent")),
        "{c}"
    );
    // Two uploads of the same bytes share one blob.
    let (_, one) = upload(
        team.alice.clone(),
        b"same bytes".to_vec(),
        Some("attachment; filename=\"a.txt\""),
    )
    .await;
    let (_, two) = upload(
        team.alice.clone(),
        b"same bytes".to_vec(),
        Some("attachment; filename=\"b.txt\""),
    )
    .await;
    assert_ne!(one["id"], two["id"]);
    assert_eq!(one["sha256"], two["sha256"]);
}

/// A certificate authority and a certificate it signs for 127.0.0.1: the
/// CA's PEM, then the server's certificate and key.
fn private_ca() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("a key");
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Example Mail CA");
    let ca_cert = ca.self_signed(&ca_key).expect("the CA");
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().expect("a key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".into()])
        .expect("params")
        .signed_by(&key, &issuer)
        .expect("the server's certificate");
    (ca_cert.pem(), leaf.pem(), key.serialize_pem())
}

/// TLS from the first byte and STARTTLS, to a mail server whose certificate
/// a company's own authority signed (`--mail-ca`); without it, the check
/// says the certificate is not trusted.
async fn mail_over_tls_with_a_private_authority(kind: Kind) {
    let (ca, cert, key) = private_ca();
    let dir = tempfile::tempdir().expect("a folder");
    std::fs::write(dir.path().join("ca.pem"), &ca).expect("the CA file");
    let mut dovecot = Dovecot::start_tls(SUPPORT, IMAP_PASSWORD, &cert, &key);
    let smtp = SmtpSink::start(SUPPORT, SMTP_PASSWORD);
    let config = fyncall_server::Config {
        mail_key: Some(dir.path().join("mail.key")),
        mail_ca: Some(dir.path().join("ca.pem")),
        ..fyncall_server::Config::default()
    };
    let team = Team::with_config(kind, config).await;
    let tls_port = dovecot.tls_port.expect("IMAPS");
    let mut body = mailbox_body(tls_port, smtp.port, IMAP_PASSWORD);
    body["imap"]["security"] = json!("tls");
    let (s, m) = team.post(&team.admin, "/channels/email", body).await;
    assert_eq!(s.as_u16(), 201, "{m}");
    let id = m["id"].as_str().expect("id").to_owned();
    let (_, checked) = team
        .post(
            &team.admin,
            &format!("/channels/email/{id}/check"),
            json!({}),
        )
        .await;
    assert_eq!(checked["imap"], json!({"ok": true}), "{checked}");
    // Mail read over TLS.
    dovecot.deliver(&mail(
        "ann@example.org",
        "Over TLS",
        "tls1@example.org",
        None,
        "sealed",
    ));
    email_conversation_with(&team, 1).await;
    // STARTTLS on the plain port.
    let (s, v) = team
        .call(
            &team.admin,
            Method::PATCH,
            &format!("/channels/email/{id}"),
            Some(json!({"imap": {"port": dovecot.port, "security": "starttls"}})),
        )
        .await;
    assert!(s.is_success(), "{v}");
    let (_, checked) = team
        .post(
            &team.admin,
            &format!("/channels/email/{id}/check"),
            json!({}),
        )
        .await;
    assert_eq!(checked["imap"], json!({"ok": true}), "{checked}");

    // A server without the company's authority does not trust it, and says so.
    let plain_dir = tempfile::tempdir().expect("a folder");
    let other = Team::with_config(
        kind,
        fyncall_server::Config {
            mail_key: Some(plain_dir.path().join("mail.key")),
            ..fyncall_server::Config::default()
        },
    )
    .await;
    let mut body = mailbox_body(tls_port, smtp.port, IMAP_PASSWORD);
    body["imap"]["security"] = json!("tls");
    let (_, m) = other.post(&other.admin, "/channels/email", body).await;
    let (_, refused) = other
        .post(
            &other.admin,
            &format!("/channels/email/{}/check", m["id"].as_str().unwrap_or("")),
            json!({}),
        )
        .await;
    assert_eq!(refused["imap"]["ok"], false, "{refused}");
    let why = refused["imap"]["error"].as_str().unwrap_or("");
    assert!(
        why.starts_with("IMAP: TLS with 127.0.0.1 failed") && why.contains("certificate"),
        "{refused}"
    );
}

/// A server without IDLE: the mailbox shows `polling` and new mail is
/// looked for on the poll (1 s here, 60 s by default).
async fn a_server_without_idle_is_polled(kind: Kind) {
    let key = tempfile::tempdir().expect("a folder for the mail key");
    let config = fyncall_server::Config {
        mail_key: Some(key.path().join("mail.key")),
        mail_poll: Duration::from_secs(1),
        ..fyncall_server::Config::default()
    };
    let team = Team::with_config(kind, config).await;
    let mut dovecot = Dovecot::start_without_idle(SUPPORT, IMAP_PASSWORD);
    let smtp = SmtpSink::start(SUPPORT, SMTP_PASSWORD);
    let (s, m) = team
        .post(
            &team.admin,
            "/channels/email",
            mailbox_body(dovecot.port, smtp.port, IMAP_PASSWORD),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{m}");
    wait_for("the mailbox to show polling", 10, || async {
        (state(&team).await["state"] == "polling").then_some(())
    })
    .await;
    dovecot.deliver(&mail(
        "ann@example.org",
        "Polled",
        "p1@example.org",
        None,
        "found on the poll",
    ));
    let conv = email_conversation_with(&team, 1).await;
    assert_eq!(messages(&team, &conv).await[0]["body"], "found on the poll");
}

/// Mail arriving in a burst, some while earlier ones are being fetched:
/// none waits for the next IDLE wake-up.
async fn a_burst_of_mail_is_taken_whole(kind: Kind) {
    let mut d = desk(kind).await;
    for i in 0..40 {
        d.dovecot.deliver(&mail(
            "ann@example.org",
            &format!("Burst {i}"),
            &format!("burst{i}@example.org"),
            None,
            &format!("burst {i}"),
        ));
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    wait_for("all 40 mails of the burst", 20, || async {
        (email_conversations(&d.team).await.len() == 40).then_some(())
    })
    .await;
}

both_stores!(
    a_burst_of_mail_is_taken_whole,
    a_server_without_idle_is_polled,
    mail_over_tls_with_a_private_authority,
    files_are_held_to_their_limits,
    mails_arriving_across_a_kill_9_are_each_taken_once,
    a_customer_mail_becomes_a_conversation_and_the_reply_leaves_threaded,
    automatic_mail_wakes_nothing_and_a_bounce_fails_the_reply,
    a_550_fails_at_once_and_a_451_is_tried_again,
    imap_down_shows_failing_then_catches_up,
    passwords_go_in_and_never_come_out,
);
