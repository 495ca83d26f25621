//! Mentions in the cache (RULES.md "Mentions"): a pulled comment naming the
//! signed-in agent is an unread mention and a notice (once, not for one's
//! own comment); opening the ticket reads it through a queued change; a
//! read on another machine (the server's unread list) settles it here.

mod fixture;

use fixture::*;
use fyncall_cache::notify::{NoticeKind, mention_notices};
use fyncall_domain::mutation::MarkMentionsRead;
use fyncall_domain::*;

fn mentioning(ticket: usize, n: usize, by: uuid::Uuid, who: Vec<uuid::Uuid>) -> Activity {
    let mut a = comment(ticket, 900 + n);
    a.actor = ActorRef::agent(by);
    a.change = Change::Comment {
        body: format!("@Alice have a look ({n})"),
        mention_ids: who,
        merged_from: None,
    };
    a
}

#[test]
fn a_mention_is_unread_until_the_ticket_is_opened_or_read_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cache = loaded(&dir.path().join("c.sqlite"), ALICE, 6, 1);
    assert_eq!(cache.mentions(50).expect("mentions").unread, 0);

    let by_ben = mentioning(1, 1, BEN, vec![ALICE, ADMIN]);
    let own = mentioning(2, 2, ALICE, vec![ALICE]);
    let for_ben = mentioning(3, 3, ADMIN, vec![BEN]);
    let second = mentioning(4, 4, ADMIN, vec![ALICE]);
    let pulled: Vec<_> = [&by_ben, &own, &for_ben, &second]
        .iter()
        .map(|a| change("activity", a.id, serde_json::to_value(a).expect("json")))
        .collect();
    let changes = cache.apply_pull(&page(pulled, 10_000)).expect("pulled");

    // One notice per comment naming Alice by someone else.
    let notices = mention_notices(
        &changes,
        ALICE,
        |_| "Ben Okoro".into(),
        |_| Some((Some(1042), "Refund".into())),
    );
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert_eq!(notices[0].kind, NoticeKind::Mentioned);
    assert_eq!(notices[0].summary, "Ben Okoro mentioned you on #1042");
    assert!(
        notices[0].body.starts_with("Refund: @Alice"),
        "{}",
        notices[0].body
    );

    let mine = cache.mentions(50).expect("mentions");
    assert_eq!(
        mine.unread, 2,
        "her own comment naming herself is no mention"
    );
    assert_eq!(mine.items.len(), 2);
    assert!(mine.items.iter().all(|m| !m.read));
    assert!(
        mine.items
            .iter()
            .any(|m| m.body.contains("have a look (1)")),
        "{mine:?}"
    );

    // Opening ticket 1 reads its mention: a queued change, read at once here.
    let detail = cache.ticket(ticket_id(1), now()).expect("ticket");
    assert_eq!(detail.unread_mentions, vec![by_ben.id]);
    let acted = cache
        .act(
            Mutation::MarkMentionsRead(MarkMentionsRead {
                entry_ids: detail.unread_mentions.clone(),
            }),
            now(),
        )
        .expect("marked");
    assert!(acted.mutation_id.is_some(), "queued for the server");
    assert!(
        cache
            .ticket(ticket_id(1), now())
            .expect("t")
            .unread_mentions
            .is_empty()
    );
    assert_eq!(cache.mentions(50).expect("m").unread, 1);

    // The server says only `second` is still unread: the rest was read on
    // another machine. An incomplete list changes nothing.
    assert_eq!(cache.settle_mention_reads(&[], false).expect("settled"), 0);
    assert_eq!(
        cache
            .settle_mention_reads(&[second.id], true)
            .expect("settled"),
        0
    );
    assert_eq!(
        cache.mentions(50).expect("m").items[0].entry_id,
        second.id,
        "unread first"
    );
    let changed = cache.settle_mention_reads(&[], true).expect("settled");
    assert_eq!(changed, 1, "read on another machine");
    assert_eq!(cache.mentions(50).expect("m").unread, 0);
}
