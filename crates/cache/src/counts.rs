//! The sidebar's counts, kept as rows change instead of counted per refresh.
//!
//! Triggers on `tickets`, written from the views' rules (`View::rule`, the
//! data every reader translates), add and take away as rows are inserted,
//! changed and deleted:
//! - `view_counts`: for a view whose rule does not depend on the time, how
//!   many tickets it holds — per assignee for a view of the viewer's own
//!   tickets. A count is one key lookup however many tickets there are.
//! - `view_days`: for a view of tickets at risk (at risk or breached now,
//!   `at_risk_at <= now`), how many of its tickets turn at risk on each UTC
//!   day. Its count at `now` is the sum over the days before today plus
//!   today's tickets already at risk, read on the at-risk index: a few
//!   hundred rows at most, however many tickets are at risk.
//!
//! A first download drops the tickets' triggers with the sort indexes (row
//! by row they would cost it about a second) and keeps the counts itself:
//! each transaction adds up what its writes took from and gave to each
//! count ([`Deltas`], the same rules read on rows in memory) and writes the
//! sums once before its commit, so a view's total stays one key lookup while
//! the download runs; at its end the triggers come back with no recount
//! ([`end_download`]). The meta key `view_counts` names the rules the
//! counts were kept by (and whether a download keeps them), so a build with
//! other rules writes them again and recounts at open.

use std::collections::HashMap;

use fyncall_domain::views::{Term, ViewRule};
use fyncall_domain::{Timestamp, View};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;
use crate::{meta, millis, set_meta};

const DAY_MS: i64 = 86_400_000;

/// How a view's count is kept.
#[derive(Clone, Copy, PartialEq)]
enum Kept {
    /// `view_counts`, under the key `condition` gives.
    Counted,
    /// `view_days`, by the day its tickets turn at risk.
    ByDay,
}

/// The views whose counts are kept, and how.
fn kept() -> impl Iterator<Item = (View, ViewRule, Kept)> {
    View::ALL.into_iter().filter_map(|v| {
        let rule = v.rule();
        match (rule.at_risk, rule.assigned_to_viewer) {
            (false, _) => Some((v, rule, Kept::Counted)),
            (true, false) => Some((v, rule, Kept::ByDay)),
            // At risk and the viewer's own: counted when asked.
            (true, true) => None,
        }
    })
}

/// The rule's condition on one row (`row`: `NEW`, `OLD` or a table alias)
/// and the key it is counted under: a view of the viewer's own tickets is
/// counted per assignee, an at-risk view per day its tickets turn at risk
/// (the reader adds up the days to now; see [`kept`]).
fn condition(rule: &ViewRule, row: &str) -> (String, String) {
    let mut terms = Vec::new();
    let mut key = "''".to_owned();
    for term in rule.terms(&[]) {
        match term {
            Term::NotClosed => terms.push(format!("{row}.open = 1")),
            Term::Status(s) => terms.push(format!("{row}.status = '{}'", s.as_str())),
            Term::Source(s) => terms.push(format!("{row}.source = '{}'", s.as_str())),
            Term::AssignedToViewer => {
                terms.push(format!("{row}.assignee_id IS NOT NULL"));
                key = format!("{row}.assignee_id");
            }
            Term::AtRisk => {
                terms.push(format!("{row}.at_risk_at IS NOT NULL"));
                key = format!("{row}.at_risk_at / {DAY_MS}");
            }
        }
    }
    if terms.is_empty() {
        terms.push("1".into());
    }
    (terms.join(" AND "), key)
}

fn table(kept: Kept) -> (&'static str, &'static str) {
    match kept {
        Kept::Counted => ("view_counts", "assignee"),
        Kept::ByDay => ("view_days", "day"),
    }
}

fn add(view: View, rule: &ViewRule, kept: Kept, row: &str) -> String {
    let (when, key) = condition(rule, row);
    let (table, column) = table(kept);
    format!(
        "INSERT INTO {table} (view, {column}, n) SELECT '{}', {key}, 1 WHERE {when}
         ON CONFLICT (view, {column}) DO UPDATE SET n = n + 1;",
        view.as_str()
    )
}

