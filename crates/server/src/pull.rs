//! A page of `GET /sync/pull`, assembled once for both stores from the rows
//! they read: a page's changes, then each kind of row in one query, so a
//! page of 500 costs a handful of queries whatever it holds.

use std::collections::HashMap;

use fyncall_domain::wire::{Entity, PullPage, Pulled, PulledChange, PulledConversation};
use fyncall_domain::{
    Activity, Agent, Conversation, Message, TeamSettings, Ticket, Timestamp, sla,
};
use serde::de::DeserializeOwned;

use crate::store::{StoreError, StoreResult};

/// Most changes in one page.
pub const MAX_PAGE: u32 = 500;

/// A table whose rows are `id` and JSON `data`.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Tickets,
    Activity,
    Conversations,
    Agents,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Tickets => "tickets",
            Table::Activity => "activity",
            Table::Conversations => "conversations",
            Table::Agents => "agents",
        }
    }
}

/// The reads a pull page needs, inside one consistent snapshot.
pub trait PullRows {
    /// `(seq, entity, entity_id)` of the changes after `cursor`, oldest first.
    fn changes_after(&mut self, cursor: i64, limit: i64)
    -> StoreResult<Vec<(i64, String, String)>>;
    /// `(id, data)` of the rows of `table` whose id is one of `ids`.
    fn data_of(&mut self, table: Table, ids: &[String]) -> StoreResult<Vec<(String, String)>>;
    /// `(conversation_id, data)` of the messages of these conversations,
    /// each conversation's oldest first.
    fn messages_of(&mut self, conversations: &[String]) -> StoreResult<Vec<(String, String)>>;
    fn settings(&mut self) -> StoreResult<TeamSettings>;
}

fn parse<T: DeserializeOwned>(data: &str) -> StoreResult<T> {
    serde_json::from_str(data).map_err(|e| StoreError::Database(format!("a stored row: {e}")))
}

fn by_id<T: DeserializeOwned>(rows: Vec<(String, String)>) -> StoreResult<HashMap<String, T>> {
    rows.into_iter()
        .map(|(id, data)| Ok((id, parse(&data)?)))
        .collect()
}

/// The changes after `cursor`, each with the current state of its entity
/// (tickets with their SLA at `now`).
pub fn page(
    rows: &mut dyn PullRows,
    cursor: i64,
    limit: u32,
    now: Timestamp,
) -> StoreResult<PullPage> {
    let limit = limit.clamp(1, MAX_PAGE) as usize;
    let mut changes = rows.changes_after(cursor, limit as i64 + 1)?;
    let has_more = changes.len() > limit;
    changes.truncate(limit);
    let ids_of = |kind: &str| -> Vec<String> {
        changes
            .iter()
            .filter(|(_, entity, _)| entity == kind)
            .map(|(_, _, id)| id.clone())
            .collect()
    };
    let (ticket_ids, activity_ids) = (ids_of("ticket"), ids_of("activity"));
    let (conversation_ids, agent_ids) = (ids_of("conversation"), ids_of("agent"));
    let none = |ids: &[String]| ids.is_empty();
    let settings = rows.settings()?;
    let mut tickets: HashMap<String, Ticket> = if none(&ticket_ids) {
        HashMap::new()
    } else {
        by_id(rows.data_of(Table::Tickets, &ticket_ids)?)?
    };
    let mut activity: HashMap<String, Activity> = if none(&activity_ids) {
        HashMap::new()
    } else {
        by_id(rows.data_of(Table::Activity, &activity_ids)?)?
    };
    let mut conversations: HashMap<String, Conversation> = if none(&conversation_ids) {
        HashMap::new()
    } else {
        by_id(rows.data_of(Table::Conversations, &conversation_ids)?)?
    };
    let mut messages: HashMap<String, Vec<Message>> = HashMap::new();
    if !none(&conversation_ids) {
        for (conversation, data) in rows.messages_of(&conversation_ids)? {
            messages
                .entry(conversation)
                .or_default()
                .push(parse(&data)?);
        }
    }
    let mut agents: HashMap<String, Agent> = if none(&agent_ids) {
        HashMap::new()
    } else {
        by_id(rows.data_of(Table::Agents, &agent_ids)?)?
    };
    let mut out = Vec::with_capacity(changes.len());
    let mut last = cursor;
    for (seq, entity, id) in changes {
        last = seq;
        let data = match Entity::from(entity.as_str()) {
            Entity::Ticket => tickets.remove(&id).map(|ticket| {
                let sla = Some(sla::evaluate(&ticket, &settings.sla, now));
                Pulled::Ticket(Box::new(fyncall_domain::wire::PulledTicket { ticket, sla }))
            }),
            Entity::Activity => activity.remove(&id).map(|a| Pulled::Activity(Box::new(a))),
            Entity::Conversation => conversations.remove(&id).map(|conversation| {
                Pulled::Conversation(Box::new(PulledConversation {
                    messages: messages.remove(&id).unwrap_or_default(),
                    conversation,
                }))
            }),
            Entity::Agent => agents.remove(&id).map(Pulled::Agent),
            Entity::Settings => Some(Pulled::Settings(Box::new(settings.clone()))),
            Entity::Message | Entity::Unknown => None,
        };
        if let Some(data) = data {
            out.push(PulledChange {
                id,
                seq: Some(seq),
                data,
            });
        }
    }
    Ok(PullPage {
        changes: out,
        cursor: last,
        has_more,
        server_time: now,
        database_id: None,
    })
}
