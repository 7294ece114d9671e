-- outdial schema, version 2 (PostgreSQL): Do-Not-Call lists. Never edit once landed.
--
-- One row per number per list. scope is 'internal' (the company-specific list, every
-- campaign), 'national' (the national registry, every campaign) or 'campaign:{id}' (one
-- campaign's list); phone is E.164 text. Lookups by (scope, phone) are point reads on the
-- primary key, so checking a number against its three possible lists is three index probes
-- however large the national list grows. Every add and removal is also written to the
-- append-only events table (kinds 'dnc.added', 'dnc.removed').

CREATE TABLE dnc (
    scope     text NOT NULL CHECK (scope IN ('internal', 'national') OR scope ~ '^campaign:-?[0-9]+$'),
    phone     text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]*$'),
    source    text NOT NULL,
    reason    text,
    added_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, phone)
);
