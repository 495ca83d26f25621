//! The email channel (RULES.md "Channels"): a team mailbox as the API
//! shows it (passwords never), and the rules of mail in and out decided
//! once: which conversation a mail joins (its token), which mails are
//! automatic and wake nothing, the subject and threading headers of a
//! reply, and what a delivery status report says.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Refusal, Timestamp};

/// How a mail server's connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailSecurity {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain, then STARTTLS before signing in (IMAP 143, submission 587).
    Starttls,
    /// No encryption: only to this machine unless the server allows it.
    None,
}

impl MailSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            MailSecurity::Tls => "tls",
            MailSecurity::Starttls => "starttls",
            MailSecurity::None => "none",
        }
    }
}

/// One mail server of a mailbox as shown: no password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: String,
    /// The IMAP folder read (`INBOX` unless set); absent for SMTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub folder: Option<String>,
}

/// One mail server as an admin gives it: with its password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMailServer {
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub folder: Option<String>,
}

/// A mail server's fields an admin changes; the password only when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailServerChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub security: Option<MailSecurity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub folder: Option<String>,
}

/// How a mailbox is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailboxState {
    /// Signed in and waiting with IMAP IDLE: a new mail is taken at once.
    Idle,
    /// Signed in, the server offers no IDLE: looked at every 60 s.
    Polling,
    /// The last try failed (`last_error` says why); tried again with growing pauses.
    Failing,
}

impl MailboxState {
    pub const ALL: [MailboxState; 3] = [
        MailboxState::Idle,
        MailboxState::Polling,
        MailboxState::Failing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailboxState::Idle => "idle",
            MailboxState::Polling => "polling",
            MailboxState::Failing => "failing",
        }
    }

    pub fn parse(text: &str) -> Option<MailboxState> {
        MailboxState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A team mailbox as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mailbox {
    pub id: Uuid,
    pub address: String,
    pub display_name: String,
    pub imap: MailServer,
    pub smtp: MailServer,
    pub state: MailboxState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub last_error: Option<String>,
    #[serde(
        default,
        with = "crate::wire::millis_opt",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string | null", optional))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_checked_at: Option<Timestamp>,
}

/// A mailbox as an admin sets it up (`POST /channels/email`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMailbox {
    pub address: String,
    pub display_name: String,
    pub imap: NewMailServer,
    pub smtp: NewMailServer,
}

/// What an admin changes of a mailbox (`PATCH /channels/email/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailboxChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub imap: Option<MailServerChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub smtp: Option<MailServerChange>,
}

/// One side of a check: signed in, or what failed in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckPart {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub error: Option<String>,
}

impl CheckPart {
    pub fn of(result: Result<(), String>) -> CheckPart {
        match result {
            Ok(()) => CheckPart {
                ok: true,
                error: None,
            },
            Err(e) => CheckPart {
                ok: false,
                error: Some(e),
            },
        }
    }
}

/// `POST /channels/email/{id}/check`: both servers tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MailCheck {
    pub imap: CheckPart,
    pub smtp: CheckPart,
}

/// The folder read when none is named.
pub const DEFAULT_FOLDER: &str = "INBOX";

/// Whether `host` is this machine (where plain mail is allowed).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim().trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn check_server(which: &str, s: &NewMailServer, allow_plain: bool) -> Result<(), Refusal> {
    let field = |f: &str| format!("{which}.{f}");
    if s.host.trim().is_empty() || s.host.contains(char::is_whitespace) {
        return Err(Refusal::invalid(
            &field("host"),
            format!("give the {which} server's host name, like mail.example.com"),
        ));
    }
    if s.port == 0 {
        return Err(Refusal::invalid(
            &field("port"),
            format!("give the {which} server's port (IMAP 993 or 143, SMTP 465 or 587)"),
        ));
    }
    if s.username.trim().is_empty() {
        return Err(Refusal::invalid(
            &field("username"),
            format!("give the user name that signs in to the {which} server"),
        ));
    }
    if s.security == MailSecurity::None && !allow_plain && !is_loopback(&s.host) {
        return Err(Refusal::invalid(
            &field("security"),
            format!(
                "{which} to {} without TLS would send the password in the clear: use tls or starttls, or start the server with --allow-plain-mail",
                s.host
            ),
        ));
    }
    if let Some(folder) = &s.folder
        && (folder.trim().is_empty() || folder.contains(['\r', '\n', '"']))
    {
        return Err(Refusal::invalid(
            &field("folder"),
            "name the folder to read, like INBOX",
        ));
    }
    Ok(())
}

