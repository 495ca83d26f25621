-- One server process reads a mailbox at a time: the one holding its
-- lease (`reader`, until `reader_until`), renewed while it runs; another
-- takes over once a lease runs out.
ALTER TABLE mailboxes ADD COLUMN reader TEXT;
ALTER TABLE mailboxes ADD COLUMN reader_until TEXT;
