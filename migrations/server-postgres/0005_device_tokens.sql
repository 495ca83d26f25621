-- Device tokens (API.md "Auth", OWASP's device-cookie defence): a device an
-- agent signed in from is given a token, stored here only as its SHA-256
-- hash; a sign-in carrying it is not held back by the per-account lock that
-- guesses from elsewhere set off (it has a per-device limit of its own).
CREATE TABLE device_tokens (
    hash       TEXT PRIMARY KEY,
    agent_id   TEXT COLLATE "C" NOT NULL REFERENCES agents(id),
    created_at TEXT NOT NULL
);
CREATE INDEX device_tokens_by_agent ON device_tokens (agent_id, created_at);
