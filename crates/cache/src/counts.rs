//! The sidebar's counts, kept as rows change instead of counted per refresh.
//!
//! `view_counts` holds, for every view whose rule does not depend on the
//! time (all but SLA At Risk), how many tickets it holds — per assignee for
//! a view of the viewer's own tickets. Triggers on `tickets`, written from
//! the views' rules (`View::rule`, the data every reader translates), add
//! and take away as rows are inserted, changed and deleted, so a count is
//! one key lookup however many tickets there are. SLA At Risk moves with
//! the clock and is counted over its own index, which holds only the
//! tickets at risk.
//!
//! A first download drops the triggers with the sort indexes and counts
//! once at its end ([`install`]); the meta key `view_counts` names the rules
//! the triggers were written from, so a build with other rules (or a
//! download cut short) writes them again and recounts at open.

use fyncall_domain::View;
use fyncall_domain::views::ViewRule;
use rusqlite::Connection;

use crate::error::Result;
use crate::{meta, set_meta};

/// The views counted here: every view whose rule is not about the time.
fn kept() -> impl Iterator<Item = (View, ViewRule)> {
    View::ALL
        .into_iter()
        .map(|v| (v, v.rule()))
        .filter(|(_, rule)| !rule.at_risk)
}

/// The rule's condition on one row (`row`: `NEW`, `OLD` or a table alias)
/// and the key it is counted under.
fn condition(rule: &ViewRule, row: &str) -> (String, String) {
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
    let key = if rule.assigned_to_viewer {
        terms.push(format!("{row}.assignee_id IS NOT NULL"));
        format!("{row}.assignee_id")
    } else {
        "''".to_owned()
    };
    if terms.is_empty() {
        terms.push("1".into());
    }
    (terms.join(" AND "), key)
}

fn add(view: View, rule: &ViewRule, row: &str) -> String {
    let (when, key) = condition(rule, row);
    format!(
        "INSERT INTO view_counts (view, assignee, n) SELECT '{}', {key}, 1 WHERE {when}
         ON CONFLICT (view, assignee) DO UPDATE SET n = n + 1;",
        view.as_str()
    )
}

fn take(view: View, rule: &ViewRule, row: &str) -> String {
    let (when, key) = condition(rule, row);
    format!(
        "UPDATE view_counts SET n = n - 1 WHERE view = '{}' AND assignee = {key} AND {when};",
        view.as_str()
    )
}

/// The triggers, written from the rules.
fn triggers() -> String {
    let (mut inserted, mut deleted, mut updated) = (String::new(), String::new(), String::new());
    for (view, rule) in kept() {
        inserted.push_str(&add(view, &rule, "NEW"));
        deleted.push_str(&take(view, &rule, "OLD"));
        updated.push_str(&take(view, &rule, "OLD"));
        updated.push_str(&add(view, &rule, "NEW"));
    }
    format!(
        "CREATE TRIGGER view_counts_insert AFTER INSERT ON tickets BEGIN {inserted} END;
         CREATE TRIGGER view_counts_delete AFTER DELETE ON tickets BEGIN {deleted} END;
         CREATE TRIGGER view_counts_update AFTER UPDATE ON tickets BEGIN {updated} END;"
    )
}

const DROP: &str = "DROP TRIGGER IF EXISTS view_counts_insert;
    DROP TRIGGER IF EXISTS view_counts_delete;
    DROP TRIGGER IF EXISTS view_counts_update;";

/// Whether the counts are kept by triggers written from these rules.
pub(crate) fn current(conn: &Connection) -> Result<bool> {
    Ok(meta(conn, "view_counts")?.as_deref() == Some(triggers().as_str()))
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
    for (view, rule) in kept() {
        let (when, key) = condition(&rule, "t");
        conn.execute(
            &format!(
                "INSERT INTO view_counts (view, assignee, n)
                 SELECT '{}', {key}, count(*) FROM tickets t WHERE {when} GROUP BY 2",
                view.as_str()
            ),
            [],
        )?;
    }
    let sql = triggers();
    conn.execute_batch(&sql)?;
    set_meta(conn, "view_counts", &sql)?;
    Ok(())
}

/// The kept count of `view` for `viewer`; `None` when the counts are not
/// kept now (during a first download) and must be counted.
pub(crate) fn kept_count(conn: &Connection, view: View, viewer: uuid::Uuid) -> Result<Option<u64>> {
    let Some((_, rule)) = kept().find(|(v, _)| *v == view) else {
        return Ok(None);
    };
    if !current(conn)? {
        return Ok(None);
    }
    let key = if rule.assigned_to_viewer {
        viewer.to_string()
    } else {
        String::new()
    };
    let n: Option<i64> = rusqlite::OptionalExtension::optional(conn.query_row(
        "SELECT n FROM view_counts WHERE view = ?1 AND assignee = ?2",
        [view.as_str(), key.as_str()],
        |r| r.get(0),
    ))?;
    Ok(Some(n.unwrap_or(0).max(0) as u64))
}
