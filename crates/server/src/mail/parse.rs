//! A mail as it came from the mailbox, read into what the team keeps: who
//! sent it, its thread headers, its text (the HTML part turned to text,
//! never kept as HTML), its attachments, whether a machine sent it, and,
//! for a delivery status report, which reply bounced and why.

use fyncall_domain::mail::{Noise, bounce_reason, is_automatic, reply_of_message_id};
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};
use uuid::Uuid;

/// A file a mail carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// What a delivery status report says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The reply it names, when it names one of ours.
    pub reply: Option<Uuid>,
    pub reason: String,
}

/// A mail read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its Message-ID without angle brackets (made up from its bytes when
    /// it has none, so it is still taken once).
    pub message_id: String,
    /// `In-Reply-To` then `References`, newest first, without brackets.
    pub answers: Vec<String>,
    pub subject: String,
    pub from_name: String,
    pub from_address: String,
    pub body: String,
    pub files: Vec<File>,
    pub automatic: bool,
    pub bounce: Option<Bounce>,
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .map(|l| {
            l.iter()
                .map(|s| bare(s))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn bare(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// Every `<…@…>` in a text (a bounce's copy of the original headers).
fn message_ids_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        match after.find('>') {
            Some(end)
                if after[..end].contains('@') && !after[..end].contains(char::is_whitespace) =>
            {
                out.push(after[..end].to_owned());
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    out
}

fn header_text<'a>(m: &'a mail_parser::Message<'_>, name: &'static str) -> Option<&'a str> {
    m.header_raw(name).map(str::trim)
}

/// Reads a raw mail; `own` are the team's mailbox addresses.
pub fn read(raw: &[u8], own: &[String]) -> Result<Incoming, String> {
    let m = MessageParser::default()
        .parse(raw)
        .ok_or("the mail has no headers a mail reader can read")?;
    let from = m.from().and_then(|a| a.first());
    let from_address = from
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    let from_name = from
        .and_then(|a| a.name())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| from_address.split('@').next().unwrap_or("").to_owned());
    let message_id = m.message_id().map(bare).unwrap_or_else(|| {
        use sha2::Digest;
        format!(
            "{}@fyncall.invalid",
            hex::encode(&sha2::Sha256::digest(raw)[..16])
        )
    });
    let mut answers = ids(m.in_reply_to());
    for r in ids(m.references()).into_iter().rev() {
        if !answers.contains(&r) {
            answers.push(r);
        }
    }
    let subject = m.subject().unwrap_or("").trim().to_owned();
    let noise = Noise {
        auto_submitted: header_text(&m, "Auto-Submitted"),
        precedence: header_text(&m, "Precedence"),
        autoreply_header: header_text(&m, "X-Autoreply").is_some()
            || header_text(&m, "X-Autorespond").is_some(),
        from: &from_address,
    };
    let bounce = bounce_of(&m);
    let automatic = bounce.is_some() || is_automatic(&noise, own);
    // The text part, or the HTML part turned to text by the parser.
    let body = m
        .body_text(0)
        .map(|b| b.replace("\r\n", "\n").trim().to_owned())
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "(this mail has no text)".to_owned());
    let files = m
        .attachments()
        .filter(|p| !matches!(p.body, PartType::Message(_) | PartType::Multipart(_)))
        .map(|p| File {
            name: p
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| "attachment".into()),
            content_type: p
                .content_type()
                .map(|c| match c.subtype() {
                    Some(s) => format!("{}/{}", c.ctype(), s),
                    None => c.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase(),
            bytes: p.contents().to_vec(),
        })
        .collect();
    Ok(Incoming {
        message_id,
        answers,
        subject,
        from_name,
        from_address,
        body,
        files,
        automatic,
        bounce,
    })
}

/// A `multipart/report; report-type=delivery-status`: the reply it names
/// and the report's reason.
fn bounce_of(m: &mail_parser::Message<'_>) -> Option<Bounce> {
    let top = m.parts.first()?.content_type()?;
    let is_report = top.ctype().eq_ignore_ascii_case("multipart")
        && top
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && top
            .attribute("report-type")
            .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut status = String::new();
    let mut named = Vec::new();
    for part in &m.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let raw_text = |part: &mail_parser::MessagePart<'_>| match &part.body {
            PartType::Message(inner) => String::from_utf8_lossy(&inner.raw_message).into_owned(),
            _ => String::from_utf8_lossy(part.contents()).into_owned(),
        };
        match (ct.ctype().to_ascii_lowercase().as_str(), sub.as_str()) {
            ("message", "delivery-status") => status = raw_text(part),
            ("message", "rfc822") | ("text", "rfc822-headers") | ("message", "rfc822-headers") => {
                if let PartType::Message(inner) = &part.body
                    && let Some(id) = inner.message_id()
                {
                    named.push(bare(id));
                }
                named.extend(message_ids_in(&raw_text(part)));
            }
            _ => {}
        }
    }
    if named.is_empty() {
        named = message_ids_in(&String::from_utf8_lossy(&m.raw_message));
    }
    Some(Bounce {
        reply: named.iter().find_map(|id| reply_of_message_id(id)),
        reason: bounce_reason(&status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_mail_is_read_with_its_thread_and_its_file() {
        let raw = b"From: Ann Lee <Ann@Example.org>\r\nTo: support@example.com\r\nSubject: Re: Order late [#C-0a1b2c3d]\r\nMessage-ID: <m2@example.org>\r\nIn-Reply-To: <r1@example.com>\r\nReferences: <m1@example.org> <r1@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Still <b>late</b></p><script>x()</script>\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"shot.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b--\r\n";
        let mail = read(raw, &[]).expect("read");
        assert_eq!(mail.message_id, "m2@example.org");
        assert_eq!(mail.answers, vec!["r1@example.com", "m1@example.org"]);
        assert_eq!(mail.from_address, "ann@example.org");
        assert_eq!(mail.from_name, "Ann Lee");
        assert!(mail.body.contains("Still late"), "{}", mail.body);
        assert!(!mail.body.contains('<'), "no HTML kept: {}", mail.body);
        assert!(!mail.automatic);
        assert_eq!(mail.files.len(), 1);
        assert_eq!(mail.files[0].name, "shot.png");
        assert_eq!(mail.files[0].content_type, "image/png");
        assert_eq!(mail.files[0].bytes, b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn an_out_of_office_is_automatic() {
        let raw = b"From: ann@example.org\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <o@example.org>\r\n\r\nAway until Monday\r\n";
        let mail = read(raw, &[]).expect("read");
        assert!(mail.automatic);
        assert!(mail.bounce.is_none());
    }

    #[test]
    fn a_delivery_status_report_names_the_reply_and_the_reason() {
        let reply = Uuid::now_v7();
        let raw = format!(
            "From: MAILER-DAEMON@example.com\r\nSubject: Undelivered Mail\r\nMessage-ID: <b@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=r\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nYour mail could not be delivered.\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; ann@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--r\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{}@example.com>\r\nSubject: Re: Order\r\n--r--\r\n",
            reply.simple()
        );
        let mail = read(raw.as_bytes(), &[]).expect("read");
        let bounce = mail.bounce.expect("a bounce");
        assert_eq!(bounce.reply, Some(reply));
        assert!(
            bounce.reason.contains("ann@example.org"),
            "{}",
            bounce.reason
        );
        assert!(bounce.reason.contains("user unknown"), "{}", bounce.reason);
        assert!(mail.automatic);
    }
}
