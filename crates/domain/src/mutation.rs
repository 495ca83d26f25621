//! Every change RULES.md allows, and the one function that applies them.
//!
//! [`apply`] takes the current [`State`], who acts, the mutation and the
//! moment it is applied (`at`, the server's clock on the server, the local
//! clock for an optimistic client prediction). It returns the new state and
//! the timeline entries it appended, or a [`Refusal`] — in which case the
//! caller's state is untouched, since `apply` only ever reads it.
//!
//! Entry ids are derived from the mutation id (UUID v5), so a client's
//! optimistic entries and the server's carry the same ids; a comment's entry
//! takes the comment's own client-made id.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::activity::{Activity, ActorRef, AssignReason, Change};
use crate::agent::Agent;
use crate::conversation::{Author, Conversation, Customer, Message};
use crate::lifecycle;
use crate::permissions;
use crate::refusal::Refusal;
use crate::sla;
use crate::state::State;
use crate::tags;
use crate::text::{check_client_id, clean_text};
use crate::ticket::{
    AiContext, FieldVersions, Priority, SlaClock, Source, Status, Ticket, clean_body,
    clean_description, clean_subject,
};
use crate::wire::{double_option, required_nullable};

/// Who asks for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Caller {
    /// A signed-in agent.
    Agent(Uuid),
    /// The chat platform / AI agent, through an integration token.
    Integration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct CreateTicket {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub subject: String,
    pub priority: Priority,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    /// Defaults to the creator.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct EditTicket {
    pub ticket_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `null` clears the description.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    /// `null` clears the category.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub category: Option<Option<String>>,
    /// The ticket version the editor saw; a field changed since then conflicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChangeStatus {
    pub ticket_id: Uuid,
    pub status: Status,
    /// Resolution note; only with `resolved`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChangePriority {
    pub ticket_id: Uuid,
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Assign {
    pub ticket_id: Uuid,
    /// `null`: nobody.
    #[serde(deserialize_with = "required_nullable")]
    pub assignee_id: Option<Uuid>,
}

/// Tags added to and removed from a ticket (RULES.md "Tags").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct SetTags {
    pub ticket_id: Uuid,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub body: String,
    /// Agents named with `@` in the comment (RULES.md "Mentions").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Uuid>>", optional))]
    pub mention_ids: Vec<Uuid>,
}

/// Merges `ticket_id` into `into_ticket_id` (RULES.md "Merge").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MergeTicket {
    pub ticket_id: Uuid,
    pub into_ticket_id: Uuid,
}

/// Undoes the merge of `ticket_id` (the source), within 7 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct UnmergeTicket {
    pub ticket_id: Uuid,
}

