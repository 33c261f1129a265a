"""test_call_control_demo.py: issue 8 (call control), Done when line 9: the
README's run command shows the demo call's timeline and CDR.

scripts/run.sh builds, installs and starts a cluster as root, then runs
scripts/demo.py against it; this test runs that same demo.py, with the same
options, against the test cluster, twice (run.sh must work when run again):
the seed is loaded, sipp agents register, a sipp customer calls the demo
number, keys 1 in the menu, an agent of "Demo sales" answers, both hear each
other, the customer hangs up, and the demo prints the call's timeline and
its CDR.  The second run must neither fail nor duplicate the seed.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "scripts", "demo.py")


def _run_demo(cluster, n):
    cmd = ["/usr/bin/python3", DEMO, "--host", cluster.sockdir, "--port", str(cluster.port),
           "--dbname", cluster.dbname, "--sip-port", str(cluster.sip_port),
           "--workdir", os.path.join(harness.WORK_ROOT, "demo%d" % n)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    return r.returncode, r.stdout + r.stderr


def _check_output(out, what):
    """_check_output checks what the demo printed: the call went through the
    flow and the queue to an agent, the timeline and the CDR are shown."""
    m = re.search(r"^demo call ([0-9a-f-]{36}): ok$", out, re.M)
    assert m, "%s: the demo did not end with 'demo call ...: ok':\n%s" % (what, out)
    call = m.group(1)
    assert "customer hears the agent: yes; agent hears the customer: yes" in out, "%s:\n%s" % (what, out)
    timeline = out.split("==== the call's timeline", 1)[1].split("==== its CDR", 1)[0]
    for line in (r"\| call\.arrived +\| customer +\| call from \+15557770123 to \+15550100",
                 r"\| call\.queued ",
                 r"\| leg\.answered +\| agent 100[12] +\| agent 100[12] answers",
                 r"\| call\.connected ",
                 r"\| leg\.ended +\| customer +\| customer hangs up",
                 r"\| call\.ended +\| +\| call ends \(normal, hung up by customer\)"):
        assert re.search(line, timeline), "%s: no timeline row matching %r in:\n%s" % (what, line, timeline)
    cdr = out.split("==== its CDR", 1)[1]
    for line in (r"^call_id +\| %s$" % call, r"^direction +\| inbound$", r"^caller +\| \+15557770123$",
                 r"^queue_name +\| Demo sales$", r"^last_agent_extension +\| 100[12]$",
                 r"^hangup_side +\| customer$", r"^menu_choices +\| .*\"label\": \"sales\""):
        assert re.search(line, cdr, re.M), "%s: no CDR line matching %r in:\n%s" % (what, line, cdr)
    return call


def test_9_demo_call_shows_timeline_and_cdr_and_runs_again(cluster):
    """The demo of scripts/run.sh, run twice against one cluster: each run
    places a call answered by a sales agent and prints its timeline and
    CDR; the second run loads the same seed without duplicating it."""
    code, out1 = _run_demo(cluster, 1)
    assert code == 0, "first demo run exited %d:\n%s" % (code, out1)
    call1 = _check_output(out1, "first run")
    version1 = cluster.one("SELECT flow_version FROM cc.cdrs WHERE call_id = %s", call1)

    code, out2 = _run_demo(cluster, 2)
    assert code == 0, "second demo run exited %d:\n%s" % (code, out2)
    call2 = _check_output(out2, "second run")
    assert call2 != call1

    counts = cluster.sql(
        "SELECT (SELECT count(*) FROM cc.agents WHERE extension IN ('1001', '1002', '1003')),"
        "       (SELECT count(*) FROM cc.queues WHERE name LIKE 'Demo %%'),"
        "       (SELECT count(*) FROM cc.queue_members AS m JOIN cc.queues AS q ON q.id = m.queue_id"
        "         WHERE q.name LIKE 'Demo %%'),"
        "       (SELECT count(*) FROM cc.flows WHERE name = 'Demo menu'),"
        "       (SELECT count(*) FROM cc.flow_versions AS v JOIN cc.flows AS f ON f.id = v.flow_id"
        "         WHERE f.name = 'Demo menu'),"
        "       (SELECT count(*) FROM cc.numbers WHERE number = '+15550100'),"
        "       (SELECT count(*) FROM cc.trunks WHERE name = 'demo local peers')")[0]
    # the flow: its blank MAIN draft and one published demo version
    assert counts == (3, 2, 4, 1, 2, 1, 1), "the seed after two runs: %r" % (counts,)
    assert cluster.one("SELECT flow_version FROM cc.cdrs WHERE call_id = %s", call2) == version1
    assert cluster.one("SELECT count(*) FROM cc.cdrs WHERE caller = '+15557770123' "
                       "AND last_agent_extension IN ('1001', '1002')") == 2
    # the demo's sipp phones are gone: their registrations too
    assert cluster.one("SELECT count(*) FROM cc.registrations AS r JOIN cc.agents AS a ON a.id = r.agent_id "
                       "WHERE a.extension IN ('1001', '1002', '1003')") == 0
