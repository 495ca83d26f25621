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
    },
    ResolutionNote {
        body: String,
    },
    Edited {
        fields: Vec<String>,
    },
    AiContextAdded {},
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
            Change::SlaBreached { .. } => "sla_breached",
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
