//! The cache on real SQLite files: views against the rules, paging, search,
//! query plans, local actions, rebase, problems, migration.

mod fixture;

use std::collections::BTreeSet;

use fixture::*;
use fyncall_cache::{AssigneeFilter, Cache, CacheError, PushResult, Query};
use fyncall_domain::mutation::{ChangePriority, ChangeStatus, Comment, EditTicket};
use fyncall_domain::views::default_sort_key;
use fyncall_domain::wire::{ErrorCode, PushError};
use fyncall_domain::*;
use uuid::Uuid;

fn all_pages(cache: &Cache, mut q: Query) -> Vec<fyncall_cache::TicketRow> {
    let mut out = Vec::new();
    q.limit = 37;
    loop {
        let page = cache.tickets(&q, now()).expect("page");
        assert!(page.tickets.len() <= 37);
        out.extend(page.tickets);
        q.with_total = false;
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    out
}

#[test]
fn every_view_holds_exactly_the_tickets_the_rules_put_in_it_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 600, 0);
    let policy = SlaPolicy::default();
    let tickets: Vec<Ticket> = (0..600).map(ticket).collect();
    for view in View::ALL {
        let rows = all_pages(&cache, Query::view(view));
        let got: Vec<Uuid> = rows.iter().map(|r| r.ticket.id).collect();
        let mut expected: Vec<&Ticket> = tickets
            .iter()
            .filter(|t| view.contains(t, ALICE, &policy, now()))
            .collect();
        expected.sort_by_key(|t| default_sort_key(view, t, &policy));
        let expected: Vec<Uuid> = expected.into_iter().map(|t| t.id).collect();
        assert!(
            !expected.is_empty(),
            "{view:?} should not be empty in the fixture"
        );
        assert_eq!(got, expected, "{view:?}");
        let total = cache
            .tickets(&Query::view(view), now())
            .expect("page")
            .total
            .expect("asked for");
        assert_eq!(total as usize, expected.len(), "{view:?} total");
    }
    let counts = cache.counts(now()).expect("counts");
    assert_eq!(
        counts.mine as usize,
        tickets
            .iter()
            .filter(|t| View::Mine.contains(t, ALICE, &policy, now()))
            .count()
    );
}

#[test]
fn every_sort_pages_through_each_ticket_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 300, 0);
    let open = (0..300)
        .map(ticket)
        .filter(|t| t.status != Status::Closed)
        .count();
    for field in SortField::ALL {
        for order in [Order::Asc, Order::Desc] {
            let mut q = Query::view(View::All);
            q.sort = Some((field, order));
            let rows = all_pages(&cache, q);
            let ids: BTreeSet<Uuid> = rows.iter().map(|r| r.ticket.id).collect();
            assert_eq!(ids.len(), rows.len(), "{field:?} {order:?}: a ticket twice");
            assert_eq!(rows.len(), open, "{field:?} {order:?}: tickets missing");
            let key = |t: &Ticket| -> (i64, String) {
                match field {
                    SortField::Number => (t.number.unwrap_or(i64::MAX), String::new()),
                    SortField::Subject => (0, t.subject.to_lowercase()),
                    SortField::Priority => (i64::from(t.priority.rank()), String::new()),
                    SortField::Created => (t.created_at.timestamp_millis(), String::new()),
                    SortField::Updated => (t.updated_at.timestamp_millis(), String::new()),
                    SortField::Category => (0, t.category.clone().unwrap_or_default()),
                    SortField::Status => (
                        Status::ALL.iter().position(|s| *s == t.status).unwrap_or(9) as i64,
                        String::new(),
                    ),
                    SortField::Assignee => (
                        0,
                        match t.assignee_id {
                            Some(ALICE) => "alice agent".into(),
                            Some(BEN) => "ben agent".into(),
                            _ => String::new(),
                        },
                    ),
                    SortField::SlaDue => (
                        sla::moments(t, &SlaPolicy::default())
                            .due_at
                            .map_or(i64::MAX, |d| d.timestamp_millis()),
                        String::new(),
                    ),
                }
            };
            for pair in rows.windows(2) {
                let (a, b) = (key(&pair[0].ticket), key(&pair[1].ticket));
                match order {
                    Order::Asc => assert!(a <= b, "{field:?} asc: {a:?} before {b:?}"),
                    Order::Desc => assert!(a >= b, "{field:?} desc: {a:?} before {b:?}"),
                }
            }
        }
    }
}

#[test]
fn filters_narrow_a_view() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 300, 0);
    let mut q = Query::view(View::All);
    q.status = vec![Status::Open, Status::InProgress];
    q.priority = vec![Priority::Urgent];
    q.assignee = Some(AssigneeFilter::Agent(BEN));
    q.category = Some("Billing".into());
    let rows = all_pages(&cache, q);
    let expected = (0..300)
        .map(ticket)
        .filter(|t| {
            matches!(t.status, Status::Open | Status::InProgress)
                && t.priority == Priority::Urgent
                && t.assignee_id == Some(BEN)
                && t.category.as_deref() == Some("billing")
        })
        .count();
    assert_eq!(rows.len(), expected);
    let mut q = Query::view(View::All);
    q.assignee = Some(AssigneeFilter::Nobody);
    q.created_from = Some(now() - chrono::TimeDelta::hours(24));
    for r in all_pages(&cache, q) {
        assert_eq!(r.ticket.assignee_id, None);
        assert!(r.ticket.created_at >= now() - chrono::TimeDelta::hours(24));
    }
}

