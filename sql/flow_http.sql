-- flow_http: the HTTP node through cc.flow_simulate.  The request is shown
-- in the trace (cc.http_request is not called in a simulation) and the
-- script answers it.  URL and fields take ${var} (URL-encoded in the URL),
-- POST sends the fields as a JSON object of strings, GET as a query;
-- answer fields map to variables; when the request fails (no answer, not
-- 2xx, not JSON) every mapping takes its default and the flow goes on
-- (connections.failure if set, else next).
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;
SELECT regress.flow('lookup', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "collect", "properties": {"prompt": {"tts": "Order number?"}, "variable": "order"},
   "connections": {"next": "fetch"}},
  {"id": "fetch", "type": "http",
   "properties": {"url": "http://127.0.0.1:9/orders/${order}?caller=${SystemCallerNumber}",
                  "headers": {"X-Caller": "${SystemCallerNumber}"},
                  "request": {"order": "${order}", "caller": "${SystemCallerNumber}", "note": "a \"quoted\" ${missing}text"},
                  "timeout_s": 2, "max_errors": 3,
                  "response": [{"field": "status", "variable": "order_status", "default": "unknown"},
                               {"field": "items.0.name", "variable": "first_item", "default": "nothing"},
                               {"field": "eta_days", "variable": "eta"},
                               {"field": "menu", "variable": "options", "default": []}]},
   "connections": {"next": "say"}},
  {"id": "say", "type": "play", "properties": {"prompt": {"tts": "Order ${order} is ${order_status}, first ${first_item}."}},
   "connections": {"next": "bye"}},
  {"id": "bye", "type": "end"}]$$) IS NOT NULL;

-- Success: the mapped fields (a nested path, an array index, a number, a
-- JSON array kept as JSON); the next node reads them.
SELECT regress.sim('lookup', '{"caller": "+86 138", "steps": [{"digits": "42#"},
    {"http": {"status": 200, "body": {"status": "shipped", "items": [{"name": "tea"}], "eta_days": 2, "menu": [1, 2]}}}]}');
-- A field missing from the answer takes its default; one without default is left unset.
SELECT regress.sim('lookup', '[{"digits": "42#"}, {"http": {"status": 201, "body": "{\"status\": \"packed\"}"}}]');
-- Failure with defaults: a 500, an answer that is not JSON, no answer at all.
SELECT regress.sim('lookup', '[{"digits": "7#"}, {"http": {"status": 500, "body": "oops", "attempts": 3}}]');
SELECT regress.sim('lookup', '[{"digits": "7#"}, {"http": {"status": 200, "body": "<html>"}}]');
SELECT regress.sim('lookup', '[{"digits": "7#"}, {"http": {"status": null, "error": "connection refused", "attempts": 3}}]');
SELECT regress.sim('lookup', '[{"digits": "7#"}, {"timeout": true}]');
-- A variable already set is overwritten by the default on failure.
SELECT regress.sim('lookup', '{"variables": {"order_status": "old"}, "steps": [{"digits": "7#"}, {"http": {"status": 404}}]}');

-- GET sends the fields as a query; connections.failure, when set, takes
-- the failures; a 2xx without mappings needs no JSON.
SELECT regress.flow('ping', $$[
  {"id": "start", "type": "start", "connections": {"next": "ping"}},
  {"id": "ping", "type": "http",
   "properties": {"method": "GET", "url": "https://status.example/ping?x=1", "request": {"who": "${SystemCallerNumber}", "q": "a b&c"}},
   "connections": {"next": "up", "failure": "down"}},
  {"id": "up", "type": "end"}, {"id": "down", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('ping', '{"caller": "+1 555", "steps": [{"http": {"status": 204}}]}');
SELECT regress.sim('ping', '[{"http": {"status": 503}}]');

-- Substitution: values are percent-encoded in URLs, as they are in texts.
SELECT cc.flow_substitute('a=${a}&b=${b}&c=${c}', '{"a": "x y", "b": 3}', true) AS url_part,
       cc.flow_substitute('${a} and ${a}', '{"a": "é"}') AS text_part,
       cc.flow_url_encode('a b/é?&=') AS encoded;
ROLLBACK;