/// Mentions the caller has seen (opening the ticket marks them read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MarkMentionsRead {
    pub entry_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ClaimConversation {
    pub conversation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AssignConversation {
    pub conversation_id: Uuid,
    pub agent_id: Uuid,
}

/// An agent's reply on a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Reply {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub body: String,
    /// Files uploaded first (`POST /attachments`), sent with the reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Uuid>>", optional))]
    pub attachment_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct OpenConversation {
    pub id: Uuid,
    pub customer: Customer,
    pub channel: String,
    /// An email conversation's subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub subject: Option<String>,
}

/// A customer or AI message, from the integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PostMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub author: Author,
    pub body: String,
    /// Sent by a machine (an out-of-office, a list): kept on the
    /// conversation, moves no ticket (RULES.md "Loops and noise").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(as = "Option<bool>", optional))]
    pub automatic: bool,
    /// Files uploaded first (`POST /attachments`), on the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Uuid>>", optional))]
    pub attachment_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AiEscalation {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub subject: String,
    pub priority: Priority,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    pub ai_context: AiContext,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct AiEnrich {
    pub ticket_id: Uuid,
    pub ai_context: AiContext,
}

/// Every change RULES.md allows. On the wire `{"name": ..., "args": {...}}`,
/// as in API.md's sync push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "name", content = "args", rename_all = "snake_case")]
pub enum Mutation {
    CreateTicket(CreateTicket),
    EditTicket(EditTicket),
    /// Includes resolve (with an optional note), close and reopen.
    ChangeStatus(ChangeStatus),
    ChangePriority(ChangePriority),
    Assign(Assign),
    SetTags(SetTags),
    MergeTicket(MergeTicket),
    UnmergeTicket(UnmergeTicket),
    Comment(Comment),
    MarkMentionsRead(MarkMentionsRead),
    ClaimConversation(ClaimConversation),
    AssignConversation(AssignConversation),
    Reply(Reply),
    OpenConversation(OpenConversation),
    PostMessage(PostMessage),
    AiEscalation(AiEscalation),
    AiEnrich(AiEnrich),
}

/// What a caller must load into the [`State`] before applying a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scope {
    /// The ticket the mutation names.
    pub ticket: Option<Uuid>,
    /// A second ticket it names (a merge's target).
    pub other_ticket: Option<Uuid>,
    /// The conversation it names.
    pub conversation: Option<Uuid>,
    /// Whether the change can reach the conversation's linked tickets (a
    /// claim, an assignment, a reply, a customer message), so they must be
    /// loaded with it. A new ticket on a conversation needs none of them:
    /// its cost never grows with the tickets already linked there.
    pub linked: bool,
}

impl Mutation {
    pub fn name(&self) -> &'static str {
        match self {
            Mutation::CreateTicket(_) => "create_ticket",
            Mutation::EditTicket(_) => "edit_ticket",
            Mutation::ChangeStatus(_) => "change_status",
            Mutation::ChangePriority(_) => "change_priority",
            Mutation::Assign(_) => "assign",
            Mutation::SetTags(_) => "set_tags",
            Mutation::MergeTicket(_) => "merge_ticket",
            Mutation::UnmergeTicket(_) => "unmerge_ticket",
            Mutation::Comment(_) => "comment",
            Mutation::MarkMentionsRead(_) => "mark_mentions_read",
            Mutation::ClaimConversation(_) => "claim_conversation",
            Mutation::AssignConversation(_) => "assign_conversation",
            Mutation::Reply(_) => "reply",
            Mutation::OpenConversation(_) => "open_conversation",
            Mutation::PostMessage(_) => "post_message",
            Mutation::AiEscalation(_) => "ai_escalation",
            Mutation::AiEnrich(_) => "ai_enrich",
        }
    }

    pub fn scope(&self) -> Scope {
        let ticket = |id: Uuid| Scope {
            ticket: Some(id),
            ..Scope::default()
        };
        let conversation = |id: Uuid| Scope {
            conversation: Some(id),
            linked: true,
            ..Scope::default()
        };
        match self {
            Mutation::CreateTicket(m) => Scope {
                ticket: Some(m.id),
                conversation: Some(m.conversation_id),
                ..Scope::default()
            },
            Mutation::AiEscalation(m) => Scope {
                ticket: Some(m.id),
                conversation: Some(m.conversation_id),
                ..Scope::default()
            },
            Mutation::MergeTicket(m) => Scope {
                ticket: Some(m.ticket_id),
                other_ticket: Some(m.into_ticket_id),
                ..Scope::default()
            },
            // The target is the source's `merged_into_id`, which `load`
            // follows for every ticket it reads.
            Mutation::UnmergeTicket(m) => ticket(m.ticket_id),
            Mutation::EditTicket(m) => ticket(m.ticket_id),
            Mutation::ChangeStatus(m) => ticket(m.ticket_id),
            Mutation::ChangePriority(m) => ticket(m.ticket_id),
            Mutation::Assign(m) => ticket(m.ticket_id),
            Mutation::SetTags(m) => ticket(m.ticket_id),
            Mutation::Comment(m) => ticket(m.ticket_id),
            // The caller's own read marks: no ticket or conversation.
            Mutation::MarkMentionsRead(_) => Scope::default(),
            Mutation::AiEnrich(m) => ticket(m.ticket_id),
            Mutation::ClaimConversation(m) => conversation(m.conversation_id),
            Mutation::AssignConversation(m) => conversation(m.conversation_id),
            Mutation::Reply(m) => conversation(m.conversation_id),
            Mutation::PostMessage(m) => conversation(m.conversation_id),
            // A new conversation has no tickets yet.
            Mutation::OpenConversation(m) => Scope {
                linked: false,
                ..conversation(m.id)
            },
        }
    }

    /// The text a person typed into this change, kept when a change is
    /// refused so nothing typed is lost.
    pub fn typed_text(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        match self {
            Mutation::CreateTicket(m) => {
                out.push(("subject", m.subject.as_str()));
                if let Some(d) = &m.description {
                    out.push(("description", d.as_str()));
                }
            }
            Mutation::EditTicket(m) => {
                if let Some(s) = &m.subject {
                    out.push(("subject", s.as_str()));
                }
                if let Some(Some(d)) = &m.description {
                    out.push(("description", d.as_str()));
                }
            }
            Mutation::ChangeStatus(m) => {
                if let Some(n) = &m.note {
                    out.push(("note", n.as_str()));
                }
            }
            Mutation::Comment(m) => out.push(("body", m.body.as_str())),
            Mutation::Reply(m) => out.push(("body", m.body.as_str())),
            _ => {}
        }
        out
    }
}

/// The moment and identity of one application of a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The mutation's id (client-made UUID v7, or made by the server for a
    /// direct API call); entry ids derive from it.
    pub mutation_id: Uuid,
    /// When it is applied: the time that counts for SLA.
    pub at: Timestamp,
    /// When the client made it, kept beside `at` for the audit.
    pub client_at: Option<Timestamp>,
}

/// The result of an applied mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub state: State,
    /// Timeline entries appended, in order.
    pub activity: Vec<Activity>,
    /// Conversation messages added.
    pub messages: Vec<Message>,
    /// Tickets whose row changed (created included).
    pub tickets: BTreeSet<Uuid>,
    /// Conversations whose row changed (created included).
    pub conversations: BTreeSet<Uuid>,
    /// Mention entries the caller marked read (`mark_mentions_read`).
    pub read_mentions: Vec<Uuid>,
}

impl Applied {
    /// Whether the mutation changed nothing (e.g. assigning to the current assignee).
    pub fn is_noop(&self) -> bool {
        self.activity.is_empty()
            && self.messages.is_empty()
            && self.tickets.is_empty()
            && self.conversations.is_empty()
            && self.read_mentions.is_empty()
    }
}

/// Applies `mutation` by `caller` at `stamp.at` to `state`.
pub fn apply(
    state: &State,
    caller: Caller,
    mutation: &Mutation,
    stamp: &Stamp,
) -> Result<Applied, Refusal> {
    if let Some((field, id)) = mutation.client_made_id() {
        check_client_id(field, id)?;
    }
    let mut tx = Tx {
        applied: Applied {
            state: state.clone(),
            activity: Vec::new(),
            messages: Vec::new(),
            tickets: BTreeSet::new(),
            conversations: BTreeSet::new(),
            read_mentions: Vec::new(),
        },
        stamp: *stamp,
        entries: 0,
    };
    match (caller, mutation) {
        (Caller::Agent(_), m) if m.is_integration_only() => Err(Refusal::forbidden(format!(
            "{} is done by the chat integration (integration token), not by an agent",
            m.name()
        ))),
        (Caller::Integration, m) if !m.is_integration_only() => Err(Refusal::forbidden(format!(
            "integration tokens cannot {}: sign in as an agent",
            m.name()
        ))),
        (Caller::Agent(id), m) => {
            let actor = tx.applied.state.agent(id).map_err(|_| {
                Refusal::forbidden("your account is not part of this team: sign in again")
            })?;
            let actor = actor.clone();
            permissions::check_active(&actor)?;
            if let Some(ticket) = m.scope().ticket.and_then(|id| state.tickets.get(&id)) {
                crate::merge::check_not_merged(ticket, m)?;
            }
            tx.agent_mutation(&actor, m)?;
            Ok(tx.applied)
        }
        (Caller::Integration, m) => {
            tx.integration_mutation(m)?;
            Ok(tx.applied)
        }
    }
}