#[test]
fn search_finds_words_in_subject_description_and_comments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 120, 2);
    let search = |text: &str| {
        let mut q = Query::view(View::All);
        q.search = Some(text.into());
        all_pages(&cache, q)
    };
    let blender = search("blender cracked");
    assert!(!blender.is_empty());
    assert!(blender.iter().all(|r| r.ticket.subject.contains("Blender")));
    let by_description = search("40007");
    assert_eq!(by_description.len(), 1);
    assert_eq!(by_description[0].ticket.id, ticket_id(7));
    // Comment text, with a prefix: "warehou" finds "warehouse".
    let by_comment = search("ticket 45 warehou");
    assert!(by_comment.iter().any(|r| r.ticket.id == ticket_id(45)));
    assert!(search("\"unbalanced (quotes AND OR*").is_empty());
    assert!(search("zzznothing").is_empty());
}

fn assert_indexed(lines: &[String], what: &str, sorted_by_index: bool) {
    for line in lines {
        let scans_table = line.starts_with("SCAN t") && !line.contains("INDEX");
        assert!(!scans_table, "{what}: full scan in {lines:?}");
        if sorted_by_index {
            assert!(
                !line.contains("TEMP B-TREE"),
                "{what}: sorts in memory: {lines:?}"
            );
        }
    }
    assert!(
        lines.iter().any(|l| l.contains("INDEX")),
        "{what}: no index used: {lines:?}"
    );
}

#[test]
fn every_view_query_is_served_by_an_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 300, 1);
    // The app never runs ANALYZE, so these are the plans it gets.
    for view in View::ALL {
        let (page, count) = cache.explain(&Query::view(view), now()).expect("plan");
        // SLA At Risk reads the few tickets at risk by their at-risk moment
        // and sorts just those: walking the due order would pass every
        // ticket due within the horizon (most of a busy team).
        let sorted_by_index = view != View::SlaAtRisk;
        assert_indexed(&page, &format!("{view:?} page"), sorted_by_index);
        if view == View::SlaAtRisk {
            assert!(
                page.iter().any(|l| l.contains("tickets_at_risk")),
                "SLA At Risk by its own index: {page:?}"
            );
        }
        // A view whose rule names a status reads that status's tickets by
        // the status index: the open tickets' update order would pass every
        // other open ticket to find a handful (Pending holds few).
        if view == View::Pending {
            assert!(
                page.iter().any(|l| l.contains("tickets_pending")),
                "Pending by its status index: {page:?}"
            );
        }
        assert_indexed(&count, &format!("{view:?} count"), false);
        // The next page too: the keyset bound must keep the index order.
        let first = cache.tickets(&Query::view(view), now()).expect("page");
        if let Some(cursor) = first.next_cursor {
            let mut q = Query::view(view);
            q.cursor = Some(cursor);
            let (page, _) = cache.explain(&q, now()).expect("plan");
            assert_indexed(&page, &format!("{view:?} next page"), true);
        }
    }
    for field in SortField::ALL {
        let mut q = Query::view(View::All);
        q.sort = Some((field, Order::Asc));
        let (page, _) = cache.explain(&q, now()).expect("plan");
        assert_indexed(&page, &format!("All by {field:?}"), true);
    }
    let mut q = Query::view(View::Mine);
    q.search = Some("refund".into());
    let (page, _) = cache.explain(&q, now()).expect("plan");
    assert!(
        page.iter().any(|l| l.contains("VIRTUAL TABLE INDEX")),
        "search goes through the full-text index: {page:?}"
    );
}

#[test]
fn every_inbox_view_is_served_by_an_index_and_pages_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 300, 0);
    for view in InboxView::ALL {
        let q = InboxQuery {
            view,
            search: None,
            limit: 20,
            cursor: None,
        };
        let (page, count) = cache.explain_inbox(&q).expect("plan");
        assert_indexed(&page, &format!("inbox {view:?} page"), true);
        assert_indexed(&count, &format!("inbox {view:?} count"), false);
        let first = cache.inbox(&q).expect("page");
        assert_eq!(first.conversations.len(), 20);
        let next = InboxQuery {
            cursor: first.next_cursor.clone(),
            ..q.clone()
        };
        let (page, _) = cache.explain_inbox(&next).expect("plan");
        assert_indexed(&page, &format!("inbox {view:?} next page"), true);
        // The pages hold every conversation of the view once, in its order.
        let mut all = first.conversations.clone();
        let mut cursor = first.next_cursor;
        while let Some(c) = cursor {
            let p = cache
                .inbox(&InboxQuery {
                    cursor: Some(c),
                    ..q.clone()
                })
                .expect("page");
            all.extend(p.conversations);
            cursor = p.next_cursor;
        }
        assert_eq!(all.len() as u64, first.total, "{view:?}");
        let order = view.rule().order;
        for pair in all.windows(2) {
            let key = |r: &fyncall_domain::InboxRow| {
                order.moment(&fyncall_domain::inbox::InboxMoments {
                    last_message_at: r.last_message_at,
                    waiting_since: r.waiting_since,
                })
            };
            if order.descending() {
                assert!(key(&pair[0]) >= key(&pair[1]), "{view:?} newest first");
            } else {
                assert!(key(&pair[0]) <= key(&pair[1]), "{view:?} oldest first");
            }
        }
    }
    let counts = cache.inbox_counts().expect("counts");
    assert_eq!(counts.all, 100);
    assert_eq!(counts.mine, 25, "every fourth chat is Alice's");
    assert_eq!(counts.unassigned, 50);
}

fn comment_on(ticket: Uuid, body: &str) -> Mutation {
    Mutation::Comment(Comment {
        id: Uuid::now_v7(),
        ticket_id: ticket,
        body: body.into(),
    })
}

