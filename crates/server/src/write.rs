//! The one write path of both stores: applying mutations (a push, or one
//! call of the ticket API), the SLA sweep, and loading what a mutation reads.
//! SQLite and PostgreSQL only implement [`Steps`], the few statements these
//! need; every decision is made here, once, with the rules of
//! `fyncall-domain`.
//!
//! # One push, one transaction, one savepoint per mutation
//!
//! A push runs in ONE transaction, so its answer waits for one durable
//! commit (one fsync on SQLite with `synchronous=FULL`, one commit in
//! PostgreSQL) instead of one per mutation. Each mutation runs inside a
//! savepoint of its own: a refusal or a store error while applying it rolls
//! back to that savepoint only, records the refusal, and the next mutation
//! goes on. So one bad mutation never fails the push, and nothing of a
//! refused mutation is written. A race between transactions (`Retry`) or a
//! store that cannot be reached ends the whole transaction: nothing of the
//! push is written, and the client sends it again.
//!
//! # The sweep
//!
//! The sweep appends `sla_breached` entries for up to [`SWEEP_BATCH`] due
//! tickets in one transaction, each ticket in a savepoint of its own: one
//! ticket that cannot be written is logged and never holds back the others.
//! A breach entry's id is derived from its ticket and timer (UUID v5), and
//! clients may only choose v7/v4 ids, so the entry's primary key is the
//! store's guarantee of at most one `sla_breached` per (ticket, timer).

use fyncall_domain::delivery::{self, EventType};
use fyncall_domain::wire::{Outcome, PushError, PushResult};
use fyncall_domain::{
    Activity, Agent, Caller, Conversation, Delivery, Message, Mutation, Stamp, State, TeamSettings,
    Ticket, Timestamp,
};
use std::collections::HashMap;

use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::store::{Committed, StoreError, StoreResult};

/// Most due tickets one sweep transaction takes.
pub const SWEEP_BATCH: u32 = 500;

/// The statements the write path needs, inside one open transaction.
pub trait Steps {
    /// Opens a savepoint inside the transaction.
    fn savepoint(&mut self) -> StoreResult<()>;
    /// Keeps what was written since the last savepoint.
    fn release_savepoint(&mut self) -> StoreResult<()>;
    /// Undoes what was written since the last savepoint (which stays open).
    fn rollback_to_savepoint(&mut self) -> StoreResult<()>;
    fn settings(&mut self) -> StoreResult<TeamSettings>;
    fn agents(&mut self) -> StoreResult<Vec<Agent>>;
    /// A ticket, locked until commit where the store has row locks.
    fn lock_ticket(&mut self, id: Uuid) -> StoreResult<Option<Ticket>>;
    /// A conversation with its tickets (oldest first) when `linked`; both
    /// locked until commit when `linked`, where the store has row locks.
    fn lock_conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> StoreResult<Option<(Conversation, Vec<Ticket>)>>;
    /// Due tickets (`next_breach_at <= now`), locked; ones another sweep
    /// holds are skipped.
    fn lock_due_tickets(&mut self, now: Timestamp, limit: u32) -> StoreResult<Vec<Ticket>>;
    /// Writes a ticket (giving it a number if it has none); its change
    /// sequence. A ticket with no number is new: an id already taken is
    /// refused (`conflict`), the ticket there left as it is.
    fn save_ticket(&mut self, ticket: &mut Ticket, settings: &TeamSettings) -> StoreResult<i64>;
    fn save_conversation(&mut self, conversation: &Conversation) -> StoreResult<i64>;
    /// `false` when a message with that id exists already.
    fn insert_message(&mut self, message: &Message) -> StoreResult<bool>;
    /// The entry's change sequence; `None` when an entry with that id exists already.
    fn insert_activity(&mut self, entry: &Activity) -> StoreResult<Option<i64>>;
    /// The stored answers of those of `ids` claimed before: outcome, seq and error.
    fn mutation_outcomes(&mut self, ids: &[Uuid]) -> StoreResult<HashMap<Uuid, StoredOutcome>>;
    /// Takes pushed mutations' ids with their answers, in one write at the
    /// end of a push; how many were taken (an id answered before is left
    /// as it is). An applied mutation costs one row written once.
    fn claim_answered(&mut self, claims: &[Claim]) -> StoreResult<usize>;
    /// Wakes the live streams of other server processes once this commits.
    fn notify(&mut self, seq: i64) -> StoreResult<()>;
    /// Runs statements written once for both stores (`$1` placeholders,
    /// text columns: the outbox, the inbox rows) inside this transaction.
    fn with_sql(
        &mut self,
        work: &mut dyn FnMut(&mut dyn crate::sessions::TokenDb) -> StoreResult<()>,
    ) -> StoreResult<()>;

