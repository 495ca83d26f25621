//! The inbox from the cache: the three conversation views with search and
//! keyset paging, and their counts (RULES.md "Conversations (the inbox)").
//!
//! Each view is the domain's [`InboxView::rule`] translated to SQL over the
//! columns the migration added and [`refresh`] keeps: the assignee, the
//! customer's name and email, and the two moments the views order by. Each
//! default order is an index order, so a first page reads only its rows.

use fyncall_domain::inbox::{Holder, InboxOrder, LastMessage, like_pattern};
use fyncall_domain::{
    Conversation, InboxCounts, InboxPage, InboxQuery, InboxRow, InboxView, Message, Status,
};
use rusqlite::types::Value as Sql;
use rusqlite::{Connection, params_from_iter};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::{Cache, from_millis};

/// Recomputes a conversation's inbox columns from its row and messages.
pub(crate) fn refresh(conn: &Connection, id: Uuid) -> Result<()> {
    conn.prepare_cached(
        "UPDATE conversations SET
             assignee_id = json_extract(data, '$.assignee_id'),
             search = json_extract(data, '$.customer.name') || char(10)
                      || json_extract(data, '$.customer.email'),
             last_message_at = COALESCE((SELECT MAX(sent_at) FROM messages
                                         WHERE conversation_id = ?1), created_at),
             waiting_since = COALESCE((SELECT MAX(sent_at) FROM messages
                                       WHERE conversation_id = ?1 AND author = 'customer'),
                                      created_at)
         WHERE id = ?1",
    )?
    .execute([id.to_string()])?;
    Ok(())
}

/// The columns [`inbox_row`] reads, in its order.
fn row_columns() -> String {
    let done: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_done())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "c.data, c.overlay, c.id, c.last_message_at, c.waiting_since,
         (SELECT m.data FROM messages m WHERE m.conversation_id = c.id
          ORDER BY m.sent_at DESC, m.id DESC LIMIT 1),
         (SELECT count(*) FROM tickets t WHERE t.conversation_id = c.id
          AND t.status NOT IN ({}))",
        done.join(", ")
    )
}

/// An inbox row from a row of [`row_columns`].
fn inbox_row(row: &rusqlite::Row<'_>) -> Result<InboxRow> {
    let c: Conversation = serde_json::from_str(&row.get::<_, String>(0)?)?;
    let last_message = row
        .get::<_, Option<String>>(5)?
        .map(|d| serde_json::from_str::<Message>(&d))
        .transpose()?
        .map(|m| LastMessage {
            author: m.author,
            body: m.body,
        });
    Ok(InboxRow {
        id: c.id,
        last_message_at: from_millis(row.get(3)?),
        waiting_since: from_millis(row.get(4)?),
        open_ticket_count: u32::try_from(row.get::<_, i64>(6)?).unwrap_or(u32::MAX),
        customer: c.customer,
        channel: c.channel,
        assignee_id: c.assignee_id,
        last_message,
        pending: row.get(1)?,
    })
}

fn bad_cursor() -> CacheError {
    CacheError::Invalid(
        "that page cursor is not one this list gave: start from the first page".into(),
    )
}

