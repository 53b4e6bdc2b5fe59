#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What leaktrace's defaults (malloc probes within --malloc-budget
included) cost real C services from Debian: redis-server (jemalloc) under
redis-benchmark SETs and memcached under memslap sets, each untraced and
traced, interleaved, RUNS times; heaptrack on the same redis workload for
comparison (launched under heaptrack, its LD_PRELOAD mode: attaching with
-p injects through gdb); and what one malloc+free pair costs a program
(tests/bench/mallocloop.c) untraced, with the defaults and with the probes
on throughout (--malloc-budget 100: the in-target cost per hit the budget
is calibrated with). Medians with min and max, ratios against untraced
(for the pair cost, a ratio above 1 is slower).
Writes RESULTS-services.md (or --out).

    tests/bench/services.py [--runs N] [--out FILE] [--requests N]
                            [--no-heaptrack] [--smoke]

Every service listens on 127.0.0.1 on a free port, in its own directory,
without persistence; loads are bounded (-n requests)."""
import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("LEAKTRACE_BUILD", os.path.join(os.getcwd(), "build"))
LT = os.path.join(BUILD, "leaktrace")
HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("service exited rc=%s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("port %d not listening" % port)


class Service:
    def __init__(self, argv, cwd, preload=None):
        self.proc = subprocess.Popen((preload or []) + argv, cwd=cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)

    def pid_of(self, name):
        """The service's pid (under heaptrack, its child)."""
        if os.path.basename(self.proc.args[0]) != "heaptrack":
            return self.proc.pid
        for _ in range(100):
            out = subprocess.run(["pgrep", "-s", str(self.proc.pid), "-x", name],
                                 capture_output=True, text=True).stdout.split()
            if out:
                return int(out[0])
            time.sleep(0.1)
        raise RuntimeError("no %s under heaptrack" % name)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)  # heaptrack writes its file
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def tracer(pid, out):
    """leaktrace with its defaults, until SIGINT (then its report)."""
    return subprocess.Popen([LT, "-p", str(pid), "--format", "json", "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop_tracer(t):
    t.send_signal(signal.SIGINT)
    try:
        t.wait(timeout=60)
    except subprocess.TimeoutExpired:
        t.kill()
        t.wait()


def redis_run(mode, n, tmp):
    port = free_port()
    d = tempfile.mkdtemp(dir=tmp)
    argv = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", d]
    pre = [shutil.which("heaptrack"), "-o", os.path.join(d, "heaptrack")] \
        if mode == "heaptrack" else None
    svc = Service(argv, d, pre)
    t = None
    try:
        wait_port(port, svc.proc, 60)
        if mode == "leaktrace":
            t = tracer(svc.pid_of("redis-server"), os.path.join(d, "lt.json"))
            time.sleep(1.5)  # attached (measures its uprobe cost first)
        out = subprocess.run([shutil.which("redis-benchmark"), "-p", str(port), "-t", "set",
                              "-n", str(n), "-r", "10000000", "-d", "64", "-c", "50", "-q"],
                             capture_output=True, text=True, timeout=600).stdout
        m = re.findall(r"SET: ([0-9.]+) requests per second", out.replace("\r", "\n"))
        if not m:
            raise RuntimeError("redis-benchmark said: %r" % out[-300:])
        return float(m[-1])
    finally:
        if t:
            stop_tracer(t)
        svc.stop()


def memcached_run(mode, n, tmp):
    port = free_port()
    d = tempfile.mkdtemp(dir=tmp)
    svc = Service([shutil.which("memcached"), "-m", "1024", "-p", str(port), "-l",
                   "127.0.0.1", "-U", "0", "-u", "root", "-t", "2"], d)
    t = None
    try:
        wait_port(port, svc.proc)
        if mode == "leaktrace":
            t = tracer(svc.proc.pid, os.path.join(d, "lt.json"))
            time.sleep(1.5)
        slap = shutil.which("memslap") or shutil.which("memcslap")
        t0 = time.monotonic()
        subprocess.run([slap, "--servers=127.0.0.1:%d" % port, "--concurrency=16",
                        "--execute-number=%d" % (n // 16), "--test=set", "--flush"],
                       capture_output=True, text=True, timeout=600, check=True)
        return n / (time.monotonic() - t0)
    finally:
        if t:
            stop_tracer(t)
        svc.stop()


def mallocloop_run(mode, n, tmp):
    """ns per malloc+free pair; 'probes on' = --malloc-budget 100."""
    exe = os.path.join(tmp, "mallocloop")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "mallocloop.c")],
                       check=True)
    p = subprocess.Popen([exe, str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    p.stdout.readline()
    t = None
    if mode != "untraced":
        t = subprocess.Popen([LT, "-p", str(p.pid), "--format", "json", "-o",
                              os.path.join(tmp, "ml.json")] +
                             (["--malloc-budget", "100"] if mode == "probes on" else []),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
        time.sleep(2.0)
    p.stdin.write("go\n")
    p.stdin.flush()
    out = p.stdout.readline()
    p.wait()
    if t:
        stop_tracer(t)
    return float(out.split()[0])


def summarize(v):
    return statistics.median(v), min(v), max(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--out")
    ap.add_argument("--no-heaptrack", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="one short run of each")
    a = ap.parse_args()
    if a.smoke:
        a.runs, a.requests = 1, 30000
    need = ["redis-server", "redis-benchmark", "memcached"]
    if not a.no_heaptrack:
        need.append("heaptrack")
    missing = [b for b in need if not shutil.which(b)] + \
        ([] if shutil.which("memslap") or shutil.which("memcslap") else ["memslap"])
    if missing:
        sys.exit("services.py: missing %s (run scripts/setup-bench.sh)" % ", ".join(missing))
    tmp = tempfile.mkdtemp(prefix="lt-bench-services-")
    modes = {"redis SET (req/s)": (redis_run, ["untraced", "leaktrace"] +
                                  ([] if a.no_heaptrack else ["heaptrack"])),
             "memcached set (req/s)": (memcached_run, ["untraced", "leaktrace"]),
             "malloc+free pair (ns)": (mallocloop_run, ["untraced", "leaktrace",
                                                        "probes on"])}
    res = {w: {m: [] for m in ms} for w, (_, ms) in modes.items()}
    for r in range(a.runs):
        for w, (fn, ms) in modes.items():
            for m in ms:  # interleaved: drift hits every mode alike
                v = fn(m, a.requests, tmp)
                res[w][m].append(v)
                print("run %d %-22s %-10s %10.0f" % (r + 1, w, m, v), flush=True)
    lines = ["# C services under load: leaktrace defaults and heaptrack", "",
             "`%s` on %s, kernel %s, %d CPUs, %s; median of %d interleaved runs (min-max)." % (
                 " ".join(["tests/bench/services.py"] + sys.argv[1:]), platform.node(),
                 platform.release(), os.cpu_count(),
                 datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), a.runs), "",
             "| workload | mode | throughput | ratio to untraced |", "|---|---|---|---|"]
    for w, by in res.items():
        base = statistics.median(by["untraced"])
        for m, v in by.items():
            med, lo, hi = summarize(v)
            lines.append("| %s | %s | %.0f (%.0f-%.0f) | %.3f |" % (w, m, med, lo, hi,
                                                                  med / base))
            print("%-22s %-10s ratio %.3f" % (w, m, med / base))
    text = "\n".join(lines) + "\n"
    if a.out or not a.smoke:
        with open(a.out or os.path.join(HERE, "RESULTS-services.md"), "w") as f:
            f.write(text)
    print(text)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
