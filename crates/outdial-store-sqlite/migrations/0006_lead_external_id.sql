-- outdial schema, version 6 (SQLite): leads found by their external id (a CRM's or an
-- earlier list's id, kept in the contact JSON) within a campaign, for idempotent lead
-- intake (`Leads::leads_by_external_id`). Never edit once landed.
--
-- An index on an expression: a query uses it only when it writes the same expression
-- (https://www.sqlite.org/expridx.html).
CREATE INDEX leads_external_id ON leads (campaign_id, json_extract(contact, '$.external_id'));
