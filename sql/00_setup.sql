-- 00_setup: install the extension (pg_cron comes with CASCADE) and check
-- that it made schema cc and the four roles of ARCHITECTURE.md.
CREATE EXTENSION pg_callcenter CASCADE;
SELECT nspname FROM pg_namespace WHERE nspname = 'cc';
SELECT rolname, rolcanlogin FROM pg_roles
 WHERE rolname IN ('cc_admin', 'cc_app', 'cc_agent', 'cc_reporting')
 ORDER BY rolname;
-- regress.try(stmt), for the *_checks files: runs stmt and undoes it;
-- 'ok' if it succeeded, else the error.
CREATE SCHEMA regress;
CREATE FUNCTION regress.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE stmt;
        RAISE EXCEPTION USING ERRCODE = 'P0099', MESSAGE = 'undo';
    EXCEPTION WHEN SQLSTATE 'P0099' THEN
        RETURN 'ok';
    END;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END;
$$;
