"""test_events.py: webhook deliveries and HTTP requests made by cc http,
end to end, with real HTTP receivers in this process (test/events_receiver.py).
Issue 7, "Done when" line 2, and the path of the decisions' HTTP requests.

- A receiver that answers 503 twice then 200 gets the delivery on attempt 3,
  each attempt signed (HMAC-SHA256, checked by the receiver), then nothing more.
- A receiver that is down sees the attempts spaced by a growing back-off and
  the delivery ends dead after max_attempts.
- A receiver that takes 5 s does not delay the deliveries to another one.
- 429 with Retry-After is honoured, a 404 is final, basic and bearer
  authentication arrive, one call's deliveries arrive one at a time in order.
- cc.http_request -> the receiver -> cc.http_request_done -> the purpose's
  hook (a stand-in defined in this test's database only) -> a call_actions
  command, with retries.

Each test uses its own event types (test2a.*, ...) so that their webhooks
do not see each other's events.  The back-off base is lowered to 200 ms in
the shared cluster so that retries take fractions of a second.
"""

import json
import time
import uuid

from events_receiver import Receiver, closed_port
from harness import wait_until


def _fast_backoff(cluster):
    """_fast_backoff makes webhook retries start at 100-200 ms."""
    cluster.sql("UPDATE cc.settings SET value = '200' WHERE key = 'webhooks.backoff_base_ms'")


def _webhook(cluster, name, url, types, **kw):
    """_webhook creates a subscription and returns its id."""
    cols = {"name": name, "url": url, "event_types": types}
    cols.update(kw)
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    return cluster.one("INSERT INTO cc.webhooks (%s) VALUES (%s) RETURNING id" % (names, marks),
                       *cols.values())


def _append(cluster, etype, call=None, data=None):
    """_append commits one event and returns (seq, time just before COMMIT)."""
    conn = cluster.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT cc.event_append(%s, %s::jsonb, call_id => %s::uuid)",
                        (etype, json.dumps(data or {}), call))
            seq = cur.fetchone()[0]
        t0 = time.time()
        conn.commit()
        return seq, t0
    finally:
        conn.close()


def _deliveries(cluster, webhook):
    return cluster.sql("SELECT state, attempts, last_status, last_error FROM cc.webhook_outbox "
                       "WHERE webhook_id = %s ORDER BY event_seq", webhook)


def test_2_503_twice_then_200_delivered_on_attempt_3_signed_no_duplicate(cluster):
    """503, 503, 200: three signed attempts with the same idempotency key and
    body, spaced by back-off; delivered on attempt 3; no fourth request."""
    _fast_backoff(cluster)
    with Receiver(secret="s3cret", fail_first=2) as r:
        hook = _webhook(cluster, "retry", r.url, ["test2a.*"], secret="s3cret", max_attempts=5)
        seq, _ = _append(cluster, "test2a.happened", str(uuid.uuid4()), {"n": 1})
        got = r.wait_for(n=3, timeout=20)
        assert [g["answered"] for g in got] == [503, 503, 200], [g["answered"] for g in got]
        assert all(g["signature_ok"] for g in got), "a signature did not verify: %r" % [
            (g["headers"].get("x-cc-timestamp"), g["headers"].get("x-cc-signature")) for g in got]
        assert [g["headers"]["x-cc-attempt"] for g in got] == ["1", "2", "3"]
        assert len({g["headers"]["idempotency-key"] for g in got}) == 1, "the idempotency key changed"
        assert len({g["body"] for g in got}) == 1, "the body changed between attempts"
        body = Receiver.json(got[0])
        assert body["type"] == "test2a.happened" and body["seq"] == seq and body["data"] == {"n": 1}, body
        assert got[0]["headers"]["content-type"] == "application/json"
        assert got[0]["headers"]["x-cc-event"] == "test2a.happened"
        # back-off: the base is 200 ms, so at least 100 ms, then 200 ms
        assert got[1]["at"] - got[0]["at"] >= 0.1, "retry 1 came %.3f s after attempt 1" % (got[1]["at"] - got[0]["at"])
        assert got[2]["at"] - got[1]["at"] >= 0.2, "retry 2 came %.3f s after attempt 2" % (got[2]["at"] - got[1]["at"])
        wait_until(lambda: _deliveries(cluster, hook) == [("delivered", 3, 200, None)], 10,
                   what="the delivery recorded as delivered on attempt 3")
        attempts = cluster.sql("SELECT a.attempt, a.http_status FROM cc.webhook_attempts AS a "
                               "JOIN cc.webhook_outbox AS o ON o.id = a.outbox_id "
                               "WHERE o.webhook_id = %s ORDER BY a.attempt", hook)
        assert attempts == [(1, 503), (2, 503), (3, 200)], attempts
        time.sleep(2.5)
        assert len(r.matching()) == 3, "delivered again after success: %d requests" % len(r.matching())
    cluster.sql("DELETE FROM cc.webhooks WHERE id = %s", hook)


