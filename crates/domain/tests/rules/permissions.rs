//! RULES.md "Who may do what": each row, for both roles.

use fyncall_domain::mutation::*;
use fyncall_domain::*;

use crate::fixture::*;

fn create_for(world: &mut World, by: Uuid, assignee: Option<Uuid>) -> Result<Applied, Refusal> {
    let id = world.fresh_id();
    world.apply(
        Caller::Agent(by),
        Mutation::CreateTicket(CreateTicket {
            id,
            conversation_id: CONV,
            subject: "  Parcel lost  ".into(),
            priority: Priority::High,
            description: Some("It never arrived".into()),
            category: Some("shipping".into()),
            assignee_id: assignee,
        }),
        min(0),
    )
}

use uuid::Uuid;

#[test]
fn create_any_agent_assignee_defaults_to_creator() {
    let mut world = World::new();
    let applied = create_for(&mut world, BOB, None).expect("any agent may create");
    let ticket = applied.state.tickets.values().next().expect("created");
    assert_eq!(ticket.assignee_id, Some(BOB));
    assert_eq!(ticket.created_by, Some(BOB));
    assert_eq!(ticket.subject, "Parcel lost", "subject is trimmed");
    assert_eq!(ticket.source, Source::Manual);
    assert_eq!(ticket.number, None, "the server gives the number");
    assert_eq!(applied.activity.len(), 1);
    assert_eq!(applied.activity[0].change.kind(), "created");

    let r = create_for(&mut world, BOB, Some(ALICE))
        .expect_err("an agent cannot create for someone else");
    assert_eq!(r.code, RefusalCode::Forbidden);
    create_for(&mut world, ADMIN, Some(ALICE)).expect("an admin may create for anyone active");
    let r = create_for(&mut world, ADMIN, Some(GONE)).expect_err("not for a deactivated agent");
    assert_eq!(r.code, RefusalCode::Invalid);
    let r = create_for(&mut world, GONE, None).expect_err("a deactivated agent does nothing");
    assert_eq!(r.code, RefusalCode::Forbidden);
}

#[test]
fn create_validates_fields() {
    let mut world = World::new();
    let mut n = 70;
    let mut bad = |subject: &str, category: Option<&str>, conversation_id: Uuid| {
        n += 1;
        Mutation::CreateTicket(CreateTicket {
            id: client_id(n),
            conversation_id,
            subject: subject.into(),
            priority: Priority::Low,
            description: None,
            category: category.map(Into::into),
            assignee_id: None,
        })
    };
    let r = world
        .apply(Caller::Agent(ALICE), bad("   ", None, CONV), min(0))
        .expect_err("empty subject");
    assert_eq!(
        (r.code, r.fields.contains_key("subject")),
        (RefusalCode::Invalid, true)
    );
    let long = "x".repeat(201);
    let r = world
        .apply(Caller::Agent(ALICE), bad(&long, None, CONV), min(0))
        .expect_err("201 characters");
    assert_eq!(r.code, RefusalCode::Invalid);
    world
        .apply(
            Caller::Agent(ALICE),
            bad(&"é".repeat(200), None, CONV),
            min(0),
        )
        .expect("200 characters (not bytes) fit");
    let r = world
        .apply(
            Caller::Agent(ALICE),
            bad("ok", Some("gardening"), CONV),
            min(0),
        )
        .expect_err("unknown category");
    assert!(r.fields.contains_key("category"));
    let r = world
        .apply(
            Caller::Agent(ALICE),
            bad("ok", None, client_id(999)),
            min(0),
        )
        .expect_err("every ticket traces back to a conversation");
    assert_eq!(r.code, RefusalCode::NotFound);
}

fn assign(world: &mut World, by: Uuid, ticket: Uuid, to: Option<Uuid>) -> Result<Applied, Refusal> {
    world.apply(
        Caller::Agent(by),
        Mutation::Assign(Assign {
            ticket_id: ticket,
            assignee_id: to,
        }),
        min(5),
    )
}

