-- outdial schema, version 9 (PostgreSQL): the reports' aggregated reads (issue 13).
-- `Reports::lead_scope_groups` and `leads_with_recent_dials` ask whether a lead has an
-- attempt in a range: one seek in `attempts_lead_reserved`. The outcome and best-time counts
-- are hash aggregates over the range (`attempts_reserved_range`); they need no index of
-- their own. Never edit once landed.
CREATE INDEX attempts_lead_reserved ON attempts (lead_id, reserved_at);
