-- SLA At Risk finds its tickets by the moment they turned at risk: few
-- tickets are at risk at once, while many may be due within the horizon.
CREATE INDEX tickets_at_risk ON tickets (at_risk_at) WHERE at_risk_at IS NOT NULL;
