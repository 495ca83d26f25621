//! Refusals: why a change was not made, as a value (RULES.md "Who may do what",
//! "Status lifecycle", and the error table of API.md).
//!
//! A refusal never carries a half-applied state: the caller keeps the state it
//! passed in, unchanged.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The closed set of reasons a rule can refuse a change. Clients branch on
/// this, never on the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The actor's role or assignment does not allow the change.
    Forbidden,
    /// The status lifecycle forbids the move.
    InvalidTransition,
    /// A field breaks a rule; `fields` names each.
    Invalid,
    /// The ticket, conversation or agent does not exist.
    NotFound,
    /// The fields were changed by someone else since the version the edit was based on.
    Conflict,
}

impl RefusalCode {
    /// The wire spelling of the code (`forbidden`, `invalid_transition`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Forbidden => "forbidden",
            RefusalCode::InvalidTransition => "invalid_transition",
            RefusalCode::Invalid => "invalid",
            RefusalCode::NotFound => "not_found",
            RefusalCode::Conflict => "conflict",
        }
    }
}

/// A refused change: a code, a sentence a person can act on, the fields at
/// fault (for `invalid`) and, for `conflict`, the current server text of the
/// fields so nothing the user typed is lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub current: BTreeMap<String, Option<String>>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Refusal {
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
            fields: BTreeMap::new(),
            current: BTreeMap::new(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(RefusalCode::Forbidden, message)
    }

    pub fn invalid_transition(message: impl Into<String>) -> Self {
        Self::new(RefusalCode::InvalidTransition, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(RefusalCode::NotFound, message)
    }

    /// An `invalid` refusal naming one field; the message is the field's problem.
    pub fn invalid(field: &str, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        let mut refusal = Self::new(RefusalCode::Invalid, problem.clone());
        refusal.fields.insert(field.to_owned(), problem);
        refusal
    }

    pub fn conflict(message: impl Into<String>, current: BTreeMap<String, Option<String>>) -> Self {
        let mut refusal = Self::new(RefusalCode::Conflict, message);
        refusal.current = current;
        refusal
    }

    /// A new ticket whose id is taken (a store that writes it without
    /// reading it first says the same).
    pub fn ticket_exists(id: uuid::Uuid) -> Self {
        Self::conflict(
            format!("a ticket with id {id} already exists"),
            BTreeMap::new(),
        )
    }
}
