//! The activity timeline (RULES.md "Entities", Activity). Every change to a
//! ticket appends entries; nothing edits or deletes one.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::sla::TimerKind;
use crate::ticket::{Priority, Source, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Agent,
    Ai,
    Customer,
    System,
}

/// Who made a change, as the timeline shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorRef {
    pub kind: ActorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Uuid>,
}

impl ActorRef {
    pub fn agent(id: Uuid) -> Self {
        ActorRef {
            kind: ActorKind::Agent,
            agent_id: Some(id),
        }
    }
    pub const AI: ActorRef = ActorRef {
        kind: ActorKind::Ai,
        agent_id: None,
    };
    pub const CUSTOMER: ActorRef = ActorRef {
        kind: ActorKind::Customer,
        agent_id: None,
    };
    pub const SYSTEM: ActorRef = ActorRef {
        kind: ActorKind::System,
        agent_id: None,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignReason {
    Manual,
    ConversationClaimed,
    ConversationAssigned,
}

/// What an entry records: its `kind` and `data` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Change {
    Created {
        source: Source,
        priority: Priority,
        status: Status,
        assignee_id: Option<Uuid>,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    Assigned {
        from: Option<Uuid>,
        to: Option<Uuid>,
        reason: AssignReason,
    },
    Comment {
        body: String,
        /// Agents the comment mentions (RULES.md "Mentions").
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        #[cfg_attr(feature = "ts", ts(as = "Option<Vec<Uuid>>", optional))]
        mention_ids: Vec<Uuid>,
        /// Sent to a ticket merged into this one: the ticket it was sent to
        /// (RULES.md "Merge").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "ts", ts(optional))]
        merged_from: Option<Uuid>,
    },
    ResolutionNote {
        body: String,
    },
    Edited {
        fields: Vec<String>,
    },
    AiContextAdded {},
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// This ticket was merged into another and closed (RULES.md "Merge").
    MergedInto {
        into_id: Uuid,
        into_number: Option<i64>,
    },
    /// Another ticket was merged into this one.
    MergedHere {
        from_id: Uuid,
        from_number: Option<i64>,
    },
    /// The merge of this ticket was undone: it is as it was before.
    Unmerged {
        into_id: Uuid,
        into_number: Option<i64>,
    },
    /// A ticket merged into this one was taken out again.
    UnmergedHere {
        from_id: Uuid,
        from_number: Option<i64>,
    },
    /// Resolved long enough: closed by the server's sweep (RULES.md "Auto-close").
    AutoClosed {
        days: u32,
        business_days: bool,
    },
    SlaBreached {
        timer: TimerKind,
        #[serde(with = "crate::wire::millis")]
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
        due_at: Timestamp,
    },
}

impl Change {
    /// The wire name of the entry's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Created { .. } => "created",
            Change::StatusChanged { .. } => "status_changed",
            Change::PriorityChanged { .. } => "priority_changed",
            Change::Assigned { .. } => "assigned",
            Change::Comment { .. } => "comment",
            Change::ResolutionNote { .. } => "resolution_note",
            Change::Edited { .. } => "edited",
            Change::AiContextAdded {} => "ai_context_added",
            Change::TagsChanged { .. } => "tags_changed",
            Change::AutoClosed { .. } => "auto_closed",
            Change::MergedInto { .. } => "merged_into",
            Change::MergedHere { .. } => "merged_here",
            Change::Unmerged { .. } => "unmerged",
            Change::UnmergedHere { .. } => "unmerged_here",
            Change::SlaBreached { .. } => "sla_breached",
        }
    }
}

