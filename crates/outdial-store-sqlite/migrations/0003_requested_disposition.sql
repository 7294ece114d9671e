-- Business dispositions and callback times reported for an attempt (by the call flow, an
-- agent or the API). Never edit once landed.
ALTER TABLE attempts ADD COLUMN requested_disposition TEXT;
ALTER TABLE attempts ADD COLUMN callback_at TEXT;