/// Appends the `sla_breached` entries of timers first seen breached at
/// `now`, for a server sweep or a read. `None` when there is nothing new.
pub fn observe_breaches(
    ticket: &Ticket,
    settings: &crate::TeamSettings,
    now: Timestamp,
) -> Option<(Ticket, Vec<Activity>)> {
    let mut ticket = ticket.clone();
    let breaches = sla::take_new_breaches(&mut ticket, &settings.sla, now);
    if breaches.is_empty() {
        return None;
    }
    ticket.version += 1;
    let entries = breaches
        .into_iter()
        .map(|(timer, due_at)| breach_entry(&ticket, timer, due_at, now))
        .collect();
    Some((ticket, entries))
}

/// When a resolved ticket closes on its own under `settings` (RULES.md
/// "Auto-close"): `auto_close_after_days` after it was resolved, in the
/// calendar's business days when the team has one. `None` when it is not
/// resolved or the team never closes on its own.
pub fn auto_close_at(ticket: &Ticket, settings: &crate::TeamSettings) -> Option<Timestamp> {
    let days = settings.auto_close_after_days;
    if ticket.status != Status::Resolved || days == 0 {
        return None;
    }
    let resolved = ticket.resolved_at?;
    match business_calendar(settings) {
        Some(calendar) => calendar.add_business_days(resolved, days),
        None => Some(resolved + chrono::TimeDelta::days(i64::from(days))),
    }
}

/// The calendar whose days auto-close counts, when the team has one with open hours.
fn business_calendar(settings: &crate::TeamSettings) -> Option<&crate::calendar::Calendar> {
    settings
        .sla
        .calendar
        .as_ref()
        .filter(|c| c.has_open_hours())
}

/// Closes `ticket` when it has been resolved long enough at `now` (for the
/// server's sweep): the ticket as closed and its `auto_closed` entry, or
/// `None` when it is not due. The entry's id names the ticket and the
/// moment it was resolved, so the close is written once.
pub fn auto_close(
    ticket: &Ticket,
    settings: &crate::TeamSettings,
    now: Timestamp,
) -> Option<(Ticket, Vec<Activity>)> {
    let due = auto_close_at(ticket, settings)?;
    if due > now {
        return None;
    }
    let resolved = ticket.resolved_at?;
    let mut state = State {
        settings: settings.clone(),
        ..State::default()
    };
    state.tickets.insert(ticket.id, ticket.clone());
    let mut tx = Tx {
        applied: Applied {
            state,
            activity: Vec::new(),
            messages: Vec::new(),
            tickets: BTreeSet::new(),
            conversations: BTreeSet::new(),
            read_mentions: Vec::new(),
        },
        stamp: Stamp {
            mutation_id: Uuid::new_v5(
                &ticket.id,
                format!("auto_closed/{}", resolved.timestamp_millis()).as_bytes(),
            ),
            at: now,
            client_at: None,
        },
        entries: 0,
    };
    let change = Change::AutoClosed {
        days: settings.auto_close_after_days,
        business_days: business_calendar(settings).is_some(),
    };
    tx.move_status_as(ticket.id, Status::Closed, ActorRef::SYSTEM, Some(change))
        .ok()?;
    let closed = tx.applied.state.tickets.remove(&ticket.id)?;
    Some((closed, tx.applied.activity))
}

fn breach_entry(
    ticket: &Ticket,
    timer: sla::TimerKind,
    due_at: Timestamp,
    now: Timestamp,
) -> Activity {
    Activity {
        // One breach entry per timer per ticket, ever: its id names both.
        id: Uuid::new_v5(
            &ticket.id,
            format!("sla_breached/{}", timer.as_str()).as_bytes(),
        ),
        ticket_id: ticket.id,
        at: now,
        client_at: None,
        actor: ActorRef::SYSTEM,
        change: Change::SlaBreached { timer, due_at },
    }
}

impl Mutation {
    /// The id of what this mutation creates, chosen by whoever sends it
    /// (RULES.md "Text and ids").
    pub fn client_made_id(&self) -> Option<(&'static str, Uuid)> {
        match self {
            Mutation::CreateTicket(m) => Some(("id", m.id)),
            Mutation::Comment(m) => Some(("id", m.id)),
            Mutation::Reply(m) => Some(("id", m.id)),
            Mutation::OpenConversation(m) => Some(("id", m.id)),
            Mutation::PostMessage(m) => Some(("id", m.id)),
            Mutation::AiEscalation(m) => Some(("id", m.id)),
            Mutation::EditTicket(_)
            | Mutation::ChangeStatus(_)
            | Mutation::ChangePriority(_)
            | Mutation::Assign(_)
            | Mutation::SetTags(_)
            | Mutation::MergeTicket(_)
            | Mutation::UnmergeTicket(_)
            | Mutation::MarkMentionsRead(_)
            | Mutation::ClaimConversation(_)
            | Mutation::AssignConversation(_)
            | Mutation::AiEnrich(_) => None,
        }
    }

