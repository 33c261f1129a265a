"""ivr_util.py: helpers of the IVR end-to-end tests (test_ivr*.py).

- caller scenarios for sipp written on the fly (`uac`): an INVITE whose SDP
  names an RtpPeer's port (PCMU and telephone-event, so the test presses
  keys by RFC 4733), the ACK, then steps: wait for our BYE, or for our REFER
  answered 202 and a NOTIFY with a chosen status, each checking headers on
  the wire with sipp's <ereg check_it="true">;
- `IvrCall`: one such caller (sipp signalling, RtpPeer media) and the
  call, its customer leg and its events in the database;
- `JsonServer`: a local HTTP server (http.server, a thread per request) that
  answers each POST with what a Python function returns for it, and keeps
  every request: the HTTP node's receiver and the IBM-format bot;
- flows: published from a graph, numbers bound to them, a peering trunk
  for sipp (anyone else gets 403).

Standard library only (plus psycopg2 through the harness); /usr/bin/python3.
"""

import http.server
import json
import os
import subprocess
import tempfile
import threading
import time

import harness
import media_util as mu

# --- the caller's SIP side ---------------------------------------------------

_DIALOG_FROM = 'From: "Caller" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]'
_DIALOG_TO = "To: <sip:[service]@[remote_ip]:[remote_port]>;[$totag]"

_ANSWER_200 = '''  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
'''


def _checks(checks, names):
    """_checks is the <action> of <ereg check_it> for [(header, regexp), ...]:
    the message fails the scenario unless each header matches."""
    if not checks:
        return ""
    out = ["    <action>"]
    for header, regexp in checks:
        name = "chk%d" % len(names)
        names.append(name)
        if regexp.startswith("^"):
            regexp = "^ *" + regexp[1:]     # sipp keeps the space after the colon
        esc = regexp.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        out.append('      <ereg regexp="%s" search_in="hdr" header="%s:" check_it="true" assign_to="%s"/>'
                   % (esc, header, name))
    out.append("    </action>")
    return "\n".join(out) + "\n"


def uac(peer_port, steps, caller="caller"):
    """uac writes a caller scenario and returns its path.  The INVITE offers
    PCMU and telephone-event on peer_port (an RtpPeer); then each step:

      ("bye", checks)             wait for our BYE (headers checked), answer 200
      ("refer", checks, status)   wait for our REFER (headers checked), answer
                                  202, then NOTIFY a sipfrag with status
                                  (200: the transfer worked; 486, 603: it failed)

    checks are [(header name, regexp)] that must match on the wire.  The
    caller's number (From user) is `caller`."""
    names = []
    body = []
    for step in steps:
        if step[0] == "bye":
            body.append('  <recv request="BYE" timeout="120000">\n%s  </recv>\n' % _checks(step[1], names))
            body.append(_ANSWER_200)
        elif step[0] == "refer":
            _, checks, status = step
            body.append('  <recv request="REFER" timeout="120000">\n%s  </recv>\n' % _checks(checks, names))
            body.append(_ANSWER_200.replace("200 OK", "202 Accepted"))
            body.append('''  <send retrans="500">
    <![CDATA[
      NOTIFY sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      %s
      %s
      Call-ID: [call_id]
      CSeq: %d NOTIFY
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Event: refer
      Subscription-State: terminated;reason=noresource
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 %d %s

    ]]>
  </send>
  <recv response="200"/>
''' % (_DIALOG_FROM, _DIALOG_TO, 10 + len(body), status,
                {200: "OK", 486: "Busy Here", 603: "Decline", 480: "Temporarily Unavailable"}.get(status, "Status")))
        else:
            raise ValueError("unknown caller step %r" % (step,))
    xml = '''<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="IVR test caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      %(from)s
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio %(port)d RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true">
    <action>
      <ereg regexp="tag=[^;> ]+" search_in="hdr" header="To:" check_it="true" assign_to="totag"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      %(from)s
      %(to)s
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:[field0]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
%(body)s  <Reference variables="%(refs)s"/>
</scenario>
''' % {"from": _DIALOG_FROM, "to": _DIALOG_TO, "port": peer_port, "body": "".join(body),
       "refs": ",".join(["totag"] + names)}
    os.makedirs(harness.WORK_ROOT, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="ivr_uac.", suffix=".xml", dir=harness.WORK_ROOT)
    with os.fdopen(fd, "w") as f:
        f.write(xml)
    # [field0] is the caller's number, from an injection file (one line per call)
    with open(path + ".csv", "w") as f:
        f.write("SEQUENTIAL\n%s;\n" % caller)
    return path


