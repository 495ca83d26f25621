-- How many tickets each view holds, kept as rows change (crates/cache/src/counts.rs
-- writes the triggers from the views' rules and fills this at open).
CREATE TABLE view_counts (
    view     TEXT NOT NULL,
    assignee TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (view, assignee)
) WITHOUT ROWID;
