-- The team server's schema. Times are RFC 3339 UTC text with milliseconds,
-- so text order is time order. Entity rows keep their full JSON in `data`;
-- the other columns exist to filter, sort and index.

CREATE TABLE team (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT NOT NULL,
    seq         INTEGER NOT NULL DEFAULT 0,   -- last change sequence given out
    next_number INTEGER NOT NULL DEFAULT 1001 -- next ticket number
);

CREATE TABLE agents (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    data          TEXT NOT NULL
);

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    agent_id    TEXT REFERENCES agents(id),
    integration TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    CHECK ((agent_id IS NULL) <> (integration IS NULL))
);

CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,
    assignee_id TEXT,
    created_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    sent_at         TEXT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, sent_at);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    number          INTEGER NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    subject         TEXT NOT NULL,
    description     TEXT,
    status          TEXT NOT NULL,
    priority_rank   INTEGER NOT NULL,
    assignee_id     TEXT,
    category        TEXT,
    source          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    due_at          TEXT,   -- earliest due time among running timers
    at_risk_at      TEXT,   -- earliest at-risk moment among running timers
    next_breach_at  TEXT,   -- earliest moment an sla_breached entry falls due
    data            TEXT NOT NULL
);
CREATE INDEX tickets_by_conversation ON tickets (conversation_id);
CREATE INDEX tickets_by_updated ON tickets (updated_at, id);
CREATE INDEX tickets_by_created ON tickets (created_at, id);
CREATE INDEX tickets_by_assignee ON tickets (assignee_id, due_at, id);
CREATE INDEX tickets_by_status ON tickets (status, updated_at, id);
CREATE INDEX tickets_by_at_risk ON tickets (at_risk_at, due_at, id);
CREATE INDEX tickets_by_next_breach ON tickets (next_breach_at);

CREATE TABLE activity (
    id        TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    at        TEXT NOT NULL,
    kind      TEXT NOT NULL,
    body      TEXT,            -- comment text, for search
    data      TEXT NOT NULL
);
CREATE INDEX activity_by_ticket ON activity (ticket_id, at);

-- The change log: one row per entity, holding the sequence of its latest
-- change. Pull reads `seq > cursor` in order.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    UNIQUE (entity, entity_id)
);

-- Pushed mutations already answered, so a repeat changes nothing.
CREATE TABLE mutations (
    id      TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    seq     INTEGER,
    error   TEXT,
    at      TEXT NOT NULL
);
