-- SLA At Risk is counted on its own index alone: it carries what the count
-- tests (open, the due bound), so no ticket row is read to count it.
DROP INDEX IF EXISTS tickets_at_risk;
CREATE INDEX tickets_at_risk ON tickets (at_risk_at, open, due_key) WHERE at_risk_at IS NOT NULL;
