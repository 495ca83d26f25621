//! Tokens and sessions (API.md "Auth"), written once for both stores over
//! `TokenDb`: every statement is plain SQL with `$1`-style placeholders and
//! text columns, which each store runs as it is (PostgreSQL) or with `?1`
//! placeholders (SQLite).

use fyncall_domain::{Agent, Timestamp};
use uuid::Uuid;

use crate::store::{
    Ending, IntegrationToken, NewToken, Principal, Session, SessionRow, StoreError, StoreResult,
};
use crate::time::{iso, parse};

/// Runs token statements inside one store connection or transaction.
pub trait TokenDb {
    /// Runs a statement; the rows it changed.
    fn exec(&mut self, sql: &'static str, args: &[Option<&str>]) -> StoreResult<u64>;
    /// The rows of a query, every column read as optional text.
    fn rows(
        &mut self,
        sql: &'static str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>>;
    /// The rows of a query built at run time (not kept prepared).
    fn rows_built(
        &mut self,
        sql: &str,
        args: &[Option<&str>],
    ) -> StoreResult<Vec<Vec<Option<String>>>>;
    /// Ends any statement that runs past `limit` from now (`None`: no
    /// limit again) with an error: SQLite's progress handler, PostgreSQL's
    /// `statement_timeout`.
    fn time_limit(&mut self, limit: Option<std::time::Duration>) -> StoreResult<()>;
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn text(row: &[Option<String>], i: usize) -> StoreResult<&str> {
    row.get(i)
        .and_then(|c| c.as_deref())
        .ok_or_else(|| db_err(format!("token column {i} is empty")))
}

fn time(row: &[Option<String>], i: usize) -> StoreResult<Timestamp> {
    parse(text(row, i)?).map_err(db_err)
}

fn id(row: &[Option<String>], i: usize) -> StoreResult<Uuid> {
    Uuid::parse_str(text(row, i)?).map_err(db_err)
}

pub fn insert(db: &mut dyn TokenDb, token: &NewToken<'_>) -> StoreResult<()> {
    let (agent, integration) = match token.principal {
        Principal::Agent(a) => (Some(a.id.to_string()), None),
        Principal::Integration { name } => (None, Some(name.as_str())),
    };
    let now = iso(token.now);
    let token_id = token.id.to_string();
    db.exec(
        "INSERT INTO tokens (hash, id, agent_id, integration, created_at, last_used_at, user_agent)
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
        &[
            Some(token.hash),
            Some(&token_id),
            agent.as_deref(),
            integration,
            Some(&now),
            token.user_agent,
        ],
    )?;
    if let Some(agent) = agent.as_deref() {
        // At most MAX_SESSIONS_PER_AGENT live sessions: the least recently
        // used beyond them end (an agent signing in 500 times would hold
        // 500 × 8 live streams and multiply every per-session limit).
        db.exec(
            "UPDATE tokens SET revoked_at = $2
             WHERE agent_id = $1 AND revoked_at IS NULL
               AND (SELECT count(*) FROM tokens n
                    WHERE n.agent_id = $1 AND n.revoked_at IS NULL
                      AND (n.last_used_at > tokens.last_used_at
                           OR (n.last_used_at = tokens.last_used_at
                               AND (n.created_at > tokens.created_at
                                    OR (n.created_at = tokens.created_at AND n.hash > tokens.hash))))) >= 20",
            &[Some(agent), Some(&now)],
        )?;
    }
    Ok(())
}

/// The most live sessions one agent has: signing in again ends the least
/// recently used (the `20` in `insert`'s statement).
pub const MAX_SESSIONS_PER_AGENT: usize = 20;

/// The live token with this hash (see `Store::principal`).
pub fn session(
    db: &mut dyn TokenDb,
    hash: &str,
    idle_since: Timestamp,
) -> StoreResult<Option<Session>> {
    let since = iso(idle_since);
    let rows = db.rows(
        "SELECT t.id, t.last_used_at, a.data, t.integration, t.created_at
         FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id
         WHERE t.hash = $1 AND t.revoked_at IS NULL
           AND (t.integration IS NOT NULL OR t.last_used_at >= $2)",
        &[Some(hash), Some(&since)],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let principal = match (row.get(2).cloned().flatten(), row.get(3).cloned().flatten()) {
        (Some(agent), _) => {
            let agent: Agent = serde_json::from_str(&agent).map_err(db_err)?;
            if !agent.active {
                return Ok(None);
            }
            Principal::Agent(agent)
        }
        (None, Some(name)) => Principal::Integration { name },
        (None, None) => return Ok(None),
    };
    Ok(Some(Session {
        id: id(row, 0)?,
        principal,
        created_at: time(row, 4)?,
        last_used_at: time(row, 1)?,
    }))
}

/// Keeps a device token's hash for `agent`; an agent keeps the
/// MAX_DEVICES_PER_AGENT newest (the `20` below).
pub fn insert_device(
    db: &mut dyn TokenDb,
    hash: &str,
    agent: Uuid,
    now: Timestamp,
) -> StoreResult<()> {
    let (agent, now) = (agent.to_string(), iso(now));
    db.exec(
        "INSERT INTO device_tokens (hash, agent_id, created_at) VALUES ($1, $2, $3)",
        &[Some(hash), Some(&agent), Some(&now)],
    )?;
    db.exec(
        "DELETE FROM device_tokens WHERE agent_id = $1
           AND (SELECT count(*) FROM device_tokens n WHERE n.agent_id = $1
                AND (n.created_at > device_tokens.created_at
                     OR (n.created_at = device_tokens.created_at AND n.hash > device_tokens.hash))) >= 20",
        &[Some(&agent)],
    )?;
    Ok(())
}

/// The most device tokens one agent keeps (the `20` in `insert_device`).
pub const MAX_DEVICES_PER_AGENT: usize = 20;

/// Whose device token this hash is: the agent's id and email.
pub fn device_owner(db: &mut dyn TokenDb, hash: &str) -> StoreResult<Option<(Uuid, String)>> {
    let rows = db.rows(
        "SELECT d.agent_id, a.email FROM device_tokens d JOIN agents a ON a.id = d.agent_id
         WHERE d.hash = $1",
        &[Some(hash)],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some((id(row, 0)?, text(row, 1)?.to_owned())))
}

pub fn touch(db: &mut dyn TokenDb, hash: &str, now: Timestamp) -> StoreResult<()> {
    let now = iso(now);
    db.exec(
        "UPDATE tokens SET last_used_at = $2 WHERE hash = $1 AND last_used_at < $2",
        &[Some(hash), Some(&now)],
    )?;
    Ok(())
}

pub fn revoke(db: &mut dyn TokenDb, hash: &str, now: Timestamp) -> StoreResult<()> {
    let now = iso(now);
    db.exec(
        "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
        &[Some(hash), Some(&now)],
    )?;
    Ok(())
}

pub fn of_agent(
    db: &mut dyn TokenDb,
    agent: Uuid,
    idle_since: Timestamp,
) -> StoreResult<Vec<SessionRow>> {
    let (agent, since) = (agent.to_string(), iso(idle_since));
    db.rows(
        "SELECT id, hash, created_at, last_used_at, user_agent FROM tokens
         WHERE agent_id = $1 AND revoked_at IS NULL AND last_used_at >= $2
         ORDER BY last_used_at DESC, id",
        &[Some(&agent), Some(&since)],
    )?
    .iter()
    .map(|r| {
        Ok(SessionRow {
            id: id(r, 0)?,
            hash: text(r, 1)?.to_owned(),
            created_at: time(r, 2)?,
            last_used_at: time(r, 3)?,
            user_agent: r.get(4).cloned().flatten(),
        })
    })
    .collect()
}

/// Ends sessions of `agent`; how many ended.
pub fn end(
    db: &mut dyn TokenDb,
    agent: Uuid,
    which: &Ending<'_>,
    now: Timestamp,
) -> StoreResult<u64> {
    let (agent, now) = (agent.to_string(), iso(now));
    match which {
        Ending::One(session) => {
            let session = session.to_string();
            db.exec(
                "UPDATE tokens SET revoked_at = $3 WHERE agent_id = $1 AND id = $2 AND revoked_at IS NULL",
                &[Some(&agent), Some(&session), Some(&now)],
            )
        }
        Ending::AllBut(keep) => db.exec(
            "UPDATE tokens SET revoked_at = $3 WHERE agent_id = $1 AND hash <> $2 AND revoked_at IS NULL",
            &[Some(&agent), Some(keep), Some(&now)],
        ),
        Ending::All => db.exec(
            "UPDATE tokens SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL",
            &[Some(&agent), Some(&now)],
        ),
    }
}

/// A new password hash and every other session ended (one transaction).
pub fn set_password(
    db: &mut dyn TokenDb,
    agent: Uuid,
    password_hash: &str,
    keep: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let agent_id = agent.to_string();
    db.exec(
        "UPDATE agents SET password_hash = $2 WHERE id = $1",
        &[Some(&agent_id), Some(password_hash)],
    )?;
    end(db, agent, &Ending::AllBut(keep), now)?;
    Ok(())
}

pub fn integrations(db: &mut dyn TokenDb) -> StoreResult<Vec<IntegrationToken>> {
    db.rows(
        "SELECT id, integration, created_at, last_used_at FROM tokens
         WHERE integration IS NOT NULL AND revoked_at IS NULL ORDER BY created_at, id",
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(IntegrationToken {
            id: id(r, 0)?,
            name: text(r, 1)?.to_owned(),
            created_at: time(r, 2)?,
            last_used_at: time(r, 3)?,
        })
    })
    .collect()
}

pub fn revoke_integration(db: &mut dyn TokenDb, token: Uuid, now: Timestamp) -> StoreResult<bool> {
    let (token, now) = (token.to_string(), iso(now));
    let n = db.exec(
        "UPDATE tokens SET revoked_at = $2
         WHERE id = $1 AND integration IS NOT NULL AND revoked_at IS NULL",
        &[Some(&token), Some(&now)],
    )?;
    Ok(n == 1)
}

/// See `Store::prune` (one transaction).
pub fn prune(
    db: &mut dyn TokenDb,
    tokens_before: Timestamp,
    mutations_before: Timestamp,
) -> StoreResult<(u64, u64)> {
    let (tokens_before, mutations_before) = (iso(tokens_before), iso(mutations_before));
    let tokens = db.exec(
        "DELETE FROM tokens WHERE revoked_at < $1
         OR (agent_id IS NOT NULL AND last_used_at < $1)",
        &[Some(&tokens_before)],
    )?;
    // Every stored claim holds its answer (written with it, in one row).
    let mutations = db.exec(
        "DELETE FROM mutations WHERE at < $1",
        &[Some(&mutations_before)],
    )?;
    Ok((tokens, mutations))
}
