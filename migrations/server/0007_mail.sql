-- Email channel (RULES.md "Channels"; API.md "Channels, deliveries and
-- attachments"). A mailbox is read over IMAP and answers over SMTP; its
-- passwords are sealed with a key kept apart from this file (`secrets`).

CREATE TABLE mailboxes (
    id              TEXT PRIMARY KEY,
    address         TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    -- {host, port, security, username, folder} as JSON, passwords apart.
    imap            TEXT NOT NULL,
    smtp            TEXT NOT NULL,
    -- The passwords, sealed (see the server's `mail::Sealer`).
    secrets         TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT,
    last_checked_at TEXT,
    created_at      TEXT NOT NULL,
    deleted_at      TEXT
);
CREATE UNIQUE INDEX mailboxes_address ON mailboxes (lower(address)) WHERE deleted_at IS NULL;

-- Every mail taken from a mailbox, once: by UIDVALIDITY and UID, with the
-- message it became (NULL for a bounce or a mail taken before).
CREATE TABLE mail_taken (
    mailbox_id  TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    message_id  TEXT,
    taken_at    TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, uidvalidity, uid)
);

-- Every email Message-ID the team received or sent, with its conversation
-- and message: how an answer finds its thread, and a mail is taken once.
CREATE TABLE mail_ids (
    email_id        TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    message_id      TEXT
);
CREATE INDEX mail_ids_of_message ON mail_ids (message_id);

-- Email conversations: their mailbox, subject token and subject.
CREATE TABLE mail_threads (
    conversation_id TEXT PRIMARY KEY,
    mailbox_id      TEXT NOT NULL,
    token           TEXT NOT NULL UNIQUE,
    subject         TEXT NOT NULL
);

-- A delivery goes to a webhook or by mail from a mailbox: `webhook_id`
-- becomes optional, `mailbox_id` joins it. SQLite changes a column's
-- constraint by building the table again, and its attempts' table with it
-- (children dropped before their parents, so no reference breaks).
CREATE TABLE deliveries_new (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT REFERENCES webhooks(id),
    mailbox_id      TEXT REFERENCES mailboxes(id),
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
    reason          TEXT,
    CHECK ((webhook_id IS NULL) <> (mailbox_id IS NULL))
);
INSERT INTO deliveries_new (id, webhook_id, event, message_id, body, state, attempts, created_at,
    queued_at, next_at, claimed_by, claimed_until, last_attempt_at, reason)
  SELECT id, webhook_id, event, message_id, body, state, attempts, created_at,
    queued_at, next_at, claimed_by, claimed_until, last_attempt_at, reason FROM deliveries;
CREATE TABLE delivery_attempts_new (
    delivery_id TEXT NOT NULL REFERENCES deliveries_new(id),
    n           INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status      TEXT,
    error       TEXT,
    answer      TEXT,
    duration_ms TEXT NOT NULL,
    PRIMARY KEY (delivery_id, n)
);
INSERT INTO delivery_attempts_new SELECT delivery_id, n, at, status, error, answer, duration_ms
  FROM delivery_attempts;
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
ALTER TABLE delivery_attempts_new RENAME TO delivery_attempts;
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'queued';
CREATE INDEX deliveries_claimed ON deliveries (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX deliveries_of_webhook ON deliveries (webhook_id, created_at, id);
CREATE INDEX deliveries_of_message ON deliveries (message_id) WHERE message_id IS NOT NULL;
