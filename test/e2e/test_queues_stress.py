"""test_queues_stress.py: issue 6 (queues and agents), Done when 2, its
randomized part: at least 1,000 rounds of concurrent operations on real
connections keep the queue invariants (test/queues_stress.py says which).

The cluster's workers are pointed at another database (cc.database =
postgres), as for the isolation specs: the driver plays cc sip itself, so
the interleavings are the driver's and the counts are exact.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402
import queues_stress  # noqa: E402


def test_2_random_interleavings_keep_queue_invariants():
    cluster = harness.Cluster("queues_stress", create_extension=False,
                              extra_conf={"cc.database": "'postgres'"})
    ok = False
    try:
        cluster.start()
        cluster.sql("CREATE EXTENSION pg_callcenter CASCADE")
        stress = queues_stress.Stress(cluster.dsn(), rounds=1000)
        ok = stress.run()
        print(stress.report())
        assert stress.summary["rounds"] >= 1000, "only %d rounds ran" % stress.summary["rounds"]
        assert stress.summary["invariant_checks"] >= 1000
        assert ok, "invariants broken or unexpected errors (cluster log: %s)" % cluster.logfile
        # the run did exercise the queues: offers made, calls answered, callers left
        assert stress.summary["offers"] > 200 and stress.summary["answered"] > 50, stress.summary
    finally:
        cluster.cleanup(keep=not ok)
