//! Tokens and sessions in the SQLite store (API.md "Auth").

use fyncall_domain::{Agent, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::{SqliteStore, db_err};
use crate::store::{
    Ending, IntegrationToken, NewToken, Principal, Session, SessionRow, StoreResult,
};
use crate::time::{iso, parse};

fn time(text: &str) -> StoreResult<Timestamp> {
    parse(text).map_err(db_err)
}

fn id(text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(db_err)
}

/// Ends sessions of `agent` on an open transaction.
pub(crate) fn end_sessions(
    conn: &Connection,
    agent: Uuid,
    which: &Ending<'_>,
    now: Timestamp,
) -> StoreResult<u64> {
    let agent = agent.to_string();
    let now = iso(now);
    let ended = match which {
        Ending::One(session) => conn.execute(
            "UPDATE tokens SET revoked_at = ?3 WHERE agent_id = ?1 AND id = ?2 AND revoked_at IS NULL",
            params![agent, session.to_string(), now],
        ),
        Ending::AllBut(keep) => conn.execute(
            "UPDATE tokens SET revoked_at = ?3 WHERE agent_id = ?1 AND hash <> ?2 AND revoked_at IS NULL",
            params![agent, keep, now],
        ),
        Ending::All => conn.execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE agent_id = ?1 AND revoked_at IS NULL",
            params![agent, now],
        ),
    }
    .map_err(db_err)?;
    Ok(ended as u64)
}

impl SqliteStore {
    pub(crate) fn token_insert(&self, token: &NewToken<'_>) -> StoreResult<()> {
        let (agent, integration) = match token.principal {
            Principal::Agent(a) => (Some(a.id.to_string()), None),
            Principal::Integration { name } => (None, Some(name.as_str())),
        };
        let now = iso(token.now);
        self.write(|conn| {
            conn.execute(
                "INSERT INTO tokens (hash, id, agent_id, integration, created_at, last_used_at, user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)",
                params![token.hash, token.id.to_string(), agent, integration, now, token.user_agent],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    pub(crate) fn token_session(
        &self,
        hash: &str,
        idle_since: Timestamp,
    ) -> StoreResult<Option<Session>> {
        self.read(|conn| {
            let row: Option<(String, String, Option<String>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT t.id, t.last_used_at, a.data, t.integration
                     FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id
                     WHERE t.hash = ?1 AND t.revoked_at IS NULL
                       AND (t.integration IS NOT NULL OR t.last_used_at >= ?2)",
                )
                .and_then(|mut st| {
                    st.query_row(params![hash, iso(idle_since)], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .optional()
                })
                .map_err(db_err)?;
            let Some((session, used, agent, integration)) = row else {
                return Ok(None);
            };
            let principal = match (agent, integration) {
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
                id: id(&session)?,
                principal,
                last_used_at: time(&used)?,
            }))
        })
    }

    pub(crate) fn token_touch(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.write(|conn| {
            conn.execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE hash = ?1 AND last_used_at < ?2",
                params![hash, iso(now)],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    pub(crate) fn token_revoke(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.write(|conn| {
            conn.execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
                params![hash, iso(now)],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    pub(crate) fn agent_sessions(
        &self,
        agent: Uuid,
        idle_since: Timestamp,
    ) -> StoreResult<Vec<SessionRow>> {
        self.read(|conn| {
            let mut st = conn
                .prepare(
                    "SELECT id, hash, created_at, last_used_at, user_agent FROM tokens
                     WHERE agent_id = ?1 AND revoked_at IS NULL AND last_used_at >= ?2
                     ORDER BY last_used_at DESC, id",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map(params![agent.to_string(), iso(idle_since)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .map_err(db_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (session, hash, created, used, user_agent) = row.map_err(db_err)?;
                out.push(SessionRow {
                    id: id(&session)?,
                    hash,
                    created_at: time(&created)?,
                    last_used_at: time(&used)?,
                    user_agent,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn agent_end_sessions(
        &self,
        agent: Uuid,
        which: Ending<'_>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.write(|conn| end_sessions(conn, agent, &which, now))
    }

    pub(crate) fn agent_set_password(
        &self,
        agent: Uuid,
        password_hash: &str,
        keep: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            tx.execute(
                "UPDATE agents SET password_hash = ?2 WHERE id = ?1",
                params![agent.to_string(), password_hash],
            )
            .map_err(db_err)?;
            end_sessions(&tx, agent, &Ending::AllBut(keep), now)?;
            tx.commit().map_err(db_err)
        })
    }

    pub(crate) fn integration_token_rows(&self) -> StoreResult<Vec<IntegrationToken>> {
        self.read(|conn| {
            let mut st = conn
                .prepare(
                    "SELECT id, integration, created_at, last_used_at FROM tokens
                     WHERE integration IS NOT NULL AND revoked_at IS NULL ORDER BY created_at, id",
                )
                .map_err(db_err)?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(db_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (token, name, created, used) = row.map_err(db_err)?;
                out.push(IntegrationToken {
                    id: id(&token)?,
                    name,
                    created_at: time(&created)?,
                    last_used_at: time(&used)?,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn integration_token_revoke(
        &self,
        token: Uuid,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.write(|conn| {
            let n = conn
                .execute(
                    "UPDATE tokens SET revoked_at = ?2
                     WHERE id = ?1 AND integration IS NOT NULL AND revoked_at IS NULL",
                    params![token.to_string(), iso(now)],
                )
                .map_err(db_err)?;
            Ok(n == 1)
        })
    }

    pub(crate) fn prune_rows(
        &self,
        tokens_before: Timestamp,
        mutations_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        self.write(|conn| {
            let tx = conn.transaction().map_err(db_err)?;
            let tokens = tx
                .execute(
                    "DELETE FROM tokens WHERE revoked_at < ?1
                     OR (agent_id IS NOT NULL AND last_used_at < ?1)",
                    params![iso(tokens_before)],
                )
                .map_err(db_err)?;
            // Only answered records: a claim in flight is never 'applying' here
            // (it is claimed and answered in one transaction), but be exact.
            let mutations = tx
                .execute(
                    "DELETE FROM mutations WHERE at < ?1 AND outcome <> 'applying'",
                    params![iso(mutations_before)],
                )
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok((tokens as u64, mutations as u64))
        })
    }
}
