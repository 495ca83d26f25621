//! Taking mail into the team, once (RULES.md "Channels"): each mail is
//! remembered by mailbox, UIDVALIDITY and UID, and by Message-ID, in the
//! same transaction that writes the message it became, so a crash between
//! fetching and writing takes it again after the restart, and never twice.
//!
//! A mail joins the conversation whose mail it answers (`In-Reply-To`,
//! `References`), else the one whose token is in its subject, else opens a
//! new conversation with the sender as the customer. It goes through the
//! one write path as the integration's `post_message`: an automatic mail is
//! kept but moves no ticket. A delivery status report is no message: it
//! fails the reply it names, with its reason.

use fyncall_domain::mail::{self, token_in};
use fyncall_domain::mutation::{OpenConversation, PostMessage};
use fyncall_domain::{Author, Caller, Customer, Mutation, Stamp, Timestamp};
use uuid::Uuid;

use super::MailboxConfig;
use super::parse::{self, Incoming};
use crate::sessions::TokenDb;
use crate::store::{Store, StoreError, StoreResult};
use crate::time::iso;
use crate::write::{self, Steps, Team};

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn first(rows: &[Vec<Option<String>>]) -> Option<String> {
    rows.first().and_then(|r| r.first().cloned().flatten())
}

/// The highest UID taken from a mailbox under this UIDVALIDITY (0: none).
pub fn resume_after(store: &dyn Store, mailbox: Uuid, validity: u32) -> StoreResult<u32> {
    let (id, validity) = (mailbox.to_string(), validity.to_string());
    crate::store::read_tokens(store, |db| {
        let rows = db.rows(
            "SELECT CAST(MAX(uid) AS TEXT) FROM mail_taken
             WHERE mailbox_id = $1 AND uidvalidity = CAST(CAST($2 AS TEXT) AS BIGINT)",
            &[Some(&id), Some(&validity)],
        )?;
        Ok(first(&rows).and_then(|n| n.parse().ok()).unwrap_or(0))
    })
}

fn was_taken(db: &mut dyn TokenDb, mailbox: &str, validity: &str, uid: &str) -> StoreResult<bool> {
    Ok(!db
        .rows(
            "SELECT uid FROM mail_taken WHERE mailbox_id = $1
               AND uidvalidity = CAST(CAST($2 AS TEXT) AS BIGINT)
               AND uid = CAST(CAST($3 AS TEXT) AS BIGINT)",
            &[Some(mailbox), Some(validity), Some(uid)],
        )?
        .is_empty())
}

fn record_taken(
    db: &mut dyn TokenDb,
    mailbox: &str,
    validity: &str,
    uid: &str,
    message: Option<Uuid>,
    now: Timestamp,
) -> StoreResult<()> {
    let (message, now) = (message.map(|m| m.to_string()), iso(now));
    db.exec(
        "INSERT INTO mail_taken (mailbox_id, uidvalidity, uid, message_id, taken_at)
         VALUES ($1, CAST(CAST($2 AS TEXT) AS BIGINT), CAST(CAST($3 AS TEXT) AS BIGINT), $4, $5)",
        &[
            Some(mailbox),
            Some(validity),
            Some(uid),
            message.as_deref(),
            Some(&now),
        ],
    )?;
    Ok(())
}

/// Remembers an email Message-ID as one of a conversation's mails.
pub fn remember_id(
    db: &mut dyn TokenDb,
    email_id: &str,
    conversation: Uuid,
    message: Option<Uuid>,
) -> StoreResult<()> {
    let (conversation, message) = (conversation.to_string(), message.map(|m| m.to_string()));
    db.exec(
        "INSERT INTO mail_ids (email_id, conversation_id, message_id) VALUES ($1, $2, $3)
         ON CONFLICT (email_id) DO NOTHING",
        &[Some(email_id), Some(&conversation), message.as_deref()],
    )?;
    Ok(())
}

fn known_id(db: &mut dyn TokenDb, email_id: &str) -> StoreResult<bool> {
    Ok(!db
        .rows(
            "SELECT email_id FROM mail_ids WHERE email_id = $1 AND message_id IS NOT NULL",
            &[Some(email_id)],
        )?
        .is_empty())
}

