//! Reading a mailbox over IMAP: one reader per mailbox, signed in and
//! waiting with IDLE where the server offers it (a new mail is taken at
//! once), else looking every 60 s; on any failure the mailbox shows
//! `failing` with the error in words and the reader tries again with
//! growing pauses. Mails are fetched with `BODY.PEEK[]`: the mailbox is
//! never changed (nothing marked seen, moved or deleted), it stays the
//! team's record. Where to resume is the store's (`take::resume_after`).

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use futures_util::TryStreamExt;
use fyncall_domain::mail::{MailSecurity, MailboxState, NewMailServer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use uuid::Uuid;

use super::{MailboxConfig, Trust, take};
use crate::app::AppState;

/// A connection, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

pub type Session = async_imap::Session<Box<dyn Io>>;

/// How long connecting and signing in may take.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);
/// Longest wait in IDLE before starting it again (servers end it at 30 min).
const IDLE_FOR: Duration = Duration::from_secs(20 * 60);
/// Mails fetched at once.
const FETCH_AT_ONCE: usize = 100;

async fn tls(tcp: TcpStream, host: &str, trust: &Trust) -> Result<Box<dyn Io>, String> {
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host} is not a host name TLS can check: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(trust.rustls())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS with {host} failed: {e}"))?;
    Ok(Box::new(stream))
}

/// Connects and signs in; the error in words, naming the server and user.
pub async fn sign_in(server: &NewMailServer, trust: &Trust) -> Result<Session, String> {
    match tokio::time::timeout(CONNECT_WITHIN, sign_in_now(server, trust)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{}:{} did not answer within {} s",
            server.host,
            server.port,
            CONNECT_WITHIN.as_secs()
        )),
    }
}

async fn sign_in_now(server: &NewMailServer, trust: &Trust) -> Result<Session, String> {
    let (host, port) = (server.host.as_str(), server.port);
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    let io: Box<dyn Io> = match server.security {
        MailSecurity::Tls => tls(tcp, host, trust).await?,
        MailSecurity::None => Box::new(tcp),
        MailSecurity::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            greeting(&mut client, host).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| format!("{host} refused STARTTLS: {e}"))?;
            let tcp = client.into_inner();
            let stream = tls(tcp, host, trust).await?;
            return login(async_imap::Client::new(stream), server).await;
        }
    };
    let mut client = async_imap::Client::new(io);
    greeting(&mut client, host).await?;
    login(client, server).await
}

async fn greeting<T: AsyncRead + AsyncWrite + Unpin + Send + Debug>(
    client: &mut async_imap::Client<T>,
    host: &str,
) -> Result<(), String> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(format!("{host} closed the connection before greeting")),
        Err(e) => Err(format!("{host} did not greet as an IMAP server: {e}")),
    }
}

async fn login(
    client: async_imap::Client<Box<dyn Io>>,
    server: &NewMailServer,
) -> Result<Session, String> {
    client
        .login(&server.username, &server.password)
        .await
        .map_err(|(e, _)| match e {
            async_imap::error::Error::No(words) | async_imap::error::Error::Bad(words) => format!(
                "authentication failed for {} ({})",
                server.username,
                words.trim()
            ),
            other => format!("signing in as {} failed: {other}", server.username),
        })
}

/// `POST /channels/email/{id}/check`'s IMAP half: signs in and opens the folder.
pub async fn check(m: &MailboxConfig, trust: &Trust) -> Result<(), String> {
    let mut session = sign_in(&m.imap, trust)
        .await
        .map_err(|e| format!("IMAP: {e}"))?;
    let folder = m.folder().to_owned();
    let opened = session
        .examine(&folder)
        .await
        .map(|_| ())
        .map_err(|e| format!("IMAP: the folder {folder:?} cannot be opened: {e}"));
    let _ = session.logout().await;
    opened
}

/// Sets the mailbox's state as shown in the admin console.
async fn show(state: &AppState, id: Uuid, now: MailboxState, error: Option<String>) {
    let at = crate::time::now();
    let _ = state
        .blocking(move |s| {
            crate::store::write_tokens(s, |db| super::set_state(db, id, now, error.as_deref(), at))
        })
        .await;
}

/// Pause after `failures` failed tries in a row: 1 s doubling to 60 s.
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60))
}

/// Reads one mailbox for as long as the task runs.
pub async fn read(state: AppState, mailbox: MailboxConfig) {
    let mut failures = 0u32;
    loop {
        match session(&state, &mailbox, &mut failures).await {
            Ok(()) => {}
            Err(e) => {
                let (host, port) = (&mailbox.imap.host, mailbox.imap.port);
                let e = match e.strip_prefix("IMAP: ") {
                    Some(rest) if !rest.contains(host.as_str()) => {
                        format!("IMAP: {rest} ({host}:{port})")
                    }
                    _ => e,
                };
                tracing::warn!(mailbox = %mailbox.address, error = %e, "reading the mailbox failed");
                show(&state, mailbox.id, MailboxState::Failing, Some(e)).await;
                tokio::time::sleep(backoff(failures)).await;
                failures = failures.saturating_add(1);
            }
        }
    }
}

