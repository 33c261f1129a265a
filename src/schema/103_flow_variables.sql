-- 103_flow_variables.sql: what the nodes share: variables, ${var}
-- substitution, prompts, choices for the CDR, custom data, the clock and
-- service hours.
--
-- A call's variables are the system variables (computed from the call, read
-- only) and its flow variables (cc.calls.variables, JSON values set by
-- collect, HTTP, survey and set_variable nodes).  ${name} is replaced by
-- the variable's value in TTS texts, URLs (percent-encoded), request
-- fields and header values; an unknown name becomes the empty string.

CREATE FUNCTION cc.flow_now(c cc.calls) RETURNS timestamptz
LANGUAGE sql STABLE
AS $$
    SELECT coalesce((c.flow_position #>> '{simulation,clock}')::timestamptz, now());
$$;
COMMENT ON FUNCTION cc.flow_now(cc.calls) IS
    'The flow''s clock: now(), or the clock of a simulation (cc.flow_simulate''s {"clock"} steps).';

CREATE FUNCTION cc.flow_variables(c cc.calls) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(c.variables, '{}') || jsonb_build_object(
        'SystemCallerNumber', coalesce(c.caller, ''),
        'SystemCalleeNumber', coalesce(c.callee, ''),
        'SystemSessionId', c.id::text,
        'SystemCallRingDuration',
            coalesce(floor(extract(epoch FROM c.answered_at - c.created_at))::bigint, 0),
        'SystemCallAcceptDuration',
            coalesce(floor(extract(epoch FROM cc.flow_now(c) - c.answered_at))::bigint, 0),
        'WaitNo', coalesce((
            SELECT count(*)::text FROM cc.queue_entries AS mine, cc.queue_entries AS other
             WHERE mine.call_id = c.id AND mine.state IN ('waiting', 'offered')
               AND other.queue_id = mine.queue_id AND other.state IN ('waiting', 'offered')
               AND (other.priority, other.entered_at) < (mine.priority, mine.entered_at)), ''),
        'StaffNo', coalesce((SELECT coalesce(a.employee_number, a.extension) FROM cc.agents AS a WHERE a.id = c.agent_id), ''));
$$;
COMMENT ON FUNCTION cc.flow_variables(cc.calls) IS
    'The variables a flow reads: the call''s flow variables and the system variables (SystemCallerNumber, SystemCalleeNumber, SystemSessionId, SystemCallRingDuration, SystemCallAcceptDuration in seconds, WaitNo, StaffNo), which win.';

CREATE FUNCTION cc.flow_url_encode(s text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT coalesce(string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122
                                         OR b IN (45, 46, 95, 126)
                                    THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '')
      FROM (SELECT get_byte(convert_to(s, 'UTF8'), i) AS b, i
              FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1) AS i) AS x;
$$;
COMMENT ON FUNCTION cc.flow_url_encode(text) IS 'Percent-encodes a text for a URL (RFC 3986: all but letters, digits and - . _ ~).';

CREATE FUNCTION cc.flow_value_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN v IS NULL OR v = 'null'::jsonb THEN ''
                WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}'
                ELSE v::text END;
$$;
COMMENT ON FUNCTION cc.flow_value_text(jsonb) IS 'A variable''s value as text: strings as they are, other JSON as JSON text, null or missing as empty.';

CREATE FUNCTION cc.flow_substitute(t text, vars jsonb, for_url boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    name text;
    v    text;
BEGIN
    IF t IS NULL OR position('${' IN t) = 0 THEN
        RETURN t;
    END IF;
    FOR name IN SELECT DISTINCT m[1] FROM regexp_matches(t, '\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}', 'g') AS m LOOP
        v := cc.flow_value_text(vars -> name);
        IF for_url THEN
            v := cc.flow_url_encode(v);
        END IF;
        t := replace(t, '${' || name || '}', v);
    END LOOP;
    RETURN t;
END;
$$;
COMMENT ON FUNCTION cc.flow_substitute(text, jsonb, boolean) IS
    'Replaces each ${name} of a text by the variable''s value (empty if unset); percent-encoded for URLs.';

CREATE FUNCTION cc.flow_set_variables(call uuid, patch jsonb) RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, cc
AS $$
    UPDATE cc.calls SET variables = variables || patch WHERE id = call AND patch <> '{}';
$$;
COMMENT ON FUNCTION cc.flow_set_variables(uuid, jsonb) IS 'Sets flow variables of a call (a JSON object of name -> value).';

CREATE FUNCTION cc.flow_add_choice(c cc.calls, node jsonb, kind text, key text, label text,
                                   variable text DEFAULT NULL, value jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    choice jsonb := jsonb_strip_nulls(jsonb_build_object(
        'node', node->>'id', 'kind', kind, 'key', key, 'label', label, 'variable', variable, 'value', value,
        'at', cc.flow_now(c)));
BEGIN
    UPDATE cc.calls SET choices = choices || choice WHERE id = c.id;
    PERFORM cc.flow_event(c, 'choice', choice - 'at');
END;
$$;
COMMENT ON FUNCTION cc.flow_add_choice(cc.calls, jsonb, text, text, text, text, jsonb) IS
    'Records what the caller chose, for the CDR (cc.calls.choices: node, kind menu|survey|collect|speech, key, label, variable, value, at) and as a flow.choice event.';

CREATE FUNCTION cc.flow_prompt_action(c cc.calls, prompt jsonb, extra jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars jsonb;
    p    cc.prompts;
    pid  text;
BEGIN
    IF prompt IS NULL OR jsonb_typeof(prompt) <> 'object' THEN
        RETURN NULL;
    END IF;
    -- "prefer a dynamic variable holding a prompt id", else the static prompt
    pid := cc.flow_value_text(c.variables -> (prompt->>'variable'));
    IF pid ~ '^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$' THEN
        SELECT * INTO p FROM cc.prompts WHERE id = pid::uuid;
    END IF;
    IF p.id IS NULL AND prompt ? 'prompt_id' THEN
        SELECT * INTO p FROM cc.prompts WHERE id = (prompt->>'prompt_id')::uuid;
        IF p.id IS NULL THEN
            PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', c.flow_node,
                'warning', format('prompt %s no longer exists; nothing is played', prompt->>'prompt_id')));
            RETURN NULL;
        END IF;
    END IF;
    IF position('${' IN coalesce(p.tts_text, prompt->>'tts', '')) > 0 THEN
        vars := cc.flow_variables(c);       -- only a text with ${...} needs them
    END IF;
    IF p.id IS NOT NULL THEN
        RETURN jsonb_strip_nulls(CASE WHEN p.kind = 'tts'
            THEN jsonb_build_object('type', 'play', 'tts', cc.flow_substitute(p.tts_text, vars), 'voice', p.voice)
            ELSE jsonb_build_object('type', 'play', 'file', p.file_path) END) || extra;
    ELSIF prompt ? 'tts' THEN
        RETURN jsonb_strip_nulls(jsonb_build_object('type', 'play', 'tts', cc.flow_substitute(prompt->>'tts', vars),
                                                    'voice', prompt->>'voice')) || extra;
    ELSIF prompt ? 'file' THEN
        RETURN jsonb_build_object('type', 'play', 'file', prompt->>'file') || extra;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.flow_prompt_action(cc.calls, jsonb, jsonb) IS
    'The play action of a prompt widget ({"tts", "voice"}, {"file"} or {"prompt_id"}, preferring the prompt id held by "variable" when set), ${var} substituted, with extra parameters (count, barge_in, tag); NULL for no prompt.';

CREATE FUNCTION cc.flow_prompt_action(prompt jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT CASE
        WHEN jsonb_typeof(prompt) IS DISTINCT FROM 'object' THEN NULL
        WHEN prompt ? 'prompt_id' THEN
            (SELECT jsonb_strip_nulls(CASE WHEN p.kind = 'tts'
                        THEN jsonb_build_object('type', 'play', 'tts', p.tts_text, 'voice', p.voice)
                        ELSE jsonb_build_object('type', 'play', 'file', p.file_path) END)
               FROM cc.prompts AS p WHERE p.id = (prompt->>'prompt_id')::uuid)
        WHEN prompt ? 'tts' THEN jsonb_strip_nulls(jsonb_build_object('type', 'play', 'tts', prompt->>'tts', 'voice', prompt->>'voice'))
        WHEN prompt ? 'file' THEN jsonb_build_object('type', 'play', 'file', prompt->>'file')
    END;
$$;
COMMENT ON FUNCTION cc.flow_prompt_action(jsonb) IS
    'The play action of a prompt widget outside a call ({"tts", "voice"}, {"file"} or {"prompt_id"}; no ${var} substitution), for other domains (hold music, announcements); NULL for no prompt.';

CREATE FUNCTION cc.flow_collect_action(parameters jsonb, tag text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('type', 'dtmf', 'command_info',
                              jsonb_build_object('type', 'collect', 'parameters', parameters), 'tag', tag);
$$;
COMMENT ON FUNCTION cc.flow_collect_action(jsonb, text) IS 'A dtmf collect action (IBM command_info) with its parameters and tag.';

CREATE FUNCTION cc.flow_in_hours(node jsonb, at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    mode   text := cc.flow_prop(node, 'mode') #>> '{}';
    tz     text := cc.flow_prop(node, 'time_zone') #>> '{}';
    slots  jsonb;
    closed jsonb := coalesce(node #> '{properties,closed_dates}', '[]');
    local  timestamp;
    hm     text;
    s      cc.schedules;
BEGIN
    IF mode = 'off' THEN
        RETURN true;
    ELSIF mode = 'standard' THEN
        -- working days, all day or one or two slots (morning, afternoon)
        slots := CASE WHEN cc.flow_prop(node, 'slots') = '"all_day"'
                      THEN '[{"from": "00:00", "to": "24:00"}]'::jsonb ELSE cc.flow_prop(node, 'slots') END;
        slots := (SELECT jsonb_agg(x || jsonb_build_object('days', cc.flow_prop(node, 'days')))
                    FROM jsonb_array_elements(slots) AS x);
    ELSIF node #> '{properties,schedule_id}' IS NOT NULL THEN
        SELECT * INTO s FROM cc.schedules WHERE id = (node #>> '{properties,schedule_id}')::uuid;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cc: schedule % no longer exists', node #>> '{properties,schedule_id}'
                USING ERRCODE = 'no_data_found';
        END IF;
        tz := s.time_zone;
        slots := s.weekly_slots;
        closed := s.closed_dates;
    ELSE
        slots := node #> '{properties,weekly_slots}';
    END IF;
    local := at AT TIME ZONE tz;
    IF closed ? to_char(local, 'YYYY-MM-DD') THEN
        RETURN false;
    END IF;
    hm := to_char(local, 'HH24:MI');
    RETURN EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(slots, '[]')) AS x
                    WHERE x->'days' @> to_jsonb(extract(isodow FROM local)::integer)
                      AND hm >= x->>'from' AND hm < x->>'to');
END;
$$;
COMMENT ON FUNCTION cc.flow_in_hours(jsonb, timestamptz) IS
    'Whether a service_hours node is in hours at a time: mode off (always), standard (days and all day or slots) or custom (a schedule of cc.schedules, or weekly_slots and closed_dates), in its time zone.';