def test_2_receiver_down_backs_off_then_dead(cluster):
    """Nothing listens: 4 attempts (max_attempts), each recorded with its
    connection error, spaced by a growing back-off; then dead, no 5th."""
    _fast_backoff(cluster)
    url = closed_port()
    hook = _webhook(cluster, "down", url, ["test2b.*"], max_attempts=4, timeout_ms=1000)
    _append(cluster, "test2b.happened", str(uuid.uuid4()))
    wait_until(lambda: _deliveries(cluster, hook)[0][0] == "dead", 30, what="the delivery to end dead")
    rows = cluster.sql("SELECT a.attempt, a.http_status, a.error, extract(epoch FROM a.started_at) "
                       "FROM cc.webhook_attempts AS a JOIN cc.webhook_outbox AS o ON o.id = a.outbox_id "
                       "WHERE o.webhook_id = %s ORDER BY a.attempt", hook)
    assert [r[0] for r in rows] == [1, 2, 3, 4], rows
    assert all(r[1] is None and r[2] for r in rows), "attempts without a connection error: %r" % rows
    assert any("onnect" in r[2] for r in rows), rows
    starts = [float(r[3]) for r in rows]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # base 200 ms, equal jitter: gap k is in [100, 200] * 2^(k-1) ms, plus the work
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4, "gaps %r" % gaps
    assert gaps[2] > gaps[0], "no back-off: gaps %r" % gaps
    # ... and the first retry comes at its time, not at the next periodic rescan (2 s)
    assert gaps[0] < 1.5, "the first retry waited %.2f s instead of about 0.2 s" % gaps[0]
    state = _deliveries(cluster, hook)[0]
    assert state[:2] == ("dead", 4), state
    time.sleep(1.5)
    assert cluster.one("SELECT count(*) FROM cc.webhook_attempts AS a JOIN cc.webhook_outbox AS o "
                       "ON o.id = a.outbox_id WHERE o.webhook_id = %s", hook) == 4, "attempted after dead"
    cluster.sql("DELETE FROM cc.webhooks WHERE id = %s", hook)


def test_2_slow_receiver_does_not_delay_others(cluster):
    """One receiver takes 5 s per request, another answers at once: the
    fast one gets all 10 events within 2 s of their commit, while the slow
    one is still holding its requests."""
    with Receiver(delay=5.0) as slow, Receiver() as fast:
        slow_hook = _webhook(cluster, "slow", slow.url, ["test2c.*"], timeout_ms=10000)
        fast_hook = _webhook(cluster, "fast", fast.url, ["test2c.*"])
        commits = {}
        for i in range(10):
            seq, t0 = _append(cluster, "test2c.happened", str(uuid.uuid4()), {"i": i})
            commits[seq] = t0
        got = fast.wait_for(n=10, timeout=10)
        lat = [g["at"] - commits[Receiver.json(g)["seq"]] for g in got]
        assert max(lat) < 2.0, "fast receiver waited: latencies %r" % lat
        # the slow receiver had its requests in flight meanwhile
        assert len(slow.matching()) >= 1, "the slow receiver got nothing while the fast one was served"
        assert all(g["at"] < min(s["at"] for s in slow.matching()) + 5.0 for g in got)
        slow.wait_for(n=10, timeout=20)
        wait_until(lambda: all(d[0] == "delivered" for d in _deliveries(cluster, slow_hook)), 15,
                   what="the slow deliveries recorded")
        assert all(d[0] == "delivered" for d in _deliveries(cluster, fast_hook))
    cluster.sql("DELETE FROM cc.webhooks WHERE id IN (%s, %s)", slow_hook, fast_hook)


def test_2_one_calls_deliveries_arrive_one_at_a_time_in_order(cluster):
    """Ten events of one call reach a receiver in event order, each only
    after the previous one was answered."""
    with Receiver(delay=0.1) as r:
        hook = _webhook(cluster, "order", r.url, ["test2d.*"])
        call = str(uuid.uuid4())
        seqs = [_append(cluster, "test2d.happened", call, {"i": i})[0] for i in range(10)]
        got = r.wait_for(n=10, timeout=20)
        assert [Receiver.json(g)["seq"] for g in got] == seqs, "out of order"
        for a, b in zip(got, got[1:]):
            assert b["at"] >= a["at"] + 0.1, "two deliveries of one call overlapped"
    cluster.sql("DELETE FROM cc.webhooks WHERE id = %s", hook)


