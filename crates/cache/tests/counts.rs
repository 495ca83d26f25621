//! The sidebar counts kept as rows change, and through a first download
//! transaction by transaction.

mod fixture;

use fixture::*;
use fyncall_cache::{Cache, Query};
use fyncall_domain::mutation::ChangeStatus;
use fyncall_domain::*;
use uuid::Uuid;

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
