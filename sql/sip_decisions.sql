-- sip_decisions: the SIP decisions of cc sip in SQL (085_sip.sql,
-- 086_call_control.sql).  All inside a transaction that rolls back, so
-- the running cc sip never sees these rows.
\set VERBOSITY terse
BEGIN;
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('peer', 'peering', ARRAY['192.0.2.0/24']::cidr[]);
INSERT INTO cc.trunks (name, mode, username, sip_ha1) VALUES ('gw', 'register_in', 'gw1', cc.sip_ha1('gw1', 'pw'));
INSERT INTO cc.agents (name, extension, sip_ha1) VALUES ('Ann', '1001', cc.sip_ha1('1001', 'secret'));
INSERT INTO cc.numbers (number, max_concurrent_calls) VALUES ('5550001', 1);
INSERT INTO cc.numbers (number, direction) VALUES ('5550002', 'out');
INSERT INTO cc.blacklisted_numbers (number) VALUES ('+4915550666');
CREATE FUNCTION pg_temp.invite(num text, caller text, ip text, auth jsonb DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((r->>'status') || ' ' || (r->>'reason'), 'accepted')
           || coalesce(' (' || (SELECT string_agg(k, ', ') FROM jsonb_object_keys(r->'headers') AS k) || ')', '')
      FROM cc.call_arrived(jsonb_strip_nulls(jsonb_build_object('method', 'INVITE', 'request_uri', 'sip:' || num || '@cc',
            'from', jsonb_build_object('user', caller, 'uri', 'sip:' || caller || '@x'),
            'source', jsonb_build_object('ip', ip, 'port', 5060), 'authorization', auth))) AS r
$$;

-- Who may call: a peering trunk by address (a CIDR of its list) is let in.
SELECT pg_temp.invite('5550001', '4915550100', '192.0.2.77') AS peering;
SELECT direction, trunk_id IS NOT NULL AS has_trunk, state FROM cc.calls;
-- A second call while the first lasts breaks max_concurrent_calls: 503 with Retry-After.
SELECT pg_temp.invite('5550001', '4915550101', '192.0.2.77') AS over_the_limit;
SELECT data->>'refusal' AS refusal FROM cc.events WHERE type = 'call.refused';
-- A stranger gets 403 and is counted; one claiming an account is challenged (407).
SELECT pg_temp.invite('5550001', '4915550100', '198.51.100.9') AS stranger;
SELECT failures FROM cc.sip_auth_failures WHERE address = '198.51.100.9';
SELECT pg_temp.invite('5550001', '1001', '198.51.100.10') AS agent_without_credentials;
SELECT pg_temp.invite('5550001', 'gw1', '198.51.100.11') AS gateway_without_credentials;
-- Wrong digest: 403, counted.
SELECT pg_temp.invite('5550001', '1001', '198.51.100.10',
       jsonb_build_object('scheme', 'Digest', 'username', '1001', 'realm', cc.sip_realm(),
                          'nonce', cc.sip_nonce(), 'uri', 'sip:5550001@cc', 'response', 'bad')) AS wrong_digest;
-- Unknown numbers (and numbers not for inbound calls): 404; blacklisted callers: 603.
SELECT pg_temp.invite('5559999', '4915550100', '192.0.2.77') AS unknown_number;
SELECT pg_temp.invite('5550002', '4915550100', '192.0.2.77') AS outbound_only_number;
UPDATE cc.numbers SET max_concurrent_calls = 0 WHERE number = '5550001';
SELECT pg_temp.invite('5550001', '4915550666', '192.0.2.77') AS blacklisted;
SELECT cc.caller_blacklisted('4915550666') AS without_plus, cc.caller_blacklisted('4915550667') AS other;
-- A pickup code needs an authenticated agent.
SELECT pg_temp.invite('*12', '4915550100', '192.0.2.77') AS pickup_from_trunk;
-- Five failures block the address: then 403 before anything else.
SELECT cc.sip_auth_failed('198.51.100.9') FROM generate_series(1, 4);
SELECT cc.sip_address_blocked('198.51.100.9') AS blocked;
SELECT pg_temp.invite('5550001', '1001', '198.51.100.9') AS blocked_address;

-- Causes from SIP codes.
SELECT code, cc.leg_cause(jsonb_build_object('type', 'failed', 'code', code)) AS cause
  FROM unnest(ARRAY[486, 600, 480, 408, 603, 404, 487, 488, 503, 302]) AS code;
SELECT cc.leg_cause('{"type": "failed", "code": 487, "cause": "no_answer"}') AS explicit_cause,
       cc.leg_cause('{"type": "ended"}') AS ended;

-- Trunk status: only the four words.
SELECT cc.trunk_set_status((SELECT id FROM cc.trunks WHERE name = 'gw'), 'registered', 'test') AS changed,
       cc.trunk_set_status((SELECT id FROM cc.trunks WHERE name = 'gw'), 'registered', 'test') AS again;
SAVEPOINT refused;
SELECT cc.trunk_set_status((SELECT id FROM cc.trunks WHERE name = 'gw'), 'up');
ROLLBACK TO SAVEPOINT refused;

-- Transfers: what cc.sip_transfer_check accepts and refuses.
SELECT cc.sip_header_wire_value('User-to-User', 'call 42') AS uui,
       cc.sip_header_wire_value('User-to-User', '00ff;encoding=hex') AS already_encoded,
       cc.sip_header_wire_value('X-Account', 'call 42') AS other;
CREATE FUNCTION pg_temp.transfer(sip jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cc.sip_transfer_check(jsonb_build_object('type', 'connect_to_agent',
        'transfer_info', jsonb_build_object('target', jsonb_build_object('service_desk', jsonb_build_object('sip', sip)))));
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END;
$$;
SELECT pg_temp.transfer('{"uri": "sip:agent@example.com", "transfer_headers": [{"name": "User-to-User", "value": "abc"}]}') AS refer;
SELECT pg_temp.transfer('{"uri": "tel:+18883334444", "transfer_headers_send_method": "refer_to_header"}') AS refer_to_header;
SELECT pg_temp.transfer('{"transfer_method": "hangup"}') AS hangup_without_uri;
SELECT pg_temp.transfer('{"transfer_method": "hangup", "transfer_headers_send_method": "contact_header", "uri": "sip:a@b"}') AS hangup_contact;
SELECT pg_temp.transfer('{"transfer_method": "blind", "uri": "sip:a@b"}') AS bad_method;
SELECT pg_temp.transfer('{"transfer_headers_send_method": "body", "uri": "sip:a@b"}') AS bad_send_method;
SELECT pg_temp.transfer('{}') AS refer_without_uri;
SELECT pg_temp.transfer('{"uri": "http://example.com"}') AS not_sip;
SELECT pg_temp.transfer('{"uri": "sip:a@b", "transfer_headers": [{"name": "Bad Name", "value": "x"}]}') AS bad_name;
SELECT pg_temp.transfer(jsonb_build_object('uri', 'sip:a@b', 'transfer_headers',
       jsonb_build_array(jsonb_build_object('name', 'X-Long', 'value', repeat('x', 1025))))) AS too_long;
SELECT pg_temp.transfer(jsonb_build_object('uri', 'sip:a@b', 'transfer_headers',
       jsonb_build_array(jsonb_build_object('name', 'User-to-User', 'value', repeat('x', 507))))) AS uui_over_1024_as_hex;
SELECT pg_temp.transfer(jsonb_build_object('uri', 'sip:a@b', 'transfer_headers',
       jsonb_build_array(jsonb_build_object('name', 'User-to-User', 'value', repeat('x', 505))))) AS uui_1023_as_hex;
SAVEPOINT refused;
SELECT cc.sip_transfer_check('[1]');
ROLLBACK TO SAVEPOINT refused;

-- Dialing an agent needs a call in progress and a registered phone.
CREATE FUNCTION pg_temp.err(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || regexp_replace(SQLERRM, '[0-9a-f]{8}-[0-9a-f-]{27}', 'UUID', 'g');
END;
$$;
SELECT pg_temp.err($$SELECT cc.dial_agent((SELECT id FROM cc.calls LIMIT 1), (SELECT id FROM cc.agents WHERE extension = '1001'))$$) AS unregistered;
INSERT INTO cc.registrations (agent_id, contact, expires_at)
SELECT id, 'sip:1001@192.0.2.50:5062', now() + interval '1 hour' FROM cc.agents WHERE extension = '1001';
SELECT cc.agent_contacts((SELECT id FROM cc.agents WHERE extension = '1001')) AS targets;
SAVEPOINT refused;
SELECT cc.dial_agent((SELECT id FROM cc.calls LIMIT 1), (SELECT id FROM cc.agents WHERE extension = '1001'), 10) AS short_ring;
ROLLBACK TO SAVEPOINT refused;
SELECT cc.dial_agent((SELECT id FROM cc.calls LIMIT 1), (SELECT id FROM cc.agents WHERE extension = '1001'), 20000) IS NOT NULL AS dialled;
SELECT kind, direction, state FROM cc.legs WHERE agent_id IS NOT NULL;
SELECT a->>'type' AS type, a->'targets' AS targets, a->>'ring_timeout_ms' AS ring_timeout_ms, a->'from' AS "from"
  FROM cc.commands, jsonb_array_elements(args->'actions') AS a WHERE kind = 'call_actions';

-- Our SIP host in the From URIs we send (offers, calls we place): the host
-- and port of cc.sip_listen, a wildcard host replaced by an address a peer
-- can answer (cc.rtp_ip, else 127.0.0.1).
SELECT l AS listen, cc.sip_host_of(l, '192.0.2.10') AS host
  FROM unnest(ARRAY['sip:127.0.0.1:5060', 'sip:*:5060', 'sip:0.0.0.0:5070', 'sip:[::]:5060',
                    'sip:[2001:db8::1]:5060', 'sip:pbx.example.com', 'sip:*', 'sips:192.0.2.1:5061;transport=tls']) AS l;
SELECT cc.sip_host_of('sip:*:5060', '2001:db8::10') AS ipv6_stand_in;
SELECT cc.sip_local_host() = cc.sip_host_of(current_setting('cc.sip_listen'), '127.0.0.1') AS ours_from_sip_listen;
SAVEPOINT refused;
SELECT cc.sip_host_of('http://192.0.2.1', '192.0.2.10');
ROLLBACK TO SAVEPOINT refused;
SELECT cc.sip_host_of('sip:*:5060', 'not an address');
ROLLBACK TO SAVEPOINT refused;
ROLLBACK;