    // The team: agents and settings.
    /// Every agent, locked until commit (two admins demoted at once must
    /// not leave the team with none).
    fn lock_agents(&mut self) -> StoreResult<Vec<Agent>>;
    /// `false` when an agent with that id or email exists already.
    fn insert_agent(&mut self, agent: &Agent, password_hash: &str) -> StoreResult<bool>;
    fn save_agent(&mut self, agent: &Agent) -> StoreResult<()>;
    /// Ends every session of an agent at `now`.
    fn end_sessions(&mut self, agent: Uuid, now: Timestamp) -> StoreResult<()>;
    /// Stores the team's settings, keeping ticket writers out until commit.
    fn save_settings(&mut self, settings: &TeamSettings) -> StoreResult<()>;
    /// The tickets not closed: their stored moments follow the policy.
    fn running_tickets(&mut self) -> StoreResult<Vec<Ticket>>;
    /// Stores a ticket's SLA moments under `settings`.
    fn save_moments(&mut self, ticket: &Ticket, settings: &TeamSettings) -> StoreResult<()>;
    /// The next change sequence, given to an entity's change-log row.
    fn bump(&mut self, entity: &str, id: &str) -> StoreResult<i64>;
}

/// Adds an agent; its change sequence.
pub fn create_agent(steps: &mut dyn Steps, agent: &Agent, password_hash: &str) -> StoreResult<i64> {
    if !steps.insert_agent(agent, password_hash)? {
        return Err(agent_exists(agent));
    }
    let seq = steps.bump("agent", &agent.id.to_string())?;
    steps.notify(seq)?;
    Ok(seq)
}

/// The refusal of an agent whose email is taken.
pub fn agent_exists(agent: &Agent) -> StoreError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("an agent with email {} already exists", agent.email),
    )
    .into()
}

/// Renames an agent, changes their role or (de)activates them: the team
/// keeps an active admin; deactivating ends every session (reactivating
/// revives none).
pub fn update_agent(
    steps: &mut dyn Steps,
    id: Uuid,
    change: &fyncall_domain::AgentChange,
    now: Timestamp,
) -> StoreResult<(Agent, i64)> {
    let all = steps.lock_agents()?;
    let agent = fyncall_domain::agent::changed_agent(&all, id, change)?;
    steps.save_agent(&agent)?;
    if change.active == Some(false) {
        steps.end_sessions(id, now)?;
    }
    let seq = steps.bump("agent", &id.to_string())?;
    steps.notify(seq)?;
    Ok((agent, seq))
}

/// Stores the team's settings; running deadlines move with the policy, so
/// every stored moment is recomputed in the same transaction.
pub fn put_settings(steps: &mut dyn Steps, new: &TeamSettings) -> StoreResult<i64> {
    steps.save_settings(new)?;
    for ticket in steps.running_tickets()? {
        steps.save_moments(&ticket, new)?;
    }
    let seq = steps.bump("settings", &Uuid::nil().to_string())?;
    steps.notify(seq)?;
    Ok(seq)
}

/// A stored answer: outcome (`applied`, `rejected`), seq, error JSON.
pub type StoredOutcome = (String, Option<i64>, Option<String>);

/// One mutation of a push, as read off the wire.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub id: Uuid,
    /// `Err` when the body did not name a mutation this server knows.
    pub mutation: Result<Mutation, ApiError>,
    pub client_at: Option<Timestamp>,
}

