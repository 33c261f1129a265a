-- 129_retention.sql: how long history is kept, applied every night by
-- pg_cron.
--
-- Each kind of row has a setting in cc.settings (days): events
-- (events.retention_days, whole daily partitions dropped), CDRs and the
-- agent state log (cdr.retention_days; the reference keeps 3 months),
-- recordings (recordings.retention_days: the WAV file and its row), webhook
-- deliveries and HTTP requests once finished, and ended calls with their
-- legs, queue entries and offers (calls.retention_days: the CDR is what
-- stays).  cc.retention_apply() does it all and says what it removed.

INSERT INTO cc.settings (key, value, description) VALUES
    ('recordings.retention_days', '90', 'Days recordings (WAV file and row) are kept.'),
    ('calls.retention_days', '30', 'Days ended calls stay in the live tables (calls, legs, queue entries, offers); their CDRs stay longer.'),
    ('webhooks.retention_days', '7', 'Days delivered and dead webhook deliveries (and their attempts) are kept.'),
    ('http.retention_days', '7', 'Days finished HTTP requests (and their attempts) are kept.')
ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION cc.recording_file_remove(path text) RETURNS boolean
AS 'MODULE_PATHNAME', 'cc_recording_file_remove'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.recording_file_remove(text) IS
    'Removes a recording file (path relative to cc.recordings_dir, no ".."); true if a file was removed. Superuser only: the retention job calls it.';

CREATE FUNCTION cc.retention_apply() RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    days_events     integer := greatest(1, cc.setting_int('events.retention_days', 90));
    days_cdrs       integer := greatest(1, cc.setting_int('cdr.retention_days', 90));
    days_recordings integer := greatest(1, cc.setting_int('recordings.retention_days', cc.setting_int('cdr.retention_days', 90)));
    days_calls      integer := greatest(1, cc.setting_int('calls.retention_days', 30));
    days_webhooks   integer := greatest(1, cc.setting_int('webhooks.retention_days', 7));
    days_http       integer := greatest(1, cc.setting_int('http.retention_days', 7));
    is_superuser    boolean := (SELECT r.rolsuper FROM pg_roles AS r WHERE r.rolname = current_user);
    rec             record;
    files           integer := 0;
    result          jsonb := '{}';
    n               bigint;
BEGIN
    result := result || jsonb_build_object('event_partitions', cc.events_drop_partitions(days_events));

    DELETE FROM cc.cdrs WHERE started_at < now() - days_cdrs * interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT;
    result := result || jsonb_build_object('cdrs', n);

    -- keep each agent's last change before the cut: it says the state the trajectory starts in
    DELETE FROM cc.agent_state_log AS l
     WHERE l.at < now() - days_cdrs * interval '1 day'
       AND EXISTS (SELECT 1 FROM cc.agent_state_log AS later
                    WHERE later.agent_id = l.agent_id AND later.seq > l.seq
                      AND later.at < now() - days_cdrs * interval '1 day');
    GET DIAGNOSTICS n = ROW_COUNT;
    result := result || jsonb_build_object('agent_state_log', n);

    n := 0;
    FOR rec IN
        SELECT r.id, r.file_path FROM cc.recordings AS r
         WHERE r.started_at < now() - days_recordings * interval '1 day' AND r.site = cc.site_name()
    LOOP
        IF is_superuser AND cc.recording_file_remove(rec.file_path) THEN
            files := files + 1;
        END IF;
        DELETE FROM cc.recordings WHERE id = rec.id;
        n := n + 1;
    END LOOP;
    result := result || jsonb_build_object('recordings', n, 'recording_files', files);

    DELETE FROM cc.webhook_outbox
     WHERE state IN ('delivered', 'dead') AND created_at < now() - days_webhooks * interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT;
    result := result || jsonb_build_object('webhook_deliveries', n);

    DELETE FROM cc.http_requests
     WHERE state IN ('done', 'failed') AND finished_at < now() - days_http * interval '1 day';
    GET DIAGNOSTICS n = ROW_COUNT;
    result := result || jsonb_build_object('http_requests', n);

    DELETE FROM cc.calls
     WHERE state = 'ended' AND ended_at < now() - days_calls * interval '1 day'
       AND EXISTS (SELECT 1 FROM cc.cdrs AS d WHERE d.call_id = calls.id);
    GET DIAGNOSTICS n = ROW_COUNT;
    result := result || jsonb_build_object('calls', n);

    RETURN result;
END;
$$;
COMMENT ON FUNCTION cc.retention_apply() IS
    'Applies the retention settings (events, cdr, recordings, calls, webhooks, http .retention_days) and returns what it removed; pg_cron runs it every night (job cc_retention).';

SELECT cron.schedule('cc_retention', '17 3 * * *', 'SELECT cc.retention_apply()');
