-- Who each comment mentions (RULES.md "Mentions"), written with the
-- comment's timeline entry; `read` once the agent has seen it here or
-- (told by the server) on another machine.
CREATE TABLE mentions (
    entry_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    by_agent_id TEXT,
    at INTEGER NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, entry_id)
);
CREATE INDEX mentions_unread ON mentions (agent_id, read, at);