fn row_json(cache: &Cache, id: Uuid) -> Option<String> {
    use rusqlite::OptionalExtension;
    cache
        .connection()
        .query_row(
            "SELECT data || '|' || overlay || '|' || coalesce(server_data, '') FROM tickets WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .expect("row")
}

#[test]
fn a_refused_action_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 0);
    // Ticket 12 is closed (status index (12/3)%5 = 4): nothing may change it.
    assert_eq!(ticket(12).status, Status::Closed);
    let before = row_json(&cache, ticket_id(12));
    let refused = cache.act(
        Mutation::ChangePriority(ChangePriority {
            ticket_id: ticket_id(12),
            priority: Priority::Urgent,
        }),
        now(),
    );
    assert!(
        matches!(refused, Err(CacheError::Refused(_))),
        "{refused:?}"
    );
    // Ben's ticket: an agent cannot resolve another agent's ticket.
    let refused = cache.act(
        Mutation::ChangeStatus(ChangeStatus {
            ticket_id: ticket_id(1),
            status: Status::Resolved,
            note: Some("done".into()),
        }),
        now(),
    );
    assert!(
        matches!(refused, Err(CacheError::Refused(_))),
        "{refused:?}"
    );
    let empty = cache.act(comment_on(ticket_id(0), "   "), now());
    assert!(matches!(empty, Err(CacheError::Refused(_))), "{empty:?}");
    assert_eq!(row_json(&cache, ticket_id(12)), before);
    assert!(cache.outbox().expect("outbox").is_empty());
    let activity: i64 = cache
        .connection()
        .query_row("SELECT count(*) FROM activity", [], |r| r.get(0))
        .expect("count");
    assert_eq!(activity, 0);
}

fn server_row(mut t: Ticket, change: impl FnOnce(&mut Ticket)) -> fyncall_cache::PulledChange {
    change(&mut t);
    t.version += 1;
    fyncall_cache::PulledChange::ticket(t)
}

#[test]
fn a_pending_change_stays_on_top_until_a_pull_passes_its_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 0);
    let cursor = cache.cursor().expect("cursor");
    let id = ticket_id(0); // Alice's, open
    let acted = cache
        .act(
            Mutation::ChangePriority(ChangePriority {
                ticket_id: id,
                priority: Priority::Urgent,
            }),
            now(),
        )
        .expect("act");
    let mutation_id = acted.mutation_id.expect("queued");
    assert_eq!(acted.changes.tickets.len(), 1);
    let detail = cache.ticket(id, now()).expect("ticket");
    assert!(detail.ticket.pending);
    assert_eq!(detail.ticket.ticket.priority, Priority::Urgent);
    assert_eq!(cache.info().expect("info").pending, 1);

    // Someone else changed the category on the server meanwhile.
    let theirs = server_row(ticket(0), |t| t.category = Some("shipping".into()));
    cache
        .apply_pull(&page(vec![theirs], cursor + 1))
        .expect("pull");
    let t = cache.ticket(id, now()).expect("ticket").ticket;
    assert_eq!(
        t.ticket.category.as_deref(),
        Some("shipping"),
        "server's change shows"
    );
    assert_eq!(
        t.ticket.priority,
        Priority::Urgent,
        "local change stays on top"
    );
    assert!(t.pending);

    // The server applies the push at sequence cursor + 5.
    cache
        .record_push(
            &[PushResult {
                id: mutation_id,
                outcome: fyncall_domain::wire::Outcome::Applied,
                seq: Some(cursor + 5),
                error: None,
            }],
            now(),
        )
        .expect("push result");
    assert_eq!(cache.info().expect("info").pending, 0, "sent");
    assert_eq!(
        cache.outbox().expect("outbox").len(),
        1,
        "kept until pulled"
    );
    // A pull that stops short of it: still laid on top, no flicker.
    cache.apply_pull(&page(vec![], cursor + 3)).expect("pull");
    let t = cache.ticket(id, now()).expect("ticket").ticket;
    assert_eq!(t.ticket.priority, Priority::Urgent);
    // The pull that passes it carries the server's row with the change.
    let mine = server_row(ticket(0), |t| {
        t.category = Some("shipping".into());
        t.priority = Priority::Urgent;
        t.version += 1;
    });
    cache
        .apply_pull(&page(vec![mine], cursor + 5))
        .expect("pull");
    let t = cache.ticket(id, now()).expect("ticket").ticket;
    assert_eq!(t.ticket.priority, Priority::Urgent);
    assert!(!t.pending);
    assert!(cache.outbox().expect("outbox").is_empty());
    let overlay: i64 = cache
        .connection()
        .query_row("SELECT count(*) FROM tickets WHERE overlay = 1", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(overlay, 0);
}

