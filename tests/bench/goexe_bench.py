#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Go probes once per executable (issue 16): what sharing one BPF object
per Go binary saves, and what per-process links under --cgroup spare the
processes outside it.

  share    N processes of one Go HTTP binary (bench httpserver, idle), then
           leaktrace -p (all N; nothing else on the host counts) and
           leaktrace --all serving metrics: seconds to ready, its RSS and
           CPU (% of one core) after WARMUP s, and, from the kernel
           (bpftool perf show), its uprobe perf events and the lt_go_new
           programs (BPF objects) for that binary. Run it with
           LEAKTRACE_BUILD pointing at the build before and after.
  replica  two replicas of the Go HTTP server; one in a cgroup traced with
           leaktrace --cgroup, wrk on the OTHER (untraced) one, against no
           leaktrace at all, interleaved RUNS times: per-process links keep
           the untraced replica at 1.0x (a pid -1 probe would trap in it).

    LEAKTRACE_BUILD=$PWD/build tests/bench/goexe_bench.py [--smoke] [--only share|replica]

Never judge the numbers on a busy machine: run it alone on a quiet one.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from node_bench import Agent, proc_cpu_s, proc_rss_mb  # noqa: E402

LT = bench.LT


def bpftool_json(*args):
    r = subprocess.run(["bpftool", "-j", *args], capture_output=True, text=True, timeout=120)
    return json.loads(r.stdout or "[]")


def go_links(lt_pid, exe):
    """(uprobe perf events of leaktrace, lt_go_new events on exe,
    distinct lt_go_new programs on exe)."""
    names = {p["id"]: p.get("name", "") for p in bpftool_json("prog", "show")}
    total, new, progs = 0, 0, set()
    for e in bpftool_json("perf", "show"):
        if e.get("pid") != lt_pid or e.get("fd_type") != "uprobe":
            continue
        total += 1
        f = e["filename"].replace("/proc/self/", "/proc/%d/" % lt_pid, 1)
        try:
            path = os.path.realpath(os.readlink(f)) if f.startswith("/proc/") else f
        except OSError:
            continue
        if path == os.path.realpath(exe) and names.get(e["prog_id"]) == "lt_go_new":
            new += 1
            progs.add(e["prog_id"])
    return total, new, len(progs)


class PidsTracer:
    """leaktrace -p A,B,... until stop(); ready once its probes are live."""

    def __init__(self, pids):
        self.p = subprocess.Popen([LT, "-p", ",".join(map(str, pids)), "-d", "600", "-v",
                                   "--format", "json", "-o", "/dev/null"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.p.stderr:
            if "probes live" in line:
                break

    def stop(self):
        self.p.send_signal(2)
        try:
            self.p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def bpf_held(lt_pid):
    """(lt_go_* programs, KiB memlocked by every BPF program and map) that
    leaktrace holds open (from /proc/PID/fdinfo)."""
    prog_ids, map_ids = set(), set()
    fdinfo = "/proc/%d/fdinfo" % lt_pid
    for fd in os.listdir(fdinfo):
        try:
            with open(os.path.join(fdinfo, fd)) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k == "prog_id":
                        prog_ids.add(int(v))
                    elif k == "map_id":
                        map_ids.add(int(v))
        except OSError:
            continue
    go, kb = 0, 0
    for p in bpftool_json("prog", "show"):
        if p["id"] in prog_ids:
            go += p.get("name", "").startswith("lt_go")
            kb += p.get("bytes_memlock", 0) / 1024
            map_ids.update(p.get("map_ids", []))
    for m in bpftool_json("map", "show"):
        if m["id"] in map_ids:
            kb += m.get("bytes_memlock", 0) / 1024
    return go, round(kb)


def w_share(progs, n, warmup, secs, mode):
    servers = [bench.Target([progs["httpserver"], "-idle", "0"]) for _ in range(n)]
    try:
        t0 = time.monotonic()
        a = Agent() if mode == "all" else PidsTracer([s.p.pid for s in servers])
        ready_s = time.monotonic() - t0
        try:
            time.sleep(warmup)
            c0, t1 = proc_cpu_s(a.p.pid), time.monotonic()
            time.sleep(secs)
            cpu = (proc_cpu_s(a.p.pid) - c0) / (time.monotonic() - t1) * 100
            rss = proc_rss_mb(a.p.pid)
            total, new, objs = go_links(a.p.pid, progs["httpserver"])
            go_progs, memlock_kb = bpf_held(a.p.pid)
        finally:
            a.stop()
    finally:
        for s in servers:
            s.kill()
    return {"mode": mode, "go_processes": n, "ready_s": round(ready_s, 1), "rss_mb": round(rss, 1),
            "cpu_pct_core": round(cpu, 2), "uprobe_perf_events": total,
            "lt_go_new_links_on_binary": new, "go_objects_for_binary": objs,
            "lt_go_programs": go_progs, "bpf_memlock_kb": memlock_kb}


def unified_root():
    for p in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if os.path.exists(p + "/cgroup.procs") and os.path.exists(p + "/cgroup.controllers"):
            return p
    sys.exit("no cgroup v2 hierarchy")


def w_replica(progs, runs, secs):
    cg = "%s/lt-goexe-bench-%d" % (unified_root(), os.getpid())
    os.mkdir(cg)
    inside = bench.Target([progs["httpserver"]])
    outside = bench.Target([progs["httpserver"]])
    res = {"untraced": [], "cgroup_traces_other_replica": []}
    try:
        with open(cg + "/cgroup.procs", "w") as f:
            f.write("%d\n" % inside.p.pid)
        for _ in range(runs):
            for mode in res:
                lt = None
                if mode != "untraced":
                    lt = bench.live_tracer(["--cgroup", cg, "-d", "600",
                                            "--format", "json", "-o", "/dev/null"])
                try:
                    r = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % secs,
                                        "http://%s/work" % outside.addr],
                                       capture_output=True, text=True)
                    res[mode].append(float(re.search(r"Requests/sec:\s+([\d.]+)",
                                                     r.stdout).group(1)))
                finally:
                    if lt:
                        lt.send_signal(2)
                        lt.wait()
    finally:
        inside.kill()
        outside.kill()
        for _ in range(50):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.1)
    u = statistics.median(res["untraced"])
    g = statistics.median(res["cgroup_traces_other_replica"])
    return {"rps": res, "untraced_replica_ratio": g / u}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only")
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("run as root (BPF)")
    progs = bench.build_all(True)
    cfg = dict(n=20, warmup=10, secs=20, runs=3, wrk_s=20)
    if a.smoke:
        cfg = dict(n=4, warmup=3, secs=3, runs=1, wrk_s=3)
    print("build:", LT, "config:", cfg, flush=True)
    if not a.only or a.only == "share":
        for mode in ("pids", "all"):
            print("share:", w_share(progs, cfg["n"], cfg["warmup"], cfg["secs"], mode),
                  flush=True)
    if not a.only or a.only == "replica":
        print("replica:", w_replica(progs, cfg["runs"], cfg["wrk_s"]), flush=True)


if __name__ == "__main__":
    main()
