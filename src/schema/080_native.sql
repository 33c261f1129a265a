-- 080_native.sql: SQL-callable C functions of the module.

CREATE FUNCTION cc.worker_status(
    OUT worker text, OUT pid integer, OUT started_at timestamptz, OUT loops bigint,
    OUT ring_messages_in bigint, OUT ring_messages_out bigint, OUT ring_messages_dropped bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cc_worker_status'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION cc.worker_status() IS
    'One row per pg_callcenter worker from shared memory: pid (null when not running), start time, loop turns, messages through the sip/media rings, and messages dropped because a ring was full.';
