-- Fleet coordination: the leader lease for singleton maintenance and the fleet-wide pacer.
-- Never edit once landed.
CREATE TABLE IF NOT EXISTS leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pacers (
    name        TEXT PRIMARY KEY,
    next_slot   TEXT NOT NULL
);
