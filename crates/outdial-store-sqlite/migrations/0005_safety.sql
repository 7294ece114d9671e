-- outdial schema, version 5 (SQLite): kill switches, the durable job outbox (with dead
-- letters) and alerts. Never edit once landed.
--
-- Timestamps are TEXT in RFC 3339 UTC with microseconds, like every other table, so they
-- compare and sort lexically in time order.

-- One row per scope ever set: 'global' or 'campaign:{id}'. A scope without a row is not
-- tripped. Each change is also written to the events table ('kill_switch.tripped',
-- 'kill_switch.resumed').
CREATE TABLE kill_switches (
    scope       TEXT PRIMARY KEY CHECK (scope = 'global' OR scope GLOB 'campaign:[1-9]*'),
    tripped     INTEGER NOT NULL CHECK (tripped IN (0, 1)),
    reason      TEXT NOT NULL,
    source      TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);

-- Durable jobs: pending (waits for run_at) → running (claimed by locked_by until
-- locked_until) → done, back to pending for a retry, or dead (a dead letter, kept with its
-- error until an operator requeues it). Payloads carry ids only.
CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_at         TEXT NOT NULL,
    locked_until   TEXT,
    locked_by      TEXT,
    error_code     TEXT,
    error_message  TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    dedupe_key     TEXT UNIQUE,
    -- A claim exists exactly while the job runs.
    CHECK ((state = 'running') = (locked_until IS NOT NULL))
);
-- Claiming reads only the jobs that can still run (done and dead jobs, the bulk of the
-- table, are not in the index), in run_at order: due pending jobs and expired claims.
CREATE INDEX jobs_claimable ON jobs (run_at) WHERE state IN ('pending', 'running');
-- Dead letters, newest first (what an operator lists). Partial, so that it never competes
-- with jobs_claimable for the claim.
CREATE INDEX jobs_dead ON jobs (id) WHERE state = 'dead';

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    dedupe_key  TEXT UNIQUE,
    raised_at   TEXT NOT NULL
);

-- What the safety monitor reads: the newest event of a source, and a campaign's latest
-- attempts.
CREATE INDEX events_source_at ON events (source, at);
CREATE INDEX attempts_campaign ON attempts (campaign_id, id);
