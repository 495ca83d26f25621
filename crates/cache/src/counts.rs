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
//! A first download drops the triggers with the sort indexes and counts
//! once at its end ([`install`]); the meta key `view_counts` names the rules
//! the triggers were written from, so a build with other rules (or a
//! download cut short) writes them again and recounts at open.

use fyncall_domain::views::ViewRule;
use fyncall_domain::{Timestamp, View};
use rusqlite::{Connection, OptionalExtension};

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
/// and the key it is counted under.
fn condition(rule: &ViewRule, kept: Kept, row: &str) -> (String, String) {
    let mut terms = Vec::new();
    if rule.hides_closed(&[]) {
        terms.push(format!("{row}.open = 1"));
    }
    if let Some(status) = rule.status {
        terms.push(format!("{row}.status = '{}'", status.as_str()));
    }
    if let Some(source) = rule.source {
        terms.push(format!("{row}.source = '{}'", source.as_str()));
    }
    let key = match kept {
        Kept::ByDay => {
            terms.push(format!("{row}.at_risk_at IS NOT NULL"));
            format!("{row}.at_risk_at / {DAY_MS}")
        }
        Kept::Counted if rule.assigned_to_viewer => {
            terms.push(format!("{row}.assignee_id IS NOT NULL"));
            format!("{row}.assignee_id")
        }
        Kept::Counted => "''".to_owned(),
    };
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
    let (when, key) = condition(rule, kept, row);
    let (table, column) = table(kept);
    format!(
        "INSERT INTO {table} (view, {column}, n) SELECT '{}', {key}, 1 WHERE {when}
         ON CONFLICT (view, {column}) DO UPDATE SET n = n + 1;",
        view.as_str()
    )
}

fn take(view: View, rule: &ViewRule, kept: Kept, row: &str) -> String {
    let (when, key) = condition(rule, kept, row);
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

const DROP: &str = "DROP TRIGGER IF EXISTS view_counts_insert;
    DROP TRIGGER IF EXISTS view_counts_delete;
    DROP TRIGGER IF EXISTS view_counts_update;
    DROP TRIGGER IF EXISTS inbox_counts_insert;
    DROP TRIGGER IF EXISTS inbox_counts_delete;
    DROP TRIGGER IF EXISTS inbox_counts_update;";

/// Whether the counts are kept by triggers written from these rules.
pub(crate) fn current(conn: &Connection) -> Result<bool> {
    Ok(meta(conn, "view_counts")?.as_deref() == Some(triggers()))
}

/// Stops keeping the counts (a first download counts once at its end).
pub(crate) fn suspend(conn: &Connection) -> Result<()> {
    conn.execute_batch(DROP)?;
    conn.execute("DELETE FROM meta WHERE key = 'view_counts'", [])?;
    Ok(())
}

/// Counts every kept view once and keeps them from now on; inside the
/// caller's transaction.
pub(crate) fn install(conn: &Connection) -> Result<()> {
    conn.execute_batch(DROP)?;
    conn.execute("DELETE FROM view_counts", [])?;
    conn.execute("DELETE FROM view_days", [])?;
    conn.execute("DELETE FROM inbox_holders", [])?;
    conn.execute(
        "INSERT INTO inbox_holders (assignee, n)
         SELECT coalesce(assignee_id, ''), count(*) FROM conversations GROUP BY 1",
        [],
    )?;
    for (view, rule, kept) in kept() {
        let (when, key) = condition(&rule, kept, "t");
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
    let sql = triggers();
    conn.execute_batch(sql)?;
    set_meta(conn, "view_counts", sql)?;
    Ok(())
}

/// How each kept view is counted now for `viewer`: `None` when the counts
/// are not kept now (during a first download) and must be counted.
pub(crate) struct KeptCounts<'c> {
    conn: &'c Connection,
    viewer: String,
}

impl<'c> KeptCounts<'c> {
    pub(crate) fn new(conn: &'c Connection, viewer: uuid::Uuid) -> Result<Option<KeptCounts<'c>>> {
        if !current(conn)? {
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
                let (when, _) = condition(&rule, kept, "t");
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
