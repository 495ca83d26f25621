//! Agents and their roles (RULES.md "Entities", "Who may do what").

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refusal::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
}

/// A member of the team. Deactivated agents keep their history but may do nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
}

impl Agent {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Longest agent name, in characters.
pub const NAME_MAX_CHARS: usize = 100;

/// An agent's name as stored: no control characters, trimmed, 1 to 100
/// characters.
pub fn clean_name(name: &str) -> Result<String, Refusal> {
    let text = crate::text::clean_text("name", name)?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Refusal::invalid("name", "the name cannot be empty"));
    }
    if trimmed.chars().count() > NAME_MAX_CHARS {
        return Err(Refusal::invalid(
            "name",
            format!("the name is longer than {NAME_MAX_CHARS} characters: shorten it"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An admin's change to an agent (API.md `PATCH /agents/{id}`): any of a
/// new name, role, or active flag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

/// Agent `id` of the team `all` with an admin's `change` applied (RULES.md
/// "Who may do what"): a clean name, the new role and active flag. Refused
/// when no such agent is in the team, and when the team would be left with
/// no active admin ("the team keeps one active admin").
pub fn changed_agent(all: &[Agent], id: Uuid, change: &AgentChange) -> Result<Agent, Refusal> {
    let Some(mut agent) = all.iter().find(|a| a.id == id).cloned() else {
        return Err(Refusal::not_found(format!("no agent {id} in this team")));
    };
    if let Some(name) = &change.name {
        agent.name = clean_name(name)?;
    }
    if let Some(role) = change.role {
        agent.role = role;
    }
    if let Some(active) = change.active {
        agent.active = active;
    }
    let admins_left = all
        .iter()
        .map(|a| if a.id == id { &agent } else { a })
        .filter(|a| a.active && a.is_admin())
        .count();
    if admins_left == 0 {
        return Err(Refusal::invalid(
            "role",
            "the team needs at least one active admin: make someone else admin first",
        ));
    }
    Ok(agent)
}
