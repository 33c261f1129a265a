-- 060_commands.sql: the command bus from applications to the workers.
--
-- An application calls a function such as cc.sip_options(); it validates
-- its arguments and inserts a row in cc.commands.  A statement trigger
-- NOTIFYs cc_commands, which is delivered on commit only, so a rolled-back
-- transaction never moves anything.  cc sip claims pending rows with
-- cc.commands_claim (FOR UPDATE SKIP LOCKED), runs them, and records the
-- outcome with cc.command_finish.  Claims left by a worker that died are
-- put back by cc.commands_recover when it restarts.

CREATE TABLE cc.commands (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by  name        NOT NULL DEFAULT session_user,
    kind        text        NOT NULL,
    call_id     uuid,
    args        jsonb       NOT NULL DEFAULT '{}',
    state       text        NOT NULL DEFAULT 'pending',
    claimed_by  text,
    claimed_pid integer,
    claimed_at  timestamptz,
    attempts    integer     NOT NULL DEFAULT 0,
    finished_at timestamptz,
    result      jsonb,
    error       text,
    CONSTRAINT commands_kind_known
        CHECK (kind IN ('sip_options', 'call_actions',
                        -- call control (133_call_control_decide.sql: cc.command_decide)
                        'originate', 'click_to_call', 'hangup', 'hold', 'unhold', 'mute', 'unmute',
                        'transfer', 'consult', 'consult_cancel', 'consult_three_way', 'consult_transfer',
                        'send_dtmf', 'play', 'record', 'conference_create', 'conference_join',
                        'conference_leave', 'conference_mode', 'conference_mute', 'monitor', 'self_service')),
    CONSTRAINT commands_args_is_a_json_object
        CHECK (jsonb_typeof(args) = 'object'),
    CONSTRAINT commands_state_in_pending_claimed_done_failed
        CHECK (state IN ('pending', 'claimed', 'done', 'failed')),
    CONSTRAINT commands_claimed_has_claimer
        CHECK (state <> 'claimed' OR (claimed_by IS NOT NULL AND claimed_at IS NOT NULL)),
    CONSTRAINT commands_finished_at_iff_done_or_failed
        CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL)),
    CONSTRAINT commands_failed_has_error
        CHECK (state <> 'failed' OR error IS NOT NULL),
    CONSTRAINT commands_attempts_not_negative
        CHECK (attempts >= 0)
);

COMMENT ON TABLE cc.commands IS
    'Commands from applications to the workers; inserting a row (directly or through a function such as cc.sip_options) notifies cc_commands on commit.';
COMMENT ON COLUMN cc.commands.id IS 'Command id, returned by the function that created it.';
COMMENT ON COLUMN cc.commands.created_at IS 'When the command was inserted.';
COMMENT ON COLUMN cc.commands.created_by IS 'Role that inserted the command.';
COMMENT ON COLUMN cc.commands.kind IS 'What to do: sip_options (send OPTIONS to args.uri), call_actions (carry out args.actions on the legs they name; see docs/call-model.md), and the call-control kinds (originate, hangup, transfer, ...: cc sip asks cc.command_decide for their actions; see docs/call-control.md). Constraint commands_kind_known lists the kinds.';
COMMENT ON COLUMN cc.commands.call_id IS 'Call the command acts on, if any.';
COMMENT ON COLUMN cc.commands.args IS 'Arguments of the command (a JSON object), e.g. {"uri": "sip:..."}.';
-- A dispatch's dial command carries one action per offer (hundreds of kB
-- for a large batch): lz4 compresses it several times faster than the
-- default pglz, where the server has it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE cc.commands ALTER COLUMN args SET COMPRESSION lz4;
    END IF;
