"""media_util.py: what the media tests (test/e2e/test_media*.py) and the
media benchmark share: G.711 and G.722 codecs (G.722 is the real spandsp,
through ctypes), generated test audio (tones at a level in dBm0, DTMF,
speech-like noise), a small RTP endpoint that sends and receives, sipp
scenarios written on the fly, and flows and numbers for calls.

Standard library only (plus psycopg2 through the harness); /usr/bin/python3.
"""

import audioop
import ctypes
import ctypes.util
import math
import os
import random
import socket
import struct
import tempfile
import threading
import time
import wave

import harness

# --- codecs ---------------------------------------------------------------

_spandsp = ctypes.CDLL(ctypes.util.find_library("spandsp") or "libspandsp.so.2")
_spandsp.g722_encode_init.restype = ctypes.c_void_p
_spandsp.g722_encode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_spandsp.g722_decode_init.restype = ctypes.c_void_p
_spandsp.g722_decode_init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
_spandsp.g722_encode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
_spandsp.g722_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]

RATE = {0: 8000, 8: 8000, 9: 16000}
NAME = {0: "PCMU", 8: "PCMA", 9: "G722"}


class Codec:
    """Codec encodes and decodes 20 ms frames of 16-bit samples (bytes) for
    payload type pt: 0 PCMU, 8 PCMA (audioop), 9 G722 (spandsp)."""

    def __init__(self, pt):
        self.pt = pt
        self.rate = RATE[pt]
        self.frame = self.rate // 50
        if pt == 9:
            self._enc = _spandsp.g722_encode_init(None, 64000, 0)
            self._dec = _spandsp.g722_decode_init(None, 64000, 0)

    def encode(self, pcm):
        if self.pt == 0:
            return audioop.lin2ulaw(pcm, 2)
        if self.pt == 8:
            return audioop.lin2alaw(pcm, 2)
        out = ctypes.create_string_buffer(len(pcm) // 4 + 16)
        n = _spandsp.g722_encode(self._enc, out, pcm, len(pcm) // 2)
        return out.raw[:n]

    def decode(self, payload):
        if self.pt == 0:
            return audioop.ulaw2lin(payload, 2)
        if self.pt == 8:
            return audioop.alaw2lin(payload, 2)
        out = ctypes.create_string_buffer(len(payload) * 4 + 16)
        n = _spandsp.g722_decode(self._dec, out, payload, len(payload))
        return out.raw[:2 * n]


# --- test audio -----------------------------------------------------------

def dbm0_amplitude(level):
    """dbm0_amplitude is the peak of a sine at level dBm0 (spandsp's scale:
    a sine at +3.14 dBm0 fills a mu-law channel)."""
    return 32767.0 * 10 ** ((level - 3.14 - 3.02) / 20.0)


def tones(freqs, level, ms, rate=8000, phase=0.0):
    """tones returns ms of the sum of sines at freqs, each at level dBm0,
    as a list of ints."""
    a = dbm0_amplitude(level)
    n = rate * ms // 1000
    return [int(sum(a * math.sin(2 * math.pi * f * i / rate + phase) for f in freqs))
            for i in range(n)]


DTMF_FREQS = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
              "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
              "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
              "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633)}


def dtmf(digit, level, ms, rate=8000):
    """dtmf returns a DTMF digit of ms milliseconds, each tone at level dBm0."""
    return tones(DTMF_FREQS[digit], level, ms, rate)


def silence(ms, rate=8000):
    return [0] * (rate * ms // 1000)


def speech_like(ms, rate=8000, seed=7, level=-15):
    """speech_like returns noise shaped like speech: a low-pass filtered
    noise (formant-ish, most energy under 1 kHz) whose loudness follows
    syllables (about 4 per second), at roughly level dBm0."""
    rnd = random.Random(seed)
    out = []
    y1 = y2 = 0.0
    a = dbm0_amplitude(level) * 3
    for i in range(rate * ms // 1000):
        x = rnd.uniform(-1, 1)
        # two-pole resonator near 500 Hz, plus a little of the raw noise
        r, f = 0.95, 500.0 / rate
        y = x + 2 * r * math.cos(2 * math.pi * f) * y1 - r * r * y2
        y2, y1 = y1, y
        env = 0.5 + 0.5 * math.sin(2 * math.pi * 4.0 * i / rate + rnd.uniform(0, 0.01))
        out.append(int(max(-32768, min(32767, a * 0.1 * y * env + 0.05 * a * x))))
    return out


def pcm_bytes(samples):
    """pcm_bytes packs ints as 16-bit little-endian samples (clipped)."""
    return struct.pack("<%dh" % len(samples), *[max(-32768, min(32767, int(s))) for s in samples])


def samples_of(pcm):
    return list(struct.unpack("<%dh" % (len(pcm) // 2), pcm))


def write_wav(path, samples, rate=8000, channels=1, width=2):
    """write_wav writes a WAV file of 16-bit samples (other widths for bad files)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 2:
            w.writeframes(pcm_bytes(samples))
        else:
            w.writeframes(bytes((s >> 8) & 0xFF for s in samples))


def read_wav(path):
    """read_wav returns (rate, channels, list of channel sample lists)."""
    with wave.open(path, "rb") as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        data = samples_of(w.readframes(n))
    return rate, ch, [data[c::ch] for c in range(ch)]


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


def tone_power(x, freq, rate):
    """tone_power is the amplitude of the component of x at freq (Goertzel)."""
    n = len(x)
    if n == 0:
        return 0.0
    w = 2 * math.pi * freq / rate
    s1 = s2 = 0.0
    c = 2 * math.cos(w)
    for v in x:
        s0 = v + c * s1 - s2
        s2, s1 = s1, s0
    power = s1 * s1 + s2 * s2 - c * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / n


def best_alignment(received, reference, max_shift):
    """best_alignment finds where reference starts in received (within
    max_shift samples) by cross-correlation; returns (shift, correlation)."""
    best = (0, -1.0)
    ref = reference[:4000]
    eref = math.sqrt(sum(v * v for v in ref)) or 1.0
    for shift in range(0, max_shift):
        seg = received[shift:shift + len(ref)]
        if len(seg) < len(ref):
            break
        dot = sum(a * b for a, b in zip(seg, ref))
        eseg = math.sqrt(sum(v * v for v in seg)) or 1.0
        c = dot / (eref * eseg)
        if c > best[1]:
            best = (shift, c)
    return best


def snr_db(received, reference):
    """snr_db compares aligned signals: reference power over error power."""
    n = min(len(received), len(reference))
    err = sum((received[i] - reference[i]) ** 2 for i in range(n))
    sig = sum(reference[i] ** 2 for i in range(n))
    return 10 * math.log10(sig / err) if err > 0 else 99.0


# --- RTP ------------------------------------------------------------------

class RtpPeer:
    """RtpPeer is a phone's RTP side on 127.0.0.1: it sends audio (a list of
    samples at the codec's rate, in 20 ms packets; silence when none is
    queued) to `target` (or to where our RTP comes from, once it does), and
    keeps every packet it receives (pt, seq, ts, ssrc, payload, arrival)."""

    def __init__(self, pt=0, dtmf_pt=101, send=True):
        self.pt = pt
        self.dtmf_pt = dtmf_pt
        self.codec = Codec(pt)
        self.rx_codec = Codec(pt)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.target = None
        self.received = []
        self.queue = []          # samples to send, from self.qpos on (no slicing of long lists)
        self.qpos = 0
        self.lock = threading.Lock()
        self.sending = send
        self.seq = random.randrange(65536)
        self.ts = random.randrange(1 << 32)
        self.ssrc = random.randrange(1 << 32)
        self.sent = 0
        self.digits = []         # (digit, ms) to send as RFC 4733 events
        self._event = None
        self._stop = False
        self._threads = [threading.Thread(target=self._rx, daemon=True),
                         threading.Thread(target=self._tx, daemon=True)]
        for t in self._threads:
            t.start()

    def send_digits(self, digits, ms=100):
        """send_digits queues digits sent as RFC 4733 events (ms each, 60 ms apart)."""
        with self.lock:
            self.digits.extend((d, ms) for d in digits)

    def idle(self):
        """idle tells whether everything queued has been sent."""
        with self.lock:
            return self.qpos >= len(self.queue) and not self.digits and self._event is None

    def _event_packet(self):
        """_event_packet sends this tick of the digit being sent; True if it did."""
        ev = self._event
        if ev is None:
            with self.lock:
                if not self.digits:
                    return False
                d, ms = self.digits.pop(0)
            ev = self._event = {"code": "0123456789*#ABCD".index(d), "ms": ms, "t": 0, "ts": self.ts,
                                "gap": 3}
        if ev["t"] < ev["ms"]:
            ev["t"] += 20
            end = ev["t"] >= ev["ms"]
            payload = struct.pack("!BBH", ev["code"], (0x80 if end else 0) | 10, min(ev["t"], ev["ms"]) * 8)
            # the end packet goes three times with one sequence number (RFC 4733 2.5.1.4)
            pkt = self.packet(payload, pt=self.dtmf_pt, marker=ev["t"] == 20, ts=ev["ts"])
            for _ in range(3 if end else 1):
                self.sock.sendto(pkt, self.target)
            return True
        ev["gap"] -= 1
        if ev["gap"] <= 0:
            self._event = None
        return False

    def play(self, samples):
        """play queues samples (at the codec's rate) to send."""
        with self.lock:
            if self.qpos >= len(self.queue):
                self.queue, self.qpos = [], 0
            self.queue.extend(samples)

    def send_raw(self, data, addr=None):
        self.sock.sendto(data, addr or self.target)

    def packet(self, payload, pt=None, marker=False, ts=None, seq=None, ssrc=None):
        """packet builds one RTP packet (advancing our sequence number unless given)."""
        if seq is None:
            seq = self.seq
            self.seq = (self.seq + 1) & 0xFFFF
        return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | (self.pt if pt is None else pt),
                           seq, self.ts if ts is None else ts,
                           self.ssrc if ssrc is None else ssrc) + payload

    def _rx(self):
        while not self._stop:
            try:
                data, addr = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) < 12:
                continue
            if self.target is None:
                self.target = addr
            b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
            self.received.append((b1 & 0x7F, seq, ts, ssrc, data[12:], time.monotonic(), addr))

    def _tx(self):
        nxt = time.monotonic()
        n = self.codec.frame
        while not self._stop:
            nxt += 0.02
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
            if not self.sending or self.target is None:
                continue
            try:
                if self._event_packet():
                    self.ts = (self.ts + 160) & 0xFFFFFFFF
                    continue
            except OSError:
                pass
            with self.lock:
                chunk = self.queue[self.qpos:self.qpos + n]
                self.qpos += len(chunk)
            chunk += [0] * (n - len(chunk))
            payload = self.codec.encode(pcm_bytes(chunk))
            try:
                self.sock.sendto(self.packet(payload), self.target)
                self.sent += 1
            except OSError:
                pass
            self.ts = (self.ts + 160) & 0xFFFFFFFF

    def audio(self, since=0):
        """audio decodes every audio packet received (in sequence order) to samples."""
        pkts = [p for p in self.received[since:] if p[0] == self.pt]
        pkts.sort(key=lambda p: (p[5]))
        dec = Codec(self.pt)
        out = []
        for p in pkts:
            out.extend(samples_of(dec.decode(p[4])))
        return out

    def events(self):
        """events lists the telephone-event packets received: (event, end, duration, ts)."""
        return [(p[4][0], bool(p[4][1] & 0x80), (p[4][2] << 8) | p[4][3], p[2])
                for p in self.received if p[0] == self.dtmf_pt and len(p[4]) >= 4]

    def close(self):
        self._stop = True
        for t in self._threads:
            t.join(1)
        self.sock.close()


# --- sipp scenarios ---------------------------------------------------------

def uac_scenario(media_port, pts=(0, 101), hangup_after_ms=None, pcap=None, info_digits=None):
    """uac_scenario writes a caller scenario: INVITE offering pts on
    media_port (an RtpPeer's port, or sipp's own [media_port] when None),
    ACK, then either wait for our BYE or, with hangup_after_ms, hang up
    itself; with pcap, sipp plays that capture as RTP after the ACK.
    Returns the path of the XML file."""
    fmts = " ".join(str(p) for p in pts)
    rtpmap = "".join("      a=rtpmap:%d %s\n" % (p, {0: "PCMU/8000", 8: "PCMA/8000", 9: "G722/8000",
                                                    101: "telephone-event/8000"}[p]) for p in pts)
    if 101 in pts:
        rtpmap += "      a=fmtp:101 0-15\n"
    port = str(media_port) if media_port else "[media_port]"
    after_ack = ""
    if pcap:
        # a second after the answer, as a person would press a key (and so the
        # media session is surely bound on a loaded machine)
        after_ack += '  <pause milliseconds="1000"/>\n'
        after_ack += '  <nop><action><exec play_pcap_audio="%s"/></action></nop>\n' % pcap
    for i, (delay, d) in enumerate(info_digits or []):
        after_ack += '''  <pause milliseconds="%d"/>
  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d INFO
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%s
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
''' % (delay, 10 + i, d)
    if hangup_after_ms is not None:
        after_ack += '''  <pause milliseconds="%d"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 99 BYE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
''' % hangup_after_ms
    else:
        after_ack += '''  <recv request="BYE" timeout="120000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:caller@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
'''
    xml = '''<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="media test caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio %s RTP/AVP %s
%s
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Caller" <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:caller@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
%s</scenario>
''' % (port, fmts, rtpmap.rstrip("\n"), after_ack)
    os.makedirs(harness.WORK_ROOT, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="media_uac.", suffix=".xml", dir=harness.WORK_ROOT)
    with os.fdopen(fd, "w") as f:
        f.write(xml)
    return path


class Caller:
    """Caller runs one sipp call in the background against the cluster."""

    def __init__(self, cluster, number, scenario, timeout=120):
        self.logdir = tempfile.mkdtemp(prefix="sipp.media.", dir=harness.WORK_ROOT)
        self.media_port = harness.sipp_media_port()
        self.cmd = ["sipp", "-sf", scenario, "-t", "u1", "-i", "127.0.0.1",
                    "-p", str(harness.free_port()), "-mp", str(self.media_port),
                    "-s", number, "-m", "1", "-timeout", "%ds" % timeout, "-timeout_error",
                    "-nostdin", "-trace_err", "-error_file", os.path.join(self.logdir, "errors.log"),
                    "-trace_msg", "-message_file", os.path.join(self.logdir, "messages.log"),
                    "127.0.0.1:%d" % cluster.sip_port]
        self._out = open(os.path.join(self.logdir, "stdout.log"), "w")
        import subprocess
        self.proc = subprocess.Popen(self.cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.logdir)

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            return self.proc.wait()
        finally:
            self._out.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def messages(self):
        try:
            with open(os.path.join(self.logdir, "messages.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# --- the database side ------------------------------------------------------

def media_dir(cluster):
    """media_dir is cc.media_dir of the cluster (its default, under the data directory)."""
    return os.path.join(cluster.datadir, "pg_callcenter", "media")


def recordings_dir(cluster):
    return os.path.join(cluster.datadir, "pg_callcenter", "recordings")


def number_with_flow(cluster, number, graph):
    """number_with_flow makes a published flow of graph and binds number to it."""
    import json
    flow = cluster.one("INSERT INTO cc.flows (name) VALUES (%s) RETURNING id", "flow-" + number)
    cluster.sql("INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) "
                "VALUES (%s, %s, true, now())", flow, json.dumps(graph))
    cluster.sql("INSERT INTO cc.numbers (number, inbound_flow_id) VALUES (%s, %s)", number, flow)
    # sipp calls from 127.0.0.1: a peering trunk lets it in (anyone else gets 403)
    cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('sipp', 'peering', '{127.0.0.1/32}') "
                "ON CONFLICT (name) DO NOTHING")
    return flow


def pause_flow(seconds=300):
    return {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "wait"}},
        {"id": "wait", "type": "pause", "properties": {"seconds": seconds}, "connections": {"next": "bye"}},
        {"id": "bye", "type": "end"}]}


def play_flow(prompt):
    return {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "play"}},
        {"id": "play", "type": "play", "properties": {"prompt": prompt}, "connections": {"next": "bye"}},
        {"id": "bye", "type": "end"}]}


