-- outdial schema, version 6 (PostgreSQL): leads found by their external id (a CRM's or an
-- earlier list's id, kept in the contact JSON text) within a campaign, for idempotent lead
-- intake (`Leads::leads_by_external_id`). Never edit once landed.
--
-- An index on an expression: a query uses it only when it writes the same expression
-- (https://www.postgresql.org/docs/15/indexes-expressional.html).
CREATE INDEX leads_external_id ON leads (campaign_id, ((contact::jsonb) ->> 'external_id'));
