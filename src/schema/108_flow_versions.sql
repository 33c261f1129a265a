-- 108_flow_versions.sql: the SQL API a console needs around flows and
-- their versions.
--
-- A flow starts with a draft MAIN version made from a template (blank,
-- menu, call_forwarding).  A version is created based on another with a
-- remark, edited while it is a draft, published (validated, then frozen),
-- copied (to the same or another flow), exported, deleted while it is a
-- draft that nothing uses.  A number binds to a published version of an
-- inbound flow; calls keep the version they started on, so a new version
-- changes nothing until a number is bound to it.

CREATE FUNCTION cc.flow_template(name text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    CASE name
    WHEN 'blank' THEN
        RETURN '{"nodes": [
            {"id": "start", "type": "start", "label": "Start", "connections": {"next": "end"}},
            {"id": "end", "type": "end", "label": "End"}]}';
    WHEN 'menu' THEN
        RETURN '{"nodes": [
            {"id": "start", "type": "start", "label": "Start", "connections": {"next": "welcome"}},
            {"id": "welcome", "type": "play", "label": "Welcome",
             "properties": {"prompt": {"tts": "Welcome."}}, "connections": {"next": "menu"}},
            {"id": "menu", "type": "menu", "label": "Main menu",
             "properties": {"prompt": {"tts": "For sales, press 1. For support, press 2."},
                            "timeout_prompt": {"tts": "We did not hear a key."},
                            "invalid_prompt": {"tts": "That key is not in the menu."},
                            "branches": [{"key": "1", "label": "Sales", "next": "sales"},
                                         {"key": "2", "label": "Support", "next": "support"}]},
             "connections": {"max_errors": "goodbye"}},
            {"id": "sales", "type": "play", "label": "Sales",
             "properties": {"prompt": {"tts": "You chose sales."}}, "connections": {"next": "goodbye"}},
            {"id": "support", "type": "play", "label": "Support",
             "properties": {"prompt": {"tts": "You chose support."}}, "connections": {"next": "goodbye"}},
            {"id": "goodbye", "type": "end", "label": "Goodbye", "properties": {"prompt": {"tts": "Goodbye."}}}]}';
    WHEN 'call_forwarding' THEN
        RETURN '{"nodes": [
            {"id": "start", "type": "start", "label": "Start", "connections": {"next": "forward"}},
            {"id": "forward", "type": "transfer_external", "label": "Forward",
             "properties": {"number": "10000", "prompt": {"tts": "Please hold while we connect you."}},
             "connections": {"failure": "sorry"}},
            {"id": "sorry", "type": "end", "label": "Not reachable",
             "properties": {"prompt": {"tts": "Sorry, nobody can take your call now. Goodbye."}}}]}';
    ELSE
        RAISE EXCEPTION 'cc: there is no flow template %', quote_literal(name)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Templates: blank, menu, call_forwarding.';
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.flow_template(text) IS
    'A starting graph: blank (start, end), menu (welcome, a two-key menu, goodbye) or call_forwarding (a transfer to an external number to edit).';

CREATE FUNCTION cc.flow_version_get(flow uuid, version text) RETURNS cc.flow_versions
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f cc.flows;
    v cc.flow_versions;
BEGIN
    SELECT * INTO f FROM cc.flows WHERE id = flow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: flow % does not exist', flow USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO v FROM cc.flow_versions AS x WHERE x.flow_id = flow AND x.version = flow_version_get.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: flow % has no version %', quote_literal(f.name), quote_literal(version)
            USING ERRCODE = 'no_data_found',
                  HINT = format('Its versions: %s.', coalesce((SELECT string_agg(x.version, ', ' ORDER BY x.created_at)
                                                                 FROM cc.flow_versions AS x WHERE x.flow_id = flow), 'none'));
    END IF;
    RETURN v;
END;
$$;
COMMENT ON FUNCTION cc.flow_version_get(uuid, text) IS 'A version of a flow by name; a clear error (listing its versions) if there is none.';

