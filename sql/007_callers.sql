-- Migration 007: what Hisaab remembers of a caller, whatever the channel (src/channel/
-- memory.h): the language they chose and the district they last asked about. Keyed by
-- phone_hash (HMAC of the E.164 number, src/channel/phone.h); never the number. Redis
-- holds the working copy (hisaab:caller:<hash>); this table is the durable one, written
-- through the journal and read when Redis has lost an entry.
CREATE TABLE IF NOT EXISTS callers (
    phone_hash    text PRIMARY KEY,
    lang          text CHECK (lang IN ('en', 'hi')),
    lang_at       timestamptz,
    state_code    integer,
    district_code integer,
    district_at   timestamptz
);

-- The SMS channel's language choices (migration 004) move here; sms_prefs stays readable
-- as a view for whoever queried it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
               AND tablename = 'sms_prefs') THEN
        INSERT INTO callers (phone_hash, lang, lang_at)
        SELECT phone_hash, lang, updated_at FROM sms_prefs
        ON CONFLICT (phone_hash) DO UPDATE SET lang = EXCLUDED.lang, lang_at = EXCLUDED.lang_at;
        DROP TABLE sms_prefs;
    END IF;
END $$;

CREATE OR REPLACE VIEW sms_prefs AS
    SELECT phone_hash, lang, lang_at AS updated_at FROM callers WHERE lang IS NOT NULL;
