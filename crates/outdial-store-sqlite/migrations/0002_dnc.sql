-- outdial schema, version 2 (SQLite): Do-Not-Call lists. Never edit once landed.
--
-- One row per number per list. scope is 'internal' (the company-specific list, every
-- campaign), 'national' (the national registry, every campaign) or 'campaign:{id}' (one
-- campaign's list); phone is E.164 text. Lookups by (scope, phone) are point reads on the
-- primary key, so checking a number against its three possible lists is three index probes
-- however large the national list grows. Every add and removal is also written to the
-- append-only events table (kinds 'dnc.added', 'dnc.removed').

CREATE TABLE dnc (
    scope     TEXT NOT NULL CHECK (scope IN ('internal', 'national') OR scope GLOB 'campaign:[0-9-]*'),
    phone     TEXT NOT NULL CHECK (phone GLOB '+[1-9]*'),
    source    TEXT NOT NULL,
    reason    TEXT,
    added_at  TEXT NOT NULL,
    PRIMARY KEY (scope, phone)
) WITHOUT ROWID;