    fn is_integration_only(&self) -> bool {
        matches!(
            self,
            Mutation::OpenConversation(_)
                | Mutation::PostMessage(_)
                | Mutation::AiEscalation(_)
                | Mutation::AiEnrich(_)
        )
    }
}

struct Tx {
    applied: Applied,
    stamp: Stamp,
    entries: u32,
}

impl Tx {
    fn at(&self) -> Timestamp {
        self.stamp.at
    }

    fn ticket_mut(&mut self, id: Uuid) -> Result<&mut Ticket, Refusal> {
        self.applied
            .state
            .tickets
            .get_mut(&id)
            .ok_or_else(|| Refusal::not_found(format!("no ticket {id} in this team")))
    }

    fn entry(&mut self, ticket_id: Uuid, actor: ActorRef, change: Change) {
        let id = Uuid::new_v5(
            &self.stamp.mutation_id,
            format!("entry/{}", self.entries).as_bytes(),
        );
        self.entry_with_id(id, ticket_id, actor, change);
    }

    fn entry_with_id(&mut self, id: Uuid, ticket_id: Uuid, actor: ActorRef, change: Change) {
        self.entries += 1;
        self.applied.activity.push(Activity {
            id,
            ticket_id,
            at: self.stamp.at,
            client_at: self.stamp.client_at,
            actor,
            change,
        });
    }

    /// Marks a ticket changed by this mutation: new version, updated now.
    fn touch(&mut self, ticket_id: Uuid) -> Result<i64, Refusal> {
        let at = self.at();
        let ticket = self.ticket_mut(ticket_id)?;
        ticket.version += 1;
        ticket.updated_at = at;
        let version = ticket.version;
        self.applied.tickets.insert(ticket_id);
        Ok(version)
    }

    /// Records breaches seen at this moment, before the change is applied,
    /// so the timeline reads in the order things happened.
    fn observe(&mut self, ticket_id: Uuid) {
        let at = self.at();
        let policy = self.applied.state.settings.sla.clone();
        let Some(ticket) = self.applied.state.tickets.get_mut(&ticket_id) else {
            return;
        };
        let breaches = sla::take_new_breaches(ticket, &policy, at);
        if breaches.is_empty() {
            return;
        }
        ticket.version += 1;
        let ticket = ticket.clone();
        self.applied.tickets.insert(ticket_id);
        for (timer, due_at) in breaches {
            self.entries += 1;
            self.applied
                .activity
                .push(breach_entry(&ticket, timer, due_at, at));
        }
    }

    fn agent_mutation(&mut self, actor: &Agent, mutation: &Mutation) -> Result<(), Refusal> {
        match mutation {
            Mutation::CreateTicket(m) => self.create_ticket(actor, m),
            Mutation::EditTicket(m) => self.edit_ticket(actor, m),
            Mutation::ChangeStatus(m) => self.change_status(actor, m),
            Mutation::ChangePriority(m) => self.change_priority(actor, m),
            Mutation::Assign(m) => self.assign(actor, m),
            Mutation::SetTags(m) => self.set_tags(actor, m),
            Mutation::MergeTicket(m) => self.merge(actor, m),
            Mutation::UnmergeTicket(m) => self.unmerge(actor, m),
            Mutation::Comment(m) => self.comment(actor, m),
            Mutation::MarkMentionsRead(m) => {
                // Read marks are the caller's own: nothing in the team's
                // state changes; the store keeps them (`Applied::read_mentions`).
                if m.entry_ids.len() > 500 {
                    return Err(Refusal::invalid(
                        "entry_ids",
                        "mark at most 500 mentions read at once",
                    ));
                }
                self.applied.read_mentions = m.entry_ids.clone();
                Ok(())
            }
            Mutation::ClaimConversation(m) => {
                permissions::check_claim(actor)?;
                self.give_conversation(
                    m.conversation_id,
                    actor.id,
                    AssignReason::ConversationClaimed,
                    ActorRef::agent(actor.id),
                )
            }
            Mutation::AssignConversation(m) => {
                permissions::check_assign_conversation(actor)?;
                let to = self.applied.state.agent(m.agent_id).map_err(|_| {
                    Refusal::invalid("agent_id", format!("no agent {} in this team", m.agent_id))
                })?;
                permissions::check_assign(actor, Some(to))?;
                self.give_conversation(
                    m.conversation_id,
                    m.agent_id,
                    AssignReason::ConversationAssigned,
                    ActorRef::agent(actor.id),
                )
            }
            Mutation::Reply(m) => self.reply(actor, m),
            Mutation::OpenConversation(_)
            | Mutation::PostMessage(_)
            | Mutation::AiEscalation(_)
            | Mutation::AiEnrich(_) => Err(Refusal::forbidden(
                "this change is made only through the chat integration",
            )),
        }
    }

    fn integration_mutation(&mut self, mutation: &Mutation) -> Result<(), Refusal> {
        match mutation {
            Mutation::OpenConversation(m) => self.open_conversation(m),
            Mutation::PostMessage(m) => self.post_message(m),
            Mutation::AiEscalation(m) => self.escalate(m),
            Mutation::AiEnrich(m) => self.enrich(m),
            _ => Err(Refusal::forbidden(
                "integration tokens can only open conversations, post messages and escalate or enrich tickets",
            )),
        }
    }

    fn check_new_ticket_id(&self, id: Uuid) -> Result<(), Refusal> {
        if self.applied.state.tickets.contains_key(&id) {
            Err(Refusal::ticket_exists(id))
        } else {
            Ok(())
        }
    }

