#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The node agent's numbers (issue 16): leaktrace --all on a node.

  idle   IDLE processes that do nothing (3/4 sleep(1), 1/4 idle Go HTTP
         servers), leaktrace --all --metrics-addr scraped every 15 s:
         its CPU in steady state (% of one core, from /proc/PID/stat after
         WARMUP s) and its peak RSS.            Target: <= 1 %, <= 150 MB.
  churn  CHURN_PER_MIN short-lived processes a minute (each lives ~2 s)
         for CHURN_MIN minutes: leaktrace's RSS every 10 s (flat after
         warm-up), processes tracked at the end back to the baseline
         (none left in its state), drops by cause and records of released
         processes (0 silent: every one is counted).
  http   the Go net/http server of bench.py under wrk, untraced and with
         leaktrace --all running, interleaved RUNS times.  Target: >= 0.97x.
  filter the one-process fast path (rodata tgid, one compare) against the
         traced-process map: pagetouch's first-touch rate untraced, with
         -p PID, and with -p PID,SLEEPER (map mode), interleaved.

    tests/bench/node_bench.py [--smoke] [--out FILE] [--only idle|churn|http|filter]

--smoke: small and short (20 processes, 1 minute at 200/min, 5 s wrk): the
harness works; the numbers mean nothing. Never judge numbers on a busy
machine: run it alone on a quiet one (make bench-node)."""
import argparse
import datetime
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (build_all, Target)

LT = bench.LT


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        out[name] = float(value)
    return out


class Agent:
    """leaktrace --all serving metrics, until stop()."""

    def __init__(self, extra=()):
        self.port = free_port()
        # stderr to a file: a pipe nobody reads until stop() would fill
        # (a node's stripped-module hints) and stall the agent
        self.err = tempfile.TemporaryFile(mode="w+")
        self.p = subprocess.Popen([LT, "--all", "--metrics-addr", "127.0.0.1:%d" % self.port,
                                   "--format", "json", "-o", "/dev/null", *extra],
                                  stdout=subprocess.DEVNULL, stderr=self.err, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % self.port,
                                            timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.p.poll() is not None:
                raise RuntimeError("leaktrace --all exited: " + self.stderr())
            time.sleep(0.5)
        raise RuntimeError("leaktrace --all not ready in 120 s")

    def stop(self):
        self.p.send_signal(signal.SIGINT)
        try:
            self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.stderr()

    def stderr(self):
        self.err.seek(0)
        return self.err.read()


def start_idle(progs, n):
    procs = []
    for i in range(n):
        if i % 4 == 3:
            procs.append(bench.Target([progs["httpserver"], "-idle", "0"]).p)
        else:
            procs.append(subprocess.Popen(["sleep", "100000"]))
    return procs


def w_idle(progs, n, warmup, secs):
    idle = start_idle(progs, n)
    try:
        a = Agent()
        try:
            time.sleep(warmup)
            c0, t0 = proc_cpu_s(a.p.pid), time.monotonic()
            peak = proc_rss_mb(a.p.pid)
            while time.monotonic() - t0 < secs:
                time.sleep(15)
                m = metrics(a.port)
                peak = max(peak, proc_rss_mb(a.p.pid))
            cpu = (proc_cpu_s(a.p.pid) - c0) / (time.monotonic() - t0) * 100
            tracked = m.get("leaktrace_processes_tracked", -1)
        finally:
            a.stop()
    finally:
        for p in idle:
            p.kill()
            p.wait()
    return {"processes": n, "tracked": tracked, "cpu_pct_core": cpu, "rss_peak_mb": peak}


def live_user_processes(skip):
    """User processes now (no kernel threads, no zombies, not skip)."""
    n = 0
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == skip:
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if rest[0] != "Z" and not int(rest[6]) & 0x00200000:   # PF_KTHREAD
            n += 1
    return n


def w_churn(per_min, minutes):
    a = Agent()
    try:
        time.sleep(10)
        base = metrics(a.port).get("leaktrace_processes_tracked", -1)
        rss, t0, n, kids = [], time.monotonic(), 0, []
        gap = 60.0 / per_min
        next_sample = t0
        while time.monotonic() - t0 < minutes * 60:
            # each one maps and touches a little memory, lives ~2 s
            kids.append(subprocess.Popen(["sh", "-c", "x=$(head -c 200000 /dev/zero | tr '\\0' a); sleep 2"]))
            n += 1
            kids = [k for k in kids if k.poll() is None]
            if time.monotonic() >= next_sample:
                rss.append(round(proc_rss_mb(a.p.pid), 1))
                next_sample += 10
            time.sleep(gap)
        for k in kids:
            k.wait()
        time.sleep(5)
        time.sleep(25)      # two intervals: the last exits released
        m = metrics(a.port)
        end = m.get("leaktrace_processes_tracked", -1)
        live = live_user_processes(a.p.pid)
        drops = {k: v for k, v in m.items() if k.startswith("leaktrace_drops_total")}
    finally:
        err = a.stop()
    warm = rss[len(rss) // 5:] or rss
    return {"started": n, "tracked_before": base, "tracked_after": end,
            "live_user_processes_after": live,
            "left_in_state": end - live,   # ~0 (a process may start meanwhile)
            "rss_mb_series": rss, "rss_growth_after_warmup_mb": warm[-1] - warm[0],
            "drops": drops, "stderr_tail": err[-500:]}


def w_http(progs, runs, secs):
    res = {"untraced": [], "agent": []}
    for _ in range(runs):
        for mode in ("untraced", "agent"):
            t = bench.Target([progs["httpserver"]])
            a = Agent() if mode == "agent" else None
            try:
                r = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % secs,
                                    "http://%s/work" % t.addr], capture_output=True, text=True)
                res[mode].append(float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1)))
            finally:
                if a:
                    a.stop()
                t.kill()
    u, g = statistics.median(res["untraced"]), statistics.median(res["agent"])
    return {"untraced_rps": res["untraced"], "agent_rps": res["agent"], "ratio": g / u}


def w_filter(progs, runs, secs):
    """pagetouch's rate: untraced, one process (fast path), map mode."""
    res = {"untraced": [], "one": [], "map": []}
    sleeper = subprocess.Popen(["sleep", "100000"])
    try:
        for _ in range(runs):
            for mode in res:
                t = bench.Target([progs["pagetouch"], "0", str(secs), "3"])
                lt = None
                if mode != "untraced":
                    pids = str(t.p.pid) + ("," + str(sleeper.pid) if mode == "map" else "")
                    lt = bench.live_tracer(["-p", pids, "-d", "600", "--no-threads",
                                            "--format", "json", "-o", "/dev/null"])
                try:
                    out = t.finish()
                    res[mode].append(float(re.search(r"rate=(\d+)", out).group(1)))
                finally:
                    if lt:
                        lt.send_signal(signal.SIGINT)
                        lt.wait()
                    t.kill()
    finally:
        sleeper.kill()
        sleeper.wait()
    med = {k: statistics.median(v) for k, v in res.items()}
    return {"rates": res, "one_vs_untraced": med["one"] / med["untraced"],
            "map_vs_untraced": med["map"] / med["untraced"],
            "map_vs_one": med["map"] / med["one"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--only")
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("run as root (BPF)")
    progs = bench.build_all(True)
    if a.smoke:
        cfg = dict(idle=20, warmup=10, idle_s=15, per_min=200, minutes=1, runs=1, wrk_s=5)
    else:
        cfg = dict(idle=200, warmup=60, idle_s=300, per_min=1000, minutes=5, runs=3, wrk_s=30)
    out = {"when": datetime.datetime.utcnow().isoformat() + "Z", "host": platform.node(),
           "cpus": os.cpu_count(), "config": cfg}
    if not a.only or a.only == "idle":
        out["idle"] = w_idle(progs, cfg["idle"], cfg["warmup"], cfg["idle_s"])
        print("idle:", out["idle"], flush=True)
    if not a.only or a.only == "churn":
        out["churn"] = w_churn(cfg["per_min"], cfg["minutes"])
        print("churn:", out["churn"], flush=True)
    if not a.only or a.only == "http":
        out["http"] = w_http(progs, cfg["runs"], cfg["wrk_s"])
        print("http:", out["http"], flush=True)
    if not a.only or a.only == "filter":
        out["filter"] = w_filter(progs, cfg["runs"] * 2 - 1, 5 if a.smoke else 15)
        print("filter:", out["filter"], flush=True)
    if a.out:
        with open(a.out, "w") as f:
            f.write("# Node agent benchmark (tests/bench/node_bench.py)\n\n```\n")
            for k, v in out.items():
                f.write("%s: %s\n" % (k, v))
            f.write("```\n")


if __name__ == "__main__":
    main()
