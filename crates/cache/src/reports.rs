//! The SLA compliance report from the local copy, so it works offline: the
//! same domain function as the server's, over the cache's tickets and their
//! assignment history (RULES.md "SLA compliance"), saying so when its
//! period reaches past the working set (`SlaReport::covers_since`); and the preview of what
//! new settings would do to the running tickets.

use fyncall_domain::report::{self, ReportQuery};
use fyncall_domain::sla::{self, PolicyPreview};
use fyncall_domain::{SlaReport, TeamSettings, Ticket, Timestamp};

use crate::error::Result;
use crate::{Cache, millis};

impl Cache {
    /// The report for `query` at `now`, from what this machine holds.
    pub fn sla_report(&self, query: &ReportQuery, now: Timestamp) -> Result<SlaReport> {
        let (from, to) = (millis(query.from), millis(query.to));
        // The tickets that may have an outcome in the period (the rule the
        // server reads by, on the cache's columns).
        let which = report::candidates_sql("t.status", "t.created_at", "t.updated_at", "?1", "?2");
        let mut entries = Vec::new();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM activity a JOIN tickets t ON t.id = a.ticket_id
             WHERE a.kind IN ('created', 'assigned') AND {which}",
            crate::rows::activity_columns("a")
        ))?;
        let mut rows = stmt.query([from, to])?;
        while let Some(row) = rows.next()? {
            entries.push(crate::rows::stored_activity(row)?);
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT t.data FROM tickets t WHERE {which}"))?;
        let mut tickets = Vec::new();
        for data in stmt.query_map([from, to], |r| r.get::<_, String>(0))? {
            tickets.push(serde_json::from_str::<Ticket>(&data?)?);
        }
        let tickets = report::gather(tickets, entries);
        let settings = self.settings()?;
        let agents = self.agents()?;
        let mut out = report::sla_report(&tickets, &settings, &agents, query, now);
        // A ticket closed before the working set's cutoff has left this
        // machine, and its outcomes were known before it closed: a period
        // from the cutoff on is whole here, an earlier one is not.
        let cut = fyncall_domain::working_set::cutoff(now, settings.sync_window_days);
        if query.from < cut {
            out.covers_since = Some(cut);
        }
        Ok(out)
    }

    /// What `new` settings would do to the open tickets at `now`, before an
    /// admin saves them.
    pub fn preview_settings(&self, new: &TeamSettings, now: Timestamp) -> Result<PolicyPreview> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM tickets WHERE open = 1")?;
        let mut tickets = Vec::new();
        for data in stmt.query_map([], |r| r.get::<_, String>(0))? {
            tickets.push(serde_json::from_str::<Ticket>(&data?)?);
        }
        let old = self.settings()?;
        Ok(sla::preview(&tickets, &old.sla, &new.sla, now))
    }
}
