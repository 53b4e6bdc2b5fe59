#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leaktrace benchmarks: what tracing costs the target and what leaktrace
costs itself, each workload run untraced, with leaktrace's defaults and
with every feature on (--go-parks), interleaved, RUNS times; medians with
min and max, ratios against the untraced runs. Writes RESULTS.md.

    tests/bench/bench.py [--runs N] [--smoke] [--out FILE] [--only REGEX]
                         [--go 1.NN] [--no-extras]

--smoke: one short run of the cheap workloads, to prove the harness works
(part of make test); nothing is written unless --out is given. --only runs
the workloads whose name matches; --go builds the Go programs with that
toolchain (default the newest); --no-extras skips the one-off measurements
(attach times, pprof, bpftrace)."""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BUILD = os.environ.get("LEAKTRACE_BUILD", os.path.join(os.getcwd(), "build"))
LT = os.path.join(BUILD, "leaktrace")
BENCH = os.path.join(BUILD, "bench")
HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ["untraced", "default", "all"]
MODE_ARGS = {"default": [], "all": ["--go-parks"]}


GO_VERSION = None  # --go


def newest_go():
    if GO_VERSION:
        return "/usr/lib/go-%s/bin/go" % GO_VERSION
    vs = sorted((d for d in os.listdir("/usr/lib") if d.startswith("go-1.")),
                key=lambda d: int(d.split(".")[1]))
    return "/usr/lib/%s/bin/go" % vs[-1]


def go_env():
    env = dict(os.environ, GOTOOLCHAIN="local", GOPROXY="off", GO111MODULE="off",
               GOFLAGS="-buildvcs=false", GOCACHE=os.path.join(BUILD, "gocache"))
    return env


def build_go(src, out):
    if not os.path.exists(out) or os.path.getmtime(out) < max(
            os.path.getmtime(os.path.join(src, f)) for f in os.listdir(src)):
        subprocess.run([newest_go(), "build", "-o", out, "."], cwd=src, env=go_env(),
                       check=True)
    return out


def build_all(smoke, extras=True):
    os.makedirs(BENCH, exist_ok=True)
    gdir = os.path.join(BENCH, "go" + GO_VERSION) if GO_VERSION else BENCH
    os.makedirs(gdir, exist_ok=True)
    progs = {
        "gobench": build_go(os.path.join(HERE, "gobench"), os.path.join(gdir, "gobench")),
        "httpserver": build_go(os.path.join(HERE, "httpserver"),
                               os.path.join(gdir, "httpserver")),
    }
    pt = os.path.join(BENCH, "pagetouch")
    subprocess.run(["gcc", "-O2", "-o", pt, os.path.join(HERE, "pagetouch.c")], check=True)
    progs["pagetouch"] = pt
    if not smoke and extras:
        big = os.path.join(BENCH, "bigbin")
        if not os.path.exists(os.path.join(big, "bigbin")):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_bigbin.py"), big, "200000"],
                           check=True)
            build_go(big, os.path.join(big, "bigbin"))
        progs["bigbin"] = os.path.join(big, "bigbin")
    return progs


class Target:
    """A benchmark program started in the background; waits for its ready line."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.ready = self.p.stdout.readline()
        if not self.ready.startswith("ready"):
            raise RuntimeError("%s did not start: %s" % (argv[0], self.p.stderr.read()))
        m = re.search(r"addr=(\S+)", self.ready)
        self.addr = m.group(1) if m else None

    def finish(self, timeout=120):
        out, _ = self.p.communicate(timeout=timeout)
        return out

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


