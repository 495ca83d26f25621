//! Macros on this machine: the ones the agent may use, as the server last
//! listed them, previewed and applied offline. Applying one is its steps
//! ([`fyncall_domain::macros::steps`]) acted one by one like any change:
//! each queued, a refused one named and the rest still done.

use chrono::TimeDelta;
use fyncall_domain::Refusal;
use fyncall_domain::Timestamp;
use fyncall_domain::macros::{self, Macro, Preview};
use rusqlite::params;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{CacheError, Result};
use crate::rows::load_around;
use crate::{Cache, clock_offset_ms, me};

/// A step the rules refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RefusedStep {
    pub kind: String,
    pub refusal: Refusal,
}

/// What applying a macro did here.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct MacroApplied {
    /// The kinds of the steps done (queued), in order.
    pub applied: Vec<String>,
    pub refused: Vec<RefusedStep>,
}

impl Cache {
    /// Keeps the server's list of the agent's macros; whether it changed.
    pub fn replace_macros(&mut self, list: &[Macro]) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let before: Vec<(String, String)> = {
            let mut st = tx.prepare("SELECT id, data FROM macros ORDER BY id")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut after: Vec<(String, String)> = list
            .iter()
            .map(|m| Ok((m.id.to_string(), serde_json::to_string(m)?)))
            .collect::<Result<_>>()?;
        after.sort();
        if before == after {
            return Ok(false);
        }
        tx.execute("DELETE FROM macros", [])?;
        for m in list {
            tx.execute(
                "INSERT INTO macros (id, name, data) VALUES (?1, ?2, ?3)",
                params![m.id.to_string(), m.name, serde_json::to_string(m)?],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// The agent's macros, by name.
    pub fn macros(&self) -> Result<Vec<Macro>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT data FROM macros ORDER BY name, id")?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.iter().map(|d| Ok(serde_json::from_str(d)?)).collect()
    }

    /// A macro by its id, or by its name (ignoring case).
    pub fn find_macro(&self, reference: &str) -> Result<Macro> {
        let all = self.macros()?;
        let wanted = reference.trim().to_lowercase();
        all.iter()
            .find(|m| m.id.to_string() == wanted)
            .or_else(|| all.iter().find(|m| m.name.to_lowercase() == wanted))
            .cloned()
            .ok_or_else(|| {
                CacheError::NotFound(format!(
                    "no macro \"{reference}\" here: {}",
                    if all.is_empty() {
                        "none is kept yet (sync, or make one)".to_owned()
                    } else {
                        format!(
                            "use one of {}",
                            all.iter()
                                .map(|m| format!("\"{}\"", m.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                ))
            })
    }

    /// What applying `m` to `ticket` would do now, for the signed-in agent.
    pub fn macro_preview(&self, ticket: Uuid, m: &Macro, local_now: Timestamp) -> Result<Preview> {
        let me = me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let at = local_now + TimeDelta::milliseconds(clock_offset_ms(&self.conn)?);
        let state = load_around(&self.conn, ticket)?;
        Ok(macros::preview(&state, me, m, ticket, at)?)
    }

    /// Applies `m` to `ticket`: each step acted and queued in order; a
    /// refused one is named and the rest still done.
    pub fn apply_macro(
        &mut self,
        ticket: Uuid,
        m: &Macro,
        local_now: Timestamp,
    ) -> Result<(MacroApplied, crate::ChangeSet)> {
        let me = me(&self.conn)?.ok_or(CacheError::NotSignedIn)?;
        let state = load_around(&self.conn, ticket)?;
        let t = state.ticket(ticket)?.clone();
        let values = macros::values(&state, &t, me);
        let steps = macros::steps(m, &t, me, &values, &mut Uuid::now_v7);
        let mut done = MacroApplied {
            applied: Vec::new(),
            refused: Vec::new(),
        };
        let mut changes = crate::ChangeSet::default();
        for step in steps {
            match self.act(step.mutation, local_now) {
                Ok(acted) => {
                    changes.merge(acted.changes);
                    done.applied.push(step.kind);
                }
                Err(CacheError::Refused(refusal)) => done.refused.push(RefusedStep {
                    kind: step.kind,
                    refusal,
                }),
                Err(e) => return Err(e),
            }
        }
        Ok((done, changes))
    }
}