END;
$$;
COMMENT ON COLUMN cc.commands.state IS 'pending (waiting for a worker), claimed (a worker runs it), done, failed.';
COMMENT ON COLUMN cc.commands.claimed_by IS 'Worker that claimed the command, e.g. cc sip.';
COMMENT ON COLUMN cc.commands.claimed_pid IS 'Process id of the worker that claimed the command.';
COMMENT ON COLUMN cc.commands.claimed_at IS 'When the command was last claimed.';
COMMENT ON COLUMN cc.commands.attempts IS 'How many times the command was claimed (a worker that died while running it leaves it to be claimed again).';
COMMENT ON COLUMN cc.commands.finished_at IS 'When the command became done or failed.';
COMMENT ON COLUMN cc.commands.result IS 'Outcome of a done command (a JSON object), e.g. the SIP response.';
COMMENT ON COLUMN cc.commands.error IS 'Why a failed command failed.';

CREATE INDEX commands_pending ON cc.commands (created_at) WHERE state = 'pending';
CREATE INDEX commands_claimed ON cc.commands (claimed_by) WHERE state = 'claimed';

CREATE FUNCTION cc.commands_notify() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM pg_notify('cc_commands', 'pending');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.commands_notify() IS
    'Trigger: NOTIFY cc_commands once per inserting statement (delivered on commit; the worker then claims every pending command).';

CREATE TRIGGER commands_notify AFTER INSERT ON cc.commands
    FOR EACH STATEMENT EXECUTE FUNCTION cc.commands_notify();

-- The most times a command is claimed before it is failed: a command that
-- kills its worker each time must not loop forever.
CREATE FUNCTION cc.command_max_attempts() RETURNS integer
LANGUAGE sql IMMUTABLE AS 'SELECT 5';
COMMENT ON FUNCTION cc.command_max_attempts() IS
    'How many times a command may be claimed before cc.commands_recover fails it (5).';

CREATE FUNCTION cc.commands_claim(worker text, max_commands integer DEFAULT 100)
RETURNS SETOF cc.commands
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF worker IS NULL OR worker = '' THEN
        RAISE EXCEPTION 'cc: worker name must not be empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_commands IS NULL OR max_commands < 1 OR max_commands > 10000 THEN
        RAISE EXCEPTION 'cc: max_commands % is out of range', max_commands
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Claim from 1 to 10000 commands at a time.';
    END IF;
    RETURN QUERY
    UPDATE cc.commands AS c
       SET state = 'claimed', claimed_by = worker, claimed_pid = pg_backend_pid(),
           claimed_at = clock_timestamp(), attempts = c.attempts + 1
     WHERE c.id = ANY (ARRAY(
               SELECT p.id FROM cc.commands AS p
                WHERE p.state = 'pending'
                ORDER BY p.created_at
                LIMIT max_commands
                  FOR UPDATE SKIP LOCKED))
    RETURNING c.*;
END;
$$;
COMMENT ON FUNCTION cc.commands_claim(text, integer) IS
    'Claims up to max_commands pending commands, oldest first, for a worker in one statement (FOR UPDATE SKIP LOCKED: two claimers never get the same command).';