    fn check_category(&self, category: Option<&str>) -> Result<(), Refusal> {
        match category {
            Some(c) => self.applied.state.settings.check_category(c),
            None => Ok(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_ticket(
        &mut self,
        id: Uuid,
        conversation_id: Uuid,
        subject: String,
        description: Option<String>,
        priority: Priority,
        category: Option<String>,
        assignee_id: Option<Uuid>,
        source: Source,
        created_by: Option<Uuid>,
        ai_context: Option<AiContext>,
        actor: ActorRef,
    ) {
        let at = self.at();
        let ticket = Ticket {
            id,
            number: None,
            conversation_id,
            subject,
            description,
            priority,
            status: Status::Open,
            category,
            assignee_id,
            source,
            created_by,
            created_at: at,
            updated_at: at,
            first_response_at: None,
            resolved_at: None,
            closed_at: None,
            ai_context,
            version: 1,
            field_versions: FieldVersions {
                subject: 1,
                description: 1,
                category: 1,
            },
            sla_clock: SlaClock::default(),
            tags: Vec::new(),
            merged_into_id: None,
            merge: None,
            merged_ids: Vec::new(),
        };
        self.applied.state.tickets.insert(id, ticket);
        self.applied.tickets.insert(id);
        self.entry(
            id,
            actor,
            Change::Created {
                source,
                priority,
                status: Status::Open,
                assignee_id,
            },
        );
    }

    fn create_ticket(&mut self, actor: &Agent, m: &CreateTicket) -> Result<(), Refusal> {
        self.applied.state.conversation(m.conversation_id)?;
        self.check_new_ticket_id(m.id)?;
        let subject = clean_subject(&m.subject)?;
        let description = clean_description(m.description.as_deref())?;
        self.check_category(m.category.as_deref())?;
        let assignee_id = m.assignee_id.unwrap_or(actor.id);
        let assignee = self.applied.state.agent(assignee_id).map_err(|_| {
            Refusal::invalid(
                "assignee_id",
                format!("no agent {assignee_id} in this team"),
            )
        })?;
        permissions::check_create(actor, Some(assignee))?;
        self.new_ticket(
            m.id,
            m.conversation_id,
            subject,
            description,
            m.priority,
            m.category.clone(),
            Some(assignee_id),
            Source::Manual,
            Some(actor.id),
            None,
            ActorRef::agent(actor.id),
        );
        Ok(())
    }

    fn set_tags(&mut self, actor: &Agent, m: &SetTags) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        permissions::check_manage(actor, &ticket, "tag")?;
        lifecycle::check_not_closed(ticket.status)?;
        let add = tags::clean_tags(&m.add)?;
        let remove = tags::clean_tags(&m.remove)?;
        if add.is_empty() && remove.is_empty() {
            return Err(Refusal::invalid(
                "tags",
                "name at least one tag to add or remove",
            ));
        }
        let tags::TagChange {
            tags: now,
            added,
            removed,
        } = tags::change(&ticket.tags, &add, &remove)?;
        if added.is_empty() && removed.is_empty() {
            return Ok(());
        }
        self.observe(m.ticket_id);
        self.touch(m.ticket_id)?;
        self.ticket_mut(m.ticket_id)?.tags = now;
        self.entry(
            m.ticket_id,
            ActorRef::agent(actor.id),
            Change::TagsChanged { added, removed },
        );
        Ok(())
    }

    fn edit_ticket(&mut self, actor: &Agent, m: &EditTicket) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        permissions::check_manage(actor, &ticket, "edit")?;
        lifecycle::check_not_closed(ticket.status)?;
        let subject = m.subject.as_deref().map(clean_subject).transpose()?;
        let description = match &m.description {
            Some(d) => Some(clean_description(d.as_deref())?),
            None => None,
        };
        if let Some(Some(c)) = &m.category {
            self.check_category(Some(c))?;
        }
        if subject.is_none() && description.is_none() && m.category.is_none() {
            return Err(Refusal::invalid(
                "subject",
                "name at least one of subject, description or category to edit",
            ));
        }
        // Only fields whose value actually changes take part.
        let mut changed: Vec<&'static str> = Vec::new();
        if subject.as_ref().is_some_and(|s| *s != ticket.subject) {
            changed.push("subject");
        }
        if description
            .as_ref()
            .is_some_and(|d| *d != ticket.description)
        {
            changed.push("description");
        }
        if m.category.as_ref().is_some_and(|c| *c != ticket.category) {
            changed.push("category");
        }
        if let Some(base) = m.base_version {
            let field_version = |f: &str| match f {
                "subject" => ticket.field_versions.subject,
                "description" => ticket.field_versions.description,
                _ => ticket.field_versions.category,
            };
            let stale: Vec<&str> = changed
                .iter()
                .copied()
                .filter(|f| field_version(f) > base)
                .collect();
            if !stale.is_empty() {
                let current = stale
                    .iter()
                    .map(|f| {
                        let value = match *f {
                            "subject" => Some(ticket.subject.clone()),
                            "description" => ticket.description.clone(),
                            _ => ticket.category.clone(),
                        };
                        ((*f).to_owned(), value)
                    })
                    .collect();
                return Err(Refusal::conflict(
                    format!(
                        "someone else changed the {} of this ticket since you opened it: compare with the current text and edit again",
                        stale.join(" and ")
                    ),
                    current,
                ));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.observe(m.ticket_id);
        let version = self.touch(m.ticket_id)?;
        let t = self.ticket_mut(m.ticket_id)?;
        if let Some(s) = subject.filter(|_| changed.contains(&"subject")) {
            t.subject = s;
            t.field_versions.subject = version;
        }
        if let Some(d) = description.filter(|_| changed.contains(&"description")) {
            t.description = d;
            t.field_versions.description = version;
        }
        if let Some(c) = m.category.clone().filter(|_| changed.contains(&"category")) {
            t.category = c;
            t.field_versions.category = version;
        }
        let fields = changed.iter().map(|f| (*f).to_owned()).collect();
        self.entry(
            m.ticket_id,
            ActorRef::agent(actor.id),
            Change::Edited { fields },
        );
        Ok(())
    }

    fn change_status(&mut self, actor: &Agent, m: &ChangeStatus) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        let verb = match (ticket.status, m.status) {
            (_, Status::Resolved) => "resolve",
            (_, Status::Closed) => "close",
            (Status::Resolved, Status::InProgress) => "reopen",
            _ => "change the status of",
        };
        permissions::check_manage(actor, &ticket, verb)?;
        lifecycle::check_move(ticket.status, m.status)?;
        let note = match &m.note {
            Some(_) if m.status != Status::Resolved => {
                return Err(Refusal::invalid(
                    "note",
                    "a note goes only with resolving; add a comment instead",
                ));
            }
            Some(n) if n.trim().is_empty() => None,
            Some(n) => Some(clean_body("note", n)?),
            None => None,
        };
        self.move_status(m.ticket_id, m.status, ActorRef::agent(actor.id))?;
        if let Some(body) = note {
            self.entry(
                m.ticket_id,
                ActorRef::agent(actor.id),
                Change::ResolutionNote { body },
            );
        }
        Ok(())
    }

    /// A lifecycle move already checked: status, timestamps, SLA clock, entry.
    fn move_status(&mut self, ticket_id: Uuid, to: Status, actor: ActorRef) -> Result<(), Refusal> {
        self.move_status_as(ticket_id, to, actor, None)
    }

    /// [`Tx::move_status`] with the entry `change` says it in place of
    /// `status_changed` (an auto-close names why it closed).
    fn move_status_as(
        &mut self,
        ticket_id: Uuid,
        to: Status,
        actor: ActorRef,
        change: Option<Change>,
    ) -> Result<(), Refusal> {
        self.observe(ticket_id);
        self.touch(ticket_id)?;
        let at = self.at();
        let policy = self.applied.state.settings.sla.clone();
        let t = self.ticket_mut(ticket_id)?;
        let from = t.status;
        sla::on_status_change(t, &policy, from, to, at);
        t.status = to;
        match to {
            Status::Resolved => {
                t.resolved_at = Some(at);
                sla::stop_first_response(t, &policy, at);
            }
            Status::Closed => t.closed_at = Some(at),
            Status::InProgress if from == Status::Resolved => t.resolved_at = None,
            _ => {}
        }
        let change = change.unwrap_or(Change::StatusChanged { from, to });
        self.entry(ticket_id, actor, change);
        Ok(())
    }

    fn change_priority(&mut self, actor: &Agent, m: &ChangePriority) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        permissions::check_manage(actor, &ticket, "change the priority of")?;
        lifecycle::check_not_closed(ticket.status)?;
        if ticket.priority == m.priority {
            return Ok(());
        }
        self.observe(m.ticket_id);
        self.touch(m.ticket_id)?;
        self.ticket_mut(m.ticket_id)?.priority = m.priority;
        self.entry(
            m.ticket_id,
            ActorRef::agent(actor.id),
            Change::PriorityChanged {
                from: ticket.priority,
                to: m.priority,
            },
        );
        // A tighter target may be breached at once.
        self.observe(m.ticket_id);
        Ok(())
    }

    fn assign(&mut self, actor: &Agent, m: &Assign) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        let to = match m.assignee_id {
            Some(id) => Some(
                self.applied
                    .state
                    .agent(id)
                    .map_err(|_| {
                        Refusal::invalid("assignee_id", format!("no agent {id} in this team"))
                    })?
                    .clone(),
            ),
            None => None,
        };
        permissions::check_assign(actor, to.as_ref())?;
        lifecycle::check_not_closed(ticket.status)?;
        if ticket.assignee_id == m.assignee_id {
            return Ok(());
        }
        self.set_assignee(
            m.ticket_id,
            m.assignee_id,
            AssignReason::Manual,
            ActorRef::agent(actor.id),
        )
    }

