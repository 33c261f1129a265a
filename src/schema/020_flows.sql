-- 020_flows.sql: IVR flows and their versions.
--
-- A flow is a graph of nodes (JSONB) kept in versions: MAIN by default,
-- others based on one another with a remark.  Numbers bind to a flow and a
-- version (035_numbers.sql); a call keeps the version it started on
-- (cc.calls.flow_version_id).  A graph is validated whenever it is saved
-- (cc.flow_check, 102_flow_validation.sql); a published version never
-- changes, and a version in use is never deleted (cc.flow_versions_guard).
-- The console's API around versions is in 108_flow_versions.sql, the
-- interpreter in 100-107, the simulation in 109; docs/flows.md.

CREATE TABLE cc.flows (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text        NOT NULL UNIQUE,
    kind         text        NOT NULL DEFAULT 'inbound',
    description  text,
    callback_url text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flows_name_not_blank
        CHECK (btrim(name) <> ''),
    CONSTRAINT flows_kind_in_inbound_self_service_auto_outbound_outbound
        CHECK (kind IN ('inbound', 'self_service', 'auto_outbound', 'outbound')),
    CONSTRAINT flows_callback_url_http_or_https
        CHECK (callback_url ~ '^https?://[^[:space:]]+$')
);
COMMENT ON TABLE cc.flows IS 'IVR flows: graphs of nodes that answer callers, kept in versions (cc.flow_versions).';
COMMENT ON COLUMN cc.flows.id IS 'Flow id.';
COMMENT ON COLUMN cc.flows.name IS 'Unique name of the flow.';
COMMENT ON COLUMN cc.flows.kind IS 'inbound, self_service (run mid-call at an agent''s request), auto_outbound (campaigns) or outbound.';
COMMENT ON COLUMN cc.flows.description IS 'What the flow is for, for people.';
COMMENT ON COLUMN cc.flows.callback_url IS 'self_service: http(s) URL the collected values are posted to when the flow returns the caller to the agent.';
COMMENT ON COLUMN cc.flows.created_at IS 'When the flow was created.';
COMMENT ON COLUMN cc.flows.updated_at IS 'When the flow last changed.';
CREATE TRIGGER flows_touch BEFORE UPDATE ON cc.flows FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

CREATE TABLE cc.flow_versions (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    flow_id       uuid        NOT NULL REFERENCES cc.flows (id) ON DELETE CASCADE,
    version       text        NOT NULL DEFAULT 'MAIN',
    based_on_id   uuid        REFERENCES cc.flow_versions (id) ON DELETE SET NULL,
    remark        text,
    graph         jsonb       NOT NULL DEFAULT '{"nodes": []}',
    published     boolean     NOT NULL DEFAULT false,
    published_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (flow_id, version),
    CONSTRAINT flow_versions_version_1_to_40_letters_digits_dot_dash
        CHECK (version ~ '^[A-Za-z0-9_.-]{1,40}$'),
    CONSTRAINT flow_versions_graph_is_a_json_object
        CHECK (jsonb_typeof(graph) = 'object'),
    CONSTRAINT flow_versions_published_needs_published_at
        CHECK (NOT published OR published_at IS NOT NULL),
    CONSTRAINT flow_versions_not_based_on_itself
        CHECK (based_on_id <> id)
);
COMMENT ON TABLE cc.flow_versions IS 'Versions of a flow: MAIN by default, others based on another version with a remark; numbers bind to one.';
COMMENT ON COLUMN cc.flow_versions.id IS 'Flow version id (calls keep it for their whole life).';
COMMENT ON COLUMN cc.flow_versions.flow_id IS 'Flow this is a version of.';
COMMENT ON COLUMN cc.flow_versions.version IS 'Version name, unique within the flow: 1 to 40 letters, digits, _ . - (MAIN by default).';
COMMENT ON COLUMN cc.flow_versions.based_on_id IS 'Version this one was copied from.';
COMMENT ON COLUMN cc.flow_versions.remark IS 'Why this version exists, for people.';
COMMENT ON COLUMN cc.flow_versions.graph IS 'The flow''s graph: {"nodes": [{"id", "type", "label", "properties", "connections"}]}, validated when saved (cc.flow_validate; docs/flows.md). {"nodes": []} is a blank draft.';
COMMENT ON COLUMN cc.flow_versions.published IS 'Published versions can be bound to numbers and run calls; drafts cannot. A published graph never changes.';
COMMENT ON COLUMN cc.flow_versions.published_at IS 'When the version was last published.';
COMMENT ON COLUMN cc.flow_versions.created_at IS 'When the version was created.';
COMMENT ON COLUMN cc.flow_versions.updated_at IS 'When the version last changed.';
CREATE TRIGGER flow_versions_touch BEFORE UPDATE ON cc.flow_versions FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

