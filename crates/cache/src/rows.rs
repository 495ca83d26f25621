//! Reading and writing the cached rows inside one transaction.
//!
//! A ticket or conversation row holds what the agent sees (`data`). While
//! local changes are laid on top (`overlay` = 1) the server's own row waits
//! in `server_data`, so a rebase can start again from it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fyncall_domain::{
    Activity, Agent, Applied, Change, Conversation, Message, Mutation, State, Status, TeamSettings,
    Ticket, sla,
};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::counts::{Counted, Deltas};
use crate::error::{CacheError, Result};
use crate::events::{ChangeSet, TicketChange};
use crate::millis;

/// Sort key of "no running timer": after every real deadline.
pub(crate) const NO_DUE: i64 = i64::MAX;
/// Sort key of a ticket the server has not numbered yet: newest of all.
pub(crate) const NO_NUMBER: i64 = i64::MAX;

pub(crate) fn settings(conn: &Connection) -> Result<TeamSettings> {
    let data: Option<String> = conn
        .query_row("SELECT data FROM settings WHERE id = 1", [], |r| r.get(0))
        .optional()?;
    Ok(match data {
        Some(d) => serde_json::from_str(&d)?,
        None => TeamSettings::default(),
    })
}

pub(crate) fn agents(conn: &Connection) -> Result<Vec<Agent>> {
    let mut stmt = conn.prepare_cached("SELECT data FROM agents ORDER BY name, id")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

pub(crate) fn visible_ticket(conn: &Connection, id: Uuid) -> Result<Option<(Ticket, bool)>> {
    let row: Option<(String, bool)> = conn
        .query_row(
            "SELECT data, overlay FROM tickets WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(d, o)| Ok((serde_json::from_str(&d)?, o)))
        .transpose()
}

pub(crate) fn visible_conversation(conn: &Connection, id: Uuid) -> Result<Option<Conversation>> {
    let row: Option<String> = conn
        .query_row(
            "SELECT data FROM conversations WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    row.map(|d| Ok(serde_json::from_str(&d)?)).transpose()
}

/// Ids of the tickets linked to a conversation, oldest first.
pub(crate) fn linked_ids(conn: &Connection, conversation: Uuid) -> Result<Vec<Uuid>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM tickets WHERE conversation_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([conversation.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(Uuid::parse_str(&row?).map_err(|e| CacheError::Corrupt(e.to_string()))?);
    }
    Ok(out)
}

/// The reads of [`fyncall_domain::state::load`] on the cache: the rows as
/// the agent sees them (local changes on top).
struct Visible<'c>(&'c Connection);

impl fyncall_domain::Rows for Visible<'_> {
    type Error = CacheError;
    /// The cache's writes replace a row by id: a creation reads its ticket
    /// first, and the rules refuse an id already there.
    const NEW_TICKET_WRITE_REFUSES_TAKEN_IDS: bool = false;

    fn ticket(&mut self, id: Uuid) -> Result<Option<Ticket>> {
        Ok(visible_ticket(self.0, id)?.map(|(t, _)| t))
    }

    fn conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> Result<Option<(Conversation, Vec<Ticket>)>> {
        let Some(c) = visible_conversation(self.0, id)? else {
            return Ok(None);
        };
        let mut tickets = Vec::new();
        if linked {
            for t in linked_ids(self.0, id)? {
                if let Some((t, _)) = visible_ticket(self.0, t)? {
                    tickets.push(t);
                }
            }
        }
        Ok(Some((c, tickets)))
    }

    fn team(&mut self) -> Result<(TeamSettings, Vec<Agent>)> {
        Ok((settings(self.0)?, agents(self.0)?))
    }
}

/// What `mutation` needs to be checked and applied, from the visible rows
/// (the same scope the server loads, loaded by the same code).
pub(crate) fn load_state(conn: &Connection, mutation: &Mutation) -> Result<State> {
    fyncall_domain::state::load(&mut Visible(conn), mutation)
}

/// The state around one ticket (`fyncall_domain::state::load_around`).
pub(crate) fn load_around(conn: &Connection, ticket: Uuid) -> Result<State> {
    fyncall_domain::state::load_around(&mut Visible(conn), ticket)
}

/// Where a written row's server copy comes from.
enum ServerCopy {
    /// Keep what the row holds.
    Keep,
    /// Set it (NULL: the server does not have this row yet).
    Set(Option<String>),
}

/// One write transaction's bookkeeping: remembers each touched ticket as it
/// was before, to report what changed.
pub(crate) struct Batch<'c> {
    pub conn: &'c Connection,
    pub settings: TeamSettings,
    names: HashMap<Uuid, String>,
    before: BTreeMap<Uuid, Option<Ticket>>,
    /// Tickets whose search row must be rebuilt before the commit, with
    /// their subject and description when known.
    search_dirty: BTreeMap<Uuid, Option<(String, Option<String>)>>,
    /// Whether any local change lies anywhere (else no row has an overlay).
    overlays: bool,
    /// A first download: no before/after per ticket (see [`ChangeSet::bulk`]).
    pub bulk: bool,
    /// A long first download that builds the search index once at its end
    /// ([`rebuild_search`]): no search row is written ticket by ticket.
    pub defer_search: bool,
    pub changes: ChangeSet,
    /// What the writes change in the views' counts, while a first download
    /// keeps them (its triggers are off); written by [`Batch::finish`].
    counts: Option<Deltas>,
    /// The conversations in `changes.conversations`, to find them at once.
    touched: std::collections::HashSet<Uuid>,
}

