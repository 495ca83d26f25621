//! Macros (RULES.md "Working faster"): a text with placeholders plus a list
//! of actions, applied to a ticket as ordinary changes.
//!
//! Everything a macro does is worked out here once, for the server, the
//! cache, the CLI and the app: what its placeholders become ([`fill`]), the
//! mutations it makes ([`steps`]), and the preview that runs each of them
//! through [`apply`] in order on the state as the previous ones left it
//! ([`preview`]): a refused step is named with the rule's words and the
//! rest still apply.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Timestamp;
use crate::mutation::{
    Assign, Caller, ChangePriority, ChangeStatus, Comment, EditTicket, Mutation, Reply, SetTags,
    Stamp, apply,
};
use crate::refusal::Refusal;
use crate::state::State;
use crate::tags;
use crate::ticket::{Priority, Status, TEXT_MAX_CHARS, Ticket};

/// Who sees and uses a macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MacroScope {
    /// The whole team's, made by admins.
    Team,
    /// One agent's own.
    Personal,
}

/// What a macro's text becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TextKind {
    /// A reply to the customer on the ticket's conversation.
    Reply,
    /// An internal comment on the ticket.
    #[default]
    Comment,
}

/// One action of a macro, as API.md spells it: `{kind, value}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum MacroAction {
    Status(Status),
    Priority(Priority),
    /// `null` clears the category.
    Category(Option<String>),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    /// `"me"` (whoever applies it), an agent's id, or `null` (nobody).
    Assign(Option<String>),
}

/// A macro as stored and synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Macro {
    pub id: Uuid,
    pub name: String,
    pub scope: MacroScope,
    /// The agent a personal macro belongs to (`None` for team macros).
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub text_kind: TextKind,
    #[serde(default)]
    pub actions: Vec<MacroAction>,
}

/// A new macro or a whole replacement of one (`POST /macros`, `PATCH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct NewMacro {
    pub name: String,
    pub scope: MacroScope,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub text_kind: TextKind,
    #[serde(default)]
    pub actions: Vec<MacroAction>,
}

/// The placeholders a macro's text may hold.
pub const PLACEHOLDERS: [&str; 6] = [
    "customer.first_name",
    "customer.name",
    "ticket.number",
    "ticket.subject",
    "agent.name",
    "agent.first_name",
];

/// Longest macro name, in characters.
pub const NAME_MAX_CHARS: usize = 80;
/// Most actions in one macro.
pub const ACTIONS_MAX: usize = 20;

impl NewMacro {
    /// The macro as stored: name trimmed, text checked, every placeholder
    /// known, tags cleaned, an assignee "me", an id or nobody.
    pub fn check(&self) -> Result<NewMacro, Refusal> {
        let name = crate::text::clean_text("name", &self.name)?
            .trim()
            .to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            return Err(Refusal::invalid(
                "name",
                format!("a macro's name is 1 to {NAME_MAX_CHARS} characters"),
            ));
        }
        let text = match self.text.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => {
                let t = crate::text::clean_text("text", t)?;
                if t.chars().count() > TEXT_MAX_CHARS {
                    return Err(Refusal::invalid(
                        "text",
                        format!("a macro's text is at most {TEXT_MAX_CHARS} characters"),
                    ));
                }
                if let Some(unknown) = unknown_placeholder(&t) {
                    return Err(Refusal::invalid(
                        "text",
                        format!(
                            "{{{{{unknown}}}}} is not a placeholder: use one of {}",
                            PLACEHOLDERS.map(|p| format!("{{{{{p}}}}}")).join(", ")
                        ),
                    ));
                }
                Some(t)
            }
        };
        if text.is_none() && self.actions.is_empty() {
            return Err(Refusal::invalid(
                "actions",
                "a macro needs a text, an action or both",
            ));
        }
        if self.actions.len() > ACTIONS_MAX {
            return Err(Refusal::invalid(
                "actions",
                format!("a macro has at most {ACTIONS_MAX} actions"),
            ));
        }
        let actions = self
            .actions
            .iter()
            .map(|a| match a {
                MacroAction::AddTags(t) => Ok(MacroAction::AddTags(tags::clean_tags(t)?)),
                MacroAction::RemoveTags(t) => Ok(MacroAction::RemoveTags(tags::clean_tags(t)?)),
                MacroAction::Assign(Some(to)) if to != "me" && Uuid::parse_str(to).is_err() => {
                    Err(Refusal::invalid(
                        "actions",
                        format!("assign takes \"me\", an agent's id or null, not {to:?}"),
                    ))
                }
                other => Ok(other.clone()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewMacro {
            name,
            scope: self.scope,
            text,
            text_kind: self.text_kind,
            actions,
        })
    }
}

/// The first `{{…}}` in `text` that is not a placeholder.
fn unknown_placeholder(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let name = after[..end].trim();
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    None
}

/// What the placeholders stand for on one ticket, for one agent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Values {
    /// The conversation's customer, when the ticket's conversation is known.
    pub customer_name: Option<String>,
    pub ticket_number: Option<i64>,
    pub ticket_subject: String,
    /// Whoever applies the macro.
    pub agent_name: String,
}