fn take(view: View, rule: &ViewRule, kept: Kept, row: &str) -> String {
    let (when, key) = condition(rule, row);
    let (table, column) = table(kept);
    format!(
        "UPDATE {table} SET n = n - 1 WHERE view = '{}' AND {column} = {key} AND {when};",
        view.as_str()
    )
}

/// The triggers, written from the rules once per process (every count
/// compares them with the ones in the file).
fn triggers() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(write_triggers)
}

fn write_triggers() -> String {
    let (mut inserted, mut deleted, mut updated) = (String::new(), String::new(), String::new());
    for (view, rule, kept) in kept() {
        inserted.push_str(&add(view, &rule, kept, "NEW"));
        deleted.push_str(&take(view, &rule, kept, "OLD"));
        updated.push_str(&take(view, &rule, kept, "OLD"));
        updated.push_str(&add(view, &rule, kept, "NEW"));
    }
    // The inbox views differ only by who holds the conversation (their
    // rule's `holder`): one count per holder, '' for nobody.
    let holder = |row: &str| format!("coalesce({row}.assignee_id, '')");
    let (add_holder, take_holder) = (
        |row: &str| {
            format!(
                "INSERT INTO inbox_holders (assignee, n) VALUES ({}, 1)
                 ON CONFLICT (assignee) DO UPDATE SET n = n + 1;",
                holder(row)
            )
        },
        |row: &str| {
            format!(
                "UPDATE inbox_holders SET n = n - 1 WHERE assignee = {};",
                holder(row)
            )
        },
    );
    format!(
        "CREATE TRIGGER view_counts_insert AFTER INSERT ON tickets BEGIN {inserted} END;
         CREATE TRIGGER view_counts_delete AFTER DELETE ON tickets BEGIN {deleted} END;
         CREATE TRIGGER view_counts_update AFTER UPDATE ON tickets BEGIN {updated} END;
         CREATE TRIGGER inbox_counts_insert AFTER INSERT ON conversations BEGIN {} END;
         CREATE TRIGGER inbox_counts_delete AFTER DELETE ON conversations BEGIN {} END;
         CREATE TRIGGER inbox_counts_update AFTER UPDATE OF assignee_id ON conversations
             BEGIN {} {} END;",
        add_holder("NEW"),
        take_holder("OLD"),
        take_holder("OLD"),
        add_holder("NEW"),
    )
}

/// What `view_counts` in meta holds while a first download keeps the
/// counts: the rules' triggers, marked (the inbox's triggers stay on).
fn downloading() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| format!("kept by a first download\n{}", triggers()))
}

const DROP_TICKETS: &str = "DROP TRIGGER IF EXISTS view_counts_insert;
    DROP TRIGGER IF EXISTS view_counts_delete;
    DROP TRIGGER IF EXISTS view_counts_update;";

const DROP_INBOX: &str = "DROP TRIGGER IF EXISTS inbox_counts_insert;
    DROP TRIGGER IF EXISTS inbox_counts_delete;
    DROP TRIGGER IF EXISTS inbox_counts_update;";

/// Drops every count trigger, the tickets' and the inbox's.
fn drop_triggers(conn: &Connection) -> Result<()> {
    conn.execute_batch(DROP_TICKETS)?;
    conn.execute_batch(DROP_INBOX)?;
    Ok(())
}

/// Whether the counts are kept by triggers written from these rules.
pub(crate) fn current(conn: &Connection) -> Result<bool> {
    Ok(meta(conn, "view_counts")?.as_deref() == Some(triggers()))
}

/// Whether the kept counts can be read: kept by the triggers written from
/// these rules, or by a first download keeping them by the same rules.
pub(crate) fn readable(conn: &Connection) -> Result<bool> {
    let kept = meta(conn, "view_counts")?;
    Ok(kept.as_deref() == Some(triggers()) || kept.as_deref() == Some(downloading()))
}

/// Whether a first download keeps the counts (its writes add up [`Deltas`]).
pub(crate) fn kept_by_download(conn: &Connection) -> Result<bool> {
    Ok(meta(conn, "view_counts")?.as_deref() == Some(downloading()))
}

