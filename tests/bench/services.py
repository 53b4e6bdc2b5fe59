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
(for the pair cost, a ratio above 1 is slower); and the host-wide tax of
syscall tracepoints: what a getppid() costs a process leaktrace does not
trace while it traces another (tests/bench/syscallloop.c), and what the
steady redis load and memcached pay when leaktrace traces an idle process
instead of them with the tracepoints (mode "tax only"); and the services
traced with the tracepoints leaktrace used before it probed a C process at
its own syscall sites (mode "tracepoints").
Writes RESULTS-services.md (or --out).

    tests/bench/services.py [--runs N] [--out FILE] [--requests N]
                            [--redis-requests N] [--memcached-requests N]
                            [--only REGEX] [--no-heaptrack] [--smoke]

Every service listens on 127.0.0.1 on a free port, in its own directory,
without persistence; loads are bounded (-n requests)."""
import argparse
import datetime
import json
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
CPU_SEEN = []   # (service us/req, leaktrace % of a core) of the last service run
SAMPLING = []   # malloc_sampling of the last traced run


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


def tracer(pid, out, extra=()):
    """leaktrace with its defaults (plus extra), until SIGINT (then its report)."""
    return subprocess.Popen([LT, "-p", str(pid), "--format", "json", "-o", out, *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


class Traced:
    """leaktrace for a run's mode: on the service with its defaults
    ('leaktrace'), or with the syscall tracepoints that were its defaults
    before (--mem-probes=tracepoints: 'tracepoints'), or on an idle process
    with the tracepoints ('tax only': what the service pays for the syscall
    tracepoints alone, the host-wide tax), or none. pid 0: an idle
    process."""

    def __init__(self, mode, pid, out):
        self.t = self.idle = None
        if mode == "tax only" or not pid:
            self.idle = subprocess.Popen(["sleep", "600"])
            pid = self.idle.pid
        if mode in ("leaktrace", "tax only", "tracepoints"):
            self.t = tracer(pid, out, ["--mem-probes=tracepoints"]
                            if mode != "leaktrace" else [])
            time.sleep(1.5)  # attached (measures its uprobe cost first)

    def cpu(self):
        return cpu_s(self.t.pid) if self.t else 0

    def stop(self):
        if self.t:
            stop_tracer(self.t)
        if self.idle:
            self.idle.kill()
            self.idle.wait()


def stop_tracer(t):
    t.send_signal(signal.SIGINT)
    try:
        t.wait(timeout=60)
    except subprocess.TimeoutExpired:
        t.kill()
        t.wait()


def cpu_s(pid):
    """utime + stime of a process, seconds (/proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def redis_run(mode, n, tmp):
    """req/s; also redis-server's CPU per request (us) and leaktrace's CPU
    (% of a core) during the load, in CPU_SEEN: CPU seconds are steadier
    than throughput on a shared machine."""
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
        pid = svc.pid_of("redis-server")
        t = Traced(mode, pid, os.path.join(d, "lt.json"))
        c0, l0, w0 = cpu_s(pid), t.cpu(), time.monotonic()
        out = subprocess.run([shutil.which("redis-benchmark"), "-p", str(port), "-t", "set",
                              "-n", str(n), "-r", "10000000", "-d", "64", "-c", "50", "-q"],
                             capture_output=True, text=True, timeout=600).stdout
        c1, l1, w1 = cpu_s(pid), t.cpu(), time.monotonic()
        m = re.findall(r"SET: ([0-9.]+) requests per second", out.replace("\r", "\n"))
        if not m:
            raise RuntimeError("redis-benchmark said: %r" % out[-300:])
        CPU_SEEN.append(((c1 - c0) / n * 1e6, (l1 - l0) / (w1 - w0) * 100))
        return float(m[-1])
    finally:
        if t:
            t.stop()
        if mode == "leaktrace":
            try:
                with open(os.path.join(d, "lt.json")) as f:
                    SAMPLING.append(json.load(f).get("malloc_sampling") or {})
            except (OSError, ValueError):
                pass
        svc.stop()


def memcached_run(mode, n, tmp):
    """req/s; memcached's CPU per request and leaktrace's CPU in CPU_SEEN."""
    port = free_port()
    d = tempfile.mkdtemp(dir=tmp)
    svc = Service([shutil.which("memcached"), "-m", "1024", "-p", str(port), "-l",
                   "127.0.0.1", "-U", "0", "-u", "root", "-t", "2"], d)
    t = None
    try:
        wait_port(port, svc.proc)
        t = Traced(mode, svc.proc.pid, os.path.join(d, "lt.json"))
        slap = shutil.which("memslap") or shutil.which("memcslap")
        pid = svc.proc.pid
        c0, l0, t0 = cpu_s(pid), t.cpu(), time.monotonic()
        subprocess.run([slap, "--servers=127.0.0.1:%d" % port, "--concurrency=16",
                        "--execute-number=%d" % (n // 16), "--test=set", "--flush"],
                       capture_output=True, text=True, timeout=600, check=True)
        c1, l1, t1 = cpu_s(pid), t.cpu(), time.monotonic()
        CPU_SEEN.append(((c1 - c0) / n * 1e6, (l1 - l0) / (t1 - t0) * 100))
        return n / (t1 - t0)
    finally:
        if t:
            t.stop()
        svc.stop()


LOOP_S = 3.0


def mallocloop_run(mode, n, tmp):
    """ns per malloc+free pair over LOOP_S seconds (a loop of a request
    count, ~2 ms, fell inside the probes' first window: a 57x artifact);
    'probes on' = --malloc-budget 100."""
    exe = os.path.join(tmp, "mallocloop")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "mallocloop.c")],
                       check=True)
    secs = LOOP_S if mode != "probes on" else LOOP_S / 3  # ~3 us a pair there
    p = subprocess.Popen([exe, "-t", str(secs)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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


def syscall_run(mode, n, tmp):
    """ns per getppid() of a process leaktrace does not trace, while it
    traces an idle one with the tracepoints ('tax only'), with its defaults
    ('leaktrace': the idle process's syscall sites), or nothing."""
    exe = os.path.join(tmp, "syscallloop")
    if not os.path.exists(exe):
        subprocess.run(["gcc", "-O2", "-o", exe, os.path.join(HERE, "syscallloop.c")],
                       check=True)
    t = Traced(mode, 0, os.path.join(tmp, "idle.json"))
    try:
        out = subprocess.run([exe, "2"], capture_output=True, text=True, check=True).stdout
        return float(out.split()[0])
    finally:
        t.stop()


def summarize(v):
    return statistics.median(v), min(v), max(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300000)
    ap.add_argument("--redis-requests", type=int, default=2000000)
    # memcached serves ~90k sets/s here: 600k is ~7 s of load, where 300k
    # (~3.5 s) left memslap's connect and flush a large share of the run.
    ap.add_argument("--memcached-requests", type=int, default=600000)
    ap.add_argument("--only", help="regex: the workloads to run")
    ap.add_argument("--out")
    ap.add_argument("--no-heaptrack", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="one short run of each")
    a = ap.parse_args()
    if a.smoke:
        a.runs, a.requests, a.redis_requests, a.memcached_requests = 1, 30000, 100000, 30000
    need = ["redis-server", "redis-benchmark", "memcached"]
    if not a.no_heaptrack:
        need.append("heaptrack")
    missing = [b for b in need if not shutil.which(b)] + \
        ([] if shutil.which("memslap") or shutil.which("memcslap") else ["memslap"])
    if missing:
        sys.exit("services.py: missing %s (run scripts/setup-bench.sh)" % ", ".join(missing))
    tmp = tempfile.mkdtemp(prefix="lt-bench-services-")
    redis_modes = ["untraced", "leaktrace"] + ([] if a.no_heaptrack else ["heaptrack"])
    # redis twice: a load of --requests starting 1.5 s after attach (the
    # probes, on while redis idles, meet the load: the transition is in
    # it), and --redis-requests (~20 s: what a steady load pays).
    modes = {"redis SET %dk (req/s)" % (a.requests // 1000): (redis_run, redis_modes, a.requests),
             "redis SET %dk (req/s)" % (a.redis_requests // 1000): (redis_run, [
                 "untraced", "tax only", "tracepoints"] + redis_modes[1:],
                                                                    a.redis_requests),
             "memcached set %dk (req/s)" % (a.memcached_requests // 1000):
                 (memcached_run, ["untraced", "tax only", "tracepoints", "leaktrace"],
                  a.memcached_requests),
             "malloc+free pair (ns)": (mallocloop_run, ["untraced", "leaktrace",
                                                        "probes on"], 0),
             "syscall of an untraced process (ns)": (syscall_run, ["untraced",
                                                                  "tax only", "leaktrace"],
                                                     0)}
    if a.only:
        modes = {w: v for w, v in modes.items() if re.search(a.only, w)}
    long_redis = "redis SET %dk (req/s)" % (a.redis_requests // 1000)
    res = {w: {m: [] for m in ms} for w, (_, ms, _n) in modes.items()}
    cpu = {w: {m: [] for m in ms} for w, (fn, ms, _n) in modes.items()
           if fn in (redis_run, memcached_run) and w != "redis SET %dk (req/s)" % (
               a.requests // 1000)}
    sampling = []
    for r in range(a.runs):
        for w, (fn, ms, n) in modes.items():
            for m in ms:  # interleaved: drift hits every mode alike
                del CPU_SEEN[:], SAMPLING[:]
                v = fn(m, n, tmp)
                res[w][m].append(v)
                extra = ""
                if w in cpu and CPU_SEEN:
                    cpu[w][m].append(CPU_SEEN[-1])
                    extra = " service %.2f us/req, leaktrace %.2f %% of a core" % CPU_SEEN[-1]
                    if w == long_redis and m == "leaktrace" and SAMPLING:
                        sampling.append(SAMPLING[-1])
                print("run %d %-22s %-10s %10.0f%s" % (r + 1, w, m, v, extra), flush=True)
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
    lines += ["", "CPU during the loads (medians): the service's CPU per request (the "
              "probes' cost lands in the target's system time; so does the syscall "
              "tracepoints' tax) and leaktrace's own CPU.", "",
              "| workload | mode | service us/req | leaktrace % of a core |", "|---|---|---|---|"]
    for w, by in cpu.items():
        for m, v in by.items():
            if v:
                lines.append("| %s | %s | %.2f | %.2f |" % (
                    w.split(" (")[0], m, statistics.median(x[0] for x in v),
                    statistics.median(x[1] for x in v)))
    if sampling:
        lines += ["", "leaktrace's own accounting in those runs (malloc_sampling): " + "; ".join(
            "spent %.2f %% of a core (overruns %.2f), probes on %.1f %% of the time, "
            "%d windows, %d cut by the cap" % (x.get("spent_pct", 0), x.get("overrun_spent_pct", 0),
                                               100 * x.get("on_share", 0), x.get("windows", 0),
                                               x.get("capped_windows", 0)) for x in sampling)]
    text = "\n".join(lines) + "\n"
    if a.out or not a.smoke:
        with open(a.out or os.path.join(HERE, "RESULTS-services.md"), "w") as f:
            f.write(text)
    print(text)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
