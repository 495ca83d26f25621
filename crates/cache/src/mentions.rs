//! The signed-in agent's mentions (RULES.md "Mentions"): comments that name
//! them, read or not. A comment's entry writes its rows
//! (`rows::Batch::activity`); opening the ticket marks them read through an
//! ordinary queued change (`mark_mentions_read`); the server's list of
//! what is still unread settles marks made on another machine.

use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::Cache;
use crate::error::{CacheError, Result};
use crate::outbox::parse_id;

/// One mention of the signed-in agent, as the Mentions list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MentionRow {
    pub entry_id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: Option<i64>,
    pub subject: String,
    pub by_agent_id: Option<Uuid>,
    /// The comment's text.
    pub body: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: fyncall_domain::Timestamp,
    pub read: bool,
}

/// The Mentions list: unread ones first, then the rest, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Mentions {
    pub unread: i64,
    pub items: Vec<MentionRow>,
}

impl Cache {
    /// The signed-in agent's mentions, at most `limit`.
    pub fn mentions(&self, limit: u32) -> Result<Mentions> {
        let me = crate::me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let unread: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM mentions WHERE agent_id = ?1 AND read = 0",
            [me.to_string()],
            |r| r.get(0),
        )?;
        let mut st = self.conn.prepare_cached(
            "SELECT m.entry_id, m.ticket_id, m.by_agent_id, m.at, m.read, t.data, a.data
             FROM mentions m JOIN tickets t ON t.id = m.ticket_id
             LEFT JOIN activity a ON a.id = m.entry_id
             WHERE m.agent_id = ?1 ORDER BY m.read, m.at DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![me.to_string(), limit.clamp(1, 500)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        let mut items = Vec::new();
        for row in rows {
            let (entry, ticket, by, at, read, ticket_data, entry_data) = row?;
            let t: fyncall_domain::Ticket = serde_json::from_str(&ticket_data)?;
            let body = entry_data
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .and_then(|v| v["data"]["body"].as_str().map(str::to_owned))
                .unwrap_or_default();
            items.push(MentionRow {
                entry_id: parse_id(&entry)?,
                ticket_id: parse_id(&ticket)?,
                ticket_number: t.number,
                subject: t.subject,
                by_agent_id: by.as_deref().map(parse_id).transpose()?,
                body,
                at: chrono::DateTime::from_timestamp_millis(at).unwrap_or_default(),
                read,
            });
        }
        Ok(Mentions { unread, items })
    }

    /// The signed-in agent's unread mentions of one ticket (opening it reads them).
    pub fn unread_mentions_of(&self, ticket: Uuid) -> Result<Vec<Uuid>> {
        let me = crate::me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let mut st = self.conn.prepare_cached(
            "SELECT entry_id FROM mentions WHERE agent_id = ?1 AND ticket_id = ?2 AND read = 0",
        )?;
        let ids = st
            .query_map(params![me.to_string(), ticket.to_string()], |r| {
                r.get::<_, String>(0)
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ids.iter().map(|s| parse_id(s)).collect()
    }

    /// Settles read marks with the server's list of the agent's unread
    /// mentions (complete when `complete`): what the server no longer
    /// lists as unread was read on another machine. A mark made here and
    /// not yet sent stays read. Returns how many changed.
    pub fn settle_mention_reads(&mut self, unread: &[Uuid], complete: bool) -> Result<usize> {
        if !complete {
            return Ok(0);
        }
        let me = crate::me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            // Only entries the server has (not ones still waiting to be sent).
            let mut st = tx.prepare(
                "SELECT entry_id FROM mentions m WHERE agent_id = ?1 AND read = 0
                 AND EXISTS (SELECT 1 FROM activity a WHERE a.id = m.entry_id AND a.pending = 0)",
            )?;
            let local: Vec<String> = st
                .query_map([me.to_string()], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let keep: std::collections::HashSet<String> =
                unread.iter().map(|u| u.to_string()).collect();
            for entry in local {
                if !keep.contains(&entry) {
                    changed += tx.execute(
                        "UPDATE mentions SET read = 1 WHERE agent_id = ?1 AND entry_id = ?2",
                        params![me.to_string(), entry],
                    )?;
                }
            }
        }
        tx.commit()?;
        Ok(changed)
    }
}
