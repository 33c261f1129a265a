"""harness.py: starts throwaway PostgreSQL clusters with pg_callcenter loaded,
and talks SIP to them, for the end-to-end tests (test/e2e) and the
benchmarks (bench/).

Runs as an unprivileged OS user with /usr/bin/python3 (psycopg2 from Debian's
python3-psycopg2; the standard library otherwise).  A Cluster is initdb'd
into a fresh directory on free ports, preloads pg_cron and pg_callcenter,
creates the database `cc_test` with the extension, and waits for the
workers.  Its data directory and server log are kept when a test fails and
removed otherwise.
"""

import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import psycopg2
import psycopg2.extensions

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SIPP_DIR = os.path.join(HERE, "sipp")
# Every cluster, sipp log and kept failure lives under here (git-ignored
# through the tmp_check/ pattern).
WORK_ROOT = os.environ.get("CC_TEST_WORKDIR", os.path.join(HERE, "tmp_check"))

WORKERS = ("cc sip", "cc media 0", "cc http")


def pg_bindir():
    """pg_bindir returns PostgreSQL 15's bin directory (pg_config --bindir)."""
    pg_config = os.environ.get("PG_CONFIG", "/usr/bin/pg_config")
    return subprocess.check_output([pg_config, "--bindir"], text=True).strip()


# Ports already handed out by this process, so two clusters or a cluster and
# a sipp never get the same one.  55432-55500 belong to another test suite.
_taken = set()
# 25000-25999 are the fixed ports of test/regress.conf and isolation.conf.
_AVOID = set(range(55400, 55600)) | set(range(25000, 26000))


def _port_free(port):
    """_port_free tells whether port can be bound on 127.0.0.1 over TCP and UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port(lo=20000, hi=30000):
    """free_port returns a port free on TCP and UDP that this process has not
    handed out before.  The range stays below Linux's ephemeral ports."""
    for _ in range(2000):
        p = random.randrange(lo, hi)
        if p in _taken or p in _AVOID:
            continue
        if _port_free(p):
            _taken.add(p)
            return p
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


def release_ports(ports):
    """release_ports lets free_port and free_port_range hand ports out again
    (a cluster's, once it is stopped): a run of many clusters would otherwise
    use up the 30000-32700 range of RTP ports."""
    _taken.difference_update(ports)


def free_port_range(count, lo=30000, hi=32700):
    """free_port_range returns (first, last) of count free ports, first even."""
    for _ in range(200):
        first = random.randrange(lo, hi - count) & ~1
        ports = range(first, first + count)
        if any(p in _taken for p in ports):
            continue
        if all(_port_free(p) for p in ports[::2]):
            _taken.update(ports)
            # pg_callcenter wants both ends even.
            return first, first + count - 2
    raise RuntimeError("no free port range of %d" % count)


def sipp_media_port():
    """sipp_media_port returns an even port for sipp's -mp.  sipp binds it
    and the port two above (its video RTP); the four ports from it are kept
    from every later caller of free_port and free_port_range in this
    process, so that sipps started together never collide (a port merely
    free when asked was taken by the video socket of another caller)."""
    return free_port_range(4, lo=40000, hi=50000)[0]


def wait_until(fn, timeout=10.0, interval=0.1, what=None):
    """wait_until calls fn until it returns something true and returns that;
    past timeout seconds it raises AssertionError naming what it waited for.
    Exceptions from fn count as "not yet" (the last one is reported)."""
    deadline = time.time() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.time() >= deadline:
            msg = "timed out after %.1f s waiting for %s" % (
                timeout, what or getattr(fn, "__name__", "condition"))
            if last_exc is not None:
                msg += " (last error: %s)" % str(last_exc).strip()
            raise AssertionError(msg)
        time.sleep(interval)


_LOST = re.compile(r"server closed the connection|terminating connection|"
                   r"could not connect|connection refused|no such file or directory|"
                   r"the database system is|connection already closed|"
                   r"could not receive data|could not send data|SSL SYSCALL",
                   re.I)


