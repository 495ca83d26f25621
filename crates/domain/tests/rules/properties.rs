//! Property tests: random sequences of mutations by random actors at
//! increasing times keep every invariant of RULES.md.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use fyncall_domain::mutation::*;
use fyncall_domain::*;
use proptest::prelude::*;
use uuid::Uuid;

use crate::fixture::*;

#[derive(Debug, Clone)]
enum Op {
    Create {
        priority: Priority,
        assignee: Option<usize>,
    },
    Edit {
        ticket: usize,
        subject: bool,
        description: bool,
        base_back: u8,
    },
    Status {
        ticket: usize,
        status: Status,
        note: bool,
    },
    Priority {
        ticket: usize,
        priority: Priority,
    },
    Assign {
        ticket: usize,
        to: Option<usize>,
    },
    Comment {
        ticket: usize,
        blank: bool,
        /// An agent mentioned (the deactivated one is refused).
        mention: Option<usize>,
    },
    Tags {
        ticket: usize,
        add: Vec<&'static str>,
        remove: Vec<&'static str>,
    },
    Merge {
        ticket: usize,
        into: usize,
    },
    Unmerge {
        ticket: usize,
    },
    Claim {
        conversation: bool,
    },
    AssignConversation {
        conversation: bool,
        to: usize,
    },
    Reply {
        conversation: bool,
    },
    CustomerMessage {
        conversation: bool,
    },
    Escalate {
        priority: Priority,
    },
    Enrich {
        ticket: usize,
    },
}

const ACTORS: [Option<Uuid>; 5] = [Some(ADMIN), Some(ALICE), Some(BOB), Some(GONE), None];
const AGENTS: [Uuid; 4] = [ADMIN, ALICE, BOB, GONE];

fn priority() -> impl Strategy<Value = Priority> {
    prop::sample::select(Priority::ALL.to_vec())
}

/// A few tags, now and then one a ticket may not carry.
fn tag_words() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec!["vip", "VIP", "refund", "late-delivery", "bad tag"]),
        0..3,
    )
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..8;
    prop_oneof![
        (priority(), prop::option::of(0usize..4))
            .prop_map(|(priority, assignee)| Op::Create { priority, assignee }),
        (idx.clone(), any::<bool>(), any::<bool>(), 0u8..3).prop_map(
            |(ticket, subject, description, base_back)| Op::Edit {
                ticket,
                subject,
                description,
                base_back
            }
        ),
        (
            idx.clone(),
            prop::sample::select(Status::ALL.to_vec()),
            any::<bool>()
        )
            .prop_map(|(ticket, status, note)| Op::Status {
                ticket,
                status,
                note
            }),
        (idx.clone(), priority()).prop_map(|(ticket, priority)| Op::Priority { ticket, priority }),
        (idx.clone(), prop::option::of(0usize..4))
            .prop_map(|(ticket, to)| Op::Assign { ticket, to }),
        (
            idx.clone(),
            prop::bool::weighted(0.1),
            prop::option::of(0usize..4)
        )
            .prop_map(|(ticket, blank, mention)| Op::Comment {
                ticket,
                blank,
                mention
            }),
        (idx.clone(), tag_words(), tag_words()).prop_map(|(ticket, add, remove)| Op::Tags {
            ticket,
            add,
            remove
        }),
        (idx.clone(), idx.clone()).prop_map(|(ticket, into)| Op::Merge { ticket, into }),
        idx.clone().prop_map(|ticket| Op::Unmerge { ticket }),
        any::<bool>().prop_map(|conversation| Op::Claim { conversation }),
        (any::<bool>(), 0usize..4)
            .prop_map(|(conversation, to)| Op::AssignConversation { conversation, to }),
        any::<bool>().prop_map(|conversation| Op::Reply { conversation }),
        any::<bool>().prop_map(|conversation| Op::CustomerMessage { conversation }),
        priority().prop_map(|priority| Op::Escalate { priority }),
        idx.prop_map(|ticket| Op::Enrich { ticket }),
    ]
}

