-- Migration 011: API keys with roles, and the audit log of privileged actions
-- (src/api/api_auth.h, etl/admin.h, docs/operations.md).
--
-- A key is shown to its owner once, as "hk_<id>_<secret>"; only its id (8 hex digits,
-- safe to show and log) and key_hash, the hex HMAC-SHA256 of the whole key keyed with
-- HISAAB_SECRET (src/core/apikey.h), are kept. A key is never deleted: revoked_at ends it.
CREATE TABLE IF NOT EXISTS api_keys (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{8}$'),
    name        text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,31}$'),
    role        text NOT NULL CHECK (role IN ('reader', 'operator', 'admin')),
    key_hash    text NOT NULL CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL,          -- a key id, 'legacy' or 'cli:<user>'
    revoked_at  timestamptz
);

-- One row per privileged action, written once and never changed: when, who (key id and
-- role), what (action, target), from where (the source address truncated to its /24 or
-- /48, 'cli' for hisaab-admin) and how it ended. Never a phone number or a phone hash.
CREATE TABLE IF NOT EXISTS audit_log (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    key_id  text NOT NULL,
    role    text NOT NULL,
    action  text NOT NULL,
    target  text,
    source  text NOT NULL,
    result  text NOT NULL
);

-- Append-only for everyone, the owner included: UPDATE, DELETE and TRUNCATE raise.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The service's database role. The server and the ETL may log in as a role that is a
-- member of hisaab_service (docs/operations.md: CREATE ROLE hisaab_app LOGIN IN ROLE
-- hisaab_service) rather than as the owner of the tables: it may read and write every
-- table but may only read and append to audit_log. Created when the migrating role may
-- create roles; otherwise an administrator runs this file's role part by hand.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hisaab_service') THEN
        BEGIN
            CREATE ROLE hisaab_service NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'hisaab_service not created: the migrating role may not create roles';
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hisaab_service') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO hisaab_service', current_schema());
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I '
                       'TO hisaab_service', current_schema());
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I '
                       'TO hisaab_service', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, '
                       'DELETE ON TABLES TO hisaab_service', current_schema());
        EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT, UPDATE '
                       'ON SEQUENCES TO hisaab_service', current_schema());
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM hisaab_service;
        REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
    END IF;
END $$;