#[test]
fn a_refused_push_moves_to_problems_with_the_text_and_later_ones_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 0);
    let id = ticket_id(0);
    let resolve = cache
        .act(
            Mutation::ChangeStatus(ChangeStatus {
                ticket_id: id,
                status: Status::Resolved,
                note: Some("Sent a replacement lid by courier".into()),
            }),
            now(),
        )
        .expect("resolve")
        .mutation_id
        .expect("queued");
    let comment = cache
        .act(comment_on(ticket_id(3), "still checking"), now())
        .expect("comment")
        .mutation_id
        .expect("queued");
    assert_eq!(
        cache.ticket(id, now()).expect("t").ticket.ticket.status,
        Status::Resolved
    );
    let changes = cache
        .record_push(
            &[
                PushResult {
                    id: resolve,
                    outcome: fyncall_domain::wire::Outcome::Rejected,
                    seq: None,
                    error: Some(PushError::new(
                        ErrorCode::Forbidden,
                        "only the assignee or an admin can change this ticket",
                    )),
                },
                PushResult {
                    id: comment,
                    outcome: fyncall_domain::wire::Outcome::Applied,
                    seq: Some(10_000),
                    error: None,
                },
            ],
            now(),
        )
        .expect("record");
    assert!(
        changes.tickets.iter().any(|c| c.id == id),
        "the ticket went back"
    );
    let t = cache.ticket(id, now()).expect("t").ticket;
    assert_eq!(
        t.ticket.status,
        ticket(0).status,
        "the server's state again"
    );
    assert!(!t.pending);
    let problems = cache.problems().expect("problems");
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].code, ErrorCode::Forbidden);
    assert!(problems[0].message.contains("only the assignee"));
    assert_eq!(
        problems[0].typed.get("note").map(String::as_str),
        Some("Sent a replacement lid by courier")
    );
    // The later comment is still laid on top, waiting for its pull.
    let detail = cache.ticket(ticket_id(3), now()).expect("t");
    assert!(detail.activity.iter().any(|a| a.pending));
    // Retry queues it again under a new id; discard forgets it.
    let retried = cache.retry_problem(problems[0].id, now()).expect("retry");
    assert_ne!(retried.mutation_id, Some(resolve));
    assert!(cache.problems().expect("problems").is_empty());
    assert_eq!(cache.info().expect("info").pending, 1);
    cache
        .record_push(
            &[PushResult {
                id: retried.mutation_id.expect("queued"),
                outcome: fyncall_domain::wire::Outcome::Rejected,
                seq: None,
                error: Some(PushError::new(ErrorCode::Forbidden, "still no")),
            }],
            now(),
        )
        .expect("record");
    let p = cache.problems().expect("problems");
    assert_eq!(p.len(), 1);
    cache.discard_problem(p[0].id).expect("discard");
    assert!(cache.problems().expect("problems").is_empty());
    assert!(matches!(
        cache.discard_problem(p[0].id),
        Err(CacheError::NotFound(_))
    ));
}

#[test]
fn a_ticket_created_offline_is_visible_then_replaced_by_the_servers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 0);
    let id = Uuid::now_v7();
    cache
        .act(
            Mutation::CreateTicket(fyncall_domain::mutation::CreateTicket {
                id,
                conversation_id: conversation_id(0),
                subject: "Printer on fire".into(),
                priority: Priority::High,
                description: None,
                category: None,
                assignee_id: Some(ALICE),
            }),
            now(),
        )
        .expect("create");
    let mine = all_pages(&cache, Query::view(View::Mine));
    let row = mine.iter().find(|r| r.ticket.id == id).expect("listed");
    assert!(row.pending);
    assert_eq!(row.ticket.number, None);
    // An edit on top of the unsent ticket.
    cache
        .act(
            Mutation::EditTicket(EditTicket {
                ticket_id: id,
                subject: Some("Printer smoking".into()),
                ..EditTicket::default()
            }),
            now(),
        )
        .expect("edit");
    let rejected: Vec<PushResult> = cache
        .outbox()
        .expect("outbox")
        .iter()
        .map(|e| PushResult {
            id: e.id,
            outcome: fyncall_domain::wire::Outcome::Rejected,
            seq: None,
            error: Some(PushError::new(ErrorCode::Forbidden, "no")),
        })
        .collect();
    cache.record_push(&rejected[..1], now()).expect("record");
    // Its creation was refused: the ticket is gone, the edit waits (and will be refused too).
    assert!(matches!(
        cache.ticket(id, now()),
        Err(CacheError::NotFound(_))
    ));
    assert_eq!(
        cache.problems().expect("p")[0]
            .typed
            .get("subject")
            .map(String::as_str),
        Some("Printer on fire")
    );
}

/// Whether a search for a word of the fixture's comments finds tickets.
fn finds_comments(cache: &Cache) -> bool {
    let mut q = Query::view(View::All);
    q.status = Status::ALL.to_vec();
    q.search = Some("comment".into());
    !cache.tickets(&q, now()).expect("search").tickets.is_empty()
}

#[test]
fn a_timeline_stored_whole_reads_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v9.sqlite");
    let timeline = |cache: &Cache| -> Vec<Vec<Activity>> {
        (0..30)
            .map(|i| {
                cache
                    .ticket(ticket_id(i), now())
                    .expect("ticket")
                    .activity
                    .into_iter()
                    .map(|row| row.entry)
                    .collect()
            })
            .collect()
    };
    let cache = loaded(&path, ALICE, 30, 2);
    let before = timeline(&cache);
    assert!(
        before
            .iter()
            .flatten()
            .any(|a| matches!(a.change, Change::Comment { .. })),
        "comments among them"
    );
    drop(cache);
    {
        // Schema 9's rows: each entry whole in its JSON, a comment's text
        // in a column of its own too.
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch("ALTER TABLE activity ADD COLUMN body TEXT")
            .expect("schema 9");
        for entry in before.iter().flatten() {
            let body = match &entry.change {
                Change::Comment { body } => Some(body.clone()),
                _ => None,
            };
            conn.execute(
                "UPDATE activity SET data = ?1, body = ?2 WHERE id = ?3",
                rusqlite::params![
                    serde_json::to_string(entry).expect("json"),
                    body,
                    entry.id.to_string()
                ],
            )
            .expect("old row");
        }
        conn.pragma_update(None, "user_version", 9)
            .expect("version");
    }
    let cache = Cache::open(&path).expect("upgrade");
    assert_eq!(timeline(&cache), before);
    let lean: String = cache
        .connection()
        .query_row("SELECT data FROM activity LIMIT 1", [], |r| r.get(0))
        .expect("row");
    assert!(!lean.contains("ticket_id"), "{lean}");
    assert!(finds_comments(&cache), "search finds a comment's words");
}

