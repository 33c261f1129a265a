-- 125_http_requests.sql: outbound HTTP requests other than webhook
-- deliveries (IVR HTTP nodes, bot turns, the preferred-agents and
-- number-mapping endpoints), made by cc http (docs/call-model.md).
--
-- PLACEHOLDER until the events issue; the signature stays.

CREATE FUNCTION cc.http_request(purpose text, call uuid, method text, url text, headers jsonb DEFAULT '{}',
                                body text DEFAULT NULL, timeout_ms integer DEFAULT 3000,
                                max_attempts integer DEFAULT 1, context jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'cc: HTTP requests are not built yet (% %)', method, url
        USING ERRCODE = 'feature_not_supported';
END;
$$;
COMMENT ON FUNCTION cc.http_request(text, uuid, text, text, jsonb, text, integer, integer, jsonb) IS
    'Queues an HTTP request for cc http (purpose: flow, bot, preferred_agents, number_mapping, callback); the answer goes to cc.http_request_done, which hands it to the purpose''s hook. Returns the request id.';