/// Runs `f` inside a savepoint: on `Err` only what `f` wrote is undone. A
/// race (`Retry`) is passed up as it is, for the whole transaction to run
/// again; so is a failure to roll back, which means the store is gone.
pub(crate) fn in_savepoint<T>(
    steps: &mut dyn Steps,
    f: impl FnOnce(&mut dyn Steps) -> StoreResult<T>,
) -> StoreResult<Result<T, StoreError>> {
    steps.savepoint()?;
    match f(steps) {
        Ok(value) => {
            steps.release_savepoint()?;
            Ok(Ok(value))
        }
        Err(StoreError::Retry(why)) => Err(StoreError::Retry(why)),
        Err(e) => {
            steps.rollback_to_savepoint()?;
            steps.release_savepoint()?;
            Ok(Err(e))
        }
    }
}

/// The team's settings and agents, read once per write transaction: they
/// cannot change under it, since every change to them takes the team row
/// (the sequence) that a write transaction holds until it commits.
#[derive(Default)]
pub struct Team {
    loaded: Option<(TeamSettings, Vec<Agent>)>,
    hooks: Option<Vec<fyncall_domain::delivery::Webhook>>,
}

impl Team {
    /// The team's webhooks, read once per transaction.
    fn hooks(
        &mut self,
        steps: &mut dyn Steps,
    ) -> StoreResult<&[fyncall_domain::delivery::Webhook]> {
        if self.hooks.is_none() {
            let mut found = Vec::new();
            steps.with_sql(&mut |db| {
                found = crate::outbox::webhooks(db)?;
                Ok(())
            })?;
            self.hooks = Some(found);
        }
        Ok(self.hooks.as_deref().unwrap_or_default())
    }

    fn get(&mut self, steps: &mut dyn Steps) -> StoreResult<&(TeamSettings, Vec<Agent>)> {
        if self.loaded.is_none() {
            self.loaded = Some((steps.settings()?, steps.agents()?));
        }
        self.loaded
            .as_ref()
            .ok_or_else(|| StoreError::Database("team not loaded".into()))
    }
}

/// The reads of [`fyncall_domain::state::load`] on a store's steps: rows
/// locked as they are read, the team read once per transaction.
struct Locked<'s, 't> {
    steps: &'s mut dyn Steps,
    team: &'t mut Team,
}

impl fyncall_domain::Rows for Locked<'_, '_> {
    type Error = StoreError;
    /// `Steps::save_ticket` refuses a taken id: one round trip fewer a creation.
    const NEW_TICKET_WRITE_REFUSES_TAKEN_IDS: bool = true;

    fn ticket(&mut self, id: Uuid) -> StoreResult<Option<Ticket>> {
        self.steps.lock_ticket(id)
    }

    fn conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> StoreResult<Option<(Conversation, Vec<Ticket>)>> {
        self.steps.lock_conversation(id, linked)
    }

    fn team(&mut self) -> StoreResult<(TeamSettings, Vec<Agent>)> {
        self.team.get(self.steps).cloned()
    }
}

/// Loads what `mutation` may read, locking rows first and the team's
/// settings and agents after, so a policy change that committed while this
/// waited is seen.
pub fn load_state(
    steps: &mut dyn Steps,
    mutation: &Mutation,
    team: &mut Team,
) -> StoreResult<State> {
    fyncall_domain::state::load(&mut Locked { steps, team }, mutation)
}

/// The state around one ticket (`fyncall_domain::state::load_around`).
pub fn load_around(steps: &mut dyn Steps, ticket: Uuid, team: &mut Team) -> StoreResult<State> {
    fyncall_domain::state::load_around(&mut Locked { steps, team }, ticket)
}

fn exists(what: &str, id: Uuid) -> StoreError {
    ApiError::new(
        ErrorCode::Conflict,
        format!("a {what} with id {id} already exists: use a new id"),
    )
    .into()
}

