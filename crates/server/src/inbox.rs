//! The inbox (API.md `GET /conversations`, RULES.md "Conversations (the
//! inbox)"), written once for both stores: the statements that keep each
//! conversation's inbox columns current, and the list query over them, all
//! plain SQL with `$1` placeholders and text columns (run through
//! [`TokenDb`], as `?1` on SQLite).
//!
//! A conversation row keeps `last_message_at` and `waiting_since` (the
//! moments [`fyncall_domain::inbox::InboxMoments`] defines) and `search` (the
//! customer's name and email); `messages` keeps each message's author and
//! body beside its JSON, so the views and the search are index or column
//! reads.

use base64::Engine;
use fyncall_domain::inbox::{Holder, InboxOrder, LastMessage, customer_search_text, like_pattern};
use fyncall_domain::{
    Author, Conversation, InboxPage, InboxQuery, InboxRow, Message, Status, Timestamp,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::ApiError;
use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};
use crate::time::{iso, parse};

/// Inserts a message (`$1` id, `$2` conversation, `$3` sent at, `$4` author,
/// `$5` body, `$6` JSON); nothing when the id exists.
pub const INSERT_MESSAGE: &str =
    "INSERT INTO messages (id, conversation_id, sent_at, author, body, data)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";

/// Writes a conversation (`$1` id, `$2` assignee, `$3` created at, `$4`
/// JSON, `$5` search text) with its inbox moments read from its messages, so
/// it runs after the messages of the same change are in.
pub const SAVE_CONVERSATION: &str = "INSERT INTO conversations
         (id, assignee_id, created_at, data, search, last_message_at, waiting_since)
     VALUES ($1, $2, $3, $4, $5,
         COALESCE((SELECT MAX(sent_at) FROM messages WHERE conversation_id = $1), $3),
         COALESCE((SELECT MAX(sent_at) FROM messages WHERE conversation_id = $1
                   AND author = 'customer'), $3))
     ON CONFLICT (id) DO UPDATE SET assignee_id = excluded.assignee_id, data = excluded.data,
         search = excluded.search, last_message_at = excluded.last_message_at,
         waiting_since = excluded.waiting_since";

/// Inserts a message; whether it was new (an id seen before inserts nothing).
pub fn insert_message(db: &mut dyn TokenDb, m: &Message) -> StoreResult<bool> {
    let args = [
        m.id.to_string(),
        m.conversation_id.to_string(),
        iso(m.sent_at),
        m.author.as_str().to_owned(),
        m.body.clone(),
        serde_json::to_string(m).map_err(db_err)?,
    ];
    let args: Vec<Option<&str>> = args.iter().map(|a| Some(a.as_str())).collect();
    Ok(db.exec(INSERT_MESSAGE, &args)? == 1)
}

