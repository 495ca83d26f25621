//! The five views with filters, sorts, keyset paging and search; the ticket
//! and conversation pages.
//!
//! Every default view order is an index order (see the migration), so the
//! first page reads only the rows it shows. Paging compares row values
//! `(sort keys..., id)` against the last row shown, never `OFFSET`.

use fyncall_domain::actions::{self, Action};
use fyncall_domain::tags::{TagCount, TagFilter};
use fyncall_domain::views::Term;
use fyncall_domain::{
    Activity, Agent, Conversation, Message, Order, Priority, Sla, SortField, Status, Ticket,
    Timestamp, View, sla,
};
use rusqlite::types::Value as Sql;
use rusqlite::{OptionalExtension, params_from_iter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::outbox::parse_id;
use crate::rows::{NO_DUE, linked_ids, visible_conversation, visible_ticket};
use crate::{Cache, millis};

/// Which assignee a list is filtered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum AssigneeFilter {
    Me,
    Nobody,
    Agent(Uuid),
}

/// A ticket list request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Query {
    pub view: View,
    #[serde(default)]
    pub status: Vec<Status>,
    #[serde(default)]
    pub priority: Vec<Priority>,
    #[serde(default)]
    pub assignee: Option<AssigneeFilter>,
    #[serde(default)]
    pub category: Option<String>,
    /// Tickets with any of these tags, and none of those.
    #[serde(default)]
    pub tags: TagFilter,
    #[serde(default)]
    pub created_from: Option<Timestamp>,
    #[serde(default)]
    pub created_to: Option<Timestamp>,
    #[serde(default)]
    pub updated_from: Option<Timestamp>,
    #[serde(default)]
    pub updated_to: Option<Timestamp>,
    /// Words to find in subject, description and comments.
    #[serde(default)]
    pub search: Option<String>,
    /// Sort column and order; the view's default when absent.
    #[serde(default)]
    pub sort: Option<(SortField, Order)>,
    pub limit: u32,
    /// Whether to count the whole list too (`Page::total`). A list that
    /// shows the view's count from [`Cache::counts`] can skip it.
    #[serde(default = "yes")]
    pub with_total: bool,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

impl Query {
    /// The view as it is: no filter and no search (any sort or page).
    pub fn is_bare(&self) -> bool {
        self.status.is_empty()
            && self.priority.is_empty()
            && self.assignee.is_none()
            && self.category.is_none()
            && self.tags.is_empty()
            && self.created_from.is_none()
            && self.created_to.is_none()
            && self.updated_from.is_none()
            && self.updated_to.is_none()
            && self.search.as_deref().is_none_or(|s| s.trim().is_empty())
    }

    pub fn view(view: View) -> Query {
        Query {
            view,
            status: Vec::new(),
            priority: Vec::new(),
            assignee: None,
            category: None,
            tags: TagFilter::default(),
            created_from: None,
            created_to: None,
            updated_from: None,
            updated_to: None,
            search: None,
            sort: None,
            limit: 50,
            with_total: true,
            cursor: None,
        }
    }
}

/// A ticket as a list or page shows it: the API.md shape plus `pending`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TicketRow {
    #[serde(flatten)]
    pub ticket: Ticket,
    pub sla: Sla,
    /// Whether unsynced local changes lie on it.
    pub pending: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Page {
    pub tickets: Vec<TicketRow>,
    pub next_cursor: Option<String>,
    /// Tickets in the whole list, when asked for.
    pub total: Option<u64>,
}

/// A page of the server's list (the archive of tickets closed before the
/// working set) as a list shows it: nothing of it is pending here.
impl From<fyncall_domain::wire::TicketPage> for Page {
    fn from(page: fyncall_domain::wire::TicketPage) -> Page {
        Page {
            tickets: page
                .tickets
                .into_iter()
                .map(|b| TicketRow {
                    ticket: b.ticket,
                    sla: b.sla,
                    pending: false,
                })
                .collect(),
            next_cursor: page.next_cursor,
            total: page.total.map(|n| n.max(0) as u64),
        }
    }
}

fn yes() -> bool {
    true
}

