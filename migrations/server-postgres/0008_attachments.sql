-- Attachments (RULES.md "Attachments"; ARCHITECTURE.md "Blobs apart from
-- rows"): a file's name, type and size; its bytes stored once by content
-- hash in chunks (`blobs`, `blob_chunks`), streamed in and out.
CREATE TABLE attachments (
    id           TEXT COLLATE "C" PRIMARY KEY,
    blob_id      TEXT COLLATE "C" NOT NULL,
    sha256       TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL
);
CREATE INDEX attachments_of_blob ON attachments (sha256);

CREATE TABLE blobs (
    id     TEXT COLLATE "C" PRIMARY KEY,
    sha256 TEXT COLLATE "C" NOT NULL UNIQUE,
    size   BIGINT NOT NULL
);
-- A blob's bytes in order, each chunk base64 text of up to 256 KiB.
CREATE TABLE blob_chunks (
    blob_id TEXT COLLATE "C" NOT NULL,
    n       INTEGER NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (blob_id, n)
);