#[test]
fn a_cache_upgraded_to_the_textless_search_index_finds_what_it_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v8.sqlite");
    let before = loaded(&path, ALICE, 60, 2).search_terms().expect("terms");
    assert!(!before.is_empty());
    {
        // Schema 8's search index: one that kept a copy of its text (and
        // its timeline's column for the text of comments).
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "ALTER TABLE activity ADD COLUMN body TEXT;
             DROP TABLE ticket_search;
             CREATE VIRTUAL TABLE ticket_search USING fts5 (
                 subject, description, comments,
                 tokenize = 'unicode61 remove_diacritics 2');
             PRAGMA user_version = 8;",
        )
        .expect("schema 8");
    }
    let cache = Cache::open(&path).expect("upgrade");
    assert_eq!(cache.search_terms().expect("terms"), before);
    assert!(finds_comments(&cache), "search finds a comment's words");
}

#[test]
fn a_cache_of_the_first_schema_opens_after_upgrades() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(include_str!("../../../migrations/cache/0001_init.sql"))
            .expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('client_id', '0190b5a0-0000-7000-8000-000000000001'),
             ('cursor', '77'), ('agent_id', ?1)",
            [ALICE.to_string()],
        )
        .expect("meta");
        conn.execute(
            "INSERT INTO outbox (id, mutation, client_at, made_at, summary)
             VALUES ('0190b5a0-0000-7000-8000-0000000000aa', ?1, 0, 0, 'comment on #1001')",
            [
                serde_json::to_string(&comment_on(ticket_id(0), "typed before the upgrade"))
                    .expect("json"),
            ],
        )
        .expect("outbox");
    }
    let cache = Cache::open(&path).expect("upgrade");
    assert_eq!(
        cache.schema_version().expect("v"),
        fyncall_cache::SCHEMA_VERSION
    );
    const { assert!(fyncall_cache::SCHEMA_VERSION >= 2) };
    assert_eq!(cache.cursor().expect("cursor"), 77);
    assert_eq!(cache.me().expect("me"), Some(ALICE));
    let outbox = cache.outbox().expect("outbox");
    assert_eq!(outbox.len(), 1, "nothing queued is lost by an upgrade");
    cache
        .set_preference("notify.at_risk", "off")
        .expect("v2 table");
    assert_eq!(
        cache.preference("notify.at_risk").expect("pref").as_deref(),
        Some("off")
    );
    drop(cache);
    // A file from a newer build is refused with a clear message, untouched.
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", 99)
        .expect("version");
    drop(conn);
    match Cache::open(&path) {
        Err(CacheError::Invalid(m)) => assert!(m.contains("newer"), "{m}"),
        other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn signing_in_as_someone_else_keeps_unsent_changes_safe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 12, 0);
    cache
        .act(comment_on(ticket_id(0), "not sent yet"), now())
        .expect("comment");
    let refused = cache.sign_in("http://127.0.0.1:1", BEN);
    assert!(
        matches!(refused, Err(CacheError::Invalid(_))),
        "{refused:?}"
    );
    assert_eq!(cache.me().expect("me"), Some(ALICE));
    assert_eq!(cache.outbox().expect("outbox").len(), 1);
}

#[test]
fn another_database_starts_the_cache_over_and_queues_every_change_again_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 10, 0);
    let first = Uuid::new_v4();
    let other = Uuid::new_v4();
    assert!(
        !cache.must_heal(Some(first)).expect("first"),
        "a first id is remembered"
    );
    assert!(!cache.must_heal(Some(first)).expect("same"));
    assert!(!cache.must_heal(None).expect("older server"));
    let cursor = cache.cursor().expect("cursor");

    // Two changes sent and pulled past (gone from the outbox), one sent and
    // not yet pulled, one not sent at all.
    let mut ids = Vec::new();
    for body in ["one", "two", "three", "four"] {
        let acted = cache
            .act(comment_on(ticket_id(0), body), now())
            .expect("act");
        ids.push(acted.mutation_id.expect("queued"));
    }
    let applied = |id, seq| PushResult {
        id,
        outcome: fyncall_domain::wire::Outcome::Applied,
        seq: Some(seq),
        error: None,
    };
    cache
        .record_push(
            &[
                applied(ids[0], cursor + 1),
                applied(ids[1], cursor + 2),
                applied(ids[2], cursor + 9),
            ],
            now(),
        )
        .expect("push");
    cache.apply_pull(&page(vec![], cursor + 2)).expect("pull");
    assert_eq!(
        cache.outbox().expect("outbox").len(),
        2,
        "the first two are done"
    );

    assert!(
        cache.must_heal(Some(other)).expect("other"),
        "another database"
    );
    let (queued, changes) = cache.heal(Some(other)).expect("heal");
    assert!(changes.bulk && changes.queue);
    assert_eq!(queued, 4);
    let outbox: Vec<Uuid> = cache
        .outbox()
        .expect("outbox")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(outbox, ids, "every change again, in the order made");
    assert_eq!(
        cache.info().expect("info").pending,
        4,
        "all to be sent again"
    );
    assert_eq!(
        cache.cursor().expect("cursor"),
        0,
        "the team is downloaded again"
    );
    assert!(!cache.must_heal(Some(other)).expect("healed"));
    assert_eq!(
        cache.take_restore_notice().expect("notice"),
        None,
        "not before they are answered"
    );

    // The restored store knew the first one; the others apply again.
    let duplicate = PushResult {
        id: ids[0],
        outcome: fyncall_domain::wire::Outcome::Duplicate,
        seq: Some(cursor + 1),
        error: None,
    };
    cache
        .record_push(
            &[
                duplicate,
                applied(ids[1], 5),
                applied(ids[2], 6),
                applied(ids[3], 7),
            ],
            now(),
        )
        .expect("push");
    assert_eq!(
        cache.take_restore_notice().expect("notice").as_deref(),
        Some("The server was restored from a backup; 3 of your changes were sent again.")
    );
    assert_eq!(cache.take_restore_notice().expect("again"), None, "once");
}

