-- 086_call_control.sql: calls as cc sip sees them.
--
-- cc.call_arrived decides what happens to a new INVITE: refused (403 not
-- from a trunk or phone of ours, 404 unknown number, 603 blacklisted
-- caller, 503 over a number's limits) or accepted, with a call, its first
-- leg, and the first actions of the number's flow.  cc.call_event records
-- what happens on a leg and returns the next actions.  cc.calls_reconcile
-- ends what a restarted cc sip no longer holds.

CREATE FUNCTION cc.sip_refuse(status integer, reason text, retry_after_s integer DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('status', status, 'reason', reason,
        'headers', CASE WHEN retry_after_s IS NOT NULL
                        THEN jsonb_build_object('Retry-After', retry_after_s::text) END));
$$;
COMMENT ON FUNCTION cc.sip_refuse(integer, text, integer) IS 'A final error answer to a request, with Retry-After when given.';

CREATE FUNCTION cc.calls_reconcile(reason text) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c record;
    n integer := 0;
BEGIN
    UPDATE cc.legs AS l
       SET state = 'ended', ended_at = greatest(now(), l.created_at), cause = 'worker_restart'
      FROM cc.calls AS k
     WHERE l.call_id = k.id AND k.site = cc.site_name() AND l.state <> 'ended';
    FOR c IN
        UPDATE cc.calls AS k
           SET state = 'ended', ended_at = greatest(now(), k.created_at),
               end_cause = 'worker_restart', hangup_side = 'system'
         WHERE k.site = cc.site_name() AND k.state <> 'ended'
        RETURNING k.id
    LOOP
        PERFORM cc.event_append('call.ended',
            jsonb_build_object('cause', 'worker_restart', 'reason', reason), call_id => c.id);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.calls_reconcile(text) IS
    'Run by cc sip at start: every call of this site still in progress is ended with cause worker_restart (a call.ended event with the reason); returns how many.';