/// A first download begins: the counts are made exact for the rows there
/// (none in a new cache) and its transactions keep them from now on; the
/// tickets' triggers are dropped, the inbox's stay.
pub(crate) fn begin_download(conn: &Connection) -> Result<()> {
    install(conn)?;
    conn.execute_batch(DROP_TICKETS)?;
    set_meta(conn, "view_counts", downloading())?;
    Ok(())
}

/// A first download ends: the counts it kept are exact, so the tickets'
/// triggers come back without a recount (a download that did not keep
/// them, or by other rules, counts once).
pub(crate) fn end_download(conn: &Connection) -> Result<()> {
    if !kept_by_download(conn)? {
        return install(conn);
    }
    drop_triggers(conn)?;
    let sql = triggers();
    conn.execute_batch(sql)?;
    set_meta(conn, "view_counts", sql)?;
    Ok(())
}

/// Counts the tickets' views again from their rows (not the inbox's),
/// inside the caller's transaction.
fn recount_tickets(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM view_counts", [])?;
    conn.execute("DELETE FROM view_days", [])?;
    for (view, rule, kept) in kept() {
        let (when, key) = condition(&rule, "t");
        let (table, column) = table(kept);
        conn.execute(
            &format!(
                "INSERT INTO {table} (view, {column}, n)
                 SELECT '{}', {key}, count(*) FROM tickets t WHERE {when} GROUP BY 2",
                view.as_str()
            ),
            [],
        )?;
    }
    Ok(())
}

/// Counts every kept view once and keeps them from now on; inside the
/// caller's transaction.
pub(crate) fn install(conn: &Connection) -> Result<()> {
    drop_triggers(conn)?;
    conn.execute("DELETE FROM inbox_holders", [])?;
    conn.execute(
        "INSERT INTO inbox_holders (assignee, n)
         SELECT coalesce(assignee_id, ''), count(*) FROM conversations GROUP BY 1",
        [],
    )?;
    recount_tickets(conn)?;
    let sql = triggers();
    conn.execute_batch(sql)?;
    set_meta(conn, "view_counts", sql)?;
    Ok(())
}

/// A ticket row's columns that the kept counts read.
pub(crate) struct Counted {
    pub open: bool,
    pub status: String,
    pub source: String,
    pub assignee_id: Option<String>,
    pub at_risk_at: Option<i64>,
}