class Tracer:
    """leaktrace -p PID under /usr/bin/time, for its own CPU and peak RSS."""

    def __init__(self, pid, mode, duration=600, extra=()):
        self.dir = tempfile.mkdtemp(prefix="lt-bench-")
        self.json = os.path.join(self.dir, "r.json")
        self.timef = os.path.join(self.dir, "time")
        args = ["/usr/bin/time", "-o", self.timef, "-f", "%U %S %M", LT, "-p", str(pid),
                "-d", str(duration), "--format", "json", "-o", self.json, "-v",
                *MODE_ARGS[mode], *extra]
        self.p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        self.live = False
        for line in self.p.stderr:  # wait for the probes
            if "probes live" in line:
                self.live = True
                break
        if not self.live:
            raise RuntimeError("leaktrace did not start: " + self.p.stderr.read())

    def stop(self):
        # GNU time ignores SIGINT while its child runs: signal leaktrace.
        if self.p.poll() is None:
            try:
                kids = open("/proc/%d/task/%d/children" % (self.p.pid, self.p.pid)).read()
                for k in kids.split():
                    os.kill(int(k), signal.SIGINT)
            except OSError:
                self.p.send_signal(signal.SIGINT)
        err = self.p.communicate(timeout=120)[1]
        res = {}
        try:
            u, s, m = open(self.timef).read().split()[-3:]
            res.update(lt_cpu_s=float(u) + float(s), lt_rss_mb=int(m) / 1024)
            rep = json.load(open(self.json))
            res.update(attach_ms=rep["attach_ms"],
                       drops=rep["drops"]["events"] + rep["drops"]["stacks"])
        except (OSError, ValueError, KeyError):
            res["error"] = err[-500:]
        m = re.search(r"read (\d+) goroutines in ([\d.]+) ms", err)
        if m:
            res["goroutine_read_ms"] = float(m.group(2))
        shutil.rmtree(self.dir, ignore_errors=True)
        return res


def live_tracer(args):
    """leaktrace ARGS -v, returned once its probes are live; its stderr is
    drained in the background from then on (a full pipe would stall it)."""
    p = subprocess.Popen([LT, *args, "-v"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "probes live" in line:
            break
    threading.Thread(target=p.stderr.read, daemon=True).start()
    return p


def bpf_stats(pid):
    """run_time_ns / run_cnt of the BPF programs process pid holds, from its
    fdinfo (kernel BPF stats; other leaktrace instances are left out)."""
    kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
    pid = int(kids[0]) if kids else pid  # under /usr/bin/time
    out = {}
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            info = dict(l.split(":", 1) for l in open("/proc/%d/fdinfo/%s" % (pid, fd))
                        if ":" in l)
        except OSError:
            continue
        if "prog_id" not in info or "run_cnt" not in info:
            continue
        cnt, ns = int(info["run_cnt"]), int(info["run_time_ns"])
        if not cnt:
            continue
        show = subprocess.run(["bpftool", "-j", "prog", "show", "id", info["prog_id"].strip()],
                              capture_output=True, text=True).stdout
        try:
            name = json.loads(show)["name"]
        except (ValueError, KeyError):
            continue
        out[name] = (ns, cnt)
    return out


def traced(mode, pid, fn, extra=()):
    """Runs fn() with leaktrace attached to pid in mode; merges results."""
    if mode == "untraced":
        return fn()
    t = Tracer(pid, mode, extra=extra)
    try:
        res = fn()
        stats = bpf_stats(t.p.pid)
    finally:
        lt = t.stop()
    res.update(lt)
    for name, (ns, cnt) in stats.items():
        res["bpf_ns_per_event:" + name] = ns / cnt
    return res


def w_rate(argv, mode, pattern):
    """Runs argv (a program that prints its own rate) traced in mode."""
    t = Target(argv)
    try:
        def run():
            out = t.finish()
            return {"ops_per_s": float(re.search(pattern, out).group(1))}
        return traced(mode, t.p.pid, run)
    finally:
        t.kill()


def w_gobench(progs, mode, kind, secs):
    return w_rate([progs["gobench"], "-mode", kind, "-seconds", str(secs), "-wait", "1"],
                  mode, r"ops_per_s=(\d+)")


def w_pagetouch(progs, mode, kind, secs):
    args = [progs["pagetouch"], "churn", str(secs), "1"] if kind == "mmap_churn" else \
        [progs["pagetouch"], "0", str(secs), "1"]
    return w_rate(args, mode, r"rate=(\d+)")


def w_http(progs, mode, secs):
    t = Target([progs["httpserver"]])
    try:
        def run():
            r = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % secs, "--latency",
                                "http://%s/work" % t.addr], capture_output=True, text=True)
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
            m = re.search(r"99%\s+([\d.]+)(us|ms|s)", r.stdout)
            p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)]
            return {"requests_per_s": rps, "p99_ms": p99}
        return traced(mode, t.p.pid, run)
    finally:
        t.kill()


