//! Reads, and the `Store` implementation that ties reads and writes together.

use base64::Engine;
use fyncall_domain::{
    Agent, Caller, Mutation, Order, Role, SortField, TeamSettings, Ticket, Timestamp, View,
};
use rusqlite::{Connection, OptionalExtension, params_from_iter, types::Value as Sql};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{SqliteStore, agents, db_err, load_ticket, principal_row, settings, ticket_json};
use crate::error::ApiError;
use crate::store::{
    Committed, Principal, PullPage, PushOutcome, Store, StoreResult, TicketPage, TicketQuery,
};
use crate::time::iso;

/// The SQL expression a sort field orders by; NULLs mapped so they sort last
/// in ascending order and the keyset comparison stays total.
fn sort_expr(field: SortField) -> &'static str {
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

fn encode_cursor(value: &Sql, id: &str) -> String {
    let v = match value {
        Sql::Integer(i) => json!(i),
        Sql::Text(t) => json!(t),
        _ => Value::Null,
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([v, id]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<(Sql, String), ApiError> {
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
        Some(Value::Number(n)) => Sql::Integer(n.as_i64().ok_or_else(bad_cursor)?),
        Some(Value::String(s)) => Sql::Text(s.clone()),
        _ => return Err(bad_cursor()),
    };
    Ok((key, id))
}

/// Builds the WHERE clause of a ticket query (without the keyset bound).
fn filters(q: &TicketQuery, now: Timestamp) -> (Vec<String>, Vec<Sql>) {
    let mut clauses = Vec::new();
    let mut args: Vec<Sql> = Vec::new();
    let placeholders = |args: &mut Vec<Sql>, values: Vec<Sql>| {
        let start = args.len();
        args.extend(values);
        (start + 1..=args.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match q.view.unwrap_or(View::All) {
        View::All => {}
        View::Mine => {
            let p = placeholders(&mut args, vec![Sql::Text(q.viewer.to_string())]);
            clauses.push(format!("assignee_id = {p}"));
        }
        View::SlaAtRisk => {
            let p = placeholders(&mut args, vec![Sql::Text(iso(now))]);
            clauses.push(format!("at_risk_at <= {p}"));
        }
        View::Pending => clauses.push("status = 'waiting_on_customer'".into()),
        View::AiEscalated => clauses.push("source = 'ai'".into()),
    }
    if q.statuses.is_empty() {
        // Closed tickets leave the views unless a status filter asks for them.
        clauses.push("status <> 'closed'".into());
    } else {
        let p = placeholders(
            &mut args,
            q.statuses
                .iter()
                .map(|s| Sql::Text(s.as_str().into()))
                .collect(),
        );
        clauses.push(format!("status IN ({p})"));
    }
    if !q.priorities.is_empty() {
        let p = placeholders(
            &mut args,
            q.priorities
                .iter()
                .map(|p| Sql::Integer(i64::from(p.rank())))
                .collect(),
        );
        clauses.push(format!("priority_rank IN ({p})"));
    }
    if !q.assignees.is_empty() {
        let named: Vec<Sql> = q
            .assignees
            .iter()
            .flatten()
            .map(|a| Sql::Text(a.to_string()))
            .collect();
        let mut parts = Vec::new();
        if !named.is_empty() {
            parts.push(format!(
                "assignee_id IN ({})",
                placeholders(&mut args, named)
            ));
        }
        if q.assignees.iter().any(Option::is_none) {
            parts.push("assignee_id IS NULL".into());
        }
        clauses.push(format!("({})", parts.join(" OR ")));
    }
    if !q.categories.is_empty() {
        let p = placeholders(
            &mut args,
            q.categories.iter().map(|c| Sql::Text(c.clone())).collect(),
        );
        clauses.push(format!("category IN ({p})"));
    }
    for (column, op, bound) in [
        ("created_at", ">=", q.created_after),
        ("created_at", "<", q.created_before),
        ("updated_at", ">=", q.updated_after),
        ("updated_at", "<", q.updated_before),
    ] {
        if let Some(t) = bound {
            let p = placeholders(&mut args, vec![Sql::Text(iso(t))]);
            clauses.push(format!("{column} {op} {p}"));
        }
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let p = placeholders(&mut args, vec![Sql::Text(format!("%{escaped}%"))]);
        clauses.push(format!(
            "(subject LIKE {p} ESCAPE '\\' OR description LIKE {p} ESCAPE '\\' OR EXISTS (
                SELECT 1 FROM activity a WHERE a.ticket_id = tickets.id AND a.kind = 'comment' AND a.body LIKE {p} ESCAPE '\\'))"
        ));
    }
    (clauses, args)
}

fn list_tickets(conn: &Connection, q: &TicketQuery, now: Timestamp) -> StoreResult<TicketPage> {
    let settings = settings(conn)?;
    let (mut clauses, mut args) = filters(q, now);
    let view = q.view.unwrap_or(View::All);
    let (default_field, default_order) = view.default_sort();
    let field = q.sort.unwrap_or(default_field);
    let order = q.order.unwrap_or(if q.sort.is_some() {
        Order::Asc
    } else {
        default_order
    });
    let expr = sort_expr(field);
    let where_all = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let total: i64 = conn
        .query_row(
            &format!("SELECT COUNT(*) FROM tickets {where_all}"),
            params_from_iter(args.iter()),
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let (cmp, dir) = match order {
        Order::Asc => (">", "ASC"),
        Order::Desc => ("<", "DESC"),
    };
    if let Some(cursor) = &q.cursor {
        let (key, id) = decode_cursor(cursor)?;
        args.push(key);
        let k = args.len();
        args.push(Sql::Text(id));
        let i = args.len();
        clauses.push(format!(
            "({expr} {cmp} ?{k} OR ({expr} = ?{k} AND id {cmp} ?{i}))"
        ));
    }
    let where_page = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let limit = q.limit.clamp(1, 500);
    let sql = format!(
        "SELECT data, {expr}, id FROM tickets {where_page} ORDER BY {expr} {dir}, id {dir} LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params_from_iter(args.iter())).map_err(db_err)?;
    let mut tickets = Vec::new();
    let mut last: Option<(Sql, String)> = None;
    let mut has_more = false;
    while let Some(row) = rows.next().map_err(db_err)? {
        if tickets.len() == limit as usize {
            has_more = true;
            break;
        }
        let data: String = row.get(0).map_err(db_err)?;
        let ticket: Ticket = serde_json::from_str(&data).map_err(db_err)?;
        tickets.push(ticket_json(&ticket, &settings, now));
        last = Some((
            row.get::<_, Sql>(1).map_err(db_err)?,
            row.get(2).map_err(db_err)?,
        ));
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

fn conversation_json(conn: &Connection, id: Uuid) -> StoreResult<Option<Value>> {
    let data: Option<String> = conn
        .query_row(
            "SELECT data FROM conversations WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err)?;
    let Some(data) = data else { return Ok(None) };
    let mut value: Value = serde_json::from_str(&data).map_err(db_err)?;
    let messages: Vec<Value> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT data FROM messages WHERE conversation_id = ?1 ORDER BY sent_at, rowid",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([id.to_string()], |r| r.get::<_, String>(0))
            .map_err(db_err)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(serde_json::from_str(&r.map_err(db_err)?).map_err(db_err)?);
        }
        out
    };
    let ticket_ids: Vec<String> = {
        let mut stmt = conn
            .prepare_cached(
                "SELECT id FROM tickets WHERE conversation_id = ?1 ORDER BY created_at, id",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([id.to_string()], |r| r.get(0))
            .map_err(db_err)?;
        rows.collect::<Result<_, _>>().map_err(db_err)?
    };
    if let Value::Object(map) = &mut value {
        map.insert("messages".into(), Value::Array(messages));
        map.insert("ticket_ids".into(), json!(ticket_ids));
    }
    Ok(Some(value))
}

/// The JSON `data` column of one row of `table`, parsed.
fn stored_json(conn: &Connection, table: &str, id: &str) -> StoreResult<Option<Value>> {
    conn.prepare_cached(&format!("SELECT data FROM {table} WHERE id = ?1"))
        .map_err(db_err)?
        .query_row([id], |r| r.get::<_, String>(0))
        .optional()
        .map_err(db_err)?
        .map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(db_err)
}

fn pull(conn: &Connection, cursor: i64, limit: u32, now: Timestamp) -> StoreResult<PullPage> {
    let settings = settings(conn)?;
    let limit = limit.clamp(1, 500);
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, entity, entity_id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .map_err(db_err)?;
    let rows: Vec<(i64, String, String)> = stmt
        .query_map(rusqlite::params![cursor, i64::from(limit) + 1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .map_err(db_err)?
        .collect::<Result<_, _>>()
        .map_err(db_err)?;
    let has_more = rows.len() > limit as usize;
    let mut changes = Vec::new();
    let mut last = cursor;
    for (seq, entity, id) in rows.into_iter().take(limit as usize) {
        last = seq;
        let data = match entity.as_str() {
            "ticket" => {
                let uuid = Uuid::parse_str(&id).map_err(db_err)?;
                load_ticket(conn, uuid)?.map(|t| ticket_json(&t, &settings, now))
            }
            "activity" => stored_json(conn, "activity", &id)?,
            "conversation" => conversation_json(conn, Uuid::parse_str(&id).map_err(db_err)?)?,
            "agent" => stored_json(conn, "agents", &id)?,
            "settings" => Some(serde_json::to_value(&settings).map_err(db_err)?),
            _ => None,
        };
        if let Some(data) = data {
            changes.push(json!({"entity": entity, "id": id, "seq": seq, "data": data}));
        }
    }
    Ok(PullPage {
        changes,
        cursor: last,
        has_more,
        server_time: now,
    })
}

impl Store for SqliteStore {
    fn login_candidate(&self, email: &str) -> StoreResult<Option<(Agent, String)>> {
        self.read(|c| {
            let row: Option<(String, String)> = c
                .query_row(
                    "SELECT data, password_hash FROM agents WHERE email = ?1",
                    [email.trim()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db_err)?;
            row.map(|(d, h)| Ok((serde_json::from_str(&d).map_err(db_err)?, h)))
                .transpose()
        })
    }

    fn insert_token(
        &self,
        token_hash: &str,
        principal: &Principal,
        now: Timestamp,
    ) -> StoreResult<()> {
        match principal {
            Principal::Agent(a) => self.token_insert(token_hash, Some(a.id), None, now),
            Principal::Integration { name } => self.token_insert(token_hash, None, Some(name), now),
        }
    }

    fn principal(&self, token_hash: &str) -> StoreResult<Option<Principal>> {
        self.read(|c| principal_row(c, token_hash))
    }

    fn revoke_token(&self, token_hash: &str, now: Timestamp) -> StoreResult<()> {
        self.token_revoke(token_hash, now)
    }

    fn agents(&self) -> StoreResult<Vec<Agent>> {
        self.read(agents)
    }

    fn create_agent(&self, agent: &Agent, password_hash: &str) -> StoreResult<i64> {
        self.insert_agent(agent, password_hash)
    }

    fn update_agent(
        &self,
        id: Uuid,
        role: Option<Role>,
        active: Option<bool>,
    ) -> StoreResult<(Agent, i64)> {
        self.patch_agent(id, role, active)
    }

    fn settings(&self) -> StoreResult<TeamSettings> {
        self.read(settings)
    }

    fn put_settings(&self, new: &TeamSettings) -> StoreResult<i64> {
        self.save_settings(new)
    }

    fn apply(
        &self,
        caller: Caller,
        mutation: &Mutation,
        mutation_id: Uuid,
        client_at: Option<Timestamp>,
        now: Timestamp,
        idempotency: bool,
    ) -> StoreResult<Result<Committed, PushOutcome>> {
        self.apply_mutation(caller, mutation, mutation_id, client_at, now, idempotency)
    }

    fn record_rejection(
        &self,
        mutation_id: Uuid,
        error: &Value,
        now: Timestamp,
    ) -> StoreResult<Option<PushOutcome>> {
        self.record_rejection_row(mutation_id, error, now)
    }

    fn sweep_breaches(&self, now: Timestamp) -> StoreResult<Option<i64>> {
        self.sweep(now)
    }

    fn ticket(&self, id: Uuid, now: Timestamp) -> StoreResult<Value> {
        self.read(|c| {
            let settings = settings(c)?;
            let t = load_ticket(c, id)?
                .ok_or_else(|| ApiError::not_found(format!("no ticket {id} in this team")))?;
            Ok(ticket_json(&t, &settings, now))
        })
    }

    fn ticket_with_activity(&self, id: Uuid, now: Timestamp) -> StoreResult<(Value, Vec<Value>)> {
        self.read(|c| {
            let settings = settings(c)?;
            let t = load_ticket(c, id)?
                .ok_or_else(|| ApiError::not_found(format!("no ticket {id} in this team")))?;
            let mut stmt = c
                .prepare_cached("SELECT data FROM activity WHERE ticket_id = ?1 ORDER BY at, rowid")
                .map_err(db_err)?;
            let rows = stmt
                .query_map([id.to_string()], |r| r.get::<_, String>(0))
                .map_err(db_err)?;
            let mut activity = Vec::new();
            for r in rows {
                activity.push(serde_json::from_str(&r.map_err(db_err)?).map_err(db_err)?);
            }
            Ok((ticket_json(&t, &settings, now), activity))
        })
    }

    fn tickets(&self, query: &TicketQuery, now: Timestamp) -> StoreResult<TicketPage> {
        self.read(|c| list_tickets(c, query, now))
    }

    fn conversation(&self, id: Uuid) -> StoreResult<Value> {
        self.read(|c| {
            conversation_json(c, id)?.ok_or_else(|| {
                ApiError::not_found(format!("no conversation {id} in this team")).into()
            })
        })
    }

    fn conversations(&self, limit: u32) -> StoreResult<Vec<Value>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT data FROM conversations ORDER BY created_at DESC, id LIMIT ?1",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map([i64::from(limit.clamp(1, 500))], |r| r.get::<_, String>(0))
                .map_err(db_err)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(serde_json::from_str(&r.map_err(db_err)?).map_err(db_err)?);
            }
            Ok(out)
        })
    }

    fn pull(&self, cursor: i64, limit: u32, now: Timestamp) -> StoreResult<PullPage> {
        self.read(|c| pull(c, cursor, limit, now))
    }

    fn current_seq(&self) -> StoreResult<i64> {
        self.read(|c| {
            c.query_row("SELECT seq FROM team WHERE id = 1", [], |r| r.get(0))
                .map_err(db_err)
        })
    }
}
