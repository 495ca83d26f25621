-- A timeline entry's JSON no longer repeats what its columns hold (its id,
-- ticket and time), nor its columns the comment's text its JSON holds: a
-- third of the timeline's bytes in a 100k-ticket cache, which a first
-- download writes twice. crates/cache/src/rows.rs reads the entry from both.
ALTER TABLE activity DROP COLUMN body;
UPDATE activity SET data = json_remove(data, '$.id', '$.ticket_id', '$.at');
