-- The SMS channel (src/sms.c): every inbound and outbound text, subscriptions and the
-- language each number chose. Numbers are identified by phone_hash, the lower-case hex
-- HMAC-SHA256 of the E.164 number keyed with HISAAB_SECRET (src/phone.h); only
-- sms_subscriptions keeps the number itself, because the monthly message needs it.

CREATE TABLE IF NOT EXISTS sms_messages (
    id                 bigserial PRIMARY KEY,
    at                 timestamptz NOT NULL DEFAULT now(),
    direction          text NOT NULL CHECK (direction IN ('in', 'out')),
    gateway            text NOT NULL,          -- kannel, twilio, generic, or a sender's name
    gateway_message_id text,
    phone_hash         text NOT NULL,
    text               text NOT NULL,
    district_code      integer,                -- the district the reply was about
    state_code         integer,
    lang               text CHECK (lang IN ('en', 'hi')),
    kind               text,                   -- query, help, stop, sub, ... (smscmd)
    parts              smallint,               -- SMS parts of an outbound text
    coding             smallint,               -- 0 GSM-7, 2 UCS-2
    latency_ms         integer                 -- inbound: until the reply was ready
);
CREATE INDEX IF NOT EXISTS sms_messages_at_idx ON sms_messages (at);
CREATE INDEX IF NOT EXISTS sms_messages_district_idx ON sms_messages (district_code, at);

CREATE TABLE IF NOT EXISTS sms_subscriptions (
    id                     bigserial PRIMARY KEY,
    phone                  text NOT NULL,      -- E.164, needed to send
    phone_hash             text NOT NULL,
    state_code             integer NOT NULL,
    district_code          integer NOT NULL,
    lang                   text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'hi')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    active                 boolean NOT NULL DEFAULT true,
    stopped_at             timestamptz,
    last_notified_fin_year text,
    last_notified_month    smallint,
    UNIQUE (phone_hash, district_code)
);
CREATE INDEX IF NOT EXISTS sms_subscriptions_district_idx
    ON sms_subscriptions (state_code, district_code) WHERE active;

CREATE TABLE IF NOT EXISTS sms_prefs (
    phone_hash  text PRIMARY KEY,
    lang        text NOT NULL CHECK (lang IN ('en', 'hi')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
