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

#[cfg(test)]
mod tests {
    use super::*;

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