    fn set_assignee(
        &mut self,
        ticket_id: Uuid,
        to: Option<Uuid>,
        reason: AssignReason,
        actor: ActorRef,
    ) -> Result<(), Refusal> {
        self.observe(ticket_id);
        self.touch(ticket_id)?;
        let t = self.ticket_mut(ticket_id)?;
        let from = t.assignee_id;
        t.assignee_id = to;
        self.entry(ticket_id, actor, Change::Assigned { from, to, reason });
        Ok(())
    }

    fn comment(&mut self, actor: &Agent, m: &Comment) -> Result<(), Refusal> {
        let sent_to = self.applied.state.ticket(m.ticket_id)?.clone();
        // A comment sent to a merged ticket lands on its target, marked as
        // from it (RULES.md "Merge").
        let (ticket, merged_from) = match sent_to.merged_into_id {
            Some(into) => (self.applied.state.ticket(into)?.clone(), Some(sent_to.id)),
            None => (sent_to, None),
        };
        permissions::check_comment(actor)?;
        lifecycle::check_not_closed(ticket.status)?;
        let body = clean_body("comment", &m.body)?;
        let mut mention_ids = m.mention_ids.clone();
        mention_ids.sort();
        mention_ids.dedup();
        if mention_ids.len() > 20 {
            return Err(Refusal::invalid(
                "mention_ids",
                "mention at most 20 agents in one comment",
            ));
        }
        for id in &mention_ids {
            match self.applied.state.agents.get(id) {
                Some(a) if a.active => {}
                Some(a) => {
                    return Err(Refusal::invalid(
                        "mention_ids",
                        format!("{} is deactivated and cannot be mentioned", a.name),
                    ));
                }
                None => {
                    return Err(Refusal::invalid(
                        "mention_ids",
                        format!("no agent {id} in this team to mention"),
                    ));
                }
            }
        }
        self.observe(ticket.id);
        self.touch(ticket.id)?;
        self.record_first_response(ticket.id)?;
        self.entry_with_id(
            m.id,
            ticket.id,
            ActorRef::agent(actor.id),
            Change::Comment {
                body,
                mention_ids,
                merged_from,
            },
        );
        Ok(())
    }