impl<'c> Batch<'c> {
    pub fn new(conn: &'c Connection) -> Result<Batch<'c>> {
        let names = agents(conn)?
            .into_iter()
            .map(|a| (a.id, a.name.to_lowercase()))
            .collect();
        Ok(Batch {
            conn,
            settings: settings(conn)?,
            names,
            before: BTreeMap::new(),
            search_dirty: BTreeMap::new(),
            overlays: conn.query_row("SELECT EXISTS (SELECT 1 FROM outbox)", [], |r| r.get(0))?,
            bulk: false,
            defer_search: false,
            changes: ChangeSet::default(),
            counts: crate::counts::kept_by_download(conn)?.then(Deltas::default),
            touched: Default::default(),
        })
    }

    /// Counts a conversation as changed, once however many of its rows
    /// the batch writes.
    pub fn touch_conversation(&mut self, id: Uuid) {
        if self.touched.insert(id) {
            self.changes.conversations.push(id);
        }
    }

    /// Remembers a ticket's visible state before its first write.
    pub fn note(&mut self, id: Uuid) -> Result<()> {
        if !self.bulk && !self.before.contains_key(&id) {
            let before = visible_ticket(self.conn, id)?.map(|(t, _)| t);
            self.before.insert(id, before);
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<ChangeSet> {
        self.changes.bulk |= self.bulk;
        if let Some(counts) = self.counts.as_mut() {
            counts.write(self.conn)?;
        }
        // One rebuild per touched ticket, however many of its rows changed.
        let dirty = std::mem::take(&mut self.search_dirty);
        for (id, text) in dirty.into_iter().filter(|_| !self.defer_search) {
            let row: Option<(i64, String)> = self
                .conn
                .prepare_cached("SELECT rowid, data FROM tickets WHERE id = ?1")?
                .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let Some((rowid, data)) = row else { continue };
            let (subject, description) = match text {
                Some(text) => text,
                None => {
                    let t: Ticket = serde_json::from_str(&data)?;
                    (t.subject, t.description)
                }
            };
            self.conn
                .prepare_cached("DELETE FROM ticket_search WHERE rowid = ?1")?
                .execute([rowid])?;
            self.conn
                .prepare_cached(
                    "INSERT INTO ticket_search (rowid, subject, description, comments)
                     VALUES (?1, ?2, ?3, (SELECT group_concat(json_extract(data, '$.data.body'), ' ') FROM activity
                                          WHERE ticket_id = ?4 AND kind = 'comment'))",
                )?
                .execute(params![rowid, subject, description, id.to_string()])?;
        }
        // The inbox columns of every touched conversation, once each.
        for id in &self.changes.conversations {
            crate::inbox::refresh(self.conn, *id)?;
        }
        for (id, before) in std::mem::take(&mut self.before) {
            let after = visible_ticket(self.conn, id)?.map(|(t, _)| t);
            if before != after {
                self.changes
                    .tickets
                    .push(TicketChange { id, before, after });
            }
        }
        Ok(self.changes)
    }

    pub fn set_agent_name(&mut self, agent: &Agent) -> Result<()> {
        let name = agent.name.to_lowercase();
        if self.names.get(&agent.id) != Some(&name) {
            self.conn.execute(
                "UPDATE tickets SET assignee_key = ?1 WHERE assignee_id = ?2",
                params![name, agent.id.to_string()],
            )?;
            self.names.insert(agent.id, name);
        }
        Ok(())
    }

    fn write_visible(&mut self, t: &Ticket, overlay: bool, server: ServerCopy) -> Result<()> {
        let moments = sla::moments(t, &self.settings.sla);
        let status_rank = Status::ALL
            .iter()
            .position(|s| *s == t.status)
            .unwrap_or_default() as i64;
        let assignee_key = t
            .assignee_id
            .and_then(|a| self.names.get(&a).cloned())
            .unwrap_or_default();
        let (keep, server_data) = match server {
            ServerCopy::Keep => (true, None),
            ServerCopy::Set(d) => (false, d),
        };
        let data = serde_json::to_string(t)?;
        let id = t.id.to_string();
        let source = source_str(t);
        let at_risk_at = moments.at_risk_at.map(millis);
        if let Some(counts) = self.counts.as_mut() {
            if let Some(old) = Counted::stored(self.conn, &id)? {
                counts.add(&old, -1);
            }
            counts.add(
                &Counted {
                    open: t.status != Status::Closed,
                    status: t.status.as_str().to_owned(),
                    source: source.clone(),
                    assignee_id: t.assignee_id.map(|a| a.to_string()),
                    at_risk_at,
                },
                1,
            );
        }
        self.conn.prepare_cached(
            "INSERT INTO tickets (id, conversation_id, number_key, subject_key, status, status_rank,
                 priority, priority_rank, assignee_id, assignee_key, category, category_key, source,
                 open, created_at, updated_at, updated_desc, due_key, at_risk_at, overlay, data,
                 server_data, tags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?24)
             ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id,
                 number_key = excluded.number_key, subject_key = excluded.subject_key,
                 status = excluded.status, status_rank = excluded.status_rank,
                 priority = excluded.priority, priority_rank = excluded.priority_rank,
                 assignee_id = excluded.assignee_id, assignee_key = excluded.assignee_key,
                 category = excluded.category, category_key = excluded.category_key,
                 source = excluded.source, open = excluded.open, created_at = excluded.created_at,
                 updated_at = excluded.updated_at, updated_desc = excluded.updated_desc,
                 due_key = excluded.due_key, at_risk_at = excluded.at_risk_at,
                 overlay = excluded.overlay, data = excluded.data, tags = excluded.tags,
                 server_data = CASE WHEN ?23 THEN tickets.server_data ELSE excluded.server_data END",
        )?
        .execute(
            params![
                id,
                t.conversation_id.to_string(),
                t.number.unwrap_or(NO_NUMBER),
                t.subject.to_lowercase(),
                t.status.as_str(),
                status_rank,
                t.priority.as_str(),
                i64::from(t.priority.rank()),
                t.assignee_id.map(|a| a.to_string()),
                assignee_key,
                t.category,
                t.category.as_deref().map(str::to_lowercase).unwrap_or_default(),
                source,
                t.status != Status::Closed,
                millis(t.created_at),
                millis(t.updated_at),
                -millis(t.updated_at),
                moments.due_at.map_or(NO_DUE, millis),
                at_risk_at,
                overlay,
                data,
                server_data,
                keep,
                fyncall_domain::tags::column(&t.tags),
            ],
        )?;
        self.search_dirty
            .insert(t.id, Some((t.subject.clone(), t.description.clone())));
        Ok(())
    }

    /// Stores the server's row. Returns whether local changes lie on top of
    /// it (the caller must rebase them).
    pub fn server_ticket(&mut self, t: &Ticket) -> Result<bool> {
        self.note(t.id)?;
        if !self.overlays {
            self.write_visible(t, false, ServerCopy::Set(None))?;
            return Ok(false);
        }
        let overlay: Option<bool> = self
            .conn
            .query_row(
                "SELECT overlay FROM tickets WHERE id = ?1",
                [t.id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if overlay == Some(true) {
            self.conn.execute(
                "UPDATE tickets SET server_data = ?1 WHERE id = ?2",
                params![serde_json::to_string(t)?, t.id.to_string()],
            )?;
            return Ok(true);
        }
        self.write_visible(t, false, ServerCopy::Set(None))?;
        Ok(false)
    }

    /// What the server copy of a row becomes when a local change is laid
    /// on it: its current data if it had none on top yet, else unchanged.
    fn server_copy(&self, table: &str, id: Uuid) -> Result<ServerCopy> {
        let row: Option<(bool, String)> = self
            .conn
            .prepare_cached(&format!("SELECT overlay, data FROM {table} WHERE id = ?1"))?
            .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        Ok(match row {
            None => ServerCopy::Set(None),
            Some((false, data)) => ServerCopy::Set(Some(data)),
            Some((true, _)) => ServerCopy::Keep,
        })
    }

    /// Lays a local change over a ticket, keeping the server's copy.
    pub fn local_ticket(&mut self, t: &Ticket) -> Result<()> {
        self.note(t.id)?;
        let server = self.server_copy("tickets", t.id)?;
        self.write_visible(t, true, server)
    }

    /// Drops a ticket's local changes: back to the server's row (or gone,
    /// if the server does not have it).
    pub fn reset_ticket(&mut self, id: Uuid) -> Result<()> {
        self.note(id)?;
        let row: Option<(bool, Option<String>)> = self
            .conn
            .query_row(
                "SELECT overlay, server_data FROM tickets WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((true, server)) = row else {
            return Ok(());
        };
        self.conn.execute(
            "DELETE FROM activity WHERE ticket_id = ?1 AND pending = 1",
            [id.to_string()],
        )?;
        match server {
            Some(data) => {
                let t: Ticket = serde_json::from_str(&data)?;
                self.write_visible(&t, false, ServerCopy::Set(None))?;
            }
            None => {
                if let Some(counts) = self.counts.as_mut() {
                    if let Some(old) = Counted::stored(self.conn, &id.to_string())? {
                        counts.add(&old, -1);
                    }
                }
                self.conn.execute(
                    "DELETE FROM ticket_search WHERE rowid = (SELECT rowid FROM tickets WHERE id = ?1)",
                    [id.to_string()],
                )?;
                self.conn
                    .execute("DELETE FROM tickets WHERE id = ?1", [id.to_string()])?;
            }
        }
        Ok(())
    }

    fn write_conversation(
        &mut self,
        c: &Conversation,
        overlay: bool,
        server: ServerCopy,
    ) -> Result<()> {
        let (keep, server_data) = match server {
            ServerCopy::Keep => (true, None),
            ServerCopy::Set(d) => (false, d),
        };
        self.conn
            .prepare_cached(
                "INSERT INTO conversations (id, created_at, overlay, data, server_data)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at,
                     overlay = excluded.overlay, data = excluded.data,
                     server_data = CASE WHEN ?6 THEN conversations.server_data
                                   ELSE excluded.server_data END",
            )?
            .execute(params![
                c.id.to_string(),
                millis(c.created_at),
                overlay,
                serde_json::to_string(c)?,
                server_data,
                keep
            ])?;
        self.touch_conversation(c.id);
        Ok(())
    }

    pub fn server_conversation(&mut self, c: &Conversation) -> Result<bool> {
        if !self.overlays {
            self.write_conversation(c, false, ServerCopy::Set(None))?;
            return Ok(false);
        }
        let overlay: Option<bool> = self
            .conn
            .query_row(
                "SELECT overlay FROM conversations WHERE id = ?1",
                [c.id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if overlay == Some(true) {
            self.conn.execute(
                "UPDATE conversations SET server_data = ?1 WHERE id = ?2",
                params![serde_json::to_string(c)?, c.id.to_string()],
            )?;
            self.touch_conversation(c.id);
            return Ok(true);
        }
        self.write_conversation(c, false, ServerCopy::Set(None))?;
        Ok(false)
    }

    fn local_conversation(&mut self, c: &Conversation) -> Result<()> {
        let server = self.server_copy("conversations", c.id)?;
        self.write_conversation(c, true, server)
    }

    pub fn reset_conversation(&mut self, id: Uuid) -> Result<()> {
        let row: Option<(bool, Option<String>)> = self
            .conn
            .query_row(
                "SELECT overlay, server_data FROM conversations WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        self.conn.execute(
            "DELETE FROM messages WHERE conversation_id = ?1 AND pending = 1",
            [id.to_string()],
        )?;
        self.touch_conversation(id);
        match row {
            Some((true, Some(data))) => {
                let c: Conversation = serde_json::from_str(&data)?;
                self.write_conversation(&c, false, ServerCopy::Set(None))?;
            }
            Some((true, None)) => {
                self.conn
                    .execute("DELETE FROM conversations WHERE id = ?1", [id.to_string()])?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A message as the server has it; a reply whose delivery has failed
    /// is noted for the notifier (not on a first download: nothing in it
    /// is news).
    pub fn pulled_message(&mut self, m: &Message) -> Result<()> {
        self.message(m, false)?;
        if !self.bulk
            && m.delivery
                .as_ref()
                .is_some_and(|d| d.state == fyncall_domain::DeliveryState::Failed)
        {
            self.changes.failed_replies.push(m.clone());
        }
        Ok(())
    }

    pub fn message(&mut self, m: &Message, pending: bool) -> Result<()> {
        let sql = if pending {
            "INSERT OR IGNORE INTO messages (id, conversation_id, sent_at, pending, data, author, body)
             VALUES (?1, ?2, ?3, 1, ?4, ?5, ?6)"
        } else {
            "INSERT INTO messages (id, conversation_id, sent_at, pending, data, author, body)
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id,
                 sent_at = excluded.sent_at, pending = 0, data = excluded.data,
                 author = excluded.author, body = excluded.body"
        };
        self.conn.prepare_cached(sql)?.execute(params![
            m.id.to_string(),
            m.conversation_id.to_string(),
            millis(m.sent_at),
            serde_json::to_string(m)?,
            m.author.as_str(),
            m.body
        ])?;
        self.touch_conversation(m.conversation_id);
        Ok(())
    }

    pub fn activity(&mut self, a: &Activity, pending: bool) -> Result<()> {
        let sql = if pending {
            "INSERT OR IGNORE INTO activity (id, ticket_id, at, kind, pending, data)
             VALUES (?1, ?2, ?3, ?4, 1, ?5)"
        } else {
            "INSERT INTO activity (id, ticket_id, at, kind, pending, data)
             VALUES (?1, ?2, ?3, ?4, 0, ?5)
             ON CONFLICT (id) DO UPDATE SET ticket_id = excluded.ticket_id, at = excluded.at,
                 kind = excluded.kind, pending = 0, data = excluded.data"
        };
        let written = self.conn.prepare_cached(sql)?.execute(params![
            a.id.to_string(),
            a.ticket_id.to_string(),
            millis(a.at),
            a.change.kind(),
            serde_json::to_string(&StoredActivity {
                client_at: a.client_at,
                actor: a.actor,
                change: &a.change,
            })?,
        ])?;
        if written > 0 && matches!(a.change, Change::Comment { .. }) {
            self.search_dirty.entry(a.ticket_id).or_insert(None);
        }
        if let Change::Comment { mention_ids, .. } = &a.change {
            // Naming oneself is no mention to be told of.
            for agent in mention_ids.iter().filter(|m| Some(**m) != a.actor.agent_id) {
                self.conn
                    .prepare_cached(
                        "INSERT OR IGNORE INTO mentions (entry_id, agent_id, ticket_id, by_agent_id, at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?
                    .execute(params![
                        a.id.to_string(),
                        agent.to_string(),
                        a.ticket_id.to_string(),
                        a.actor.agent_id.map(|b| b.to_string()),
                        millis(a.at),
                    ])?;
            }
        }
        Ok(())
    }

    /// Writes the optimistic result of a local action.
    pub fn local(&mut self, applied: &Applied) -> Result<()> {
        self.overlays = true;
        for id in &applied.conversations {
            if let Some(c) = applied.state.conversations.get(id) {
                self.local_conversation(c)?;
            }
        }
        for id in &applied.tickets {
            if let Some(t) = applied.state.tickets.get(id) {
                self.local_ticket(t)?;
            }
        }
        for a in &applied.activity {
            self.activity(a, true)?;
        }
        for m in &applied.messages {
            self.message(m, true)?;
        }
        // Read here: read at once (the mark reaches the server with the push).
        for entry in &applied.read_mentions {
            self.conn
                .prepare_cached("UPDATE mentions SET read = 1 WHERE entry_id = ?1")?
                .execute([entry.to_string()])?;
        }
        Ok(())
    }

    /// Recomputes the stored SLA moments of every ticket (the policy changed).
    pub fn recompute_moments(&mut self) -> Result<()> {
        let rows: Vec<(String, String)> = {
            let mut stmt = self.conn.prepare("SELECT id, data FROM tickets")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let mut stmt = self
            .conn
            .prepare("UPDATE tickets SET due_key = ?1, at_risk_at = ?2 WHERE id = ?3")?;
        for (id, data) in rows {
            let t: Ticket = serde_json::from_str(&data)?;
            let m = sla::moments(&t, &self.settings.sla);
            stmt.execute(params![
                m.due_at.map_or(NO_DUE, millis),
                m.at_risk_at.map(millis),
                id
            ])?;
        }
        if let Some(counts) = self.counts.as_mut() {
            counts.recount(self.conn)?;
        }
        Ok(())
    }
}

fn source_str(t: &Ticket) -> String {
    serde_json::to_value(t.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The tickets and conversations a mutation's effect can reach.
pub(crate) fn reach(
    conn: &Connection,
    mutation: &Mutation,
    tickets: &mut BTreeSet<Uuid>,
    conversations: &mut BTreeSet<Uuid>,
) -> Result<()> {
    let scope = mutation.scope();
    if let Some(t) = scope.ticket {
        tickets.insert(t);
    }
    if let (Some(c), None) = (scope.conversation, scope.ticket) {
        conversations.insert(c);
        tickets.extend(linked_ids(conn, c)?);
    }
    Ok(())
}

/// A timeline entry as its row's `data` holds it: what its columns (id,
/// ticket, time) do not already say. `C`: its change, borrowed to write.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredActivity<C> {
    #[serde(
        with = "fyncall_domain::wire::millis_opt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    client_at: Option<fyncall_domain::Timestamp>,
    actor: fyncall_domain::ActorRef,
    #[serde(flatten)]
    change: C,
}

/// The entry of an `activity` row from its id, ticket_id, at and data.
pub(crate) fn stored_activity(row: &rusqlite::Row<'_>) -> Result<Activity> {
    let uuid = |i: usize| -> Result<Uuid> {
        let text: String = row.get(i)?;
        Uuid::parse_str(&text)
            .map_err(|e| CacheError::Corrupt(format!("a timeline entry's id {text:?}: {e}")))
    };
    let stored: StoredActivity<Change> = serde_json::from_str(&row.get::<_, String>(3)?)?;
    Ok(Activity {
        id: uuid(0)?,
        ticket_id: uuid(1)?,
        at: crate::from_millis(row.get(2)?),
        client_at: stored.client_at,
        actor: stored.actor,
        change: stored.change,
    })
}

/// The columns of `activity` named `table` in a query that
/// [`stored_activity`] reads, in its order.
pub(crate) fn activity_columns(table: &str) -> String {
    format!("{table}.id, {table}.ticket_id, {table}.at, {table}.data")
}

/// Writes every ticket's search row again from its visible row and its
/// comments, in one statement: the end of a long first download, which
/// wrote none ticket by ticket.
pub(crate) fn rebuild_search(conn: &Connection) -> Result<()> {
    crate::restore::empty(conn, "ticket_search")?;
    conn.execute(
        "INSERT INTO ticket_search (rowid, subject, description, comments)
         SELECT t.rowid, json_extract(t.data, '$.subject'), json_extract(t.data, '$.description'),
                (SELECT group_concat(json_extract(a.data, '$.data.body'), ' ') FROM activity a
                 WHERE a.ticket_id = t.id AND a.kind = 'comment')
         FROM tickets t",
        [],
    )?;
    Ok(())
}
