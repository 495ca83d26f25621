//! Macros kept with one SQL text for both stores (`GET/POST /macros`,
//! `PATCH/DELETE /macros/{id}`); what a macro does is the domain's
//! ([`fyncall_domain::macros`]).

use fyncall_domain::Timestamp;
use fyncall_domain::macros::{Macro, MacroScope, NewMacro, usable_by};
use uuid::Uuid;

use crate::error::ApiError;
use crate::sessions::TokenDb;
use crate::store::{StoreError, StoreResult};
use crate::time::iso;

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn scope_text(scope: MacroScope) -> &'static str {
    match scope {
        MacroScope::Team => "team",
        MacroScope::Personal => "personal",
    }
}

/// The macros `agent` may use: the team's and their own, by name.
pub fn list(db: &mut dyn TokenDb, agent: Uuid) -> StoreResult<Vec<Macro>> {
    let rows = db.rows(
        "SELECT data FROM macros WHERE scope = 'team' OR owner_id = $1 ORDER BY name, id",
        &[Some(&agent.to_string())],
    )?;
    rows.into_iter()
        .map(|r| {
            let data = r.first().cloned().flatten().unwrap_or_default();
            serde_json::from_str(&data).map_err(db_err)
        })
        .collect()
}

/// One macro `agent` may use.
pub fn get(db: &mut dyn TokenDb, agent: Uuid, id: Uuid) -> StoreResult<Macro> {
    let rows = db.rows(
        "SELECT data FROM macros WHERE id = $1",
        &[Some(&id.to_string())],
    )?;
    let found: Option<Macro> = rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
        .map(|d| serde_json::from_str(&d).map_err(db_err))
        .transpose()?;
    match found {
        Some(m) if usable_by(&m, agent) => Ok(m),
        _ => Err(ApiError::not_found(format!("no macro {id} of yours or of the team")).into()),
    }
}

/// Keeps `m` (new, or replacing the one with its id).
pub fn save(db: &mut dyn TokenDb, m: &Macro, now: Timestamp) -> StoreResult<()> {
    let data = serde_json::to_string(m).map_err(db_err)?;
    let owner = m.owner_id.map(|o| o.to_string());
    let now = iso(now);
    db.exec(
        "INSERT INTO macros (id, scope, owner_id, name, data, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, owner_id = excluded.owner_id,
             name = excluded.name, data = excluded.data, updated_at = excluded.updated_at",
        &[
            Some(&m.id.to_string()),
            Some(scope_text(m.scope)),
            owner.as_deref(),
            Some(&m.name),
            Some(&data),
            Some(&now),
        ],
    )?;
    Ok(())
}

/// Removes a macro; whether it was there.
pub fn delete(db: &mut dyn TokenDb, id: Uuid) -> StoreResult<bool> {
    Ok(db.exec("DELETE FROM macros WHERE id = $1", &[Some(&id.to_string())])? > 0)
}

/// Who may make or change a macro of `scope`: anyone their own; admins the team's.
pub fn check_may_keep(
    agent: &fyncall_domain::Agent,
    scope: MacroScope,
    owner: Option<Uuid>,
) -> Result<(), ApiError> {
    match scope {
        MacroScope::Team if !agent.is_admin() => Err(ApiError::forbidden(
            "only an admin can keep team macros; make it a personal one (scope \"personal\")",
        )),
        MacroScope::Personal if owner.is_some_and(|o| o != agent.id) => Err(ApiError::forbidden(
            "a personal macro is its owner's to change",
        )),
        _ => Ok(()),
    }
}

/// A checked new macro as kept, by `agent`.
pub fn made(new: &NewMacro, id: Uuid, agent: Uuid) -> Result<Macro, ApiError> {
    let m = new.check().map_err(ApiError::from)?;
    Ok(Macro {
        id,
        name: m.name,
        scope: m.scope,
        owner_id: (m.scope == MacroScope::Personal).then_some(agent),
        text: m.text,
        text_kind: m.text_kind,
        actions: m.actions,
    })
}
