-- 101_flow_catalogue.sql: the catalogue of flow nodes.
--
-- One JSON document says, for every node type, its properties (type,
-- default, limits), its connections (required or optional) and its role
-- (input nodes wait for the caller, terminal nodes may end a path).  The
-- validator (102) checks graphs against it, the interpreter takes its
-- defaults from it (cc.flow_prop), and docs/flows.md describes it.  The
-- defaults and limits are those of the reference (spec/features.md
-- section 4) where it gives them.

CREATE FUNCTION cc.flow_catalogue() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $catalogue$
SELECT $json$
{
  "start": {
    "role": "plain",
    "connections": {"next": true},
    "properties": {}
  },
  "end": {
    "role": "terminal",
    "connections": {},
    "properties": {
      "prompt": {"type": "prompt"}
    }
  },
  "pause": {
    "role": "plain",
    "connections": {"next": true},
    "properties": {
      "seconds": {"type": "number", "min": 0.1, "max": 300, "default": 1}
    }
  },
  "play": {
    "role": "plain",
    "connections": {"next": true},
    "properties": {
      "prompt":   {"type": "prompt", "required": true},
      "count":    {"type": "integer", "min": 1, "max": 10, "default": 1},
      "barge_in": {"type": "boolean", "default": false}
    }
  },
  "menu": {
    "role": "input",
    "connections": {"max_errors": false},
    "properties": {
      "prompt":            {"type": "prompt", "required": true},
      "timeout_prompt":    {"type": "prompt"},
      "invalid_prompt":    {"type": "prompt"},
      "max_errors":        {"type": "integer", "min": 1, "max": 10, "default": 3},
      "timeout_s":         {"type": "number", "min": 1, "max": 120, "default": 60},
      "barge_in":          {"type": "boolean", "default": true},
      "branches":          {"type": "array", "min": 0, "max": 12, "items": {
                              "key":   {"type": "key", "required": true, "unique": true},
                              "label": {"type": "string", "max": 100},
                              "next":  {"type": "node", "required": true}}},
      "branches_variable": {"type": "variable_ref"},
      "dynamic_next":      {"type": "nodes", "min": 1, "max": 50}
    }
  },
  "speech_menu": {
    "role": "input",
    "connections": {"max_errors": false},
    "properties": {
      "prompt":         {"type": "prompt", "required": true},
      "timeout_prompt": {"type": "prompt"},
      "error_prompt":   {"type": "prompt"},
      "retries":        {"type": "integer", "min": 1, "max": 10, "default": 3},
      "timeout_s":      {"type": "number", "min": 1, "max": 120, "default": 60},
      "barge_in":       {"type": "boolean", "default": true},
      "branches":       {"type": "array", "min": 1, "max": 12, "items": {
                           "keywords": {"type": "strings", "min": 1, "max": 20, "item_max": 20, "required": true},
                           "key":      {"type": "key", "required": true, "unique": true},
                           "label":    {"type": "string", "max": 100},
                           "next":     {"type": "node", "required": true}}}
    }
  },
  "collect": {
    "role": "input",
    "connections": {"next": true, "max_errors": false},
    "properties": {
      "prompt":                {"type": "prompt", "required": true},
      "timeout_prompt":        {"type": "prompt"},
      "failure_prompt":        {"type": "prompt"},
      "max_errors":            {"type": "integer", "min": 1, "max": 10, "default": 3},
      "timeout_s":             {"type": "number", "min": 1, "max": 120, "default": 30},
      "variable":              {"type": "variable", "required": true},
      "mode":                  {"type": "enum", "values": ["max_length", "fixed_length"], "default": "max_length"},
      "max_digits":            {"type": "integer", "min": 1, "max": 100, "default": 20},
      "min_digits":            {"type": "integer", "min": 1, "max": 100, "default": 1},
      "termination_key":       {"type": "key", "default": "#"},
      "inter_digit_timeout_s": {"type": "number", "min": 1, "max": 100, "default": 5},
      "barge_in":              {"type": "boolean", "default": true}
    }
  },
  "http": {
    "role": "plain",
    "connections": {"next": true, "failure": false},
    "properties": {
      "url":        {"type": "url", "required": true},
      "method":     {"type": "enum", "values": ["GET", "POST"], "default": "POST"},
      "headers":    {"type": "headers"},
      "request":    {"type": "fields"},
      "timeout_s":  {"type": "number", "min": 1, "max": 60, "default": 3},
      "max_errors": {"type": "integer", "min": 1, "max": 5, "default": 2},
      "response":   {"type": "array", "min": 0, "max": 50, "items": {
                       "field":    {"type": "path", "required": true},
                       "variable": {"type": "variable", "required": true},
                       "default":  {"type": "any"}}}
    }
  },
  "condition": {
    "role": "plain",
    "connections": {"default": true},
    "properties": {
      "branches": {"type": "array", "min": 1, "max": 20, "required": true, "items": {
                     "label":      {"type": "string", "max": 100},
                     "conditions": {"type": "array", "min": 1, "max": 10, "required": true, "items": {
                                      "variable": {"type": "variable_ref", "required": true},
                                      "op":       {"type": "enum", "values": ["=", "!=", ">", "<", ">=", "<="], "required": true},
                                      "value":    {"type": "text", "max": 1000, "default": ""}}},
                     "next":       {"type": "node", "required": true}}}
    }
  },
  "service_hours": {
    "role": "plain",
    "connections": {"in_hours": true, "out_of_hours": false},
    "properties": {
      "mode":         {"type": "enum", "values": ["off", "standard", "custom"], "default": "standard"},
      "time_zone":    {"type": "time_zone", "default": "UTC"},
      "days":         {"type": "days", "default": [1, 2, 3, 4, 5]},
      "slots":        {"type": "slots", "default": "all_day"},
      "schedule_id":  {"type": "ref", "table": "schedules"},
      "weekly_slots": {"type": "array", "min": 1, "max": 50, "items": {
                         "days": {"type": "days", "required": true},
                         "from": {"type": "time", "required": true},
                         "to":   {"type": "time", "required": true}}},
      "closed_dates": {"type": "dates", "max": 366}
    }
  },
  "transfer_queue": {
    "role": "terminal",
    "connections": {"next": false, "failure": false, "agent_hangup": false, "timeout": false,
                    "exited_with_key": false, "no_agent": false, "full": false},
    "properties": {
      "queue":                {"type": "ref", "table": "queues", "required": true},
      "overflow_queue":       {"type": "ref", "table": "queues"},
      "preferred_agents_url": {"type": "url"},
      "prompt":               {"type": "prompt"}
    }
  },
  "transfer_external": {
    "role": "terminal",
    "connections": {"next": false, "failure": false},
    "properties": {
      "number":         {"type": "destination", "required": true},
      "trunk":          {"type": "ref", "table": "trunks"},
      "caller_id":      {"type": "caller_id"},
      "prompt":         {"type": "prompt"},
      "wait_audio":     {"type": "prompt"},
      "ring_timeout_s": {"type": "integer", "min": 5, "max": 120, "default": 60},
      "failure_prompt": {"type": "prompt"}
    }
  },
  "transfer_extension": {
    "role": "input",
    "connections": {"next": false, "failure": false, "max_errors": false},
    "properties": {
      "prompt":           {"type": "prompt", "required": true},
      "timeout_prompt":   {"type": "prompt"},
      "invalid_prompt":   {"type": "prompt"},
      "failure_prompt":   {"type": "prompt"},
      "extension_length": {"type": "integer", "min": 1, "max": 10, "default": 4},
      "timeout_s":        {"type": "number", "min": 1, "max": 60, "default": 10},
      "max_errors":       {"type": "integer", "min": 1, "max": 10, "default": 3},
      "ring_timeout_s":   {"type": "integer", "min": 5, "max": 120, "default": 30}
    }
  },
  "voicemail": {
    "role": "terminal",
    "connections": {"next": false},
    "properties": {
      "prompt":          {"type": "prompt"},
      "beep":            {"type": "boolean", "default": true},
      "max_duration_s":  {"type": "integer", "min": 5, "max": 600, "default": 120},
      "termination_key": {"type": "key", "default": "#"},
      "end_prompt":      {"type": "prompt"}
    }
  },
  "survey": {
    "role": "input",
    "connections": {"next": true, "max_errors": false},
    "properties": {
      "prompt":         {"type": "prompt", "required": true},
      "timeout_prompt": {"type": "prompt"},
      "invalid_prompt": {"type": "prompt"},
      "thanks_prompt":  {"type": "prompt"},
      "options":        {"type": "array", "min": 1, "max": 12, "required": true, "items": {
                           "key":   {"type": "key", "required": true, "unique": true},
                           "label": {"type": "string", "max": 100, "required": true}}},
      "key_variable":   {"type": "variable"},
      "label_variable": {"type": "variable"},
      "timeout_s":      {"type": "number", "min": 1, "max": 120, "default": 10},
      "max_errors":     {"type": "integer", "min": 1, "max": 10, "default": 3}
    }
  },
  "set_variable": {
    "role": "plain",
    "connections": {"next": true},
    "properties": {
      "assignments": {"type": "array", "min": 1, "max": 50, "items": {
                        "variable": {"type": "variable", "required": true},
                        "value":    {"type": "any", "required": true}}},
      "custom_data": {"type": "object"}
    }
  },
  "bot": {
    "role": "input",
    "connections": {"next": false, "failure": false},
    "properties": {
      "url":                {"type": "url", "required": true},
      "headers":            {"type": "headers"},
      "timeout_s":          {"type": "number", "min": 1, "max": 30, "default": 5},
      "max_errors":         {"type": "integer", "min": 1, "max": 5, "default": 2},
      "max_turns":          {"type": "integer", "min": 1, "max": 500, "default": 100},
      "no_input_timeout_s": {"type": "number", "min": 1, "max": 60, "default": 7},
      "welcome_text":       {"type": "text", "max": 600, "default": ""},
      "termination_key":    {"type": "key", "default": "#"},
      "max_digits":         {"type": "integer", "min": 1, "max": 100, "default": 20}
    }
  }
}
$json$::jsonb
$catalogue$;
COMMENT ON FUNCTION cc.flow_catalogue() IS
    'The node catalogue: for each node type its role (plain, input, terminal), connections (true = required) and properties (type, default, limits). Used by cc.flow_validate, cc.flow_prop and docs/flows.md.';

