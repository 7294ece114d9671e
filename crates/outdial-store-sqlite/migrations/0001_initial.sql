-- outdial schema, version 1 (SQLite). Never edit once landed: add a new migration.
-- Timestamps are TEXT in RFC 3339 UTC with microseconds ("2026-01-05T13:00:00.000000Z"),
-- which sort lexically in time order.

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    settings    TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE leads (
    id               INTEGER PRIMARY KEY,
    campaign_id      INTEGER NOT NULL REFERENCES campaigns(id),
    phone            TEXT NOT NULL,
    contact          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'dialing', 'done', 'paused')),
    next_attempt_at  TEXT,
    status_reason    TEXT,
    disposition      TEXT,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (campaign_id, phone),
    -- Invariant 8: an active lead has a next time; a done or paused lead has a reason.
    CHECK (status <> 'active' OR next_attempt_at IS NOT NULL),
    CHECK (status NOT IN ('done', 'paused') OR status_reason IS NOT NULL)
);
CREATE INDEX leads_due ON leads (status, next_attempt_at);
CREATE INDEX leads_phone ON leads (phone);

CREATE TABLE attempts (
    id                 INTEGER PRIMARY KEY,
    lead_id            INTEGER NOT NULL REFERENCES leads(id),
    campaign_id        INTEGER NOT NULL REFERENCES campaigns(id),
    phone              TEXT NOT NULL,
    number             INTEGER NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('reserved', 'placed', 'ringing', 'in-progress', 'ended', 'rejected', 'unknown', 'not-placed')),
    call_id            TEXT UNIQUE,
    call_status        TEXT,
    last_sequence      INTEGER,
    reserved_at        TEXT NOT NULL,
    placed_at          TEXT,
    answered_at        TEXT,
    ended_at           TEXT,
    duration_s         INTEGER,
    answered_by        TEXT,
    sip_response_code  INTEGER,
    disposition        TEXT,
    error_code         TEXT,
    error_message      TEXT,
    concluded_at       TEXT,
    reconciled_at      TEXT,
    updated_at         TEXT NOT NULL
);
-- Invariant 1: at most one attempt in flight per phone number, across campaigns.
CREATE UNIQUE INDEX attempts_one_in_flight_per_phone ON attempts (phone)
    WHERE state IN ('reserved', 'placed', 'ringing', 'in-progress', 'unknown');
CREATE INDEX attempts_lead ON attempts (lead_id);
CREATE INDEX attempts_phone_reserved ON attempts (phone, reserved_at);
CREATE INDEX attempts_unconcluded ON attempts (id)
    WHERE concluded_at IS NULL AND state IN ('ended', 'rejected', 'not-placed');
CREATE INDEX attempts_in_flight ON attempts (reserved_at)
    WHERE state IN ('reserved', 'placed', 'ringing', 'in-progress', 'unknown');

-- Append-only log of every state change and every raw webhook.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    lead_id     INTEGER,
    attempt_id  INTEGER,
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL,
    dedupe_key  TEXT UNIQUE,
    detail      TEXT NOT NULL
);
CREATE INDEX events_lead ON events (lead_id);
CREATE INDEX events_attempt ON events (attempt_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
