//! Local actions on the cache: a refusal writes nothing, a pending change
//! stays on top until a pull passes it, a refused push becomes a problem,
//! a ticket made offline gives way to the server's.

mod fixture;

use fixture::*;
use fyncall_cache::{Cache, CacheError, PushResult, Query};
use fyncall_domain::mutation::{ChangePriority, ChangeStatus, EditTicket};
use fyncall_domain::wire::{ErrorCode, PushError};
use fyncall_domain::*;
use uuid::Uuid;

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
