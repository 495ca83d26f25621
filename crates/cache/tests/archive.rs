//! The working set on the desktop (`fyncall_domain::working_set`): a closed
//! ticket that ages past the team's sync window leaves the cache with its
//! timeline, its search row and its place in every list; what the window
//! holds stays; a ticket read from the server's archive comes back and is
//! kept when opened again; nothing with a change still queued, nor with an
//! unread mention, is let go.

mod fixture;

use chrono::TimeDelta;
use fixture::*;
use fyncall_cache::{Cache, Query};
use fyncall_domain::working_set::{cutoff, holds};
use fyncall_domain::*;

fn closed_ids(cache: &Cache, at: Timestamp) -> Vec<uuid::Uuid> {
    let mut q = Query::view(View::All);
    q.status = vec![Status::Closed];
    let mut ids: Vec<_> = cache
        .tickets(&q, at)
        .expect("the archive filter")
        .tickets
        .into_iter()
        .map(|r| r.ticket.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn tickets_closed_before_the_window_leave_and_an_archived_one_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 60, 2);
    let all: Vec<Ticket> = (0..60).map(ticket).collect();
    let closed: Vec<&Ticket> = all.iter().filter(|t| t.status == Status::Closed).collect();
    assert!(closed.len() >= 6, "the fixture closes some tickets");
    let counts_before = cache.counts(now()).expect("counts");

    // Within the window, nothing goes.
    let (gone, _) = cache.trim_working_set(now()).expect("trim");
    assert_eq!(gone, 0, "closed within 90 days: kept");
    assert_eq!(closed_ids(&cache, now()).len(), closed.len());

    // 91 days on, the closed ones have aged out; the rest stays, whatever its age.
    let later = now() + TimeDelta::days(91);
    let (gone, changes) = cache.trim_working_set(later).expect("trim");
    assert_eq!(gone, closed.len());
    let cut = cutoff(later, 90);
    for t in &all {
        let kept = cache.ticket(t.id, later).is_ok();
        assert_eq!(
            kept,
            holds(t, cut),
            "#{:?} as the domain's rule says",
            t.number
        );
    }
    assert_eq!(
        changes.tickets.iter().filter(|c| c.after.is_none()).count(),
        closed.len(),
        "each ticket let go is told as gone, for the lists to read again"
    );
    assert!(
        closed_ids(&cache, later).is_empty(),
        "the archive filter is empty"
    );
    assert_eq!(
        cache.counts(now()).expect("counts"),
        counts_before,
        "the sidebar's counts hold no closed ticket"
    );
    let gone_one = closed[0];
    let number = format!("#{}", gone_one.number.expect("numbered"));
    let err = cache.find_ticket(&number).expect_err("not here any more");
    assert!(
        matches!(err, fyncall_cache::CacheError::NotFound(_)),
        "{err:?}"
    );
    let reader_finds = {
        let mut q = Query::view(View::All);
        q.status = vec![Status::Closed];
        q.search = Some(gone_one.subject.clone());
        cache.tickets(&q, later).expect("search").tickets.len()
    };
    assert_eq!(reader_finds, 0, "its search row went with it");
    let timeline_rows: i64 = cache
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM activity WHERE ticket_id = ?1",
            [gone_one.id.to_string()],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(timeline_rows, 0, "its timeline went with it");

    // Opened again (the server's archive answered): kept, with its timeline,
    // and not let go by the next trim.
    let timeline = vec![comment(12, 0), comment(12, 1)];
    let archived = all
        .iter()
        .find(|t| t.id == ticket_id(12))
        .expect("ticket 12");
    assert_eq!(archived.status, Status::Closed);
    cache
        .keep_archived(archived, &timeline, later)
        .expect("kept");
    let page = cache.ticket(archived.id, later).expect("its page reads");
    assert_eq!(page.ticket.ticket.status, Status::Closed);
    assert_eq!(
        page.activity
            .iter()
            .filter(|a| matches!(a.entry.change, Change::Comment { .. }))
            .count(),
        2
    );
    assert_eq!(
        cache
            .find_ticket(&format!("#{}", archived.number.expect("n")))
            .expect("by number"),
        archived.id
    );
    let (gone, _) = cache
        .trim_working_set(later + TimeDelta::days(1))
        .expect("trim");
    assert_eq!(gone, 0, "an opened archived ticket is kept");
    assert!(cache.ticket(archived.id, later).is_ok());
}

#[test]
fn a_ticket_with_a_queued_change_is_never_let_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 12, 1);
    // Alice comments on #1001 offline; meanwhile the server closed it long ago.
    cache
        .act(comment_on(ticket_id(0), "Sent the replacement."), now())
        .expect("queued");
    let long_ago = now() - TimeDelta::days(200);
    let row = server_row(ticket(0), |t| {
        t.status = Status::Closed;
        t.resolved_at = Some(long_ago);
        t.closed_at = Some(long_ago);
        t.updated_at = long_ago;
    });
    cache.apply_pull(&page(vec![row], 100)).expect("pulled");
    let (gone, _) = cache.trim_working_set(now()).expect("trim");
    assert_eq!(gone, 0, "the queued comment keeps its ticket");
    assert_eq!(cache.outbox().expect("outbox").len(), 1, "and stays queued");
    assert!(cache.ticket(ticket_id(0), now()).is_ok());
}

#[test]
fn a_report_reaching_past_the_window_says_what_it_covers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 1);
    let query = |days: i64| fyncall_domain::ReportQuery {
        from: now() - TimeDelta::days(days),
        to: now(),
        group_by: GroupBy::Priority,
    };
    let month = cache.sla_report(&query(30), now()).expect("a month");
    assert_eq!(month.covers_since, None, "within the window: whole");
    let year = cache.sla_report(&query(365), now()).expect("a year");
    assert_eq!(
        year.covers_since,
        Some(cutoff(now(), 90)),
        "past it: says since when"
    );
    assert_eq!(year.total, month.total, "and counts what it holds");
    let json = serde_json::to_value(&month).expect("json");
    assert!(
        json.get("covers_since").is_none(),
        "absent when whole, as the server's"
    );
}