/// The cache is private from the moment it exists (folder 0700, files
/// 0600), and "remove this computer's copy" leaves no file behind.
#[cfg(unix)]
#[test]
fn the_cache_files_are_private_and_can_be_removed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let path = home.join("cache.sqlite");
    let mut cache = Cache::open(&path).expect("open");
    cache
        .sign_in("https://desk.example.com", Uuid::now_v7())
        .expect("sign in");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&home), 0o700);
    assert_eq!(mode(&path), 0o600);
    let wal = home.join("cache.sqlite-wal");
    assert!(wal.exists());
    assert_eq!(
        mode(&wal),
        0o600,
        "SQLite gives its WAL the database's mode"
    );

    cache.remove_files().expect("removed");
    assert!(cache.is_detached());
    assert_eq!(
        std::fs::read_dir(&home).expect("home").count(),
        0,
        "no file left"
    );
    // Still usable (empty) until the next sign-in opens a file again.
    assert_eq!(cache.cursor().expect("cursor"), 0);
    cache.reopen().expect("reopened");
    assert!(path.exists());
    assert!(!cache.is_detached());
}

#[test]
fn the_reader_reads_the_last_commit_while_a_write_is_open_and_never_writes() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.sqlite");
    let cache = loaded(&path, ALICE, 60, 1);
    let reader = cache.reader().expect("a reader");
    let all = |c: &Cache| {
        let mut q = Query::view(View::All);
        q.status = Status::ALL.to_vec();
        c.tickets(&q, now()).expect("page").total.unwrap_or(0)
    };
    let before = all(&reader);
    assert_eq!(before, 60);
    // A writer in the middle of a long transaction (a first download): the
    // reader answers at once with what was committed, not what is half done.
    let mut writer = rusqlite::Connection::open(&path).expect("open");
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .expect("begin");
    tx.execute("DELETE FROM tickets", []).expect("delete");
    assert_eq!(all(&reader), before, "uncommitted rows are not seen");
    assert_eq!(all(&cache.reader().expect("another")), before);
    tx.commit().expect("commit");
    assert_eq!(all(&reader), 0, "the commit is seen by the next read");
    // It only reads.
    assert!(reader.set_preference("theme", "dark").is_err());
}

#[test]
fn pooled_readers_read_side_by_side_while_a_write_is_open() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.sqlite");
    let mut cache = loaded(&path, ALICE, 40, 1);
    let readers = cache.readers(3).expect("readers");
    let all = |c: &Cache| {
        let mut q = Query::view(View::All);
        q.status = Status::ALL.to_vec();
        c.tickets(&q, now()).expect("page").total.unwrap_or(0)
    };
    let mut writer = rusqlite::Connection::open(&path).expect("open");
    let tx = writer
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .expect("begin");
    tx.execute("DELETE FROM tickets", []).expect("delete");
    // Three reads held at once, from three threads, each on its own
    // connection, none waiting for the open write nor for the others.
    let (tx_ready, rx_ready) = std::sync::mpsc::channel();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let rx_go = std::sync::Arc::new(std::sync::Mutex::new(rx_go));
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let readers = readers.clone();
            let ready = tx_ready.clone();
            let go = rx_go.clone();
            std::thread::spawn(move || {
                let reader = readers.get().expect("a free reader");
                let n = all(&reader);
                ready.send(n).expect("ready");
                // Hold the connection until all three have read.
                go.lock().expect("go").recv().expect("go");
                n
            })
        })
        .collect();
    let seen: Vec<u64> = (0..3).map(|_| rx_ready.recv().expect("a read")).collect();
    assert_eq!(seen, vec![40, 40, 40], "the last commit, three at once");
    for _ in 0..3 {
        tx_go.send(()).expect("go");
    }
    for t in threads {
        assert_eq!(t.join().expect("thread"), 40);
    }
    tx.commit().expect("commit");
    assert_eq!(
        all(&readers.get().expect("reader")),
        0,
        "the commit is seen"
    );
    assert!(
        readers
            .get()
            .expect("reader")
            .set_preference("theme", "dark")
            .is_err()
    );

    // Removed files: the readers made now read an empty cache in memory.
    drop(writer);
    cache.remove_files().expect("removed");
    let detached = cache.readers(2).expect("readers");
    let empty = detached.get().expect("reader");
    assert_eq!(empty.cursor().expect("cursor"), 0);
    assert!(empty.outbox().expect("outbox").is_empty());
    assert!(!path.exists(), "no file made again by a reader");
}

