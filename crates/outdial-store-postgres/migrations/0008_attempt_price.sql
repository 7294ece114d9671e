-- What the provider charged for an attempt's call (Twilio's Call resource `price` and
-- `price_unit`, Bland's post-call `price` in USD): millionths of the currency. Never edit once
-- landed.
ALTER TABLE attempts ADD COLUMN price_micros bigint;
ALTER TABLE attempts ADD COLUMN price_unit TEXT;
