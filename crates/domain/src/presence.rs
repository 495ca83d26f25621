//! Presence (RULES.md "Presence"): who has a ticket or conversation open,
//! live. Not data: nothing stores it, nothing syncs it; it lasts
//! [`PRESENCE_TTL_SECS`] after the last heartbeat and reaches clients through
//! the live stream as the team's whole presence (API.md `presence` event).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Presence ends this long after the last heartbeat (a crashed app, a closed lid).
pub const PRESENCE_TTL_SECS: u64 = 30;
/// A page open sends a heartbeat this often.
pub const HEARTBEAT_SECS: u64 = 10;
/// Typing sends at most one heartbeat this often.
pub const TYPING_BEAT_SECS: u64 = 3;
/// "Typing" shows this long after the last typing heartbeat, then "viewing".
pub const TYPING_SHOWS_SECS: u64 = 8;

/// What an agent is doing where they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PresenceState {
    Viewing,
    Typing,
}

/// A heartbeat's state: `left` ends the presence at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BeatState {
    Viewing,
    Typing,
    Left,
}

/// `POST /presence`: where the agent is and what they are doing there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
    pub state: BeatState,
}

impl Heartbeat {
    /// Names exactly one place, except `left`, which may name none (left
    /// everywhere).
    pub fn check(&self) -> Result<(), &'static str> {
        match (self.ticket_id, self.conversation_id, self.state) {
            (Some(_), Some(_), _) => Err("name a ticket_id or a conversation_id, not both"),
            (None, None, BeatState::Viewing | BeatState::Typing) => {
                Err("name the ticket_id or conversation_id the agent has open")
            }
            _ => Ok(()),
        }
    }
}

/// One agent at one place, as the stream's `presence` event lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceEntry {
    pub agent_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
    pub state: PresenceState,
}

/// Where an agent is: a presence entry without its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresencePlace {
    pub agent_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<Uuid>,
}

impl PresenceEntry {
    pub fn place(&self) -> PresencePlace {
        PresencePlace {
            agent_id: self.agent_id,
            ticket_id: self.ticket_id,
            conversation_id: self.conversation_id,
        }
    }
}

/// What changed in the team's presence since the list a stream sent last
/// (the stream's `presence_changes` event, for a client that asks for
/// changes): the entries that appeared or changed state, and the places
/// left. A team of hundreds sends a few entries a second instead of its
/// whole list to each of its streams.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresenceChanges {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<PresenceEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<PresencePlace>,
}

impl PresenceChanges {
    /// What turns `old` into `new`.
    pub fn between(old: &[PresenceEntry], new: &[PresenceEntry]) -> PresenceChanges {
        let was: std::collections::BTreeMap<PresencePlace, PresenceState> =
            old.iter().map(|e| (e.place(), e.state)).collect();
        let now: std::collections::BTreeSet<PresencePlace> =
            new.iter().map(PresenceEntry::place).collect();
        PresenceChanges {
            set: new
                .iter()
                .filter(|e| was.get(&e.place()) != Some(&e.state))
                .cloned()
                .collect(),
            gone: was.keys().filter(|p| !now.contains(p)).copied().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.gone.is_empty()
    }

    /// `list` with these changes, in the server's order (by place).
    pub fn apply(&self, list: &[PresenceEntry]) -> Vec<PresenceEntry> {
        let mut by_place: std::collections::BTreeMap<PresencePlace, PresenceState> =
            list.iter().map(|e| (e.place(), e.state)).collect();
        for p in &self.gone {
            by_place.remove(p);
        }
        for e in &self.set {
            by_place.insert(e.place(), e.state);
        }
        by_place
            .into_iter()
            .map(|(p, state)| PresenceEntry {
                agent_id: p.agent_id,
                ticket_id: p.ticket_id,
                conversation_id: p.conversation_id,
                state,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_turn_one_list_into_the_other() {
        let entry = |agent: u128, ticket: Option<u128>, state| PresenceEntry {
            agent_id: Uuid::from_u128(agent),
            ticket_id: ticket.map(Uuid::from_u128),
            conversation_id: None,
            state,
        };
        let lists = [
            vec![],
            vec![entry(1, Some(10), PresenceState::Viewing)],
            vec![
                entry(1, Some(10), PresenceState::Typing),
                entry(2, None, PresenceState::Viewing),
            ],
            vec![
                entry(2, None, PresenceState::Viewing),
                entry(3, Some(10), PresenceState::Viewing),
            ],
            vec![entry(3, Some(11), PresenceState::Typing)],
        ];
        for a in &lists {
            for b in &lists {
                let changes = PresenceChanges::between(a, b);
                assert_eq!(&changes.apply(a), b, "{a:?} → {b:?} by {changes:?}");
                assert_eq!(changes.is_empty(), a == b);
            }
        }
        // Only what changed travels.
        let changes = PresenceChanges::between(&lists[2], &lists[3]);
        assert_eq!(
            changes.set,
            vec![entry(3, Some(10), PresenceState::Viewing)]
        );
        assert_eq!(changes.gone, vec![lists[2][0].place()]);
        assert_eq!(
            serde_json::to_value(&changes).expect("json"),
            serde_json::json!({
                "set": [{"agent_id": Uuid::from_u128(3), "ticket_id": Uuid::from_u128(10), "state": "viewing"}],
                "gone": [{"agent_id": Uuid::from_u128(1), "ticket_id": Uuid::from_u128(10)}]
            })
        );
    }

    #[test]
    fn a_heartbeat_names_one_place_unless_it_leaves() {
        let t = Some(Uuid::from_u128(1));
        let c = Some(Uuid::from_u128(2));
        let beat = |ticket_id, conversation_id, state| Heartbeat {
            ticket_id,
            conversation_id,
            state,
        };
        assert!(beat(t, None, BeatState::Viewing).check().is_ok());
        assert!(beat(None, c, BeatState::Typing).check().is_ok());
        assert!(beat(None, None, BeatState::Left).check().is_ok());
        assert!(beat(t, c, BeatState::Viewing).check().is_err());
        assert!(beat(None, None, BeatState::Viewing).check().is_err());
    }
}
