//! Presence kept in memory (RULES.md "Presence"): one place per session,
//! ending [`PRESENCE_TTL_SECS`] after its last heartbeat. Not data: no
//! table, no change sequence, no sync row. Every change of the team's
//! presence goes to the live streams through a watch channel (a slow stream
//! only ever sees the latest list), and, on PostgreSQL, to the other server
//! processes as a NOTIFY on [`CHANNEL`]; each process keeps the heartbeats it
//! hears with its own clock.
//!
//! Memory: one entry per open session (session id 36 bytes, ids, state,
//! instants: about 200 bytes with the map's overhead), so a team of 200
//! agents each with a page open costs about 40 KB, and a `presence` event
//! lists at most 200 entries (about 25 KB of JSON), sent at most once a
//! second per stream.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fyncall_domain::presence::{PRESENCE_TTL_SECS, TYPING_SHOWS_SECS};
use fyncall_domain::{BeatState, Heartbeat, PresenceEntry, PresenceState};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

/// The NOTIFY channel carrying heartbeats between server processes.
pub const CHANNEL: &str = "fyncall_presence";

/// A heartbeat as it travels between processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Beat {
    /// The process that received it from its client.
    pub origin: Uuid,
    /// The session it came from: its public id (the one `GET /me/sessions`
    /// lists), never its token nor the token's hash, which NOTIFY payloads
    /// would show to every role of the database.
    pub session: String,
    pub agent_id: Uuid,
    #[serde(flatten)]
    pub heartbeat: Heartbeat,
    /// `true`: the agent is gone (deactivated); every session of theirs ends.
    #[serde(default)]
    pub gone: bool,
}

#[derive(Debug, Clone)]
struct Place {
    agent_id: Uuid,
    ticket_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    last: Instant,
    typing_until: Option<Instant>,
}

/// The team's presence as the streams send it: the list, and its JSON made
/// once for every stream (a team of 500 agents has 500 streams; writing the
/// list for each was most of a presence event's cost).
#[derive(Debug, Default, PartialEq)]
pub struct TeamPresence {
    pub list: Vec<PresenceEntry>,
    pub json: String,
}

impl TeamPresence {
    fn new(list: Vec<PresenceEntry>) -> TeamPresence {
        let json = serde_json::to_string(&list).unwrap_or_else(|_| "[]".into());
        TeamPresence { list, json }
    }
}

impl std::ops::Deref for TeamPresence {
    type Target = Vec<PresenceEntry>;
    fn deref(&self) -> &Vec<PresenceEntry> {
        &self.list
    }
}

pub struct Presence {
    origin: Uuid,
    places: Mutex<HashMap<String, Place>>,
    tx: watch::Sender<Arc<TeamPresence>>,
}

impl Default for Presence {
    fn default() -> Self {
        Presence::new()
    }
}

impl Presence {
    pub fn new() -> Presence {
        Presence {
            origin: Uuid::new_v4(),
            places: Mutex::new(HashMap::new()),
            tx: watch::channel(Arc::new(TeamPresence::new(Vec::new()))).0,
        }
    }

    /// This process's id in the beats it sends to others.
    pub fn origin(&self) -> Uuid {
        self.origin
    }

    /// The team's presence now, and every change of it after.
    pub fn subscribe(&self) -> watch::Receiver<Arc<TeamPresence>> {
        self.tx.subscribe()
    }

    /// Takes a heartbeat heard at `now` (from a client, or from another
    /// process). Another process's echo of our own beat is ignored.
    pub fn take(&self, beat: &Beat, now: Instant) {
        {
            let Ok(mut places) = self.places.lock() else {
                return;
            };
            if beat.gone {
                places.retain(|_, p| p.agent_id != beat.agent_id);
            } else {
                match beat.heartbeat.state {
                    BeatState::Left => {
                        places.remove(&beat.session);
                    }
                    state => {
                        let typing = state == BeatState::Typing;
                        let same_place = |p: &Place| {
                            p.ticket_id == beat.heartbeat.ticket_id
                                && p.conversation_id == beat.heartbeat.conversation_id
                        };
                        let kept_typing = places
                            .get(&beat.session)
                            .filter(|p| same_place(p))
                            .and_then(|p| p.typing_until);
                        places.insert(
                            beat.session.clone(),
                            Place {
                                agent_id: beat.agent_id,
                                ticket_id: beat.heartbeat.ticket_id,
                                conversation_id: beat.heartbeat.conversation_id,
                                last: now,
                                typing_until: if typing {
                                    Some(now + Duration::from_secs(TYPING_SHOWS_SECS))
                                } else {
                                    kept_typing
                                },
                            },
                        );
                    }
                }
            }
        }
        self.publish(now);
    }