impl Change {
    /// The entry in words, as every window and the CLI show it; `name` gives
    /// an agent's name ("nobody" for none).
    pub fn describe(&self, name: &dyn Fn(Option<Uuid>) -> String) -> String {
        match self {
            Change::Created { .. } => "created the ticket".to_owned(),
            Change::StatusChanged { from, to } => {
                format!("status {} → {}", from.label(), to.label())
            }
            Change::PriorityChanged { from, to } => {
                format!("priority {} → {}", from.as_str(), to.as_str())
            }
            Change::Assigned { to, reason, .. } => {
                let why = match reason {
                    AssignReason::Manual => "",
                    AssignReason::ConversationClaimed => " (conversation claimed)",
                    AssignReason::ConversationAssigned => " (conversation assigned)",
                };
                format!("assigned to {}{why}", name(*to))
            }
            Change::Comment { body, .. } => format!("commented: {body}"),
            Change::ResolutionNote { body } => format!("resolution note: {body}"),
            Change::Edited { fields } => format!("edited {}", fields.join(", ")),
            Change::AiContextAdded {} => "added AI context".to_owned(),
            Change::MergedInto { into_number, .. } => {
                format!("merged into {}", crate::merge::number_words(*into_number))
            }
            Change::MergedHere { from_number, .. } => format!(
                "merged {} into this ticket",
                crate::merge::number_words(*from_number)
            ),
            Change::Unmerged { into_number, .. } => {
                format!("unmerged from {}", crate::merge::number_words(*into_number))
            }
            Change::UnmergedHere { from_number, .. } => format!(
                "unmerged {} from this ticket",
                crate::merge::number_words(*from_number)
            ),
            Change::AutoClosed {
                days,
                business_days,
            } => format!(
                "closed automatically after {days} {}day{} resolved",
                if *business_days { "business " } else { "" },
                if *days == 1 { "" } else { "s" }
            ),
            Change::TagsChanged { added, removed } => {
                let words: Vec<String> = added
                    .iter()
                    .map(|t| format!("+{t}"))
                    .chain(removed.iter().map(|t| format!("−{t}")))
                    .collect();
                format!("tags {}", words.join(" "))
            }
            Change::SlaBreached { timer, .. } => format!("SLA breached: {}", timer.label()),
        }
    }
}

impl ActorRef {
    /// Who made the change, in words.
    pub fn describe(&self, name: &dyn Fn(Option<Uuid>) -> String) -> String {
        match (self.kind, self.agent_id) {
            (_, Some(id)) => name(Some(id)),
            (ActorKind::Agent, None) => "an agent".to_owned(),
            (ActorKind::Ai, None) => "AI".to_owned(),
            (ActorKind::Customer, None) => "the customer".to_owned(),
            (ActorKind::System, None) => "Fyncall".to_owned(),
        }
    }
}

/// One timeline entry. `at` is the server's time when it applied the change
/// (the time that counts for SLA); `client_at` is the time on the client that
/// made the change, kept for the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: Uuid,
    pub ticket_id: Uuid,
    #[serde(with = "crate::wire::millis")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    #[serde(
        with = "crate::wire::millis_opt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string", optional))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub client_at: Option<Timestamp>,
    pub actor: ActorRef,
    #[serde(flatten)]
    pub change: Change,
}

#[cfg(test)]
mod words {
    use super::*;

    #[test]
    fn entries_read_as_sentences() {
        let dana = Uuid::from_u128(7);
        let name = |id: Option<Uuid>| match id {
            Some(i) if i == dana => "Dana".to_owned(),
            Some(_) => "someone".to_owned(),
            None => "nobody".to_owned(),
        };
        let cases = [
            (
                Change::StatusChanged {
                    from: Status::Resolved,
                    to: Status::InProgress,
                },
                "status resolved → in progress",
            ),
            (
                Change::Assigned {
                    from: None,
                    to: Some(dana),
                    reason: AssignReason::ConversationClaimed,
                },
                "assigned to Dana (conversation claimed)",
            ),
            (
                Change::Assigned {
                    from: Some(dana),
                    to: None,
                    reason: AssignReason::Manual,
                },
                "assigned to nobody",
            ),
            (
                Change::Edited {
                    fields: vec!["subject".into(), "category".into()],
                },
                "edited subject, category",
            ),
        ];
        for (change, words) in cases {
            assert_eq!(change.describe(&name), words);
        }
        assert_eq!(ActorRef::agent(dana).describe(&name), "Dana");
        assert_eq!(ActorRef::AI.describe(&name), "AI");
    }
}
