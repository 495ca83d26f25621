//! Mentions (RULES.md "Mentions"), kept with one SQL text for both stores:
//! a row per agent a comment names, written in the comment's transaction,
//! and that agent's read mark.

use fyncall_domain::{Activity, Change, Timestamp};
use serde::Serialize;
use uuid::Uuid;

use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};
use crate::time::iso;

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

/// One mention of the caller, as `GET /me/mentions` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Mention {
    pub entry_id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: Option<i64>,
    pub by_agent_id: Option<Uuid>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub read: bool,
}

/// The mentions `entry` carries: (agent mentioned, entry).
pub fn of(entries: &[Activity]) -> Vec<(Uuid, &Activity)> {
    entries
        .iter()
        .flat_map(|e| match &e.change {
            // Naming oneself is no mention to be told of.
            Change::Comment { mention_ids, .. } => mention_ids
                .iter()
                .filter(|m| Some(**m) != e.actor.agent_id)
                .map(|m| (*m, e))
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

/// Writes the row of `agent`'s mention in `entry` (once).
pub fn insert(db: &mut dyn TokenDb, agent: Uuid, entry: &Activity) -> StoreResult<()> {
    let by = entry.actor.agent_id.map(|a| a.to_string());
    db.exec(
        "INSERT INTO mentions (agent_id, entry_id, ticket_id, by_agent_id, at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id, entry_id) DO NOTHING",
        &[
            Some(&agent.to_string()),
            Some(&entry.id.to_string()),
            Some(&entry.ticket_id.to_string()),
            by.as_deref(),
            Some(&iso(entry.at)),
        ],
    )?;
    Ok(())
}

/// Marks `agent`'s mentions in `entries` read at `at` (ones read before
/// keep their moment; others' mentions are not the caller's to mark).
pub fn mark_read(
    db: &mut dyn TokenDb,
    agent: Uuid,
    entries: &[Uuid],
    at: Timestamp,
) -> StoreResult<()> {
    let agent = agent.to_string();
    let at = iso(at);
    for entry in entries {
        db.exec(
            "UPDATE mentions SET read_at = $3 WHERE agent_id = $1 AND entry_id = $2 AND read_at IS NULL",
            &[Some(&agent), Some(&entry.to_string()), Some(&at)],
        )?;
    }
    Ok(())
}

/// `agent`'s mentions, newest first (only unread ones when asked), at most `limit`.
pub fn list(
    db: &mut dyn TokenDb,
    agent: Uuid,
    unread_only: bool,
    limit: u32,
) -> StoreResult<Vec<Mention>> {
    let unread = if unread_only {
        " AND m.read_at IS NULL"
    } else {
        ""
    };
    let rows = db.rows_built(
        &format!(
            "SELECT m.entry_id, m.ticket_id, CAST(t.number AS TEXT), m.by_agent_id, m.at, m.read_at
             FROM mentions m LEFT JOIN tickets t ON t.id = m.ticket_id
             WHERE m.agent_id = $1{unread}
             ORDER BY m.at DESC, m.entry_id DESC LIMIT {}",
            limit.clamp(1, 500)
        ),
        &[Some(&agent.to_string())],
    )?;
    rows.into_iter()
        .map(|r| {
            let col = |i: usize| r.get(i).cloned().flatten();
            let id = |i: usize| -> StoreResult<Uuid> {
                col(i)
                    .and_then(|s| Uuid::parse_str(&s).ok())
                    .ok_or_else(|| db_err(format!("mention column {i} is not an id")))
            };
            Ok(Mention {
                entry_id: id(0)?,
                ticket_id: id(1)?,
                ticket_number: col(2).and_then(|n| n.parse().ok()),
                by_agent_id: col(3).and_then(|s| Uuid::parse_str(&s).ok()),
                at: col(4)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| db_err("a mention's moment is not a time"))?,
                read: col(5).is_some(),
            })
        })
        .collect()
}
