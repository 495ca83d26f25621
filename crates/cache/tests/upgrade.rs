//! A cache from an older schema opens and reads the same after its
//! upgrades; another account or another server database starts it over
//! without losing unsent changes.

mod fixture;

use fixture::*;
use fyncall_cache::{Cache, CacheError, PushResult};
use fyncall_domain::*;
use uuid::Uuid;

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
        conn.execute_batch(
            "ALTER TABLE activity ADD COLUMN body TEXT;
             ALTER TABLE tickets DROP COLUMN tags;
             DROP TABLE mentions;
             DROP TABLE macros;",
        )
        .expect("schema 9");
        for entry in before.iter().flatten() {
            let body = match &entry.change {
                Change::Comment { body, .. } => Some(body.clone()),
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
             ALTER TABLE tickets DROP COLUMN tags;
             DROP TABLE mentions;
             DROP TABLE macros;
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
