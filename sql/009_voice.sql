-- Migration 009: the voice channel (src/voice/). Every step of every call, the call it
-- belongs to, and the queue of callbacks after missed calls. Numbers only as keyed
-- hashes (phone_hash, src/channel/phone.h); the one exception is the number a callback
-- must dial, kept sealed (AES-256-GCM under a key derived from HISAAB_SECRET) in
-- voice_callbacks.phone_sealed only until the callback is finished, then wiped.

-- One row per step the service answered (a TwiML / Plivo / VoiceXML document, an Exotel
-- Passthru or Greeting): what the caller pressed (a PIN never: '[PIN]'), written once per
-- (provider, call, step) through the journal.
CREATE TABLE IF NOT EXISTS voice_steps (
    provider      text NOT NULL,
    call_id       text NOT NULL,
    step          integer NOT NULL,
    at            timestamptz NOT NULL,
    direction     text NOT NULL CHECK (direction IN ('in', 'out')),
    phone_hash    text,
    stage         text NOT NULL,     -- the prompt answered: start, lang, offer, pin, ...
    event         text,              -- what happened: lang, pin, pin_unknown, repeat, sms, ...
    keys          text,              -- keys pressed ('' none, '[PIN]' for a PIN)
    lang          text CHECK (lang IN ('en', 'hi')),
    state_code    integer,
    district_code integer,
    latency_ms    integer,
    PRIMARY KEY (provider, call_id, step)
);

-- One row per call: kept up to date from its steps (in any order) and closed by the
-- provider's status callback.
CREATE TABLE IF NOT EXISTS voice_calls (
    provider      text NOT NULL,
    call_id       text NOT NULL,
    direction     text CHECK (direction IN ('in', 'out')),
    phone_hash    text,
    started_at    timestamptz,
    last_at       timestamptz,
    steps         integer NOT NULL DEFAULT 0,
    last_step     integer NOT NULL DEFAULT 0,
    last_event    text,
    lang          text,
    state_code    integer,
    district_code integer,
    summaries     integer NOT NULL DEFAULT 0, -- summaries played
    status        text,                       -- the provider's last word: completed, busy, ...
    duration_s    integer,
    ended_at      timestamptz,
    callback_id   bigint,
    PRIMARY KEY (provider, call_id)
);

-- Keys pressed per call, in order.
CREATE OR REPLACE VIEW voice_call_keys AS
    SELECT provider, call_id, string_agg(NULLIF(keys, ''), ' ' ORDER BY step) AS keys
    FROM voice_steps GROUP BY provider, call_id;

-- The durable queue of callbacks after missed calls (src/voice/callback.h). A missed
-- call's id makes its callback once; the dialer takes due rows with FOR UPDATE SKIP
-- LOCKED, so any worker of any instance may dial and none dials the same row twice.
CREATE TABLE IF NOT EXISTS voice_callbacks (
    id              bigserial PRIMARY KEY,
    provider        text NOT NULL,          -- who dials: twilio | exotel
    trigger_gateway text NOT NULL,          -- the missed call: which webhook ...
    trigger_id      text NOT NULL,          -- ... and its id there
    phone_hash      text NOT NULL,
    phone_sealed    text,                   -- the number, sealed; NULL once finished
    requested_at    timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'dialing', 'ringing', 'done', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0,
    dialed_at       timestamptz,
    call_id         text,                   -- the provider's id of the last attempt
    last_status     text,
    last_error      text,
    duration_s      integer,
    finished_at     timestamptz,
    UNIQUE (trigger_gateway, trigger_id)
);
CREATE INDEX IF NOT EXISTS voice_callbacks_due ON voice_callbacks (due_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS voice_callbacks_number ON voice_callbacks (phone_hash, requested_at);
CREATE INDEX IF NOT EXISTS voice_callbacks_call ON voice_callbacks (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS voice_callbacks_dialed ON voice_callbacks (dialed_at) WHERE dialed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS voice_callbacks_finished ON voice_callbacks (finished_at) WHERE finished_at IS NOT NULL;