/// The sidebar's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Counts {
    pub all: u64,
    pub mine: u64,
    pub sla_at_risk: u64,
    pub pending: u64,
    pub ai_escalated: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ActivityRow {
    #[serde(flatten)]
    pub entry: Activity,
    pub pending: bool,
    /// Who, in words (an agent's name, "AI", "Fyncall").
    pub who: String,
    /// What, in words (`Change::describe`): the words the CLI prints too.
    pub text: String,
    /// On a target's timeline, the merged ticket the entry came from
    /// ("#41"; RULES.md "Merge").
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A ticket merged into the one shown: its number, subject and
/// conversation, listed among the page's links.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MergedTicket {
    pub id: Uuid,
    pub number: Option<i64>,
    pub subject: String,
    pub conversation: Option<Conversation>,
}

/// What a merge would do, before it is done: the rules' answer and what moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MergePreview {
    /// Why not, when the rules refuse it now.
    pub refusal: Option<fyncall_domain::Refusal>,
    /// What moves, in words (`merge::preview_words`).
    pub moves: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TicketDetail {
    pub ticket: TicketRow,
    pub activity: Vec<ActivityRow>,
    pub conversation: Option<Conversation>,
    /// What the signed-in agent may do to it now, each refused one with why.
    pub actions: Vec<Action>,
    /// The signed-in agent's mentions here not yet read (opening the page reads them).
    pub unread_mentions: Vec<Uuid>,
    /// The tickets merged into this one, with their conversations.
    pub merged: Vec<MergedTicket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MessageRow {
    #[serde(flatten)]
    pub message: Message,
    pub pending: bool,
    /// Where the quoted history or signature starts in `body` (in UTF-16
    /// code units, as the window counts): folded away there, never dropped
    /// (`fyncall_domain::mail::fold_quoted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub quoted_at: Option<u32>,
}

impl MessageRow {
    pub fn new(message: Message, pending: bool) -> MessageRow {
        let (fresh, quoted) = fyncall_domain::mail::fold_quoted(&message.body);
        let quoted_at = (!quoted.is_empty() && message.author != fyncall_domain::Author::Agent)
            .then(|| {
                let start = message.body.len() - quoted.len();
                message.body[..start].encode_utf16().count() as u32
            })
            .filter(|_| !fresh.is_empty());
        MessageRow {
            message,
            pending,
            quoted_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub pending: bool,
    pub messages: Vec<MessageRow>,
    pub tickets: Vec<TicketRow>,
    /// The customer's other conversations (same email), latest first.
    pub other_conversations: Vec<fyncall_domain::InboxRow>,
    /// The tickets of those conversations, newest first.
    pub other_tickets: Vec<TicketRow>,
    /// What the signed-in agent may do to it now, each refused one with why.
    pub actions: Vec<Action>,
}

/// The sort columns of an order, all compared in one direction.
fn sort_columns(view: View, field: SortField) -> &'static [&'static str] {
    match (view, field) {
        (View::Mine, SortField::SlaDue) => &["due_key", "updated_desc"],
        (_, SortField::Number) => &["number_key"],
        (_, SortField::Subject) => &["subject_key"],
        (_, SortField::Status) => &["status_rank"],
        (_, SortField::Priority) => &["priority_rank"],
        (_, SortField::Assignee) => &["assignee_key"],
        (_, SortField::Category) => &["category_key"],
        (_, SortField::Created) => &["created_at"],
        (_, SortField::Updated) => &["updated_at"],
        (_, SortField::SlaDue) => &["due_key"],
    }
}

/// Turns typed words into an FTS5 query: every word must appear, as a prefix.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

impl Cache {
    fn now(&self, local_now: Timestamp) -> Result<Timestamp> {
        self.server_now(local_now)
    }

    /// The latest at-risk threshold of any timer: a ticket can only be at
    /// risk when its earliest due time is at most this far away.
    fn risk_horizon_ms(&self) -> Result<i64> {
        let settings = self.settings()?;
        let policy = &settings.sla;
        Ok(Priority::ALL
            .iter()
            .flat_map(|p| {
                let t = policy.targets_for(*p);
                [t.first_response_minutes, t.resolution_minutes]
            })
            .map(|m| policy.at_risk_threshold_ms(m))
            .max()
            .unwrap_or(0))
    }

    /// The WHERE clause (and its parameters) of a view with filters.
    /// `walk`: SLA At Risk with many tickets at risk, read in the list's
    /// own order (the at-risk test made on each row, off the index choice).
    fn filter(&self, q: &Query, now: Timestamp, walk: bool) -> Result<(Vec<String>, Vec<Sql>)> {
        let mut clauses = Vec::new();
        let mut args: Vec<Sql> = Vec::new();
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        // The view's rule, from the domain, as SQL.
        let terms = q.view.rule().terms(&q.status);
        // In SLA At Risk the at-risk moment picks the index (a closed
        // ticket has none), and in a view whose rule names a status
        // (Pending) that status does, its few tickets read by the status
        // index rather than every open ticket in update order: the `+`
        // keeps the open term off the choice.
        let other_index = terms
            .iter()
            .any(|t| matches!(t, Term::Status(_)) || (*t == Term::AtRisk && !walk));
        for term in terms {
            match term {
                Term::NotClosed => clauses.push(
                    if other_index {
                        "+t.open = 1"
                    } else {
                        "t.open = 1"
                    }
                    .to_owned(),
                ),
                Term::AssignedToViewer => {
                    clauses.push("t.assignee_id = ?".to_owned());
                    args.push(Sql::Text(me.to_string()));
                }
                Term::Status(s) => {
                    clauses.push("t.status = ?".to_owned());
                    args.push(Sql::Text(s.as_str().into()));
                }
                Term::Source(s) => {
                    clauses.push("t.source = ?".to_owned());
                    args.push(Sql::Text(s.as_str().into()));
                }
                Term::AtRisk if walk => {
                    clauses.push("+t.at_risk_at <= ?".to_owned());
                    args.push(Sql::Integer(millis(now)));
                }
                Term::AtRisk => {
                    // The due bound is implied by the at-risk moment; the
                    // `+` keeps it off the index choice, so the few tickets
                    // at risk are read by `tickets_at_risk` rather than
                    // every ticket due within the horizon by `tickets_risk`.
                    clauses.push("+t.due_key <= ? AND t.at_risk_at <= ?".to_owned());
                    args.push(Sql::Integer(
                        millis(now).saturating_add(self.risk_horizon_ms()?),
                    ));
                    args.push(Sql::Integer(millis(now)));
                }
            }
        }
        if !q.status.is_empty() {
            clauses.push(format!("t.status IN ({})", marks(q.status.len())));
            args.extend(q.status.iter().map(|s| Sql::Text(s.as_str().into())));
        }
        if !q.priority.is_empty() {
            clauses.push(format!("t.priority IN ({})", marks(q.priority.len())));
            args.extend(q.priority.iter().map(|p| Sql::Text(p.as_str().into())));
        }
        match q.assignee {
            None => {}
            Some(AssigneeFilter::Nobody) => clauses.push("t.assignee_id IS NULL".into()),
            Some(AssigneeFilter::Me) => {
                clauses.push("t.assignee_id = ?".into());
                args.push(Sql::Text(me.to_string()));
            }
            Some(AssigneeFilter::Agent(a)) => {
                clauses.push("t.assignee_id = ?".into());
                args.push(Sql::Text(a.to_string()));
            }
        }
        if let Some(c) = &q.category {
            clauses.push("t.category_key = ?".into());
            args.push(Sql::Text(c.trim().to_lowercase()));
        }
        let (any_of, none_of) = q.tags.like_patterns();
        if !any_of.is_empty() {
            let each = vec!["t.tags LIKE ? ESCAPE '\\'"; any_of.len()];
            clauses.push(format!("({})", each.join(" OR ")));
            args.extend(any_of.into_iter().map(Sql::Text));
        }
        for p in none_of {
            clauses.push("t.tags NOT LIKE ? ESCAPE '\\'".into());
            args.push(Sql::Text(p));
        }
        for (column, from, to) in [
            ("created_at", q.created_from, q.created_to),
            ("updated_at", q.updated_from, q.updated_to),
        ] {
            if let Some(from) = from {
                clauses.push(format!("t.{column} >= ?"));
                args.push(Sql::Integer(millis(from)));
            }
            if let Some(to) = to {
                clauses.push(format!("t.{column} <= ?"));
                args.push(Sql::Integer(millis(to)));
            }
        }
        Ok((clauses, args))
    }

    /// The SQL of a page: the page query with its arguments, the count
    /// query with its arguments, and the sort columns.
    fn plan(&self, q: &Query, now: Timestamp) -> Result<Plan> {
        let limit = q.limit.clamp(1, 500);
        let (sort, order) = q.sort.unwrap_or_else(|| q.view.default_sort());
        let columns = sort_columns(q.view, sort);
        // Many tickets at risk: the page walks the list's own index in
        // order (the first page is found at once), while the count reads the
        // at-risk index alone.
        let walk = q.view.rule().at_risk && self.many_at_risk(now)?;
        let (mut clauses, mut args) = self.filter(q, now, walk)?;
        let (mut count_clauses, mut count_args) = if walk {
            self.filter(q, now, false)?
        } else {
            (clauses.clone(), args.clone())
        };
        let search = q.search.as_deref().and_then(fts_query);
        let (from, searched) = match &search {
            None => ("tickets t", None),
            // Few matches: read them from the full-text index and sort them.
            Some(s) if self.search_matches(s)? <= FEW_MATCHES => (
                "ticket_search CROSS JOIN tickets t ON t.rowid = ticket_search.rowid",
                Some(("ticket_search MATCH ?", s)),
            ),
            // Many: walk the view's index in order and stop at a page.
            Some(s) => (
                "tickets t",
                Some((
                    "t.rowid IN (SELECT rowid FROM ticket_search WHERE ticket_search MATCH ?)",
                    s,
                )),
            ),
        };
        if let Some((clause, s)) = searched {
            for (c, a) in [
                (&mut clauses, &mut args),
                (&mut count_clauses, &mut count_args),
            ] {
                c.push(clause.into());
                a.push(Sql::Text(s.clone()));
            }
        }
        let count_sql = format!(
            "SELECT count(*) FROM {from} WHERE {}",
            count_clauses.join(" AND ")
        );
        if let Some(cursor) = &q.cursor {
            let values: Vec<Value> = serde_json::from_str(cursor).map_err(|_| {
                CacheError::Invalid(
                    "that page cursor is not one this list gave: start from the first page".into(),
                )
            })?;
            if values.len() != columns.len() + 1 {
                return Err(CacheError::Invalid(
                    "that page cursor belongs to another sort: start from the first page".into(),
                ));
            }
            let keys: Vec<String> = columns
                .iter()
                .map(|c| format!("t.{c}"))
                .chain(["t.id".to_owned()])
                .collect();
            let op = if order == Order::Asc { ">" } else { "<" };
            clauses.push(format!(
                "({}) {op} ({})",
                keys.join(", "),
                marks(keys.len())
            ));
            for v in values {
                args.push(match v {
                    Value::Number(n) => Sql::Integer(n.as_i64().unwrap_or(NO_DUE)),
                    Value::String(s) => Sql::Text(s),
                    _ => {
                        return Err(CacheError::Invalid(
                            "that page cursor is damaged: start from the first page".into(),
                        ));
                    }
                });
            }
        }
        let dir = if order == Order::Asc { "ASC" } else { "DESC" };
        let order_by: Vec<String> = columns
            .iter()
            .map(|c| format!("t.{c} {dir}"))
            .chain([format!("t.id {dir}")])
            .collect();
        let select: Vec<String> = columns.iter().map(|c| format!("t.{c}")).collect();
        let sql = format!(
            "SELECT t.data, t.overlay, t.id, {} FROM {from} WHERE {} ORDER BY {} LIMIT {}",
            select.join(", "),
            clauses.join(" AND "),
            order_by.join(", "),
            limit + 1
        );
        Ok(Plan {
            sql,
            args,
            count_sql,
            count_args,
            columns,
            limit,
        })
    }

    /// Whether more than [`FEW_AT_RISK`] open tickets are at risk now
    /// (counted on the at-risk index alone, and only that far).
    fn many_at_risk(&self, now: Timestamp) -> Result<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM (SELECT 1 FROM tickets t
                WHERE t.at_risk_at <= ?1 AND +t.open = 1 LIMIT ?2)",
            rusqlite::params![millis(now), FEW_AT_RISK + 1],
            |r| r.get(0),
        )?;
        Ok(n > FEW_AT_RISK)
    }

    /// How many tickets a full-text query matches (read from the index only).
    fn search_matches(&self, fts: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM ticket_search WHERE ticket_search MATCH ?1",
            [fts],
            |r| r.get(0),
        )?)
    }

    /// SQLite's plan for a page and for its count (`EXPLAIN QUERY PLAN`
    /// details), to check that an index serves each view.
    pub fn explain(&self, q: &Query, local_now: Timestamp) -> Result<(Vec<String>, Vec<String>)> {
        let plan = self.plan(q, self.now(local_now)?)?;
        let explain = |sql: &str, args: &[Sql]| -> Result<Vec<String>> {
            let mut stmt = self.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let rows = stmt.query_map(params_from_iter(args.iter()), |r| r.get::<_, String>(3))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        };
        Ok((
            explain(&plan.sql, &plan.args)?,
            explain(&plan.count_sql, &plan.count_args)?,
        ))
    }

    /// One page of a view. `total` counts the whole list (all pages).
    pub fn tickets(&self, q: &Query, local_now: Timestamp) -> Result<Page> {
        let now = self.now(local_now)?;
        let Plan {
            sql,
            args,
            count_sql,
            count_args,
            columns,
            limit,
        } = self.plan(q, now)?;
        // A view with no filter has its count kept (crate::counts).
        let kept = match (q.with_total, q.is_bare(), self.me()?) {
            (true, true, Some(me)) => match crate::counts::KeptCounts::new(&self.conn, me)? {
                Some(k) => k.count(q.view, now)?,
                None => None,
            },
            _ => None,
        };
        let total = match (q.with_total, kept) {
            (false, _) => None,
            (true, Some(n)) => Some(n),
            (true, None) => {
                let n: i64 =
                    self.conn
                        .query_row(&count_sql, params_from_iter(count_args.iter()), |r| {
                            r.get(0)
                        })?;
                Some(n.max(0) as u64)
            }
        };
        let settings = self.settings()?;
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        let mut tickets = Vec::new();
        let mut last_key = None;
        let mut more = false;
        while let Some(row) = rows.next()? {
            if tickets.len() == limit as usize {
                more = true;
                break;
            }
            let data: String = row.get(0)?;
            let ticket: Ticket = serde_json::from_str(&data)?;
            let mut key = Vec::new();
            for i in 0..columns.len() {
                key.push(match row.get_ref(3 + i)? {
                    rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                    rusqlite::types::ValueRef::Text(t) => {
                        Value::from(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => Value::Null,
                });
            }
            key.push(Value::from(row.get::<_, String>(2)?));
            last_key = Some(key);
            tickets.push(TicketRow {
                sla: sla::evaluate(&ticket, &settings.sla, now),
                pending: row.get(1)?,
                ticket,
            });
        }
        Ok(Page {
            tickets,
            next_cursor: match (more, last_key) {
                (true, Some(key)) => Some(Value::Array(key).to_string()),
                _ => None,
            },
            total,
        })
    }

    /// How many tickets each view holds now.
    pub fn counts(&self, local_now: Timestamp) -> Result<Counts> {
        let now = self.now(local_now)?;
        let mut counts = [0u64; 5];
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        // Kept as rows change (crate::counts); counted while they are not.
        let kept = crate::counts::KeptCounts::new(&self.conn, me)?;
        for (i, view) in View::ALL.into_iter().enumerate() {
            if let Some(n) = kept
                .as_ref()
                .map(|k| k.count(view, now))
                .transpose()?
                .flatten()
            {
                counts[i] = n;
                continue;
            }
            let (clauses, args) = self.filter(&Query::view(view), now, false)?;
            let n: i64 = self.conn.query_row(
                &format!(
                    "SELECT count(*) FROM tickets t WHERE {}",
                    clauses.join(" AND ")
                ),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            counts[i] = n.max(0) as u64;
        }
        Ok(Counts {
            all: counts[0],
            mine: counts[1],
            sla_at_risk: counts[2],
            pending: counts[3],
            ai_escalated: counts[4],
        })
    }

    /// A ticket by id or by `#number` (or plain number).
    pub fn find_ticket(&self, reference: &str) -> Result<Uuid> {
        let reference = reference.trim();
        let number = reference.strip_prefix('#').unwrap_or(reference);
        if let Ok(n) = number.parse::<i64>() {
            let id: Option<String> = self
                .conn
                .query_row("SELECT id FROM tickets WHERE number_key = ?1", [n], |r| {
                    r.get(0)
                })
                .optional()?;
            return id.map(|i| parse_id(&i)).transpose()?.ok_or_else(|| {
                CacheError::NotFound(format!(
                    "no ticket #{n} in the cache: run `fyncall sync`, or check the number"
                ))
            });
        }
        let id = Uuid::parse_str(reference).map_err(|_| {
            CacheError::Invalid(format!(
                "\"{reference}\" is not a ticket: give its id or its number as #1042"
            ))
        })?;
        match visible_ticket(&self.conn, id)? {
            Some(_) => Ok(id),
            None => Err(CacheError::NotFound(format!(
                "no ticket {id} in the cache: run `fyncall sync`, or check the id"
            ))),
        }
    }

    fn row(&self, ticket: Ticket, pending: bool, now: Timestamp) -> Result<TicketRow> {
        let settings = self.settings()?;
        Ok(TicketRow {
            sla: sla::evaluate(&ticket, &settings.sla, now),
            pending,
            ticket,
        })
    }

    /// The ticket page: the ticket, its timeline (oldest first) and conversation.
    pub fn ticket(&self, id: Uuid, local_now: Timestamp) -> Result<TicketDetail> {
        let now = self.now(local_now)?;
        let (ticket, pending) = visible_ticket(&self.conn, id)?
            .ok_or_else(|| CacheError::NotFound(format!("no ticket {id} in the cache")))?;
        // With the comments of the tickets merged into it (RULES.md "Merge").
        let merged_ids = serde_json::to_string(&ticket.merged_ids)?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {}, pending FROM activity WHERE ticket_id = ?1
                OR (kind = 'comment' AND ticket_id IN (SELECT value FROM json_each(?2)))
             ORDER BY at, rowid",
            crate::rows::activity_columns("activity")
        ))?;
        let mut rows = stmt.query(rusqlite::params![id.to_string(), merged_ids])?;
        let mut merged = Vec::new();
        for m in &ticket.merged_ids {
            if let Some((t, _)) = visible_ticket(&self.conn, *m)? {
                merged.push(MergedTicket {
                    id: t.id,
                    number: t.number,
                    subject: t.subject,
                    conversation: visible_conversation(&self.conn, t.conversation_id)?,
                });
            }
        }
        let from_words = |entry: &Activity| -> Option<String> {
            let from = match &entry.change {
                fyncall_domain::Change::Comment {
                    merged_from: Some(f),
                    ..
                } => *f,
                _ if entry.ticket_id != id => entry.ticket_id,
                _ => return None,
            };
            let number = merged.iter().find(|m| m.id == from).and_then(|m| m.number);
            Some(fyncall_domain::merge::number_words(number))
        };
        let agents = self.agents()?;
        let name = |id: Option<Uuid>| match id {
            None => "nobody".to_owned(),
            Some(id) => agents
                .iter()
                .find(|a| a.id == id)
                .map_or_else(|| id.to_string(), |a| a.name.clone()),
        };
        let mut activity = Vec::new();
        while let Some(row) = rows.next()? {
            let entry = crate::rows::stored_activity(row)?;
            let pending: bool = row.get(4)?;
            activity.push(ActivityRow {
                who: entry.actor.describe(&name),
                text: entry.change.describe(&name),
                from: from_words(&entry),
                entry,
                pending,
            });
        }
        let conversation = visible_conversation(&self.conn, ticket.conversation_id)?;
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        let actions = self.offered(
            actions::ticket_candidates(&ticket, &self.agents()?, me),
            local_now,
        )?;
        let unread_mentions = self.unread_mentions_of(id)?;
        Ok(TicketDetail {
            ticket: self.row(ticket, pending, now)?,
            activity,
            conversation,
            actions,
            unread_mentions,
            merged,
        })
    }

    /// Tickets `source` could be merged into, for the picker: not closed,
    /// not itself, the same customer's first, then the most recently
    /// updated; `query` narrows them by `#number` or words of the subject.
    pub fn merge_targets(
        &self,
        source: Uuid,
        query: &str,
        local_now: Timestamp,
    ) -> Result<Vec<TicketRow>> {
        let now = self.now(local_now)?;
        let (ticket, _) = visible_ticket(&self.conn, source)?
            .ok_or_else(|| CacheError::NotFound(format!("no ticket {source} in the cache")))?;
        let email = visible_conversation(&self.conn, ticket.conversation_id)?
            .map(|c| c.customer.email.to_lowercase())
            .unwrap_or_default();
        let query = query.trim();
        let number = query.strip_prefix('#').unwrap_or(query).parse::<i64>().ok();
        let like = format!(
            "%{}%",
            query
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.id FROM tickets t LEFT JOIN conversations c ON c.id = t.conversation_id
             WHERE t.open = 1 AND t.id <> ?1
               AND (?2 = '' OR t.number_key = ?3 OR t.subject_key LIKE lower(?4) ESCAPE '\\')
             ORDER BY (lower(json_extract(c.data, '$.customer.email')) = ?5) DESC, t.updated_at DESC
             LIMIT 20",
        )?;
        let ids = stmt
            .query_map(
                rusqlite::params![source.to_string(), query, number, like, email],
                |r| r.get::<_, String>(0),
            )?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some((t, pending)) = visible_ticket(&self.conn, parse_id(&id)?)? {
                out.push(self.row(t, pending, now)?);
            }
        }
        Ok(out)
    }

    /// What merging `source` into `target` would do now.
    pub fn merge_preview(
        &self,
        source: Uuid,
        target: Uuid,
        local_now: Timestamp,
    ) -> Result<MergePreview> {
        let m = fyncall_domain::Mutation::MergeTicket(fyncall_domain::mutation::MergeTicket {
            ticket_id: source,
            into_ticket_id: target,
        });
        let refusal = self.check(&m, local_now)?;
        let (a, _) = visible_ticket(&self.conn, source)?
            .ok_or_else(|| CacheError::NotFound(format!("no ticket {source} in the cache")))?;
        let (b, _) = visible_ticket(&self.conn, target)?
            .ok_or_else(|| CacheError::NotFound(format!("no ticket {target} in the cache")))?;
        let comments: i64 = self.conn.query_row(
            "SELECT count(*) FROM activity WHERE ticket_id = ?1 AND kind = 'comment'",
            [source.to_string()],
            |r| r.get(0),
        )?;
        Ok(MergePreview {
            refusal,
            moves: fyncall_domain::merge::preview_words(
                &a,
                &b,
                usize::try_from(comments).unwrap_or(0),
            ),
        })
    }

    /// The name of a conversation's customer, if the cache has it.
    pub fn customer_name(&self, conversation: Uuid) -> Result<Option<String>> {
        Ok(visible_conversation(&self.conn, conversation)?.map(|c| c.customer.name))
    }

    /// The conversation page: customer, messages, linked tickets.
    pub fn conversation(&self, id: Uuid, local_now: Timestamp) -> Result<ConversationDetail> {
        let now = self.now(local_now)?;
        let conversation = visible_conversation(&self.conn, id)?.ok_or_else(|| {
            CacheError::NotFound(format!(
                "no conversation {id} in the cache: run `fyncall sync`, or check the id"
            ))
        })?;
        let pending: bool = self.conn.query_row(
            "SELECT overlay FROM conversations WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT data, pending FROM messages WHERE conversation_id = ?1 ORDER BY sent_at, rowid",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
        })?;
        let mut messages = Vec::new();
        for row in rows {
            let (data, pending) = row?;
            messages.push(MessageRow::new(serde_json::from_str(&data)?, pending));
        }
        let mut tickets = Vec::new();
        for t in linked_ids(&self.conn, id)? {
            if let Some((t, p)) = visible_ticket(&self.conn, t)? {
                tickets.push(self.row(t, p, now)?);
            }
        }
        let other_conversations =
            self.customer_conversations(&conversation.customer.email, id, 20)?;
        let mut other_tickets = Vec::new();
        for c in &other_conversations {
            for t in linked_ids(&self.conn, c.id)? {
                if let Some((t, p)) = visible_ticket(&self.conn, t)? {
                    other_tickets.push(self.row(t, p, now)?);
                }
            }
        }
        other_tickets.sort_by_key(|t| std::cmp::Reverse(t.ticket.created_at));
        let actions = self.offered(
            actions::conversation_candidates(&conversation, &self.agents()?),
            local_now,
        )?;
        Ok(ConversationDetail {
            conversation,
            pending,
            messages,
            tickets,
            other_conversations,
            other_tickets,
            actions,
        })
    }

    /// The version an edit of this ticket names as `base_version`: the
    /// server's version when no local change lies on it. With local changes
    /// pending, the server's eventual version is unknown here, so the edit
    /// goes without one (the later write wins).
    pub fn edit_base_version(&self, id: Uuid) -> Result<Option<i64>> {
        Ok(match visible_ticket(&self.conn, id)? {
            Some((t, false)) => Some(t.version),
            _ => None,
        })
    }

    /// Each tag on tickets not closed, with how many carry it, most used
    /// first: the suggestions of the tag editor and the filter.
    pub fn tags(&self) -> Result<Vec<TagCount>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT tags FROM tickets WHERE open AND tags <> ''")?;
        let columns = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(fyncall_domain::tags::counts(columns))
    }

    /// The team's agents, by name.
    pub fn agents(&self) -> Result<Vec<Agent>> {
        crate::rows::agents(&self.conn)
    }

    /// The signed-in agent's tickets with a running timer, earliest due
    /// first (the tray and the alert scheduler).
    pub fn my_deadlines(&self, limit: u32) -> Result<Vec<Ticket>> {
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT data FROM tickets WHERE assignee_id = ?1 AND open = 1 AND due_key < ?2
             ORDER BY due_key, updated_desc, id LIMIT ?3",
        )?;
        let rows = stmt.query_map(rusqlite::params![me.to_string(), NO_DUE, limit], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?)?);
        }
        Ok(out)
    }

    /// The earliest stored at-risk moment after `after` (server time) among
    /// the agent's tickets: when the alert scheduler must wake next.
    pub fn next_my_moment(&self, after: Timestamp) -> Result<Option<Timestamp>> {
        let me = self.me()?.ok_or(CacheError::NotSignedIn)?;
        let at_risk: Option<i64> = self.conn.query_row(
            "SELECT min(at_risk_at) FROM tickets WHERE assignee_id = ?1 AND open = 1
             AND at_risk_at > ?2",
            rusqlite::params![me.to_string(), millis(after)],
            |r| r.get(0),
        )?;
        let due: Option<i64> = self.conn.query_row(
            "SELECT min(due_key) FROM tickets WHERE assignee_id = ?1 AND open = 1
             AND due_key >= ?2 AND due_key < ?3",
            rusqlite::params![me.to_string(), millis(after), NO_DUE],
            |r| r.get(0),
        )?;
        let breach = due.map(|d| d + 1);
        Ok([at_risk, breach]
            .into_iter()
            .flatten()
            .min()
            .map(crate::from_millis))
    }
}

