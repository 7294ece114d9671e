-- outdial schema, version 7 (SQLite): reports read attempts by the instant they were reserved
-- and leads by the instant they were imported, in a half-open range
-- (`Reports::attempts_reserved_between`, `Reports::leads_in_report_scope`). Never edit once
-- landed.
CREATE INDEX attempts_reserved_range ON attempts (reserved_at, id);
CREATE INDEX leads_created_range ON leads (created_at);