/// An address `local@domain` with nothing around it, lower-cased.
pub fn plain_address(text: &str) -> Option<String> {
    let t = text.trim();
    let (local, domain) = t.split_once('@')?;
    let fine = |p: &str| {
        !p.is_empty()
            && !p
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"@".contains(c))
    };
    (fine(local) && fine(domain)).then(|| t.to_lowercase())
}

impl NewMailbox {
    /// The rules a mailbox's setup follows, refused in words.
    pub fn check(&self, allow_plain: bool) -> Result<(), Refusal> {
        if plain_address(&self.address).is_none() {
            return Err(Refusal::invalid(
                "address",
                "give the mailbox's address, like support@example.com",
            ));
        }
        if self.display_name.trim().is_empty() {
            return Err(Refusal::invalid(
                "display_name",
                "give the name customers see, like \"Example Support\"",
            ));
        }
        check_server("imap", &self.imap, allow_plain)?;
        check_server("smtp", &self.smtp, allow_plain)
    }
}

impl NewMailServer {
    /// This server with `change` made to it.
    pub fn changed(&self, change: &MailServerChange) -> NewMailServer {
        NewMailServer {
            host: change.host.clone().unwrap_or_else(|| self.host.clone()),
            port: change.port.unwrap_or(self.port),
            security: change.security.unwrap_or(self.security),
            username: change
                .username
                .clone()
                .unwrap_or_else(|| self.username.clone()),
            password: change
                .password
                .clone()
                .unwrap_or_else(|| self.password.clone()),
            folder: change.folder.clone().or_else(|| self.folder.clone()),
        }
    }

    /// As shown: without the password.
    pub fn shown(&self) -> MailServer {
        MailServer {
            host: self.host.clone(),
            port: self.port,
            security: self.security,
            username: self.username.clone(),
            folder: self.folder.clone(),
        }
    }
}

/// The token of a conversation in a subject: `[#C-` and the last eight hex
/// digits of its id (the random ones: two conversations opened in the same
/// minute differ there).
pub fn token(conversation: Uuid) -> String {
    let hex = conversation.simple().to_string();
    token_of(&hex[hex.len() - 8..])
}

/// The token with these eight hex digits (as [`token_in`] reads them).
pub fn token_of(digits: &str) -> String {
    format!("[#C-{digits}]")
}

/// The token's eight hex digits named in a subject, if any.
pub fn token_in(subject: &str) -> Option<String> {
    let start = subject.find("[#C-")?;
    let rest = &subject[start + 4..];
    let digits: String = rest.chars().take(8).collect();
    (digits.len() == 8
        && digits.chars().all(|c| c.is_ascii_hexdigit())
        && rest[8..].starts_with(']'))
    .then(|| digits.to_ascii_lowercase())
}

/// The digits of a token as `token_in` finds them.
pub fn token_digits(token: &str) -> String {
    token
        .trim_start_matches("[#C-")
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// The subject of a reply: `Re: ` once, the subject, and the token unless
/// it is in the subject already.
pub fn reply_subject(subject: &str, token: &str) -> String {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_ascii_lowercase();
        let cut = ["re:", "aw:", "sv:", "fwd:", "fw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n)
                if lower.starts_with("re:")
                    || lower.starts_with("aw:")
                    || lower.starts_with("sv:") =>
            {
                rest = rest[n..].trim_start();
            }
            _ => break,
        }
    }
    let base = if rest.is_empty() {
        "(no subject)"
    } else {
        rest
    };
    if token_in(base).is_some() {
        format!("Re: {base}")
    } else {
        format!("Re: {base} {token}")
    }
}

/// The Message-ID of a reply: made from the reply's own id, so every
/// attempt (after any crash) carries the same one.
pub fn reply_message_id(message: Uuid, mailbox_address: &str) -> String {
    let domain = mailbox_address
        .rsplit_once('@')
        .map_or("fyncall.invalid", |(_, d)| d);
    format!("{}@{}", message.simple(), domain)
}