/// The sidebar's counts as the rules give them over every ticket the cache shows.
fn counted(cache: &Cache, me: Uuid, at: Timestamp) -> fyncall_cache::Counts {
    let mut q = Query::view(View::All);
    q.status = Status::ALL.to_vec();
    let tickets: Vec<Ticket> = all_pages(cache, q).into_iter().map(|r| r.ticket).collect();
    let policy = SlaPolicy::default();
    let n = |view: View| {
        tickets
            .iter()
            .filter(|t| view.contains(t, me, &policy, at))
            .count() as u64
    };
    fyncall_cache::Counts {
        all: n(View::All),
        mine: n(View::Mine),
        sla_at_risk: n(View::SlaAtRisk),
        pending: n(View::Pending),
        ai_escalated: n(View::AiEscalated),
    }
}

/// Every count the sidebar shows (ticket views and inbox, the writer's and
/// a reader's, now and as the clock moves) equals the rules over the rows.
fn check_counts(cache: &Cache, what: &str) {
    let expected = counted(cache, ALICE, now());
    assert_eq!(cache.counts(now()).expect("counts"), expected, "{what}");
    let reader = cache.reader().expect("reader");
    assert_eq!(
        reader.counts(now()).expect("counts"),
        expected,
        "{what}, reader"
    );
    // The inbox's counts equal its views' totals, counted.
    let total = |view: InboxView| {
        cache
            .inbox(&InboxQuery {
                view,
                search: None,
                limit: 1,
                cursor: None,
            })
            .expect("inbox")
            .total
    };
    let inbox = cache.inbox_counts().expect("inbox counts");
    assert_eq!(
        (inbox.unassigned, inbox.mine, inbox.all),
        (
            total(InboxView::Unassigned),
            total(InboxView::Mine),
            total(InboxView::All)
        ),
        "{what}, inbox"
    );
    // SLA At Risk moves with the clock: the same an hour, a day and a
    // month on, and a day back.
    for later in [
        chrono::TimeDelta::hours(1),
        chrono::TimeDelta::days(1),
        chrono::TimeDelta::days(30),
        chrono::TimeDelta::days(-1),
    ] {
        let at = now() + later;
        assert_eq!(
            cache.counts(at).expect("counts"),
            counted(cache, ALICE, at),
            "{what}, {later:?} on"
        );
    }
}

#[test]
fn the_sidebar_counts_are_kept_as_rows_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite");
    // 300 tickets come in several pages: a first download, which keeps the counts itself.
    let mut cache = loaded(&path, ALICE, 300, 0);
    let kept: i64 = cache
        .connection()
        .query_row("SELECT count(*) FROM view_counts WHERE n > 0", [], |r| {
            r.get(0)
        })
        .expect("kept counts");
    assert!(kept >= 4, "the counts are kept in view_counts, not counted");
    let check = |cache: &Cache, what: &str| {
        let expected = counted(cache, ALICE, now());
        assert!(expected.all > 0 && expected.mine > 0 && expected.pending > 0);
        check_counts(cache, what);
    };
    check(&cache, "after a first download");
    // Local changes: waiting on customer, closed, another priority.
    let mine: Vec<Ticket> = (0..300)
        .map(ticket)
        .filter(|t| t.assignee_id == Some(ALICE) && t.status == Status::Open)
        .take(2)
        .collect();
    for (t, status) in mine
        .iter()
        .zip([Status::WaitingOnCustomer, Status::Resolved])
    {
        cache
            .act(
                Mutation::ChangeStatus(ChangeStatus {
                    ticket_id: t.id,
                    status,
                    note: None,
                }),
                now(),
            )
            .expect("status");
        check(
            &cache,
            &format!("after {t:?} went {status:?}", t = t.number),
        );
    }
    // Alice claims an unassigned conversation.
    let unassigned = (0..100)
        .map(conversation_id)
        .find(|c| {
            cache
                .conversation(*c, now())
                .map(|d| d.conversation.assignee_id.is_none())
                .unwrap_or(false)
        })
        .expect("an unassigned conversation");
    cache
        .act(
            Mutation::ClaimConversation(fyncall_domain::mutation::ClaimConversation {
                conversation_id: unassigned,
            }),
            now(),
        )
        .expect("claim");
    check(&cache, "after a claim");
    // The server's rows: one of Alice's goes to Ben, one of Ben's is closed.
    let to_ben = (0..300)
        .map(ticket)
        .find(|t| t.assignee_id == Some(ALICE) && t.status == Status::InProgress)
        .expect("one of Alice's in progress");
    let closed = (0..300)
        .map(ticket)
        .find(|t| t.assignee_id == Some(BEN) && t.status == Status::WaitingOnCustomer)
        .expect("one of Ben's waiting");
    let cursor = cache.cursor().expect("cursor") + 1;
    cache
        .apply_pull(&page(
            vec![
                server_row(to_ben, |t| t.assignee_id = Some(BEN)),
                server_row(closed, |t| t.status = Status::Closed),
            ],
            cursor,
        ))
        .expect("pull");
    check(&cache, "after the server's rows");
    // Opened again, the counts are the same (and not counted again).
    drop(cache);
    let cache = Cache::open(&path).expect("open again");
    check(&cache, "opened again");
}

/// How the kept counts are kept now: by the triggers, or by a first download.
fn counts_kept_by(cache: &Cache) -> String {
    let kept: String = cache
        .connection()
        .query_row(
            "SELECT value FROM meta WHERE key = 'view_counts'",
            [],
            |r| r.get(0),
        )
        .expect("the counts are kept");
    if kept.starts_with("kept by a first download") {
        "download".into()
    } else {
        "triggers".into()
    }
}

