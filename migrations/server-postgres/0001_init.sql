-- The team server's schema on PostgreSQL: the same tables as the SQLite
-- store (migrations/server/0001_init.sql). Times are RFC 3339 UTC text with
-- milliseconds, so text order is time order; every text column that is
-- sorted or compared uses the "C" collation, so order is byte order whatever
-- the cluster's locale, exactly as in SQLite. `pos` columns keep insertion
-- order where SQLite used its rowid.

CREATE TABLE team (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    settings    TEXT NOT NULL,
    seq         BIGINT NOT NULL DEFAULT 0,    -- last change sequence given out
    next_number BIGINT NOT NULL DEFAULT 1001  -- next ticket number
);

CREATE TABLE agents (
    pos           BIGSERIAL,
    id            TEXT COLLATE "C" PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    data          TEXT NOT NULL
);
CREATE UNIQUE INDEX agents_by_email ON agents (lower(email));

-- Bearer tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY,
    agent_id    TEXT COLLATE "C" REFERENCES agents(id),
    integration TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    CHECK ((agent_id IS NULL) <> (integration IS NULL))
);

CREATE TABLE conversations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    assignee_id TEXT COLLATE "C",
    created_at  TEXT COLLATE "C" NOT NULL,
    data        TEXT NOT NULL
);

CREATE TABLE messages (
    pos             BIGSERIAL,
    id              TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id),
    sent_at         TEXT COLLATE "C" NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, sent_at, pos);

CREATE TABLE tickets (
    id              TEXT COLLATE "C" PRIMARY KEY,
    number          BIGINT NOT NULL UNIQUE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id),
    subject         TEXT COLLATE "C" NOT NULL,
    description     TEXT,
    status          TEXT COLLATE "C" NOT NULL,
    priority_rank   BIGINT NOT NULL,
    assignee_id     TEXT COLLATE "C",
    category        TEXT COLLATE "C",
    source          TEXT COLLATE "C" NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL,
    due_at          TEXT COLLATE "C",   -- earliest due time among running timers
    at_risk_at      TEXT COLLATE "C",   -- earliest at-risk moment among running timers
    next_breach_at  TEXT COLLATE "C",   -- earliest moment an sla_breached entry falls due
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
    pos       BIGSERIAL,
    id        TEXT COLLATE "C" PRIMARY KEY,
    ticket_id TEXT COLLATE "C" NOT NULL REFERENCES tickets(id),
    at        TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    body      TEXT,            -- comment text, for search
    data      TEXT NOT NULL
);
CREATE INDEX activity_by_ticket ON activity (ticket_id, at, pos);

-- The change log: one row per entity, holding the sequence of its latest
-- change. Pull reads `seq > cursor` in order. Sequences come from
-- `team.seq` under its row lock (see src/postgres/mod.rs for why that keeps
-- the cursor gap-safe).
CREATE TABLE changes (
    seq       BIGINT PRIMARY KEY,
    entity    TEXT COLLATE "C" NOT NULL,
    entity_id TEXT COLLATE "C" NOT NULL,
    UNIQUE (entity, entity_id)
);

-- Pushed mutations already answered, so a repeat changes nothing, whichever
-- instance it reaches.
CREATE TABLE mutations (
    id      TEXT COLLATE "C" PRIMARY KEY,
    outcome TEXT NOT NULL,
    seq     BIGINT,
    error   TEXT,
    at      TEXT NOT NULL
);
