//! The cache's files are private; its readers read the last commit beside
//! an open write and never write.

mod fixture;

use fixture::*;
use fyncall_cache::{Cache, Query};
use fyncall_domain::*;
use uuid::Uuid;

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