def test_2_retry_after_honoured_404_final_auth_sent(cluster):
    """429 with Retry-After: 2 delays the next attempt by about 2 s; a 404
    is final at once (dead after 1 attempt); basic and bearer credentials
    arrive in Authorization."""
    _fast_backoff(cluster)
    with Receiver(fail_first=1, fail_status=429, retry_after=2) as r429, Receiver(status=404) as r404:
        h1 = _webhook(cluster, "r429", r429.url, ["test2e.*"], auth="basic", auth_username="cc",
                      auth_secret="pw")
        h2 = _webhook(cluster, "r404", r404.url, ["test2e.*"], auth="bearer", auth_secret="tok")
        _append(cluster, "test2e.happened", str(uuid.uuid4()))
        got = r429.wait_for(n=2, timeout=15)
        assert got[1]["at"] - got[0]["at"] >= 1.8, "Retry-After not honoured: %.2f s" % (got[1]["at"] - got[0]["at"])
        assert got[0]["headers"]["authorization"] == "Basic Y2M6cHc=", got[0]["headers"]
        r404.wait_for(n=1, timeout=10)
        assert r404.matching()[0]["headers"]["authorization"] == "Bearer tok"
        wait_until(lambda: _deliveries(cluster, h2) == [("dead", 1, 404, None)], 10, what="the 404 delivery dead")
        wait_until(lambda: _deliveries(cluster, h1)[0][:2] == ("delivered", 2), 10, what="the 429 delivery done")
        time.sleep(1)
        assert len(r404.matching()) == 1, "a 404 was retried"
    cluster.sql("DELETE FROM cc.webhooks WHERE id IN (%s, %s)", h1, h2)


def test_2_http_request_reaches_receiver_and_hook_gets_answer(cluster):
    """cc.http_request (purpose flow, 2 attempts) to a receiver that answers
    503 then 200 with JSON: the receiver gets the body and headers twice,
    cc.http_request_done records both attempts, appends http.answered, and
    hands the answer to cc.flow_on_http -- here a stand-in defined only in
    this test's database -- whose action reaches cc sip as a call_actions
    command on the call's customer leg."""
    cluster.sql("""
        CREATE OR REPLACE FUNCTION cc.flow_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
        LANGUAGE sql AS $$
            SELECT jsonb_build_array(jsonb_build_object(
                'type', 'play', 'tts', 'hello ' || (answer #>> '{json,name}'),
                'tag', 'test:' || coalesce(answer->>'status', '') || ':' || (answer->>'attempts')));
        $$""")
    call = cluster.one("INSERT INTO cc.calls (direction, state) VALUES ('inbound', 'ivr') RETURNING id")
    leg = cluster.one("INSERT INTO cc.legs (call_id, kind, direction) VALUES (%s, 'customer', 'inbound') "
                      "RETURNING id", call)
    with Receiver(fail_first=1, body=b'{"name": "Ann"}') as r:
        req = cluster.one("SELECT cc.http_request('flow', %s, 'POST', %s, '{\"X-Token\": \"abc\"}', "
                          "'{\"caller\": \"0611111111\"}', 3000, 2, '{\"node\": \"http1\"}')", call, r.url)
        got = r.wait_for(n=2, timeout=15)
        assert [g["answered"] for g in got] == [503, 200]
        for g in got:
            assert g["method"] == "POST" and Receiver.json(g) == {"caller": "0611111111"}, g
            assert g["headers"]["x-token"] == "abc" and g["headers"]["x-cc-request"] == str(req), g["headers"]
        wait_until(lambda: cluster.one("SELECT state FROM cc.http_requests WHERE id = %s", req) == "done", 10,
                   what="the request done")
    row = cluster.sql("SELECT attempts, status, response_body, response_headers->>'x-receiver', hook_error "
                      "FROM cc.http_requests WHERE id = %s", req)[0]
    assert row == (2, 200, '{"name": "Ann"}', "events-test", None), row
    attempts = cluster.sql("SELECT attempt, http_status FROM cc.http_request_attempts WHERE request_id = %s "
                           "ORDER BY attempt", req)
    assert attempts == [(1, 503), (2, 200)], attempts
    assert cluster.one("SELECT data->>'status' FROM cc.events WHERE type = 'http.answered' AND call_id = %s",
                       call) == "200"
    args = cluster.one("SELECT args FROM cc.commands WHERE kind = 'call_actions' AND call_id = %s", call)
    assert args["actions"] == [{"type": "play", "tts": "hello Ann", "tag": "test:200:2", "leg": str(leg)}], args

    # a request to a receiver that is down fails after its attempts; the
    # hook still hears about it (status null, the error)
    req2 = cluster.one("SELECT cc.http_request('flow', %s, 'GET', %s, timeout_ms => 500, max_attempts => 2)",
                       call, closed_port())
    wait_until(lambda: cluster.one("SELECT state FROM cc.http_requests WHERE id = %s", req2) == "failed", 15,
               what="the request to a closed port failed")
    row = cluster.sql("SELECT attempts, status, error IS NOT NULL FROM cc.http_requests WHERE id = %s", req2)[0]
    assert row == (2, None, True), row
    assert cluster.one("SELECT count(*) FROM cc.commands WHERE kind = 'call_actions' AND call_id = %s "
                       "AND args @> '{\"actions\": [{\"tag\": \"test::2\"}]}'", call) == 1
