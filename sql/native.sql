-- native: SQL-callable C.  cc.worker_status() reads shared memory: every
-- worker has a row; the workers of this instance run (their pid is set)
-- once the extension exists, which 00_setup did.  Wait up to 10 s for them.
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN (SELECT count(*) FROM cc.worker_status() WHERE pid IS NOT NULL AND loops > 0) = 3;
        PERFORM pg_sleep(0.1);
    END LOOP;
END;
$$;
SELECT worker, pid IS NOT NULL AS running, loops > 0 AS looping FROM cc.worker_status() ORDER BY worker;
-- They show in pg_stat_activity under their names.
SELECT backend_type FROM pg_stat_activity WHERE backend_type LIKE 'cc %' ORDER BY 1;
