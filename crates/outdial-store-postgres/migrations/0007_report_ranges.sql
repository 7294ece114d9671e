-- outdial schema, version 7 (PostgreSQL): reports read attempts by the instant they were reserved
-- leads by the instant they were imported, and events by kind and instant, in a half-open
-- range
-- (`Reports::attempts_reserved_between`, `Reports::leads_in_report_scope`,
-- `Reports::events_between`). Never edit once landed.
CREATE INDEX attempts_reserved_range ON attempts (reserved_at, id);
CREATE INDEX leads_created_range ON leads (created_at);
CREATE INDEX events_kind_range ON events (kind, at, id);
