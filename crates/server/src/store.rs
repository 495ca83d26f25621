//! The storage behind the API, as a small trait so another database can
//! stand in for the embedded SQLite one. Every method is one transaction;
//! every rule is asked of `fyncall-domain`, never written here.

use fyncall_domain::wire::PushResult;
use fyncall_domain::{
    Agent, AgentChange, Caller, InboxPage, InboxQuery, Message, Mutation, Refusal, Stamp,
    TeamSettings, Timestamp,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::outbox;
use crate::query::Dialect;
use crate::sessions::{self, TokenDb};
use crate::write::{self, Pushed, Steps};
use fyncall_domain::delivery::{DeliveryPage, Webhook};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Api(ApiError),
    #[error("database: {0}")]
    Database(String),
    /// Two transactions got in each other's way (a deadlock or a
    /// serialization failure); the store runs the transaction again.
    #[error("database conflict, try again: {0}")]
    Retry(String),
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        StoreError::Refused(r)
    }
}

impl From<ApiError> for StoreError {
    fn from(a: ApiError) -> Self {
        StoreError::Api(a)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The `team.database_id` column as an id.
pub fn parse_database_id(stored: Option<String>) -> StoreResult<Uuid> {
    stored
        .as_deref()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| StoreError::Database("the team has no database id".into()))
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone)]
pub enum Principal {
    Agent(Agent),
    Integration { name: String },
}

/// A new bearer token: only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub hash: &'a str,
    /// The public id a session is listed and ended by.
    pub id: Uuid,
    pub principal: &'a Principal,
    pub now: Timestamp,
    /// The client that signed in (its `User-Agent`), for the sessions list.
    pub user_agent: Option<&'a str>,
}

/// A live token: who it is and when it was last used.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Uuid,
    pub principal: Principal,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
}

/// One live session of an agent, as `GET /me/sessions` lists it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub hash: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub user_agent: Option<String>,
}

pub use fyncall_domain::wire::IntegrationToken;

/// Which of an agent's sessions to end.
#[derive(Debug, Clone)]
pub enum Ending<'a> {
    /// The one with this public id.
    One(Uuid),
    /// Every one but the token with this hash (the caller's own).
    AllBut(&'a str),
    All,
}

/// The outcome of one applied mutation.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The change sequence at which its effect shows in pull; `None` when it
    /// changed nothing.
    pub seq: Option<i64>,
    pub tickets: Vec<Uuid>,
    pub conversations: Vec<Uuid>,
    pub messages: Vec<Message>,
    pub activity: Vec<fyncall_domain::Activity>,
}

/// Filters, order and page of `GET /tickets`.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub view: Option<fyncall_domain::View>,
    pub viewer: Uuid,
    pub statuses: Vec<fyncall_domain::Status>,
    pub priorities: Vec<fyncall_domain::Priority>,
    /// `None` inside means "unassigned".
    pub assignees: Vec<Option<Uuid>>,
    pub categories: Vec<String>,
    pub tags: fyncall_domain::tags::TagFilter,
    pub q: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub updated_after: Option<Timestamp>,
    pub updated_before: Option<Timestamp>,
    pub sort: Option<fyncall_domain::SortField>,
    pub order: Option<fyncall_domain::Order>,
    pub limit: u32,
    pub cursor: Option<String>,
    /// Whether the answer counts the whole list (`total`).
    pub with_total: bool,
}

/// A conversation as answered: with its messages, oldest first, and its
/// tickets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationBody {
    #[serde(flatten)]
    pub conversation: fyncall_domain::Conversation,
    pub messages: Vec<Message>,
    pub ticket_ids: Vec<Uuid>,
}

pub use fyncall_domain::wire::{Entity, PullPage, PulledChange, TicketBody, TicketPage};

pub use fyncall_domain::wire::NewAgent;

