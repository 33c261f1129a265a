-- call_control_privacy: number privacy (agents see customers' numbers
-- masked, or as the user ids of the customer's mapping endpoint) and the
-- blacklist.  All rolled back.
\set VERBOSITY terse

-- Masking: the middle four digits; extensions and non-numbers stay as they are.
SELECT n AS number, cc.number_mask(n) AS masked
  FROM unnest(ARRAY['13812345678', '+8613812345678', '+15550100', '5551234', '555123', '1001', 'anonymous', '', NULL]) AS n;

BEGIN;
SELECT regress.cc_fixture();
CREATE ROLE regress_cc_ann IN ROLE cc_agent;
CREATE ROLE regress_cc_bob IN ROLE cc_agent;
INSERT INTO cc.agent_logins (login, agent_id) VALUES
    ('regress_cc_ann', '00000000-0000-0000-0000-000000001001'),
    ('regress_cc_bob', '00000000-0000-0000-0000-000000001002');

-- off (the default): Ann's workbench shows the number as it is
SELECT cc.number_privacy_mode() AS mode;
SET LOCAL ROLE regress_cc_ann;
SELECT regress.cc_label(call_id) AS call, direction, state, customer, number, queue, regress.cc_label(leg_id) AS leg,
       leg_kind, leg_state, muted, customer_hold_state, variables
  FROM cc.agent_calls;
-- an agent reads its calls there, not in cc.calls
SELECT * FROM regress.cc_error('SELECT caller FROM cc.calls');
RESET ROLE;
-- Bob sees none of Ann's calls; cc_app sessions are nobody's agent
SET LOCAL ROLE regress_cc_bob;
SELECT count(*) AS bobs_calls FROM cc.agent_calls;
RESET ROLE;

-- mask: the view and the INVITEs that ring agents show 138****5678 (the From
-- URI carries our number, not the customer's)
SELECT cc.number_privacy_set('mask');
SELECT cc.number_privacy_mode() AS mode;
SET LOCAL ROLE regress_cc_ann;
SELECT customer FROM cc.agent_calls;
RESET ROLE;
SELECT regress.cc_decide(cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'))->'actions'->1->'from' AS consult_from;
-- Bob, now on the call as the consulted party, sees it too, masked
SET LOCAL ROLE regress_cc_bob;
SELECT customer, leg_kind, leg_state FROM cc.agent_calls;
RESET ROLE;

-- a bad value in the setting never shows numbers: it counts as mask
UPDATE cc.settings SET value = '"hide"' WHERE key = 'privacy.numbers';
SELECT cc.number_privacy_mode() AS mode, cc.number_display('+8613812345678') AS shown;

-- map: the customer's endpoint maps numbers to user ids --------------------------------
SELECT cc.number_privacy_set('map', 'https://crm.example.com/number-mapping');
SELECT key, value FROM cc.settings WHERE key LIKE 'privacy.%' ORDER BY key;
-- not mapped yet: masked
SELECT cc.number_display('+8613812345678') AS shown;
SELECT regress.cc_show_text(cc.number_mapping_request(ARRAY['+8613812345678', '+15550100'])::text) AS request;
SELECT hook, regress.cc_show(args) FROM regress.standin_calls WHERE hook = 'http_request';
-- the answer (cc.http_request_done hands it to cc.number_mapping_on_http)
SELECT cc.number_mapping_on_http(NULL, '00000000-0000-0000-0000-0000000000ff',
    '{"status": 200, "body": "{\"Code\": 0, \"Results\": [{\"Key\": \"+8613812345678\", \"Value\": \"u-7731\"}, {\"Key\": \"+15550100\", \"Value\": \"u-0042\"}, {\"Key\": \"bad\", \"Value\": \"u-1\"}]}"}');
SELECT number, uid FROM cc.number_mappings ORDER BY number;
SELECT cc.number_display('+8613812345678') AS shown;
SET LOCAL ROLE regress_cc_ann;
SELECT customer FROM cc.agent_calls;
RESET ROLE;
-- UIDToPhone answers the other way round; a uid moves to its new number
SELECT cc.number_mapping_request(ARRAY['u-0042'], 'UIDToPhone') IS NOT NULL AS requested;
SELECT cc.number_mapping_on_http(NULL, '00000000-0000-0000-0000-0000000000ff',
    '{"status": 200, "body": {"Code": 0, "Results": [{"Key": "u-0042", "Value": "+15550199"}]}}');
SELECT number, uid FROM cc.number_mappings ORDER BY number;
-- errors are recorded, nothing is mapped
SELECT cc.number_mapping_on_http(NULL, '00000000-0000-0000-0000-0000000000ff', '{"status": 500, "body": "oops"}');
SELECT cc.number_mapping_on_http(NULL, '00000000-0000-0000-0000-0000000000ff', '{"status": 200, "body": {"Code": 1001, "Results": []}}');
SELECT cc.number_mapping_on_http(NULL, '00000000-0000-0000-0000-0000000000ff', '{"error": "timeout"}');
SELECT type, regress.cc_show(data) AS data FROM cc.events WHERE type LIKE 'number_mapping.%' OR type = 'privacy.changed' ORDER BY seq;
ROLLBACK;

-- The blacklist ------------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.blacklist_add('+15550100', 'spam') IS NOT NULL AS added;
SELECT cc.blacklist_add('+15550100', 'robocalls', '2099-01-01 00:00:00+00') IS NOT NULL AS updated;
SELECT number, reason, expires_at FROM cc.blacklisted_numbers;
SELECT cc.blacklist_remove('+15550100') AS removed, cc.blacklist_remove('+15550100') AS removed_again;
-- an agent blacklists the caller of its own call without seeing the number
CREATE ROLE regress_cc_ann IN ROLE cc_agent;
INSERT INTO cc.agent_logins (login, agent_id) VALUES ('regress_cc_ann', '00000000-0000-0000-0000-000000001001');
SELECT cc.number_privacy_set('mask');
SET LOCAL ROLE regress_cc_ann;
SELECT cc.blacklist_caller('00000000-0000-0000-0000-0000000000c1', 'abusive') IS NOT NULL AS blacklisted;
RESET ROLE;
SELECT number, reason, added_by FROM cc.blacklisted_numbers;
SELECT type, regress.cc_label(call_id) AS call, regress.cc_label(agent_id) AS agent,
       data - 'by' AS data, data->>'by' LIKE 'regress%' AS by_ann
  FROM cc.events WHERE type LIKE 'blacklist.%' ORDER BY seq;
ROLLBACK;