CREATE FUNCTION cc.flow_versions_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    r     cc.flow_versions := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    what  text := format('version %s of flow %s', r.version,
                         coalesce((SELECT quote_literal(f.name) FROM cc.flows AS f WHERE f.id = r.flow_id), 'unknown'));
    num   text;
    calls bigint;
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- a version in use stays: numbers bound to it, calls running it
        SELECT n.number INTO num FROM cc.numbers AS n
         WHERE n.inbound_flow_id = OLD.flow_id AND n.inbound_flow_version = OLD.version LIMIT 1;
        SELECT count(*) INTO calls FROM cc.calls AS c WHERE c.flow_version_id = OLD.id AND c.state <> 'ended';
    END IF;
    IF TG_OP = 'DELETE' THEN
        IF num IS NOT NULL THEN
            RAISE EXCEPTION 'cc: % is in use: number % is bound to it', what, num
                USING ERRCODE = 'object_in_use',
                      HINT = 'Bind the number to another version first (cc.number_bind_flow).';
        ELSIF calls > 0 THEN
            RAISE EXCEPTION 'cc: % is in use: % call(s) in progress run it', what, calls
                USING ERRCODE = 'object_in_use',
                      HINT = 'Wait until those calls have ended.';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.published THEN
        IF NEW.graph IS DISTINCT FROM OLD.graph THEN
            RAISE EXCEPTION 'cc: % is published: its graph cannot change', what
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Create a version based on it (cc.flow_version_create), change and publish that, then bind the number to it.';
        END IF;
        IF NOT NEW.published AND (num IS NOT NULL OR calls > 0) THEN
            RAISE EXCEPTION 'cc: % cannot go back to draft: %', what,
                CASE WHEN num IS NOT NULL THEN format('number %s is bound to it', num)
                     ELSE format('%s call(s) in progress run it', calls) END
                USING ERRCODE = 'object_in_use',
                      HINT = 'Bind the number to another version first (cc.number_bind_flow) and let its calls end.';
        END IF;
        RETURN NEW;
    END IF;
    IF jsonb_typeof(NEW.graph) <> 'object' THEN
        RETURN NEW;     -- flow_versions_graph_is_a_json_object says what is wrong
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.graph = OLD.graph AND NEW.published = OLD.published THEN
        RETURN NEW;     -- remark, name, times: nothing to validate
    END IF;
    IF NOT NEW.published AND NEW.graph = '{"nodes": []}' THEN
        RETURN NEW;     -- a blank draft, just created
    END IF;
    PERFORM cc.flow_check(NEW.graph, what);
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION cc.flow_versions_guard() IS
    'Trigger: validates a graph when it is saved (a blank draft {"nodes": []} excepted), keeps published graphs unchanged, and refuses to delete or unpublish a version bound to a number or run by calls in progress.';
CREATE TRIGGER flow_versions_guard BEFORE INSERT OR UPDATE OR DELETE ON cc.flow_versions
    FOR EACH ROW EXECUTE FUNCTION cc.flow_versions_guard();
