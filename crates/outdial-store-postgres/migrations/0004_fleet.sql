-- Fleet coordination: the leader lease for singleton maintenance and the fleet-wide pacer.
-- Never edit once landed.
CREATE TABLE IF NOT EXISTS leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS pacers (
    name        text PRIMARY KEY,
    next_slot   timestamptz NOT NULL
);
