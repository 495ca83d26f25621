//! The email channel on the server (RULES.md "Channels"): the team's
//! mailboxes and their sealed passwords ([`Sealer`], this file), reading
//! them over IMAP (`imap`, `take`), parsing what comes in (`parse`) and
//! sending replies over SMTP from the delivery worker (`smtp`).
//!
//! Passwords never reach an answer, a log or a desktop: they are sealed
//! (ChaCha20-Poly1305, keyed by a file kept beside the store and bound to
//! the mailbox's id) before they are written, so a copy of the store alone
//! does not reveal them.

pub mod imap;
pub mod parse;
pub mod smtp;
pub mod take;

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use fyncall_domain::Timestamp;
use fyncall_domain::mail::{Mailbox, MailboxState, NewMailServer, NewMailbox};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};
use crate::time::{iso, parse as parse_time};

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// Which certificates the mail servers' TLS may chain to: the OS's roots,
/// and the certificate authorities of `--mail-ca` (a company's own).
#[derive(Clone, Default)]
pub struct Trust {
    /// The extra authorities' PEM, as given.
    pub pem: Option<Vec<u8>>,
    extra: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl Trust {
    /// The OS's roots and the authorities in the PEM file `path`.
    pub fn with_file(path: &Path) -> Result<Trust, String> {
        use rustls::pki_types::pem::PemObject;
        let named = |e: &dyn std::fmt::Display| format!("the mail CA file {}: {e}", path.display());
        let pem = std::fs::read(path).map_err(|e| named(&e))?;
        let extra = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| named(&e))?;
        if extra.is_empty() {
            return Err(named(&"holds no CERTIFICATE block"));
        }
        Ok(Trust {
            pem: Some(pem),
            extra,
        })
    }

    /// TLS client settings: rustls's safe defaults, these roots.
    pub fn rustls(&self) -> std::sync::Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        for cert in &self.extra {
            let _ = roots.add(cert.clone());
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| {
                b.with_root_certificates(roots.clone())
                    .with_no_client_auth()
            })
            .unwrap_or_else(|_| {
                rustls::ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth()
            });
        std::sync::Arc::new(config)
    }
}

/// Seals and opens mailbox passwords with the server's mail key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
    path: PathBuf,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("path", &self.path).finish()
    }
}

