//! The ticket list query of `GET /tickets` as SQL text and arguments, shared
//! by both stores: filters, sort expressions and keyset cursors. Only the
//! placeholder style and the case-insensitive match differ between SQLite and
//! PostgreSQL, so both stores answer the same query the same way.

use base64::Engine;
use fyncall_domain::views::Term;
use fyncall_domain::{Order, SortField, Timestamp, View};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::store::TicketQuery;
use crate::time::iso;

/// One bound argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i64),
    Text(String),
}

/// What differs between the two SQL dialects here.
#[derive(Debug, Clone, Copy)]
pub enum Dialect {
    /// `?1` placeholders; `LIKE` already ignores ASCII case.
    Sqlite,
    /// `$1` placeholders; `ILIKE` to ignore case.
    Postgres,
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    pub fn like(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        }
    }
}

/// The SQL expression a sort field orders by; NULLs mapped so they sort last
/// in ascending order and the keyset comparison stays total.
pub fn sort_expr(field: SortField) -> &'static str {
    match field {
        SortField::Number => "number",
        SortField::Subject => "subject",
        SortField::Status => "status",
        SortField::Priority => "priority_rank",
        SortField::Assignee => "COALESCE(assignee_id, '~')",
        SortField::Category => "COALESCE(category, '~')",
        SortField::Created => "created_at",
        SortField::Updated => "updated_at",
        SortField::SlaDue => "COALESCE(due_at, '9999-12-31T23:59:59.999Z')",
    }
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request(
        "the cursor is not one this server gave out: start again without `cursor`",
    )
}

