-- Sessions (API.md "Auth"): each token gets a public id (to list and end it
-- without showing its hash), the moment it was last used (agent sessions end
-- after `serve --session-days` unused) and the client that made it.
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE tokens ADD COLUMN user_agent TEXT;
UPDATE tokens SET last_used_at = created_at, id = lower(hex(randomblob(16)));
-- Shape the random hex as a version-4 UUID.
UPDATE tokens SET id = substr(id, 1, 8) || '-' || substr(id, 9, 4) || '-4' || substr(id, 14, 3)
    || '-a' || substr(id, 18, 3) || '-' || substr(id, 21, 12);
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
CREATE INDEX tokens_by_agent ON tokens (agent_id) WHERE revoked_at IS NULL;
-- Idempotency records are pruned by age (`serve --remember-mutations-days`).
CREATE INDEX mutations_by_at ON mutations (at);