def attach_times(progs):
    """Time to probes live: a >= 100 MB Go binary; 30,000 existing goroutines."""
    res = {}
    big = progs["bigbin"]
    t = Target([big])
    try:
        r = Tracer(t.p.pid, "default", duration=1).stop()
        res["bigbin_mb"] = os.path.getsize(big) / 2**20
        res["bigbin_attach_ms"] = r.get("attach_ms")
    finally:
        t.kill()
    t = Target([progs["httpserver"], "-idle", "30000"])
    try:
        r = Tracer(t.p.pid, "default", duration=1).stop()
        res["30k_goroutines_attach_ms"] = r.get("attach_ms")
        res["30k_goroutines_read_ms"] = r.get("goroutine_read_ms")
    finally:
        t.kill()
    return res


def pprof_alternative(progs):
    """Go's own goroutine profile (debug=2) at 10k goroutines: fetch latency
    and the longest /work latency seen while it is produced (the pause)."""
    t = Target([progs["httpserver"], "-idle", "10000"])
    try:
        base = "http://%s" % t.addr
        lat = []
        for _ in range(20):
            a = time.monotonic()
            urllib.request.urlopen(base + "/work").read()
            lat.append((time.monotonic() - a) * 1e3)
        a = time.monotonic()
        probe = subprocess.Popen(["wrk", "-t1", "-c4", "-d3s", "--latency", base + "/work"],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        f = time.monotonic()
        body = urllib.request.urlopen(base + "/debug/pprof/goroutine?debug=2").read()
        fetch_ms = (time.monotonic() - f) * 1e3
        out = probe.communicate()[0]
        m = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
        max_ms = float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[m.group(2)] if m else None
        return {"pprof_debug2_fetch_ms": fetch_ms, "pprof_bytes": len(body),
                "work_p50_ms_before": statistics.median(lat), "work_max_ms_during": max_ms}
    finally:
        t.kill()


def bpftrace_alternative(progs, secs):
    """bpftrace with uprobes like leaktrace's on goroutine churn: the
    creation (newproc1) and exit (gdestroy) functions, counting stacks."""
    if not shutil.which("bpftrace"):
        return {"skipped": "bpftrace not installed"}
    t = Target([progs["gobench"], "-mode", "churn", "-seconds", str(secs), "-wait", "2"])
    try:
        prog = ("uprobe:%s:runtime.newproc1 { @[ustack] = count(); } "
                "uprobe:%s:runtime.gdestroy { @x = count(); }" % (progs["gobench"],
                                                                   progs["gobench"]))
        bt = subprocess.Popen(["bpftrace", "-p", str(t.p.pid), "-e", prog],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out = t.finish()
        bt.send_signal(signal.SIGINT)
        bt.wait(timeout=60)
        return {"ops_per_s": float(re.search(r"ops_per_s=(\d+)", out).group(1))}
    finally:
        t.kill()


def run_extras(progs, secs):
    """One-off measurements; a failing one is reported, not fatal."""
    out = {}
    for name, fn in (("attach", lambda: attach_times(progs)),
                     ("pprof", lambda: pprof_alternative(progs)),
                     ("bpftrace", lambda: bpftrace_alternative(progs, secs))):
        try:
            out[name] = fn()
        except Exception as e:  # noqa: BLE001 -- keep the other results
            out[name] = {"error": repr(e)[:300]}
    return out


def summarize(samples):
    """{metric: [values]} -> {metric: (median, min, max)}"""
    out = {}
    for k in sorted({k for s in samples for k in s if isinstance(s[k], (int, float))}):
        vals = [s[k] for s in samples if isinstance(s.get(k), (int, float))]
        if vals:
            out[k] = (statistics.median(vals), min(vals), max(vals))
    return out


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "{:.3g}".format(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--only", help="regex: workloads to run")
    ap.add_argument("--go", help="Go toolchain version for the Go programs (1.NN)")
    ap.add_argument("--no-extras", action="store_true")
    a = ap.parse_args()
    global GO_VERSION
    GO_VERSION = a.go
    runs, secs = (1, 1) if a.smoke else (a.runs, 5)
    if not a.smoke and not shutil.which("wrk"):
        sys.exit("wrk is missing: run scripts/setup-bench.sh")
    progs = build_all(a.smoke, not a.no_extras)
    # BPF run-time statistics on for the run; the host's setting back after.
    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(stats_path) as f:
        stats_was = f.read().strip()
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=False)
    workloads = {
        "go churn (goroutines/s)": lambda m: w_gobench(progs, m, "churn", secs),
        "go ping-pong (ops/s)": lambda m: w_gobench(progs, m, "pingpong", secs),
        "C page touch (pages/s)": lambda m: w_pagetouch(progs, m, "touch", secs),
        "C mmap/munmap churn (ops/s)": lambda m: w_pagetouch(progs, m, "mmap_churn", secs),
    }
    if not a.smoke:
        workloads = {"Go net/http (wrk)": lambda m: w_http(progs, m, secs * 2), **workloads}
    if a.only:
        workloads = {w: f for w, f in workloads.items() if re.search(a.only, w)}
    if a.go:
        workloads = {(w + " [go%s]" % a.go if w.lower().startswith("go") else w): f
                     for w, f in workloads.items()}
    results = {w: {m: [] for m in MODES} for w in workloads}
    cmd = " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    try:
        for r in range(runs):
            for w, fn in workloads.items():
                for m in MODES:  # interleaved, so drift hits every mode alike
                    results[w][m].append(fn(m))
                    print("run %d %s %s: %s" % (r + 1, w, m, results[w][m][-1]), flush=True)
        extra = {} if a.smoke or a.no_extras else run_extras(progs, secs)
    finally:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=" + stats_was], check=False)
    for w in results:  # the harness must produce numbers, or it has rotted
        for m in MODES:
            if not all(any(k in s for k in ("ops_per_s", "requests_per_s"))
                       for s in results[w][m]):
                sys.exit("bench: %s/%s produced no figure: %s" % (w, m, results[w][m]))
    if a.out or not a.smoke:
        write_results(a.out or os.path.join(HERE, "RESULTS.md"), cmd, runs, results, extra)
    print("bench: %d workloads x %d modes x %d runs done" % (len(workloads), len(MODES), runs))


def write_results(path, cmd, runs, results, extra):
    lines = ["# leaktrace benchmark results", "",
             "- date: %s" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
             "- machine: %d cores, %.0f GiB, %s" % (
                 os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
                 platform.processor() or platform.machine()),
             "- kernel: %s" % platform.release(),
             "- command: `%s` (%d interleaved runs per mode; median [min-max]; ratio = "
             "median / untraced median)" % (cmd, runs), ""]
    for w, modes in results.items():
        lines += ["## " + w, "", "| metric | untraced | default | ratio | all features | ratio |",
                  "|---|---|---|---|---|---|"]
        summ = {m: summarize(modes[m]) for m in MODES}
        for k in sorted(set().union(*[set(s) for s in summ.values()])):
            row = ["`%s`" % k]
            base = summ["untraced"].get(k)
            for m in MODES:
                v = summ[m].get(k)
                row.append("%s [%s-%s]" % (fmt(v[0]), fmt(v[1]), fmt(v[2])) if v else "-")
                if m != "untraced":
                    row.append("%.3f" % (v[0] / base[0]) if v and base and base[0] else "-")
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    for name, res in extra.items():
        lines += ["## " + name, "", "| metric | value |", "|---|---|"]
        lines += ["| `%s` | %s |" % (k, fmt(v) if isinstance(v, (int, float)) else v)
                  for k, v in res.items()]
        lines.append("")
    analysis = os.path.join(HERE, "ANALYSIS.md")  # hand-written: goals, where cost goes
    if os.path.exists(analysis):
        lines += ["", open(analysis).read()]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("bench: wrote", path)


if __name__ == "__main__":
    main()
