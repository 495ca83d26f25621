-- A ticket's tags as one text column (` vip refund `), as the server keeps
-- them (`fyncall_domain::tags::column`): a tag filter is one LIKE.
ALTER TABLE tickets ADD COLUMN tags TEXT NOT NULL DEFAULT '';
