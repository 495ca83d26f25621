-- Who a comment mentions (RULES.md "Mentions"): a row per mentioned agent,
-- written with the comment; `read_at` once that agent has seen it.
CREATE TABLE mentions (
    agent_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    by_agent_id TEXT,
    at TEXT NOT NULL,
    read_at TEXT,
    PRIMARY KEY (agent_id, entry_id)
);
CREATE INDEX mentions_by_agent ON mentions (agent_id, at);
