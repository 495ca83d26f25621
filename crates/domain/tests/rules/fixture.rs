//! A small team to run mutations against: an admin, two agents, a
//! deactivated agent and two conversations.

use chrono::{TimeDelta, TimeZone, Utc};
use fyncall_domain::mutation::*;
use fyncall_domain::*;
use uuid::Uuid;

/// A UUID v4 a client could have made (RULES.md "Text and ids"), the same
/// for the same `n` in every run.
pub fn client_id(n: u128) -> Uuid {
    uuid::Builder::from_random_bytes(n.to_be_bytes()).into_uuid()
}

pub const ADMIN: Uuid = Uuid::from_u128(0xA0);
pub const ALICE: Uuid = Uuid::from_u128(0xA1);
pub const BOB: Uuid = Uuid::from_u128(0xA2);
pub const GONE: Uuid = Uuid::from_u128(0xA3);
pub const CONV: Uuid = Uuid::from_u128(0xC1);
pub const CONV2: Uuid = Uuid::from_u128(0xC2);

/// The moment every test's clock starts: 2026-03-02 09:00:00 UTC.
pub fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid date")
}

/// `t0` plus whole minutes.
pub fn min(m: i64) -> Timestamp {
    t0() + TimeDelta::minutes(m)
}

/// `t0` plus milliseconds.
pub fn ms(m: i64) -> Timestamp {
    t0() + TimeDelta::milliseconds(m)
}

pub struct World {
    pub state: State,
    pub timeline: Vec<Activity>,
    pub messages: Vec<Message>,
    next_id: u128,
}

fn agent(id: Uuid, name: &str, role: Role, active: bool) -> Agent {
    Agent {
        id,
        name: name.into(),
        email: format!("{}@example.com", name.to_lowercase()),
        role,
        active,
    }
}

impl World {
    pub fn new() -> World {
        let mut state = State::default();
        for a in [
            agent(ADMIN, "Ada", Role::Admin, true),
            agent(ALICE, "Alice", Role::Agent, true),
            agent(BOB, "Bob", Role::Agent, true),
            agent(GONE, "Gone", Role::Agent, false),
        ] {
            state.agents.insert(a.id, a);
        }
        for id in [CONV, CONV2] {
            state.conversations.insert(
                id,
                Conversation {
                    id,
                    customer: Customer {
                        name: "Casey".into(),
                        email: "casey@example.com".into(),
                    },
                    channel: "chat".into(),
                    assignee_id: None,
                    created_at: t0() - TimeDelta::hours(1),
                    subject: None,
                },
            );
        }
        World {
            state,
            timeline: Vec::new(),
            messages: Vec::new(),
            next_id: 1,
        }
    }

    pub fn fresh_id(&mut self) -> Uuid {
        self.next_id += 1;
        // A v4 id, as a client would make, yet the same in every run.
        client_id(0x1000_0000 + self.next_id)
    }

    /// Applies a mutation; on success the world moves to the new state.
    pub fn apply(
        &mut self,
        caller: Caller,
        mutation: Mutation,
        at: Timestamp,
    ) -> Result<Applied, Refusal> {
        let stamp = Stamp {
            mutation_id: self.fresh_id(),
            at,
            client_at: None,
        };
        let applied = apply(&self.state, caller, &mutation, &stamp)?;
        self.state = applied.state.clone();
        self.timeline.extend(applied.activity.iter().cloned());
        self.messages.extend(applied.messages.iter().cloned());
        Ok(applied)
    }

    /// Alice creates a ticket (assigned to her) at `at`.
    pub fn create(&mut self, priority: Priority, at: Timestamp) -> Uuid {
        self.create_by(ALICE, priority, at)
    }

    pub fn create_by(&mut self, by: Uuid, priority: Priority, at: Timestamp) -> Uuid {
        let id = self.fresh_id();
        self.apply(
            Caller::Agent(by),
            Mutation::CreateTicket(CreateTicket {
                id,
                conversation_id: CONV,
                subject: "Refund not received".into(),
                priority,
                description: None,
                category: Some("billing".into()),
                assignee_id: None,
            }),
            at,
        )
        .expect("creating a ticket is allowed");
        id
    }

    pub fn ticket(&self, id: Uuid) -> &Ticket {
        &self.state.tickets[&id]
    }

    pub fn sla(&self, id: Uuid, now: Timestamp) -> Sla {
        sla::evaluate(self.ticket(id), &self.state.settings.sla, now)
    }

    pub fn status(
        &mut self,
        by: Uuid,
        ticket: Uuid,
        status: Status,
        at: Timestamp,
    ) -> Result<Applied, Refusal> {
        self.apply(
            Caller::Agent(by),
            Mutation::ChangeStatus(ChangeStatus {
                ticket_id: ticket,
                status,
                note: None,
            }),
            at,
        )
    }

    /// Moves a fresh ticket of Alice's into `status` along allowed moves.
    pub fn ticket_in(&mut self, status: Status) -> Uuid {
        let id = self.create(Priority::Normal, min(0));
        let path: &[Status] = match status {
            Status::Open => &[],
            Status::InProgress => &[Status::InProgress],
            Status::WaitingOnCustomer => &[Status::WaitingOnCustomer],
            Status::Resolved => &[Status::Resolved],
            Status::Closed => &[Status::Resolved, Status::Closed],
        };
        for (i, s) in path.iter().enumerate() {
            self.status(ALICE, id, *s, min(1 + i as i64))
                .expect("path follows the lifecycle");
        }
        id
    }

    pub fn comment(
        &mut self,
        by: Uuid,
        ticket: Uuid,
        body: &str,
        at: Timestamp,
    ) -> Result<Applied, Refusal> {
        let id = self.fresh_id();
        self.apply(
            Caller::Agent(by),
            Mutation::Comment(Comment {
                id,
                ticket_id: ticket,
                body: body.into(),
                mention_ids: Vec::new(),
            }),
            at,
        )
    }

    pub fn entries_of(&self, ticket: Uuid) -> Vec<&Activity> {
        self.timeline
            .iter()
            .filter(|a| a.ticket_id == ticket)
            .collect()
    }
}
