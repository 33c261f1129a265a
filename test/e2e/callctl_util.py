"""callctl_util.py: what the call-control tests (test_call_control*.py), the
hangup benchmark and the demo share: parties of a call played by real sipp
processes whose media is an RtpPeer of media_util (the port in sipp's SDP
is the RtpPeer's, so every tone a party hears went through our media
workers), agents whose phones register through our registrar, customers
who call in or are called through a peering trunk, and ears that tell
which tones a party hears.

A party hangs up when the test says so: sipp waits, after the ACK, either
for our BYE or for an INFO "trigger" that hangup() sends to its port with
the dialog's Call-ID (sipp matches requests to calls by Call-ID), and then
sends its BYE to cc sip.  No timing decides who hangs up.

Standard library only (plus psycopg2 through the harness); /usr/bin/python3.
"""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402
import media_util as mu  # noqa: E402

CODEC = {0: "PCMU/8000", 8: "PCMA/8000", 9: "G722/8000"}

# The tones the parties play and the thresholds of hearing them (a -12 dBm0
# tone measures about 4000 by media_util.tone_power; silence a few units).
HEARD = 1000
NOT_HEARD = 150

_SDP = """      v=0
      o=party 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio %(port)d RTP/AVP %(pt)d 101
      a=rtpmap:%(pt)d %(codec)s
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
"""

# after the ACK: our BYE, or the test's INFO trigger and then the party's BYE
_WAIT_OR_HANGUP = """  <recv request="INFO" optional="true" next="hangup"/>
  <recv request="BYE" timeout="%(timeout_ms)d"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:party@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <nop next="done"/>
  <label id="hangup"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: %(from)s
      To: %(to)s
      [last_Call-ID:]
      CSeq: %(cseq)d BYE
      Contact: <sip:party@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
  <label id="done"/>
"""


def _write(xml, prefix):
    os.makedirs(harness.WORK_ROOT, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".xml", dir=harness.WORK_ROOT)
    with os.fdopen(fd, "w") as f:
        f.write(xml)
    return path


def uas_scenario(media_port, pt=0, ring_ms=0, timeout_ms=170000):
    """uas_scenario writes a phone that is called: 180, after ring_ms 200
    with SDP naming media_port (payload type pt and telephone-event 101),
    then waits for our BYE or hangs up when triggered.  Returns its path."""
    sdp = _SDP % {"port": media_port, "pt": pt, "codec": CODEC[pt]}
    pause = '  <pause milliseconds="%d"/>\n' % ring_ms if ring_ms > 0 else ""
    xml = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callctl phone">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="remote_from"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:party@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
%(pause)s  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:party@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

%(sdp)s
    ]]>
  </send>
  <recv request="ACK"/>
%(wait)s  <Reference variables="remote_from"/>
</scenario>
""" % {"pause": pause, "sdp": sdp, "wait": _WAIT_OR_HANGUP % {
        "timeout_ms": timeout_ms, "cseq": 1,
        "from": "<sip:party@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]",
        "to": "[$remote_from]"}}
    return _write(xml, "callctl_uas.")


def uac_scenario(media_port, pt=0, timeout_ms=170000, extra_headers=()):
    """uac_scenario writes a customer who calls [service] offering
    media_port (pt and telephone-event 101), ACKs our 200, then waits for
    our BYE or hangs up when triggered.  Returns its path."""
    sdp = _SDP % {"port": media_port, "pt": pt, "codec": CODEC[pt]}
    headers = "".join("      %s\n" % h for h in extra_headers)
    xml = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="callctl customer">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:customer@[local_ip]:[local_port]>
      Max-Forwards: 70
%(headers)s      Content-Type: application/sdp
      Content-Length: [len]

%(sdp)s
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true" rrs="true">
    <action>
      <ereg regexp=";tag=([^;> ]*)" search_in="hdr" header="To:" assign_to="to_all,to_tag"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Customer" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$to_tag]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:customer@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
%(wait)s  <Reference variables="to_all"/>
</scenario>
""" % {"headers": headers, "sdp": sdp, "wait": _WAIT_OR_HANGUP % {
        "timeout_ms": timeout_ms, "cseq": 2,
        "from": '"Customer" <sip:[field0]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]',
        "to": "<sip:[service]@[remote_ip]:[remote_port]>;tag=[$to_tag]"}}
    return _write(xml, "callctl_uac.")


