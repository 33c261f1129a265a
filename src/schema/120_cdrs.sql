-- 120_cdrs.sql: the CDR hook of docs/call-model.md.
--
-- PLACEHOLDER until the events issue, which writes CDRs here; the hook
-- signature stays.

CREATE FUNCTION cc.cdr_write(call uuid) RETURNS uuid
LANGUAGE plpgsql
AS $$ BEGIN RETURN NULL; END; $$;
COMMENT ON FUNCTION cc.cdr_write(uuid) IS
    'Hook: writes the CDR of a call that is ending (and its leg rows), queues the cdr webhook; returns the CDR id.';