    fn merge(&mut self, actor: &Agent, m: &MergeTicket) -> Result<(), Refusal> {
        let source = self.applied.state.ticket(m.ticket_id)?.clone();
        let target = self
            .applied
            .state
            .ticket(m.into_ticket_id)
            .map_err(|_| {
                Refusal::invalid(
                    "into_ticket_id",
                    format!("no ticket {} in this team to merge into", m.into_ticket_id),
                )
            })?
            .clone();
        crate::merge::check_pair(actor, &source, &target)?;
        let at = self.at();
        // Breaches seen now are the source's before the merge: kept with it.
        self.observe(source.id);
        let source = self.applied.state.ticket(m.ticket_id)?.clone();
        let record = crate::merge::MergeRecord {
            at,
            into_number: target.number,
            status: source.status,
            resolved_at: source.resolved_at,
            sla_clock: source.sla_clock.clone(),
        };
        let change = Change::MergedInto {
            into_id: target.id,
            into_number: target.number,
        };
        // Closed as any close is (the timers stop and keep their outcome
        // at this moment), with the merge's own entry.
        self.move_status_as(
            source.id,
            Status::Closed,
            ActorRef::agent(actor.id),
            Some(change),
        )?;
        let policy = self.applied.state.settings.sla.clone();
        let a = self.ticket_mut(source.id)?;
        // Done as a resolve and close are: both timers stop here, so its
        // outcome is what it was at the merge (RULES.md "Merge").
        if a.resolved_at.is_none() {
            a.resolved_at = Some(at);
        }
        sla::stop_first_response(a, &policy, at);
        a.merged_into_id = Some(target.id);
        a.merge = Some(record);
        self.observe(target.id);
        self.touch(target.id)?;
        self.ticket_mut(target.id)?.merged_ids.push(source.id);
        self.entry(
            target.id,
            ActorRef::agent(actor.id),
            Change::MergedHere {
                from_id: source.id,
                from_number: source.number,
            },
        );
        Ok(())
    }

    fn unmerge(&mut self, actor: &Agent, m: &UnmergeTicket) -> Result<(), Refusal> {
        let source = self.applied.state.ticket(m.ticket_id)?.clone();
        let (Some(into), Some(record)) = (source.merged_into_id, source.merge.clone()) else {
            return Err(Refusal::invalid_transition(
                "this ticket is not merged into another: there is nothing to unmerge",
            ));
        };
        let target = self.applied.state.ticket(into)?.clone();
        permissions::check_manage(actor, &source, "unmerge")?;
        permissions::check_manage(actor, &target, "unmerge from")?;
        crate::merge::check_unmerge_window(&record, self.at())?;
        if target.status == Status::Closed {
            return Err(Refusal::invalid_transition(format!(
                "{} is closed and archived since the merge: the merge stays; create a new ticket for further work",
                crate::merge::number_words(target.number)
            )));
        }
        self.touch(source.id)?;
        let a = self.ticket_mut(source.id)?;
        a.status = record.status;
        a.resolved_at = record.resolved_at;
        a.closed_at = None;
        // Back as it was, but a breach recorded stays recorded (one entry
        // per timer, ever).
        let recorded = (
            a.sla_clock.first_response_breach_recorded,
            a.sla_clock.resolution_breach_recorded,
        );
        a.sla_clock = record.sla_clock;
        a.sla_clock.first_response_breach_recorded |= recorded.0;
        a.sla_clock.resolution_breach_recorded |= recorded.1;
        a.merged_into_id = None;
        a.merge = None;
        self.entry(
            source.id,
            ActorRef::agent(actor.id),
            Change::Unmerged {
                into_id: target.id,
                into_number: target.number,
            },
        );
        // Back as it was: a deadline that passed while merged is a breach now.
        self.observe(source.id);
        self.observe(target.id);
        self.touch(target.id)?;
        self.ticket_mut(target.id)?
            .merged_ids
            .retain(|id| *id != source.id);
        self.entry(
            target.id,
            ActorRef::agent(actor.id),
            Change::UnmergedHere {
                from_id: source.id,
                from_number: source.number,
            },
        );
        Ok(())
    }

    /// An agent responded at this moment.
    fn record_first_response(&mut self, ticket_id: Uuid) -> Result<(), Refusal> {
        let at = self.at();
        let policy = self.applied.state.settings.sla.clone();
        let t = self.ticket_mut(ticket_id)?;
        if t.first_response_at.is_none() {
            t.first_response_at = Some(at);
        }
        sla::stop_first_response(t, &policy, at);
        Ok(())
    }

