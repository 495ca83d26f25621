-- Email channel (RULES.md "Channels"; API.md "Channels, deliveries and
-- attachments"). A mailbox is read over IMAP and answers over SMTP; its
-- passwords are sealed with a key kept apart from the database (`secrets`).

CREATE TABLE mailboxes (
    id              TEXT COLLATE "C" PRIMARY KEY,
    address         TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    -- {host, port, security, username, folder} as JSON, passwords apart.
    imap            TEXT NOT NULL,
    smtp            TEXT NOT NULL,
    -- The passwords, sealed (see the server's `mail::Sealer`).
    secrets         TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_error      TEXT,
    last_checked_at TEXT COLLATE "C",
    created_at      TEXT COLLATE "C" NOT NULL,
    deleted_at      TEXT COLLATE "C"
);
CREATE UNIQUE INDEX mailboxes_address ON mailboxes (lower(address)) WHERE deleted_at IS NULL;

-- Every mail taken from a mailbox, once: by UIDVALIDITY and UID, with the
-- message it became (NULL for a bounce or a mail taken before).
CREATE TABLE mail_taken (
    mailbox_id  TEXT COLLATE "C" NOT NULL,
    uidvalidity BIGINT NOT NULL,
    uid         BIGINT NOT NULL,
    message_id  TEXT COLLATE "C",
    taken_at    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (mailbox_id, uidvalidity, uid)
);

-- Every email Message-ID the team received or sent, with its conversation
-- and message: how an answer finds its thread, and a mail is taken once.
CREATE TABLE mail_ids (
    email_id        TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL,
    message_id      TEXT COLLATE "C"
);
CREATE INDEX mail_ids_of_message ON mail_ids (message_id);

-- Email conversations: their mailbox, subject token and subject.
CREATE TABLE mail_threads (
    conversation_id TEXT COLLATE "C" PRIMARY KEY,
    mailbox_id      TEXT COLLATE "C" NOT NULL,
    token           TEXT COLLATE "C" NOT NULL UNIQUE,
    subject         TEXT NOT NULL
);

-- A delivery goes to a webhook or by mail from a mailbox.
ALTER TABLE deliveries ALTER COLUMN webhook_id DROP NOT NULL;
ALTER TABLE deliveries ADD COLUMN mailbox_id TEXT COLLATE "C" REFERENCES mailboxes(id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_one_way
    CHECK ((webhook_id IS NULL) <> (mailbox_id IS NULL));
