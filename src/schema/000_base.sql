\echo Use "CREATE EXTENSION pg_callcenter" to load this file. \quit
-- 000_base.sql: what every other schema file relies on.
--
-- The roles of ARCHITECTURE.md (created if missing, NOLOGIN: a DBA grants
-- them to login roles) and a few helpers that CHECK constraints and
-- triggers of the model use.  Schema cc itself is made by CREATE EXTENSION
-- (schema = 'cc' in the control file).  Grants are in 990_security.sql,
-- which runs after every table exists.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['cc_admin', 'cc_app', 'cc_agent', 'cc_reporting'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
END;
$$;

-- cc.site_name is the site a row belongs to: the cc.site setting, or 'local'.
CREATE FUNCTION cc.site_name() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT coalesce(nullif(current_setting('cc.site', true), ''), 'local') $$;
COMMENT ON FUNCTION cc.site_name() IS
    'The site this server is (the cc.site setting, ''local'' when unset): default of the site column of live and history rows.';

-- cc.random_uuids makes n random (version 4) UUIDs at once: the batch
-- writes of a dispatch take their legs' and offers' ids from it (one draw
-- from the strong random source instead of one per gen_random_uuid()).
CREATE FUNCTION cc.random_uuids(n integer) RETURNS uuid[]
AS 'MODULE_PATHNAME', 'cc_random_uuids_sql'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cc.random_uuids(integer) IS
    'n random version 4 UUIDs (0 to 1,000,000), drawn from the server''s strong random source in one go: the same as n calls of gen_random_uuid(), cheaper.';

-- cc.is_time_zone says whether a name is a time zone PostgreSQL knows; it
-- lets a CHECK refuse a misspelt zone with the constraint's name instead of
-- failing later, at the first call of the day.
CREATE FUNCTION cc.is_time_zone(name text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF name IS NULL OR name = '' THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE name;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END;
$$;
COMMENT ON FUNCTION cc.is_time_zone(text) IS
    'Whether name is a time zone known to PostgreSQL (e.g. Europe/Paris, UTC); used by CHECK constraints.';

-- cc.touch_updated_at keeps updated_at current on configuration tables.
CREATE FUNCTION cc.touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION cc.touch_updated_at() IS
    'Trigger: sets updated_at to now() on every UPDATE of a configuration row.';
