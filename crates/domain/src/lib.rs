//! The ticket rules of Fyncall Desk, written once (`../shared/design/RULES.md`).
//!
//! The server (the authority) and the desktop client (to predict results
//! offline and to enable buttons) both ask this crate; neither re-implements
//! a rule. Everything here is pure: no IO, no async, and no clock — every
//! function that depends on time takes `now` as an argument.
//!
//! - [`ticket`], [`conversation`], [`agent`], [`activity`]: the entities.
//! - [`lifecycle`]: which status moves are allowed.
//! - [`permissions`]: who may do what; [`actions`]: what an agent may do
//!   now, as data the UI draws its buttons from.
//! - [`sla`]: the two timers, their states, deadlines and alert moments;
//!   [`calendar`]: business hours; [`settings`]: the team's policy and
//!   categories.
//! - [`tags`]: what a tag may be, and the tag filter of every list;
//!   [`macros`]: a macro's placeholders, its steps and their preview;
//!   [`merge`]: merging a ticket into another and undoing it.
//! - [`views`]: which views a ticket belongs to and in what order;
//!   [`inbox`]: the conversation views.
//! - [`mutation`]: every change, and [`apply`], the one function that
//!   applies them, over [`state`] (the part of a team's data it touches).
//! - [`delivery`]: how a reply or an event leaves the team (states, retry
//!   schedule, words) and the webhook shapes.
//! - [`report`]: SLA compliance, computed once for server and desktop.
//! - [`presence`]: who has a ticket or conversation open, live.
//! - [`refusal`]: why a change was refused, as a value.
//! - [`text`]: what typed text may hold, and which ids a client may choose.
//! - [`words`]: the words every window shows for the rules' values,
//!   exported to the UI.
//! - [`working_set`]: which tickets the desktop keeps (the sync window).
//! - [`wire`]: the API's shapes (API.md): pulls, pushes, snapshots,
//!   sessions, admin bodies, errors, and their serde helpers.
//! - `testing` (feature `testing`): fixtures every crate's tests share.

pub mod actions;
pub mod activity;
pub mod agent;
pub mod calendar;
pub mod conversation;
pub mod delivery;
pub mod inbox;
pub mod lifecycle;
pub mod macros;
pub mod mail;
pub mod merge;
pub mod mutation;
pub mod permissions;
pub mod presence;
pub mod refusal;
pub mod report;
pub mod settings;
pub mod sla;
pub mod state;
pub mod tags;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
pub mod ticket;
pub mod views;
pub mod wire;
pub mod words;
pub mod working_set;

/// A moment in time, always UTC.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

pub use activity::{Activity, ActorKind, ActorRef, AssignReason, Change};
pub use agent::{Agent, AgentChange, Role};
pub use conversation::{Attachment, Author, Conversation, Customer, Message};
pub use delivery::{Delivery, DeliveryState, EventType};
pub use inbox::{InboxCounts, InboxPage, InboxQuery, InboxRow, InboxView, LastMessage};
pub use mutation::{
    Applied, Caller, Mutation, Scope, Stamp, apply, auto_close, auto_close_at, observe_breaches,
};
pub use presence::{BeatState, Heartbeat, PresenceEntry, PresenceState};
pub use refusal::{Refusal, RefusalCode};
pub use report::{Compliance, GroupBy, ReportGroup, ReportQuery, SlaReport};
pub use settings::{Hours, PriorityTargets, SlaPolicy, Targets, TeamSettings};
pub use sla::{Deadline, Indicator, Moments, Sla, Timer, TimerKind, TimerState};
pub use state::{Rows, State};
pub use ticket::{
    AiContext, Category, Kept, Pause, Priority, Sentiment, SlaClock, Source, Status, Ticket,
    Trigger,
};
pub use views::{Order, SortField, SortKey, View};