/// Applies one mutation through the rules and writes its effect. A refusal
/// is an `Err` and writes nothing of its own (the caller's savepoint or
/// transaction rolls back). The caller notifies once for all it applied.
pub fn apply(
    steps: &mut dyn Steps,
    caller: Caller,
    mutation: &Mutation,
    stamp: &Stamp,
    team: &mut Team,
) -> StoreResult<Committed> {
    let state = load_state(steps, mutation, team)?;
    let mut applied = fyncall_domain::apply(&state, caller, mutation, stamp)?;
    let mut seq = None;
    for id in &applied.tickets {
        if let Some(ticket) = applied.state.tickets.get_mut(id) {
            seq = Some(steps.save_ticket(ticket, &applied.state.settings)?);
        }
    }
    let mut conversations = applied.conversations.clone();
    // Files named by the message, uploaded first (`crate::blobs`).
    let named = match mutation {
        Mutation::Reply(r) => r.attachment_ids.as_slice(),
        Mutation::PostMessage(p) => p.attachment_ids.as_slice(),
        _ => &[],
    };
    if !named.is_empty() {
        let mut files = Vec::new();
        steps.with_sql(&mut |db| {
            files = crate::blobs::describe(db, named)?;
            Ok(())
        })?;
        for message in &mut applied.messages {
            message.attachments = files.clone();
        }
    }
    // A reply goes out through its channel: by mail from its conversation's
    // mailbox, and to the webhooks subscribed to message.created. With
    // neither, it fails at once, saying what to do.
    let mut mailed = std::collections::BTreeSet::new();
    for message in applied.messages.iter().filter(|m| m.delivery.is_some()) {
        let mut from = None;
        steps.with_sql(&mut |db| {
            from = crate::mail::live_mailbox_of(db, message.conversation_id)?;
            Ok(())
        })?;
        if let Some(mailbox) = from {
            mailed.insert((message.id, message.conversation_id, mailbox));
        }
    }
    let hooked = !applied.messages.iter().any(|m| m.delivery.is_some())
        || team
            .hooks(steps)?
            .iter()
            .any(|h| h.wants(EventType::MessageCreated));
    for message in &mut applied.messages {
        let by_mail = mailed.iter().any(|(id, ..)| *id == message.id);
        if message.delivery.is_some() && !hooked && !by_mail {
            let channel = applied
                .state
                .conversations
                .get(&message.conversation_id)
                .map_or("", |c| c.channel.as_str());
            message.delivery = Some(Delivery::failed(delivery::no_channel(channel)));
        }
    }
    for message in &applied.messages {
        if !steps.insert_message(message)? {
            return Err(exists("message", message.id));
        }
        conversations.insert(message.conversation_id);
    }
    for id in &conversations {
        if let Some(c) = applied.state.conversations.get(id) {
            seq = Some(steps.save_conversation(c)?);
        }
    }
    for entry in &applied.activity {
        match steps.insert_activity(entry)? {
            Some(s) => seq = Some(s),
            None => return Err(exists("timeline entry", entry.id)),
        }
    }
    // Mentions: a row for each agent a comment names; the caller's read marks.
    let mentioned = crate::mentions::of(&applied.activity);
    if !mentioned.is_empty() || !applied.read_mentions.is_empty() {
        steps.with_sql(&mut |db| {
            for (agent, entry) in &mentioned {
                crate::mentions::insert(db, *agent, entry)?;
            }
            if let Caller::Agent(me) = caller {
                crate::mentions::mark_read(db, me, &applied.read_mentions, stamp.at)?;
            }
            Ok(())
        })?;
    }
    if !mailed.is_empty() {
        steps.with_sql(&mut |db| {
            for (message, conversation, mailbox) in &mailed {
                crate::mail::queue_reply(db, *mailbox, *conversation, *message, stamp.at)?;
            }
            Ok(())
        })?;
    }
    let events = events_of(mutation, &applied, &conversations, stamp.at)?;
    if !events.is_empty() {
        let hooks = team.hooks(steps)?.to_vec();
        steps.with_sql(&mut |db| {
            for event in &events {
                crate::outbox::enqueue(db, &hooks, event, stamp.at)?;
            }
            Ok(())
        })?;
    }
    Ok(Committed {
        seq,
        tickets: applied.tickets.iter().copied().collect(),
        conversations: conversations.into_iter().collect(),
        messages: applied.messages,
        activity: applied.activity,
    })
}