#[test]
fn assign_admin_any_active_agent_or_nobody() {
    let mut world = World::new();
    let id = world.create(Priority::Normal, min(0));
    let before = world.sla(id, min(5));
    let applied = assign(&mut world, ADMIN, id, Some(BOB)).expect("admin assigns anyone");
    assert_eq!(
        applied.activity[0].change,
        Change::Assigned {
            from: Some(ALICE),
            to: Some(BOB),
            reason: AssignReason::Manual
        }
    );
    assert_eq!(
        world.sla(id, min(5)),
        before,
        "reassigning never touches the timers"
    );
    assign(&mut world, ADMIN, id, None).expect("admin unassigns");
    assert_eq!(world.ticket(id).assignee_id, None);
    let r = assign(&mut world, ADMIN, id, Some(GONE)).expect_err("not to a deactivated agent");
    assert_eq!(r.code, RefusalCode::Invalid);
}

#[test]
fn assign_agent_only_to_themself() {
    let mut world = World::new();
    let id = world.create_by(ADMIN, Priority::Normal, min(0));
    let r = assign(&mut world, BOB, id, Some(ALICE)).expect_err("agent cannot assign others");
    assert_eq!(r.code, RefusalCode::Forbidden);
    assert!(
        r.message.contains("you can assign it to yourself"),
        "{}",
        r.message
    );
    assign(&mut world, BOB, id, Some(BOB)).expect("agent takes it");
    assert_eq!(world.ticket(id).assignee_id, Some(BOB));
    let r = assign(&mut world, BOB, id, None).expect_err("agent cannot unassign");
    assert_eq!(r.code, RefusalCode::Forbidden);
}

#[test]
fn manage_actions_need_assignee_or_admin() {
    // set priority, change status, resolve, close, reopen, edit.
    let mut world = World::new();
    let id = world.create(Priority::Normal, min(0)); // Alice's
    let attempts: Vec<(&str, Mutation)> = vec![
        (
            "change the priority of",
            Mutation::ChangePriority(ChangePriority {
                ticket_id: id,
                priority: Priority::Urgent,
            }),
        ),
        (
            "change the status of",
            Mutation::ChangeStatus(ChangeStatus {
                ticket_id: id,
                status: Status::InProgress,
                note: None,
            }),
        ),
        (
            "resolve",
            Mutation::ChangeStatus(ChangeStatus {
                ticket_id: id,
                status: Status::Resolved,
                note: None,
            }),
        ),
        (
            "edit",
            Mutation::EditTicket(EditTicket {
                ticket_id: id,
                subject: Some("New".into()),
                ..Default::default()
            }),
        ),
    ];
    for (verb, m) in attempts {
        let r = world
            .apply(Caller::Agent(BOB), m.clone(), min(1))
            .expect_err("Bob is not the assignee");
        assert_eq!(r.code, RefusalCode::Forbidden);
        assert_eq!(
            r.message,
            format!("only the assignee or an admin can {verb} this ticket")
        );
        let mut admin_world = World::new();
        admin_world.state = world.state.clone();
        admin_world
            .apply(Caller::Agent(ADMIN), m.clone(), min(1))
            .expect("an admin may");
        let mut alice_world = World::new();
        alice_world.state = world.state.clone();
        alice_world
            .apply(Caller::Agent(ALICE), m, min(1))
            .expect("the assignee may");
    }
    // close and reopen
    world
        .status(ALICE, id, Status::Resolved, min(2))
        .expect("assignee resolves");
    let r = world
        .status(BOB, id, Status::InProgress, min(3))
        .expect_err("Bob cannot reopen");
    assert_eq!(
        r.message,
        "only the assignee or an admin can reopen this ticket"
    );
    let r = world
        .status(BOB, id, Status::Closed, min(3))
        .expect_err("Bob cannot close");
    assert_eq!(
        r.message,
        "only the assignee or an admin can close this ticket"
    );
    world
        .status(ADMIN, id, Status::InProgress, min(3))
        .expect("admin reopens");
}

