-- Attachments (RULES.md "Attachments"; ARCHITECTURE.md "Blobs apart from
-- rows"): a file's name, type and size here; its bytes, stored once by
-- content hash, in the blob file beside this one (`<store>.blobs`).
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    blob_id      TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX attachments_of_blob ON attachments (sha256);