/// The events a mutation's effect raises (RULES.md "Webhooks"), with their
/// bodies as the API shows each entity. Internal comments raise none: they
/// never leave the team.
fn events_of(
    mutation: &Mutation,
    applied: &fyncall_domain::Applied,
    conversations: &std::collections::BTreeSet<Uuid>,
    at: Timestamp,
) -> StoreResult<Vec<crate::outbox::Event>> {
    use crate::outbox::{Event, event_body};
    let mut events = Vec::new();
    if matches!(mutation, Mutation::Comment(_)) {
        return Ok(events);
    }
    for m in &applied.messages {
        events.push(Event {
            kind: EventType::MessageCreated,
            body: event_body(EventType::MessageCreated, at, m)?,
            message_id: m.delivery.as_ref().map(|_| m.id),
        });
    }
    let created = matches!(
        mutation,
        Mutation::CreateTicket(_) | Mutation::AiEscalation(_)
    );
    for id in &applied.tickets {
        if let Some(t) = applied.state.tickets.get(id) {
            let kind = if created {
                EventType::TicketCreated
            } else {
                EventType::TicketUpdated
            };
            let body = fyncall_domain::wire::TicketBody::at(t.clone(), &applied.state.settings, at);
            events.push(Event {
                kind,
                body: event_body(kind, at, &body)?,
                message_id: None,
            });
        }
    }
    let kind = match mutation {
        Mutation::ClaimConversation(_) => Some(EventType::ConversationClaimed),
        Mutation::AssignConversation(_) => Some(EventType::ConversationAssigned),
        _ => None,
    };
    if let Some(kind) = kind {
        for id in conversations {
            if let Some(c) = applied.state.conversations.get(id) {
                events.push(Event {
                    kind,
                    body: event_body(kind, at, c)?,
                    message_id: None,
                });
            }
        }
    }
    Ok(events)
}

/// What a delivery step makes of a reply's delivery: its new delivery, or
/// `None` to leave it.
pub type DecideDelivery<'a> = dyn FnMut(&mut dyn crate::sessions::TokenDb, &Message, &Delivery) -> StoreResult<Option<Delivery>>
    + 'a;

/// Moves a reply's delivery to what `decide` makes of it (given the
/// transaction, the reply and its delivery now); when it changed, writes
/// the reply and marks its conversation changed, so every desktop pulls
/// it. The reply as it is now and the change's sequence.
pub fn move_reply_delivery(
    steps: &mut dyn Steps,
    id: Uuid,
    decide: &mut DecideDelivery<'_>,
) -> StoreResult<(Message, Option<i64>)> {
    let mut found = None;
    steps.with_sql(&mut |db| {
        found = crate::inbox::message(db, id)?;
        Ok(())
    })?;
    let mut message = found
        .ok_or_else(|| fyncall_domain::Refusal::not_found(format!("no message has id {id}")))?;
    let current = message.delivery.clone().ok_or_else(|| {
        fyncall_domain::Refusal::invalid(
            "id",
            "only an agent's reply goes out to the customer: this message has no delivery",
        )
    })?;
    let mut next = None;
    steps.with_sql(&mut |db| {
        next = decide(db, &message, &current)?;
        Ok(())
    })?;
    match next {
        Some(d) if d != current => {
            message.delivery = Some(d);
            steps.with_sql(&mut |db| crate::inbox::save_message(db, &message))?;
            let seq = steps.bump("conversation", &message.conversation_id.to_string())?;
            steps.notify(seq)?;
            Ok((message, Some(seq)))
        }
        _ => Ok((message, None)),
    }
}

/// A pushed mutation's id with the answer it is claimed with.
pub struct Claim {
    pub id: Uuid,
    pub at: Timestamp,
    pub outcome: Outcome,
    pub seq: Option<i64>,
    /// The refusal as stored (JSON text), if any.
    pub error: Option<String>,
}

impl Claim {
    fn of(result: &PushResult, at: Timestamp) -> StoreResult<Claim> {
        Ok(Claim {
            id: result.id,
            at,
            outcome: result.outcome,
            seq: result.seq,
            error: result
                .error
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::Database(format!("cannot write a refusal: {e}")))?,
        })
    }
}

/// A store error while applying one mutation, as that mutation's refusal.
fn store_refusal(e: StoreError) -> ApiError {
    match e {
        StoreError::Refused(r) => r.into(),
        StoreError::Api(a) => a,
        StoreError::Database(why) | StoreError::Retry(why) => {
            tracing::error!(error = %why, "a pushed mutation could not be stored; refused");
            ApiError::new(
                ErrorCode::Internal,
                "the server could not store this change; it was not applied: send it again, and if it fails again, tell your admin",
            )
        }
    }
}