fn context() -> AiContext {
    AiContext {
        trigger: Trigger::WorkflowRule,
        intent: "change address".into(),
        confidence: 0.7,
        sentiment: Sentiment::Frustrated,
        actions_taken: vec!["asked for the order number".into()],
        suggested_resolution: "update the address".into(),
    }
}

/// Turns an op into a mutation against the current world.
fn mutation(world: &mut World, op: &Op) -> Mutation {
    let ids: Vec<Uuid> = world.state.tickets.keys().copied().collect();
    let ticket = |i: usize| {
        ids.get(i % ids.len().max(1))
            .copied()
            .unwrap_or(Uuid::from_u128(404))
    };
    let conv = |second: bool| if second { CONV2 } else { CONV };
    let id = world.fresh_id();
    match op.clone() {
        Op::Create { priority, assignee } => Mutation::CreateTicket(CreateTicket {
            id,
            conversation_id: if id.as_u128() % 2 == 0 { CONV } else { CONV2 },
            subject: format!("Ticket {}", id.as_u128() % 1000),
            priority,
            description: None,
            category: None,
            assignee_id: assignee.map(|a| AGENTS[a]),
        }),
        Op::Edit {
            ticket: t,
            subject,
            description,
            base_back,
        } => {
            let tid = ticket(t);
            let base = world
                .state
                .tickets
                .get(&tid)
                .map(|t| t.version - i64::from(base_back));
            Mutation::EditTicket(EditTicket {
                ticket_id: tid,
                subject: subject.then(|| format!("Edited {}", id.as_u128() % 97)),
                description: description.then(|| Some(format!("Details {}", id.as_u128() % 89))),
                category: None,
                base_version: base,
            })
        }
        Op::Status {
            ticket: t,
            status,
            note,
        } => Mutation::ChangeStatus(ChangeStatus {
            ticket_id: ticket(t),
            status,
            note: (note && status == Status::Resolved).then(|| "fixed".to_owned()),
        }),
        Op::Priority {
            ticket: t,
            priority,
        } => Mutation::ChangePriority(ChangePriority {
            ticket_id: ticket(t),
            priority,
        }),
        Op::Assign { ticket: t, to } => Mutation::Assign(Assign {
            ticket_id: ticket(t),
            assignee_id: to.map(|a| AGENTS[a]),
        }),
        Op::Comment {
            ticket: t,
            blank,
            mention,
        } => Mutation::Comment(Comment {
            id,
            ticket_id: ticket(t),
            body: if blank { " ".into() } else { "noted".into() },
            mention_ids: mention.map(|i| AGENTS[i]).into_iter().collect(),
        }),
        Op::Tags {
            ticket: t,
            add,
            remove,
        } => Mutation::SetTags(SetTags {
            ticket_id: ticket(t),
            add: add.into_iter().map(str::to_owned).collect(),
            remove: remove.into_iter().map(str::to_owned).collect(),
        }),
        Op::Merge { ticket: t, into } => Mutation::MergeTicket(MergeTicket {
            ticket_id: ticket(t),
            into_ticket_id: ticket(into),
        }),
        Op::Unmerge { ticket: t } => Mutation::UnmergeTicket(UnmergeTicket {
            ticket_id: ticket(t),
        }),
        Op::Claim { conversation } => Mutation::ClaimConversation(ClaimConversation {
            conversation_id: conv(conversation),
        }),
        Op::AssignConversation { conversation, to } => {
            Mutation::AssignConversation(AssignConversation {
                conversation_id: conv(conversation),
                agent_id: AGENTS[to],
            })
        }
        Op::Reply { conversation } => Mutation::Reply(Reply {
            id,
            conversation_id: conv(conversation),
            body: "hello".into(),
            attachment_ids: Vec::new(),
        }),
        Op::CustomerMessage { conversation } => Mutation::PostMessage(PostMessage {
            id,
            conversation_id: conv(conversation),
            author: Author::Customer,
            body: "any news?".into(),
            automatic: false,
            attachment_ids: Vec::new(),
        }),
        Op::Escalate { priority } => Mutation::AiEscalation(AiEscalation {
            id,
            conversation_id: CONV2,
            subject: "AI escalation".into(),
            priority,
            description: Some("The AI could not help".into()),
            category: Some("other".into()),
            ai_context: context(),
        }),
        Op::Enrich { ticket: t } => Mutation::AiEnrich(AiEnrich {
            ticket_id: ticket(t),
            ai_context: context(),
        }),
    }
}

