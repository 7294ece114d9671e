-- outdial schema, version 9 (SQLite): the reports' aggregated reads (issue 13).
-- `Reports::outcome_groups` counts attempts by (campaign, disposition, call status,
-- detection) with sums over the other columns: this covering index hands SQLite the groups
-- in order, so a range of millions of attempts is one pass over the index rather than a sort
-- of every attempt. `Reports::lead_scope_groups` and `leads_with_recent_dials` ask whether a
-- lead has an attempt in a range: one seek in `attempts_lead_reserved`. Never edit once
-- landed.
CREATE INDEX attempts_report_outcomes ON attempts
    (campaign_id, disposition, call_status, answered_by, reserved_at, placed_at, answered_at,
     number, duration_s);
CREATE INDEX attempts_lead_reserved ON attempts (lead_id, reserved_at);
