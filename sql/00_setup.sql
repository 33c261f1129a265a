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
-- regress.wav_file(path): a valid prompt file (20 ms of silence, 8 kHz
-- 16-bit mono WAV) at path under cc.media_dir, its directory made if
-- missing, so tests can register file prompts (the registration checks the
-- file).  Superuser only: it runs mkdir through COPY TO PROGRAM.
CREATE FUNCTION regress.wav_file(path text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    full_path text := current_setting('cc.media_dir') || '/' || path;
    o oid;
BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L',
                   'mkdir -p ' || quote_literal(regexp_replace(full_path, '/[^/]*$', '')) || ' && cat > /dev/null');
    o := lo_from_bytea(0, decode('524946466401000057415645666d74201000000001000100401f0000803e0000020010006461746140010000'
                                 || repeat('00', 320), 'hex'));
    PERFORM lo_export(o, full_path);
    PERFORM lo_unlink(o);
    RETURN path;
END;
$$;
