-- Macros (RULES.md "Working faster"): the team's (scope 'team', made by
-- admins) and each agent's own (scope 'personal', `owner_id`). `data` is
-- the macro as the API shows it.
CREATE TABLE macros (
    id TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    owner_id TEXT,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX macros_owner ON macros (scope, owner_id);
