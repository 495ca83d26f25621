-- Schema version 2: the agent's local preferences (notifications, tray).
CREATE TABLE preferences (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