impl Sealer {
    /// The key in `path` (64 hex digits), made there (readable by this
    /// user only) when the file does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Sealer, String> {
        let named = |e: &dyn std::fmt::Display| format!("the mail key {}: {e}", path.display());
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).map_err(|e| named(&e))?;
                let key: [u8; 32] = bytes.try_into().map_err(|_| {
                    named(&"is not 64 hex digits: restore the file from the backup kept with the store")
                })?;
                Ok(Sealer {
                    key,
                    path: path.to_owned(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| named(&e))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(|e| named(&e))?;
                std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(key)).as_bytes())
                    .and_then(|_| file.sync_all())
                    .map_err(|e| named(&e))?;
                Ok(Sealer {
                    key,
                    path: path.to_owned(),
                })
            }
            Err(e) => Err(named(&e)),
        }
    }

    /// `v1:` and base64 of a fresh nonce and the sealed text, bound to `id`.
    pub fn seal(&self, id: Uuid, plain: &str) -> StoreResult<String> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(db_err)?;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| db_err("cannot seal a mailbox password"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("v1:{}", STANDARD.encode(out)))
    }

    /// What `seal` sealed for `id`.
    pub fn open(&self, id: Uuid, sealed: &str) -> StoreResult<String> {
        let wrong = || {
            db_err(format!(
                "mailbox {id}'s passwords do not open with the mail key {}: the store and its key must be kept together (restore the key, or set the passwords again)",
                self.path.display()
            ))
        };
        let bytes = STANDARD
            .decode(sealed.strip_prefix("v1:").ok_or_else(wrong)?)
            .map_err(|_| wrong())?;
        if bytes.len() < 12 {
            return Err(wrong());
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        let plain = cipher
            .decrypt(
                Nonce::from_slice(&bytes[..12]),
                Payload {
                    msg: &bytes[12..],
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

/// The two passwords, sealed together.
#[derive(Serialize, Deserialize)]
struct Secrets {
    imap: String,
    smtp: String,
}

/// A mailbox with what reading and sending need: its passwords opened.
#[derive(Clone)]
pub struct MailboxConfig {
    pub id: Uuid,
    pub address: String,
    pub display_name: String,
    pub imap: NewMailServer,
    pub smtp: NewMailServer,
}

impl std::fmt::Debug for MailboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxConfig")
            .field("id", &self.id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl MailboxConfig {
    pub fn new(id: Uuid, m: &NewMailbox) -> MailboxConfig {
        MailboxConfig {
            id,
            address: m.address.trim().to_lowercase(),
            display_name: m.display_name.trim().to_owned(),
            imap: m.imap.clone(),
            smtp: NewMailServer {
                folder: None,
                ..m.smtp.clone()
            },
        }
    }

    pub fn folder(&self) -> &str {
        self.imap
            .folder
            .as_deref()
            .unwrap_or(fyncall_domain::mail::DEFAULT_FOLDER)
    }
}

fn opt(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

fn cell(row: &[Option<String>], i: usize) -> StoreResult<String> {
    opt(row, i).ok_or_else(|| db_err(format!("mailbox column {i} is empty")))
}

/// A row as shown: the servers without passwords, its state.
fn shown(row: &[Option<String>]) -> StoreResult<Mailbox> {
    Ok(Mailbox {
        id: Uuid::parse_str(&cell(row, 0)?).map_err(db_err)?,
        address: cell(row, 1)?,
        display_name: cell(row, 2)?,
        imap: serde_json::from_str(&cell(row, 3)?).map_err(db_err)?,
        smtp: serde_json::from_str(&cell(row, 4)?).map_err(db_err)?,
        state: MailboxState::parse(&cell(row, 6)?).unwrap_or(MailboxState::Failing),
        last_error: opt(row, 7),
        last_checked_at: opt(row, 8)
            .map(|t| parse_time(&t).map_err(db_err))
            .transpose()?,
    })
}

/// A row with its passwords opened.
fn config(row: &[Option<String>], sealer: &Sealer) -> StoreResult<MailboxConfig> {
    let m = shown(row)?;
    let secrets: Secrets =
        serde_json::from_str(&sealer.open(m.id, &cell(row, 5)?)?).map_err(db_err)?;
    let with = |s: &fyncall_domain::mail::MailServer, password: String| NewMailServer {
        host: s.host.clone(),
        port: s.port,
        security: s.security,
        username: s.username.clone(),
        password,
        folder: s.folder.clone(),
    };
    Ok(MailboxConfig {
        id: m.id,
        address: m.address,
        display_name: m.display_name,
        imap: with(&m.imap, secrets.imap),
        smtp: with(&m.smtp, secrets.smtp),
    })
}

/// The team's mailboxes (not deleted), oldest first.
pub fn mailboxes(db: &mut dyn TokenDb) -> StoreResult<Vec<Mailbox>> {
    db.rows(
        "SELECT id, address, display_name, imap, smtp, secrets, state, last_error, last_checked_at
         FROM mailboxes WHERE deleted_at IS NULL ORDER BY created_at, id",
        &[],
    )?
    .iter()
    .map(|r| shown(r))
    .collect()
}

/// A live mailbox's row, as `shown` and `config` read it.
fn row(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<Option<Vec<Option<String>>>> {
    let id = id.to_string();
    Ok(db
        .rows(
            "SELECT id, address, display_name, imap, smtp, secrets, state, last_error, last_checked_at
             FROM mailboxes WHERE id = $1 AND deleted_at IS NULL",
            &[Some(&id)],
        )?
        .into_iter()
        .next())
}

pub fn mailbox(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<Option<Mailbox>> {
    row(db, id)?.map(|r| shown(&r)).transpose()
}

/// A mailbox with its passwords (for the reader, the sender, a check).
pub fn mailbox_config(
    db: &mut dyn TokenDb,
    sealer: &Sealer,
    id: Uuid,
) -> StoreResult<Option<MailboxConfig>> {
    row(db, id)?.map(|r| config(&r, sealer)).transpose()
}

/// The ids of the mailboxes to read.
pub fn mailbox_ids(db: &mut dyn TokenDb) -> StoreResult<Vec<Uuid>> {
    db.rows(
        "SELECT id FROM mailboxes WHERE deleted_at IS NULL ORDER BY created_at, id",
        &[],
    )?
    .iter()
    .map(|r| Uuid::parse_str(&cell(r, 0)?).map_err(db_err))
    .collect()
}

/// Every address of the team's mailboxes (deleted ones too): mail from
/// them is the team's own.
pub fn own_addresses(db: &mut dyn TokenDb) -> StoreResult<Vec<String>> {
    db.rows("SELECT address FROM mailboxes", &[])?
        .iter()
        .map(|r| cell(r, 0))
        .collect()
}

/// Whether an address is already a mailbox's (other than `except`).
pub fn address_taken(
    db: &mut dyn TokenDb,
    address: &str,
    except: Option<Uuid>,
) -> StoreResult<bool> {
    let except = except.map(|e| e.to_string()).unwrap_or_default();
    Ok(!db
        .rows(
            "SELECT id FROM mailboxes WHERE lower(address) = lower($1) AND deleted_at IS NULL AND id <> $2",
            &[Some(address), Some(&except)],
        )?
        .is_empty())
}

fn sealed(sealer: &Sealer, m: &MailboxConfig) -> StoreResult<String> {
    let secrets = serde_json::to_string(&Secrets {
        imap: m.imap.password.clone(),
        smtp: m.smtp.password.clone(),
    })
    .map_err(db_err)?;
    sealer.seal(m.id, &secrets)
}

fn json(s: &NewMailServer) -> StoreResult<String> {
    serde_json::to_string(&s.shown()).map_err(db_err)
}

/// Keeps a new mailbox (to be read from now on).
pub fn insert_mailbox(
    db: &mut dyn TokenDb,
    sealer: &Sealer,
    m: &MailboxConfig,
    now: Timestamp,
) -> StoreResult<()> {
    let (id, imap, smtp, secrets, at) = (
        m.id.to_string(),
        json(&m.imap)?,
        json(&m.smtp)?,
        sealed(sealer, m)?,
        iso(now),
    );
    db.exec(
        "INSERT INTO mailboxes (id, address, display_name, imap, smtp, secrets, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'polling', $7)",
        &[
            Some(&id),
            Some(&m.address),
            Some(&m.display_name),
            Some(&imap),
            Some(&smtp),
            Some(&secrets),
            Some(&at),
        ],
    )?;
    Ok(())
}

/// Writes a mailbox's settings and passwords back.
pub fn save_mailbox(db: &mut dyn TokenDb, sealer: &Sealer, m: &MailboxConfig) -> StoreResult<bool> {
    let (id, imap, smtp, secrets) = (
        m.id.to_string(),
        json(&m.imap)?,
        json(&m.smtp)?,
        sealed(sealer, m)?,
    );
    Ok(db.exec(
        "UPDATE mailboxes SET address = $2, display_name = $3, imap = $4, smtp = $5, secrets = $6
         WHERE id = $1 AND deleted_at IS NULL",
        &[
            Some(&id),
            Some(&m.address),
            Some(&m.display_name),
            Some(&imap),
            Some(&smtp),
            Some(&secrets),
        ],
    )? == 1)
}

/// Stops reading a mailbox; its conversations stay, its queued mail fails.
pub fn delete_mailbox(db: &mut dyn TokenDb, id: Uuid, now: Timestamp) -> StoreResult<bool> {
    let (id, now) = (id.to_string(), iso(now));
    let gone = db.exec(
        "UPDATE mailboxes SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        &[Some(&id), Some(&now)],
    )? == 1;
    if gone {
        db.exec(
            "UPDATE deliveries SET state = 'failed', next_at = NULL, claimed_by = NULL,
                 claimed_until = NULL, reason = 'its mailbox was removed: set it up again, then retry'
             WHERE mailbox_id = $1 AND state = 'queued'",
            &[Some(&id)],
        )?;
    }
    Ok(gone)
}

/// Records how reading a mailbox goes.
pub fn set_state(
    db: &mut dyn TokenDb,
    id: Uuid,
    state: MailboxState,
    error: Option<&str>,
    now: Timestamp,
) -> StoreResult<()> {
    let (id, now) = (id.to_string(), iso(now));
    db.exec(
        "UPDATE mailboxes SET state = $2, last_error = $3, last_checked_at = $4 WHERE id = $1",
        &[Some(&id), Some(state.as_str()), error, Some(&now)],
    )?;
    Ok(())
}

/// Where a mail conversation stands: its mailbox, token and subject.
#[derive(Debug, Clone)]
pub struct Thread {
    pub conversation_id: Uuid,
    pub mailbox_id: Uuid,
    pub token: String,
    pub subject: String,
}

/// An email conversation's thread, if it is one.
pub fn thread(db: &mut dyn TokenDb, conversation: Uuid) -> StoreResult<Option<Thread>> {
    let id = conversation.to_string();
    db.rows(
        "SELECT conversation_id, mailbox_id, token, subject FROM mail_threads WHERE conversation_id = $1",
        &[Some(&id)],
    )?
    .first()
    .map(|r| {
        Ok(Thread {
            conversation_id: Uuid::parse_str(&cell(r, 0)?).map_err(db_err)?,
            mailbox_id: Uuid::parse_str(&cell(r, 1)?).map_err(db_err)?,
            token: cell(r, 2)?,
            subject: cell(r, 3)?,
        })
    })
    .transpose()
}

/// The email Message-IDs of a conversation's mails, oldest first, and the
/// last one from the customer: what a reply answers (`In-Reply-To`,
/// `References`).
pub fn thread_ids(
    db: &mut dyn TokenDb,
    conversation: Uuid,
) -> StoreResult<(Vec<String>, Option<String>)> {
    let id = conversation.to_string();
    let rows = db.rows(
        "SELECT i.email_id, m.author FROM mail_ids i LEFT JOIN messages m ON m.id = i.message_id
         WHERE i.conversation_id = $1 ORDER BY m.sent_at, i.email_id",
        &[Some(&id)],
    )?;
    let mut all = Vec::new();
    let mut last_customer = None;
    for r in &rows {
        let email = cell(r, 0)?;
        if opt(r, 1).as_deref() == Some("customer") {
            last_customer = Some(email.clone());
        }
        all.push(email);
    }
    Ok((all, last_customer))
}

/// The mailbox a reply on `conversation` goes out from: its thread's, if
/// it is an email conversation whose mailbox is still set up.
pub fn live_mailbox_of(db: &mut dyn TokenDb, conversation: Uuid) -> StoreResult<Option<Uuid>> {
    let id = conversation.to_string();
    db.rows(
        "SELECT t.mailbox_id FROM mail_threads t JOIN mailboxes m ON m.id = t.mailbox_id
         WHERE t.conversation_id = $1 AND m.deleted_at IS NULL",
        &[Some(&id)],
    )?
    .first()
    .map(|r| Uuid::parse_str(&cell(r, 0)?).map_err(db_err))
    .transpose()
}

/// Queues a reply's mail in the outbox, and remembers its Message-ID (made
/// from the reply's id) as the thread's, so the customer's answer finds it.
pub fn queue_reply(
    db: &mut dyn TokenDb,
    mailbox: Uuid,
    conversation: Uuid,
    message: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    let address = db
        .rows(
            "SELECT address FROM mailboxes WHERE id = $1",
            &[Some(&mailbox.to_string())],
        )?
        .first()
        .map(|r| cell(r, 0))
        .transpose()?
        .unwrap_or_default();
    crate::outbox::enqueue_mail(db, mailbox, message, now)?;
    take::remember_id(
        db,
        &fyncall_domain::mail::reply_message_id(message, &address),
        conversation,
        Some(message),
    )
}

/// How long a process's lease on reading a mailbox lasts unrenewed.
const READER_LEASE: chrono::TimeDelta = chrono::TimeDelta::seconds(20);

/// Takes or renews this process's lease on reading a mailbox; whether it
/// holds it (no other process read it within its lease).
pub fn lease(db: &mut dyn TokenDb, mailbox: Uuid, me: Uuid, now: Timestamp) -> StoreResult<bool> {
    let (id, me, until, now) = (
        mailbox.to_string(),
        me.to_string(),
        iso(now + READER_LEASE),
        iso(now),
    );
    Ok(db.exec(
        "UPDATE mailboxes SET reader = $2, reader_until = $3
         WHERE id = $1 AND deleted_at IS NULL
           AND (reader IS NULL OR reader = $2 OR reader_until < $4)",
        &[Some(&id), Some(&me), Some(&until), Some(&now)],
    )? == 1)
}

/// Gives up this process's leases (at shutdown): another process takes
/// the mailboxes over at once.
pub fn release(db: &mut dyn TokenDb, me: Uuid) -> StoreResult<()> {
    let me = me.to_string();
    db.exec(
        "UPDATE mailboxes SET reader = NULL, reader_until = NULL WHERE reader = $1",
        &[Some(&me)],
    )?;
    Ok(())
}

/// Keeps one reader running per mailbox (`imap::read`) whose lease this
/// process holds: started for a new mailbox, started again when one is
/// changed, stopped when one is removed or another process holds it.
/// Looks again (and renews its leases) when told
/// (`AppState::mailboxes_changed`) and every 5 s, so a process that died
/// leaves its mailboxes to another within about 25 s.
pub async fn keep_readers(state: crate::app::AppState) {
    use std::collections::HashMap;
    let Some(sealer) = state.sealer.clone() else {
        return;
    };
    let me = Uuid::new_v4();
    if matches!(state.store.dialect(), crate::query::Dialect::Sqlite) {
        // The only process on this store: a lease left by one that died is free.
        let _ = state
            .blocking(|s| {
                crate::store::write_tokens(s, |db| {
                    db.exec(
                        "UPDATE mailboxes SET reader = NULL, reader_until = NULL WHERE reader IS NOT NULL",
                        &[],
                    )
                })
            })
            .await;
    }
    let mut readers: HashMap<Uuid, (String, tokio::task::JoinHandle<()>)> = HashMap::new();
    let mut shutdown = state.shutdown.clone();
    loop {
        let sealer = sealer.clone();
        let now = crate::time::now();
        let found = state
            .blocking(move |s| {
                crate::store::write_tokens(s, |db| {
                    let mut out = Vec::new();
                    for id in mailbox_ids(db)? {
                        if !lease(db, id, me, now)? {
                            continue;
                        }
                        match mailbox_config(db, &sealer, id) {
                            Ok(Some(m)) => out.push(m),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(mailbox = %id, error = %e, "a mailbox cannot be read"),
                        }
                    }
                    Ok(out)
                })
            })
            .await;
        match found {
            Ok(mailboxes) => {
                let live: std::collections::HashSet<Uuid> =
                    mailboxes.iter().map(|m| m.id).collect();
                readers.retain(|id, (_, task)| {
                    let keep = live.contains(id);
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for m in mailboxes {
                    let fingerprint =
                        format!("{:?}{:?}{}{}", m.imap, m.smtp, m.address, m.display_name);
                    if readers
                        .get(&m.id)
                        .is_some_and(|(f, t)| *f == fingerprint && !t.is_finished())
                    {
                        continue;
                    }
                    if let Some((_, old)) = readers.remove(&m.id) {
                        old.abort();
                    }
                    let id = m.id;
                    let task = tokio::spawn(imap::read(state.clone(), m));
                    readers.insert(id, (fingerprint, task));
                }
            }
            Err(e) => tracing::warn!(error = ?e, "listing the mailboxes failed"),
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = state.mailboxes_changed.notified() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
    }
    for (_, (_, task)) in readers {
        task.abort();
    }
    let _ = state
        .blocking(move |s| crate::store::write_tokens(s, |db| release(db, me)))
        .await;
}

/// The key file beside an SQLite store: `<store>.mail-key`.
pub fn key_beside(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".mail-key");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_only_with_its_key_and_its_mailbox() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("team.db.mail-key");
        let sealer = Sealer::load_or_create(&path).expect("a new key");
        let id = Uuid::now_v7();
        let sealed = sealer.seal(id, "hunter2").expect("sealed");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(sealer.open(id, &sealed).expect("opened"), "hunter2");
        // The same file gives the same key.
        let again = Sealer::load_or_create(&path).expect("the kept key");
        assert_eq!(again.open(id, &sealed).expect("opened again"), "hunter2");
        // Another mailbox's row, or another key, does not open it.
        assert!(sealer.open(Uuid::now_v7(), &sealed).is_err());
        let other = Sealer::load_or_create(&dir.path().join("other")).expect("another key");
        let refused = other.open(id, &sealed).unwrap_err().to_string();
        assert!(refused.contains("kept together"), "{refused}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("the key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is readable by its owner only");
        }
    }
}