def leg_of_peer(cluster, peer, timeout=15):
    """leg_of_peer waits for the media session whose SDP names the peer's
    port and returns (call_id, leg_id, session row as dict)."""
    def find():
        r = cluster.sql("SELECT s.leg_id, l.call_id, s.session, s.worker, s.local_port, s.codec "
                        "FROM cc.media_sessions s JOIN cc.legs l ON l.id = s.leg_id "
                        "WHERE s.remote = %s AND s.state = 'open'", "127.0.0.1:%d" % peer.port)
        return r[0] if r else None
    leg, call, session, worker, port, codec = harness.wait_until(find, timeout, what="media session of the call")
    return call, leg, {"session": session, "worker": worker, "port": port, "codec": codec}


def leg_by_remote_rtp(cluster, port, timeout=15):
    """leg_by_remote_rtp waits for the leg answered with RTP to 127.0.0.1:port; returns (call_id, leg_id)."""
    def f():
        r = cluster.sql("SELECT call_id, leg_id FROM cc.events WHERE type = 'leg.answered' "
                        "AND data->>'remote_rtp' = %s", "127.0.0.1:%d" % port)
        return r[0] if r else None
    return harness.wait_until(f, timeout, what="the leg with RTP to port %d" % port)


def send_actions(cluster, call, actions):
    """send_actions hands actions to cc sip (a call_actions command)."""
    import json
    cluster.sql("SELECT cc.call_actions_send(%s, %s::jsonb)", call, json.dumps(actions))


