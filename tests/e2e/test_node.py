# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leaktrace as a node agent, end to end. The test makes three cgroups under
its own subtree of the unified hierarchy (/sys/fs/cgroup/unified on this
hybrid host), shaped as docker and the kubelet make them; a leaking Go
program in one, a leaking C program in another, a healthy C program in the
third. `leaktrace --all --metrics-addr 127.0.0.1:PORT` traces every user
process of the host; Debian's Prometheus scrapes it every second and the
assertions go through Prometheus's HTTP query API: both leaking cgroups'
culprits have leak 1, the healthy one none, and a leaking program started
after leaktrace is found (and its leak). Also: `--all -d N --format json`
writes one document with a `processes` array, `-p A,B` traces both, and
bad input exits 2 with one line.
"""
import json
import signal
import socket
import time

import pytest

from conftest import Tracer, newest_go, go_build, prog_path
from test_metrics import (CT_ID, POD_PATH, POD_UID, Prometheus, cgroups,  # noqa: F401
                          free_port, one_line, run_lt, values)

HEALTHY_ID = "4ea1" * 16        # a cri-o container of its own


def culprits_with_leak(prom, pid):
    res = prom.query(f'leaktrace_site_leak{{pid="{pid}"}} == 1')
    return {r["metric"]["culprit"] for r in res}


def test_all_prometheus(start_prog, cgroups, tmp_path):
    c = start_prog(prog_path("mmap_leak"), "-rate", "5", "-chunk-kb", "256",
                   "-duration", "150")
    (cgroups(f"system.slice/docker-{CT_ID}.scope") / "cgroup.procs").write_text(f"{c.pid}\n")
    go = start_prog(prog_path("demo", go=go_build(newest_go())), "-rate", "20",
                    "-quiet", "-duration", "150")
    (cgroups(POD_PATH) / "cgroup.procs").write_text(f"{go.pid}\n")
    ok = start_prog(prog_path("flat"), "-rate", "20", "-duration", "150")
    (cgroups(f"system.slice/crio-{HEALTHY_ID}.scope") / "cgroup.procs").write_text(f"{ok.pid}\n")
    port = free_port()
    lt = Tracer(["--all", "-i", "1", "-d", "120", "--metrics-addr", f"127.0.0.1:{port}",
                 "--format", "json", "-o", str(tmp_path / "all.json")], tmp_path, "all", 200)
    prom = late = None
    try:
        prom = Prometheus([f"127.0.0.1:{port}"], tmp_path)
        prom.wait_for('up{job="leaktrace"} == 1', lambda r: len(r) == 1, 90,
                      "the --all endpoint is scraped")
        # every program of the test is a traced process, with its identity
        for t, comm in ((c, "mmap_leak"), (go, "demo"), (ok, "flat")):
            prom.wait_for(f'leaktrace_process_info{{pid="{t.pid}",comm="{comm}"}}',
                          lambda r: len(r) == 1, 60, f"{comm} is traced")
        res = prom.query(f'leaktrace_process_info{{pid="{c.pid}"}}')
        assert res[0]["metric"]["container"] == CT_ID, res
        assert res[0]["metric"]["container_runtime"] == "docker", res
        res = prom.query(f'leaktrace_process_info{{pid="{ok.pid}"}}')
        assert res[0]["metric"]["container"] == HEALTHY_ID, res
        assert res[0]["metric"]["container_runtime"] == "cri-o", res
        # the C program's culprit leaks, in its container
        q = f'leaktrace_site_leak{{pid="{c.pid}",culprit="leak_chunk"}}'
        res = prom.wait_for(q, lambda r: r and all(v == 1 for v in values(r)), 90,
                            "mmap_leak's leak_chunk is a leak")
        assert all(r["metric"]["container"] == CT_ID for r in res), res
        # the Go program's goroutine culprit leaks, in its pod
        q = (f'leaktrace_site_leak{{pid="{go.pid}",kind="goroutine",'
             f'culprit="main.(*Notifier).Publish"}}')
        res = prom.wait_for(q, lambda r: values(r) == [1], 90,
                            "demo's Publish goroutines leak")
        assert res[0]["metric"]["pod_uid"] == POD_UID, res
        prom.wait_for(f'leaktrace_process_goroutines{{pid="{go.pid}"}}',
                      lambda r: r and values(r)[0] > 20, 30, "goroutines counted")
        # many processes, one leaktrace
        res = prom.query("leaktrace_processes_tracked")
        assert res and values(res)[0] >= 3, res
        # a program started after leaktrace: found within an interval or
        # two (plus a scrape), and its leak too
        late = start_prog(prog_path("pthread_leak"), "-duration", "150")
        (cgroups("late") / "cgroup.procs").write_text(f"{late.pid}\n")
        t0 = time.monotonic()
        prom.wait_for(f'leaktrace_process_info{{pid="{late.pid}",comm="pthread_leak"}}',
                      lambda r: len(r) == 1, 20, "a program started later is traced")
        found_s = time.monotonic() - t0
        prom.wait_for(f'leaktrace_site_leak{{pid="{late.pid}",kind="thread"}} == 1',
                      lambda r: len(r) >= 1, 90, "the later program's threads leak")
        # the healthy one: traced the whole time, never a leak
        res = prom.query(f'max_over_time(leaktrace_site_leak{{pid="{ok.pid}"}}[5m]) == 1')
        assert res == [], res
        res = prom.query(f'count(leaktrace_site_bytes{{pid="{ok.pid}"}})')
        assert res and values(res)[0] >= 1, "the healthy program has sites: " + str(res)
        # the healthy container as a whole: no leak at all
        res = prom.query(f'leaktrace_site_leak{{container="{HEALTHY_ID}"}} == 1')
        assert res == [], res
        print(f"program started later found after {found_s:.1f} s")
    finally:
        if prom:
            prom.stop()
        lt.signal(signal.SIGINT)
        # out of their cgroups before the fixture removes them
        for t in (c, go, ok, late):
            if t:
                t.kill()
    run = lt.wait()
    run.ok()
    doc = run.report
    assert doc["mode"] == "all", doc.keys()
    by_pid = {p["target"]["pid"]: p for p in doc["processes"]}
    assert c.pid in by_pid and go.pid in by_pid and ok.pid in by_pid, sorted(by_pid)
    # most suspect first: a leaking program comes before the healthy one
    order = [p["target"]["pid"] for p in doc["processes"]]
    assert order.index(c.pid) < order.index(ok.pid), order
    assert not any(s["leak"] for s in by_pid[ok.pid]["sites"]), by_pid[ok.pid]["sites"][:3]


def test_all_json_processes(start_prog, tmp_path):
    """--all -d N --format json: one document, a processes array."""
    c = start_prog(prog_path("mmap_leak"), "-rate", "5", "-chunk-kb", "256",
                   "-duration", "60")
    out = tmp_path / "all.json"
    lt = Tracer(["--all", "-i", "1", "--no-go", "-d", "8", "--format", "json", "-o", str(out)],
                tmp_path, "alljson", 90)
    run = lt.wait()
    run.ok()
    doc = json.loads(out.read_text())
    assert doc["schema"] == "leaktrace/v1" and doc["mode"] == "all", doc.keys()
    assert len(doc["processes"]) >= 2, len(doc["processes"])
    for key in ("traced_at_end", "attached_later", "released_after_exit",
                "vanished_before_attach", "not_traceable", "records_of_untraced_processes"):
        assert key in doc["node"], doc["node"]
    mine = [p for p in doc["processes"] if p["target"]["pid"] == c.pid]
    assert len(mine) == 1, [p["target"]["pid"] for p in doc["processes"]]
    p = mine[0]
    for key in ("target", "totals", "sites", "findings", "drops", "identity"):
        assert key in p, p.keys()
    leaks = [s for s in p["sites"] if s["leak"]]
    assert leaks and any(any(f.get("function") == "leak_chunk" for f in s["stack"])
                         for s in leaks), [s["stack"][:3] for s in p["sites"][:3]]
    # leaktrace itself and kernel threads are never targets
    pids = {q["target"]["pid"] for q in doc["processes"]}
    assert lt.pid not in pids, "leaktrace traced itself"
    assert 2 not in pids, "kthreadd is a kernel thread"


def test_several_pids(start_prog, tmp_path):
    a = start_prog(prog_path("mmap_leak"), "-rate", "5", "-chunk-kb", "256",
                   "-duration", "60")
    b = start_prog(prog_path("pthread_leak"), "-duration", "60")
    h = start_prog(prog_path("flat"), "-rate", "20", "-duration", "60")
    out = tmp_path / "pids.json"
    run = Tracer([f"-p{a.pid},{b.pid}", "-p", str(h.pid), "-d", "8", "--format", "json",
                  "-o", str(out)], tmp_path, "pids", 90).wait()
    run.ok()
    doc = json.loads(out.read_text())
    assert doc["mode"] == "pids"
    by_pid = {p["target"]["pid"]: p for p in doc["processes"]}
    assert set(by_pid) == {a.pid, b.pid, h.pid}, sorted(by_pid)

    def leak_kinds(p):
        return {s["kind"] for s in p["sites"] if s["leak"]}
    assert "mmap" in leak_kinds(by_pid[a.pid]) or "fault" in leak_kinds(by_pid[a.pid])
    assert "thread" in leak_kinds(by_pid[b.pid]), by_pid[b.pid]["sites"][:3]
    assert not leak_kinds(by_pid[h.pid]), by_pid[h.pid]["sites"][:3]
    # one process's sites never land in another's (records go by tgid)
    for p in doc["processes"]:
        for s in p["sites"]:
            fns = {f.get("function") for f in s["stack"]}
            if p["target"]["pid"] != a.pid:
                assert "leak_chunk" not in fns, (p["target"]["pid"], s["stack"][:4])
    # text: processes by suspicion, the healthy one last. 8 s like the JSON
    # run: at 6 s under load pthread_leak had no leak verdict yet (0 leaks,
    # 1 growing: tied with the healthy one, which then was not last).
    run = Tracer([f"-p{a.pid},{b.pid},{h.pid}", "-d", "8"], tmp_path, "pidstext", 90).wait()
    assert run.returncode == 0, run.describe()
    lines = run.stdout.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("PROCESSES, most suspect first"))
    table = []
    for l in lines[start + 2:]:
        if not l.strip():
            break
        table.append(l.split())
    order = [int(r[1]) for r in table]
    assert order[-1] == h.pid and set(order) == {a.pid, b.pid, h.pid}, run.stdout[:2000]


BAD = {
    "all-with-pid": ["--all", "-p", "1", "-d", "3"],
    "all-folded": ["--all", "--format", "folded", "-d", "3"],
    "capture-all": ["capture", "--all", "-d", "3"],
    "cgroup-with-cmd": ["--cgroup", "/", "-d", "3", "--", "/bin/true"],
    "cgroup-missing": ["--cgroup", "/sys/fs/cgroup/unified/lt-no-such-cgroup", "-d", "3"],
    "cgroup-not-a-dir": ["--cgroup", "/sys/fs/cgroup/unified/cgroup.procs", "-d", "3"],
    "pid-twice": ["-p", "1,1", "-d", "3"],
    "pid-word": ["-p", "1,x", "-d", "3"],
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input(name, tmp_path):
    run = run_lt(BAD[name], tmp_path, name)
    lines = one_line(run)
    assert lines and lines[0].startswith("leaktrace: "), run.stderr


def test_all_port_in_use(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        run = run_lt(["--all", "-d", "5", "--metrics-addr", f"127.0.0.1:{port}"],
                     tmp_path, "allinuse")
    lines = one_line(run)
    assert len(lines) == 1 and "in use" in lines[0], run.stderr