/// The answer to a mutation answered before, as stored then.
fn duplicate(id: Uuid, stored: Option<&StoredOutcome>) -> StoreResult<PushResult> {
    let (outcome, seq, error) = stored.ok_or_else(|| {
        StoreError::Database(format!("mutation {id} was claimed but has no answer"))
    })?;
    let error = match (error, outcome.as_str()) {
        (Some(e), _) => Some(serde_json::from_str::<PushError>(e).map_err(|e| {
            StoreError::Database(format!(
                "the stored answer of mutation {id} is not readable: {e}"
            ))
        })?),
        (None, "rejected") => Some(PushError::new(
            ErrorCode::Internal,
            "the server refused this change when it was first sent",
        )),
        (None, _) => None,
    };
    Ok(PushResult {
        id,
        outcome: Outcome::Duplicate,
        seq: *seq,
        error,
    })
}

/// Cuts a push into the parts applied one transaction each, in order: at
/// most `most` mutations, and at most `per_row` of them changing one row
/// (the ticket or conversation a mutation is about).
pub fn parts(batch: &[Pushed], most: usize, per_row: usize) -> Vec<&[Pushed]> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut rows: HashMap<Uuid, usize> = HashMap::new();
    for (i, pushed) in batch.iter().enumerate() {
        let touched: Vec<Uuid> = pushed
            .mutation
            .as_ref()
            .map(|m| {
                let scope = m.scope();
                scope.ticket.into_iter().chain(scope.conversation).collect()
            })
            .unwrap_or_default();
        let full = i - start >= most.max(1)
            || touched
                .iter()
                .any(|id| rows.get(id).copied().unwrap_or(0) >= per_row.max(1));
        if full {
            parts.push(&batch[start..i]);
            start = i;
            rows.clear();
        }
        for id in touched {
            *rows.entry(id).or_default() += 1;
        }
    }
    if start < batch.len() {
        parts.push(&batch[start..]);
    }
    parts
}

/// Applies a push, in order, in the caller's one transaction. `clock` gives
/// the moment each mutation is applied (the time that counts for SLA).
pub fn push(
    steps: &mut dyn Steps,
    caller: Caller,
    batch: &[Pushed],
    clock: &dyn Fn() -> Timestamp,
) -> StoreResult<(Vec<PushResult>, Option<i64>)> {
    let mut results: Vec<PushResult> = Vec::with_capacity(batch.len());
    let mut last_seq = None;
    let mut team = Team::default();
    // Resends are answered from their first answer without being applied
    // again: one read for the whole push.
    let ids: Vec<Uuid> = batch.iter().map(|p| p.id).collect();
    let answered = steps.mutation_outcomes(&ids)?;
    let mut here: HashMap<Uuid, usize> = HashMap::new();
    let mut claims = Vec::with_capacity(batch.len());
    for pushed in batch {
        if answered.contains_key(&pushed.id) {
            results.push(duplicate(pushed.id, answered.get(&pushed.id))?);
            continue;
        }
        if let Some(&first) = here.get(&pushed.id) {
            // The same id twice in one push: the second hears the first's answer.
            let mut again = results[first].clone();
            again.outcome = Outcome::Duplicate;
            results.push(again);
            continue;
        }
        here.insert(pushed.id, results.len());
        let now = clock();
        let attempt = in_savepoint(steps, |steps| {
            let mutation = pushed
                .mutation
                .as_ref()
                .map_err(|e| StoreError::Api(e.clone()))?;
            let stamp = Stamp {
                mutation_id: pushed.id,
                at: now,
                client_at: pushed.client_at,
            };
            Ok(apply(steps, caller, mutation, &stamp, &mut team)?.seq)
        })?;
        let result = match attempt {
            Ok(seq) => {
                last_seq = seq.or(last_seq);
                PushResult {
                    id: pushed.id,
                    outcome: Outcome::Applied,
                    seq,
                    error: None,
                }
            }
            Err(e) => PushResult {
                id: pushed.id,
                outcome: Outcome::Rejected,
                seq: None,
                error: Some(PushError::from(store_refusal(e))),
            },
        };
        claims.push(Claim::of(&result, now)?);
        results.push(result);
    }
    // Every answer claimed at once, committed with what it answers. Writers
    // take the team row first, so no other transaction can have claimed
    // one of these ids since the read above; if one did, nothing of this
    // transaction is kept and it runs again (and hears that answer).
    if steps.claim_answered(&claims)? != claims.len() {
        return Err(StoreError::Retry(
            "a mutation of this push was answered by another transaction meanwhile".into(),
        ));
    }
    if let Some(seq) = last_seq {
        steps.notify(seq)?;
    }
    Ok((results, last_seq))
}