/// The first word of a name; the whole name when it is one word.
fn first_name(name: &str) -> Option<&str> {
    name.split_whitespace().next()
}

/// `text` with its placeholders filled from `values`: a customer with no
/// name known is "there" ("Hi {{customer.first_name}}" → "Hi there"), a
/// ticket the server has not numbered yet is "(new)".
pub fn fill(text: &str, values: &Values) -> String {
    let customer = values
        .customer_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let value = match after[..end].trim() {
            "customer.first_name" => customer.and_then(first_name).unwrap_or("there").to_owned(),
            "customer.name" => customer.unwrap_or("there").to_owned(),
            "ticket.number" => values
                .ticket_number
                .map_or_else(|| "(new)".to_owned(), |n| format!("#{n}")),
            "ticket.subject" => values.ticket_subject.clone(),
            "agent.name" => values.agent_name.clone(),
            "agent.first_name" => first_name(&values.agent_name)
                .unwrap_or(&values.agent_name)
                .to_owned(),
            _ => format!("{{{{{}}}}}", &after[..end]),
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The placeholder values of `ticket` in `state` for agent `me`.
pub fn values(state: &State, ticket: &Ticket, me: Uuid) -> Values {
    Values {
        customer_name: state
            .conversations
            .get(&ticket.conversation_id)
            .map(|c| c.customer.name.clone()),
        ticket_number: ticket.number,
        ticket_subject: ticket.subject.clone(),
        agent_name: state
            .agents
            .get(&me)
            .map(|a| a.name.clone())
            .unwrap_or_default(),
    }
}

/// One step of a macro: what it is, and the change it makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `reply`, `comment` or the action's kind.
    pub kind: String,
    /// The action's value (the filled text for a reply or comment).
    pub value: serde_json::Value,
    pub mutation: Mutation,
}

/// The changes applying `m` to `ticket` by `me` makes, in order: its text
/// (filled from `values`) as a reply or comment first, then each action.
/// `new_id` makes the ids of what the steps create (a comment's, a reply's).
pub fn steps(
    m: &Macro,
    ticket: &Ticket,
    me: Uuid,
    values: &Values,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Vec<Step> {
    let mut out = Vec::new();
    let id = ticket.id;
    if let Some(text) = &m.text {
        let body = fill(text, values);
        let (kind, mutation) = match m.text_kind {
            TextKind::Reply => (
                "reply",
                Mutation::Reply(Reply {
                    id: new_id(),
                    conversation_id: ticket.conversation_id,
                    body: body.clone(),
                    attachment_ids: Vec::new(),
                }),
            ),
            TextKind::Comment => (
                "comment",
                Mutation::Comment(Comment {
                    id: new_id(),
                    ticket_id: id,
                    body: body.clone(),
                    mention_ids: Vec::new(),
                }),
            ),
        };
        out.push(Step {
            kind: kind.into(),
            value: serde_json::Value::String(body),
            mutation,
        });
    }
    for action in &m.actions {
        let wire = serde_json::to_value(action).unwrap_or_default();
        let kind = wire["kind"].as_str().unwrap_or_default().to_owned();
        let value = wire["value"].clone();
        let mutation = match action {
            MacroAction::Status(s) => Mutation::ChangeStatus(ChangeStatus {
                ticket_id: id,
                status: *s,
                note: None,
            }),
            MacroAction::Priority(p) => Mutation::ChangePriority(ChangePriority {
                ticket_id: id,
                priority: *p,
            }),
            MacroAction::Category(c) => Mutation::EditTicket(EditTicket {
                ticket_id: id,
                category: Some(c.clone()),
                ..EditTicket::default()
            }),
            MacroAction::AddTags(t) => Mutation::SetTags(SetTags {
                ticket_id: id,
                add: t.clone(),
                remove: Vec::new(),
            }),
            MacroAction::RemoveTags(t) => Mutation::SetTags(SetTags {
                ticket_id: id,
                add: Vec::new(),
                remove: t.clone(),
            }),
            MacroAction::Assign(to) => Mutation::Assign(Assign {
                ticket_id: id,
                assignee_id: match to.as_deref() {
                    None => None,
                    Some("me") => Some(me),
                    // Checked when the macro was made; a stale id is refused by the rules.
                    Some(other) => Some(Uuid::parse_str(other).unwrap_or(Uuid::nil())),
                },
            }),
        };
        out.push(Step {
            kind,
            value,
            mutation,
        });
    }
    out
}

/// One step as the preview shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct PreviewStep {
    pub kind: String,
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub value: serde_json::Value,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Refusal>,
}

/// What applying a macro would do: its text filled in, each step allowed or
/// refused with the rule's words.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Preview {
    pub text: Option<String>,
    pub actions: Vec<PreviewStep>,
}

