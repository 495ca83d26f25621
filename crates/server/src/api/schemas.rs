//! The shapes of the answers the server builds as JSON (a ticket with its
//! SLA computed now, a conversation with its messages, a pull page), as
//! types for the OpenAPI document. Each is made of the domain's own types,
//! so the document follows them; the fuzzing in `scripts/fuzz-api` checks
//! every answer against these schemas.

#![allow(dead_code)] // Described for the document; the handlers build the same shapes as JSON.

use fyncall_domain::Agent;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A ticket as answered: the stored ticket and its SLA at the time of the answer.
pub use fyncall_domain::wire::TicketBody;

/// `GET /tickets/{id}`: the ticket and its timeline, oldest first.
pub use fyncall_domain::wire::TicketDetail;

/// `GET /tickets`: one page of a view.
pub use crate::store::TicketPage as TicketList;

/// A conversation as answered: with its messages, oldest first, and its tickets.
pub use crate::store::ConversationBody;

/// `POST /auth/login`.
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    pub token: String,
    pub agent: Agent,
    /// When the session ends if it is not used before.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: fyncall_domain::Timestamp,
    pub database_id: Uuid,
    /// This device's token: sent with the next sign-ins of this account
    /// (`device_token`), they count against this device's limit rather
    /// than the account's, which guesses from elsewhere can lock.
    pub device_token: String,
}

/// `POST /integrations/tokens`: the token, shown once.
pub use fyncall_domain::wire::NewIntegrationToken as TokenAnswer;

/// One mutation of a push (API.md "Sync"): `name` and `args` mirror the
/// ticket endpoints, `args` carrying the ids from their paths.
#[derive(Serialize, ToSchema)]
pub struct PushedMutation {
    /// The mutation's own id: UUID v7 (v4 accepted); a repeat is answered `duplicate`.
    pub id: Uuid,
    pub name: MutationName,
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    /// When the client made it, kept beside the server's time for the audit.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub client_at: Option<fyncall_domain::Timestamp>,
}

/// The mutations an agent may push.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MutationName {
    CreateTicket,
    EditTicket,
    ChangeStatus,
    ChangePriority,
    Assign,
    Comment,
    ClaimConversation,
    AssignConversation,
    Reply,
}
