-- The delivery outbox (RULES.md "Channels", "Webhooks"; ARCHITECTURE.md
-- "Deliveries are rows, written with what causes them"). A delivery is
-- written in the transaction of the change that causes it, then worked by
-- the delivery worker: claimed (claimed_by, claimed_until), attempted,
-- every attempt logged, its state moved.

-- Webhook subscriptions: `events` holds the event names, space-separated;
-- `paused` why deliveries stopped (NULL while active); deleted ones stay
-- for their delivery log.
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    description TEXT,
    secret      TEXT NOT NULL,
    paused      TEXT,
    created_at  TEXT NOT NULL,
    deleted_at  TEXT
);

-- One event for one webhook. `id` is its webhook-id, the same on every
-- attempt; `body` the event as first written, sent unchanged each time;
-- `message_id` the agent reply it carries to the customer, if any.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id),
    event           TEXT NOT NULL,
    message_id      TEXT,
    body            TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    queued_at       TEXT NOT NULL,
    next_at         TEXT,
    claimed_by      TEXT,
    claimed_until   TEXT,
    last_attempt_at TEXT,
    reason          TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'queued';
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX deliveries_of_webhook ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_of_message ON deliveries (message_id) WHERE message_id IS NOT NULL;

-- Every attempt: when, the answer's status (or the error in words), the
-- answer's first KiB, how long it took.
CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    n           INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status      TEXT,
    error       TEXT,
    answer      TEXT,
    duration_ms TEXT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