/// The conversation a mail joins, if any: by the mails it answers, then
/// by the token in its subject.
fn thread_of(db: &mut dyn TokenDb, mail: &Incoming) -> StoreResult<Option<Uuid>> {
    for id in &mail.answers {
        let rows = db.rows(
            "SELECT conversation_id FROM mail_ids WHERE email_id = $1",
            &[Some(id)],
        )?;
        if let Some(c) = first(&rows) {
            return Uuid::parse_str(&c).map(Some).map_err(db_err);
        }
    }
    if let Some(digits) = token_in(&mail.subject) {
        let token = fyncall_domain::mail::token_of(&digits);
        let rows = db.rows(
            "SELECT conversation_id FROM mail_threads WHERE token = $1",
            &[Some(&token)],
        )?;
        if let Some(c) = first(&rows) {
            return Uuid::parse_str(&c).map(Some).map_err(db_err);
        }
    }
    Ok(None)
}

fn sql<T>(
    steps: &mut dyn Steps,
    mut f: impl FnMut(&mut dyn TokenDb) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    steps.with_sql(&mut |db| {
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| db_err("the statement ended without a result"))
}

/// Takes one parsed mail into the team: the sequence written, if any.
fn take_one(
    steps: &mut dyn Steps,
    team: &mut Team,
    mailbox: &MailboxConfig,
    mail: &Incoming,
    files: &[Stored],
    now: Timestamp,
) -> StoreResult<(Option<Uuid>, Option<i64>)> {
    if let Some(bounce) = &mail.bounce {
        let Some(reply) = bounce.reply else {
            tracing::warn!(mailbox = %mailbox.address, reason = %bounce.reason, "a bounce names no reply of ours");
            return Ok((None, None));
        };
        let reason = bounce.reason.clone();
        let moved = write::move_reply_delivery(steps, reply, &mut |db, _, _| {
            db.exec(
                "UPDATE deliveries SET state = 'failed', next_at = NULL, claimed_by = NULL,
                     claimed_until = NULL, reason = $2
                 WHERE message_id = $1 AND mailbox_id IS NOT NULL",
                &[Some(&reply.to_string()), Some(&reason)],
            )?;
            crate::outbox::of_message(db, reply)
        });
        return match moved {
            Ok((_, seq)) => Ok((None, seq)),
            Err(StoreError::Retry(why)) => Err(StoreError::Retry(why)),
            Err(e) => {
                tracing::warn!(error = %e, "a bounce names a reply the team does not have");
                Ok((None, None))
            }
        };
    }
    let stamp = |id: Uuid| Stamp {
        mutation_id: id,
        at: now,
        client_at: None,
    };
    let found = sql(steps, |db| thread_of(db, mail))?;
    let mut seq = None;
    let conversation = match found {
        Some(c) => c,
        None => {
            let id = Uuid::now_v7();
            let customer = Customer {
                name: if mail.from_name.trim().is_empty() {
                    "(no sender)".into()
                } else {
                    mail.from_name.clone()
                },
                email: if mail.from_address.contains('@') {
                    mail.from_address.clone()
                } else {
                    "unknown@fyncall.invalid".into()
                },
            };
            let subject = if mail.subject.is_empty() {
                "(no subject)".to_owned()
            } else {
                mail.subject.chars().take(300).collect()
            };
            let open = Mutation::OpenConversation(OpenConversation {
                id,
                customer,
                channel: "email".into(),
                subject: Some(subject.clone()),
            });
            seq = write::apply(
                steps,
                Caller::Integration,
                &open,
                &stamp(Uuid::now_v7()),
                team,
            )?
            .seq
            .or(seq);
            let (conv, mb, token) = (id.to_string(), mailbox.id.to_string(), mail::token(id));
            sql(steps, |db| {
                db.exec(
                    "INSERT INTO mail_threads (conversation_id, mailbox_id, token, subject)
                     VALUES ($1, $2, $3, $4)",
                    &[Some(&conv), Some(&mb), Some(&token), Some(&subject)],
                )
            })?;
            id
        }
    };
    let message = Uuid::now_v7();
    sql(steps, |db| {
        for f in files {
            crate::blobs::insert(db, &f.attachment, f.blob, &f.sha, now)?;
        }
        Ok(())
    })?;
    let mut body = mail.body.clone();
    for left in &mail.files {
        if left.bytes.len() as u64 > fyncall_domain::conversation::MAX_ATTACHMENT_BYTES {
            body.push_str(&format!(
                "\n\n[{} ({} MiB) is over the 25 MiB a file may have: it stays in the mailbox]",
                left.name,
                left.bytes.len() / (1024 * 1024)
            ));
        }
    }
    let post = Mutation::PostMessage(PostMessage {
        id: message,
        conversation_id: conversation,
        author: Author::Customer,
        body,
        automatic: mail.automatic,
        attachment_ids: files.iter().map(|f| f.attachment.id).collect(),
    });
    seq = write::apply(
        steps,
        Caller::Integration,
        &post,
        &stamp(Uuid::now_v7()),
        team,
    )?
    .seq
    .or(seq);
    sql(steps, |db| {
        remember_id(db, &mail.message_id, conversation, Some(message))
    })?;
    Ok((Some(message), seq))
}

/// A mail's file, its bytes stored as a blob before the mail's transaction.
pub struct Stored {
    pub attachment: fyncall_domain::Attachment,
    pub blob: Uuid,
    pub sha: String,
}

/// Stores a mail's files as blobs (those within the size limit).
fn store_files(store: &dyn Store, mail: &Incoming) -> StoreResult<Vec<Stored>> {
    let mut out = Vec::new();
    for f in &mail.files {
        if f.bytes.len() as u64 > fyncall_domain::conversation::MAX_ATTACHMENT_BYTES {
            continue;
        }
        let mut upload = crate::blobs::Upload::default();
        upload.add(store, &f.bytes)?;
        let (blob, sha, size) = upload.finish(store)?;
        out.push(Stored {
            attachment: fyncall_domain::Attachment {
                id: Uuid::now_v7(),
                name: crate::blobs::clean_name(&f.name),
                content_type: crate::blobs::clean_type(&f.content_type),
                size,
            },
            blob,
            sha,
        });
    }
    Ok(out)
}

/// Takes a batch of fetched mails (UID, raw bytes) from one mailbox in one
/// transaction; mails taken before are passed over. Each mail is read and
/// its files stored first, outside the transaction (a file stored twice
/// is kept once). The last sequence.
pub fn take_all(
    store: &dyn Store,
    mailbox: &MailboxConfig,
    validity: u32,
    batch: &[(u32, Vec<u8>)],
) -> StoreResult<Option<i64>> {
    let own = crate::store::read_tokens(store, super::own_addresses)?;
    let mut read = Vec::with_capacity(batch.len());
    for (uid, raw) in batch {
        match parse::read(raw, &own) {
            Ok(mail) => {
                let files = store_files(store, &mail)?;
                read.push((uid.to_string(), Ok((mail, files))));
            }
            Err(why) => read.push((uid.to_string(), Err(why))),
        }
    }
    let mut last = None;
    let (mb, validity) = (mailbox.id.to_string(), validity.to_string());
    store.transact(&mut |steps| {
        let now = crate::time::now();
        let mut team = Team::default();
        last = None;
        for (uid, mail) in &read {
            if sql(steps, |db| was_taken(db, &mb, &validity, uid))? {
                continue;
            }
            let taken = match mail {
                Err(why) => {
                    tracing::warn!(mailbox = %mailbox.address, uid = %uid, %why, "a mail could not be read; it stays in the mailbox");
                    None
                }
                Ok((mail, _)) if sql(steps, |db| known_id(db, &mail.message_id))? => None,
                Ok((mail, files)) => {
                    match write::in_savepoint(steps, |steps| {
                        take_one(steps, &mut team, mailbox, mail, files, now)
                    })? {
                        Ok((message, seq)) => {
                            last = seq.or(last);
                            message
                        }
                        Err(e) => {
                            tracing::warn!(mailbox = %mailbox.address, uid = %uid, error = %e, "a mail was refused; it stays in the mailbox");
                            None
                        }
                    }
                }
            };
            sql(steps, |db| record_taken(db, &mb, &validity, uid, taken, now))?;
        }
        if let Some(seq) = last {
            steps.notify(seq)?;
        }
        Ok(())
    })?;
    Ok(last)
}