impl Counted {
    /// The stored row of ticket `id`, if there is one.
    pub(crate) fn stored(conn: &Connection, id: &str) -> Result<Option<Counted>> {
        Ok(conn
            .prepare_cached(
                "SELECT open, status, source, assignee_id, at_risk_at FROM tickets WHERE id = ?1",
            )?
            .query_row([id], |r| {
                Ok(Counted {
                    open: r.get(0)?,
                    status: r.get(1)?,
                    source: r.get(2)?,
                    assignee_id: r.get(3)?,
                    at_risk_at: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// Where the row counts in a kept view: its key, or `None` when the
    /// view does not hold it. The rule read as [`condition`] writes it in SQL.
    fn key(&self, rule: &ViewRule) -> Option<Key> {
        let mut key = Key::Assignee(String::new());
        for term in rule.terms(&[]) {
            match term {
                Term::NotClosed if !self.open => return None,
                Term::NotClosed => {}
                Term::Status(s) if self.status != s.as_str() => return None,
                Term::Status(_) => {}
                Term::Source(s) if self.source != s.as_str() => return None,
                Term::Source(_) => {}
                Term::AssignedToViewer => key = Key::Assignee(self.assignee_id.clone()?),
                // SQLite's integer division truncates, as Rust's does.
                Term::AtRisk => key = Key::Day(self.at_risk_at? / DAY_MS),
            }
        }
        Some(key)
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Assignee(String),
    Day(i64),
}

/// What one transaction's ticket writes add to and take from each kept
/// count while a first download keeps them; written once, before its commit.
#[derive(Default)]
pub(crate) struct Deltas(HashMap<(View, Key), i64>);

impl Deltas {
    /// Counts `row` in (`by` 1) or out (-1) of every kept view that holds it.
    pub(crate) fn add(&mut self, row: &Counted, by: i64) {
        for (view, rule, _) in kept() {
            if let Some(key) = row.key(&rule) {
                *self.0.entry((view, key)).or_default() += by;
            }
        }
    }

    /// Adds the sums to the kept counts.
    pub(crate) fn write(&mut self, conn: &Connection) -> Result<()> {
        for ((view, key), n) in self.0.drain().filter(|(_, n)| *n != 0) {
            match key {
                Key::Assignee(a) => conn
                    .prepare_cached(
                        "INSERT INTO view_counts (view, assignee, n) VALUES (?1, ?2, ?3)
                         ON CONFLICT (view, assignee) DO UPDATE SET n = n + excluded.n",
                    )?
                    .execute(params![view.as_str(), a, n])?,
                Key::Day(d) => conn
                    .prepare_cached(
                        "INSERT INTO view_days (view, day, n) VALUES (?1, ?2, ?3)
                         ON CONFLICT (view, day) DO UPDATE SET n = n + excluded.n",
                    )?
                    .execute(params![view.as_str(), d, n])?,
            };
        }
        Ok(())
    }

    /// The counts made again from the rows (a change that reaches every
    /// ticket, as a new SLA policy): what was added up is dropped.
    pub(crate) fn recount(&mut self, conn: &Connection) -> Result<()> {
        self.0.clear();
        recount_tickets(conn)
    }
}

/// How each kept view is counted now for `viewer`: `None` when the counts
/// are not kept now (by other rules) and must be counted.
pub(crate) struct KeptCounts<'c> {
    conn: &'c Connection,
    viewer: String,
}

impl<'c> KeptCounts<'c> {
    pub(crate) fn new(conn: &'c Connection, viewer: uuid::Uuid) -> Result<Option<KeptCounts<'c>>> {
        if !readable(conn)? {
            return Ok(None);
        }
        Ok(Some(KeptCounts {
            conn,
            viewer: viewer.to_string(),
        }))
    }

    /// The count of an inbox view: by who holds the conversations.
    pub(crate) fn inbox(&self, view: fyncall_domain::InboxView) -> Result<u64> {
        use fyncall_domain::inbox::Holder;
        let n: i64 = match view.rule().holder {
            Holder::Anyone => {
                self.conn
                    .query_row("SELECT coalesce(sum(n), 0) FROM inbox_holders", [], |r| {
                        r.get(0)
                    })?
            }
            holder => {
                let key = if holder == Holder::Viewer {
                    self.viewer.as_str()
                } else {
                    ""
                };
                self.conn
                    .query_row(
                        "SELECT n FROM inbox_holders WHERE assignee = ?1",
                        [key],
                        |r| r.get(0),
                    )
                    .optional()?
                    .unwrap_or(0)
            }
        };
        Ok(n.max(0) as u64)
    }

    /// The count of `view` at `now`, if it is kept.
    pub(crate) fn count(&self, view: View, now: Timestamp) -> Result<Option<u64>> {
        let Some((_, rule, kept)) = kept().find(|(v, _, _)| *v == view) else {
            return Ok(None);
        };
        let n: i64 = match kept {
            Kept::Counted => {
                let key = if rule.assigned_to_viewer {
                    self.viewer.as_str()
                } else {
                    ""
                };
                self.conn
                    .prepare_cached("SELECT n FROM view_counts WHERE view = ?1 AND assignee = ?2")?
                    .query_row([view.as_str(), key], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0)
            }
            Kept::ByDay => {
                let now = millis(now);
                let today = now.div_euclid(DAY_MS);
                // Each statement is prepared once per connection (a
                // refresh asks for every view's count).
                let before: i64 = self
                    .conn
                    .prepare_cached(
                        "SELECT coalesce(sum(n), 0) FROM view_days WHERE view = ?1 AND day < ?2",
                    )?
                    .query_row(rusqlite::params![view.as_str(), today], |r| r.get(0))?;
                // Today's, by the rule's own condition, on the at-risk index.
                let (when, _) = condition(&rule, "t");
                let today_sql = format!(
                    "SELECT count(*) FROM tickets t INDEXED BY tickets_at_risk
                     WHERE t.at_risk_at >= ?1 AND t.at_risk_at <= ?2 AND {when}"
                );
                let since: i64 = self
                    .conn
                    .prepare_cached(&today_sql)?
                    .query_row(rusqlite::params![today * DAY_MS, now], |r| r.get(0))?;
                before + since
            }
        };
        Ok(Some(n.max(0) as u64))
    }
}