    /// Drops what has had no heartbeat for [`PRESENCE_TTL_SECS`] as of `now`
    /// and lets typing fade to viewing; tells the streams if anything shows
    /// differently. The server runs it every second.
    pub fn sweep(&self, now: Instant) {
        if let Ok(mut places) = self.places.lock() {
            let ttl = Duration::from_secs(PRESENCE_TTL_SECS);
            places.retain(|_, p| now.saturating_duration_since(p.last) < ttl);
        }
        self.publish(now);
    }

    /// Every session of `agent` ends here (deactivation).
    pub fn forget_agent(&self, agent: Uuid, now: Instant) {
        if let Ok(mut places) = self.places.lock() {
            places.retain(|_, p| p.agent_id != agent);
        }
        self.publish(now);
    }

    /// The team's presence as of `now`: one entry per agent and place
    /// (typing on any session shows as typing), in a stable order.
    pub fn snapshot(&self, now: Instant) -> Vec<PresenceEntry> {
        let Ok(places) = self.places.lock() else {
            return Vec::new();
        };
        let mut merged: BTreeMap<(Uuid, Option<Uuid>, Option<Uuid>), PresenceState> =
            BTreeMap::new();
        for p in places.values() {
            let state = if p.typing_until.is_some_and(|t| now < t) {
                PresenceState::Typing
            } else {
                PresenceState::Viewing
            };
            let e = merged
                .entry((p.agent_id, p.ticket_id, p.conversation_id))
                .or_insert(state);
            *e = (*e).max(state);
        }
        merged
            .into_iter()
            .map(
                |((agent_id, ticket_id, conversation_id), state)| PresenceEntry {
                    agent_id,
                    ticket_id,
                    conversation_id,
                    state,
                },
            )
            .collect()
    }

    fn publish(&self, now: Instant) {
        let list = self.snapshot(now);
        self.tx.send_if_modified(|current| {
            if current.list == list {
                false
            } else {
                *current = Arc::new(TeamPresence::new(list));
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(session: &str, agent: u128, ticket: u128, state: BeatState) -> Beat {
        Beat {
            origin: Uuid::nil(),
            session: session.into(),
            agent_id: Uuid::from_u128(agent),
            heartbeat: Heartbeat {
                ticket_id: Some(Uuid::from_u128(ticket)),
                conversation_id: None,
                state,
            },
            gone: false,
        }
    }

    #[test]
    fn heartbeats_show_expire_fade_and_leave() {
        let p = Presence::new();
        let mut rx = p.subscribe();
        let t0 = Instant::now();
        p.take(&beat("s1", 1, 10, BeatState::Viewing), t0);
        assert!(rx.has_changed().expect("open"));
        assert_eq!(rx.borrow_and_update().len(), 1);
        // The same again changes nothing the streams see.
        p.take(
            &beat("s1", 1, 10, BeatState::Viewing),
            t0 + Duration::from_secs(1),
        );
        assert!(!rx.has_changed().expect("open"));
        // Typing shows, then fades to viewing without a typing heartbeat.
        p.take(
            &beat("s1", 1, 10, BeatState::Typing),
            t0 + Duration::from_secs(2),
        );
        assert_eq!(
            p.snapshot(t0 + Duration::from_secs(3))[0].state,
            PresenceState::Typing
        );
        p.sweep(t0 + Duration::from_secs(2 + TYPING_SHOWS_SECS + 1));
        assert_eq!(rx.borrow_and_update()[0].state, PresenceState::Viewing);
        // Two sessions of one agent on one ticket are one entry.
        p.take(
            &beat("s2", 1, 10, BeatState::Viewing),
            t0 + Duration::from_secs(12),
        );
        assert_eq!(p.snapshot(t0 + Duration::from_secs(12)).len(), 1);
        // 30 s after its last heartbeat a session's presence ends.
        p.sweep(t0 + Duration::from_secs(2 + PRESENCE_TTL_SECS));
        assert_eq!(
            p.places.lock().map(|m| m.len()).unwrap_or(9),
            1,
            "s1 gone, s2 stays"
        );
        p.take(
            &beat("s2", 1, 10, BeatState::Left),
            t0 + Duration::from_secs(13),
        );
        assert!(p.snapshot(t0 + Duration::from_secs(13)).is_empty());
    }

    #[test]
    fn a_gone_agent_leaves_every_place() {
        let p = Presence::new();
        let t0 = Instant::now();
        p.take(&beat("s1", 1, 10, BeatState::Viewing), t0);
        p.take(&beat("s2", 1, 11, BeatState::Viewing), t0);
        p.take(&beat("s3", 2, 10, BeatState::Viewing), t0);
        p.forget_agent(Uuid::from_u128(1), t0);
        let left = p.snapshot(t0);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].agent_id, Uuid::from_u128(2));
    }
}