def _inject(field0):
    """_inject writes a sipp injection file whose field0 is the caller's number."""
    path = _write("SEQUENTIAL\n%s;\n" % field0, "callctl_inj.")
    return path


class Party:
    """Party is one end of a call: a sipp process for its signalling and an
    RtpPeer for its media.  tone() makes it play a tone for good, hears()
    measures what reaches it, hangup() makes it send BYE."""

    def __init__(self, name, pt):
        self.name = name
        self.pt = pt
        self.peer = mu.RtpPeer(pt=pt)
        self.port = harness.free_port()
        self.logdir = tempfile.mkdtemp(prefix="sipp.%s." % name, dir=harness.WORK_ROOT)
        self.proc = None
        self._out = None

    def _start(self, cmd):
        self.cmd = cmd
        self._out = open(os.path.join(self.logdir, "stdout.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.logdir)

    def _sipp(self, scenario, timeout_s, extra=()):
        return ["sipp", "-sf", scenario, "-t", "u1", "-i", "127.0.0.1", "-p", str(self.port),
                "-mp", str(harness.sipp_media_port()), "-m", "1", "-timeout", "%ds" % timeout_s,
                "-timeout_error", "-nostdin", "-trace_err",
                "-error_file", os.path.join(self.logdir, "errors.log"),
                "-trace_msg", "-message_file", os.path.join(self.logdir, "messages.log")] + list(extra)

    @property
    def uri(self):
        return "sip:party@127.0.0.1:%d" % self.port

    def tone(self, freq, level=-12, seconds=170):
        """tone makes the party play freq (whole hertz) for seconds."""
        self.peer.play(mu.tones([freq], level, 1000, self.peer.codec.rate) * seconds)

    def wait_media(self, timeout=15):
        """wait_media waits until our RTP reaches the party (its peer latches on to it)."""
        wait_until(lambda: self.peer.target, timeout, what="RTP from us reaching %s" % self.name)

    def listen(self, seconds=1.5, skip=0.3):
        """listen returns what the party receives over the next seconds (less the first skip)."""
        since = len(self.peer.received)
        time.sleep(seconds)
        return self.peer.audio(since)[int(skip * self.peer.codec.rate):]

    def level(self, audio, freq):
        return mu.tone_power(audio, freq, self.peer.codec.rate)

    def hangup(self, sip_call_id):
        """hangup makes sipp send BYE: an INFO with the dialog's Call-ID is
        its trigger (what cc sip answers the BYE is sipp's business)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", 0))
            lp = s.getsockname()[1]
            msg = ("INFO sip:party@127.0.0.1:%d SIP/2.0\r\n"
                   "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-trigger%08x\r\n"
                   "From: <sip:trigger@127.0.0.1:%d>;tag=trigger\r\n"
                   "To: <sip:party@127.0.0.1:%d>\r\n"
                   "Call-ID: %s\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
                   "Content-Length: 0\r\n\r\n" % (self.port, lp, random.getrandbits(32), lp, self.port,
                                                  sip_call_id))
            s.sendto(msg.encode(), ("127.0.0.1", self.port))
        finally:
            s.close()

    def wait(self, timeout=60):
        """wait waits for sipp to finish; returns a harness.SippResult (ok: the scenario completed)."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._out and not self._out.closed:
            self._out.close()
        return harness.SippResult(code, self.logdir, self.cmd)

    def done(self):
        return self.proc is not None and self.proc.poll() is not None

    def messages(self):
        try:
            with open(os.path.join(self.logdir, "messages.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def received_invite(self):
        """received_invite returns the text of the first INVITE sipp received, or None."""
        log = self.messages()
        i = log.find("\nINVITE sip:")
        if i < 0:
            return None
        end = log.find("\n\n", i + 1)
        return log[i + 1:end if end > 0 else None]

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._out and not self._out.closed:
            self._out.close()
        self.peer.close()


class Phone(Party):
    """Phone is a SIP phone that is called (sipp UAS): an agent's phone once
    register()ed, or an outside party reached through a peering trunk.
    answer=False: it rings until CANCELed (test/sipp/uas_ring_no_answer.xml)."""

    def __init__(self, cluster, name, pt=0, ring_ms=0, answer=True, timeout_s=180):
        super().__init__(name, pt)
        self.cluster = cluster
        scenario = (uas_scenario(self.peer.port, pt, ring_ms, timeout_s * 1000 - 5000) if answer
                    else harness.scenario_path("uas_ring_no_answer"))
        self._start(self._sipp(scenario, timeout_s))
        time.sleep(0.3)  # sipp binds its port right away; give it a moment

    def register(self, extension, password):
        """register registers this phone as extension's contact (REGISTER with digest)."""
        r = _sipp_run(self.cluster, "reg_agent", keys={"contact_port": self.port, "expires": 600},
                      extra=["-s", extension, "-au", extension, "-ap", password], name="reg_" + extension)
        assert r.ok, "registering %s failed: %r\n%s" % (extension, r, r.logs())
        return self


class Customer(Party):
    """Customer calls number (sipp UAC, caller ID caller) and stays until
    we hang up or hangup() is called."""

    def __init__(self, cluster, number, caller="+15557770000", pt=0, timeout_s=180, extra_headers=()):
        super().__init__("customer", pt)
        scenario = uac_scenario(self.peer.port, pt, timeout_s * 1000 - 5000, extra_headers)
        self._start(self._sipp(scenario, timeout_s, ["-s", number, "-inf", _inject(caller),
                                                     "127.0.0.1:%d" % cluster.sip_port]))


def _sipp_run(cluster, scenario, keys=None, extra=(), name=None, timeout=15):
    """_sipp_run runs a scenario of test/sipp against the cluster in the foreground."""
    logdir = tempfile.mkdtemp(prefix="sipp.%s." % (name or scenario), dir=harness.WORK_ROOT)
    cmd = ["sipp", "-sf", harness.scenario_path(scenario), "-t", "u1", "-i", "127.0.0.1",
           "-p", str(harness.free_port()), "-mp", str(harness.sipp_media_port()), "-m", "1",
           "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin", "-trace_err",
           "-error_file", os.path.join(logdir, "errors.log"),
           "-trace_msg", "-message_file", os.path.join(logdir, "messages.log")]
    for k, v in (keys or {}).items():
        cmd += ["-key", k, str(v)]
    cmd += list(extra) + ["127.0.0.1:%d" % cluster.sip_port]
    with open(os.path.join(logdir, "stdout.log"), "w") as out:
        try:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout + 15, cwd=logdir).returncode
        except subprocess.TimeoutExpired:
            code = -1
    return harness.SippResult(code, logdir, cmd)


# --- configuration rows -------------------------------------------------------

def agent(cluster, name, extension, password=None):
    """agent makes an enabled agent whose phone authenticates with password
    (default "pw" + extension) and returns its id.  Until the queues work
    gives agents a way to log in, it is put in state idle directly (a
    click-to-call refuses an offline agent)."""
    password = password or "pw" + extension
    return cluster.one("INSERT INTO cc.agents (name, extension, sip_ha1, state) "
                       "VALUES (%s, %s, cc.sip_ha1(%s, %s), 'idle') RETURNING id",
                       name, extension, extension, password)


def agent_phone(cluster, name, extension, pt=0, ring_ms=0, answer=True):
    """agent_phone makes an agent and a phone registered for it; returns (agent id, Phone)."""
    aid = agent(cluster, name, extension)
    phone = Phone(cluster, name, pt=pt, ring_ms=ring_ms, answer=answer)
    phone.register(extension, "pw" + extension)
    return aid, phone


def trunk_to(cluster, name, party):
    """trunk_to makes a peering trunk whose peer is the party's sipp (127.0.0.1:its port)."""
    return cluster.one("INSERT INTO cc.trunks (name, mode, peer_addresses, peer_port) "
                       "VALUES (%s, 'peering', '{127.0.0.1/32}', %s) RETURNING id", name, party.port)


def inbound_trunk(cluster):
    """inbound_trunk lets sipp customers on 127.0.0.1 in (others get 403)."""
    cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('sipp', 'peering', '{127.0.0.1/32}') "
                "ON CONFLICT (name) DO NOTHING")


def beep_prompt(cluster):
    """beep_prompt writes the short WAV the test flows play (2 kHz, 300 ms) and returns its file name."""
    name = "callctl_beep.wav"
    path = os.path.join(mu.media_dir(cluster), name)
    if not os.path.exists(path):
        mu.write_wav(path, mu.tones([2000], -20, 300), 8000)
    return name


def flow(cluster, name, graph, kind="inbound", callback_url=None):
    """flow makes a flow of kind with a published MAIN version of graph; returns its id."""
    fid = cluster.one("INSERT INTO cc.flows (name, kind, callback_url) VALUES (%s, %s, %s) RETURNING id",
                      name, kind, callback_url)
    cluster.sql("INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) "
                "VALUES (%s, %s, true, now())", fid, json.dumps(graph))
    return fid


def extension_number(cluster, number):
    """extension_number makes an inbound number whose flow asks for an
    extension (4 keys) and rings it: a caller who keys an agent's
    extension is connected to that agent.  It sets the variable entry
    first.  After the agent, the call ends."""
    inbound_trunk(cluster)
    graph = {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "set"}},
        {"id": "set", "type": "set_variable",
         "properties": {"assignments": [{"variable": "entry", "value": "extension menu"}]},
         "connections": {"next": "ext"}},
        {"id": "ext", "type": "transfer_extension",
         "properties": {"prompt": {"file": beep_prompt(cluster)}, "extension_length": 4, "timeout_s": 30},
         "connections": {"next": "bye", "failure": "bye", "max_errors": "bye"}},
        {"id": "bye", "type": "end"}]}
    fid = flow(cluster, "extension " + number, graph)
    cluster.sql("INSERT INTO cc.numbers (number, inbound_flow_id) VALUES (%s, %s)", number, fid)
    return fid


