-- The store's identity (API.md "Sync"): a random id made when the team is
-- created and made anew when the store is restored from a backup, so a
-- client can tell it is talking to another or a restored database. Set by
-- the server right after this migration for stores made before it.
ALTER TABLE team ADD COLUMN database_id TEXT;
