-- Migration 010: the USSD channel (src/ussd/). Every screen answered and the session it
-- belongs to. A session is named by session_hash, the keyed hash (HISAAB_SECRET) of the
-- gateway, its session id and the caller's number together, so neither the number nor
-- a session id that could be joined with the aggregator's logs is stored.

-- One row per screen the service answered: the input (a PIN never: '[PIN]'; a typed
-- name as typed, PIN codes in it redacted), what happened and what was shown, written
-- once per (session, step) through the journal: a gateway's retry of a step answered
-- from the session store is not a new row.
CREATE TABLE IF NOT EXISTS ussd_steps (
    session_hash  text NOT NULL,
    step          integer NOT NULL,
    at            timestamptz NOT NULL,
    gateway       text NOT NULL,      -- at | session
    phone_hash    text,
    screen        text NOT NULL,      -- the screen answered: start, main, pin, ...
    event         text,               -- what happened: start, pin, summary, wrong, sms, ...
    input         text,
    shown         text NOT NULL,      -- the screen shown after it: main, summary, end, ...
    lang          text CHECK (lang IN ('en', 'hi', 'hi-Latn')),
    state_code    integer,
    district_code integer,
    ended         boolean NOT NULL,
    latency_ms    integer,
    PRIMARY KEY (session_hash, step)
);

-- One row per session, kept up to date from its steps (in any order).
CREATE TABLE IF NOT EXISTS ussd_sessions (
    session_hash  text PRIMARY KEY,
    gateway       text NOT NULL,
    phone_hash    text,
    started_at    timestamptz NOT NULL,
    last_at       timestamptz NOT NULL,
    steps         integer NOT NULL,
    last_step     integer NOT NULL,
    last_event    text,
    lang          text,
    state_code    integer,
    district_code integer,
    summaries     integer NOT NULL DEFAULT 0,
    ended         boolean NOT NULL DEFAULT false
);

CREATE INDEX IF NOT EXISTS ussd_sessions_phone ON ussd_sessions (phone_hash, started_at);