CREATE FUNCTION cc.flow_check_version_name(version text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF version IS NULL OR version !~ '^[A-Za-z0-9_.-]{1,40}$' THEN
        RAISE EXCEPTION 'cc: % is not a version name', coalesce(quote_literal(version), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A version name is 1 to 40 letters, digits, _ . or -.';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.flow_check_version_name(text) IS 'Raises a clear error unless a version name is 1 to 40 letters, digits, _ . -.';

CREATE FUNCTION cc.flow_create(name text, kind text DEFAULT 'inbound', template text DEFAULT 'blank',
                               description text DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    graph jsonb := cc.flow_template(template);
    id    uuid;
BEGIN
    IF kind IS NULL OR kind NOT IN ('inbound', 'self_service', 'auto_outbound', 'outbound') THEN
        RAISE EXCEPTION 'cc: % is not a flow kind', coalesce(quote_literal(kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Kinds: inbound, self_service, auto_outbound, outbound.';
    END IF;
    IF EXISTS (SELECT 1 FROM cc.flows AS f WHERE f.name = flow_create.name) THEN
        RAISE EXCEPTION 'cc: a flow named % exists already', quote_literal(name)
            USING ERRCODE = 'unique_violation';
    END IF;
    INSERT INTO cc.flows (name, kind, description) VALUES (name, kind, description) RETURNING flows.id INTO id;
    INSERT INTO cc.flow_versions (flow_id, version, remark, graph)
    VALUES (id, 'MAIN', 'from template ' || template, graph);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.flow_create(text, text, text, text) IS
    'Creates a flow (kind inbound, self_service, auto_outbound or outbound) with a draft MAIN version made from a template (blank, menu, call_forwarding); returns the flow id.';

CREATE FUNCTION cc.flow_version_create(flow uuid, version text, based_on text DEFAULT 'MAIN', remark text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    base cc.flow_versions := cc.flow_version_get(flow, based_on);
    id   uuid;
BEGIN
    PERFORM cc.flow_check_version_name(version);
    IF EXISTS (SELECT 1 FROM cc.flow_versions AS x WHERE x.flow_id = flow AND x.version = flow_version_create.version) THEN
        RAISE EXCEPTION 'cc: the flow has a version % already', quote_literal(version)
            USING ERRCODE = 'unique_violation',
                  HINT = 'Choose another name, or edit that version if it is a draft (cc.flow_version_save).';
    END IF;
    INSERT INTO cc.flow_versions (flow_id, version, based_on_id, remark, graph)
    VALUES (flow, version, base.id, remark, base.graph)
    RETURNING flow_versions.id INTO id;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.flow_version_create(uuid, text, text, text) IS
    'Creates a draft version of a flow based on another one (MAIN by default), with a remark; returns its id.';

CREATE FUNCTION cc.flow_version_save(flow uuid, version text, graph jsonb) RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v cc.flow_versions := cc.flow_version_get(flow, version);
BEGIN
    IF v.published THEN
        RAISE EXCEPTION 'cc: version % is published: its graph cannot change', quote_literal(version)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Create a version based on it (cc.flow_version_create), save and publish that, then bind the number to it.';
    END IF;
    UPDATE cc.flow_versions SET graph = flow_version_save.graph WHERE id = v.id;
    RETURN now();
END;
$$;
COMMENT ON FUNCTION cc.flow_version_save(uuid, text, jsonb) IS
    'Saves the graph of a draft version (validated: a clear error names the node and the property); returns when.';

CREATE FUNCTION cc.flow_version_publish(flow uuid, version text) RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v cc.flow_versions := cc.flow_version_get(flow, version);
BEGIN
    IF v.published THEN
        RETURN v.published_at;
    END IF;
    PERFORM cc.flow_check(v.graph, format('version %s', v.version));
    UPDATE cc.flow_versions SET published = true, published_at = now() WHERE id = v.id;
    RETURN now();
END;
$$;
COMMENT ON FUNCTION cc.flow_version_publish(uuid, text) IS
    'Publishes a version: its graph is validated (a blank graph cannot be published) and frozen; it may then run calls and be bound to numbers. Returns when it was published.';

CREATE FUNCTION cc.flow_version_copy(flow uuid, version text, new_version text, to_flow uuid DEFAULT NULL,
                                     remark text DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v      cc.flow_versions := cc.flow_version_get(flow, version);
    target uuid := coalesce(to_flow, flow);
    id     uuid;
BEGIN
    PERFORM cc.flow_check_version_name(new_version);
    IF NOT EXISTS (SELECT 1 FROM cc.flows AS f WHERE f.id = target) THEN
        RAISE EXCEPTION 'cc: flow % does not exist', target USING ERRCODE = 'no_data_found';
    END IF;
    IF EXISTS (SELECT 1 FROM cc.flow_versions AS x WHERE x.flow_id = target AND x.version = new_version) THEN
        RAISE EXCEPTION 'cc: the flow has a version % already', quote_literal(new_version)
            USING ERRCODE = 'unique_violation', HINT = 'Choose another name.';
    END IF;
    INSERT INTO cc.flow_versions (flow_id, version, based_on_id, remark, graph)
    VALUES (target, new_version, v.id,
            coalesce(remark, format('copy of %s of flow %s', v.version, (SELECT f.name FROM cc.flows AS f WHERE f.id = flow))),
            v.graph)
    RETURNING flow_versions.id INTO id;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.flow_version_copy(uuid, text, text, uuid, text) IS
    'Copies a version as a new draft named new_version, in the same flow or in to_flow; returns its id.';

CREATE FUNCTION cc.flow_version_delete(flow uuid, version text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v cc.flow_versions := cc.flow_version_get(flow, version);
BEGIN
    IF v.published THEN
        RAISE EXCEPTION 'cc: version % is published; only drafts can be deleted', quote_literal(version)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Published versions stay: calls and records refer to them.';
    END IF;
    DELETE FROM cc.flow_versions WHERE id = v.id;     -- cc.flow_versions_guard refuses a version in use
END;
$$;
COMMENT ON FUNCTION cc.flow_version_delete(uuid, text) IS
    'Deletes a draft version; refuses a published one, one a number is bound to, or one calls in progress run.';

CREATE FUNCTION cc.flow_version_export(flow uuid, version text) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'flow', f.name, 'kind', f.kind, 'description', f.description, 'version', v.version,
               'based_on', (SELECT b.version FROM cc.flow_versions AS b WHERE b.id = v.based_on_id),
               'remark', v.remark, 'published', v.published, 'published_at', v.published_at,
               'updated_at', v.updated_at, 'graph', v.graph))
      FROM cc.flow_version_get($1, $2) AS v JOIN cc.flows AS f ON f.id = v.flow_id;
$$;
COMMENT ON FUNCTION cc.flow_version_export(uuid, text) IS
    'A version as one JSON document (flow, kind, version, based_on, remark, published, graph): the console''s download.';

CREATE FUNCTION cc.number_bind_flow(number text, flow uuid, version text DEFAULT 'MAIN') RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    n cc.numbers;
    f cc.flows;
    v cc.flow_versions := cc.flow_version_get(flow, version);
BEGIN
    SELECT * INTO n FROM cc.numbers AS x WHERE x.number = number_bind_flow.number;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: % is not one of our numbers', quote_literal(number)
            USING ERRCODE = 'no_data_found', HINT = 'Numbers are rows of cc.numbers.';
    END IF;
    SELECT * INTO f FROM cc.flows WHERE id = flow;
    IF f.kind <> 'inbound' THEN
        RAISE EXCEPTION 'cc: flow % is a % flow; a number runs an inbound flow', quote_literal(f.name), f.kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF n.direction = 'out' THEN
        RAISE EXCEPTION 'cc: number % takes no inbound calls (direction out)', n.number
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Set its direction to in or both first.';
    END IF;
    IF NOT v.published THEN
        RAISE EXCEPTION 'cc: version % of flow % is a draft; only a published version can be bound to a number',
                        quote_literal(version), quote_literal(f.name)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Publish it first (cc.flow_version_publish).';
    END IF;
    UPDATE cc.numbers SET inbound_flow_id = flow, inbound_flow_version = version WHERE id = n.id;
END;
$$;
COMMENT ON FUNCTION cc.number_bind_flow(text, uuid, text) IS
    'Binds a number to a published version of an inbound flow: new calls to it run that version, calls in progress keep theirs.';
