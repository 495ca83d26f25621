//! The part of a team's data a mutation reads and writes.
//!
//! Callers load only what a mutation needs (see [`crate::Mutation::scope`]):
//! the ticket it names, or the conversation it names together with **all**
//! tickets linked to it, plus the team's agents and settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agent::Agent;
use crate::conversation::Conversation;
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
