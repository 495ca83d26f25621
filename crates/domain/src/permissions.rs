//! Who may do what (RULES.md "Who may do what").
//!
//! | action | who |
//! |---|---|
//! | create a ticket | any agent; the assignee defaults to the creator |
//! | assign | admin: any active agent, or nobody; agent: only to themself |
//! | set priority, change status, resolve, close, reopen, edit | the assignee, or an admin |
//! | add a comment | any agent |
//! | claim a conversation | any agent |
//! | assign a conversation | admin |
//! | AI escalation, AI enrich, integration messages | the integration token only |
//!
//! Each check returns the refusal a person reads, naming what is missing.

use crate::agent::Agent;
use crate::refusal::Refusal;
use crate::ticket::Ticket;

/// Every action needs an active account.
pub fn check_active(actor: &Agent) -> Result<(), Refusal> {
    if actor.active {
        Ok(())
    } else {
        Err(Refusal::forbidden(
            "your account is deactivated: ask an admin to reactivate it",
        ))
    }
}

/// Creating a ticket: any agent. Naming an assignee other than oneself is an
/// assignment, so it follows the assign rule.
pub fn check_create(actor: &Agent, assignee: Option<&Agent>) -> Result<(), Refusal> {
    check_active(actor)?;
    match assignee {
        Some(to) if to.id != actor.id && !actor.is_admin() => Err(Refusal::forbidden(
            "only an admin can create a ticket assigned to someone else; leave the assignee as yourself",
        )),
        Some(to) => check_assignable(to),
        None => Ok(()),
    }
}

/// Assigning a ticket to `to` (`None`: nobody).
pub fn check_assign(actor: &Agent, to: Option<&Agent>) -> Result<(), Refusal> {
    check_active(actor)?;
    if !actor.is_admin() {
        match to {
            Some(to) if to.id == actor.id => {}
            Some(_) => {
                return Err(Refusal::forbidden(
                    "only an admin can assign a ticket to someone else; you can assign it to yourself",
                ));
            }
            None => {
                return Err(Refusal::forbidden("only an admin can unassign a ticket"));
            }
        }
    }
    match to {
        Some(to) => check_assignable(to),
        None => Ok(()),
    }
}

/// Tickets go only to active agents.
fn check_assignable(to: &Agent) -> Result<(), Refusal> {
    if to.active {
        Ok(())
    } else {
        Err(Refusal::invalid(
            "assignee_id",
            format!(
                "{} is deactivated and cannot take tickets: choose an active agent",
                to.name
            ),
        ))
    }
}

/// Priority, status (resolve, close, reopen) and edits: the assignee or an
/// admin. `what` completes "only the assignee or an admin can … this ticket".
pub fn check_manage(actor: &Agent, ticket: &Ticket, what: &str) -> Result<(), Refusal> {
    check_active(actor)?;
    if actor.is_admin() || ticket.assignee_id == Some(actor.id) {
        Ok(())
    } else {
        let hint = if ticket.assignee_id.is_none() {
            "; assign it to yourself first"
        } else {
            ""
        };
        Err(Refusal::forbidden(format!(
            "only the assignee or an admin can {what} this ticket{hint}"
        )))
    }
}

/// Comments: any active agent.
pub fn check_comment(actor: &Agent) -> Result<(), Refusal> {
    check_active(actor)
}

/// Claiming a conversation or replying on it: any active agent.
pub fn check_claim(actor: &Agent) -> Result<(), Refusal> {
    check_active(actor)
}

/// Assigning a conversation (and so its open tickets): admins only.
pub fn check_assign_conversation(actor: &Agent) -> Result<(), Refusal> {
    check_active(actor)?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Refusal::forbidden(
            "only an admin can assign a conversation to someone; you can claim it for yourself",
        ))
    }
}

/// Team settings, agents and integration tokens: admins only.
pub fn check_admin(actor: &Agent, what: &str) -> Result<(), Refusal> {
    check_active(actor)?;
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Refusal::forbidden(format!("only an admin can {what}")))
    }
}