/// A message by id.
pub fn message(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<Option<Message>> {
    let id = id.to_string();
    db.rows("SELECT data FROM messages WHERE id = $1", &[Some(&id)])?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .map(|data| serde_json::from_str(&data).map_err(db_err))
        .transpose()
}

/// Writes a message's data back (its delivery moved).
pub fn save_message(db: &mut dyn TokenDb, m: &Message) -> StoreResult<()> {
    let (id, data) = (m.id.to_string(), serde_json::to_string(m).map_err(db_err)?);
    db.exec(
        "UPDATE messages SET data = $2 WHERE id = $1",
        &[Some(&id), Some(&data)],
    )?;
    Ok(())
}

/// Writes a conversation with its inbox columns; its id, for the change log.
pub fn save_conversation(db: &mut dyn TokenDb, c: &Conversation) -> StoreResult<String> {
    let id = c.id.to_string();
    let assignee = c.assignee_id.map(|a| a.to_string());
    let created = iso(c.created_at);
    let data = serde_json::to_string(c).map_err(db_err)?;
    let search = customer_search_text(&c.customer);
    db.exec(
        SAVE_CONVERSATION,
        &[
            Some(&id),
            assignee.as_deref(),
            Some(&created),
            Some(&data),
            Some(&search),
        ],
    )?;
    Ok(id)
}

fn as_refs(args: &[String]) -> Vec<Option<&str>> {
    args.iter().map(|s| Some(s.as_str())).collect()
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn bad_cursor() -> StoreError {
    ApiError::bad_request("the cursor is not one this list gave out: start again without `cursor`")
        .into()
}

fn encode_cursor(moment: &str, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([moment, id]).to_string())
}

fn decode_cursor(cursor: &str) -> StoreResult<(String, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    match (
        v.get(0).and_then(Value::as_str),
        v.get(1).and_then(Value::as_str),
    ) {
        (Some(m), Some(id)) if parse(m).is_ok() && Uuid::parse_str(id).is_ok() => {
            Ok((m.to_owned(), id.to_owned()))
        }
        _ => Err(bad_cursor()),
    }
}

/// One page of an inbox view for `viewer`. `like` is the dialect's
/// case-insensitive match (`LIKE` on SQLite, `ILIKE` on PostgreSQL).
pub fn page(
    db: &mut dyn TokenDb,
    q: &InboxQuery,
    viewer: Uuid,
    like: &str,
) -> StoreResult<InboxPage> {
    let rule = q.view.rule();
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    fn bind(args: &mut Vec<String>, v: String) -> String {
        args.push(v);
        format!("${}", args.len())
    }
    match rule.holder {
        Holder::Nobody => clauses.push("c.assignee_id IS NULL".into()),
        Holder::Viewer => {
            let p = bind(&mut args, viewer.to_string());
            clauses.push(format!("c.assignee_id = {p}"));
        }
        Holder::Anyone => {}
    }
    if let Some(pattern) = like_pattern(q.search.as_deref()) {
        let p = bind(&mut args, pattern);
        clauses.push(format!(
            "(c.search {like} {p} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m
                WHERE m.conversation_id = c.id AND m.body {like} {p} ESCAPE '\\'))"
        ));
    }
    let where_of = |clauses: &[String]| {
        if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        }
    };
    let count_sql = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM conversations c {}",
        where_of(&clauses)
    );
    let count_args = args.clone();
    let column = match rule.order {
        InboxOrder::WaitingLongest => "waiting_since",
        InboxOrder::LatestMessage => "last_message_at",
    };
    let (cmp, dir) = if rule.order.descending() {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(cursor) = &q.cursor {
        let (moment, id) = decode_cursor(cursor)?;
        let k = bind(&mut args, moment);
        let i = bind(&mut args, id);
        clauses.push(format!(
            "(c.{column} {cmp} {k} OR (c.{column} = {k} AND c.id {cmp} {i}))"
        ));
    }
    let limit = q.limit.clamp(1, 500) as usize;
    let open: Vec<String> = Status::ALL
        .iter()
        .filter(|s| s.is_done())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let page_sql = format!(
        "SELECT c.data, c.{column}, c.id, c.last_message_at, c.waiting_since,
            (SELECT m.author FROM messages m WHERE m.conversation_id = c.id
             ORDER BY m.sent_at DESC, m.id DESC LIMIT 1),
            (SELECT m.body FROM messages m WHERE m.conversation_id = c.id
             ORDER BY m.sent_at DESC, m.id DESC LIMIT 1),
            CAST((SELECT COUNT(*) FROM tickets t WHERE t.conversation_id = c.id
                  AND t.status NOT IN ({})) AS TEXT)
         FROM conversations c {} ORDER BY c.{column} {dir}, c.id {dir} LIMIT {}",
        open.join(", "),
        where_of(&clauses),
        limit + 1
    );
    let total: u64 = db
        .rows_built(&count_sql, &as_refs(&count_args))?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let rows = db.rows_built(&page_sql, &as_refs(&args))?;
    let has_more = rows.len() > limit;
    let mut conversations = Vec::new();
    let mut last = None;
    for row in rows.into_iter().take(limit) {
        let col = |i: usize| -> StoreResult<&str> {
            row.get(i)
                .and_then(|c| c.as_deref())
                .ok_or_else(|| db_err(format!("inbox column {i} is empty")))
        };
        let time = |i: usize| -> StoreResult<Timestamp> { parse(col(i)?).map_err(db_err) };
        let c: Conversation = serde_json::from_str(col(0)?).map_err(db_err)?;
        last = Some((col(1)?.to_owned(), col(2)?.to_owned()));
        let last_message = match (row.get(5).cloned().flatten(), row.get(6).cloned().flatten()) {
            (Some(author), Some(body)) => Some(LastMessage {
                author: Author::parse(&author)
                    .ok_or_else(|| db_err(format!("a message by {author:?}")))?,
                body,
            }),
            _ => None,
        };
        conversations.push(InboxRow {
            id: c.id,
            last_message_at: time(3)?,
            waiting_since: time(4)?,
            open_ticket_count: col(7)?.parse().map_err(db_err)?,
            customer: c.customer,
            channel: c.channel,
            assignee_id: c.assignee_id,
            last_message,
            pending: false,
        });
    }
    Ok(InboxPage {
        conversations,
        next_cursor: match (has_more, last) {
            (true, Some((moment, id))) => Some(encode_cursor(&moment, &id)),
            _ => None,
        },
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let c = encode_cursor(
            "2026-03-02T09:00:00.000Z",
            "0190e7a0-0000-7000-8000-000000000001",
        );
        assert_eq!(
            decode_cursor(&c).expect("ours"),
            (
                "2026-03-02T09:00:00.000Z".to_owned(),
                "0190e7a0-0000-7000-8000-000000000001".to_owned()
            )
        );
        for stranger in ["not base64!", "W10", &encode_cursor("yesterday", "x")] {
            assert!(decode_cursor(stranger).is_err(), "{stranger}");
        }
    }
}