/// The reply a Message-ID of ours names, if it is one.
pub fn reply_of_message_id(id: &str) -> Option<Uuid> {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _) = bare.split_once('@')?;
    (local.len() == 32)
        .then(|| Uuid::parse_str(local).ok())
        .flatten()
}

/// The headers that decide whether a mail is automatic.
#[derive(Debug, Clone, Default)]
pub struct Noise<'a> {
    pub auto_submitted: Option<&'a str>,
    pub precedence: Option<&'a str>,
    /// `X-Autoreply`, `X-Autorespond` or the like present.
    pub autoreply_header: bool,
    pub from: &'a str,
}

/// Whether a mail is automatic (an out-of-office, a list, one of our own):
/// kept on its conversation but wakes nothing and is never answered.
pub fn is_automatic(noise: &Noise<'_>, own_addresses: &[String]) -> bool {
    let auto = noise
        .auto_submitted
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| !v.is_empty() && v != "no");
    let bulk = noise.precedence.is_some_and(|p| {
        matches!(
            p.trim().to_ascii_lowercase().as_str(),
            "bulk" | "junk" | "list"
        )
    });
    let own = own_addresses
        .iter()
        .any(|a| a.eq_ignore_ascii_case(noise.from.trim()));
    auto || bulk || own || noise.autoreply_header
}

/// What a delivery status report says failed, in words: the recipient,
/// the status and the server's diagnostic, from its
/// `message/delivery-status` part.
pub fn bounce_reason(delivery_status: &str) -> String {
    let mut recipient = None;
    let mut status = None;
    let mut diagnostic = None;
    let mut action = None;
    for line in delivery_status.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" | "original-recipient" if recipient.is_none() => {
                recipient = Some(value.rsplit(';').next().unwrap_or(value).trim().to_owned());
            }
            "status" if status.is_none() => status = Some(value.to_owned()),
            "action" if action.is_none() => action = Some(value.to_ascii_lowercase()),
            "diagnostic-code" if diagnostic.is_none() => {
                diagnostic = Some(value.rsplit(';').next().unwrap_or(value).trim().to_owned());
            }
            _ => {}
        }
    }
    let who = recipient.unwrap_or_else(|| "the customer".into());
    let mut words = format!("the mail to {who} bounced");
    if let Some(s) = status {
        words.push_str(&format!(" (status {s})"));
    }
    if let Some(d) = diagnostic.filter(|d| !d.is_empty()) {
        words.push_str(&format!(": {d}"));
    }
    words
}

