//! Tokens and sessions in the PostgreSQL store (API.md "Auth").

use fyncall_domain::{Agent, Timestamp};
use postgres::{GenericClient, Row};
use uuid::Uuid;

use super::{Db, PgStore, db_err};
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

/// Ends sessions of `agent` inside an open transaction.
pub(crate) fn end_sessions<C: GenericClient>(
    db: &mut Db<'_, C>,
    agent: Uuid,
    which: &Ending<'_>,
    now: Timestamp,
) -> StoreResult<u64> {
    let agent = agent.to_string();
    let now = iso(now);
    match which {
        Ending::One(session) => db.execute(
            "UPDATE tokens SET revoked_at = $3 WHERE agent_id = $1 AND id = $2 AND revoked_at IS NULL",
            &[&agent, &session.to_string(), &now],
        ),
        Ending::AllBut(keep) => db.execute(
            "UPDATE tokens SET revoked_at = $3 WHERE agent_id = $1 AND hash <> $2 AND revoked_at IS NULL",
            &[&agent, keep, &now],
        ),
        Ending::All => db.execute(
            "UPDATE tokens SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL",
            &[&agent, &now],
        ),
    }
}

fn session_row(r: &Row) -> StoreResult<SessionRow> {
    Ok(SessionRow {
        id: id(r.get(0))?,
        hash: r.get(1),
        created_at: time(r.get(2))?,
        last_used_at: time(r.get(3))?,
        user_agent: r.get(4),
    })
}

impl PgStore {
    pub(crate) fn token_insert(&self, token: &NewToken<'_>) -> StoreResult<()> {
        let (agent, integration) = match token.principal {
            Principal::Agent(a) => (Some(a.id.to_string()), None),
            Principal::Integration { name } => (None, Some(name.as_str())),
        };
        let now = iso(token.now);
        let token_id = token.id.to_string();
        self.write(|db| {
            db.execute(
                "INSERT INTO tokens (hash, id, agent_id, integration, created_at, last_used_at, user_agent)
                 VALUES ($1, $2, $3, $4, $5, $5, $6)",
                &[&token.hash, &token_id, &agent, &integration, &now, &token.user_agent],
            )?;
            Ok(())
        })
    }

    pub(crate) fn token_session(
        &self,
        hash: &str,
        idle_since: Timestamp,
    ) -> StoreResult<Option<Session>> {
        self.read(|db| {
            let Some(row) = db.query_opt(
                "SELECT t.id, t.last_used_at, a.data, t.integration
                 FROM tokens t LEFT JOIN agents a ON a.id = t.agent_id
                 WHERE t.hash = $1 AND t.revoked_at IS NULL
                   AND (t.integration IS NOT NULL OR t.last_used_at >= $2)",
                &[&hash, &iso(idle_since)],
            )?
            else {
                return Ok(None);
            };
            let principal = match (
                row.get::<_, Option<String>>(2),
                row.get::<_, Option<String>>(3),
            ) {
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
                id: id(row.get(0))?,
                principal,
                last_used_at: time(row.get(1))?,
            }))
        })
    }

    pub(crate) fn token_touch(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "UPDATE tokens SET last_used_at = $2 WHERE hash = $1 AND last_used_at < $2",
                &[&hash, &iso(now)],
            )?;
            Ok(())
        })
    }

    pub(crate) fn token_revoke(&self, hash: &str, now: Timestamp) -> StoreResult<()> {
        self.read(|db| {
            db.execute(
                "UPDATE tokens SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                &[&hash, &iso(now)],
            )?;
            Ok(())
        })
    }

    pub(crate) fn agent_sessions(
        &self,
        agent: Uuid,
        idle_since: Timestamp,
    ) -> StoreResult<Vec<SessionRow>> {
        self.read(|db| {
            db.query(
                "SELECT id, hash, created_at, last_used_at, user_agent FROM tokens
                 WHERE agent_id = $1 AND revoked_at IS NULL AND last_used_at >= $2
                 ORDER BY last_used_at DESC, id",
                &[&agent.to_string(), &iso(idle_since)],
            )?
            .iter()
            .map(session_row)
            .collect()
        })
    }

    pub(crate) fn agent_end_sessions(
        &self,
        agent: Uuid,
        which: Ending<'_>,
        now: Timestamp,
    ) -> StoreResult<u64> {
        self.write(|db| end_sessions(db, agent, &which, now))
    }

    pub(crate) fn agent_set_password(
        &self,
        agent: Uuid,
        password_hash: &str,
        keep: &str,
        now: Timestamp,
    ) -> StoreResult<()> {
        self.write(|db| {
            db.execute(
                "UPDATE agents SET password_hash = $2 WHERE id = $1",
                &[&agent.to_string(), &password_hash],
            )?;
            end_sessions(db, agent, &Ending::AllBut(keep), now)?;
            Ok(())
        })
    }

    pub(crate) fn integration_token_rows(&self) -> StoreResult<Vec<IntegrationToken>> {
        self.read(|db| {
            db.query(
                "SELECT id, integration, created_at, last_used_at FROM tokens
                 WHERE integration IS NOT NULL AND revoked_at IS NULL ORDER BY created_at, id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(IntegrationToken {
                    id: id(r.get(0))?,
                    name: r.get(1),
                    created_at: time(r.get(2))?,
                    last_used_at: time(r.get(3))?,
                })
            })
            .collect()
        })
    }

    pub(crate) fn integration_token_revoke(
        &self,
        token: Uuid,
        now: Timestamp,
    ) -> StoreResult<bool> {
        self.read(|db| {
            let n = db.execute(
                "UPDATE tokens SET revoked_at = $2
                 WHERE id = $1 AND integration IS NOT NULL AND revoked_at IS NULL",
                &[&token.to_string(), &iso(now)],
            )?;
            Ok(n == 1)
        })
    }

    pub(crate) fn prune_rows(
        &self,
        tokens_before: Timestamp,
        mutations_before: Timestamp,
    ) -> StoreResult<(u64, u64)> {
        let tokens_before = iso(tokens_before);
        let mutations_before = iso(mutations_before);
        self.write(|db| {
            let tokens = db.execute(
                "DELETE FROM tokens WHERE revoked_at < $1
                 OR (agent_id IS NOT NULL AND last_used_at < $1)",
                &[&tokens_before],
            )?;
            let mutations = db.execute(
                "DELETE FROM mutations WHERE at < $1 AND outcome <> 'applying'",
                &[&mutations_before],
            )?;
            Ok((tokens, mutations))
        })
    }
}
