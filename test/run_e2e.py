#!/usr/bin/python3
"""run_e2e.py: runs pg_callcenter's end-to-end tests (test/e2e/test_*.py).

Every function named test_* in those files is a test.  Its parameters name
its fixture:
  cluster        the file's shared Cluster (started on first use)
  fresh_cluster  a Cluster of its own (for tests that kill workers)
A test passes when it returns, fails when it raises.  The runner prints
`ok NAME (seconds)` or `FAILED NAME: reason`, then totals as
`e2e: N passed, N failed`, and exits 1 if anything failed.  The cluster
and sipp logs of a failure are kept under test/tmp_check/ and their paths
printed; those of a run without failure are removed.

    /usr/bin/python3 test/run_e2e.py                  # everything
    /usr/bin/python3 test/run_e2e.py foundation       # files matching
    /usr/bin/python3 test/run_e2e.py -k line_or_name  # tests matching
Run it as an unprivileged user (initdb refuses root) after `make install`.
"""

import argparse
import glob
import importlib.util
import inspect
import os
import shutil
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


def load(path):
    """load imports a test file as a module."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tests_of(mod):
    """tests_of lists (name, function) of a module in definition order."""
    fns = [(n, f) for n, f in vars(mod).items()
           if n.startswith("test_") and inspect.isfunction(f)
           and f.__module__ == mod.__name__]
    fns.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    return fns


def print_logs(paths, lines=30):
    """print_logs prints each path and the tail of each file."""
    for p in paths:
        print("    log: %s" % p)
        if os.path.isfile(p):
            try:
                with open(p, errors="replace") as f:
                    tail = f.readlines()[-lines:]
            except OSError:
                continue
            for line in tail:
                print("      | " + line.rstrip("\n"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", help="substrings of test file names")
    ap.add_argument("-k", dest="keyword", help="run only tests whose name contains this")
    ap.add_argument("--keep", action="store_true", help="keep clusters and logs even on success")
    opts = ap.parse_args()

    if os.geteuid() == 0:
        print("run_e2e.py: run as an unprivileged user (initdb refuses root)", file=sys.stderr)
        return 2

    # Each run gets its own directory for clusters and sipp logs.
    os.makedirs(harness.WORK_ROOT, exist_ok=True)
    rundir = os.path.join(harness.WORK_ROOT, "e2e-" + time.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(rundir, exist_ok=True)
    harness.WORK_ROOT = rundir

    files = sorted(glob.glob(os.path.join(HERE, "e2e", "test_*.py")))
    if opts.files:
        files = [f for f in files if any(s in os.path.basename(f) for s in opts.files)]
    sys.path.insert(0, os.path.join(HERE, "e2e"))

    passed = failed = 0
    kept = []
    for path in files:
        fname = os.path.basename(path)
        try:
            mod = load(path)
        except Exception:  # noqa: BLE001
            print("FAILED %s: cannot import\n%s" % (fname, traceback.format_exc()))
            failed += 1
            continue
        shared = None
        shared_failed = False
        for name, fn in tests_of(mod):
            full = "%s::%s" % (fname[:-3], name)
            if opts.keyword and opts.keyword not in full:
                continue
            params = list(inspect.signature(fn).parameters)
            own = None
            t0 = time.time()
            try:
                kwargs = {}
                if "cluster" in params:
                    if shared is None:
                        shared = harness.Cluster(fname[:-3])
                        shared.start()
                    kwargs["cluster"] = shared
                if "fresh_cluster" in params:
                    own = harness.Cluster(name[:40])
                    own.start()
                    kwargs["fresh_cluster"] = own
                fn(**kwargs)
            except BaseException as e:  # noqa: BLE001 - a test may raise anything
                if isinstance(e, KeyboardInterrupt):
                    raise
                failed += 1
                reason = "".join(traceback.format_exception_only(type(e), e)).strip()
                print("FAILED %s (%.1f s): %s" % (full, time.time() - t0, reason))
                tb = traceback.format_exc().rstrip().split("\n")
                for line in tb[-12:]:
                    print("    " + line)
                for c in (own, shared if "cluster" in params else None):
                    if c is not None:
                        print_logs(c.log_paths())
                if "cluster" in params:
                    shared_failed = True
                if own is not None:
                    own.cleanup(keep=True)
                    kept.append(own.basedir)
                continue
            passed += 1
            print("ok %s (%.1f s)" % (full, time.time() - t0))
            if own is not None:
                own.cleanup(keep=opts.keep)
        if shared is not None:
            shared.cleanup(keep=shared_failed or opts.keep)
            if shared_failed:
                kept.append(shared.basedir)

    if failed == 0 and not opts.keep:
        shutil.rmtree(rundir, ignore_errors=True)
    else:
        print("e2e: logs kept in %s" % rundir)
        for k in kept:
            print("e2e: kept cluster %s" % k)
    if passed + failed == 0:
        print("e2e: no test matched")
    print("e2e: %d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