def leg_events(cluster, leg, type_):
    """leg_events lists the data of the leg's events of a type (leg.<type>), oldest first."""
    return [r[0] for r in cluster.sql("SELECT data FROM cc.events WHERE leg_id = %s AND type = %s "
                                      "ORDER BY seq", leg, "leg." + type_)]


def wait_event(cluster, leg, type_, pred=lambda d: True, timeout=15):
    def f():
        for d in leg_events(cluster, leg, type_):
            if pred(d):
                return d
        return None
    return harness.wait_until(f, timeout, what="leg.%s event" % type_)


class MediaCluster:
    """MediaCluster is a context manager for a Cluster with two media
    workers (sessions alternate between them) that keeps its files when
    the block fails."""

    def __init__(self, name, media_workers=2, extra_conf=None):
        conf = {"cc.rtp_timeout_s": "0"}
        conf.update(extra_conf or {})
        self.cluster = harness.Cluster(name, media_workers=media_workers, extra_conf=conf)

    def __enter__(self):
        self.cluster.start()
        return self.cluster

    def __exit__(self, exc_type, exc, tb):
        keep = exc_type is not None
        if keep:
            print("    cluster kept: %s" % self.cluster.basedir)
            for p in self.cluster.log_paths():
                print("    log: %s" % p)
        self.cluster.cleanup(keep=keep)
        # its RTP ports are free again: let later clusters of this run have them
        # (the harness hands out each range once, from 2,000 ports)
        harness._taken.difference_update(range(self.cluster.rtp_min, self.cluster.rtp_max + 2))
        return False