def _connection_lost(exc, conn):
    """_connection_lost tells whether a psycopg2 error means the connection
    is gone or the server is (re)starting, as opposed to a failed statement
    (psycopg2 reports a connection closed mid-query as a plain DatabaseError)."""
    if isinstance(exc, psycopg2.InterfaceError):
        return True
    if getattr(exc, "pgcode", None) in ("57P01", "57P02", "57P03"):
        return True
    if conn is not None and conn.closed:
        return True
    return bool(_LOST.search(str(exc)))


class Cluster:
    """Cluster is one throwaway PostgreSQL 15 server with pg_callcenter.

    Attributes: datadir, logfile, port (PostgreSQL, also on 127.0.0.1),
    sockdir, sip_port, rtp_min/rtp_max, dbname.
    """

    def __init__(self, name="cluster", media_workers=1, extra_conf=None,
                 dbname="cc_test", create_extension=True):
        self.name = name
        self.dbname = dbname
        self.media_workers = media_workers
        self.extra_conf = dict(extra_conf or {})
        self.create_extension = create_extension
        os.makedirs(WORK_ROOT, exist_ok=True)
        self.basedir = tempfile.mkdtemp(prefix=re.sub(r"\W", "_", name) + ".",
                                        dir=WORK_ROOT)
        self.datadir = os.path.join(self.basedir, "data")
        self.logfile = os.path.join(self.basedir, "postgresql.log")
        # Unix socket paths are limited to 107 bytes: keep the directory short.
        self.sockdir = tempfile.mkdtemp(prefix="ccs.", dir="/tmp")
        self.port = free_port()
        self.sip_port = free_port()
        self.rtp_min, self.rtp_max = free_port_range(100)
        self.bindir = pg_bindir()
        self._conn = None
        self.started = False

    # -- life cycle -------------------------------------------------------

    def _run(self, *cmd, check=True, timeout=120):
        """_run runs a PostgreSQL program, its output appended to the log."""
        with open(os.path.join(self.basedir, "commands.log"), "a") as out:
            out.write("$ %s\n" % " ".join(cmd))
            out.flush()
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                               timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (exit %d); see %s" % (
                cmd[0], r.returncode, os.path.join(self.basedir, "commands.log")))
        return r.returncode

    def _single_user(self, statement):
        """_single_user runs one statement in single-user mode (server down)."""
        with open(os.path.join(self.basedir, "commands.log"), "a") as out:
            out.write("$ postgres --single: %s\n" % statement)
            out.flush()
            r = subprocess.run([os.path.join(self.bindir, "postgres"), "--single",
                                "-D", self.datadir, "-j", "postgres"],
                               input=(statement + ";\n").encode(), stdout=out,
                               stderr=subprocess.STDOUT, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("single-user %r failed; see %s" % (
                statement, os.path.join(self.basedir, "commands.log")))

    def conf(self):
        """conf returns the postgresql.conf settings of this cluster."""
        c = {
            "shared_preload_libraries": "'pg_cron,pg_callcenter'",
            "cron.database_name": "'%s'" % self.dbname,
            "cc.database": "'%s'" % self.dbname,
            "cc.sip_listen": "'sip:127.0.0.1:%d'" % self.sip_port,
            "cc.rtp_port_min": str(self.rtp_min),
            "cc.rtp_port_max": str(self.rtp_max),
            "cc.media_workers": str(self.media_workers),
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": "'%s'" % self.sockdir,
            "logging_collector": "off",
            "log_min_messages": "info",
            "log_line_prefix": "'%m [%p] %b '",
            "log_connections": "off",
            "fsync": "off",
            "max_connections": "50",
        }
        c.update(self.extra_conf)
        return c

    def start(self, timeout=30):
        """start initdb's (first time), starts the server, creates the
        database and the extension, and waits for every worker."""
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            self._run(os.path.join(self.bindir, "initdb"), "-D", self.datadir,
                      "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
            # Create the database before the workers and pg_cron look for
            # it (single-user mode, before the preload is configured), so
            # their first start finds it.
            self._single_user('CREATE DATABASE "%s"' % self.dbname)
            with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
                f.write("\n# pg_callcenter test harness\n")
                for k, v in self.conf().items():
                    f.write("%s = %s\n" % (k, v))
        self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir,
                  "-l", self.logfile, "-w", "-t", str(timeout), "start")
        self.started = True
        exists = self.sql("SELECT 1 FROM pg_database WHERE datname = %s",
                          self.dbname, db="postgres")
        if not exists:
            self.sql('CREATE DATABASE "%s"' % self.dbname, db="postgres")
        if self.create_extension:
            self.sql("CREATE EXTENSION IF NOT EXISTS pg_callcenter CASCADE")
            self.wait_workers(timeout=timeout)
        return self

    def stop(self, mode="fast"):
        """stop stops the server (if it runs)."""
        self.close()
        if self.started:
            self._run(os.path.join(self.bindir, "pg_ctl"), "-D", self.datadir,
                      "-m", mode, "-w", "-t", "60", "stop", check=False)
            self.started = False

    def restart(self):
        """restart restarts the server and waits for the workers."""
        self.stop()
        return self.start()

    def cleanup(self, keep):
        """cleanup stops the server; it removes its files unless keep."""
        self.stop()
        release_ports(range(self.rtp_min, self.rtp_max + 2))
        shutil.rmtree(self.sockdir, ignore_errors=True)
        if not keep:
            shutil.rmtree(self.basedir, ignore_errors=True)

    def log_paths(self):
        """log_paths lists the files worth reading after a failure."""
        return [p for p in (self.logfile,
                            os.path.join(self.basedir, "commands.log"))
                if os.path.exists(p)]

    def log_text(self):
        """log_text returns the server log so far."""
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- SQL --------------------------------------------------------------

    def dsn(self, db=None):
        return "host=%s port=%d dbname=%s" % (self.sockdir, self.port,
                                              db or self.dbname)

    def connect(self, db=None, autocommit=False):
        """connect returns a new psycopg2 connection (the caller closes it)."""
        c = psycopg2.connect(self.dsn(db), connect_timeout=5)
        c.autocommit = autocommit
        return c

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
            self._conn = None

    def sql(self, query, *args, db=None, retry=0.0):
        """sql runs one statement in autocommit and returns its rows (a list
        of tuples) or, for a statement without result, its row count.

        The default database uses a persistent connection that is reopened
        when it was lost (after a crash restart).  retry > 0: on a lost or
        refused connection, retry for that many seconds (for statements
        issued while the postmaster recovers from a crash)."""
        deadline = time.time() + retry
        while True:
            try:
                if db is not None and db != self.dbname:
                    c = self.connect(db, autocommit=True)
                    try:
                        return self._exec(c, query, args)
                    finally:
                        c.close()
                if self._conn is None or self._conn.closed:
                    self._conn = self.connect(autocommit=True)
                return self._exec(self._conn, query, args)
            except psycopg2.Error as e:
                if not _connection_lost(e, self._conn):
                    raise
                self.close()
                if time.time() >= deadline:
                    raise
                time.sleep(0.1)

    @staticmethod
    def _exec(conn, query, args):
        with conn.cursor() as cur:
            cur.execute(query, args or None)
            if cur.description is not None:
                return cur.fetchall()
            return cur.rowcount

    def one(self, query, *args, **kw):
        """one returns the first column of the first row (or None)."""
        rows = self.sql(query, *args, **kw)
        return rows[0][0] if rows else None

    # -- workers ----------------------------------------------------------

    def worker_pid(self, backend_type):
        """worker_pid returns the pid of the worker shown as backend_type in
        pg_stat_activity, or None while it is not running."""
        return self.one("SELECT pid FROM pg_stat_activity WHERE backend_type = %s",
                        backend_type, retry=5)

    def worker_names(self):
        return tuple(["cc sip"] + ["cc media %d" % i
                                   for i in range(self.media_workers)]
                     + ["cc http"])

    def wait_workers(self, timeout=15):
        """wait_workers waits until every worker shows in pg_stat_activity
        (and, for cc sip, until its SIP port answers) and returns their pids
        by name."""
        names = self.worker_names()

        def all_up():
            rows = self.sql("SELECT backend_type, pid FROM pg_stat_activity "
                            "WHERE backend_type LIKE 'cc %%'")
            pids = dict(rows)
            return pids if all(n in pids for n in names) else None
        pids = wait_until(all_up, timeout, what="workers %s" % (names,))
        wait_until(lambda: sip_ping(self.sip_port), timeout,
                   what="cc sip answering OPTIONS on UDP port %d" % self.sip_port)
        return pids

    def kill_worker(self, backend_type, sig=signal.SIGKILL):
        """kill_worker sends sig to the worker and returns its (old) pid."""
        pid = self.worker_pid(backend_type)
        assert pid, "%s is not running" % backend_type
        self.close()
        os.kill(pid, sig)
        return pid


# -- SIP over raw sockets -------------------------------------------------

def sip_request(method, uri, local_port, transport="UDP", branch=None,
                call_id=None, extra_headers=(), cseq=None):
    """sip_request builds a minimal SIP request as bytes."""
    branch = branch or "z9hG4bK-%08x" % random.getrandbits(32)
    call_id = call_id or "%08x@harness" % random.getrandbits(32)
    lines = [
        "%s %s SIP/2.0" % (method, uri),
        "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s;rport" % (transport, local_port, branch),
        "Max-Forwards: 70",
        "From: <sip:harness@127.0.0.1:%d>;tag=%08x" % (local_port, random.getrandbits(32)),
        "To: <%s>" % uri,
        "Call-ID: %s" % call_id,
        cseq or "CSeq: 1 %s" % method,
        "Contact: <sip:harness@127.0.0.1:%d>" % local_port,
    ]
    lines.extend(extra_headers)
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_code(data):
    """status_code returns the code of a SIP response (bytes), else None."""
    m = re.match(rb"SIP/2\.0 (\d{3}) ", data or b"")
    return int(m.group(1)) if m else None


def udp_exchange(port, payload, timeout=2.0, host="127.0.0.1"):
    """udp_exchange sends one datagram to host:port and returns the first
    datagram that comes back within timeout, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        if callable(payload):
            payload = payload(s.getsockname()[1])
        s.settimeout(timeout)
        s.sendto(payload, (host, port))
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                return None
            # Skip provisional responses (100 Trying).
            code = status_code(data)
            if code is not None and code < 200:
                continue
            return data
        return None
    finally:
        s.close()


def sip_ping(port, timeout=1.0):
    """sip_ping sends OPTIONS over UDP and returns the final status code, or
    None when nothing answered."""
    uri = "sip:127.0.0.1:%d" % port
    data = udp_exchange(port, lambda lp: sip_request("OPTIONS", uri, lp), timeout)
    return status_code(data)


class SipListener:
    """SipListener is a tiny UDP SIP peer on 127.0.0.1 for tests: it records
    every request it receives (with time.time() of arrival) and, if answer
    is set, answers each with that status code.

        with SipListener(answer=200) as peer:
            ... peer.requests ... peer.wait_for(lambda r: ..., timeout)
    """

    def __init__(self, answer=200, port=None):
        self.answer = answer
        self.port = port or free_port()
        self.requests = []  # dicts: at, method, uri, data, addr
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @property
    def uri(self):
        return "sip:127.0.0.1:%d" % self.port

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop = True
        if self._thread.is_alive():
            self._thread.join(2)
        self._sock.close()

    def _loop(self):
        while not self._stop:
            try:
                data, addr = self._sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            at = time.time()
            m = re.match(rb"([A-Z]+) (\S+) SIP/2\.0\r\n", data)
            if not m:
                continue  # a response or garbage: not ours to record
            req = {"at": at, "method": m.group(1).decode(),
                   "uri": m.group(2).decode(errors="replace"),
                   "data": data, "addr": addr}
            with self._cond:
                self.requests.append(req)
                self._cond.notify_all()
            if self.answer:
                try:
                    self._sock.sendto(self._response(data, self.answer), addr)
                except OSError:
                    pass

    @staticmethod
    def _response(req, code):
        """_response builds a final response to req (bytes)."""
        reasons = {200: "OK", 404: "Not Found", 486: "Busy Here",
                   503: "Service Unavailable"}
        head = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
        out = [("SIP/2.0 %d %s" % (code, reasons.get(code, "Whatever"))).encode()]
        for h in head:
            name = h.split(b":", 1)[0].strip().lower()
            if name in (b"via", b"v", b"from", b"f", b"call-id", b"i",
                        b"cseq"):
                out.append(h)
            elif name in (b"to", b"t"):
                out.append(h if b"tag=" in h else h + b";tag=harness")
        out.append(b"Content-Length: 0")
        return b"\r\n".join(out) + b"\r\n\r\n"

    def matching(self, pred=None):
        with self._cond:
            return [r for r in self.requests if pred is None or pred(r)]

    def wait_for(self, pred=None, timeout=5.0):
        """wait_for returns the first request for which pred is true, waiting
        up to timeout seconds; None if none came."""
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for r in self.requests:
                    if pred is None or pred(r):
                        return r
                left = deadline - time.time()
                if left <= 0:
                    return None
                self._cond.wait(left)


# -- sipp -------------------------------------------------------------------

class SippResult:
    """SippResult is a finished sipp run: returncode, and its log files."""

    def __init__(self, returncode, logdir, cmd):
        self.returncode = returncode
        self.logdir = logdir
        self.cmd = cmd

    @property
    def ok(self):
        return self.returncode == 0

    def logs(self):
        """logs returns the text of sipp's stdout, error and message logs."""
        out = []
        for name in sorted(os.listdir(self.logdir)):
            with open(os.path.join(self.logdir, name), errors="replace") as f:
                out.append("--- %s ---\n%s" % (name, f.read()[-4000:]))
        return "\n".join(out)

    def __repr__(self):
        return "sipp exit %s (%s); logs in %s" % (self.returncode,
                                                 " ".join(self.cmd), self.logdir)


def scenario_path(name):
    """scenario_path resolves a scenario name in test/sipp (".xml" optional)."""
    if os.path.isabs(name):
        return name
    if not name.endswith(".xml"):
        name += ".xml"
    return os.path.join(SIPP_DIR, name)


def _sipp_cmd(scenario, remote, transport, local_port, extra, logdir, calls,
              timeout):
    cmd = ["sipp", "-sf", scenario_path(scenario),
           "-t", transport, "-i", "127.0.0.1", "-p", str(local_port),
           "-mp", str(sipp_media_port()),
           "-m", str(calls), "-timeout", "%ds" % timeout, "-timeout_error",
           "-nostdin", "-trace_err", "-error_file", os.path.join(logdir, "errors.log"),
           "-trace_msg", "-message_file", os.path.join(logdir, "messages.log")]
    cmd += list(extra)
    if remote:
        cmd.append(remote)
    return cmd


def sipp(scenario, remote=None, transport="u1", extra=(), timeout=10,
         calls=1, name=None):
    """sipp runs a sipp scenario (from test/sipp) in the foreground against
    remote ("127.0.0.1:PORT") and returns a SippResult: exit code 0 means
    every call succeeded."""
    os.makedirs(WORK_ROOT, exist_ok=True)
    logdir = tempfile.mkdtemp(prefix="sipp.%s." % (name or os.path.basename(
        scenario).replace(".xml", "")), dir=WORK_ROOT)
    cmd = _sipp_cmd(scenario, remote, transport, free_port(), extra, logdir,
                    calls, timeout)
    with open(os.path.join(logdir, "stdout.log"), "w") as out:
        try:
            r = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, timeout=timeout + 10,
                               cwd=logdir)
            code = r.returncode
        except subprocess.TimeoutExpired:
            code = -1
    return SippResult(code, logdir, cmd)


class SippServer:
    """SippServer runs a sipp UAS scenario in the background on a free local
    port (self.port) until calls calls are done; wait() returns a
    SippResult."""

    def __init__(self, scenario, transport="u1", calls=1, timeout=30,
                 extra=()):
        os.makedirs(WORK_ROOT, exist_ok=True)
        self.port = free_port()
        self.timeout = timeout
        self.logdir = tempfile.mkdtemp(prefix="sipp.uas.", dir=WORK_ROOT)
        self.cmd = _sipp_cmd(scenario, None, transport, self.port, extra,
                             self.logdir, calls, timeout)
        self._out = open(os.path.join(self.logdir, "stdout.log"), "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self._out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.logdir)
        # sipp binds its port right away; give it a moment.
        time.sleep(0.3)

    @property
    def uri(self):
        return "sip:127.0.0.1:%d" % self.port

    def wait(self, timeout=None):
        try:
            code = self.proc.wait(timeout or self.timeout + 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._out.close()
        return SippResult(code, self.logdir, self.cmd)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        return self.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.kill()
