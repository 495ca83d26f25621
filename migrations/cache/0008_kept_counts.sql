-- How many tickets of a view of tickets at risk turn at risk on each UTC day
-- (`day` = at_risk_at / 86,400,000), kept as rows change (crates/cache/src/counts.rs).
CREATE TABLE view_days (
    view TEXT NOT NULL,
    day  INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (view, day)
) WITHOUT ROWID;

-- How many conversations each agent holds ('' for nobody), kept as rows
-- change: the inbox views' counts (crates/cache/src/counts.rs).
CREATE TABLE inbox_holders (
    assignee TEXT PRIMARY KEY,
    n        INTEGER NOT NULL
) WITHOUT ROWID;
