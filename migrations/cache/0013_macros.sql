-- The macros this agent may use (the team's and their own), as the server
-- last listed them: applied offline like any change.
CREATE TABLE macros (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL
);
