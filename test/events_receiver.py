"""events_receiver.py: a real HTTP receiver for the webhook and HTTP request
tests (Python standard library: http.server with a thread per connection,
HTTP/1.1 keep-alive), on 127.0.0.1.

    with Receiver(secret="s3cret", fail_first=2) as r:     # 503, 503, then 200
        ... r.url ... r.wait_for(n=1) ... r.requests ...

Behaviours, combinable:
  status        the status of a normal answer (200)
  fail_first    answer the first N requests with fail_status (503)
  fail_status   the status of those failures
  retry_after   a Retry-After value sent with every failure
  delay         seconds to wait before answering each request
  body          the body of each answer (bytes or str; JSON by default)
A closed port (nothing listening) is closed_port().

Every request is recorded with its arrival time, method, path, headers
(lowercase names), body, and, when the receiver has a secret, whether its
signature is valid (verify_signature, the check docs/events.md describes).
"""

import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

import harness


def verify_signature(secret, headers, body, tolerance_s=300, now=None):
    """verify_signature checks a delivery as a receiver should: X-CC-Signature
    is v1=hex(HMAC-SHA256(secret, X-CC-Timestamp + "." + body)), compared in
    constant time, and the timestamp is within tolerance_s of now."""
    ts = headers.get("x-cc-timestamp")
    sig = headers.get("x-cc-signature", "")
    if not ts or not sig.startswith("v1="):
        return False
    try:
        t = int(ts)
    except ValueError:
        return False
    if abs((now or time.time()) - t) > tolerance_s:
        return False
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, sig[3:])


def closed_port():
    """closed_port returns a URL on 127.0.0.1 where nothing listens."""
    return "http://127.0.0.1:%d/down" % harness.free_port()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _handle(self):
        r = self.server.receiver
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        at = time.time()
        headers = {k.lower(): v for k, v in self.headers.items()}
        rec = {"at": at, "method": self.command, "path": self.path,
               "headers": headers, "body": body, "signature_ok": None}
        if r.secret is not None:
            rec["signature_ok"] = verify_signature(r.secret, headers, body)
        with r.cond:
            r.count += 1
            index = r.count
            r.requests.append(rec)
            r.cond.notify_all()
        if r.delay:
            time.sleep(r.delay)
        if index <= r.fail_first:
            status = r.fail_status
            extra = {"Retry-After": str(r.retry_after)} if r.retry_after is not None else {}
        else:
            status = r.status
            extra = {}
        out = r.body if isinstance(r.body, bytes) else r.body.encode()
        rec["answered"] = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", r.content_type)
            self.send_header("Content-Length", str(len(out)))
            self.send_header("X-Receiver", "events-test")
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class Receiver:
    """Receiver is an HTTP server on a free port of 127.0.0.1 that records
    what it receives and answers as configured (see the module comment)."""

    def __init__(self, secret=None, status=200, fail_first=0, fail_status=503,
                 retry_after=None, delay=0.0, body=b'{"ok": true}',
                 content_type="application/json"):
        self.secret = secret
        self.status = status
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.retry_after = retry_after
        self.delay = delay
        self.body = body
        self.content_type = content_type
        self.requests = []
        self.count = 0
        self.cond = threading.Condition()
        self.port = harness.free_port()
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.receiver = self
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def matching(self, pred=None):
        with self.cond:
            return [r for r in self.requests if pred is None or pred(r)]

    def wait_for(self, pred=None, n=1, timeout=10.0):
        """wait_for waits until n recorded requests satisfy pred and returns
        them; raises AssertionError after timeout seconds."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                got = [r for r in self.requests if pred is None or pred(r)]
                if len(got) >= n:
                    return got
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("receiver on port %d: %d of %d requests after %.1f s"
                                         % (self.port, len(got), n, timeout))
                self.cond.wait(left)

    @staticmethod
    def json(rec):
        """json returns the body of a recorded request, parsed."""
        return json.loads(rec["body"].decode())


def port_is_closed(url):
    """port_is_closed tells whether nothing accepts connections at url."""
    port = int(url.split(":")[2].split("/")[0])
    s = socket.socket()
    s.settimeout(0.5)
    try:
        return s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()
