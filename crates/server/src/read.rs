//! The API's reads of tickets and conversations, written once over the few
//! row reads each store gives ([`ReadRows`]), as [`crate::pull`] is over
//! `PullRows`: a ticket list page, a ticket with its timeline, a
//! conversation with its messages and tickets. The SQL is built here in the
//! store's dialect; the stores only run it.

use fyncall_domain::{Activity, TeamSettings, Ticket, Timestamp};
use uuid::Uuid;

use crate::error::ApiError;
use crate::query::{Arg, Dialect, encode_cursor, list_sql};
use crate::store::{ConversationBody, StoreResult, TicketBody, TicketPage, TicketQuery};

/// The row reads of one store, inside one read transaction.
pub trait ReadRows {
    fn dialect(&self) -> Dialect;
    /// The first column (text) of every row `sql` gives with `args`.
    fn texts(&mut self, sql: &str, args: &[Arg]) -> StoreResult<Vec<String>>;
    /// The one integer `sql` gives with `args`.
    fn count(&mut self, sql: &str, args: &[Arg]) -> StoreResult<i64>;
    /// A list page's rows: the ticket's data, its sort key (an integer
    /// column when `int_key`) and its id.
    fn keyed(
        &mut self,
        sql: &str,
        args: &[Arg],
        int_key: bool,
    ) -> StoreResult<Vec<(String, Arg, String)>>;
    fn settings(&mut self) -> StoreResult<TeamSettings>;
}

/// A stored row that does not read back.
fn bad_row(e: impl std::fmt::Display) -> crate::store::StoreError {
    crate::store::StoreError::Database(e.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(bad_row)
}

fn no_ticket(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no ticket {id} in this team"))
}

/// The column that keeps rows in the order they were written.
fn written_order(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => "rowid",
        Dialect::Postgres => "pos",
    }
}

/// `$1, $2, …` (or `?1, …`) from `first` for `n` arguments.
fn marks(dialect: Dialect, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| match dialect {
            Dialect::Sqlite => format!("?{i}"),
            Dialect::Postgres => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn load_ticket<R: ReadRows + ?Sized>(rows: &mut R, id: Uuid) -> StoreResult<Option<Ticket>> {
    let sql = format!(
        "SELECT data FROM tickets WHERE id = {}",
        marks(rows.dialect(), 1, 1)
    );
    rows.texts(&sql, &[Arg::Text(id.to_string())])?
        .first()
        .map(|t| parse(t))
        .transpose()
}

/// The id of the ticket numbered `number` (`#1042`), closed long ago or not.
pub fn ticket_numbered<R: ReadRows + ?Sized>(rows: &mut R, number: i64) -> StoreResult<Uuid> {
    let sql = format!(
        "SELECT id FROM tickets WHERE number = {}",
        marks(rows.dialect(), 1, 1)
    );
    let ids = rows.texts(&sql, &[Arg::Int(number)])?;
    let id = ids
        .first()
        .ok_or_else(|| ApiError::not_found(format!("no ticket #{number} in this team")))?;
    Uuid::parse_str(id).map_err(bad_row)
}

/// A ticket as the API shows it at `now`.
pub fn ticket<R: ReadRows + ?Sized>(
    rows: &mut R,
    id: Uuid,
    now: Timestamp,
) -> StoreResult<TicketBody> {
    let settings = rows.settings()?;
    let t = load_ticket(rows, id)?.ok_or_else(|| no_ticket(id))?;
    Ok(TicketBody::at(t, &settings, now))
}

/// A ticket and its timeline, oldest first, with the comments of the
/// tickets merged into it (RULES.md "Merge").
pub fn ticket_with_activity<R: ReadRows + ?Sized>(
    rows: &mut R,
    id: Uuid,
    now: Timestamp,
) -> StoreResult<(TicketBody, Vec<Activity>)> {
    let settings = rows.settings()?;
    let t = load_ticket(rows, id)?.ok_or_else(|| no_ticket(id))?;
    let dialect = rows.dialect();
    let merged = if t.merged_ids.is_empty() {
        String::new()
    } else {
        format!(
            " OR (kind = 'comment' AND ticket_id IN ({}))",
            marks(dialect, 2, t.merged_ids.len())
        )
    };
    let sql = format!(
        "SELECT data FROM activity WHERE ticket_id = {}{merged} ORDER BY at, {}",
        marks(dialect, 1, 1),
        written_order(dialect)
    );
    let args: Vec<Arg> = std::iter::once(id)
        .chain(t.merged_ids.iter().copied())
        .map(|i| Arg::Text(i.to_string()))
        .collect();
    let activity = rows
        .texts(&sql, &args)?
        .iter()
        .map(|a| parse(a))
        .collect::<StoreResult<_>>()?;
    Ok((TicketBody::at(t, &settings, now), activity))
}

/// A page of a ticket list (`GET /tickets`).
pub fn list_tickets<R: ReadRows + ?Sized>(
    rows: &mut R,
    q: &TicketQuery,
    now: Timestamp,
) -> StoreResult<TicketPage> {
    let settings = rows.settings()?;
    let sql = list_sql(q, now, rows.dialect())?;
    let total = match q.with_total {
        true => Some(rows.count(&sql.count_sql, &sql.count_args)?),
        false => None,
    };
    let found = rows.keyed(&sql.page_sql, &sql.page_args, sql.int_key)?;
    let has_more = found.len() > sql.limit;
    let mut tickets = Vec::new();
    let mut last = None;
    for (data, key, id) in found.into_iter().take(sql.limit) {
        tickets.push(TicketBody::at(parse(&data)?, &settings, now));
        last = Some((key, id));
    }
    let next_cursor = if has_more {
        last.map(|(k, id)| encode_cursor(&k, &id))
    } else {
        None
    };
    Ok(TicketPage {
        tickets,
        next_cursor,
        total,
    })
}

/// A conversation with its messages (oldest first) and its tickets' ids.
pub fn conversation<R: ReadRows + ?Sized>(rows: &mut R, id: Uuid) -> StoreResult<ConversationBody> {
    let dialect = rows.dialect();
    let one = marks(dialect, 1, 1);
    let arg = [Arg::Text(id.to_string())];
    let Some(data) = rows
        .texts(
            &format!("SELECT data FROM conversations WHERE id = {one}"),
            &arg,
        )?
        .into_iter()
        .next()
    else {
        return Err(ApiError::not_found(format!("no conversation {id} in this team")).into());
    };
    let messages = rows
        .texts(
            &format!(
                "SELECT data FROM messages WHERE conversation_id = {one} ORDER BY sent_at, {}",
                written_order(dialect)
            ),
            &arg,
        )?
        .iter()
        .map(|m| parse(m))
        .collect::<StoreResult<_>>()?;
    let ticket_ids = rows
        .texts(
            &format!(
                "SELECT id FROM tickets WHERE conversation_id = {one} ORDER BY created_at, id"
            ),
            &arg,
        )?
        .iter()
        .map(|t| Uuid::parse_str(t).map_err(bad_row))
        .collect::<StoreResult<_>>()?;
    Ok(ConversationBody {
        conversation: parse(&data)?,
        messages,
        ticket_ids,
    })
}