# --- calls ----------------------------------------------------------------------

def call_of_customer(cluster, customer, timeout=20):
    """call_of_customer waits for the call whose customer leg sends RTP to the customer's peer; returns its id."""
    call, _leg = mu.leg_by_remote_rtp(cluster, customer.peer.port, timeout)
    return call


def connected_inbound_call(cluster, number, extension, customer_tone=600, agent_phone_=None, agent_tone=None):
    """connected_inbound_call: a customer calls number (an extension_number),
    keys extension by RFC 4733, and that agent's phone answers: returns
    (call id, Customer) once the call is connected and both hear RTP."""
    customer = Customer(cluster, number)
    call = call_of_customer(cluster, customer)
    customer.wait_media()
    time.sleep(0.5)
    customer.peer.send_digits(extension)
    wait_call_state(cluster, call, "connected", timeout=20)
    if customer_tone:
        customer.tone(customer_tone)
    if agent_phone_ is not None:
        agent_phone_.wait_media()
        if agent_tone:
            agent_phone_.tone(agent_tone)
    return call, customer


def wait_call_state(cluster, call, state, timeout=15):
    return wait_until(lambda: cluster.one("SELECT state FROM cc.calls WHERE id = %s", call) == state,
                      timeout, what="call %s %s (it is %s)" % (
                          call, state, cluster.one("SELECT state FROM cc.calls WHERE id = %s", call)))