class IvrCall:
    """IvrCall is one caller: sipp signalling (a `uac` scenario) in the
    background and an RtpPeer for its media, which presses keys by RFC 4733.
    After start(), .call and .leg are the call and its customer leg."""

    def __init__(self, cluster, number, steps, caller="caller", timeout=150):
        self.cluster = cluster
        self.peer = mu.RtpPeer(pt=0, dtmf_pt=101)
        self.scenario = uac(self.peer.port, steps, caller)
        self.logdir = tempfile.mkdtemp(prefix="sipp.ivr.", dir=harness.WORK_ROOT)
        cmd = ["sipp", "-sf", self.scenario, "-inf", self.scenario + ".csv", "-t", "u1", "-i", "127.0.0.1",
               "-p", str(harness.free_port()), "-mp", str(harness.sipp_media_port()), "-s", number, "-m", "1",
               "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin",
               "-trace_err", "-error_file", os.path.join(self.logdir, "errors.log"),
               "-trace_msg", "-message_file", os.path.join(self.logdir, "messages.log"),
               "127.0.0.1:%d" % cluster.sip_port]
        self._out = open(os.path.join(self.logdir, "stdout.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.logdir)
        self.call, self.leg, _ = mu.leg_of_peer(cluster, self.peer, timeout=20)
        harness.wait_until(lambda: self.peer.target, 15, what="our RTP reaching the caller")

    # -- what the test does as the caller --------------------------------------

    def press(self, digits, ms=100):
        """press sends keys as RFC 4733 events and waits until they are sent."""
        self.peer.send_digits(digits, ms)
        harness.wait_until(self.peer.idle, 15, what="digits %s sent" % digits)

    def wait(self, timeout=90):
        """wait waits for sipp to finish and returns its exit code (0: every step went as written)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._out.close()
        self.peer.close()

    def logs(self):
        """logs says where sipp's logs are and ends with the last messages."""
        try:
            with open(os.path.join(self.logdir, "messages.log"), errors="replace") as f:
                msgs = f.read()
        except OSError:
            msgs = ""
        try:
            with open(os.path.join(self.logdir, "errors.log"), errors="replace") as f:
                errs = f.read()
        except OSError:
            errs = ""
        return "sipp logs in %s\nerrors: %s\n%s" % (self.logdir, errs[-2000:], msgs[-4000:])

    # -- the call in the database ---------------------------------------------

    def position(self):
        """position is (flow_node, flow_position->>'await', state) of the call now."""
        return tuple(self.cluster.sql("SELECT flow_node, flow_position->>'await', state FROM cc.calls "
                                      "WHERE id = %s", self.call)[0])

    def wait_node(self, node, await_="collect_done", timeout=30):
        """wait_node waits until the flow is at node, waiting for await_."""
        return harness.wait_until(lambda: self.position()[:2] == (node, await_), timeout,
                                  what="call at node %s awaiting %s (now %r)" % (node, await_, self.position()))

    def wait_prompts_played(self, node, n=1, timeout=60):
        """wait_prompts_played waits until n plays begun after the flow
        entered node (its last entry) have ended (leg.play_done): the caller
        has heard the node's prompts."""
        def done():
            return self.cluster.one(
                "SELECT count(*) FROM cc.events AS e WHERE e.leg_id = %s AND e.type = 'leg.play_done' "
                "AND e.seq > (SELECT max(seq) FROM cc.events WHERE call_id = %s AND type = 'flow.node_entered' "
                "             AND data->>'node' = %s)", self.leg, self.call, node) >= n
        harness.wait_until(done, timeout, what="%d prompt(s) of node %s played" % (n, node))

    def path(self):
        """path lists the nodes the call entered, in order (flow.node_entered)."""
        return [r[0] for r in self.cluster.sql("SELECT data->>'node' FROM cc.events WHERE call_id = %s "
                                               "AND type = 'flow.node_entered' ORDER BY seq", self.call)]

    def events(self, type_):
        """events lists the data of the call's events of a type, oldest first."""
        return [r[0] for r in self.cluster.sql("SELECT data FROM cc.events WHERE call_id = %s AND type = %s "
                                               "ORDER BY seq", self.call, type_)]

    def wait_ended(self, timeout=60):
        """wait_ended waits for the call to end and returns (end_cause, hangup_side)."""
        return harness.wait_until(lambda: self.cluster.sql(
            "SELECT end_cause, hangup_side FROM cc.calls WHERE id = %s AND state = 'ended'", self.call),
            timeout, what="call %s to end" % self.call)[0]

    def actions_sent(self, type_=None):
        """actions_sent lists the actions decided outside cc.call_event for
        the call (call_actions commands: timers, HTTP answers), in order."""
        out = []
        for (args,) in self.cluster.sql("SELECT args FROM cc.commands WHERE call_id = %s AND kind = 'call_actions' "
                                        "ORDER BY created_at, id", self.call):
            out += [a for a in args.get("actions", []) if type_ is None or a.get("type") == type_]
        return out

    def voiced_seconds(self, since_packet=0):
        """voiced_seconds is how long the audio received since a packet index
        has speech-like energy (20 ms frames above rms 200)."""
        audio = self.peer.audio(since_packet)
        return sum(1 for i in range(0, len(audio), 160) if mu.rms(audio[i:i + 160]) > 200) * 0.02


# --- HTTP: the HTTP node's receiver and the bot -------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        srv = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        rec = {"at": time.time(), "method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": raw}
        try:
            rec["json"] = json.loads(raw.decode())
        except ValueError:
            rec["json"] = None
        try:
            status, answer = srv.answer(rec)
        except Exception as e:  # noqa: BLE001 - a broken test answer is a 500, recorded
            status, answer = 500, {"error": str(e)}
            rec["error"] = str(e)
        out = (answer if isinstance(answer, bytes) else json.dumps(answer).encode())
        rec["answered"] = (status, answer)
        with srv.cond:
            srv.requests.append(rec)
            srv.cond.notify_all()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass

    do_GET = do_POST


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class JsonServer:
    """JsonServer is an HTTP server on 127.0.0.1 (a free port) that answers
    each request with answer(record) -> (status, JSON-able or bytes) and
    keeps every record {at, method, path, headers, body, json, answered}."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.cond = threading.Condition()
        self.port = harness.free_port()
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.owner = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n=1, timeout=30.0):
        """wait_for waits until n requests came and returns them all."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("HTTP server on port %d: %d of %d requests after %.0f s"
                                         % (self.port, len(self.requests), n, timeout))
                self.cond.wait(left)
            return list(self.requests)


# --- flows and numbers ---------------------------------------------------------

def sipp_trunk(cluster):
    """sipp_trunk lets calls from 127.0.0.1 in (a peering trunk); idempotent."""
    cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('sipp', 'peering', '{127.0.0.1/32}') "
                "ON CONFLICT (name) DO NOTHING")


def publish_flow(cluster, name, graph):
    """publish_flow creates a flow whose MAIN version is graph, published
    through the console's API (cc.flow_create, cc.flow_version_save,
    cc.flow_version_publish); returns the flow id."""
    flow = cluster.one("SELECT cc.flow_create(%s)", name)
    cluster.sql("SELECT cc.flow_version_save(%s, 'MAIN', %s::jsonb)", flow, json.dumps(graph))
    cluster.sql("SELECT cc.flow_version_publish(%s, 'MAIN')", flow)
    return flow


def bound_number(cluster, number, flow, version="MAIN"):
    """bound_number creates an inbound number and binds it to a published
    version of flow (cc.number_bind_flow)."""
    sipp_trunk(cluster)
    cluster.sql("INSERT INTO cc.numbers (number) VALUES (%s)", number)
    cluster.sql("SELECT cc.number_bind_flow(%s, %s, %s)", number, flow, version)