/// Entries a mutation must append besides `sla_breached` ones, from the
/// states before and after: one per applied change.
/// What a store loads before applying `m`: its scope, with the team.
fn scoped_state(full: &State, m: &Mutation) -> State {
    let scope = m.scope();
    let mut state = State {
        settings: full.settings.clone(),
        agents: full.agents.clone(),
        ..State::default()
    };
    if let Some(c) = scope
        .conversation
        .and_then(|id| full.conversations.get(&id))
    {
        state.conversations.insert(c.id, c.clone());
        if scope.linked {
            for t in full.tickets.values().filter(|t| t.conversation_id == c.id) {
                state.tickets.insert(t.id, t.clone());
            }
        }
    }
    for t in [scope.ticket, scope.other_ticket]
        .into_iter()
        .flatten()
        .filter_map(|id| full.tickets.get(&id))
    {
        state.tickets.insert(t.id, t.clone());
        // A merged ticket's target comes with it.
        if let Some(into) = t.merged_into_id.and_then(|id| full.tickets.get(&id)) {
            state.tickets.insert(into.id, into.clone());
        }
    }
    state
}

fn expected_entries(before: &State, after: &State, mutation: &Mutation) -> usize {
    let changed = |id: &Uuid, f: &dyn Fn(&Ticket) -> String| {
        before.tickets.get(id).map(f) != after.tickets.get(id).map(f)
    };
    match mutation {
        Mutation::CreateTicket(_) | Mutation::AiEscalation(_) | Mutation::AiEnrich(_) => 1,
        Mutation::Comment(_) => 1,
        Mutation::MarkMentionsRead(_) => 0,
        // One entry on each of the two tickets.
        Mutation::MergeTicket(_) | Mutation::UnmergeTicket(_) => 2,
        Mutation::EditTicket(m) => usize::from(changed(&m.ticket_id, &|t| {
            format!("{:?}{:?}{:?}", t.subject, t.description, t.category)
        })),
        Mutation::ChangeStatus(m) => 1 + usize::from(m.note.is_some()),
        Mutation::ChangePriority(m) => {
            usize::from(changed(&m.ticket_id, &|t| format!("{:?}", t.priority)))
        }
        Mutation::Assign(m) => {
            usize::from(changed(&m.ticket_id, &|t| format!("{:?}", t.assignee_id)))
        }
        Mutation::SetTags(m) => usize::from(changed(&m.ticket_id, &|t| format!("{:?}", t.tags))),
        Mutation::ClaimConversation(_) | Mutation::AssignConversation(_) => before
            .tickets
            .keys()
            .filter(|id| changed(id, &|t| format!("{:?}", t.assignee_id)))
            .count(),
        Mutation::PostMessage(_) => before
            .tickets
            .keys()
            .filter(|id| changed(id, &|t| format!("{:?}", t.status)))
            .count(),
        Mutation::Reply(_) | Mutation::OpenConversation(_) => 0,
    }
}