def wait_command(cluster, command, timeout=15):
    """wait_command waits until a command is done or failed; returns (state, error)."""
    return wait_until(lambda: (lambda r: r[0] if r and r[0][0] in ("done", "failed") else None)(
        cluster.sql("SELECT state, error FROM cc.commands WHERE id = %s", command)),
        timeout, what="command %s to finish" % command)


def run(cluster, sql, *args, timeout=15, expect="done"):
    """run calls a call-control function (sql returns the command id), waits
    for the command and checks its outcome; returns (command id, error)."""
    cmd = cluster.one(sql, *args)
    state, error = wait_command(cluster, cmd, timeout)
    if expect is not None:
        assert state == expect, "%s: command %s is %s (%s)" % (sql, cmd, state, error)
    return cmd, error


def leg(cluster, call, kind, agent_id=None, live=True):
    """leg returns the id of the call's latest leg of kind (of agent_id), live ones only by default."""
    return cluster.one("SELECT id FROM cc.legs WHERE call_id = %s AND kind = %s "
                       "AND (%s::uuid IS NULL OR agent_id = %s) AND (NOT %s OR state <> 'ended') "
                       "ORDER BY created_at DESC LIMIT 1", call, kind, agent_id, agent_id, live)


def wait_leg_state(cluster, leg_id, state, timeout=15):
    return wait_until(lambda: cluster.one("SELECT state FROM cc.legs WHERE id = %s", leg_id) == state,
                      timeout, what="leg %s %s" % (leg_id, state))