/// `f`'s answer, run by `Store::token_read`.
pub(crate) fn read_tokens<S: Store + ?Sized, T>(
    store: &S,
    mut f: impl FnMut(&mut dyn TokenDb) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.token_read(&mut |db| {
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Database("the token read ended without a result".into()))
}

/// `f`'s answer, run by `Store::token_write` (committed when it returns).
pub(crate) fn write_tokens<S: Store + ?Sized, T>(
    store: &S,
    mut f: impl FnMut(&mut dyn TokenDb) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.token_write(&mut |db| {
        out = Some(f(db)?);
        Ok(())
    })?;
    out.ok_or_else(|| StoreError::Database("the token write ended without a result".into()))
}

pub trait Store: Send + Sync + 'static {
    // Auth
    fn login_candidate(&self, email: &str) -> StoreResult<Option<(Agent, String)>>;
    /// Runs token statements (`crate::sessions`) on a reading connection.
    fn token_read(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// Runs token statements in one write transaction.
    fn token_write(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()>;

    /// Runs `work` on where blobs are kept, in one transaction
    /// (PostgreSQL: the store itself; SQLite: the file beside it).
    fn blob_write(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.token_write(work)
    }
    fn blob_read(
        &self,
        work: &mut dyn FnMut(&mut dyn TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()> {
        self.token_read(work)
    }
    fn insert_token(&self, token: &NewToken<'_>) -> StoreResult<()> {
        write_tokens(self, |db| sessions::insert(db, token))
    }
    /// The live token with this hash: not revoked, its agent active, and
    /// (for an agent's session) used since `idle_since`.
    fn principal(&self, token_hash: &str, idle_since: Timestamp) -> StoreResult<Option<Session>> {
        read_tokens(self, |db| sessions::session(db, token_hash, idle_since))
    }
    /// Keeps a device token's hash for `agent` (see `sessions::insert_device`).
    fn insert_device_token(&self, hash: &str, agent: Uuid, now: Timestamp) -> StoreResult<()> {
        write_tokens(self, |db| sessions::insert_device(db, hash, agent, now))
    }
    /// The agent (id, email) a device token's hash was given to.
    fn device_token_owner(&self, hash: &str) -> StoreResult<Option<(Uuid, String)>> {
        read_tokens(self, |db| sessions::device_owner(db, hash))
    }
    /// Notes that a token was used at `now`.
    fn touch_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        write_tokens(self, |db| sessions::touch(db, token_hash, now))
    }
    fn revoke_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        write_tokens(self, |db| sessions::revoke(db, token_hash, now))
    }
    /// An agent's live sessions (used since `idle_since`), newest first.
    fn sessions(&self, agent: Uuid, idle_since: Timestamp) -> StoreResult<Vec<SessionRow>> {
        read_tokens(self, |db| sessions::of_agent(db, agent, idle_since))
    }
    /// Ends sessions of `agent`; how many ended.
    fn end_sessions(&self, agent: Uuid, which: Ending<'_>, now: Timestamp) -> StoreResult<u64> {
        write_tokens(self, |db| sessions::end(db, agent, &which, now))
    }
    /// Sets an agent's password hash and ends every session but `keep`'s,
    /// in one transaction.
    fn set_password(
        &self,
        agent: Uuid,
        password_hash: &str,
        keep: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        write_tokens(self, |db| {
            sessions::set_password(db, agent, password_hash, keep, now)
        })
    }
    fn integration_tokens(&self) -> StoreResult<Vec<IntegrationToken>> {
        read_tokens(self, sessions::integrations)
    }
    /// Revokes an integration token; false when there is no live one with this id.
    fn revoke_integration_token(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        write_tokens(self, |db| sessions::revoke_integration(db, id, now))
    }
    /// Deletes tokens that ended (revoked, or agent sessions unused) before
    /// `tokens_before`, and idempotency records older than
    /// `mutations_before`; how many of each.
    fn prune(
        &self,
        tokens_before: Timestamp,
        mutations_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        write_tokens(self, |db| {
            sessions::prune(db, tokens_before, mutations_before)
        })
    }

    // Agents and settings
    fn agents(&self) -> StoreResult<Vec<Agent>>;
    fn settings(&self) -> StoreResult<TeamSettings>;

    // The team: agents and settings, through the one write path's steps.
    fn create_agent(&self, agent: &Agent, password_hash: &str) -> StoreResult<i64> {
        let mut seq = 0;
        self.transact(&mut |steps| {
            seq = write::create_agent(steps, agent, password_hash)?;
            Ok(())
        })?;
        Ok(seq)
    }

    fn update_agent(&self, id: Uuid, change: &AgentChange) -> StoreResult<(Agent, i64)> {
        let mut out = None;
        self.transact(&mut |steps| {
            out = Some(write::update_agent(steps, id, change, crate::time::now())?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Database("the write ended without a result".into()))
    }

    fn put_settings(&self, settings: &TeamSettings) -> StoreResult<i64> {
        let mut seq = 0;
        self.transact(&mut |steps| {
            seq = write::put_settings(steps, settings)?;
            Ok(())
        })?;
        Ok(seq)
    }

    // Changes: the one write path (`crate::write`) over this store's steps.
    /// Runs `work` in one write transaction, committed (durably) before
    /// this returns; a race between transactions runs it again.
    fn transact(&self, work: &mut dyn FnMut(&mut dyn Steps) -> StoreResult<()>) -> StoreResult<()>;

    /// Applies a push in one transaction (see `mutations_per_transaction`),
    /// each mutation in a savepoint of its own; the results in order and the last sequence
    /// written.
    fn push(
        &self,
        caller: Caller,
        batch: &[Pushed],
        clock: &dyn Fn() -> Timestamp,
    ) -> StoreResult<(Vec<PushResult>, Option<i64>)> {
        let mut results = Vec::with_capacity(batch.len());
        let mut last_seq = None;
        let (most, per_row) = self.mutations_per_transaction();
        for part in write::parts(batch, most, per_row) {
            let mut out = (Vec::new(), None);
            self.transact(&mut |steps| {
                out = write::push(steps, caller, part, clock)?;
                Ok(())
            })?;
            results.extend(out.0);
            last_seq = out.1.or(last_seq);
        }
        Ok((results, last_seq))
    }

    /// Most mutations of a push applied in one transaction, and most of
    /// them changing one row (a ticket, a conversation); a larger push
    /// takes several transactions, all committed before the answer.
    fn mutations_per_transaction(&self) -> (usize, usize) {
        (usize::MAX, usize::MAX)
    }

    /// Applies one mutation of the ticket API in one transaction (not
    /// recorded for idempotency: `mutation_id` is the server's own).
    fn apply(
        &self,
        caller: Caller,
        mutation: &Mutation,
        mutation_id: Uuid,
        now: Timestamp,
    ) -> StoreResult<Committed> {
        let stamp = Stamp {
            mutation_id,
            at: now,
            client_at: None,
        };
        let mut out = None;
        self.transact(&mut |steps| {
            let committed =
                write::apply(steps, caller, mutation, &stamp, &mut write::Team::default())?;
            if let Some(seq) = committed.seq {
                steps.notify(seq)?;
            }
            out = Some(committed);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Database("the write ended without a result".into()))
    }

    /// Appends `sla_breached` entries due by `now`; returns the new sequence if any.
    fn sweep_breaches(&self, now: Timestamp) -> StoreResult<Option<i64>> {
        let mut out = None;
        self.transact(&mut |steps| {
            out = write::sweep(steps, now)?;
            Ok(())
        })?;
        Ok(out)
    }

    // Deliveries: the outbox (`crate::outbox`) and the webhooks it serves.
    fn webhooks(&self) -> StoreResult<Vec<Webhook>> {
        read_tokens(self, outbox::webhooks)
    }
    fn webhook(&self, id: Uuid) -> StoreResult<Option<Webhook>> {
        read_tokens(self, |db| outbox::webhook(db, id))
    }
    fn create_webhook(&self, hook: &Webhook, secret: &str) -> StoreResult<()> {
        write_tokens(self, |db| outbox::insert_webhook(db, hook, secret))
    }
    /// Writes a webhook's fields back; false when there is no such webhook.
    fn save_webhook(&self, hook: &Webhook) -> StoreResult<bool> {
        write_tokens(self, |db| outbox::save_webhook(db, hook))
    }
    fn delete_webhook(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        write_tokens(self, |db| outbox::delete_webhook(db, id, now))
    }
    fn delivery_log(
        &self,
        hook: Uuid,
        state: Option<fyncall_domain::DeliveryState>,
        cursor: Option<&str>,
        limit: u32,
    ) -> StoreResult<DeliveryPage> {
        read_tokens(self, |db| outbox::log(db, hook, state, cursor, limit))
    }
    /// Claims due deliveries for the worker `by` until `until`.
    fn claim_deliveries(
        &self,
        by: Uuid,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<outbox::Claimed>> {
        let dialect = self.dialect();
        write_tokens(self, |db| outbox::claim(db, dialect, by, now, until, limit))
    }
    /// Frees every claim (at start, where this is the only process).
    fn release_claims(&self) -> StoreResult<u64> {
        write_tokens(self, outbox::release_all_claims)
    }
    /// Records the worker's attempts and moves the replies they carry, in
    /// one transaction; the last sequence written.
    fn record_attempts(
        &self,
        by: Uuid,
        done: &[(outbox::Claimed, outbox::Attempt)],
    ) -> StoreResult<Option<i64>> {
        let mut last = None;
        self.transact(&mut |steps| {
            let mut replies = std::collections::BTreeSet::new();
            for (claimed, attempt) in done {
                let mut recorded = None;
                steps.with_sql(&mut |db| {
                    recorded = outbox::record(db, by, claimed, attempt)?;
                    Ok(())
                })?;
                if let (Some(_), Some(m)) = (recorded, claimed.message_id) {
                    replies.insert(m);
                }
            }
            last = None;
            for id in replies {
                let (_, seq) = write::move_reply_delivery(steps, id, &mut |db, _, now| {
                    Ok(outbox::of_message(db, id)?
                        .map(|rows| fyncall_domain::delivery::after_attempts(now, rows)))
                })?;
                last = seq.or(last);
            }
            Ok(())
        })?;
        Ok(last)
    }
    /// An agent's Retry of a failed reply: its failed deliveries queued
    /// again (or, where none was ever written, one per webhook subscribed
    /// now). The reply and the change's sequence.
    fn retry_reply(&self, id: Uuid, now: Timestamp) -> StoreResult<(Message, Option<i64>)> {
        let mut out = None;
        self.transact(&mut |steps| {
            out = Some(write::move_reply_delivery(
                steps,
                id,
                &mut |db, message, current| {
                    let queued = fyncall_domain::delivery::retry(current)?;
                    if outbox::requeue_message(db, id, now)? == 0 {
                        let again = Message {
                            delivery: Some(queued.clone()),
                            ..message.clone()
                        };
                        let event = outbox::Event {
                            kind: fyncall_domain::EventType::MessageCreated,
                            body: outbox::event_body(
                                fyncall_domain::EventType::MessageCreated,
                                now,
                                &again,
                            )?,
                            message_id: Some(id),
                        };
                        let hooks = outbox::webhooks(db)?;
                        if outbox::enqueue(db, &hooks, &event, now)? == 0 {
                            let channel = outbox::channel_of(db, message.conversation_id)?;
                            return Err(Refusal::invalid(
                                "id",
                                fyncall_domain::delivery::no_channel(&channel),
                            )
                            .into());
                        }
                    }
                    Ok(Some(queued))
                },
            )?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Database("the write ended without a result".into()))
    }
    /// The integration's report on a reply it handled.
    fn report_delivery(
        &self,
        id: Uuid,
        report: fyncall_domain::delivery::Report,
        reason: Option<&str>,
    ) -> StoreResult<(Message, Option<i64>)> {
        let mut out = None;
        self.transact(&mut |steps| {
            out = Some(write::move_reply_delivery(
                steps,
                id,
                &mut |_, _, current| {
                    Ok(fyncall_domain::delivery::reported(current, report, reason)?)
                },
            )?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Database("the write ended without a result".into()))
    }
    /// The admin's "Send again" of a failed delivery; the sequence of the
    /// reply it carries, if it moved.
    fn retry_webhook_delivery(
        &self,
        hook: Uuid,
        delivery: &str,
        now: Timestamp,
    ) -> StoreResult<Option<i64>> {
        let mut last = None;
        self.transact(&mut |steps| {
            let mut reply = None;
            steps.with_sql(&mut |db| {
                let carries = outbox::message_of(db, hook, delivery)?.ok_or_else(|| {
                    Refusal::not_found(format!("webhook {hook} has no delivery {delivery}"))
                })?;
                if !outbox::requeue(db, hook, delivery, now)? {
                    return Err(Refusal::invalid_transition(
                        "only a failed delivery can be sent again",
                    )
                    .into());
                }
                reply = carries;
                Ok(())
            })?;
            last = None;
            if let Some(id) = reply {
                let (_, seq) = write::move_reply_delivery(steps, id, &mut |db, _, now| {
                    Ok(outbox::of_message(db, id)?
                        .map(|rows| fyncall_domain::delivery::after_attempts(now, rows)))
                })?;
                last = seq;
            }
            Ok(())
        })?;
        Ok(last)
    }

    // Reads
    fn ticket(&self, id: Uuid, now: Timestamp) -> StoreResult<TicketBody>;
    fn ticket_with_activity(
        &self,
        id: Uuid,
        now: Timestamp,
    ) -> StoreResult<(TicketBody, Vec<fyncall_domain::Activity>)>;
    fn tickets(&self, query: &TicketQuery, now: Timestamp) -> StoreResult<TicketPage>;
    /// The id of the ticket numbered `number`; not found when none is.
    fn ticket_numbered(&self, number: i64) -> StoreResult<Uuid>;
    fn conversation(&self, id: Uuid) -> StoreResult<ConversationBody>;
    /// The SQL dialect the store speaks.
    fn dialect(&self) -> Dialect;
    /// A page of an inbox view for `viewer` (API.md `GET /conversations`).
    fn inbox(&self, query: &InboxQuery, viewer: Uuid) -> StoreResult<InboxPage> {
        let like = self.dialect().like();
        read_tokens(self, |db| crate::inbox::page(db, query, viewer, like))
    }
    /// The tickets an SLA report up to `to` reads, with their assignment
    /// history (RULES.md "SLA compliance"); a read that runs past `limit`
    /// is ended and answers `unavailable` in words.
    fn report_inputs(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: std::time::Duration,
    ) -> StoreResult<Vec<fyncall_domain::report::ReportTicket>> {
        read_tokens(self, |db| {
            let started = std::time::Instant::now();
            db.time_limit(Some(limit))?;
            let read = crate::reports::inputs(db, from, to);
            // The connection goes back to its pool without the limit.
            db.time_limit(None)?;
            match read {
                Err(StoreError::Database(why)) if started.elapsed() >= limit => {
                    tracing::warn!(error = %why, limit_ms = limit.as_millis() as u64, "a report's read ran out of time");
                    Err(StoreError::Api(ApiError::new(
                        crate::error::ErrorCode::Unavailable,
                        format!(
                            "the report took longer than {} s to read and was stopped: choose a shorter period, or try again when the server is less busy",
                            limit.as_secs_f64().ceil()
                        ),
                    )))
                }
                other => other,
            }
        })
    }
    /// The rules' state around `ticket`: it, its conversation with the
    /// tickets on it, and the team (what a macro's steps read).
    fn ticket_state(&self, ticket: Uuid) -> StoreResult<fyncall_domain::State> {
        let mut out = None;
        self.transact(&mut |steps| {
            out = Some(write::load_around(
                steps,
                ticket,
                &mut write::Team::default(),
            )?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError::Database("the read ended without a result".into()))
    }

    /// Each tag on tickets not closed, with how many carry it (`GET /tags`).
    fn tag_counts(&self) -> StoreResult<Vec<fyncall_domain::tags::TagCount>> {
        read_tokens(self, |db| {
            let rows = db.rows_built(
                &format!(
                    "SELECT tags FROM tickets WHERE {} AND tags <> ''",
                    fyncall_domain::lifecycle::not_closed_sql("status")
                ),
                &[],
            )?;
            Ok(fyncall_domain::tags::counts(
                rows.iter().filter_map(|r| r.first().cloned().flatten()),
            ))
        })
    }
    fn pull(&self, cursor: i64, limit: u32, now: Timestamp) -> StoreResult<PullPage>;
    fn current_seq(&self) -> StoreResult<i64>;
    /// Every row of the team as of one sequence, as the lines of
    /// `GET /sync/snapshot` ([`crate::snapshot::write`]), to `out`.
    fn snapshot(
        &self,
        now: Timestamp,
        database_id: Uuid,
        out: &mut dyn FnMut(&[u8]) -> StoreResult<()>,
    ) -> StoreResult<()>;
    /// The store's identity: new at creation and at every restore.
    fn database_id(&self) -> StoreResult<Uuid>;

    // Life cycle
    /// Sends the sequence of every change committed by other server
    /// instances on the same database to `changes`, until `stop` turns true.
    /// A store only one process can use has none and does nothing.
    fn follow_other_instances(
        &self,
        changes: tokio::sync::broadcast::Sender<i64>,
        presence: std::sync::Arc<crate::presence::Presence>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let _ = (changes, presence, stop);
    }
    /// Tells the other server instances on the same database of a
    /// heartbeat (JSON of a [`crate::presence::Beat`]). A store only one
    /// process can use has none to tell.
    fn publish_presence(&self, beat: &str) -> StoreResult<()> {
        let _ = beat;
        Ok(())
    }
    /// Leaves the database tidy on a clean shutdown.
    fn close(&self) -> StoreResult<()> {
        Ok(())
    }
}