/// The opaque cursor after a row with sort key `value` and id `id`.
pub fn encode_cursor(value: &Arg, id: &str) -> String {
    let v = match value {
        Arg::Int(i) => json!(i),
        Arg::Text(t) => json!(t),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([v, id]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<(Arg, String), ApiError> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad_cursor())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    let id = v
        .get(1)
        .and_then(Value::as_str)
        .ok_or_else(bad_cursor)?
        .to_owned();
    let key = match v.get(0) {
        Some(Value::Number(n)) => Arg::Int(n.as_i64().ok_or_else(bad_cursor)?),
        Some(Value::String(s)) => Arg::Text(s.clone()),
        _ => return Err(bad_cursor()),
    };
    Ok((key, id))
}

/// A ticket list query ready to run: count the matches with `count_sql`,
/// read the page (one row more than `limit`, to know if more follow) with
/// `page_sql`. Page rows are `data, sort key, id`.
#[derive(Debug, Clone)]
pub struct ListSql {
    pub count_sql: String,
    pub count_args: Vec<Arg>,
    pub page_sql: String,
    pub page_args: Vec<Arg>,
    pub limit: usize,
    /// The sort key is an integer column (read it back as one).
    pub int_key: bool,
}

struct Builder {
    dialect: Dialect,
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Builder {
    /// Binds `values` and returns their placeholders, comma separated.
    fn bind(&mut self, values: Vec<Arg>) -> String {
        let start = self.args.len();
        self.args.extend(values);
        (start + 1..=self.args.len())
            .map(|i| self.dialect.placeholder(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn where_clause(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Builds the SQL of a ticket list query at `now`.
pub fn list_sql(q: &TicketQuery, now: Timestamp, dialect: Dialect) -> Result<ListSql, ApiError> {
    let mut b = Builder {
        dialect,
        clauses: Vec::new(),
        args: Vec::new(),
    };
    // The view's rule, from the domain, as SQL.
    let view = q.view.unwrap_or(View::All);
    for term in view.rule().terms(&q.statuses) {
        let clause = match term {
            Term::NotClosed => fyncall_domain::lifecycle::not_closed_sql("status"),
            Term::AssignedToViewer => {
                format!(
                    "assignee_id = {}",
                    b.bind(vec![Arg::Text(q.viewer.to_string())])
                )
            }
            Term::Status(s) => format!("status = {}", b.bind(vec![Arg::Text(s.as_str().into())])),
            Term::Source(s) => format!("source = {}", b.bind(vec![Arg::Text(s.as_str().into())])),
            Term::AtRisk => format!("at_risk_at <= {}", b.bind(vec![Arg::Text(iso(now))])),
        };
        b.clauses.push(clause);
    }
    if !q.statuses.is_empty() {
        let p = b.bind(
            q.statuses
                .iter()
                .map(|s| Arg::Text(s.as_str().into()))
                .collect(),
        );
        b.clauses.push(format!("status IN ({p})"));
    }
    if !q.priorities.is_empty() {
        let p = b.bind(
            q.priorities
                .iter()
                .map(|p| Arg::Int(i64::from(p.rank())))
                .collect(),
        );
        b.clauses.push(format!("priority_rank IN ({p})"));
    }
    if !q.assignees.is_empty() {
        let named: Vec<Arg> = q
            .assignees
            .iter()
            .flatten()
            .map(|a| Arg::Text(a.to_string()))
            .collect();
        let mut parts = Vec::new();
        if !named.is_empty() {
            parts.push(format!("assignee_id IN ({})", b.bind(named)));
        }
        if q.assignees.iter().any(Option::is_none) {
            parts.push("assignee_id IS NULL".into());
        }
        b.clauses.push(format!("({})", parts.join(" OR ")));
    }
    if !q.categories.is_empty() {
        let p = b.bind(q.categories.iter().map(|c| Arg::Text(c.clone())).collect());
        b.clauses.push(format!("category IN ({p})"));
    }
    let (any_of, none_of) = q.tags.like_patterns();
    if !any_of.is_empty() {
        let parts: Vec<String> = any_of
            .into_iter()
            .map(|p| format!("tags LIKE {} ESCAPE '\\'", b.bind(vec![Arg::Text(p)])))
            .collect();
        b.clauses.push(format!("({})", parts.join(" OR ")));
    }
    for p in none_of {
        let p = b.bind(vec![Arg::Text(p)]);
        b.clauses.push(format!("tags NOT LIKE {p} ESCAPE '\\'"));
    }
    for (column, op, bound) in [
        ("created_at", ">=", q.created_after),
        ("created_at", "<", q.created_before),
        ("updated_at", ">=", q.updated_after),
        ("updated_at", "<", q.updated_before),
    ] {
        if let Some(t) = bound {
            let p = b.bind(vec![Arg::Text(iso(t))]);
            b.clauses.push(format!("{column} {op} {p}"));
        }
    }
    if let Some(pattern) = fyncall_domain::inbox::like_pattern(q.q.as_deref()) {
        let p = b.bind(vec![Arg::Text(pattern)]);
        let like = dialect.like();
        b.clauses.push(format!(
            "(subject {like} {p} ESCAPE '\\' OR description {like} {p} ESCAPE '\\' OR EXISTS (
                SELECT 1 FROM activity a WHERE a.ticket_id = tickets.id AND a.kind = 'comment' AND a.body {like} {p} ESCAPE '\\'))"
        ));
    }
    let count_sql = format!("SELECT COUNT(*) FROM tickets {}", b.where_clause());
    let count_args = b.args.clone();

    let (default_field, default_order) = view.default_sort();
    let field = q.sort.unwrap_or(default_field);
    let order = q.order.unwrap_or(if q.sort.is_some() {
        Order::Asc
    } else {
        default_order
    });
    let expr = sort_expr(field);
    let (cmp, dir) = match order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    if let Some(cursor) = &q.cursor {
        let (key, id) = decode_cursor(cursor)?;
        let k = b.bind(vec![key]);
        let i = b.bind(vec![Arg::Text(id)]);
        b.clauses.push(format!(
            "({expr} {cmp} {k} OR ({expr} = {k} AND id {cmp} {i}))"
        ));
    }
    let limit = q.limit.clamp(1, 500) as usize;
    let page_sql = format!(
        "SELECT data, {expr}, id FROM tickets {} ORDER BY {expr} {dir}, id {dir} LIMIT {}",
        b.where_clause(),
        limit + 1
    );
    Ok(ListSql {
        count_sql,
        count_args,
        page_sql,
        page_args: b.args,
        limit,
        int_key: matches!(field, SortField::Number | SortField::Priority),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        for key in [Arg::Int(-7), Arg::Text("2026-03-02T09:00:00.000Z".into())] {
            let c = encode_cursor(&key, "abc");
            assert_eq!(decode_cursor(&c).expect("ours"), (key, "abc".to_owned()));
        }
        assert!(decode_cursor("not base64!").is_err());
        assert!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("[1]")).is_err()
        );
    }

    #[test]
    fn placeholders_follow_the_dialect_and_number_in_order() {
        let q = TicketQuery {
            q: Some("refund".into()),
            categories: vec!["billing".into(), "shipping".into()],
            limit: 50,
            ..TicketQuery::default()
        };
        let now = chrono::Utc::now();
        let pg = list_sql(&q, now, Dialect::Postgres).expect("sql");
        assert!(
            pg.count_sql.contains("category IN ($1, $2)"),
            "{}",
            pg.count_sql
        );
        assert!(
            pg.count_sql.contains("subject ILIKE $3"),
            "{}",
            pg.count_sql
        );
        assert!(!pg.page_sql.contains('?'));
        let lite = list_sql(&q, now, Dialect::Sqlite).expect("sql");
        assert!(lite.count_sql.contains("category IN (?1, ?2)"));
        assert!(lite.count_sql.contains("subject LIKE ?3"));
        assert_eq!(lite.page_args, pg.page_args);
        assert!(lite.page_sql.ends_with("LIMIT 51"));
    }
}
