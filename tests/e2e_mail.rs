//! The email channel, end to end in the real app: a real `fyncall-server`
//! with demo data, a real Dovecot (IMAP, IDLE) and a real SMTP server on
//! 127.0.0.1. The admin sets up the team's mailbox in Admin → Mailboxes and
//! checks it; a customer's mail with a picture arrives: an email
//! conversation (an envelope in the inbox) with its subject and its file,
//! which the app fetches into its attachments folder byte for byte. Alice
//! answers with a PDF dropped on the reply box: the reply shows Sent and
//! the SMTP server holds it, threaded, with the PDF. Screenshots of each
//! step in `artifacts/e2e/`.
//!
//! Run by `scripts/test` with the app it built:
//! `FYNCALL_DESK_BIN=... cargo test -p fyncall-desk --test e2e_mail -- --ignored`

mod desk;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use desk::*;
use fyncall_testkit::mail::{Dovecot, SmtpSink};
use serde_json::{Value, json};

const SUPPORT: &str = "support@demo.fyncall.test";

/// A customer's mail with a picture, as a mail program writes it.
fn customer_mail(picture: &[u8]) -> Vec<u8> {
    let encoded = STANDARD.encode(picture);
    let lines: Vec<String> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "From: Nora Quinn <nora@example.org>\r\nTo: {SUPPORT}\r\nSubject: Damaged parcel\r\nMessage-ID: <nora-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe box arrived crushed, see the photo.\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"parcel.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

#[test]
#[ignore = "needs the app built by scripts/build; scripts/test runs it"]
fn a_customer_mail_is_answered_from_the_app_with_a_file() {
    let Run {
        app,
        artifacts,
        dir: run,
        mut reaper,
    } = run();
    let mut audits: Vec<String> = Vec::new();
    let server = demo_server(run.path());
    let url = server.url.clone();
    reaper.0.push(server.child);
    let mut dovecot = Dovecot::start(SUPPORT, "imap-pass-e2e");
    let smtp = SmtpSink::start(SUPPORT, "smtp-pass-e2e");

    let desktop = Desktop::start(run.path(), &mut reaper);
    let home = run.path().join("home");
    let d = desktop.launch(&app, &["--home".into(), home.display().to_string()]);
    d.type_into("input[name=server]", &url);
    d.type_into("input[name=email]", "admin@demo.fyncall.test");
    d.type_into("input[name=password]", PASSWORD);
    d.click("button[type=submit]");
    d.wait("[data-testid=ticket-list] tbody tr");

    // The admin sets up the mailbox and checks it.
    d.click("a[data-nav=admin]");
    d.click("[data-section=mailboxes]");
    d.wait("[data-testid=admin-mailboxes]");
    d.type_into("[data-field=mailbox-address]", SUPPORT);
    d.type_into("[data-field=mailbox-name]", "Demo Support");
    for (which, port, password) in [
        ("imap", dovecot.port, "imap-pass-e2e"),
        ("smtp", smtp.port, "smtp-pass-e2e"),
    ] {
        d.type_into(&format!("[data-field={which}-host]"), "127.0.0.1");
        d.type_into(&format!("[data-field={which}-port]"), &port.to_string());
        d.choose(&format!("[data-field={which}-security]"), "none");
        d.type_into(&format!("[data-field={which}-username]"), SUPPORT);
        d.type_into(&format!("[data-field={which}-password]"), password);
    }
    d.click("[data-action=save-mailbox]");
    d.wait(&format!("[data-mailbox='{SUPPORT}']"));
    d.click("[data-action=mailbox-check]");
    let checked = d.wait_text("[data-testid=mailbox-check]", "the check", |t| {
        t.contains("IMAP: signed in") && t.contains("SMTP: signed in")
    });
    assert!(!checked.contains("failed"), "{checked}");
    d.wait_text("[data-testid=mailbox-state]", "the mailbox reading", |t| {
        t.contains("waits for new mail")
    });
    d.screenshot(&artifacts, "29-admin-mailboxes");
    audits.extend(d.audit("admin: mailboxes"));

    // A customer's mail with a picture: an email conversation.
    let picture: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(40_000))
        .collect();
    dovecot.deliver(&customer_mail(&picture));
    d.click("a[data-inbox=unassigned]");
    // Nora's row, with its envelope.
    let found = wait_for(
        "Nora's email conversation in the inbox",
        Duration::from_secs(30),
        || {
            let v = d.script(
            "const li = [...document.querySelectorAll('li[data-conversation]')] \
               .find((l) => l.textContent.includes('Nora Quinn')); \
             return li ? [li.dataset.conversation, !!li.querySelector('[data-testid=envelope]')] : null;",
            json!([]),
        );
            (!v.is_null()).then_some(v)
        },
    );
    assert_eq!(found[1], true, "an envelope on an email conversation");
    let conversation = found[0].as_str().expect("the conversation's id").to_owned();
    d.screenshot(&artifacts, "30-email-inbox");
    d.click(&format!("li[data-conversation='{conversation}'] a"));
    let subject = d.wait_text("[data-testid=conversation-subject]", "the subject", |t| {
        t.contains("Damaged parcel")
    });
    assert!(subject.contains('✉'), "{subject}");
    d.wait_text("[data-action=open-attachment]", "the picture", |t| {
        t.contains("parcel.png")
    });
    // Opened: fetched into the app's attachments folder, byte for byte.
    d.click("[data-action=open-attachment]");
    let kept = wait_for(
        "the picture on this computer",
        Duration::from_secs(20),
        || {
            let dir = std::fs::read_dir(home.join("attachments")).ok()?;
            dir.flatten()
                .map(|e| e.path().join("parcel.png"))
                .find(|p| p.exists())
                .map(|p| Value::String(p.display().to_string()))
        },
    );
    let kept = std::fs::read(kept.as_str().expect("path")).expect("the kept picture");
    assert_eq!(kept, picture);
    d.screenshot(&artifacts, "31-email-conversation");
    audits.extend(d.audit("conversation: an email"));

    // Alice's reply, a PDF dropped on the reply box.
    // Binary, as real PDFs are (their second line is high bytes).
    let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n% the invoice\n%%EOF\n";
    d.script(
        "const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0)); \
         const dt = new DataTransfer(); \
         dt.items.add(new File([bytes], 'invoice.pdf', { type: 'application/pdf' })); \
         const form = document.querySelector('textarea[aria-label=Reply]').closest('form'); \
         form.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); \
         return true;",
        json!([STANDARD.encode(pdf)]),
    );
    d.wait("[data-attached='invoice.pdf']");
    d.type_into(
        "textarea[aria-label=Reply]",
        "Sorry about that: the invoice for the refund is attached.",
    );
    d.click("button[data-action=send-reply]");
    d.wait_text("li.message.agent [data-delivery]", "the reply sent", |t| {
        t == "Sent"
    });
    let sent = wait_for(
        "the mail at the SMTP server",
        Duration::from_secs(30),
        || {
            smtp.mails()
                .pop()
                .map(|m| Value::String(String::from_utf8_lossy(&m).into_owned()))
        },
    );
    let sent = sent.as_str().unwrap_or_default();
    assert!(sent.contains("Subject: Re: Damaged parcel [#C-"), "{sent}");
    assert!(sent.contains("In-Reply-To: <nora-1@example.org>"), "{sent}");
    assert!(
        sent.contains("invoice.pdf") && sent.contains("application/pdf"),
        "{sent}"
    );
    assert!(
        sent.contains(&STANDARD.encode(pdf)),
        "the PDF's bytes: {sent}"
    );
    d.screenshot(&artifacts, "32-email-reply-sent");
    audits.extend(d.audit("conversation: an email reply sent"));

    d.quit();
    assert!(audits.is_empty(), "accessibility findings: {audits:#?}");
}
