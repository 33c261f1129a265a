-- demo_seed.sql: the demo contact center that scripts/run.sh loads (through
-- scripts/demo.py) and that test/e2e/test_call_control_demo.py checks.
--
--   a peering trunk for 127.0.0.1 (SIP from this machine comes in),
--   the number +15550100 running the flow "Demo menu" (a TTS welcome, then
--   a menu: 1 for sales, 2 for support),
--   two queues, "Demo sales" (agents 1001 and 1002) and "Demo support"
--   (1003 and 1002),
--   three agents, 1001 Ann, 1002 Bob, 1003 Cid, whose phones register with
--   the password "demo" followed by the extension (demo1001, ...).
--
-- Idempotent: run it again and again (psql -1 -f, or one transaction).
-- Rows that exist are kept; the flow gets a new published version only when
-- its graph here changes (the version is named after the graph's digest), and
-- the number is bound to it.

INSERT INTO cc.trunks (name, mode, peer_addresses)
VALUES ('demo local peers', 'peering', '{127.0.0.1/32}')
ON CONFLICT (name) DO NOTHING;

INSERT INTO cc.queues (name) VALUES ('Demo sales'), ('Demo support')
ON CONFLICT (name) DO NOTHING;

INSERT INTO cc.agents (name, extension, sip_ha1)
VALUES ('Ann Demo', '1001', cc.sip_ha1('1001', 'demo1001')),
       ('Bob Demo', '1002', cc.sip_ha1('1002', 'demo1002')),
       ('Cid Demo', '1003', cc.sip_ha1('1003', 'demo1003'))
ON CONFLICT (extension) DO UPDATE SET sip_ha1 = excluded.sip_ha1, enabled = true;

INSERT INTO cc.queue_members (queue_id, agent_id)
SELECT q.id, a.id
  FROM (VALUES ('Demo sales', '1001'), ('Demo sales', '1002'),
               ('Demo support', '1003'), ('Demo support', '1002')) AS m (queue, extension)
  JOIN cc.queues AS q ON q.name = m.queue
  JOIN cc.agents AS a ON a.extension = m.extension
ON CONFLICT (queue_id, agent_id) DO NOTHING;

INSERT INTO cc.numbers (number, direction) VALUES ('+15550100', 'in')
ON CONFLICT (number) DO NOTHING;

DO $$
DECLARE
    sales   uuid := (SELECT id FROM cc.queues WHERE name = 'Demo sales');
    support uuid := (SELECT id FROM cc.queues WHERE name = 'Demo support');
    graph   jsonb;
    flow    uuid;
    ver     text;
BEGIN
    graph := jsonb_build_object('nodes', jsonb_build_array(
        jsonb_build_object('id', 'start', 'type', 'start', 'connections', jsonb_build_object('next', 'welcome')),
        jsonb_build_object('id', 'welcome', 'type', 'play',
            'properties', jsonb_build_object('prompt', jsonb_build_object(
                'tts', 'Welcome to the pg callcenter demo.')),
            'connections', jsonb_build_object('next', 'menu')),
        jsonb_build_object('id', 'menu', 'type', 'menu',
            'properties', jsonb_build_object(
                'prompt', jsonb_build_object('tts', 'For sales, press 1. For support, press 2.'),
                'timeout_s', 10, 'max_errors', 2,
                'branches', jsonb_build_array(
                    jsonb_build_object('key', '1', 'label', 'sales', 'next', 'sales'),
                    jsonb_build_object('key', '2', 'label', 'support', 'next', 'support'))),
            'connections', jsonb_build_object('max_errors', 'bye')),
        jsonb_build_object('id', 'sales', 'type', 'transfer_queue',
            'properties', jsonb_build_object('queue', sales,
                'prompt', jsonb_build_object('tts', 'Connecting you to sales.'))),
        jsonb_build_object('id', 'support', 'type', 'transfer_queue',
            'properties', jsonb_build_object('queue', support,
                'prompt', jsonb_build_object('tts', 'Connecting you to support.'))),
        jsonb_build_object('id', 'bye', 'type', 'end')));

    SELECT f.id INTO flow FROM cc.flows AS f WHERE f.name = 'Demo menu';
    IF flow IS NULL THEN
        flow := cc.flow_create('Demo menu', 'inbound', 'blank', 'The demo of scripts/run.sh (scripts/demo_seed.sql).');
    END IF;
    ver := 'demo-' || left(md5(graph::text), 12);
    IF NOT EXISTS (SELECT 1 FROM cc.flow_versions AS v WHERE v.flow_id = flow AND v.version = ver) THEN
        PERFORM cc.flow_version_create(flow, ver, 'MAIN', 'written by scripts/demo_seed.sql');
        PERFORM cc.flow_version_save(flow, ver, graph);
        PERFORM cc.flow_version_publish(flow, ver);
    END IF;
    PERFORM cc.number_bind_flow('+15550100', flow, ver);
END;
$$;
