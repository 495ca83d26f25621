-- The desktop client's cache, schema version 1.
-- Server rows as last pulled, with local (pending) changes laid on top.

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    data TEXT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);

-- `data` is what the agent sees; while `overlay` = 1 it carries pending
-- local changes and `server_data` holds the server's row (NULL: not on the
-- server yet).
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    overlay INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    server_data TEXT
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, sent_at);

-- One row per ticket; the *_key columns are NOT NULL sort keys so keyset
-- paging can compare row values.
CREATE TABLE tickets (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    number_key INTEGER NOT NULL,
    subject_key TEXT NOT NULL,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    priority TEXT NOT NULL,
    priority_rank INTEGER NOT NULL,
    assignee_id TEXT,
    assignee_key TEXT NOT NULL,
    category TEXT,
    category_key TEXT NOT NULL,
    source TEXT NOT NULL,
    open INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_desc INTEGER NOT NULL,
    -- Earliest due time among running timers; 9223372036854775807 when none.
    due_key INTEGER NOT NULL,
    -- Earliest at-risk moment among running timers (SLA At Risk while <= now).
    at_risk_at INTEGER,
    overlay INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    server_data TEXT
);
CREATE INDEX tickets_all ON tickets (open, updated_at, id);
CREATE INDEX tickets_mine ON tickets (assignee_id, open, due_key, updated_desc, id);
CREATE INDEX tickets_due ON tickets (due_key, id);
-- Counting SLA At Risk without reading rows.
CREATE INDEX tickets_risk ON tickets (due_key, at_risk_at);
CREATE INDEX tickets_pending ON tickets (status, updated_at, id);
CREATE INDEX tickets_ai ON tickets (source, open, created_at, id);
CREATE INDEX tickets_by_conversation ON tickets (conversation_id, created_at);
CREATE INDEX tickets_number ON tickets (open, number_key, id);
CREATE INDEX tickets_subject ON tickets (open, subject_key, id);
CREATE INDEX tickets_status ON tickets (open, status_rank, id);
CREATE INDEX tickets_priority ON tickets (open, priority_rank, id);
CREATE INDEX tickets_assignee ON tickets (open, assignee_key, id);
CREATE INDEX tickets_category ON tickets (open, category_key, id);
CREATE INDEX tickets_created ON tickets (open, created_at, id);
CREATE INDEX tickets_sla ON tickets (open, due_key, id);

-- Full-text search over subject, description and comments; rowid = tickets.rowid.
CREATE VIRTUAL TABLE ticket_search USING fts5 (
    subject, description, comments,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The timeline. `pending` entries come from local changes not yet pulled back.
CREATE TABLE activity (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    -- A comment's text (NULL for other kinds), for the search index.
    body TEXT,
    pending INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX activity_by_ticket ON activity (ticket_id, at);

-- Local changes waiting for the server, in the order they were made.
-- `acked_seq` is set once the server applied it; the row stays (and stays
-- applied on top) until a pull passes that sequence.
CREATE TABLE outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    mutation TEXT NOT NULL,
    client_at INTEGER NOT NULL,
    made_at INTEGER NOT NULL,
    summary TEXT NOT NULL,
    acked_seq INTEGER
);

-- Changes the server refused, with its reason and what the agent typed.
CREATE TABLE problems (
    id TEXT PRIMARY KEY,
    mutation TEXT NOT NULL,
    summary TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT,
    typed TEXT NOT NULL,
    made_at INTEGER NOT NULL,
    rejected_at INTEGER NOT NULL
);

-- Notifications already shown: one per (ticket, kind, timer, due moment).
CREATE TABLE notification_ledger (
    ticket_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    timer TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, kind, timer, due_at)
);
