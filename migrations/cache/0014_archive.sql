-- Tickets from before the sync window opened on this desktop, read from the
-- server's archive (crates/cache/src/archive.rs): kept beside the working
-- set, the least recently opened let go first.
CREATE TABLE IF NOT EXISTS archive_kept (
    ticket_id TEXT PRIMARY KEY,
    opened_at INTEGER NOT NULL
) WITHOUT ROWID;
