-- A ticket's tags as one text column (` vip refund `: a space before and
-- after each, see `fyncall_domain::tags::column`), so a tag filter is one
-- LIKE the server and the cache write the same way. Tickets written before
-- tags existed carry none.
ALTER TABLE tickets ADD COLUMN tags TEXT NOT NULL DEFAULT '';