    /// Claim (to = the actor) or admin assignment of a conversation: it and
    /// its linked tickets that are not resolved or closed go to `to`.
    fn give_conversation(
        &mut self,
        conversation_id: Uuid,
        to: Uuid,
        reason: AssignReason,
        actor: ActorRef,
    ) -> Result<(), Refusal> {
        let conversation = self.applied.state.conversation(conversation_id)?.clone();
        if conversation.assignee_id != Some(to) {
            if let Some(c) = self.applied.state.conversations.get_mut(&conversation_id) {
                c.assignee_id = Some(to);
            }
            self.applied.conversations.insert(conversation_id);
        }
        for ticket_id in self.applied.state.linked_tickets(conversation_id) {
            let ticket = self.applied.state.ticket(ticket_id)?;
            if ticket.status.is_done() || ticket.assignee_id == Some(to) {
                continue;
            }
            self.set_assignee(ticket_id, Some(to), reason, actor)?;
        }
        Ok(())
    }

    fn reply(&mut self, actor: &Agent, m: &Reply) -> Result<(), Refusal> {
        self.applied.state.conversation(m.conversation_id)?;
        permissions::check_claim(actor)?;
        let body = clean_body("reply", &m.body)?;
        self.applied.messages.push(Message {
            id: m.id,
            conversation_id: m.conversation_id,
            author: Author::Agent,
            agent_id: Some(actor.id),
            body,
            sent_at: self.at(),
            // Goes out through the conversation's channel (the server's outbox).
            delivery: Some(crate::Delivery::queued()),
            automatic: false,
            attachments: Vec::new(),
        });
        let at = self.at();
        for ticket_id in self.applied.state.linked_tickets(m.conversation_id) {
            let ticket = self.applied.state.ticket(ticket_id)?;
            let responds = ticket.created_at <= at
                && ticket.first_response_at.is_none()
                && ticket.status != Status::Closed;
            if responds {
                self.observe(ticket_id);
                self.touch(ticket_id)?;
                self.record_first_response(ticket_id)?;
            }
        }
        Ok(())
    }

    fn open_conversation(&mut self, m: &OpenConversation) -> Result<(), Refusal> {
        if self.applied.state.conversations.contains_key(&m.id) {
            return Err(Refusal::conflict(
                format!("a conversation with id {} already exists", m.id),
                Default::default(),
            ));
        }
        let customer = Customer {
            name: clean_text("customer.name", &m.customer.name)?,
            email: clean_text("customer.email", &m.customer.email)?,
        };
        let channel = clean_text("channel", &m.channel)?;
        if customer.name.trim().is_empty() {
            return Err(Refusal::invalid(
                "customer.name",
                "the customer's name cannot be empty",
            ));
        }
        if !customer.email.contains('@') {
            return Err(Refusal::invalid(
                "customer.email",
                "the customer's email must be an address like name@example.com",
            ));
        }
        if channel.trim().is_empty() {
            return Err(Refusal::invalid(
                "channel",
                "name the channel (for example chat or email)",
            ));
        }
        let conversation = Conversation {
            id: m.id,
            customer,
            channel: channel.trim().to_owned(),
            assignee_id: None,
            created_at: self.at(),
            subject: m
                .subject
                .as_deref()
                .map(|s| clean_text("subject", s))
                .transpose()?
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
        };
        self.applied.state.conversations.insert(m.id, conversation);
        self.applied.conversations.insert(m.id);
        Ok(())
    }

    fn post_message(&mut self, m: &PostMessage) -> Result<(), Refusal> {
        self.applied.state.conversation(m.conversation_id)?;
        if m.author == Author::Agent {
            return Err(Refusal::invalid(
                "author",
                "the integration posts customer or ai messages; agents reply themselves",
            ));
        }
        let body = clean_body("message", &m.body)?;
        self.applied.messages.push(Message {
            id: m.id,
            conversation_id: m.conversation_id,
            author: m.author,
            agent_id: None,
            body,
            sent_at: self.at(),
            delivery: None,
            automatic: m.automatic,
            attachments: Vec::new(),
        });
        if m.author == Author::Customer && !m.automatic {
            for ticket_id in self.applied.state.linked_tickets(m.conversation_id) {
                let status = self.applied.state.ticket(ticket_id)?.status;
                // Waiting tickets move on; a resolved one reopens while the
                // team closes resolved tickets on their own (it would
                // otherwise close on the customer).
                let reopens = status == Status::Resolved
                    && self.applied.state.settings.auto_close_after_days > 0;
                if status == Status::WaitingOnCustomer || reopens {
                    self.move_status(ticket_id, Status::InProgress, ActorRef::CUSTOMER)?;
                }
            }
        }
        Ok(())
    }

    fn escalate(&mut self, m: &AiEscalation) -> Result<(), Refusal> {
        let conversation = self.applied.state.conversation(m.conversation_id)?.clone();
        self.check_new_ticket_id(m.id)?;
        let subject = clean_subject(&m.subject)?;
        let description = clean_description(m.description.as_deref())?;
        self.check_category(m.category.as_deref())?;
        m.ai_context.validate()?;
        // Unassigned unless the conversation has an (active) assignee.
        let assignee_id = conversation
            .assignee_id
            .filter(|id| self.applied.state.agents.get(id).is_some_and(|a| a.active));
        self.new_ticket(
            m.id,
            m.conversation_id,
            subject,
            description,
            m.priority,
            m.category.clone(),
            assignee_id,
            Source::Ai,
            None,
            Some(m.ai_context.clone()),
            ActorRef::AI,
        );
        Ok(())
    }

    fn enrich(&mut self, m: &AiEnrich) -> Result<(), Refusal> {
        let ticket = self.applied.state.ticket(m.ticket_id)?.clone();
        lifecycle::check_not_closed(ticket.status)?;
        m.ai_context.validate()?;
        self.observe(m.ticket_id);
        self.touch(m.ticket_id)?;
        self.ticket_mut(m.ticket_id)?.ai_context = Some(m.ai_context.clone());
        self.entry(m.ticket_id, ActorRef::AI, Change::AiContextAdded {});
        Ok(())
    }
}