fn check_sla_invariants(state: &State, now: Timestamp) -> Result<(), TestCaseError> {
    let policy = state.settings.sla.clone();
    for t in state.tickets.values() {
        let s = sla::evaluate(t, &policy, now);
        for (kind, timer) in [
            (TimerKind::FirstResponse, s.first_response),
            (TimerKind::Resolution, s.resolution),
        ] {
            if let Some(due) = timer.due_at {
                prop_assert!(
                    due >= t.created_at + TimeDelta::minutes(i64::from(timer.target_minutes)),
                    "{kind:?} due {due} earlier than created + target"
                );
            }
            let counted = sla::counted_ms(t, &policy, kind, now);
            prop_assert!(
                counted <= (now - t.created_at).num_milliseconds(),
                "{kind:?} counted {counted} ms > wall time"
            );
            prop_assert!(counted >= 0, "{kind:?} counted negative time");
        }
        prop_assert_eq!(
            t.sla_clock.resolution_halted_at.is_some(),
            !sla::resolution_counts_in(t.status),
            "the resolution clock halts exactly outside open/in progress"
        );
        prop_assert_eq!(
            t.status.is_done(),
            t.resolved_at.is_some(),
            "resolved_at is set exactly while resolved or closed"
        );
        prop_assert!(
            t.tags.is_sorted() && t.tags.windows(2).all(|w| w[0] != w[1]),
            "tags sorted, each once: {:?}",
            t.tags
        );
        for tag in &t.tags {
            prop_assert_eq!(&tags::clean_tag(tag).expect("a kept tag is valid"), tag);
        }
    }
    check_merge_invariants(state)?;
    check_sweep_moments(state)
}

/// The moment the server's sweep stores for a ticket is exactly when it
/// first has work: a breach to record or an auto-close, none a moment before.
fn check_sweep_moments(state: &State) -> Result<(), TestCaseError> {
    for t in state.tickets.values() {
        let Some(at) = sla::sweep_at(t, &state.settings) else {
            continue;
        };
        let work = |when: Timestamp| {
            observe_breaches(t, &state.settings, when).is_some()
                || auto_close(t, &state.settings, when).is_some()
        };
        prop_assert!(work(at), "work at the sweep moment {at}");
        prop_assert!(
            !work(at - TimeDelta::milliseconds(1)),
            "no work before {at}"
        );
    }
    Ok(())
}

/// A merged ticket is closed, its target lists it and is never merged
/// itself; a listed ticket names its target back.
fn check_merge_invariants(state: &State) -> Result<(), TestCaseError> {
    for t in state.tickets.values() {
        prop_assert_eq!(t.merged_into_id.is_some(), t.merge.is_some());
        if let Some(into) = t.merged_into_id {
            prop_assert_eq!(t.status, Status::Closed, "a merged ticket is closed");
            let target = &state.tickets[&into];
            prop_assert!(target.merged_ids.contains(&t.id), "the target lists it");
            prop_assert!(target.merged_into_id.is_none(), "a target is never merged");
            prop_assert!(
                t.merged_ids.is_empty(),
                "a merged ticket has none merged into it"
            );
        }
        for id in &t.merged_ids {
            prop_assert_eq!(state.tickets[id].merged_into_id, Some(t.id));
        }
    }
    Ok(())
}