#[test]
fn comment_any_agent() {
    let mut world = World::new();
    let id = world.create(Priority::Normal, min(0));
    world
        .comment(BOB, id, "I saw this before", min(3))
        .expect("any agent comments");
    world
        .comment(ADMIN, id, "thanks", min(4))
        .expect("admins too");
    let r = world
        .comment(BOB, id, "   ", min(5))
        .expect_err("blank comment");
    assert_eq!(r.code, RefusalCode::Invalid);
    let r = world
        .comment(BOB, id, &"y".repeat(20_001), min(5))
        .expect_err("too long");
    assert_eq!(r.code, RefusalCode::Invalid);
    let r = world
        .apply(
            Caller::Integration,
            Mutation::Comment(Comment {
                id: client_id(5),
                ticket_id: id,
                body: "x".into(),
                mention_ids: Vec::new(),
            }),
            min(5),
        )
        .expect_err("integration tokens are not agents");
    assert_eq!(r.code, RefusalCode::Forbidden);
}

#[test]
fn claim_conversation_any_agent_takes_its_unfinished_tickets() {
    let mut world = World::new();
    let open = world.ticket_in(Status::Open);
    let waiting = world.ticket_in(Status::WaitingOnCustomer);
    let resolved = world.ticket_in(Status::Resolved);
    let closed = world.ticket_in(Status::Closed);
    let applied = world
        .apply(
            Caller::Agent(BOB),
            Mutation::ClaimConversation(ClaimConversation {
                conversation_id: CONV,
            }),
            min(30),
        )
        .expect("any agent claims");
    assert_eq!(applied.state.conversations[&CONV].assignee_id, Some(BOB));
    assert_eq!(world.ticket(open).assignee_id, Some(BOB));
    assert_eq!(world.ticket(waiting).assignee_id, Some(BOB));
    assert_eq!(
        world.ticket(resolved).assignee_id,
        Some(ALICE),
        "resolved tickets stay"
    );
    assert_eq!(
        world.ticket(closed).assignee_id,
        Some(ALICE),
        "closed tickets stay"
    );
    let reasons: Vec<_> = applied
        .activity
        .iter()
        .filter_map(|a| match a.change {
            Change::Assigned { reason, .. } => Some((a.ticket_id, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            (open, AssignReason::ConversationClaimed),
            (waiting, AssignReason::ConversationClaimed)
        ]
    );
}

#[test]
fn assign_conversation_admin_only_and_tickets_follow() {
    let mut world = World::new();
    let open = world.ticket_in(Status::InProgress);
    let m = Mutation::AssignConversation(AssignConversation {
        conversation_id: CONV,
        agent_id: BOB,
    });
    let r = world
        .apply(Caller::Agent(ALICE), m.clone(), min(10))
        .expect_err("agents cannot assign conversations");
    assert_eq!(r.code, RefusalCode::Forbidden);
    let applied = world
        .apply(Caller::Agent(ADMIN), m, min(10))
        .expect("admin assigns");
    assert_eq!(applied.state.conversations[&CONV].assignee_id, Some(BOB));
    assert_eq!(world.ticket(open).assignee_id, Some(BOB));
    assert!(applied.activity.iter().any(|a| matches!(
        a.change,
        Change::Assigned {
            reason: AssignReason::ConversationAssigned,
            ..
        }
    )));
    let r = world
        .apply(
            Caller::Agent(ADMIN),
            Mutation::AssignConversation(AssignConversation {
                conversation_id: CONV,
                agent_id: GONE,
            }),
            min(11),
        )
        .expect_err("not to a deactivated agent");
    assert_eq!(r.code, RefusalCode::Invalid);
}

fn escalation(id: Uuid, conversation_id: Uuid) -> Mutation {
    Mutation::AiEscalation(AiEscalation {
        id,
        conversation_id,
        subject: "Customer wants a refund".into(),
        priority: Priority::High,
        description: None,
        category: Some("billing".into()),
        ai_context: AiContext {
            trigger: Trigger::SentimentThreshold,
            intent: "request a refund".into(),
            confidence: 0.92,
            sentiment: Sentiment::Upset,
            actions_taken: vec!["Looked up order".into()],
            suggested_resolution: "Refund the order".into(),
        },
    })
}

#[test]
fn ai_escalation_integration_only_unassigned_unless_conversation_has_assignee() {
    let mut world = World::new();
    let r = world
        .apply(Caller::Agent(ADMIN), escalation(client_id(1), CONV), min(0))
        .expect_err("agents cannot escalate");
    assert_eq!(r.code, RefusalCode::Forbidden);
    let applied = world
        .apply(Caller::Integration, escalation(client_id(1), CONV), min(0))
        .expect("integration escalates");
    let t = &applied.state.tickets[&client_id(1)];
    assert_eq!(
        (t.source, t.assignee_id, t.created_by),
        (Source::Ai, None, None)
    );
    assert_eq!(applied.activity[0].actor, ActorRef::AI);
    world
        .apply(
            Caller::Agent(ALICE),
            Mutation::ClaimConversation(ClaimConversation {
                conversation_id: CONV2,
            }),
            min(1),
        )
        .expect("claim");
    let applied = world
        .apply(Caller::Integration, escalation(client_id(2), CONV2), min(2))
        .expect("escalate");
    assert_eq!(
        applied.state.tickets[&client_id(2)].assignee_id,
        Some(ALICE),
        "follows the conversation's assignee"
    );
    let r = world
        .apply(Caller::Integration, escalation(client_id(2), CONV2), min(3))
        .expect_err("same id twice");
    assert_eq!(r.code, RefusalCode::Conflict);
}

#[test]
fn ai_enrich_adds_context_and_records_it() {
    let mut world = World::new();
    let id = world.create(Priority::Normal, min(0));
    let Mutation::AiEscalation(e) = escalation(Uuid::nil(), CONV) else {
        unreachable!()
    };
    let m = Mutation::AiEnrich(AiEnrich {
        ticket_id: id,
        ai_context: e.ai_context.clone(),
    });
    let r = world
        .apply(Caller::Agent(ALICE), m.clone(), min(1))
        .expect_err("agents do not enrich");
    assert_eq!(r.code, RefusalCode::Forbidden);
    let applied = world
        .apply(Caller::Integration, m, min(1))
        .expect("integration enriches");
    assert_eq!(
        applied.state.tickets[&id].ai_context,
        Some(e.ai_context.clone())
    );
    assert_eq!(applied.activity[0].change, Change::AiContextAdded {});
    let mut bad = e.ai_context;
    bad.confidence = 1.5;
    let r = world
        .apply(
            Caller::Integration,
            Mutation::AiEnrich(AiEnrich {
                ticket_id: id,
                ai_context: bad,
            }),
            min(2),
        )
        .expect_err("confidence > 1");
    assert_eq!(r.code, RefusalCode::Invalid);
}

#[test]
fn edit_conflicts_only_on_fields_changed_since_base_version() {
    let mut world = World::new();
    let id = world.create(Priority::Normal, min(0));
    let base = world.ticket(id).version;
    let edit = |subject: Option<&str>, description: Option<Option<&str>>, base_version| {
        Mutation::EditTicket(EditTicket {
            ticket_id: id,
            subject: subject.map(Into::into),
            description: description.map(|d| d.map(Into::into)),
            category: None,
            base_version,
        })
    };
    world
        .apply(
            Caller::Agent(ADMIN),
            edit(Some("Refund still missing"), None, Some(base)),
            min(1),
        )
        .expect("first edit");
    // Alice edited from the same base: the description did not change since, so no conflict.
    world
        .apply(
            Caller::Agent(ALICE),
            edit(None, Some(Some("Order 1234")), Some(base)),
            min(2),
        )
        .expect("other field");
    let r = world
        .apply(
            Caller::Agent(ALICE),
            edit(Some("Refund late"), None, Some(base)),
            min(3),
        )
        .expect_err("subject changed since base");
    assert_eq!(r.code, RefusalCode::Conflict);
    assert_eq!(
        r.current.get("subject"),
        Some(&Some("Refund still missing".to_owned())),
        "carries the server's text"
    );
    let edited: Vec<_> = world
        .entries_of(id)
        .iter()
        .filter(|a| a.change.kind() == "edited")
        .map(|a| a.change.clone())
        .collect();
    assert_eq!(
        edited,
        vec![
            Change::Edited {
                fields: vec!["subject".into()]
            },
            Change::Edited {
                fields: vec!["description".into()]
            }
        ]
    );
    world
        .apply(Caller::Agent(ALICE), edit(None, Some(None), None), min(4))
        .expect("null clears the description");
    assert_eq!(world.ticket(id).description, None);
}

/// "The team keeps one active admin": any sequence of admins' changes to
/// agents (role, active flag) that the rule lets through leaves at least
/// one active admin, and a change it refuses is one that would have left
/// none.
mod one_active_admin {
    use fyncall_domain::agent::{AgentChange, changed_agent};
    use fyncall_domain::{Agent, RefusalCode, Role};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn team() -> Vec<Agent> {
        (0..4u128)
            .map(|i| Agent {
                id: Uuid::from_u128(i + 1),
                name: format!("Agent {i}"),
                email: format!("a{i}@example.com"),
                role: if i == 0 { Role::Admin } else { Role::Agent },
                active: true,
            })
            .collect()
    }

    fn active_admins(all: &[Agent]) -> usize {
        all.iter().filter(|a| a.active && a.is_admin()).count()
    }

    #[test]
    fn the_last_admin_cannot_step_down_nor_be_deactivated() {
        let all = team();
        let only = all[0].id;
        for change in [
            AgentChange {
                role: Some(Role::Agent),
                ..Default::default()
            },
            AgentChange {
                active: Some(false),
                ..Default::default()
            },
        ] {
            let refused = changed_agent(&all, only, &change).expect_err("the last admin");
            assert_eq!(refused.code, RefusalCode::Invalid);
            assert!(refused.fields.contains_key("role"), "{refused:?}");
        }
        // With a second admin, the first may step down.
        let mut two = all.clone();
        two[1] = changed_agent(
            &two,
            two[1].id,
            &AgentChange {
                role: Some(Role::Admin),
                ..Default::default()
            },
        )
        .expect("a second admin");
        let stepped = changed_agent(
            &two,
            only,
            &AgentChange {
                role: Some(Role::Agent),
                ..Default::default()
            },
        )
        .expect("no longer the last");
        assert_eq!(stepped.role, Role::Agent);
        let missing = changed_agent(&all, Uuid::from_u128(99), &AgentChange::default())
            .expect_err("no such agent");
        assert_eq!(missing.code, RefusalCode::NotFound);
    }

    proptest! {
        #[test]
        fn any_sequence_of_changes_keeps_an_active_admin(
            changes in proptest::collection::vec(
                (0usize..4, proptest::option::of(any::<bool>()), proptest::option::of(any::<bool>())),
                0..40,
            )
        ) {
            let mut all = team();
            for (who, admin, active) in changes {
                let change = AgentChange {
                    name: None,
                    role: admin.map(|a| if a { Role::Admin } else { Role::Agent }),
                    active,
                };
                let id = all[who].id;
                match changed_agent(&all, id, &change) {
                    Ok(agent) => all[who] = agent,
                    Err(_) => {
                        // Refused only when applying it would leave none.
                        let mut applied = all[who].clone();
                        if let Some(role) = change.role { applied.role = role; }
                        if let Some(active) = change.active { applied.active = active; }
                        let mut after = all.clone();
                        after[who] = applied;
                        prop_assert_eq!(active_admins(&after), 0);
                    }
                }
                prop_assert!(active_admins(&all) >= 1);
            }
        }
    }
}

fn tag(
    world: &mut World,
    by: Uuid,
    id: Uuid,
    add: &[&str],
    remove: &[&str],
) -> Result<Applied, Refusal> {
    world.apply(
        Caller::Agent(by),
        Mutation::SetTags(SetTags {
            ticket_id: id,
            add: add.iter().map(|t| (*t).to_owned()).collect(),
            remove: remove.iter().map(|t| (*t).to_owned()).collect(),
        }),
        min(5),
    )
}

#[test]
fn tags_are_set_by_whoever_may_edit_the_ticket_and_never_on_a_closed_one() {
    let mut world = World::new();
    let id = world.create_by(BOB, Priority::Normal, min(0));
    let applied = tag(&mut world, BOB, id, &["VIP", "#refund"], &[]).expect("the assignee tags");
    assert_eq!(
        world.ticket(id).tags,
        vec!["refund".to_owned(), "vip".to_owned()]
    );
    assert_eq!(
        applied.activity[0].change,
        Change::TagsChanged {
            added: vec!["refund".into(), "vip".into()],
            removed: vec![],
        }
    );
    let r = tag(&mut world, ALICE, id, &["x"], &[]).expect_err("not the assignee");
    assert_eq!(r.code, RefusalCode::Forbidden);
    tag(&mut world, ADMIN, id, &[], &["vip"]).expect("an admin may");
    assert_eq!(world.ticket(id).tags, vec!["refund".to_owned()]);
    let same = tag(&mut world, ADMIN, id, &["refund"], &["gone"]).expect("nothing moves");
    assert!(same.is_noop(), "a tag already there changes nothing");
    let r = tag(&mut world, BOB, id, &["two words"], &[]).expect_err("a bad tag");
    assert_eq!(r.code, RefusalCode::Invalid);
    assert!(r.fields.contains_key("tags"), "{r:?}");
    let closed = world.ticket_in(Status::Closed);
    let r = tag(&mut world, ADMIN, closed, &["x"], &[]).expect_err("closed is archived");
    assert_eq!(r.code, RefusalCode::InvalidTransition);
}

#[test]
fn a_comment_mentions_active_agents_of_the_team_only() {
    let mut world = World::new();
    let id = world.create_by(BOB, Priority::Normal, min(0));
    let comment = |world: &mut World, mention_ids: Vec<Uuid>| {
        let cid = world.fresh_id();
        world.apply(
            Caller::Agent(ALICE),
            Mutation::Comment(Comment {
                id: cid,
                ticket_id: id,
                body: "@Bob have a look".into(),
                mention_ids,
            }),
            min(3),
        )
    };
    let applied = comment(&mut world, vec![BOB, BOB, ADMIN]).expect("mentions");
    match &applied.activity.last().expect("entry").change {
        Change::Comment { mention_ids, .. } => {
            let mut want = vec![BOB, ADMIN];
            want.sort();
            assert_eq!(mention_ids, &want, "each once");
        }
        other => panic!("a comment entry, not {other:?}"),
    }
    let r = comment(&mut world, vec![GONE]).expect_err("deactivated");
    assert_eq!(r.code, RefusalCode::Invalid);
    assert!(r.message.contains("deactivated"), "{r:?}");
    let r = comment(&mut world, vec![Uuid::from_u128(77)]).expect_err("a stranger");
    assert_eq!(r.code, RefusalCode::Invalid);
    // Read marks change nothing of the team's, and are the caller's.
    let read = world
        .apply(
            Caller::Agent(BOB),
            Mutation::MarkMentionsRead(MarkMentionsRead {
                entry_ids: vec![Uuid::from_u128(1)],
            }),
            min(4),
        )
        .expect("marked");
    assert!(read.activity.is_empty() && read.tickets.is_empty());
    assert_eq!(read.read_mentions, vec![Uuid::from_u128(1)]);
}