def sip_call_id(cluster, leg_id):
    return wait_until(lambda: cluster.one("SELECT sip_call_id FROM cc.legs WHERE id = %s", leg_id), 10,
                      what="the Call-ID of leg %s" % leg_id)


def events(cluster, call, prefix=""):
    """events lists the (type, data) of a call's events in order."""
    return cluster.sql("SELECT type, data FROM cc.events WHERE call_id = %s AND type LIKE %s ORDER BY seq",
                       call, prefix + "%")


def event_types(cluster, call, prefix=""):
    return [t for t, _ in events(cluster, call, prefix)]


def hears(parties, expect, seconds=1.5):
    """hears listens to every party at once and checks expect: {party:
    {freq: True (heard) or False (not heard)}}; raises naming what is wrong,
    with every level measured."""
    since = {p: len(p.peer.received) for p in parties}
    time.sleep(seconds)
    wrong, levels = [], []
    for p in parties:
        audio = p.peer.audio(since[p])[int(0.3 * p.peer.codec.rate):]
        for freq, heard in expect.get(p, {}).items():
            lv = p.level(audio, freq)
            levels.append("%s@%d=%.0f" % (p.name, freq, lv))
            if heard and lv < HEARD:
                wrong.append("%s does not hear %d Hz (%.0f)" % (p.name, freq, lv))
            elif not heard and lv > NOT_HEARD:
                wrong.append("%s hears %d Hz (%.0f)" % (p.name, freq, lv))
    return wrong, levels


def assert_hears(parties, expect, what, seconds=1.5, settle=0.6, tries=3):
    """assert_hears checks hears() after settle seconds; a media change takes
    a tick or two, a loaded machine more: it looks again up to tries times
    before failing (a wrong path stays wrong, so this cannot hide one)."""
    time.sleep(settle)
    for i in range(tries):
        wrong, levels = hears(parties, expect, seconds)
        if not wrong:
            return
    raise AssertionError("%s: %s [levels %s]" % (what, "; ".join(wrong), ", ".join(levels)))