/// A report reads only the tickets that may have an outcome in its period
/// (`report::candidate`, the SQL the stores read by): the same numbers as
/// reading the whole team, for periods before, across and after the
/// sequence's changes, read at its end and days later.
fn check_report_reads_its_period(world: &World, end: Timestamp) -> Result<(), TestCaseError> {
    use fyncall_domain::report::{self, GroupBy, ReportQuery};
    let agents: Vec<_> = world.state.agents.values().cloned().collect();
    let all: Vec<_> = world.state.tickets.values().cloned().collect();
    let start = t0();
    let span = end - start;
    for now in [end, end + TimeDelta::days(3)] {
        for (from, to) in [
            (start - TimeDelta::days(1), now + TimeDelta::days(1)),
            (start + span / 3, start + span * 2 / 3),
            (start + span / 2, now),
            (end - TimeDelta::minutes(30), now + TimeDelta::hours(5)),
        ] {
            if from >= to {
                continue;
            }
            let query = ReportQuery {
                from,
                to,
                group_by: GroupBy::Agent,
            };
            let whole = report::sla_report(
                &report::gather(all.clone(), world.timeline.clone()),
                &world.state.settings,
                &agents,
                &query,
                now,
            );
            let read: Vec<_> = all
                .iter()
                .filter(|t| report::candidate(t, from, to))
                .cloned()
                .collect();
            let part = report::sla_report(
                &report::gather(read, world.timeline.clone()),
                &world.state.settings,
                &agents,
                &query,
                now,
            );
            prop_assert_eq!(
                part,
                whole,
                "the report of {} – {} read at {}",
                from,
                to,
                now
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_mutation_sequences_keep_the_rules(
        steps in prop::collection::vec((0usize..ACTORS.len(), op(), 0i64..180 * 60_000), 1..60)
    ) {
        let mut world = World::new();
        let mut now = t0();
        let mut seen_ids = BTreeSet::new();
        let mut closed: BTreeMap<Uuid, String> = BTreeMap::new();
        for (actor, op, dt) in steps {
            now += TimeDelta::milliseconds(dt);
            let m = mutation(&mut world, &op);
            let caller = match ACTORS[actor] {
                Some(id) => Caller::Agent(id),
                None => Caller::Integration,
            };
            // What a store loads for the mutation (its scope) gives the
            // same answer as the whole team: loading less never changes a rule.
            let stamp = Stamp { mutation_id: Uuid::from_u128(0x5c0be), at: now, client_at: None };
            let full = apply(&world.state, caller, &m, &stamp);
            let scoped = apply(&scoped_state(&world.state, &m), caller, &m, &stamp);
            match (full, scoped) {
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(&a.activity, &b.activity, "{}", m.name());
                    prop_assert_eq!(&a.messages, &b.messages);
                    prop_assert_eq!(&a.tickets, &b.tickets);
                    prop_assert_eq!(&a.conversations, &b.conversations);
                    for id in &a.tickets {
                        prop_assert_eq!(a.state.tickets.get(id), b.state.tickets.get(id));
                    }
                    for id in &a.conversations {
                        prop_assert_eq!(a.state.conversations.get(id), b.state.conversations.get(id));
                    }
                }
                (a, b) => prop_assert!(false, "{}: whole team {:?}, its scope {:?}", m.name(), a.err(), b.err()),
            }
            let before = world.state.clone();
            let before_json = serde_json::to_string(&before).expect("state serialises");
            let timeline_len = world.timeline.len();
            match world.apply(caller, m.clone(), now) {
                Err(_) => {
                    prop_assert_eq!(serde_json::to_string(&world.state).expect("json"), before_json, "a refusal writes nothing");
                    prop_assert_eq!(world.timeline.len(), timeline_len);
                }
                Ok(applied) => {
                    // Append-only: everything before is untouched; ids never repeat.
                    for entry in &applied.activity {
                        prop_assert!(seen_ids.insert(entry.id), "entry id {} repeated", entry.id);
                        prop_assert!(world.state.tickets.contains_key(&entry.ticket_id));
                        prop_assert_eq!(entry.at, now);
                    }
                    for entry in &applied.activity {
                        if let Change::Comment { mention_ids, .. } = &entry.change {
                            for m in mention_ids {
                                prop_assert!(world.state.agents.get(m).is_some_and(|a| a.active), "mentions only active agents");
                            }
                        }
                    }
                    let ordinary = applied.activity.iter().filter(|a| a.change.kind() != "sla_breached").count();
                    prop_assert_eq!(ordinary, expected_entries(&before, &world.state, &m), "one entry per change of {:?}", m.name());
                    for id in &applied.tickets {
                        let old = before.tickets.get(id).map(|t| t.version).unwrap_or(0);
                        prop_assert!(world.state.tickets[id].version > old, "a changed ticket gets a new version");
                    }
                }
            }
            // Closed is terminal: a closed ticket never changes again, but
            // for the one way out, an unmerge of a merged ticket (RULES.md
            // "Merge"); a merged ticket takes nothing else.
            let unmerged = match &m {
                Mutation::UnmergeTicket(u) => world.state.tickets.get(&u.ticket_id).filter(|t| t.merged_into_id.is_none()).map(|t| t.id),
                _ => None,
            };
            if let Some(id) = unmerged {
                closed.remove(&id);
            }
            for (id, json) in &closed {
                prop_assert_eq!(&serde_json::to_string(&world.state.tickets[id]).expect("json"), json, "{} changed a closed ticket", m.name());
            }
            for t in world.state.tickets.values().filter(|t| t.status == Status::Closed) {
                closed.entry(t.id).or_insert_with(|| serde_json::to_string(t).expect("json"));
            }
            check_sla_invariants(&world.state, now)?;
            check_sla_invariants(&world.state, now + TimeDelta::days(3))?;
        }
        check_report_reads_its_period(&world, now)?;
    }

    #[test]
    fn breaches_are_recorded_at_most_once_per_timer(
        priority in priority(),
        checks in prop::collection::vec(0i64..10_000 * 60_000, 1..20)
    ) {
        let mut world = World::new();
        let id = world.create(priority, t0());
        let mut ticket = world.ticket(id).clone();
        let mut recorded = Vec::new();
        let mut checks = checks;
        checks.sort_unstable();
        for c in checks {
            if let Some((t, entries)) = observe_breaches(&ticket, &world.state.settings, t0() + TimeDelta::milliseconds(c)) {
                ticket = t;
                recorded.extend(entries.into_iter().map(|e| e.change));
            }
        }
        let mut timers: Vec<_> = recorded.iter().map(|c| match c { Change::SlaBreached { timer, .. } => *timer, _ => unreachable!() }).collect();
        let before = timers.len();
        timers.dedup();
        prop_assert_eq!(before, timers.len());
    }

    #[test]
    fn business_hours_timers_keep_their_rules(
        steps in prop::collection::vec((0usize..ACTORS.len(), op(), 0i64..180 * 60_000), 1..40)
    ) {
        use crate::business_hours::{office, use_calendar};
        // The same mutations, by the same actors at the same moments, in
        // four teams: no calendar; a 24/7 calendar for every priority; an
        // office calendar (Berlin, a holiday) for normal and low; and that
        // office team again with its breaches observed after every step.
        let mut plain = World::new();
        let mut round = World::new();
        use_calendar(&mut round, calendar::Calendar::always(), &Priority::ALL);
        let mut desk = World::new();
        use_calendar(&mut desk, office(&["2026-03-04"]), &[Priority::Normal, Priority::Low]);
        let mut split = World::new();
        use_calendar(&mut split, office(&["2026-03-04"]), &[Priority::Normal, Priority::Low]);
        let mut now = t0();
        for (actor, op, dt) in steps {
            now += TimeDelta::milliseconds(dt);
            let caller = match ACTORS[actor] {
                Some(id) => Caller::Agent(id),
                None => Caller::Integration,
            };
            let mut outcomes = Vec::new();
            for w in [&mut plain, &mut round, &mut desk, &mut split] {
                let m = mutation(w, &op);
                outcomes.push(w.apply(caller, m, now).map(|_| ()));
            }
            // A recorded breach bumps a ticket's version, and breaches come at
            // other moments in each team, so an edit's base may be stale in
            // one team only; edits never touch a timer.
            if !matches!(op, Op::Edit { .. }) {
                prop_assert!(outcomes.iter().all(|o| *o == outcomes[0]), "SLA hours never change what is allowed: {:?}", outcomes);
            }
            let observed: Vec<Ticket> = split.state.tickets.values()
                .filter_map(|t| observe_breaches(t, &split.state.settings, now).map(|(t, _)| t))
                .collect();
            for t in observed {
                split.state.tickets.insert(t.id, t);
            }
            for at in [now, now + TimeDelta::days(3)] {
                for (id, t) in &plain.state.tickets {
                    let always = sla::evaluate(t, &plain.state.settings.sla, at);
                    let mut wide = sla::evaluate(&round.state.tickets[id], &round.state.settings.sla, at);
                    for timer in [&mut wide.first_response, &mut wide.resolution] {
                        timer.hours = Hours::Always;
                        timer.open_until = None;
                        timer.closed_until = None;
                        timer.left_at_close_seconds = None;
                    }
                    prop_assert_eq!(always, wide, "a 24/7 calendar counts as always");
                }
                let policy = &desk.state.settings.sla;
                for t in desk.state.tickets.values() {
                    let s = sla::evaluate(t, policy, at);
                    prop_assert_eq!(s, sla::evaluate(&split.state.tickets[&t.id], &split.state.settings.sla, at),
                        "observing breaches in between changes no timer");
                    for (kind, timer) in [(TimerKind::FirstResponse, s.first_response), (TimerKind::Resolution, s.resolution)] {
                        let counted = sla::counted_ms(t, policy, kind, at);
                        let target = i64::from(timer.target_minutes) * 60_000;
                        prop_assert!(counted >= 0 && counted <= (at - t.created_at).num_milliseconds(), "{kind:?} counted {counted} ms");
                        prop_assert!(sla::counted_ms(t, policy, kind, at + TimeDelta::hours(30)) >= counted, "counted time never decreases");
                        prop_assert_eq!(timer.remaining_seconds, (target - counted).div_euclid(1000), "{:?} remaining is counted time left", kind);
                        if !timer.state.is_running() {
                            continue;
                        }
                        let (due, at_risk) = (timer.due_at.expect("due"), timer.at_risk_at.expect("at risk"));
                        prop_assert!(at_risk <= due);
                        prop_assert_eq!(timer.state == TimerState::Breached, at > due);
                        prop_assert_eq!(timer.state == TimerState::AtRisk, at >= at_risk && at <= due);
                        // Past the last change, due is the first moment counted time reaches the target.
                        if due > t.updated_at {
                            prop_assert_eq!(sla::counted_ms(t, policy, kind, due), target);
                            prop_assert!(sla::counted_ms(t, policy, kind, due - TimeDelta::milliseconds(1)) < target);
                        }
                        if at_risk > t.updated_at {
                            prop_assert_eq!(sla::counted_ms(t, policy, kind, at_risk), target - policy.at_risk_threshold_ms(timer.target_minutes));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn wire_round_trip(priority in priority(), status in prop::sample::select(Status::ALL.to_vec())) {
        let m = Mutation::ChangeStatus(ChangeStatus { ticket_id: Uuid::nil(), status, note: None });
        let json = serde_json::to_value(&m).expect("json");
        prop_assert_eq!(&json["name"], "change_status");
        prop_assert_eq!(serde_json::from_value::<Mutation>(json).expect("back"), m);
        let p = serde_json::to_value(priority).expect("json");
        prop_assert_eq!(Priority::parse(p.as_str().expect("string")), Some(priority));
    }
}

#[test]
fn wire_shapes_match_the_api() {
    let m: Mutation = serde_json::from_str(
        r#"{"name":"change_status","args":{"ticket_id":"00000000-0000-0000-0000-000000000001","status":"resolved","note":"done"}}"#,
    )
    .expect("API.md push shape parses");
    assert_eq!(m.name(), "change_status");
    let r: Result<Mutation, _> = serde_json::from_str(
        r#"{"name":"assign","args":{"ticket_id":"00000000-0000-0000-0000-000000000001"}}"#,
    );
    assert!(
        r.is_err(),
        "assign without assignee_id is a mistake, not an unassign"
    );
    let settings = serde_json::to_value(TeamSettings::default()).expect("json");
    assert_eq!(
        settings["sla_policy"]["urgent"]["first_response_minutes"],
        15
    );
    assert_eq!(settings["at_risk_fraction"], 0.25);
    assert_eq!(settings["categories"][0], "billing");
    let entry = Activity {
        id: Uuid::nil(),
        ticket_id: Uuid::nil(),
        at: t0(),
        client_at: None,
        actor: ActorRef::agent(ALICE),
        change: Change::StatusChanged {
            from: Status::Open,
            to: Status::Resolved,
        },
    };
    let json = serde_json::to_value(&entry).expect("json");
    assert_eq!(json["kind"], "status_changed");
    assert_eq!(json["data"]["to"], "resolved");
    assert_eq!(json["actor"]["kind"], "agent");
    let refusal = serde_json::to_value(Refusal::invalid("subject", "empty")).expect("json");
    assert_eq!(refusal["code"], "invalid");
}
