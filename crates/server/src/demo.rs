//! Demo data: a team whose tickets show every view and every SLA state at
//! the moment of seeding, and a few per agent that turn at risk and breach
//! in the first minutes after the server starts, so alerts can be seen.
//!
//! Everything is made through the same rules as real use (`Store::apply`
//! with back-dated times), so the timers are real, not painted on.

use std::path::Path;
use std::sync::Arc;

use chrono::TimeDelta;
use fyncall_domain::mutation::{
    AiEscalation, AssignConversation, ChangeStatus, Comment, CreateTicket, OpenConversation,
    PostMessage, Reply, SetTags,
};
use fyncall_domain::{
    Agent, AiContext, Author, Caller, Customer, Mutation, Priority, Role, Sentiment, Status,
    Timestamp, Trigger,
};
use uuid::Uuid;

use crate::auth;
use crate::open::Database;
use crate::store::{NewAgent, NewToken, Principal, Store, StoreError, StoreResult};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "fyncall-demo";

pub struct DemoTeam {
    pub store: Arc<dyn Store>,
    pub admin: Agent,
    pub agents: Vec<Agent>,
    pub integration_token: String,
}

impl DemoTeam {
    /// The sign-ins, one per line, for people.
    pub fn describe(&self) -> String {
        let mut out = String::from("Demo sign-ins (password for all: ");
        out.push_str(DEMO_PASSWORD);
        out.push_str(")\n");
        out.push_str(&format!(
            "  admin  {}  ({})\n",
            self.admin.email, self.admin.name
        ));
        for a in &self.agents {
            out.push_str(&format!("  agent  {}  ({})\n", a.email, a.name));
        }
        out.push_str(&format!("Integration token: {}\n", self.integration_token));
        out
    }
}

const CUSTOMERS: [&str; 20] = [
    "Maya Patel",
    "Jonas Berg",
    "Aiko Tanaka",
    "Liam O'Connor",
    "Sofia Rossi",
    "Noah Fischer",
    "Amara Okafor",
    "Lucas Martin",
    "Elena Petrova",
    "Mateo García",
    "Hana Kim",
    "Oliver Smith",
    "Zara Ahmed",
    "Felix Wagner",
    "Ines Duarte",
    "Kofi Mensah",
    "Lea Novak",
    "Ravi Shah",
    "Nora Lind",
    "Tomás Silva",
];

const SUBJECTS: [(&str, &str); 15] = [
    ("Refund not received", "billing"),
    ("Charged twice for one order", "billing"),
    ("Invoice shows the wrong address", "billing"),
    ("Parcel stuck in transit", "shipping"),
    ("Delivered to the wrong address", "shipping"),
    ("Change shipping address", "shipping"),
    ("Blender lid cracked on arrival", "product"),
    ("Size guide is misleading", "product"),
    ("Missing parts in the box", "product"),
    ("Cannot log in after password reset", "technical"),
    ("App crashes when opening orders", "technical"),
    ("Two-factor code never arrives", "technical"),
    ("Question about the loyalty programme", "other"),
    ("Feedback on the new checkout", "other"),
    ("Request to delete my account", "other"),
];

fn at_minutes(now: Timestamp, minutes_ago: f64) -> Timestamp {
    now - TimeDelta::milliseconds((minutes_ago * 60_000.0) as i64)
}

struct Seeder<'a> {
    store: &'a dyn Store,
    n: u64,
}

impl Seeder<'_> {
    fn id(&mut self) -> Uuid {
        self.n += 1;
        Uuid::now_v7()
    }

    fn apply(&mut self, caller: Caller, m: Mutation, at: Timestamp) -> StoreResult<()> {
        let id = self.id();
        self.store.apply(caller, &m, id, at).map(|_| ())
    }
}