/// The preview of `m` on ticket `ticket_id` in `state` for agent `me` at
/// `at`: each step applied in order on the state the previous allowed ones
/// left, as applying it would.
pub fn preview(
    state: &State,
    me: Uuid,
    m: &Macro,
    ticket_id: Uuid,
    at: Timestamp,
) -> Result<Preview, Refusal> {
    let ticket = state.ticket(ticket_id)?;
    let values = values(state, ticket, me);
    let mut n = 0u128;
    // Placeholder ids a preview never keeps (a real apply makes its own).
    let mut new_id = || {
        n += 1;
        Uuid::from_u128(0x7000_0000_0000_7000_8000_0000_0000_0000 | n)
    };
    let steps = steps(m, ticket, me, &values, &mut new_id);
    let text = m.text.as_deref().map(|t| fill(t, &values));
    let mut now = state.clone();
    let mut out = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        let stamp = Stamp {
            mutation_id: Uuid::new_v5(&ticket_id, format!("macro-preview/{i}").as_bytes()),
            at,
            client_at: None,
        };
        match apply(&now, Caller::Agent(me), &step.mutation, &stamp) {
            Ok(applied) => {
                now = applied.state;
                out.push(PreviewStep {
                    kind: step.kind,
                    value: step.value,
                    allowed: true,
                    refusal: None,
                });
            }
            Err(refusal) => out.push(PreviewStep {
                kind: step.kind,
                value: step.value,
                allowed: false,
                refusal: Some(refusal),
            }),
        }
    }
    Ok(Preview { text, actions: out })
}

/// Whether `agent` may use `m`: every team macro, and their own personal ones.
pub fn usable_by(m: &Macro, agent: Uuid) -> bool {
    m.scope == MacroScope::Team || m.owner_id == Some(agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            customer_name: Some("Ines Duarte".into()),
            ticket_number: Some(1042),
            ticket_subject: "Refund not received".into(),
            agent_name: "Alice Moreau".into(),
        }
    }

    #[test]
    fn placeholders_are_filled_and_missing_values_read_well() {
        let text = "Hi {{customer.first_name}}, about {{ ticket.number }} ({{ticket.subject}}): {{agent.first_name}} / {{agent.name}} for {{customer.name}}";
        assert_eq!(
            fill(text, &values()),
            "Hi Ines, about #1042 (Refund not received): Alice / Alice Moreau for Ines Duarte"
        );
        let unknown = Values {
            customer_name: None,
            ticket_number: None,
            ..values()
        };
        assert_eq!(
            fill("Hi {{customer.first_name}}, {{ticket.number}}", &unknown),
            "Hi there, (new)"
        );
        // One word is a first name too; a blank name is no name.
        let mono = Values {
            customer_name: Some("Madonna".into()),
            ..values()
        };
        assert_eq!(fill("Hi {{customer.first_name}}", &mono), "Hi Madonna");
        let blank = Values {
            customer_name: Some("  ".into()),
            ..values()
        };
        assert_eq!(fill("Hi {{customer.name}}", &blank), "Hi there");
        // Not a placeholder, or unclosed: left as written.
        assert_eq!(
            fill("{{nope}} and {{open", &values()),
            "{{nope}} and {{open"
        );
    }

    #[test]
    fn a_macro_is_checked_before_it_is_kept() {
        let good = NewMacro {
            name: "  Refund sent ".into(),
            scope: MacroScope::Personal,
            text: Some("Hi {{customer.first_name}}".into()),
            text_kind: TextKind::Reply,
            actions: vec![
                MacroAction::AddTags(vec!["Refund".into()]),
                MacroAction::Assign(Some("me".into())),
            ],
        };
        let kept = good.check().expect("fine");
        assert_eq!(kept.name, "Refund sent");
        assert_eq!(kept.actions[0], MacroAction::AddTags(vec!["refund".into()]));
        let bad = |f: &dyn Fn(&mut NewMacro)| {
            let mut m = good.clone();
            f(&mut m);
            m.check().expect_err("refused")
        };
        assert!(
            bad(&|m| m.text = Some("Hi {{customer.nickname}}".into()))
                .message
                .contains("{{customer.nickname}} is not a placeholder")
        );
        assert!(bad(&|m| m.name = " ".into()).fields.contains_key("name"));
        assert!(
            bad(&|m| {
                m.text = None;
                m.actions.clear();
            })
            .message
            .contains("needs a text")
        );
        assert!(
            bad(&|m| m.actions = vec![MacroAction::AddTags(vec!["two words".into()])])
                .fields
                .contains_key("tags")
        );
        assert!(
            bad(&|m| m.actions = vec![MacroAction::Assign(Some("bob".into()))])
                .message
                .contains("\"me\"")
        );
    }

    #[test]
    fn actions_read_and_write_as_api_md_spells_them() {
        let a: Vec<MacroAction> = serde_json::from_value(serde_json::json!([
            {"kind": "status", "value": "waiting_on_customer"},
            {"kind": "category", "value": null},
            {"kind": "add_tags", "value": ["vip"]},
            {"kind": "assign", "value": "me"}
        ]))
        .expect("the API.md shape");
        assert_eq!(a[0], MacroAction::Status(Status::WaitingOnCustomer));
        assert_eq!(a[1], MacroAction::Category(None));
        assert_eq!(
            serde_json::to_value(&a[3]).expect("json"),
            serde_json::json!({"kind": "assign", "value": "me"})
        );
    }
}