/// Up to this many matches a search sorts them; above, it walks the view's index.
const FEW_MATCHES: i64 = 2000;
/// At most this many tickets at risk are read by the at-risk index and
/// sorted; past it the list's own index is walked in order.
const FEW_AT_RISK: i64 = 1000;

struct Plan {
    sql: String,
    args: Vec<Sql>,
    count_sql: String,
    count_args: Vec<Sql>,
    columns: &'static [&'static str],
    limit: u32,
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use fyncall_domain::Author;
    use uuid::Uuid;

    fn message(author: Author, body: &str) -> Message {
        Message {
            id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            author,
            agent_id: None,
            body: body.into(),
            sent_at: chrono::Utc::now(),
            delivery: None,
            automatic: false,
            attachments: Vec::new(),
        }
    }

    /// Where the window folds a customer's quoted history, counted in the
    /// UTF-16 units JavaScript slices by (an accent and an emoji before it).
    #[test]
    fn the_quoted_history_is_found_where_the_window_slices() {
        let body = "Ça marche 👍\n\nOn Mon, Support wrote:\n> try again\n";
        let row = MessageRow::new(message(Author::Customer, body), false);
        let at = row.quoted_at.expect("a fold") as usize;
        let utf16: Vec<u16> = body.encode_utf16().collect();
        assert_eq!(
            String::from_utf16_lossy(&utf16[at..]),
            "On Mon, Support wrote:\n> try again\n"
        );
        // Nothing folded: no quote, an agent's own reply, or a quote alone.
        assert_eq!(
            MessageRow::new(message(Author::Customer, "Hello"), false).quoted_at,
            None
        );
        assert_eq!(
            MessageRow::new(message(Author::Agent, body), false).quoted_at,
            None
        );
        assert_eq!(
            MessageRow::new(message(Author::Customer, "> only a quote\n"), false).quoted_at,
            None
        );
    }
}
