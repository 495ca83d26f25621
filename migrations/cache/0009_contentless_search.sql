-- The search index keeps no copy of the text it indexes: the ticket's row and
-- its timeline hold it already (a copy was 5% of a 100k-ticket cache, written
-- twice by every first download). Deleting a row is still possible
-- (contentless_delete); crates/cache/src/lib.rs fills it again after this script.
DROP TABLE ticket_search;
CREATE VIRTUAL TABLE ticket_search USING fts5 (
    subject, description, comments,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
