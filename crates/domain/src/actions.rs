//! What an agent may do now, as data (RULES.md "Who may do what": "a ticket
//! or conversation read by the UI carries the actions the caller may take
//! now and, for each refused one, the refusal").
//!
//! The candidates are listed here once, each with the words a window shows
//! and the mutation it sends; [`evaluate`] runs each through the same
//! [`apply`] the stores run, so what a window offers is what the rules allow.

use serde::Serialize;
use uuid::Uuid;

use crate::agent::Agent;
use crate::conversation::Conversation;
use crate::mutation::{
    Assign, AssignConversation, Caller, ChangePriority, ChangeStatus, ClaimConversation, Comment,
    EditTicket, MergeTicket, Mutation, Reply, SetTags, Stamp, UnmergeTicket, apply,
};
use crate::refusal::Refusal;
use crate::state::State;
use crate::ticket::{Priority, Status, Ticket};

/// One thing the agent might do, and whether the rules allow it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Action {
    /// Stable within a page: `status:resolved`, `priority:high`,
    /// `assign:<agent id>`, `assign:none`, `edit`, `tags`, `comment`, `claim`,
    /// `merge`, `unmerge`, `assign_conversation:<agent id>`, `reply`.
    pub key: String,
    /// What a menu or the palette shows ("Resolve", "Assign to me").
    pub label: String,
    /// What to send to do it. New ids inside (a comment's, a reply's) are
    /// placeholders: the sender makes its own.
    pub mutation: Mutation,
    /// Why not, when the rules refuse it now; absent when allowed.
    pub refusal: Option<Refusal>,
}

fn status_label(from: Status, to: Status) -> String {
    match (from, to) {
        (_, Status::Resolved) => "Resolve".into(),
        (_, Status::Closed) => "Close".into(),
        (Status::Resolved, Status::InProgress) => "Reopen".into(),
        (_, s) => format!("Set status: {}", s.label()),
    }
}

/// Every change a ticket page offers, in menu order (the current status,
/// priority and assignee left out: choosing them changes nothing).
pub fn ticket_candidates(
    ticket: &Ticket,
    agents: &[Agent],
    me: Uuid,
) -> Vec<(String, String, Mutation)> {
    let id = ticket.id;
    let mut out = Vec::new();
    for s in Status::ALL {
        if s != ticket.status {
            out.push((
                format!("status:{}", s.as_str()),
                status_label(ticket.status, s),
                Mutation::ChangeStatus(ChangeStatus {
                    ticket_id: id,
                    status: s,
                    note: None,
                }),
            ));
        }
    }
    for p in Priority::ALL {
        if p != ticket.priority {
            out.push((
                format!("priority:{}", p.as_str()),
                format!("Set priority: {}", p.as_str()),
                Mutation::ChangePriority(ChangePriority {
                    ticket_id: id,
                    priority: p,
                }),
            ));
        }
    }
    if ticket.assignee_id.is_some() {
        out.push((
            "assign:none".into(),
            "Unassign".into(),
            Mutation::Assign(Assign {
                ticket_id: id,
                assignee_id: None,
            }),
        ));
    }
    for a in agents.iter().filter(|a| a.active) {
        if ticket.assignee_id != Some(a.id) {
            let label = if a.id == me {
                "Assign to me".to_owned()
            } else {
                format!("Assign to {}", a.name)
            };
            out.push((
                format!("assign:{}", a.id),
                label,
                Mutation::Assign(Assign {
                    ticket_id: id,
                    assignee_id: Some(a.id),
                }),
            ));
        }
    }
    out.push((
        "edit".into(),
        "Edit subject, description or category".into(),
        Mutation::EditTicket(EditTicket {
            ticket_id: id,
            subject: Some(ticket.subject.clone()),
            description: None,
            category: None,
            base_version: None,
        }),
    ));
    out.push((
        "tags".into(),
        "Add or remove tags".into(),
        // The tag is a placeholder: the page sends the ones typed.
        Mutation::SetTags(SetTags {
            ticket_id: id,
            add: vec!["tag".into()],
            remove: Vec::new(),
        }),
    ));
    if ticket.merged_into_id.is_some() {
        out.push((
            "unmerge".into(),
            "Unmerge".into(),
            Mutation::UnmergeTicket(UnmergeTicket { ticket_id: id }),
        ));
    } else {
        out.push((
            "merge".into(),
            "Merge into…".into(),
            // The target is a placeholder: the page's picker chooses it
            // (`evaluate` answers for the source alone).
            Mutation::MergeTicket(MergeTicket {
                ticket_id: id,
                into_ticket_id: Uuid::nil(),
            }),
        ));
    }
    out.push((
        "comment".into(),
        "Comment".into(),
        Mutation::Comment(Comment {
            id: Uuid::nil(),
            ticket_id: id,
            body: "…".into(),
            mention_ids: Vec::new(),
        }),
    ));
    out
}

/// Every change a conversation page offers.
pub fn conversation_candidates(
    conversation: &Conversation,
    agents: &[Agent],
) -> Vec<(String, String, Mutation)> {
    let id = conversation.id;
    let mut out = vec![(
        "claim".to_owned(),
        "Claim conversation".to_owned(),
        Mutation::ClaimConversation(ClaimConversation {
            conversation_id: id,
        }),
    )];
    for a in agents.iter().filter(|a| a.active) {
        if conversation.assignee_id != Some(a.id) {
            out.push((
                format!("assign_conversation:{}", a.id),
                format!("Assign conversation to {}", a.name),
                Mutation::AssignConversation(AssignConversation {
                    conversation_id: id,
                    agent_id: a.id,
                }),
            ));
        }
    }
    out.push((
        "reply".into(),
        "Reply to the customer".into(),
        Mutation::Reply(Reply {
            id: Uuid::nil(),
            conversation_id: id,
            body: "…".into(),
            attachment_ids: Vec::new(),
        }),
    ));
    out
}

/// Why `caller` may not merge `ticket` into any ticket now, if so.
fn merge_source_refusal(state: &State, caller: Caller, ticket: Uuid) -> Option<Refusal> {
    let Caller::Agent(me) = caller else {
        return Some(Refusal::forbidden("only agents merge tickets"));
    };
    let check = || -> Result<(), Refusal> {
        let ticket = state.ticket(ticket)?;
        crate::merge::check_not_merged(
            ticket,
            &Mutation::MergeTicket(MergeTicket {
                ticket_id: ticket.id,
                into_ticket_id: Uuid::nil(),
            }),
        )?;
        crate::merge::check_source(state.agent(me)?, ticket)
    };
    check().err()
}

/// Each candidate with the rules' answer for `caller` in `state` at `stamp`.
pub fn evaluate(
    state: &State,
    caller: Caller,
    candidates: Vec<(String, String, Mutation)>,
    stamp: &Stamp,
) -> Vec<Action> {
    candidates
        .into_iter()
        .map(|(key, label, mutation)| {
            let refusal = match &mutation {
                Mutation::MergeTicket(m) if m.into_ticket_id.is_nil() => {
                    merge_source_refusal(state, caller, m.ticket_id)
                }
                _ => apply(state, caller, &mutation, stamp).err(),
            };
            Action {
                key,
                label,
                mutation,
                refusal,
            }
        })
        .collect()
}