-- Every node may also carry properties.max_visits (1 to 1000): entered more
-- often than that in one call, it goes to connections.max_visits (or the
-- call is hung up).  That is how a loop without a caller in it gets a bound.
CREATE FUNCTION cc.flow_common_properties() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT '{"max_visits": {"type": "integer", "min": 1, "max": 1000}}'::jsonb $$;
COMMENT ON FUNCTION cc.flow_common_properties() IS
    'Properties every node type accepts: max_visits (1 to 1000; beyond it the node follows connections.max_visits, or the call hangs up).';

CREATE FUNCTION cc.flow_prop(node jsonb, name text) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(nullif(node #> ARRAY['properties', name], 'null'::jsonb),
                    cc.flow_catalogue() #> ARRAY[node->>'type', 'properties', name, 'default']);
$$;
COMMENT ON FUNCTION cc.flow_prop(jsonb, text) IS
    'A property of a node, or its default from the catalogue (NULL when neither).';

CREATE FUNCTION cc.flow_reserved_variables() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY['WaitNo', 'StaffNo', 'SystemCallerNumber', 'SystemCalleeNumber', 'SystemSessionId',
                 'SystemCallRingDuration', 'SystemCallAcceptDuration']
$$;
COMMENT ON FUNCTION cc.flow_reserved_variables() IS
    'The system variables (spec/features.md section 4): readable in ${...} and conditions, never assigned by a flow.';

CREATE FUNCTION cc.flow_node_targets(node jsonb) RETURNS TABLE (via text, target text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- connections.NAME
    SELECT 'connections.' || c.key, c.value #>> '{}'
      FROM jsonb_each(CASE WHEN jsonb_typeof(node->'connections') = 'object' THEN node->'connections' ELSE '{}' END) AS c
     WHERE jsonb_typeof(c.value) = 'string'
    UNION ALL
    -- properties.branches[i].next (menu, speech menu, condition)
    SELECT format('properties.branches[%s].next', b.i - 1), b.v->>'next'
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(node #> '{properties,branches}') = 'array'
                                     THEN node #> '{properties,branches}' ELSE '[]' END) WITH ORDINALITY AS b (v, i)
     WHERE jsonb_typeof(b.v) = 'object' AND jsonb_typeof(b.v->'next') = 'string'
    UNION ALL
    -- properties.dynamic_next[i] (menu with dynamic branches)
    SELECT format('properties.dynamic_next[%s]', d.i - 1), d.v #>> '{}'
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(node #> '{properties,dynamic_next}') = 'array'
                                     THEN node #> '{properties,dynamic_next}' ELSE '[]' END) WITH ORDINALITY AS d (v, i)
     WHERE jsonb_typeof(d.v) = 'string';
$$;
COMMENT ON FUNCTION cc.flow_node_targets(jsonb) IS
    'The nodes a node may lead to, each with the place that names it (connections.next, properties.branches[0].next, ...): the edges of the graph.';
