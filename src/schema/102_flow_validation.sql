-- 102_flow_validation.sql: validation of flow graphs when they are saved.
--
-- cc.flow_validate(graph) lists every problem of a graph as
-- {"node", "property", "rule", "message", "hint"}; cc.flow_check raises
-- the first one (the trigger of cc.flow_versions calls it, so a bad graph
-- is never saved).  The rules: the graph's shape, exactly one start, every
-- node reachable, every required connection present (so every path reaches
-- an end, a transfer or a hang-up), every loop bounded (by a node that
-- waits for the caller, or a max_visits), and every property of the
-- catalogue (101) within its limits.  Each error names the node id and the
-- property, and carries a rule code from cc.flow_validation_rules().

CREATE FUNCTION cc.flow_validation_rules() RETURNS TABLE (rule text, hint text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    VALUES
    ('graph.nodes',           'A graph is {"nodes": [...]}: a JSON object whose "nodes" is an array of nodes.'),
    ('graph.start',           'A flow has exactly one node of type start.'),
    ('graph.unreachable',     'Every node must be reachable from the start node; connect it or delete it.'),
    ('graph.unbounded_loop',  'A loop must contain a node that waits for the caller (menu, speech_menu, collect, survey, transfer_extension, bot) or a node with properties.max_visits.'),
    ('node.object',           'A node is a JSON object {"id", "type", "label", "properties", "connections"}.'),
    ('node.id',               'A node id is 1 to 64 letters, digits, _ . or -.'),
    ('node.duplicate_id',     'Node ids are unique within a graph.'),
    ('node.type',             'Node types: start, end, pause, play, menu, speech_menu, collect, http, condition, service_hours, transfer_queue, transfer_external, transfer_extension, voicemail, survey, set_variable, bot.'),
    ('node.label',            'A label is a string of at most 200 characters.'),
    ('node.properties',       'properties is a JSON object.'),
    ('node.connections',      'connections is a JSON object whose values are node ids.'),
    ('property.unknown',      'Only the properties of the node type are allowed (docs/flows.md lists them).'),
    ('property.required',     'This property is required for this node type.'),
    ('property.type',         'The property has the wrong JSON type (docs/flows.md gives each type).'),
    ('property.range',        'The number is outside the limits of the node type (docs/flows.md).'),
    ('property.length',       'The text is too long or empty (TTS at most 600 characters, SIP header values at most 1024 bytes).'),
    ('property.format',       'The value does not have the required form (keys 0-9 * #, variable names [A-Za-z_][A-Za-z0-9_]*, http(s) URLs, HH:MM times, uuids).'),
    ('property.choice',       'The value is not one of the allowed words.'),
    ('property.count',        'The array has too few or too many elements.'),
    ('property.duplicate',    'The value must be unique within the array (e.g. one branch per key).'),
    ('property.reserved',     'System variables (WaitNo, StaffNo, System...) are read-only.'),
    ('property.template',     'A ${...} reference is ${name} with name a variable name.'),
    ('property.reference',    'The id or number does not exist (queue, prompt, schedule, trunk, our number).'),
    ('property.conflict',     'Two properties contradict each other.'),
    ('connection.unknown',    'Only the connections of the node type are allowed (docs/flows.md lists them).'),
    ('connection.required',   'This connection is required: without it a path would end nowhere.'),
    ('connection.target',     'A connection (or a branch''s next) names the id of a node of the same graph.')
$$;
COMMENT ON FUNCTION cc.flow_validation_rules() IS
    'The rules a flow graph is checked against, each with the hint its errors carry: the rule codes of cc.flow_validate.';

CREATE FUNCTION cc.flow_error(node text, property text, rule text, message text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object('node', node, 'property', property, 'rule', rule, 'message', message,
                              'hint', (SELECT r.hint FROM cc.flow_validation_rules() AS r WHERE r.rule = flow_error.rule));
$$;
COMMENT ON FUNCTION cc.flow_error(text, text, text, text) IS
    'One validation error: {"node", "property", "rule", "message", "hint"} (node NULL for the graph as a whole).';

-- cc.flow_show is a short rendering of a JSON value for messages.
CREATE FUNCTION cc.flow_show(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN v IS NULL THEN 'missing'
                WHEN length(v::text) > 60 THEN left(v::text, 57) || '...'
                ELSE v::text END;
$$;
COMMENT ON FUNCTION cc.flow_show(jsonb) IS 'A JSON value as text for an error message, cut at 60 characters.';

CREATE FUNCTION cc.flow_template_ok(t text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    -- every "${" opens a well-formed ${name}
    SELECT (length(t) - length(replace(t, '${', ''))) / 2
         = (SELECT count(*) FROM regexp_matches(t, '\$\{[A-Za-z_][A-Za-z0-9_]{0,63}\}', 'g'));
$$;
COMMENT ON FUNCTION cc.flow_template_ok(text) IS 'Whether every ${...} in a text is a well-formed ${name} reference.';

CREATE FUNCTION cc.flow_check_props(node_id text, base text, specs jsonb, props jsonb, ids text[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    errs jsonb := '[]';
    k    text;
    spec jsonb;
    v    jsonb;
BEGIN
    FOR k IN SELECT jsonb_object_keys(props) LOOP
        IF NOT specs ? k THEN
            errs := errs || cc.flow_error(node_id, base || k, 'property.unknown',
                format('%s is not a property of this node (allowed: %s)', base || k,
                       (SELECT string_agg(s, ', ' ORDER BY s) FROM jsonb_object_keys(specs) AS s)));
        END IF;
    END LOOP;
    FOR k, spec IN SELECT * FROM jsonb_each(specs) LOOP
        v := props -> k;
        IF v IS NULL OR v = 'null'::jsonb THEN
            IF (spec->>'required')::boolean THEN
                errs := errs || cc.flow_error(node_id, base || k, 'property.required',
                                              format('%s is required', base || k));
            END IF;
            CONTINUE;
        END IF;
        errs := errs || cc.flow_check_value(node_id, base || k, spec, v, ids);
    END LOOP;
    RETURN errs;
END;
$$;
COMMENT ON FUNCTION cc.flow_check_props(text, text, jsonb, jsonb, text[]) IS
    'Validation errors of an object of properties against their specs (unknown, missing required, each value).';

CREATE FUNCTION cc.flow_check_value(node_id text, path text, spec jsonb, v jsonb, ids text[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t     text := spec->>'type';
    jt    text := jsonb_typeof(v);
    s     text := CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END;
    n     numeric;
    errs  jsonb := '[]';
    item  jsonb;
    i     integer;
    k     text;
    found boolean;
    ik    text;
    seen  text[];
    name_re constant text := '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
    uuid_re constant text := '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
    time_re constant text := '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$';
BEGIN
    -- the JSON type first
    IF t IN ('integer', 'number') AND jt <> 'number'
       OR t = 'boolean' AND jt <> 'boolean'
       OR t IN ('string', 'text', 'enum', 'key', 'variable', 'variable_ref', 'url', 'ref', 'caller_id',
                'destination', 'node', 'time', 'time_zone', 'path') AND jt <> 'string'
       OR t IN ('prompt', 'headers', 'fields', 'object') AND jt <> 'object'
       OR t IN ('array', 'nodes', 'days', 'dates', 'strings') AND jt <> 'array'
       OR t = 'slots' AND NOT (jt = 'array' OR s = 'all_day') THEN
        RETURN jsonb_build_array(cc.flow_error(node_id, path, 'property.type',
            format('%s is %s; it must be %s', path, cc.flow_show(v),
                   CASE t WHEN 'integer' THEN 'an integer' WHEN 'number' THEN 'a number'
                          WHEN 'boolean' THEN 'true or false'
                          WHEN 'prompt' THEN 'a prompt object ({"tts"}, {"file"} or {"prompt_id"})'
                          WHEN 'headers' THEN 'an object of header names to values'
                          WHEN 'fields' THEN 'an object of field names to values'
                          WHEN 'object' THEN 'a JSON object'
                          WHEN 'slots' THEN '"all_day" or an array of {"from", "to"}'
                          WHEN 'array' THEN 'an array' WHEN 'nodes' THEN 'an array of node ids'
                          WHEN 'days' THEN 'an array of days 1 (Monday) to 7'
                          WHEN 'dates' THEN 'an array of dates YYYY-MM-DD'
                          WHEN 'strings' THEN 'an array of strings'
                          ELSE 'a string' END)));
    END IF;

    CASE t
    WHEN 'integer', 'number' THEN
        n := (v #>> '{}')::numeric;
        IF t = 'integer' AND n <> trunc(n) THEN
            RETURN jsonb_build_array(cc.flow_error(node_id, path, 'property.type',
                format('%s is %s; it must be an integer', path, v)));
        END IF;
        IF n < (spec->>'min')::numeric OR n > (spec->>'max')::numeric THEN
            errs := errs || cc.flow_error(node_id, path, 'property.range',
                format('%s is %s; it must be from %s to %s', path, v, spec->>'min', spec->>'max'));
        END IF;
    WHEN 'string' THEN
        IF length(s) < 1 OR length(s) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.length',
                format('%s has %s characters; it must have 1 to %s', path, length(s), spec->>'max'));
        END IF;
    WHEN 'text' THEN
        IF length(s) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.length',
                format('%s has %s characters; it may have at most %s', path, length(s), spec->>'max'));
        END IF;
        IF NOT cc.flow_template_ok(s) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.template',
                format('%s has a malformed ${...}: %s', path, cc.flow_show(v)));
        END IF;
    WHEN 'enum' THEN
        IF NOT spec->'values' ? s THEN
            errs := errs || cc.flow_error(node_id, path, 'property.choice',
                format('%s is %s; it must be one of %s', path, v,
                       (SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(spec->'values') AS x)));
        END IF;
    WHEN 'key' THEN
        IF s !~ '^[0-9*#]$' THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a key; a key is one of 0-9, * and #', path, v));
        END IF;
    WHEN 'variable', 'variable_ref' THEN
        IF s !~ name_re THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a variable name (a letter or _, then letters, digits or _; at most 64)', path, v));
        ELSIF t = 'variable' AND s = ANY (cc.flow_reserved_variables()) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.reserved',
                format('%s is %s, a system variable: it cannot be assigned', path, v));
        END IF;
    WHEN 'url' THEN
        IF length(s) > 2048 THEN
            errs := errs || cc.flow_error(node_id, path, 'property.length',
                format('%s has %s characters; a URL may have at most 2048', path, length(s)));
        ELSIF s !~ '^https?://[^[:space:]]+$' THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not an http:// or https:// URL', path, cc.flow_show(v)));
        ELSIF NOT cc.flow_template_ok(s) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.template',
                format('%s has a malformed ${...}: %s', path, cc.flow_show(v)));
        END IF;
    WHEN 'ref' THEN
        IF s !~ uuid_re THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a uuid', path, cc.flow_show(v)));
        ELSE
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM cc.%I WHERE id = $1)', spec->>'table') INTO found USING s::uuid;
            IF NOT found THEN
                errs := errs || cc.flow_error(node_id, path, 'property.reference',
                    format('%s is %s, which is not in cc.%s', path, v, spec->>'table'));
            END IF;
        END IF;
    WHEN 'caller_id' THEN
        IF NOT EXISTS (SELECT 1 FROM cc.numbers AS x WHERE x.number = s) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.reference',
                format('%s is %s, which is not one of our numbers (cc.numbers)', path, v));
        END IF;
    WHEN 'destination' THEN
        IF NOT (s ~ '^\+?[0-9*#]{1,32}$'
                OR s ~ '^(sips?|tel):[^[:space:]]{1,250}$'
                OR s ~ '^\+?[0-9*#]*(\$\{[A-Za-z_][A-Za-z0-9_]{0,63}\}[0-9*#]*)+$') THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s; it must be a number (digits, * #, an optional leading +), a ${variable} holding one, or a sip:, sips: or tel: URI', path, cc.flow_show(v)));
        END IF;
    WHEN 'node' THEN
        IF NOT s = ANY (ids) THEN
            errs := errs || cc.flow_error(node_id, path, 'connection.target',
                format('%s is %s, which is not a node of this graph', path, v));
        END IF;
    WHEN 'nodes' THEN
        IF jsonb_array_length(v) < (spec->>'min')::integer OR jsonb_array_length(v) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.count',
                format('%s has %s elements; it must have %s to %s', path, jsonb_array_length(v), spec->>'min', spec->>'max'));
        END IF;
        FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
            errs := errs || cc.flow_check_value(node_id, format('%s[%s]', path, i), '{"type": "node"}', item, ids);
        END LOOP;
    WHEN 'time' THEN
        IF s !~ time_re THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a time HH:MM (00:00 to 24:00)', path, v));
        END IF;
    WHEN 'time_zone' THEN
        IF NOT cc.is_time_zone(s) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a time zone PostgreSQL knows (e.g. Asia/Shanghai, UTC)', path, v));
        END IF;
    WHEN 'path' THEN
        IF s !~ '^[A-Za-z0-9_$@-]{1,64}(\.[A-Za-z0-9_$@-]{1,64}){0,15}$' THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s, not a field path (names or array indexes joined by dots, e.g. data.items.0.id)', path, cc.flow_show(v)));
        END IF;
    WHEN 'days' THEN
        IF jsonb_array_length(v) NOT BETWEEN 1 AND 7 THEN
            errs := errs || cc.flow_error(node_id, path, 'property.count',
                format('%s has %s elements; it must have 1 to 7', path, jsonb_array_length(v)));
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(v) AS d
                    WHERE jsonb_typeof(d) <> 'number' OR d::text !~ '^[1-7]$') THEN
            errs := errs || cc.flow_error(node_id, path, 'property.format',
                format('%s is %s; days are 1 (Monday) to 7 (Sunday)', path, cc.flow_show(v)));
        ELSIF (SELECT count(DISTINCT d) <> count(*) FROM jsonb_array_elements(v) AS d) THEN
            errs := errs || cc.flow_error(node_id, path, 'property.duplicate',
                format('%s lists a day twice: %s', path, v));
        END IF;
    WHEN 'dates' THEN
        IF jsonb_array_length(v) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.count',
                format('%s has %s elements; it may have at most %s', path, jsonb_array_length(v), spec->>'max'));
        END IF;
        FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
            IF jsonb_typeof(item) <> 'string' OR NOT cc.flow_is_date(item #>> '{}') THEN
                errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.format',
                    format('%s[%s] is %s, not a date YYYY-MM-DD', path, i, cc.flow_show(item)));
            END IF;
        END LOOP;
    WHEN 'strings' THEN
        IF jsonb_array_length(v) < (spec->>'min')::integer OR jsonb_array_length(v) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.count',
                format('%s has %s elements; it must have %s to %s', path, jsonb_array_length(v), spec->>'min', spec->>'max'));
        END IF;
        FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
            IF jsonb_typeof(item) <> 'string' THEN
                errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.type',
                    format('%s[%s] is %s; it must be a string', path, i, cc.flow_show(item)));
            ELSIF length(item #>> '{}') NOT BETWEEN 1 AND (spec->>'item_max')::integer THEN
                errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.length',
                    format('%s[%s] has %s characters; it must have 1 to %s', path, i, length(item #>> '{}'), spec->>'item_max'));
            END IF;
        END LOOP;
    WHEN 'slots' THEN
        IF jt = 'array' THEN
            IF jsonb_array_length(v) NOT BETWEEN 1 AND 2 THEN
                errs := errs || cc.flow_error(node_id, path, 'property.count',
                    format('%s has %s slots; it must have 1 or 2 (morning and afternoon)', path, jsonb_array_length(v)));
            END IF;
            FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
                IF jsonb_typeof(item) <> 'object' THEN
                    errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.type',
                        format('%s[%s] is %s; it must be {"from": "HH:MM", "to": "HH:MM"}', path, i, cc.flow_show(item)));
                    CONTINUE;
                END IF;
                errs := errs || cc.flow_check_props(node_id, format('%s[%s].', path, i),
                    '{"from": {"type": "time", "required": true}, "to": {"type": "time", "required": true}}', item, ids);
                IF item->>'from' ~ time_re AND item->>'to' ~ time_re AND item->>'from' >= item->>'to' THEN
                    errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.conflict',
                        format('%s[%s] runs from %s to %s; from must be before to', path, i, item->>'from', item->>'to'));
                END IF;
            END LOOP;
        END IF;
    WHEN 'prompt' THEN
        errs := errs || cc.flow_check_prompt(node_id, path, v);
    WHEN 'headers' THEN
        FOR k, item IN SELECT * FROM jsonb_each(v) LOOP
            IF k !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,100}$' THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.format',
                    format('%s has the header name %s, which is not a SIP/HTTP token', path, cc.flow_show(to_jsonb(k))));
            ELSIF jsonb_typeof(item) <> 'string' THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.type',
                    format('%s.%s is %s; it must be a string', path, k, cc.flow_show(item)));
            ELSIF octet_length(item #>> '{}') > 1024 THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.length',
                    format('%s.%s has %s bytes; a header value may have at most 1024', path, k, octet_length(item #>> '{}')));
            ELSIF NOT cc.flow_template_ok(item #>> '{}') THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.template',
                    format('%s.%s has a malformed ${...}: %s', path, k, cc.flow_show(item)));
            END IF;
        END LOOP;
    WHEN 'fields' THEN
        FOR k, item IN SELECT * FROM jsonb_each(v) LOOP
            IF length(k) NOT BETWEEN 1 AND 100 THEN
                errs := errs || cc.flow_error(node_id, path, 'property.length',
                    format('%s has a field name of %s characters; names have 1 to 100', path, length(k)));
            ELSIF jsonb_typeof(item) <> 'string' THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.type',
                    format('%s.%s is %s; request fields are strings (with ${variable})', path, k, cc.flow_show(item)));
            ELSIF length(item #>> '{}') > 2000 THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.length',
                    format('%s.%s has %s characters; it may have at most 2000', path, k, length(item #>> '{}')));
            ELSIF NOT cc.flow_template_ok(item #>> '{}') THEN
                errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.template',
                    format('%s.%s has a malformed ${...}: %s', path, k, cc.flow_show(item)));
            END IF;
        END LOOP;
    WHEN 'array' THEN
        IF jsonb_array_length(v) < (spec->>'min')::integer OR jsonb_array_length(v) > (spec->>'max')::integer THEN
            errs := errs || cc.flow_error(node_id, path, 'property.count',
                format('%s has %s elements; it must have %s to %s', path, jsonb_array_length(v), spec->>'min', spec->>'max'));
        END IF;
        FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
            IF jsonb_typeof(item) <> 'object' THEN
                errs := errs || cc.flow_error(node_id, format('%s[%s]', path, i), 'property.type',
                    format('%s[%s] is %s; it must be an object', path, i, cc.flow_show(item)));
                CONTINUE;
            END IF;
            errs := errs || cc.flow_check_props(node_id, format('%s[%s].', path, i), spec->'items', item, ids);
        END LOOP;
        -- unique item properties (a menu has one branch per key)
        FOR ik IN SELECT key FROM jsonb_each(spec->'items') WHERE (value->>'unique')::boolean LOOP
            seen := '{}';
            FOR item, i IN SELECT e, o - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x (e, o) LOOP
                CONTINUE WHEN jsonb_typeof(item) <> 'object' OR item->>ik IS NULL;
                IF item->>ik = ANY (seen) THEN
                    errs := errs || cc.flow_error(node_id, format('%s[%s].%s', path, i, ik), 'property.duplicate',
                        format('%s[%s].%s is %s, already used by an earlier element', path, i, ik, item->ik));
                END IF;
                seen := seen || (item->>ik);
            END LOOP;
        END LOOP;
    ELSE
        NULL;   -- any, object, boolean: the JSON type was all there was to check
    END CASE;
    RETURN errs;
END;
$$;
COMMENT ON FUNCTION cc.flow_check_value(text, text, jsonb, jsonb, text[]) IS
    'Validation errors of one property value against its spec from the catalogue (type, limits, form, references).';

CREATE FUNCTION cc.flow_is_date(s text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN false;
    END IF;
    PERFORM s::date;
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END;
$$;
COMMENT ON FUNCTION cc.flow_is_date(text) IS 'Whether a text is a valid date YYYY-MM-DD.';

CREATE FUNCTION cc.flow_check_prompt(node_id text, path text, v jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    errs    jsonb := '[]';
    k       text;
    sources integer := (v ? 'tts')::integer + (v ? 'file')::integer + (v ? 'prompt_id')::integer;
BEGIN
    FOR k IN SELECT jsonb_object_keys(v) LOOP
        IF k NOT IN ('tts', 'voice', 'file', 'prompt_id', 'variable') THEN
            errs := errs || cc.flow_error(node_id, path || '.' || k, 'property.unknown',
                format('%s.%s is not part of a prompt (tts, voice, file, prompt_id, variable)', path, k));
        END IF;
    END LOOP;
    IF sources = 0 THEN
        RETURN errs || cc.flow_error(node_id, path, 'property.required',
            format('%s needs one of tts (a text), file (a WAV file) or prompt_id', path));
    ELSIF sources > 1 THEN
        RETURN errs || cc.flow_error(node_id, path, 'property.conflict',
            format('%s has more than one of tts, file and prompt_id; give one', path));
    END IF;
    IF v ? 'tts' THEN
        IF jsonb_typeof(v->'tts') <> 'string' THEN
            errs := errs || cc.flow_error(node_id, path || '.tts', 'property.type',
                format('%s.tts is %s; it must be a string', path, cc.flow_show(v->'tts')));
        ELSIF length(v->>'tts') NOT BETWEEN 1 AND 600 THEN
            errs := errs || cc.flow_error(node_id, path || '.tts', 'property.length',
                format('%s.tts has %s characters; TTS text has 1 to 600', path, length(v->>'tts')));
        ELSIF NOT cc.flow_template_ok(v->>'tts') THEN
            errs := errs || cc.flow_error(node_id, path || '.tts', 'property.template',
                format('%s.tts has a malformed ${...}: %s', path, cc.flow_show(v->'tts')));
        END IF;
    END IF;
    IF v ? 'voice' AND (jsonb_typeof(v->'voice') <> 'string' OR v->>'voice' !~ '^[A-Za-z0-9_.-]{1,40}$') THEN
        errs := errs || cc.flow_error(node_id, path || '.voice', 'property.format',
            format('%s.voice is %s, not a voice name (1 to 40 letters, digits, _ . -)', path, cc.flow_show(v->'voice')));
    END IF;
    IF v ? 'file' AND (jsonb_typeof(v->'file') <> 'string' OR v->>'file' !~ '^[A-Za-z0-9_][A-Za-z0-9_./-]{0,254}$'
                       OR v->>'file' LIKE '%..%') THEN
        errs := errs || cc.flow_error(node_id, path || '.file', 'property.format',
            format('%s.file is %s, not a WAV file path relative to cc.media_dir', path, cc.flow_show(v->'file')));
    END IF;
    IF v ? 'prompt_id' THEN
        errs := errs || cc.flow_check_value(node_id, path || '.prompt_id', '{"type": "ref", "table": "prompts"}', v->'prompt_id', '{}');
    END IF;
    IF v ? 'variable' THEN
        errs := errs || cc.flow_check_value(node_id, path || '.variable', '{"type": "variable_ref"}', v->'variable', '{}');
    END IF;
    RETURN errs;
END;
$$;
COMMENT ON FUNCTION cc.flow_check_prompt(text, text, jsonb) IS
    'Validation errors of a prompt widget: exactly one of tts (1 to 600 characters, ${variable}), file or prompt_id; optional voice and variable (a dynamic prompt id preferred when set).';

CREATE FUNCTION cc.flow_check_node_rules(node jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id   text := node->>'id';
    p    jsonb := coalesce(node->'properties', '{}');
    c    jsonb := coalesce(node->'connections', '{}');
    errs jsonb := '[]';
BEGIN
    CASE node->>'type'
    WHEN 'menu' THEN
        IF coalesce(jsonb_array_length(CASE WHEN jsonb_typeof(p->'branches') = 'array' THEN p->'branches' END), 0) = 0
           AND NOT p ? 'branches_variable' THEN
            errs := errs || cc.flow_error(id, 'properties.branches', 'property.required',
                'properties.branches is required: a menu needs branches, or branches_variable for dynamic ones');
        END IF;
        IF p ? 'branches_variable' AND NOT p ? 'dynamic_next' THEN
            errs := errs || cc.flow_error(id, 'properties.dynamic_next', 'property.required',
                'properties.dynamic_next is required with branches_variable: it lists the nodes dynamic branches may lead to');
        ELSIF p ? 'dynamic_next' AND NOT p ? 'branches_variable' THEN
            errs := errs || cc.flow_error(id, 'properties.dynamic_next', 'property.conflict',
                'properties.dynamic_next is only for dynamic branches; set branches_variable or remove it');
        END IF;
    WHEN 'collect' THEN
        IF jsonb_typeof(p->'min_digits') = 'number' AND jsonb_typeof(cc.flow_prop(node, 'max_digits')) = 'number'
           AND (p->>'min_digits')::numeric > (cc.flow_prop(node, 'max_digits') #>> '{}')::numeric THEN
            errs := errs || cc.flow_error(id, 'properties.min_digits', 'property.conflict',
                format('properties.min_digits is %s, more than max_digits %s', p->'min_digits', cc.flow_prop(node, 'max_digits')));
        END IF;
    WHEN 'service_hours' THEN
        IF coalesce(p->>'mode', 'standard') <> 'off' AND NOT c ? 'out_of_hours' THEN
            errs := errs || cc.flow_error(id, 'connections.out_of_hours', 'connection.required',
                'connections.out_of_hours is required unless properties.mode is off');
        END IF;
        IF p->>'mode' = 'custom' AND NOT (p ? 'schedule_id' OR p ? 'weekly_slots') THEN
            errs := errs || cc.flow_error(id, 'properties.schedule_id', 'property.required',
                'properties.schedule_id or properties.weekly_slots is required when mode is custom');
        ELSIF p ? 'schedule_id' AND p ? 'weekly_slots' THEN
            errs := errs || cc.flow_error(id, 'properties.weekly_slots', 'property.conflict',
                'properties.schedule_id and properties.weekly_slots both give the hours; keep one');
        END IF;
        IF coalesce(p->>'mode', 'standard') <> 'custom' AND (p ? 'schedule_id' OR p ? 'weekly_slots' OR p ? 'closed_dates') THEN
            errs := errs || cc.flow_error(id, 'properties.mode', 'property.conflict',
                format('properties.mode is %s; schedule_id, weekly_slots and closed_dates are for mode custom',
                       coalesce(p->>'mode', 'standard')));
        END IF;
    WHEN 'transfer_queue' THEN
        IF p->>'overflow_queue' = p->>'queue' THEN
            errs := errs || cc.flow_error(id, 'properties.overflow_queue', 'property.conflict',
                'properties.overflow_queue is the queue itself; name another queue or remove it');
        END IF;
    WHEN 'survey' THEN
        IF p->>'key_variable' = p->>'label_variable' THEN
            errs := errs || cc.flow_error(id, 'properties.label_variable', 'property.conflict',
                format('properties.label_variable and key_variable are both %s; the key and its label need two variables', p->'key_variable'));
        END IF;
    WHEN 'set_variable' THEN
        IF NOT (p ? 'assignments' OR p ? 'custom_data') THEN
            errs := errs || cc.flow_error(id, 'properties.assignments', 'property.required',
                'properties.assignments or properties.custom_data is required: a set_variable node sets something');
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN errs;
END;
$$;
COMMENT ON FUNCTION cc.flow_check_node_rules(jsonb) IS
    'Validation errors that involve several properties of a node (min_digits above max_digits, a menu without branches, service hours without out_of_hours, ...).';

CREATE FUNCTION cc.flow_check_node(node jsonb, ids text[]) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id    text := node->>'id';
    spec  jsonb := cc.flow_catalogue() -> (node->>'type');
    props jsonb := coalesce(nullif(node->'properties', 'null'), '{}');
    conns jsonb := coalesce(nullif(node->'connections', 'null'), '{}');
    errs  jsonb := '[]';
    k     text;
    v     jsonb;
BEGIN
    IF node ? 'label' AND node->'label' <> 'null' AND (jsonb_typeof(node->'label') <> 'string' OR length(node->>'label') > 200) THEN
        errs := errs || cc.flow_error(id, 'label', 'node.label',
            format('label is %s; it must be a string of at most 200 characters', cc.flow_show(node->'label')));
    END IF;
    IF jsonb_typeof(props) <> 'object' THEN
        errs := errs || cc.flow_error(id, 'properties', 'node.properties',
            format('properties is %s; it must be a JSON object', cc.flow_show(props)));
        props := '{}';
    END IF;
    IF jsonb_typeof(conns) <> 'object' THEN
        errs := errs || cc.flow_error(id, 'connections', 'node.connections',
            format('connections is %s; it must be a JSON object of node ids', cc.flow_show(conns)));
        conns := '{}';
    END IF;

    errs := errs || cc.flow_check_props(id, 'properties.', (spec->'properties') || cc.flow_common_properties(), props, ids);

    FOR k, v IN SELECT * FROM jsonb_each(conns) LOOP
        IF NOT (spec->'connections' ? k OR (k = 'max_visits' AND props ? 'max_visits')) THEN
            errs := errs || cc.flow_error(id, 'connections.' || k, 'connection.unknown',
                format('connections.%s is not a connection of a %s node (allowed: %s)%s', k, node->>'type',
                       coalesce((SELECT string_agg(x, ', ' ORDER BY x) FROM jsonb_object_keys(spec->'connections') AS x), 'none')
                       || CASE WHEN props ? 'max_visits' THEN ', max_visits' ELSE '' END,
                       CASE WHEN k = 'max_visits' THEN '; it comes with properties.max_visits' ELSE '' END));
        ELSIF jsonb_typeof(v) <> 'string' OR NOT (v #>> '{}') = ANY (ids) THEN
            errs := errs || cc.flow_error(id, 'connections.' || k, 'connection.target',
                format('connections.%s is %s, which is not a node of this graph', k, cc.flow_show(v)));
        END IF;
    END LOOP;
    FOR k IN SELECT key FROM jsonb_each(spec->'connections') WHERE value = 'true' LOOP
        IF NOT conns ? k OR conns->k = 'null' THEN
            errs := errs || cc.flow_error(id, 'connections.' || k, 'connection.required',
                format('connections.%s is required: a %s node must lead somewhere', k, node->>'type'));
        END IF;
    END LOOP;
    RETURN errs || cc.flow_check_node_rules(node || jsonb_build_object('properties', props, 'connections', conns));
END;
$$;
COMMENT ON FUNCTION cc.flow_check_node(jsonb, text[]) IS
    'Validation errors of one node whose id and type are valid: label, properties against the catalogue, connections, rules across properties.';

CREATE FUNCTION cc.flow_validate(graph jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    errs    jsonb := '[]';
    nodes   jsonb;
    node    jsonb;
    i       integer;
    ids     text[] := '{}';
    good    jsonb := '[]';      -- nodes whose id and type are valid
    starts  text[];
    reached text[];
    loopy   text[];
    before  integer;
    cur     text;
    path    text[];
BEGIN
    IF graph IS NULL OR jsonb_typeof(graph) <> 'object' OR jsonb_typeof(graph->'nodes') <> 'array' THEN
        RETURN jsonb_build_array(cc.flow_error(NULL, 'nodes', 'graph.nodes',
            format('the graph is %s; it must be {"nodes": [...]}', cc.flow_show(graph))));
    END IF;
    nodes := graph->'nodes';

    FOR node, i IN SELECT e, o - 1 FROM jsonb_array_elements(nodes) WITH ORDINALITY AS x (e, o) LOOP
        IF jsonb_typeof(node) <> 'object' THEN
            errs := errs || cc.flow_error(NULL, format('nodes[%s]', i), 'node.object',
                format('nodes[%s] is %s, not a node object', i, cc.flow_show(node)));
            CONTINUE;
        END IF;
        IF jsonb_typeof(node->'id') <> 'string' OR node->>'id' !~ '^[A-Za-z0-9_.-]{1,64}$' THEN
            errs := errs || cc.flow_error(NULL, format('nodes[%s].id', i), 'node.id',
                format('nodes[%s].id is %s; a node id is 1 to 64 letters, digits, _ . -', i, cc.flow_show(node->'id')));
            CONTINUE;
        END IF;
        IF node->>'id' = ANY (ids) THEN
            errs := errs || cc.flow_error(node->>'id', 'id', 'node.duplicate_id',
                format('id %s is used by more than one node', node->'id'));
            CONTINUE;
        END IF;
        ids := ids || (node->>'id');
        IF jsonb_typeof(node->'type') <> 'string' OR NOT cc.flow_catalogue() ? (node->>'type') THEN
            errs := errs || cc.flow_error(node->>'id', 'type', 'node.type',
                format('type is %s, not a node type', cc.flow_show(node->'type')));
            CONTINUE;
        END IF;
        good := good || node;
    END LOOP;

    FOR node IN SELECT * FROM jsonb_array_elements(good) LOOP
        errs := errs || cc.flow_check_node(node, ids);
    END LOOP;

    SELECT array_agg(n->>'id') INTO starts FROM jsonb_array_elements(good) AS n WHERE n->>'type' = 'start';
    IF coalesce(cardinality(starts), 0) <> 1 THEN
        errs := errs || cc.flow_error(NULL, 'nodes', 'graph.start',
            format('the graph has %s start nodes; it must have exactly one', coalesce(cardinality(starts), 0)));
    END IF;
    IF jsonb_array_length(errs) > 0 THEN
        -- the paths are checked once every node is sound: a broken
        -- connection would make half the graph look unreachable
        RETURN errs;
    END IF;

    -- every node reachable from the start
    WITH RECURSIVE edge AS (
        SELECT n->>'id' AS src, t.target FROM jsonb_array_elements(good) AS n, cc.flow_node_targets(n) AS t
    ), r (id) AS (
        SELECT starts[1]
        UNION
        SELECT e.target FROM edge AS e JOIN r ON e.src = r.id
    )
    SELECT array_agg(id) INTO reached FROM r;
    errs := errs || coalesce((
        SELECT jsonb_agg(cc.flow_error(x, 'id', 'graph.unreachable',
                   format('node %s cannot be reached from the start node %s', to_jsonb(x), to_jsonb(starts[1]))) ORDER BY o)
          FROM unnest(ids) WITH ORDINALITY AS u (x, o)
         WHERE x <> ALL (reached)), '[]');

    -- loops: among the nodes that neither wait for the caller nor have a
    -- max_visits, peel off those without a way in or out; what is left
    -- contains a loop with no bound.
    SELECT array_agg(n->>'id') INTO loopy FROM jsonb_array_elements(good) AS n
     WHERE cc.flow_catalogue() #>> ARRAY[n->>'type', 'role'] <> 'input'
       AND NOT coalesce(n->'properties', '{}') ? 'max_visits';
    loopy := coalesce(loopy, '{}');
    LOOP
        before := cardinality(loopy);
        SELECT coalesce(array_agg(x), '{}') INTO loopy FROM unnest(loopy) AS x
         WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(good) AS n, cc.flow_node_targets(n) AS t
                        WHERE n->>'id' = ANY (loopy) AND t.target = x)
           AND EXISTS (SELECT 1 FROM jsonb_array_elements(good) AS n, cc.flow_node_targets(n) AS t
                        WHERE n->>'id' = x AND t.target = ANY (loopy));
        EXIT WHEN cardinality(loopy) = before;
    END LOOP;
    IF cardinality(loopy) > 0 THEN
        -- walk from the first such node until a node repeats: that is a loop
        cur := (SELECT min(x) FROM unnest(loopy) AS x);
        path := '{}';
        WHILE NOT cur = ANY (path) LOOP
            path := path || cur;
            SELECT min(t.target) INTO cur FROM jsonb_array_elements(good) AS n, cc.flow_node_targets(n) AS t
             WHERE n->>'id' = cur AND t.target = ANY (loopy);
        END LOOP;
        path := path[array_position(path, cur):] || cur;
        errs := errs || cc.flow_error(cur, 'connections', 'graph.unbounded_loop',
            format('the loop %s has no bound: nothing in it waits for the caller or has max_visits',
                   array_to_string(path, ' -> ')));
    END IF;
    RETURN errs;
END;
$$;
COMMENT ON FUNCTION cc.flow_validate(jsonb) IS
    'Every problem of a flow graph (the paths, reachability and loops, are checked once the nodes are sound), as a JSON array of {"node", "property", "rule", "message", "hint"} (empty: the graph is valid). Rules: cc.flow_validation_rules().';

CREATE FUNCTION cc.flow_check(graph jsonb, what text DEFAULT 'flow graph') RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    errs jsonb := cc.flow_validate(graph);
    e    jsonb := errs->0;
BEGIN
    IF e IS NOT NULL THEN
        RAISE EXCEPTION 'cc: %: %', what,
            CASE WHEN e->>'node' IS NULL THEN '' ELSE format('node %s: ', e->'node') END || (e->>'message')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Rule %s; %s error(s) in all (cc.flow_validate(graph) lists them).',
                                  e->>'rule', jsonb_array_length(errs)),
                  HINT = e->>'hint';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.flow_check(jsonb, text) IS
    'Raises the first validation error of a graph (naming the node id and the property, with the rule''s hint), or returns quietly if the graph is valid.';
