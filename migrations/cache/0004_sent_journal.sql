-- Changes the server acknowledged, kept after they leave the outbox, so they
-- can be sent again to a server restored from a backup older than them
-- (API.md "Sync": pushes are idempotent, so sending one it has is harmless).
-- Pruned to the newest 20,000 and the last 30 days.
CREATE TABLE sent (
    position  INTEGER PRIMARY KEY AUTOINCREMENT,
    id        TEXT NOT NULL UNIQUE,
    mutation  TEXT NOT NULL,
    client_at INTEGER NOT NULL,
    made_at   INTEGER NOT NULL,
    summary   TEXT NOT NULL,
    sent_at   INTEGER NOT NULL
);
CREATE INDEX sent_by_time ON sent (sent_at);

-- 1 on changes queued again after the server was found restored.
ALTER TABLE outbox ADD COLUMN resent INTEGER NOT NULL DEFAULT 0;