fn context(i: usize) -> AiContext {
    let (intent, sentiment, trigger) = match i % 4 {
        0 => (
            "request a refund",
            Sentiment::Upset,
            Trigger::SentimentThreshold,
        ),
        1 => (
            "change shipping address",
            Sentiment::Frustrated,
            Trigger::AiEscalation,
        ),
        2 => (
            "report a defective product",
            Sentiment::Neutral,
            Trigger::WorkflowRule,
        ),
        _ => (
            "recover account access",
            Sentiment::Frustrated,
            Trigger::AiEscalation,
        ),
    };
    AiContext {
        trigger,
        intent: intent.into(),
        confidence: 0.6 + (i % 4) as f64 * 0.1,
        sentiment,
        actions_taken: vec![
            "Looked up the order and its tracking".into(),
            "Shared the help-centre article".into(),
            "Offered a callback, which the customer declined".into(),
        ],
        suggested_resolution: format!(
            "Confirm the details and {intent} for the customer; apologise for the delay."
        ),
    }
}

/// Creates a fresh SQLite database at `path` with the demo team, seeded as of `now`.
pub fn create(path: &Path, now: Timestamp) -> StoreResult<DemoTeam> {
    create_in(&Database::Sqlite(path.to_owned()), now)
}

/// Creates the demo team in a new database, seeded as of `now`.
pub fn create_in(database: &Database, now: Timestamp) -> StoreResult<DemoTeam> {
    let hash = auth::hash_password(DEMO_PASSWORD).map_err(StoreError::Api)?;
    let admin_new = NewAgent {
        name: "Dana Admin".into(),
        email: "admin@demo.fyncall.test".into(),
        role: Role::Admin,
        password: DEMO_PASSWORD.into(),
    };
    let (store, admin) = database.create(&admin_new, &hash, now)?;
    let mut agents = Vec::new();
    for (name, email) in [
        ("Alice Moreau", "alice@demo.fyncall.test"),
        ("Ben Okoro", "ben@demo.fyncall.test"),
        ("Chloe Lin", "chloe@demo.fyncall.test"),
    ] {
        let agent = Agent {
            id: Uuid::now_v7(),
            name: name.into(),
            email: email.into(),
            role: Role::Agent,
            active: true,
        };
        store.create_agent(&agent, &hash)?;
        agents.push(agent);
    }
    let token = auth::new_token().map_err(StoreError::Api)?;
    store.insert_token(&NewToken {
        hash: &auth::token_hash(&token),
        id: Uuid::new_v4(),
        principal: &Principal::Integration {
            name: "demo chat platform".into(),
        },
        now,
        user_agent: None,
    })?;

    let mut s = Seeder {
        store: store.as_ref(),
        n: 0,
    };
    let everyone: Vec<Agent> = std::iter::once(admin.clone())
        .chain(agents.iter().cloned())
        .collect();

    // 40 conversations over the last week, each with customer, AI and agent messages.
    let mut conversations = Vec::new();
    for i in 0..40 {
        let id = s.id();
        let opened = at_minutes(now, 7.0 * 1440.0 + (40 - i) as f64 * 13.0);
        let name = CUSTOMERS[i % CUSTOMERS.len()];
        let email = format!(
            "{}@example.com",
            name.to_lowercase().replace([' ', '\''], ".")
        );
        let channel = ["chat", "email", "whatsapp"][i % 3];
        let (subject, _) = SUBJECTS[i % SUBJECTS.len()];
        s.apply(
            Caller::Integration,
            Mutation::OpenConversation(OpenConversation {
                id,
                customer: Customer {
                    name: name.into(),
                    email,
                },
                channel: channel.into(),
                // An email conversation's subject line, as the mail had it.
                subject: (channel == "email").then(|| subject.to_owned()),
            }),
            opened,
        )?;
        let lines = [
            (
                Author::Customer,
                format!("Hi, {}. Can you help?", subject.to_lowercase()),
            ),
            (
                Author::Ai,
                "Thanks for reaching out! Let me look into this for you.".to_owned(),
            ),
            (
                Author::Customer,
                "I already tried that, it did not work.".to_owned(),
            ),
        ];
        for (k, (author, body)) in lines.into_iter().enumerate() {
            let mid = s.id();
            s.apply(
                Caller::Integration,
                Mutation::PostMessage(PostMessage {
                    id: mid,
                    conversation_id: id,
                    author,
                    body,
                    automatic: false,
                    attachment_ids: Vec::new(),
                }),
                opened + TimeDelta::minutes(k as i64 + 1),
            )?;
        }
        let agent = &everyone[1 + i % 3];
        if i % 4 != 3 {
            s.apply(
                Caller::Agent(admin.id),
                Mutation::AssignConversation(AssignConversation {
                    conversation_id: id,
                    agent_id: agent.id,
                }),
                opened + TimeDelta::minutes(5),
            )?;
            let rid = s.id();
            s.apply(
                Caller::Agent(agent.id),
                Mutation::Reply(Reply {
                    id: rid,
                    conversation_id: id,
                    body: "Hello! I'm on it and will keep you posted.".into(),
                    attachment_ids: Vec::new(),
                }),
                opened + TimeDelta::minutes(8),
            )?;
            // The demo has no webhook to carry it: the chat platform it
            // stands for reports what became of it, as a real one would.
            let report = if i % 2 == 0 {
                fyncall_domain::delivery::Report::Read
            } else {
                fyncall_domain::delivery::Report::Delivered
            };
            s.store.report_delivery(rid, report, None)?;
        }
        conversations.push(id);
    }

    let policy = fyncall_domain::SlaPolicy::default();
    // 150 tickets: scenario by index, so every status, priority, category and SLA state shows.
    for i in 0..150usize {
        let priority = Priority::ALL[(i / 10) % 4];
        let targets = policy.targets_for(priority);
        let fr = f64::from(targets.first_response_minutes);
        let res = f64::from(targets.resolution_minutes);
        let (subject, category) = SUBJECTS[i % SUBJECTS.len()];
        let conversation_id = conversations[(i * 7) % conversations.len()];
        let assignee = &everyone[1 + i % 3];
        let by = Caller::Agent(assignee.id);
        let id = s.id();
        // (created minutes ago, optional response after, status moves: (status, minutes after creation))
        let scenario = i % 10;
        let (created, response, moves): (f64, Option<f64>, Vec<(Status, f64)>) = match scenario {
            0 => (fr * 0.1, None, vec![]),  // on track, open
            1 => (fr * 0.85, None, vec![]), // first response at risk
            2 => (fr * 1.6, None, vec![(Status::InProgress, fr * 0.2)]), // breached
            3 => (
                res * 0.5,
                Some(fr * 0.3),
                vec![(Status::WaitingOnCustomer, fr * 0.4)],
            ), // paused
            4 => (
                res * 1.5,
                Some(fr * 0.2),
                vec![
                    (Status::InProgress, fr * 0.3),
                    (Status::Resolved, res * 0.5),
                ],
            ), // met
            5 => (
                res * 2.5,
                Some(fr * 1.5),
                vec![
                    (Status::InProgress, fr * 1.6),
                    (Status::Resolved, res * 1.4),
                ],
            ), // missed
            6 => (
                res * 0.3,
                Some(fr * 0.5),
                vec![(Status::InProgress, fr * 0.6)],
            ), // in progress, on track
            7 => (
                res * 3.0,
                Some(fr * 0.3),
                vec![(Status::Resolved, res * 0.6), (Status::Closed, res * 0.9)],
            ), // closed
            8 => (fr * 0.4, None, vec![]),  // AI escalated
            _ => (
                res * 0.85,
                Some(fr * 0.5),
                vec![(Status::InProgress, fr * 0.6)],
            ), // resolution at risk
        };
        let created_at = at_minutes(now, created);
        if scenario == 8 {
            s.apply(
                Caller::Integration,
                Mutation::AiEscalation(AiEscalation {
                    id,
                    conversation_id,
                    subject: format!("{subject} (escalated by AI)"),
                    priority,
                    description: Some("The customer asked twice and is getting impatient; the AI could not resolve it.".into()),
                    category: Some(category.into()),
                    ai_context: context(i),
                }),
                created_at,
            )?;
        } else {
            s.apply(
                by,
                Mutation::CreateTicket(CreateTicket {
                    id,
                    conversation_id,
                    subject: subject.into(),
                    priority,
                    description: Some(format!(
                        "Customer reports: {}. Order #{}.",
                        subject.to_lowercase(),
                        40_000 + i
                    )),
                    category: (i % 11 != 0).then(|| category.into()),
                    assignee_id: None,
                }),
                created_at,
            )?;
        }
        // Some tags, as a team uses them (one with `_`, which a filter must
        // not read as a wildcard).
        let tags: Vec<String> = [
            (i % 3 == 0, "vip"),
            (i % 7 == 1, "late_delivery"),
            (i % 5 == 2, "refund"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, t)| t.to_owned())
        .collect();
        if !tags.is_empty() {
            s.apply(
                Caller::Agent(admin.id),
                Mutation::SetTags(SetTags {
                    ticket_id: id,
                    add: tags,
                    remove: Vec::new(),
                }),
                created_at,
            )?;
        }
        if let Some(after) = response {
            let cid = s.id();
            s.apply(
                by,
                Mutation::Comment(Comment {
                    id: cid,
                    ticket_id: id,
                    body: "Checked the order history; following up with the warehouse.".into(),
                    mention_ids: Vec::new(),
                }),
                created_at + TimeDelta::milliseconds((after * 60_000.0) as i64),
            )?;
        }
        for (status, after) in moves {
            let note = (status == Status::Resolved)
                .then(|| "Refund issued and confirmed with the customer.".to_owned());
            s.apply(
                by,
                Mutation::ChangeStatus(ChangeStatus {
                    ticket_id: id,
                    status,
                    note,
                }),
                created_at + TimeDelta::milliseconds((after * 60_000.0) as i64),
            )?;
        }
    }

    // Per agent: urgent tickets (15 min first response, at risk from 11:15)
    // that turn at risk and breach within minutes of starting.
    for (k, agent) in agents.iter().chain(std::iter::once(&admin)).enumerate() {
        for (j, minutes_ago) in [9.0, 11.0].into_iter().enumerate() {
            let id = s.id();
            s.apply(
                Caller::Agent(agent.id),
                Mutation::CreateTicket(CreateTicket {
                    id,
                    conversation_id: conversations[(k * 5 + j) % conversations.len()],
                    subject: [
                        "Checkout down for a VIP customer",
                        "Security concern: unknown login",
                    ][j]
                        .into(),
                    priority: Priority::Urgent,
                    description: Some("Needs a first response within 15 minutes.".into()),
                    category: Some("technical".into()),
                    assignee_id: None,
                }),
                at_minutes(now, minutes_ago),
            )?;
        }
    }
    Ok(DemoTeam {
        store,
        admin,
        agents,
        integration_token: token,
    })
}

