//! RULES.md "Merge" on the desktop, offline: the picker's targets, the
//! preview's words, the merge queued like any change, the target's page
//! with the source's comments marked "from #A" and its conversation among
//! the links, the source's page refusing in the merge's words, a comment on
//! the source landing on the target, and the unmerge.

mod fixture;

use fixture::*;
use fyncall_cache::Cache;
use fyncall_domain::mutation::{MergeTicket, UnmergeTicket};
use fyncall_domain::*;

fn merge(
    cache: &mut Cache,
    a: usize,
    b: usize,
) -> Result<fyncall_cache::Acted, fyncall_cache::CacheError> {
    cache.act(
        Mutation::MergeTicket(MergeTicket {
            ticket_id: ticket_id(a),
            into_ticket_id: ticket_id(b),
        }),
        now(),
    )
}

#[test]
fn a_merge_made_offline_shows_on_both_pages_and_an_unmerge_undoes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Tickets 0 (open) and 3 (in progress) are Alice's, #1001 and #1004,
    // with two comments each; 12 is closed.
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 30, 2);

    // The picker: not itself, nothing closed; a number finds its ticket.
    let targets = cache
        .merge_targets(ticket_id(0), "", now())
        .expect("targets");
    assert!(!targets.is_empty());
    assert!(targets.iter().all(|r| r.ticket.id != ticket_id(0)));
    assert!(targets.iter().all(|r| r.ticket.status != Status::Closed));
    let found = cache
        .merge_targets(ticket_id(0), "#1004", now())
        .expect("by number");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].ticket.id, ticket_id(3));

    // The preview: allowed, and what moves in words.
    let preview = cache
        .merge_preview(ticket_id(0), ticket_id(3), now())
        .expect("preview");
    assert_eq!(preview.refusal, None);
    assert_eq!(
        preview.moves[0],
        "#1001 closes as \"merged into #1004\" and takes no further change"
    );
    assert_eq!(
        preview.moves[1],
        "its 2 comments show on #1004's timeline, marked as from #1001"
    );
    // Into a closed ticket: the preview says why not.
    let closed = cache
        .merge_preview(ticket_id(0), ticket_id(12), now())
        .expect("preview");
    assert!(
        closed
            .refusal
            .is_some_and(|r| r.message.starts_with("#1013 is closed")),
    );

    merge(&mut cache, 0, 3).expect("merged offline");
    let queued = cache.outbox().expect("outbox");
    assert_eq!(
        queued.last().map(|q| q.summary.as_str()),
        Some("merge #1001 into #1004")
    );

    let target = cache.ticket(ticket_id(3), now()).expect("target page");
    assert_eq!(target.merged.len(), 1);
    assert_eq!(target.merged[0].number, Some(1001));
    assert!(
        target.merged[0].conversation.is_some(),
        "its conversation among the links"
    );
    let from: Vec<&str> = target
        .activity
        .iter()
        .filter_map(|a| a.from.as_deref())
        .collect();
    assert_eq!(from, ["#1001", "#1001"], "A's two comments, marked");
    assert!(
        target
            .activity
            .iter()
            .any(|a| a.text == "merged #1001 into this ticket")
    );

    let source = cache.ticket(ticket_id(0), now()).expect("source page");
    assert_eq!(source.ticket.ticket.status, Status::Closed);
    assert_eq!(source.ticket.ticket.merged_into_id, Some(ticket_id(3)));
    let action = |key: &str| {
        source
            .actions
            .iter()
            .find(|a| a.key == key)
            .cloned()
            .expect("offered")
    };
    assert_eq!(action("unmerge").refusal, None);
    assert_eq!(
        action("status:in_progress").refusal.map(|r| r.message),
        Some("merged into #1004: reopen #1004".to_owned())
    );
    assert!(source.actions.iter().all(|a| a.key != "merge"));

    // A comment on the merged ticket lands on the target, marked.
    cache
        .act(comment_on(ticket_id(0), "from the old thread"), now())
        .expect("redirected");
    let target = cache.ticket(ticket_id(3), now()).expect("target page");
    let last = target.activity.last().expect("an entry");
    assert_eq!(last.entry.ticket_id, ticket_id(3));
    assert_eq!(last.from.as_deref(), Some("#1001"));

    // Unmerge: back as it was, and B's page lets A's comments go.
    cache
        .act(
            Mutation::UnmergeTicket(UnmergeTicket {
                ticket_id: ticket_id(0),
            }),
            now(),
        )
        .expect("unmerged");
    let source = cache.ticket(ticket_id(0), now()).expect("source page");
    assert_eq!(source.ticket.ticket.status, Status::Open);
    assert_eq!(source.ticket.ticket.merged_into_id, None);
    let target = cache.ticket(ticket_id(3), now()).expect("target page");
    assert!(target.merged.is_empty());
    assert_eq!(
        target.activity.iter().filter(|a| a.from.is_some()).count(),
        1,
        "only the comment that landed on it stays, marked"
    );
}