CREATE FUNCTION cc.command_finish(command uuid, ok boolean, result jsonb DEFAULT NULL, error text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    finished cc.commands;
BEGIN
    IF ok IS NULL THEN
        RAISE EXCEPTION 'cc: ok must be true or false' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE cc.commands AS c
       SET state = CASE WHEN ok THEN 'done' ELSE 'failed' END,
           finished_at = clock_timestamp(),
           result = command_finish.result,
           error = CASE WHEN ok THEN NULL ELSE coalesce(command_finish.error, 'unknown error') END
     WHERE c.id = command AND c.state = 'claimed'
    RETURNING c.* INTO finished;
    IF NOT FOUND THEN
        RETURN false;   -- not claimed (any more): nothing to finish
    END IF;
    PERFORM cc.event_append(
        CASE WHEN ok THEN 'command.done' ELSE 'command.failed' END,
        jsonb_strip_nulls(jsonb_build_object('kind', finished.kind, 'error', finished.error,
                                             'attempts', finished.attempts)),
        call_id => finished.call_id, command_id => finished.id);
    RETURN true;
END;
$$;
COMMENT ON FUNCTION cc.command_finish(uuid, boolean, jsonb, text) IS
    'Marks a claimed command done (ok) or failed (with error), and appends command.done or command.failed; false if it was not claimed.';

CREATE FUNCTION cc.commands_recover(worker text)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cmd     cc.commands;
    n       integer := 0;
BEGIN
    FOR cmd IN
        SELECT * FROM cc.commands
         WHERE state = 'claimed' AND claimed_by = worker
           FOR UPDATE
    LOOP
        IF cmd.attempts >= cc.command_max_attempts() THEN
            UPDATE cc.commands
               SET state = 'failed', finished_at = clock_timestamp(),
                   error = format('%s died %s times while running it', worker, cmd.attempts)
             WHERE id = cmd.id;
            PERFORM cc.event_append('command.failed',
                jsonb_build_object('kind', cmd.kind, 'attempts', cmd.attempts, 'error', 'too many attempts'),
                call_id => cmd.call_id, command_id => cmd.id);
        ELSE
            UPDATE cc.commands
               SET state = 'pending', claimed_by = NULL, claimed_pid = NULL, claimed_at = NULL
             WHERE id = cmd.id;
            PERFORM cc.event_append('command.requeued',
                jsonb_build_object('kind', cmd.kind, 'attempts', cmd.attempts, 'claimed_by', worker),
                call_id => cmd.call_id, command_id => cmd.id);
        END IF;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.commands_recover(text) IS
    'Run by a worker at start: the commands a previous instance of it left claimed go back to pending (or fail after cc.command_max_attempts() claims); returns how many.';

CREATE FUNCTION cc.sip_options(uri text)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id   uuid;
    port integer;
BEGIN
    IF uri IS NULL THEN
        RAISE EXCEPTION 'cc: SIP URI must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass a URI such as sip:127.0.0.1:5060 or sip:user@host;transport=tcp.';
    END IF;
    IF length(uri) > 1024 THEN
        RAISE EXCEPTION 'cc: SIP URI of % characters is too long', length(uri)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A SIP URI may have at most 1024 characters.';
    END IF;
    IF uri !~ '^sips?:([^@[:space:]]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(:[0-9]{1,5})?(;[^[:space:]?]*)?$' THEN
        RAISE EXCEPTION 'cc: invalid SIP URI "%"', uri
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Expected sip:[user@]host[:port][;parameters] or sips:..., for example sip:127.0.0.1:5060.';
    END IF;
    port := substring(uri from '^sips?:(?:[^@]+@)?(?:\[[^]]+\]|[^:;]+):([0-9]+)')::integer;
    IF port IS NOT NULL AND (port < 1 OR port > 65535) THEN
        RAISE EXCEPTION 'cc: port % in SIP URI "%" is out of range', port, uri
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A port is a number from 1 to 65535.';
    END IF;
    INSERT INTO cc.commands (kind, args) VALUES ('sip_options', jsonb_build_object('uri', uri))
    RETURNING commands.id INTO id;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.sip_options(text) IS
    'Asks cc sip to send SIP OPTIONS to uri after commit; returns the command id. The answer (code, reason, round trip) is recorded as a sip.options event and in the command''s result.';

CREATE FUNCTION cc.sip_options_result(command uuid, uri text, code integer, reason text, rtt_ms double precision)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    answer jsonb;
BEGIN
    IF code = 0 THEN
        -- the request could not be sent at all
        PERFORM cc.command_finish(command, false, NULL, reason);
        RETURN;
    END IF;
    answer := jsonb_build_object('uri', uri, 'code', code, 'reason', reason,
                                 'rtt_ms', round(rtt_ms::numeric, 3));
    PERFORM cc.event_append('sip.options', answer, command_id => command);
    PERFORM cc.command_finish(command, true, answer, NULL);
END;
$$;
COMMENT ON FUNCTION cc.sip_options_result(uuid, text, integer, text, double precision) IS
    'Called by cc sip when an OPTIONS is answered (code >= 100) or could not be sent (code 0, reason says why): records the sip.options event and finishes the command.';