/// What [`history`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    pub tickets: usize,
    pub closed: usize,
    pub conversations: usize,
}

/// Adds `tickets` tickets to a team as `days` of history would leave them,
/// made through the same write path as real use with back-dated times
/// (`Store::push` by `admin`, 100 tickets a transaction): created evenly over the
/// `days` before `now`, oldest first, on one conversation per 20 tickets,
/// each with two comments; nine in ten resolved within two days and closed
/// four days after (those that would close after `now` stay resolved), the
/// tenth still open. For benches and the archive's tests: a big team made
/// quickly, not a picture of behaviour. The tickets are `agents`' in turn.
pub fn history(
    store: &dyn Store,
    admin: &Agent,
    agents: &[Agent],
    tickets: usize,
    days: u32,
    now: Timestamp,
) -> StoreResult<History> {
    use std::cell::RefCell;
    use std::collections::VecDeque;

    use crate::write::Pushed;

    if tickets == 0 || agents.is_empty() {
        return Ok(History {
            tickets: 0,
            closed: 0,
            conversations: 0,
        });
    }
    let span = TimeDelta::days(i64::from(days.max(1)));
    let conversations: Vec<Uuid> = (0..tickets.div_ceil(20)).map(|_| Uuid::now_v7()).collect();
    let opened: Vec<Pushed> = conversations
        .iter()
        .enumerate()
        .map(|(i, id)| Pushed {
            id: Uuid::now_v7(),
            mutation: Ok(Mutation::OpenConversation(OpenConversation {
                id: *id,
                customer: Customer {
                    name: format!("History customer {i}"),
                    email: format!("history{i}@example.com"),
                },
                channel: "chat".into(),
                subject: None,
            })),
            client_at: None,
        })
        .collect();
    let first = now - span;
    for part in opened.chunks(500) {
        refused(store.push(Caller::Integration, part, &|| first)?.0)?;
    }
    let subjects = [
        "Refund not received",
        "Parcel arrived damaged",
        "Cannot sign in to the app",
        "Invoice shows the wrong address",
        "Question about the loyalty programme",
        "Order stuck in processing",
    ];
    let mut closed = 0;
    const PER_PUSH: usize = 100;
    for start in (0..tickets).step_by(PER_PUSH) {
        let mut batch = Vec::with_capacity(PER_PUSH * 5);
        let mut times = VecDeque::with_capacity(PER_PUSH * 5);
        for i in start..(start + PER_PUSH).min(tickets) {
            let created = first + span * (i as i32) / (tickets as i32);
            let id = Uuid::now_v7();
            let agent = agents[i % agents.len()].id;
            let mut step = |m: Mutation, at: Timestamp| {
                batch.push(Pushed {
                    id: Uuid::now_v7(),
                    mutation: Ok(m),
                    client_at: None,
                });
                times.push_back(at);
            };
            step(
                Mutation::CreateTicket(CreateTicket {
                    id,
                    conversation_id: conversations[i / 20],
                    subject: format!("{} (case {})", subjects[i % subjects.len()], 100_000 + i),
                    priority: Priority::ALL[i % 4],
                    description: Some(format!("Customer wrote in about case {}.", 100_000 + i)),
                    category: Some(
                        ["billing", "shipping", "product", "technical", "other"][i % 5].into(),
                    ),
                    assignee_id: Some(agent),
                }),
                created,
            );
            for (n, body) in [
                "Asked the customer for the order number.",
                "Checked with the warehouse; replied with the answer.",
            ]
            .into_iter()
            .enumerate()
            {
                step(
                    Mutation::Comment(Comment {
                        id: Uuid::now_v7(),
                        ticket_id: id,
                        body: body.into(),
                        mention_ids: Vec::new(),
                    }),
                    created + TimeDelta::minutes(20 * (n as i64 + 1)),
                );
            }
            if i % 10 == 9 {
                continue;
            }
            let resolved = created + TimeDelta::hours(1 + (i % 47) as i64);
            let closes = resolved + TimeDelta::days(4);
            let mut statuses = vec![(Status::Resolved, resolved)];
            if closes < now {
                statuses.push((Status::Closed, closes));
                closed += 1;
            }
            for (status, at) in statuses.into_iter().filter(|(_, at)| *at < now) {
                step(
                    Mutation::ChangeStatus(ChangeStatus {
                        ticket_id: id,
                        status,
                        note: None,
                    }),
                    at,
                );
            }
        }
        let times = RefCell::new(times);
        let clock = || times.borrow_mut().pop_front().unwrap_or(now);
        refused(store.push(Caller::Agent(admin.id), &batch, &clock)?.0)?;
    }
    Ok(History {
        tickets,
        closed,
        conversations: conversations.len(),
    })
}

/// A seeding step the rules refused: a fault of the seeder, said as one.
fn refused(results: Vec<fyncall_domain::wire::PushResult>) -> StoreResult<()> {
    match results.iter().find(|r| r.refused()) {
        None => Ok(()),
        Some(r) => Err(StoreError::Database(format!(
            "the history seed was refused: {:?}",
            r.error
        ))),
    }
}
