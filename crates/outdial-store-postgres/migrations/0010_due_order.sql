-- outdial schema, version 10: the due queue's claim (`Leads::due_leads`: active leads due by
-- now, ORDER BY next_attempt_at, id LIMIT n) reads this index in order and stops after n rows.
-- The index it replaces, on (status, next_attempt_at), left the id tie-break to a sort of
-- every due lead with the same next_attempt_at — after an import, every lead of the file — at
-- each claim. Never edit once landed.
CREATE INDEX leads_due_order ON leads (status, next_attempt_at, id);
DROP INDEX leads_due;