/// One signed-in session: takes what is new, then waits for more.
async fn session(
    state: &AppState,
    mailbox: &MailboxConfig,
    failures: &mut u32,
) -> Result<(), String> {
    let mut session = sign_in(&mailbox.imap, &state.mail_trust)
        .await
        .map_err(|e| format!("IMAP: {e}"))?;
    let idle = session
        .capabilities()
        .await
        .map(|c| c.has_str("IDLE"))
        .unwrap_or(false);
    let folder = mailbox.folder().to_owned();
    loop {
        let selected = session
            .select(&folder)
            .await
            .map_err(|e| format!("IMAP: the folder {folder:?} cannot be opened: {e}"))?;
        let validity = selected.uid_validity.unwrap_or(0);
        let known = selected.exists;
        take_new(state, mailbox, &mut session, validity).await?;
        *failures = 0;
        if idle {
            show(state, mailbox.id, MailboxState::Idle, None).await;
            // A mail that came while the last ones were fetched is told
            // before IDLE starts (an EXISTS the IDLE wait never sees): the
            // responses the session set aside say so.
            let aside = session.unsolicited_responses.clone();
            let mut handle = session.idle();
            handle
                .init()
                .await
                .map_err(|e| format!("IMAP: IDLE refused: {e}"))?;
            if !grew(|| aside.try_recv().ok(), known) {
                let (wait, _stop) = handle.wait_with_timeout(IDLE_FOR);
                match wait.await {
                    Ok(
                        IdleResponse::NewData(_)
                        | IdleResponse::Timeout
                        | IdleResponse::ManualInterrupt,
                    ) => {}
                    Err(e) => return Err(format!("IMAP: the connection broke while waiting: {e}")),
                }
            }
            session = handle
                .done()
                .await
                .map_err(|e| format!("IMAP: the connection broke after waiting: {e}"))?;
        } else {
            show(state, mailbox.id, MailboxState::Polling, None).await;
            tokio::time::sleep(state.config.mail_poll).await;
            session
                .noop()
                .await
                .map_err(|e| format!("IMAP: the connection broke: {e}"))?;
        }
    }
}

/// Whether the responses set aside since the folder was opened (with
/// `known` mails) tell of more mail; empties them either way.
fn grew(
    mut next: impl FnMut() -> Option<async_imap::types::UnsolicitedResponse>,
    known: u32,
) -> bool {
    let mut more = false;
    while let Some(r) = next() {
        if let async_imap::types::UnsolicitedResponse::Exists(n) = r {
            more |= n > known;
        }
    }
    more
}

/// Fetches and takes every mail after the last one taken, in UID order.
async fn take_new(
    state: &AppState,
    mailbox: &MailboxConfig,
    session: &mut Session,
    validity: u32,
) -> Result<(), String> {
    let id = mailbox.id;
    let after = state
        .blocking(move |s| take::resume_after(s, id, validity))
        .await
        .map_err(|e| format!("the store: {}", e.message))?;
    let mut uids: Vec<u32> = session
        .uid_search(format!("UID {}:*", after + 1))
        .await
        .map_err(|e| format!("IMAP: searching for new mail failed: {e}"))?
        .into_iter()
        .filter(|u| *u > after)
        .collect();
    uids.sort_unstable();
    for chunk in uids.chunks(FETCH_AT_ONCE) {
        let set = chunk
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetched: Vec<_> = session
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await
            .map_err(|e| format!("IMAP: fetching mail failed: {e}"))?
            .try_collect()
            .await
            .map_err(|e| format!("IMAP: fetching mail failed: {e}"))?;
        let mut mails: HashMap<u32, Vec<u8>> = HashMap::new();
        for f in &fetched {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                mails.insert(uid, body.to_vec());
            }
        }
        let mut batch = Vec::with_capacity(chunk.len());
        for uid in chunk {
            if let Some(raw) = mails.remove(uid) {
                batch.push((*uid, raw));
            }
        }
        let mailbox = mailbox.clone();
        let taken = state
            .blocking(move |s| take::take_all(s, &mailbox, validity, &batch))
            .await
            .map_err(|e| format!("the store: {}", e.message))?;
        state.announce(taken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::types::UnsolicitedResponse;

    #[test]
    fn only_more_mail_than_the_folder_had_counts_as_new() {
        let mut told = vec![
            UnsolicitedResponse::Exists(5),
            UnsolicitedResponse::Recent(1),
        ];
        assert!(
            !grew(|| told.pop(), 5),
            "the folder's own count is not news"
        );
        let mut told = vec![
            UnsolicitedResponse::Expunge(2),
            UnsolicitedResponse::Exists(6),
        ];
        assert!(grew(|| told.pop(), 5));
        assert!(told.is_empty(), "everything set aside is emptied");
        assert!(!grew(|| None, 5));
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(60));
    }
}
