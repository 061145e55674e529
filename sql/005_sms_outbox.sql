-- Hisaab schema, migration 005: the outbox of monthly subscription messages.
--
-- `hisaab-etl` (etl/notify.c) renders one row per subscriber and new month after a run
-- that brought one (pending), then sends pending rows through the gateway's send API
-- (Kannel sendsms) between 09:00 and 21:00 IST, marking each sent in its own transaction
-- right after the gateway accepted it. The unique key means a subscriber never gets the
-- same district's month twice, whatever crashes or reruns happen. A subscription is
-- (phone_hash, district_code) of sms_subscriptions (migration 004); no foreign key, so the
-- outbox keeps its history when a subscription row is removed.
CREATE TABLE IF NOT EXISTS sms_outbox (
    id                bigserial PRIMARY KEY,
    phone_hash        text NOT NULL,          -- the subscription key, with district_code
    phone             text NOT NULL,          -- needed to send; never logged
    district_code     integer NOT NULL,
    state_code        integer,
    fin_year          text NOT NULL CHECK (fin_year ~ '^[0-9]{4}-[0-9]{4}$'),
    month             smallint NOT NULL CHECK (month BETWEEN 1 AND 12),   -- calendar month
    lang              text NOT NULL CHECK (lang IN ('en', 'hi')),
    text              text NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts          integer NOT NULL DEFAULT 0,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    sent_at           timestamptz,
    UNIQUE (phone_hash, district_code, fin_year, month)
);
-- The sender takes pending rows in id order.
CREATE INDEX IF NOT EXISTS sms_outbox_pending_idx ON sms_outbox (id) WHERE status = 'pending';