/// Appends `sla_breached` entries due by `now` and closes resolved tickets
/// whose auto-close is due; the last sequence written, if any.
pub fn sweep(steps: &mut dyn Steps, now: Timestamp) -> StoreResult<Option<i64>> {
    let due = steps.lock_due_tickets(now, SWEEP_BATCH)?;
    if due.is_empty() {
        return Ok(None);
    }
    let settings = steps.settings()?;
    let mut seq = None;
    for ticket in due {
        let id = ticket.id;
        let written = in_savepoint(steps, |steps| {
            let mut last = None;
            let mut entries = Vec::new();
            let mut ticket = ticket.clone();
            if let Some((seen, breaches)) =
                fyncall_domain::observe_breaches(&ticket, &settings, now)
            {
                ticket = seen;
                entries.extend(breaches);
            }
            // Resolved long enough: closed, once (RULES.md "Auto-close").
            if let Some((closed, close)) = fyncall_domain::auto_close(&ticket, &settings, now) {
                ticket = closed;
                entries.extend(close);
            }
            // Written either way: not yet past due at millisecond precision,
            // the moment is recomputed.
            let seq = steps.save_ticket(&mut ticket, &settings)?;
            if !entries.is_empty() {
                last = Some(seq);
            }
            for e in &entries {
                // An entry already there is the one this would write.
                if let Some(s) = steps.insert_activity(e)? {
                    last = Some(s);
                }
            }
            Ok(last)
        })?;
        match written {
            Ok(Some(s)) => seq = Some(s),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(ticket = %id, error = %e, "the SLA sweep could not write this ticket; the others go on");
            }
        }
    }
    if let Some(seq) = seq {
        steps.notify(seq)?;
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use fyncall_domain::mutation::Comment;

    use super::*;

    fn comment(ticket: Uuid) -> Pushed {
        Pushed {
            id: Uuid::now_v7(),
            mutation: Ok(Mutation::Comment(Comment {
                id: Uuid::now_v7(),
                ticket_id: ticket,
                body: "note".into(),
                mention_ids: Vec::new(),
            })),
            client_at: None,
        }
    }

    fn sizes(parts: &[&[Pushed]]) -> Vec<usize> {
        parts.iter().map(|p| p.len()).collect()
    }

    #[test]
    fn a_push_is_cut_at_its_size_and_at_a_row_changed_too_often() {
        let spread: Vec<Pushed> = (0..12).map(|_| comment(Uuid::now_v7())).collect();
        assert_eq!(sizes(&parts(&spread, 5, 3)), [5, 5, 2]);
        assert_eq!(sizes(&parts(&spread, usize::MAX, usize::MAX)), [12]);

        // One ticket's queue: a part changes it at most three times; the
        // count starts again with each part, and order is kept.
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let queue: Vec<Pushed> = [a, a, b, a, a, b, b, a].into_iter().map(comment).collect();
        let cut = parts(&queue, 100, 3);
        assert_eq!(sizes(&cut), [4, 4]);
        let rejoined: Vec<Uuid> = cut.iter().flat_map(|p| p.iter().map(|m| m.id)).collect();
        assert_eq!(rejoined, queue.iter().map(|m| m.id).collect::<Vec<_>>());

        // A body that named no mutation changes no row; nothing is empty.
        let unreadable = Pushed {
            id: Uuid::now_v7(),
            mutation: Err(ApiError::new(ErrorCode::Invalid, "no such mutation")),
            client_at: None,
        };
        assert_eq!(sizes(&parts(&[unreadable], 1, 1)), [1]);
        assert!(parts(&[], 5, 5).is_empty());
    }
}
