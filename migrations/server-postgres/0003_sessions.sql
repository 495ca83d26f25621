-- Sessions (API.md "Auth"): each token gets a public id (to list and end it
-- without showing its hash), the moment it was last used (agent sessions end
-- after `serve --session-days` unused) and the client that made it.
ALTER TABLE tokens ADD COLUMN id TEXT COLLATE "C";
ALTER TABLE tokens ADD COLUMN last_used_at TEXT COLLATE "C";
ALTER TABLE tokens ADD COLUMN user_agent TEXT;
UPDATE tokens SET last_used_at = created_at, id = gen_random_uuid()::text;
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
CREATE INDEX tokens_by_agent ON tokens (agent_id) WHERE revoked_at IS NULL;
-- Idempotency records are pruned by age (`serve --remember-mutations-days`).
CREATE INDEX mutations_by_at ON mutations (at);
