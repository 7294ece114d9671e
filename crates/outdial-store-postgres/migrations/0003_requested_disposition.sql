-- Business dispositions and callback times reported for an attempt (by the call flow, an
-- agent or the API). PostgreSQL dialect of the SQLite migration of the same version.
-- Never edit once landed.
ALTER TABLE attempts ADD COLUMN requested_disposition text;
ALTER TABLE attempts ADD COLUMN callback_at timestamptz;
