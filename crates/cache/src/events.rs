//! What a cache write changed, for the UI and the notifier.

use fyncall_domain::{Activity, Message, Ticket};
use serde::Serialize;
use uuid::Uuid;

/// One ticket as it was before and after a write (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TicketChange {
    pub id: Uuid,
    pub before: Option<Ticket>,
    pub after: Option<Ticket>,
}

/// Everything one cache write changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ChangeSet {
    /// Tickets whose visible row differs, before and after.
    pub tickets: Vec<TicketChange>,
    /// Conversations whose row or messages changed.
    pub conversations: Vec<Uuid>,
    /// Timeline entries that arrived from the server (who did what).
    pub activity: Vec<Activity>,
    /// Replies from the server whose delivery has failed (not on a first
    /// download): the notifier tells their authors. Not sent to the window.
    #[serde(skip)]
    pub failed_replies: Vec<Message>,
    /// Whether agents or settings changed.
    pub team: bool,
    /// Whether the outbox or the problems changed.
    pub queue: bool,
    /// A page of the first download: everything may have changed, and
    /// `tickets` and `activity` are left empty (nothing in it is news to
    /// announce; re-read the views).
    pub bulk: bool,
    /// Whether the agent's mentions were read on another machine.
    #[serde(default)]
    pub mentions: bool,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
            && self.conversations.is_empty()
            && self.activity.is_empty()
            && self.failed_replies.is_empty()
            && !self.team
            && !self.queue
            && !self.bulk
            && !self.mentions
    }

    pub fn merge(&mut self, other: ChangeSet) {
        for change in other.tickets {
            match self.tickets.iter_mut().find(|c| c.id == change.id) {
                Some(mine) => mine.after = change.after,
                None => self.tickets.push(change),
            }
        }
        self.tickets.retain(|c| c.before != c.after);
        for id in other.conversations {
            if !self.conversations.contains(&id) {
                self.conversations.push(id);
            }
        }
        self.activity.extend(other.activity);
        self.failed_replies.extend(other.failed_replies);
        self.team |= other.team;
        self.queue |= other.queue;
        self.bulk |= other.bulk;
        self.mentions |= other.mentions;
    }
}