#[test]
fn a_first_download_keeps_the_counts_transaction_by_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("c.sqlite");
    let mut cache = Cache::open(&path).expect("open");
    cache.sign_in("http://127.0.0.1:1", ALICE).expect("sign in");
    let pages = team_pages(1500, 1);
    assert!(pages.len() > 5, "a long download: {} pages", pages.len());
    let (last, first) = pages.split_last().expect("pages");
    let acted = (0..1500)
        .map(ticket)
        .find(|t| t.assignee_id == Some(ALICE) && t.status == Status::Open)
        .expect("one of Alice's open");
    let written = ticket(1);
    for (i, p) in first.iter().enumerate() {
        cache.apply_pull(p).expect("page");
        assert_eq!(counts_kept_by(&cache), "download", "page {i}");
        check_counts(&cache, &format!("after page {i}"));
        let stored = |id: Uuid| cache.ticket(id, now()).is_ok();
        if i == 3 {
            // The agent acts while the download runs; the server sends a
            // ticket again (closed, Ben's) and the acted one with a change
            // under the agent's.
            assert!(stored(acted.id) && stored(written.id));
            cache
                .act(
                    Mutation::ChangeStatus(ChangeStatus {
                        ticket_id: acted.id,
                        status: Status::Resolved,
                        note: None,
                    }),
                    now(),
                )
                .expect("resolved while downloading");
            check_counts(&cache, "after an action while downloading");
            let mut again = page(
                vec![
                    server_row(written.clone(), |t| {
                        t.status = Status::Closed;
                        t.assignee_id = Some(BEN);
                    }),
                    server_row(acted.clone(), |t| t.priority = Priority::Urgent),
                ],
                p.cursor,
            );
            again.has_more = true;
            cache.apply_pull(&again).expect("rows again");
            check_counts(&cache, "after rows sent again while downloading");
        }
    }
    cache.apply_pull(last).expect("last page");
    assert_eq!(counts_kept_by(&cache), "triggers");
    check_counts(&cache, "after the download");
    let expected = counted(&cache, ALICE, now());
    assert!(
        expected.all > 500 && expected.mine > 100 && expected.sla_at_risk > 0,
        "{expected:?}"
    );
    // The triggers keep them from now on.
    cache
        .act(
            Mutation::ChangeStatus(ChangeStatus {
                ticket_id: acted.id,
                status: Status::Closed,
                note: None,
            }),
            now(),
        )
        .expect("closed");
    check_counts(&cache, "after an action");
    // Opened again, nothing is recounted and nothing moves.
    drop(cache);
    let cache = Cache::open(&path).expect("open again");
    check_counts(&cache, "opened again");
}

#[test]
fn sla_at_risk_with_many_at_risk_walks_its_own_order_and_counts_on_its_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 1800;
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, n, 0);
    let tickets: Vec<Ticket> = (0..n).map(ticket).collect();
    let policy = SlaPolicy::default();
    let mut expected: Vec<&Ticket> = tickets
        .iter()
        .filter(|t| View::SlaAtRisk.contains(t, ALICE, &policy, now()))
        .collect();
    assert!(expected.len() > 1000, "many at risk: {}", expected.len());
    expected.sort_by_key(|t| default_sort_key(View::SlaAtRisk, t, &policy));
    let expected: Vec<Uuid> = expected.into_iter().map(|t| t.id).collect();
    let got: Vec<Uuid> = all_pages(&cache, Query::view(View::SlaAtRisk))
        .iter()
        .map(|r| r.ticket.id)
        .collect();
    assert_eq!(got, expected);
    let total = cache
        .tickets(&Query::view(View::SlaAtRisk), now())
        .expect("page")
        .total
        .expect("asked for");
    assert_eq!(total as usize, expected.len());
    assert_eq!(
        cache.counts(now()).expect("counts").sla_at_risk as usize,
        expected.len()
    );
    // The page in the list's order (no sort in memory), the count on the
    // at-risk index alone, and so for every sort the agent picks.
    let (page, count) = cache
        .explain(&Query::view(View::SlaAtRisk), now())
        .expect("plan");
    assert_indexed(&page, "many at risk, page", true);
    assert!(
        count
            .iter()
            .any(|l| l.contains("COVERING INDEX tickets_at_risk")),
        "counted on the at-risk index alone: {count:?}"
    );
    for field in SortField::ALL {
        let mut q = Query::view(View::SlaAtRisk);
        q.sort = Some((field, Order::Desc));
        let (page, _) = cache.explain(&q, now()).expect("plan");
        assert_indexed(&page, &format!("many at risk by {field:?}"), true);
    }
}

#[test]
fn a_long_first_download_builds_the_same_search_rows_as_a_short_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = |cache: &Cache| cache.search_terms().expect("search terms");
    // Page by page: the search rows are written once, at the end.
    let long = loaded(&dir.path().join("long.sqlite"), ALICE, 400, 2);
    // All pages in one transaction: ticket by ticket.
    let mut short = Cache::open(&dir.path().join("short.sqlite")).expect("open");
    short.sign_in("http://127.0.0.1:1", ALICE).expect("sign in");
    let mut pages = team_pages(400, 2);
    for p in &mut pages {
        p.has_more = false;
    }
    short.apply_pulls(&pages).expect("one transaction");
    let (a, b) = (rows(&long), rows(&short));
    let tickets = |col: &str| {
        a.iter()
            .filter(|r| r.1 == col)
            .map(|r| r.0.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!(tickets("subject"), 400);
    assert_eq!(tickets("comments"), 400, "every ticket has its comments");
    assert_eq!(a, b);
    assert!(finds_comments(&long), "search finds a comment's words");
}
