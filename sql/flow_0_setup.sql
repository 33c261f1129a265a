-- flow_0_setup: helpers of the flow_* tests (schema regress, made by
-- 00_setup).  The flow tests themselves run inside transactions that they
-- roll back, so the workers of the regression database never see their rows.
--
-- regress.flow(name, nodes): a flow whose draft MAIN version has these nodes.
CREATE FUNCTION regress.flow(name text, nodes jsonb, kind text DEFAULT 'inbound') RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    id uuid := cc.flow_create(name, kind);
BEGIN
    PERFORM cc.flow_version_save(id, 'MAIN', jsonb_build_object('nodes', nodes));
    RETURN id;
END;
$$;
-- regress.sim(flow name, script): the simulation's trace as text, ids masked.
CREATE FUNCTION regress.sim(flow text, script jsonb, version text DEFAULT 'MAIN') RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT regexp_replace(l, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g')
      FROM cc.flow_trace_lines(cc.flow_simulate(flow, version, script)) AS l;
$$;
-- regress.with_node(graph, node): the graph with this node replacing the
-- node of the same id, or added at the end.
CREATE FUNCTION regress.with_node(graph jsonb, node jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('nodes',
        CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(graph->'nodes') AS n WHERE n->>'id' = node->>'id')
             THEN (SELECT jsonb_agg(CASE WHEN n->>'id' = node->>'id' THEN node ELSE n END ORDER BY i)
                     FROM jsonb_array_elements(graph->'nodes') WITH ORDINALITY AS x (n, i))
             ELSE graph->'nodes' || node END);
$$;
-- regress.without_node(graph, id): the graph without that node.
CREATE FUNCTION regress.without_node(graph jsonb, id text) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_object('nodes', coalesce((SELECT jsonb_agg(n ORDER BY i)
        FROM jsonb_array_elements(graph->'nodes') WITH ORDINALITY AS x (n, i) WHERE n->>'id' <> id), '[]'));
$$;
