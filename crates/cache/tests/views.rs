//! The cache on real SQLite files: every view against the rules, paging
//! in every sort, filters, search, and the query plans that serve them.

mod fixture;

use std::collections::BTreeSet;

use fixture::*;
use fyncall_cache::{AssigneeFilter, Cache, Query};
use fyncall_domain::views::default_sort_key;
use fyncall_domain::*;
use uuid::Uuid;

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