impl Cache {
    /// The WHERE clauses of an inbox view with a search, and their arguments.
    fn inbox_filter(
        &self,
        view: InboxView,
        search: Option<&str>,
    ) -> Result<(Vec<String>, Vec<Sql>)> {
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        match view.rule().holder {
            Holder::Nobody => clauses.push("c.assignee_id IS NULL".to_owned()),
            Holder::Viewer => {
                clauses.push("c.assignee_id = ?".to_owned());
                args.push(Sql::Text(me.to_string()));
            }
            Holder::Anyone => {}
        }
        if let Some(pattern) = like_pattern(search) {
            clauses.push(
                "(c.search LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m
                   WHERE m.conversation_id = c.id AND m.body LIKE ? ESCAPE '\\'))"
                    .to_owned(),
            );
            args.push(Sql::Text(pattern.clone()));
            args.push(Sql::Text(pattern));
        }
        if clauses.is_empty() {
            clauses.push("1".to_owned());
        }
        Ok((clauses, args))
    }

    fn inbox_plan(&self, q: &InboxQuery) -> Result<(String, Vec<Sql>, String, Vec<Sql>)> {
        let rule = q.view.rule();
        let (mut clauses, mut args) = self.inbox_filter(q.view, q.search.as_deref())?;
        let count_sql = format!(
            "SELECT count(*) FROM conversations c WHERE {}",
            clauses.join(" AND ")
        );
        let count_args = args.clone();
        let column = match rule.order {
            InboxOrder::WaitingLongest => "waiting_since",
            InboxOrder::LatestMessage => "last_message_at",
        };
        let (op, dir) = if rule.order.descending() {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        if let Some(cursor) = &q.cursor {
            let v: Value = serde_json::from_str(cursor).map_err(|_| bad_cursor())?;
            match (
                v.get(0).and_then(Value::as_i64),
                v.get(1).and_then(Value::as_str),
            ) {
                (Some(moment), Some(id)) if v.as_array().is_some_and(|a| a.len() == 2) => {
                    clauses.push(format!("(c.{column}, c.id) {op} (?, ?)"));
                    args.push(Sql::Integer(moment));
                    args.push(Sql::Text(id.to_owned()));
                }
                _ => return Err(bad_cursor()),
            }
        }
        let sql = format!(
            "SELECT {}, c.{column} FROM conversations c WHERE {}
             ORDER BY c.{column} {dir}, c.id {dir} LIMIT {}",
            row_columns(),
            clauses.join(" AND "),
            q.limit.clamp(1, 500) + 1
        );
        Ok((sql, args, count_sql, count_args))
    }

    /// SQLite's plan for an inbox page and for its count (`EXPLAIN QUERY
    /// PLAN` details), to check that an index serves each view.
    pub fn explain_inbox(&self, q: &InboxQuery) -> Result<(Vec<String>, Vec<String>)> {
        let (sql, args, count_sql, count_args) = self.inbox_plan(q)?;
        let explain = |sql: &str, args: &[Sql]| -> Result<Vec<String>> {
            let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        };
        Ok((explain(&sql, &args)?, explain(&count_sql, &count_args)?))
    }

    /// One page of an inbox view; `total` counts the whole list.
    pub fn inbox(&self, q: &InboxQuery) -> Result<InboxPage> {
        let (sql, args, count_sql, count_args) = self.inbox_plan(q)?;
        let total: i64 =
            self.conn
                .query_row(&count_sql, params_from_iter(count_args.iter()), |r| {
                    r.get(0)
                })?;
        let limit = q.limit.clamp(1, 500) as usize;
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut conversations = Vec::new();
        let mut last: Option<(i64, String)> = None;
        let mut more = false;
        while let Some(row) = rows.next()? {
            if conversations.len() == limit {
                more = true;
                break;
            }
            last = Some((row.get(7)?, row.get(2)?));
            conversations.push(inbox_row(row)?);
        }
        Ok(InboxPage {
            conversations,
            next_cursor: match (more, last) {
                (true, Some((moment, id))) => Some(serde_json::json!([moment, id]).to_string()),
                _ => None,
            },
            total: total.max(0) as u64,
        })
    }

    /// The customer's other conversations (by email), latest first.
    pub(crate) fn customer_conversations(
        &self,
        email: &str,
        except: Uuid,
        limit: u32,
    ) -> Result<Vec<InboxRow>> {
        let sql = format!(
            "SELECT {} FROM conversations c
             WHERE json_extract(c.data, '$.customer.email') = ?1 COLLATE NOCASE AND c.id <> ?2
             ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?3",
            row_columns()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params![email, except.to_string(), limit])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(inbox_row(row)?);
        }
        Ok(out)
    }

    /// How many conversations each inbox view holds (the sidebar).
    pub fn inbox_counts(&self) -> Result<InboxCounts> {
        let mut n = [0u64; 3];
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        // Kept as rows change (crate::counts); counted while they are not.
        let kept = crate::counts::KeptCounts::new(&self.conn, me)?;
        for (i, view) in InboxView::ALL.into_iter().enumerate() {
            if let Some(k) = &kept {
                n[i] = k.inbox(view)?;
                continue;
            }
            let (clauses, args) = self.inbox_filter(view, None)?;
            let count: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM conversations c WHERE {}",
                    clauses.join(" AND ")
                ),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            n[i] = count.max(0) as u64;
        }
        Ok(InboxCounts {
            unassigned: n[0],
            mine: n[1],
            all: n[2],
        })
    }
}
