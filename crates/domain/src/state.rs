//! The part of a team's data a mutation reads and writes.
//!
//! Callers load only what a mutation needs (see [`crate::Mutation::scope`]):
//! the ticket it names, or the conversation it names together with **all**
//! tickets linked to it, plus the team's agents and settings. [`load`] is
//! that loading, written once for every store that applies mutations (the
//! server's stores and an agent's cache), over the few reads of [`Rows`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agent::Agent;
use crate::conversation::Conversation;
use crate::mutation::Mutation;
use crate::refusal::Refusal;
use crate::settings::TeamSettings;
use crate::ticket::Ticket;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    pub settings: TeamSettings,
    pub agents: BTreeMap<Uuid, Agent>,
    pub conversations: BTreeMap<Uuid, Conversation>,
    pub tickets: BTreeMap<Uuid, Ticket>,
}

impl State {
    pub fn agent(&self, id: Uuid) -> Result<&Agent, Refusal> {
        self.agents
            .get(&id)
            .ok_or_else(|| Refusal::not_found(format!("no agent {id} in this team")))
    }

    pub fn ticket(&self, id: Uuid) -> Result<&Ticket, Refusal> {
        self.tickets
            .get(&id)
            .ok_or_else(|| Refusal::not_found(format!("no ticket {id} in this team")))
    }

    pub fn conversation(&self, id: Uuid) -> Result<&Conversation, Refusal> {
        self.conversations
            .get(&id)
            .ok_or_else(|| Refusal::not_found(format!("no conversation {id} in this team")))
    }

    /// The ids of the tickets linked to a conversation, oldest first.
    pub fn linked_tickets(&self, conversation_id: Uuid) -> Vec<Uuid> {
        let mut linked: Vec<&Ticket> = self
            .tickets
            .values()
            .filter(|t| t.conversation_id == conversation_id)
            .collect();
        linked.sort_by_key(|t| (t.created_at, t.id));
        linked.into_iter().map(|t| t.id).collect()
    }
}

/// The reads [`load`] makes, on a store that applies mutations.
pub trait Rows {
    type Error;
    /// Whether the store's write of a new ticket refuses an id already
    /// taken; then a creation does not read its ticket first.
    const NEW_TICKET_WRITE_REFUSES_TAKEN_IDS: bool;
    /// A ticket (locked until commit where the store has row locks).
    fn ticket(&mut self, id: Uuid) -> Result<Option<Ticket>, Self::Error>;
    /// A conversation, with its tickets (oldest first) when `linked`.
    fn conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> Result<Option<(Conversation, Vec<Ticket>)>, Self::Error>;
    /// The team's settings and agents. Read after the rows, so a store
    /// that waited for a row lock sees a policy committed meanwhile.
    fn team(&mut self) -> Result<(TeamSettings, Vec<Agent>), Self::Error>;
}

/// The state around one ticket: it, its conversation with the tickets on
/// it, and the team (what a macro's steps, replies included, read).
pub fn load_around<R: Rows>(rows: &mut R, ticket: Uuid) -> Result<State, R::Error>
where
    R::Error: From<crate::Refusal>,
{
    let t = rows
        .ticket(ticket)?
        .ok_or_else(|| crate::Refusal::not_found(format!("no ticket {ticket} in this team")))?;
    let mut state = State::default();
    if let Some((c, tickets)) = rows.conversation(t.conversation_id, true)? {
        state.conversations.insert(c.id, c);
        for linked in tickets {
            state.tickets.insert(linked.id, linked);
        }
    }
    state.tickets.insert(t.id, t);
    follow_merge(rows, &mut state, ticket)?;
    let (settings, agents) = rows.team()?;
    state.settings = settings;
    for agent in agents {
        state.agents.insert(agent.id, agent);
    }
    Ok(state)
}

/// Loads the target of `ticket` when it is merged: a comment sent to it
/// lands there, an unmerge changes both (RULES.md "Merge"). One step: a
/// target is never merged itself.
fn follow_merge<R: Rows>(rows: &mut R, state: &mut State, ticket: Uuid) -> Result<(), R::Error> {
    if let Some(into) = state
        .tickets
        .get(&ticket)
        .and_then(|t| t.merged_into_id)
        .filter(|id| !state.tickets.contains_key(id))
    {
        if let Some(t) = rows.ticket(into)? {
            state.tickets.insert(t.id, t);
        }
    }
    Ok(())
}

/// Loads what `mutation` reads ([`Mutation::scope`]): its conversation
/// (with the linked tickets when the change can reach them), its ticket(s)
/// and a merged ticket's target, then the team.
pub fn load<R: Rows>(rows: &mut R, mutation: &Mutation) -> Result<State, R::Error> {
    let scope = mutation.scope();
    let mut state = State::default();
    if let Some(id) = scope.conversation {
        if let Some((c, tickets)) = rows.conversation(id, scope.linked)? {
            state.conversations.insert(c.id, c);
            for t in tickets {
                state.tickets.insert(t.id, t);
            }
        }
    }
    let skip =
        R::NEW_TICKET_WRITE_REFUSES_TAKEN_IDS && matches!(mutation, Mutation::CreateTicket(_));
    if let Some(id) = scope
        .ticket
        .filter(|id| !skip && !state.tickets.contains_key(id))
    {
        if let Some(t) = rows.ticket(id)? {
            state.tickets.insert(t.id, t);
        }
    }
    if let Some(id) = scope
        .other_ticket
        .filter(|id| !state.tickets.contains_key(id))
    {
        if let Some(t) = rows.ticket(id)? {
            state.tickets.insert(t.id, t);
        }
    }
    if let Some(id) = scope.ticket {
        follow_merge(rows, &mut state, id)?;
    }
    let (settings, agents) = rows.team()?;
    state.settings = settings;
    for agent in agents {
        state.agents.insert(agent.id, agent);
    }
    Ok(state)
}
