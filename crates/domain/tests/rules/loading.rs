//! `state::load`: what a mutation's scope reads, in which order, the same
//! for the server's stores and an agent's cache.

use fyncall_domain::mutation::*;
use fyncall_domain::*;
use uuid::Uuid;

use crate::fixture::*;

/// A store holding a team's whole state, recording each read.
struct Store<const REFUSES: bool> {
    all: State,
    reads: Vec<String>,
}

impl<const REFUSES: bool> Rows for Store<REFUSES> {
    type Error = String;
    const NEW_TICKET_WRITE_REFUSES_TAKEN_IDS: bool = REFUSES;

    fn ticket(&mut self, id: Uuid) -> Result<Option<Ticket>, String> {
        self.reads.push(format!("ticket {id}"));
        Ok(self.all.tickets.get(&id).cloned())
    }

    fn conversation(
        &mut self,
        id: Uuid,
        linked: bool,
    ) -> Result<Option<(Conversation, Vec<Ticket>)>, String> {
        self.reads
            .push(format!("conversation {id} linked={linked}"));
        let Some(c) = self.all.conversations.get(&id).cloned() else {
            return Ok(None);
        };
        let tickets = if linked {
            self.all
                .linked_tickets(id)
                .iter()
                .map(|t| self.all.tickets[t].clone())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Some((c, tickets)))
    }

    fn team(&mut self) -> Result<(TeamSettings, Vec<Agent>), String> {
        self.reads.push("team".into());
        Ok((
            self.all.settings.clone(),
            self.all.agents.values().cloned().collect(),
        ))
    }
}

fn store<const REFUSES: bool>(w: &World) -> Store<REFUSES> {
    Store {
        all: w.state.clone(),
        reads: Vec::new(),
    }
}

#[test]
fn a_ticket_change_reads_its_ticket_then_the_team() {
    let mut w = World::new();
    let a = w.create(Priority::Normal, t0());
    let _other = w.create(Priority::High, t0());
    let comment = Mutation::Comment(Comment {
        id: w.fresh_id(),
        ticket_id: a,
        body: "Called the carrier".into(),
        mention_ids: Vec::new(),
    });
    let mut s = store::<true>(&w);
    let state = state::load(&mut s, &comment).expect("loaded");
    assert_eq!(s.reads, [format!("ticket {a}"), "team".to_owned()]);
    assert_eq!(state.tickets.keys().copied().collect::<Vec<_>>(), [a]);
    assert_eq!(state.agents, w.state.agents);
    assert_eq!(state.settings, w.state.settings);
    // What was loaded is enough: the rules answer as on the whole team.
    let stamp = Stamp {
        mutation_id: w.fresh_id(),
        at: min(5),
        client_at: None,
    };
    let caller = Caller::Agent(ALICE);
    let on_scope = apply(&state, caller, &comment, &stamp).expect("applied");
    let on_all = apply(&w.state, caller, &comment, &stamp).expect("applied");
    assert_eq!(on_scope.activity, on_all.activity);
    assert_eq!(on_scope.state.tickets[&a], on_all.state.tickets[&a]);
}

#[test]
fn a_conversation_change_reads_every_linked_ticket_and_a_new_ticket_none() {
    let mut w = World::new();
    let linked = [
        w.create(Priority::Normal, t0()),
        w.create(Priority::Low, min(1)),
    ];
    let reply = Mutation::Reply(Reply {
        id: w.fresh_id(),
        conversation_id: CONV,
        body: "We are on it".into(),
        attachment_ids: Vec::new(),
    });
    let mut s = store::<true>(&w);
    let state = state::load(&mut s, &reply).expect("loaded");
    assert_eq!(
        s.reads,
        [
            format!("conversation {CONV} linked=true"),
            "team".to_owned()
        ]
    );
    let mut loaded: Vec<Uuid> = state.tickets.keys().copied().collect();
    loaded.sort();
    let mut want = linked.to_vec();
    want.sort();
    assert_eq!(loaded, want);

    // A new ticket on the conversation: none of its tickets, and its own
    // id is only read where the store's insert would not refuse a taken one.
    let id = w.fresh_id();
    let create = Mutation::CreateTicket(CreateTicket {
        id,
        conversation_id: CONV,
        subject: "Second parcel".into(),
        priority: Priority::Normal,
        description: None,
        category: None,
        assignee_id: None,
    });
    let mut server = store::<true>(&w);
    state::load(&mut server, &create).expect("loaded");
    assert_eq!(
        server.reads,
        [
            format!("conversation {CONV} linked=false"),
            "team".to_owned()
        ]
    );
    let mut cache = store::<false>(&w);
    let state = state::load(&mut cache, &create).expect("loaded");
    assert_eq!(
        cache.reads,
        [
            format!("conversation {CONV} linked=false"),
            format!("ticket {id}"),
            "team".to_owned()
        ]
    );
    assert!(state.tickets.is_empty());
    assert!(state.conversations.contains_key(&CONV));
}

#[test]
fn a_store_error_ends_the_load() {
    struct Down;
    impl Rows for Down {
        type Error = &'static str;
        const NEW_TICKET_WRITE_REFUSES_TAKEN_IDS: bool = true;
        fn ticket(&mut self, _: Uuid) -> Result<Option<Ticket>, &'static str> {
            Err("down")
        }
        fn conversation(
            &mut self,
            _: Uuid,
            _: bool,
        ) -> Result<Option<(Conversation, Vec<Ticket>)>, &'static str> {
            Err("down")
        }
        fn team(&mut self) -> Result<(TeamSettings, Vec<Agent>), &'static str> {
            Err("down")
        }
    }
    let comment = Mutation::Comment(Comment {
        id: client_id(7),
        ticket_id: client_id(8),
        body: "x".into(),
        mention_ids: Vec::new(),
    });
    assert_eq!(state::load(&mut Down, &comment), Err("down"));
}
