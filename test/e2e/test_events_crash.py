"""test_events_crash.py: issue 7, "Done when" line 3: kill -9 of cc http
during deliveries; after the restart every event is delivered at least
once, none lost.

The postmaster treats a crashed background worker as a crash of the whole
server: every process restarts and recovers.  The outbox is a logged table
filled in the events' own transactions, and a restarted cc http takes back
the deliveries its predecessor had claimed (cc.http_recover), so what was
committed is delivered; what was in flight may arrive twice (the receiver
drops duplicates by Idempotency-Key).
"""

import os
import signal
import time
import uuid

from events_receiver import Receiver
from harness import wait_until


def test_3_kill_9_cc_http_during_deliveries_loses_none(fresh_cluster):
    """600 events of 60 calls to a receiver taking 0.2 s per request (so
    deliveries are in flight); cc http is killed with SIGKILL after 50 of
    them arrived; after the restart all 600 reach the receiver."""
    c = fresh_cluster
    with Receiver(delay=0.2) as r:
        c.sql("INSERT INTO cc.webhooks (name, url, event_types) VALUES ('crash', %s, '{test3.*}')", r.url)
        calls = [str(uuid.uuid4()) for _ in range(60)]
        c.sql("SELECT count(cc.event_append('test3.happened', jsonb_build_object('i', i), call_id => "
              "(%s::uuid[])[1 + i %% 60])) FROM generate_series(0, 599) AS i", calls)
        keys = {row[0] for row in c.sql("SELECT idempotency_key FROM cc.webhook_outbox")}
        assert len(keys) == 600, "expected 600 deliveries queued, got %d" % len(keys)

        r.wait_for(n=50, timeout=30)
        old = c.worker_pid("cc http")
        in_flight = c.one("SELECT count(*) FROM cc.webhook_outbox WHERE state = 'delivering'")
        os.kill(old, signal.SIGKILL)
        killed_at = time.time()
        seen_at_kill = len(r.matching())
        assert seen_at_kill < 600, "everything was delivered before the kill; nothing was tested"

        def restarted():
            pid = c.worker_pid("cc http")
            return pid if pid and pid != old else None
        wait_until(restarted, 30, what="cc http back after kill -9")
        assert "terminated by signal 9" in c.log_text() or "was terminated by signal" in c.log_text(), \
            "no crash in the server log"

        def all_delivered():
            rows = c.sql("SELECT state, count(*) FROM cc.webhook_outbox GROUP BY state", retry=10)
            return dict(rows) == {"delivered": 600}
        wait_until(all_delivered, 120, interval=0.5, what="all 600 deliveries delivered after the restart")
        got = {g["headers"]["idempotency-key"] for g in r.matching()}
        missing = keys - got
        assert not missing, "%d deliveries never reached the receiver" % len(missing)
        # every attempt is recorded; interrupted ones say so
        assert c.one("SELECT count(*) FROM cc.webhook_outbox AS o WHERE NOT EXISTS "
                     "(SELECT 1 FROM cc.webhook_attempts AS a WHERE a.outbox_id = o.id AND a.http_status = 200)") == 0
        print("    (killed after %d of 600 arrived, %d in flight; %d requests in all, %.1f s to finish)"
              % (seen_at_kill, in_flight, len(r.matching()), time.time() - killed_at))