/// A mail's text split into what is new and the quoted history and
/// signature below it (folded away in the app, never dropped).
pub fn fold_quoted(body: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim_end();
        let quoted = t.starts_with('>')
            || t == "-- "
            || t == "--"
            || (t.starts_with("On ") && t.ends_with("wrote:"))
            || t.starts_with("-----Original Message-----");
        if quoted && offset > 0 {
            return (body[..offset].trim_end(), &body[offset..]);
        }
        offset += line.len();
    }
    (body.trim_end(), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(host: &str, security: MailSecurity) -> NewMailServer {
        NewMailServer {
            host: host.into(),
            port: 993,
            security,
            username: "support@example.com".into(),
            password: "pw".into(),
            folder: None,
        }
    }

    fn mailbox(host: &str, security: MailSecurity) -> NewMailbox {
        NewMailbox {
            address: "support@example.com".into(),
            display_name: "Example Support".into(),
            imap: server(host, security),
            smtp: server(host, MailSecurity::Tls),
        }
    }

    #[test]
    fn plain_mail_goes_only_to_this_machine_unless_allowed() {
        assert!(
            mailbox("127.0.0.1", MailSecurity::None)
                .check(false)
                .is_ok()
        );
        assert!(
            mailbox("localhost", MailSecurity::None)
                .check(false)
                .is_ok()
        );
        let refused = mailbox("mail.example.com", MailSecurity::None)
            .check(false)
            .unwrap_err();
        assert!(
            refused.message.contains("--allow-plain-mail"),
            "{refused:?}"
        );
        assert!(
            mailbox("mail.example.com", MailSecurity::None)
                .check(true)
                .is_ok()
        );
        assert!(
            mailbox("mail.example.com", MailSecurity::Starttls)
                .check(false)
                .is_ok()
        );
    }

    #[test]
    fn a_mailbox_needs_an_address_a_name_and_servers() {
        let mut m = mailbox("mail.example.com", MailSecurity::Tls);
        m.address = "support".into();
        assert!(m.check(false).is_err());
        let mut m = mailbox("mail.example.com", MailSecurity::Tls);
        m.display_name = " ".into();
        assert!(m.check(false).is_err());
        let mut m = mailbox("mail.example.com", MailSecurity::Tls);
        m.smtp.port = 0;
        assert!(m.check(false).unwrap_err().fields.contains_key("smtp.port"));
    }

    #[test]
    fn a_token_is_found_again_in_any_subject_that_carries_it() {
        let id = Uuid::now_v7();
        let t = token(id);
        assert_eq!(t.len(), 13);
        assert_eq!(
            token_in(&format!("Re: Order {t} late")),
            Some(token_digits(&t))
        );
        assert_eq!(token_in("Re: [#C-1234567] short"), None);
        assert_eq!(token_in("Re: [#C-1234567g] not hex"), None);
        assert_eq!(token_in("no token"), None);
        // Conversations opened the same millisecond still differ.
        let other = Uuid::now_v7();
        assert_ne!(token(id), token(other));
    }

    #[test]
    fn a_reply_subject_says_re_once_and_carries_the_token() {
        let t = "[#C-0a1b2c3d]";
        assert_eq!(
            reply_subject("Order late", t),
            "Re: Order late [#C-0a1b2c3d]"
        );
        assert_eq!(
            reply_subject("RE: Re: Order late", t),
            "Re: Order late [#C-0a1b2c3d]"
        );
        assert_eq!(
            reply_subject("Re: Order late [#C-0a1b2c3d]", t),
            "Re: Order late [#C-0a1b2c3d]"
        );
        assert_eq!(reply_subject("", t), "Re: (no subject) [#C-0a1b2c3d]");
    }

    #[test]
    fn a_reply_s_message_id_names_the_reply() {
        let id = Uuid::now_v7();
        let mid = reply_message_id(id, "support@example.com");
        assert!(mid.ends_with("@example.com"));
        assert_eq!(reply_of_message_id(&format!("<{mid}>")), Some(id));
        assert_eq!(reply_of_message_id("<abc@example.com>"), None);
    }

    #[test]
    fn automatic_mail_is_told_from_a_customer_s() {
        let own = vec!["support@example.com".to_owned()];
        let customer = Noise {
            from: "ann@example.org",
            ..Noise::default()
        };
        assert!(!is_automatic(&customer, &own));
        let no = Noise {
            auto_submitted: Some("no"),
            ..customer.clone()
        };
        assert!(!is_automatic(&no, &own));
        for n in [
            Noise {
                auto_submitted: Some("auto-replied"),
                ..customer.clone()
            },
            Noise {
                precedence: Some("Bulk"),
                ..customer.clone()
            },
            Noise {
                precedence: Some("list"),
                ..customer.clone()
            },
            Noise {
                from: "SUPPORT@example.com",
                ..customer.clone()
            },
            Noise {
                autoreply_header: true,
                ..customer.clone()
            },
        ] {
            assert!(is_automatic(&n, &own), "{n:?}");
        }
    }

    #[test]
    fn a_bounce_s_reason_names_recipient_status_and_diagnostic() {
        let report = "Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; ann@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <ann@example.org>: user unknown\r\n";
        assert_eq!(
            bounce_reason(report),
            "the mail to ann@example.org bounced (status 5.1.1): 550 5.1.1 <ann@example.org>: user unknown"
        );
        assert_eq!(bounce_reason(""), "the mail to the customer bounced");
    }

    #[test]
    fn quoted_history_and_signatures_fold_away() {
        let body = "Thanks, that works.\n\nOn Mon, Ann wrote:\n> Try again\n";
        assert_eq!(
            fold_quoted(body),
            ("Thanks, that works.", "On Mon, Ann wrote:\n> Try again\n")
        );
        assert_eq!(fold_quoted("Hi\n-- \nAnn\n"), ("Hi", "-- \nAnn\n"));
        assert_eq!(fold_quoted("> only quote\n"), ("> only quote", ""));
    }
}
