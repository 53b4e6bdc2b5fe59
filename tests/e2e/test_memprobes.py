# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""How memory calls are seen (issue 15): one C process at its own syscall
sites (uprobes after each `syscall` of mmap, munmap, mremap, brk and
madvise), never the host-wide syscall tracepoints; a call made elsewhere is
found by the check against the kernel's mappings, said, counted, and the
tracepoints take over.
"""
import json
import os
import signal
import subprocess
import time

from conftest import (find_sites, has_function, newest_go, go_build, prog_path,
                      run_leaktrace, start_trace, trace_cmd)

RAW = "rawmmap"


def sys_tracepoints_of(lt_pid: int) -> list:
    """The syscall tracepoints leaktrace process lt_pid holds (bpftool)."""
    out = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return [e for e in json.loads(out.stdout or "[]")
            if e.get("pid") == lt_pid and e.get("fd_type") == "tracepoint"
            and e.get("tracepoint", "").startswith("sys_")]


def uprobes_of(lt_pid: int) -> list:
    out = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True, text=True,
                         timeout=60)
    return [e for e in json.loads(out.stdout or "[]")
            if e.get("pid") == lt_pid and e.get("fd_type") == "uprobe"]


def trace_raw(start_prog, tmp_path, via, d=8, extra=()):
    t = start_prog(prog_path(RAW), "-via", str(via), "-rate", "10", "-chunk-kb", "256",
                   "-duration", "60")
    lt = start_trace(t.pid, d, tmp_path, name=f"via{via}", extra=extra)
    assert lt.wait_tracing(), "leaktrace did not start tracing"
    time.sleep(1)
    held = (sys_tracepoints_of(lt.pid), uprobes_of(lt.pid))
    run = lt.wait()
    return run, run.ok(), held


def test_c_process_probed_at_its_syscall_sites(start_prog, tmp_path):
    """mmap(): the C library's wrapper, probed; no syscall tracepoint is
    held; the leak found through the probe, with nothing unseen."""
    run, doc, (tps, ups) = trace_raw(start_prog, tmp_path, 0)
    mp = doc["memory_probes"]
    assert mp["via"] == "syscall sites" and mp["why_tracepoints"] is None, mp
    assert mp["sites"] >= 5 and mp["files"] >= 3, mp
    assert not tps, f"syscall tracepoints held: {tps}"
    assert len([u for u in ups if "libc.so" in u["filename"]]) >= 5, ups
    assert mp["unseen_mapped_bytes"] == 0 and mp["switched_to_tracepoints_at_s"] is None, mp
    leak = find_sites(doc, kind="mmap", function="raw_leak", leak=True)
    assert leak, run.describe()
    assert has_function(leak[0], "mmap") or has_function(leak[0], "__mmap64"), run.describe()


def test_own_syscall_instruction_is_probed_too(start_prog, tmp_path):
    """The program's own `mov $9, %eax; syscall` is found in its
    executable, proven, and probed like libc's."""
    run, doc, (tps, ups) = trace_raw(start_prog, tmp_path, 2)
    mp = doc["memory_probes"]
    assert mp["via"] == "syscall sites", mp
    assert not tps, tps
    assert any(u["filename"].endswith("/" + RAW) for u in ups), ups
    assert mp["unseen_mapped_bytes"] == 0, mp
    assert find_sites(doc, kind="mmap", function="raw_leak", leak=True), run.describe()


def test_call_outside_the_sites_found_and_tracepoints_take_over(start_prog, tmp_path):
    """syscall(SYS_mmap, ...): no scan can see it. The check against the
    kernel's mappings finds the unseen ranges, says so in one line, counts
    them, and the tracepoints see the leak from then on."""
    run, doc, _ = trace_raw(start_prog, tmp_path, 1, d=9)
    mp = doc["memory_probes"]
    assert mp["via"] == "syscall tracepoints", mp
    assert mp["switched_to_tracepoints_at_s"] is not None and \
        mp["switched_to_tracepoints_at_s"] <= 5, mp
    assert "no call seen" in mp["why_tracepoints"], mp
    assert mp["unseen_mapped_bytes"] >= 256 << 10, mp
    lines = [l for l in run.stderr.splitlines() if "no call seen" in l]
    assert len(lines) == 1 and "syscall tracepoints from now on" in lines[0], run.stderr
    leak = find_sites(doc, kind="mmap", function="raw_leak", leak=True)
    assert leak and has_function(leak[0], "syscall"), run.describe()


def test_command_started_here_gets_its_sites_once_it_runs(tmp_path):
    """-- CMD: the tracepoints while the command execs and its libraries
    are mapped, then its syscall sites, nothing unseen in between (the
    mapping check is seeded at the switch), the leak found."""
    run = trace_cmd([prog_path(RAW), "-via", "0", "-rate", "10", "-duration", "30"], tmp_path,
                    extra=["-d", "6"])
    doc = run.ok()
    mp = doc["memory_probes"]
    assert mp["via"] == "syscall sites" and mp["sites"] >= 5, mp
    assert mp["syscall_sites_from_s"] is not None and mp["syscall_sites_from_s"] <= 3, mp
    assert mp["switched_to_tracepoints_at_s"] is None and mp["unseen_mapped_bytes"] == 0, mp
    assert find_sites(doc, kind="mmap", function="raw_leak", leak=True), run.describe()


def test_busy_process_keeps_the_tracepoints(start_prog, tmp_path):
    """4,000 mmap+munmap a second from the start: at one uprobe hit each
    the sites would cost the target far more than 1 % of a core, so the
    tracepoints stay, and the report says why."""
    t = start_prog(prog_path("mmap_leak"), "-rate", "2", "-churn-rate", "2000",
                   "-chunk-kb", "64", "-duration", "60")
    run = start_trace(t.pid, 4, tmp_path, name="busy").wait()
    mp = run.ok()["memory_probes"]
    assert mp["via"] == "syscall tracepoints" and mp["sites"] == 0, mp
    assert mp["syscall_sites_from_s"] is None, mp
    assert "budget" in mp["why_tracepoints"], mp


def test_sites_give_way_when_the_process_gets_busy(start_prog, tmp_path):
    """Quiet until the sites took over, then 3,000 mmaps a second: within
    a fraction of a second the tracepoints take over, the report says why,
    and the mappings are all seen. The load starts on a signal once -v
    says the sites are on, not after a fixed delay: on a loaded machine
    the set-up alone took 2.2 s, the delay had run out, and the busy
    process rightly never got its sites."""
    t = start_prog(prog_path(RAW), "-via", "0", "-rate", "3000", "-chunk-kb", "4",
                   "-wait-usr1", "1", "-duration", "60")
    tracer = start_trace(t.pid, 5, tmp_path, name="later", extra=("-v",))
    # -v says when the sites took over (on a loaded VM that came after the
    # first progress line: the first pass of the main loop was slow).
    err = tmp_path / "later.leaktrace.stderr"
    deadline = time.monotonic() + 20
    while "syscall sites in" not in err.read_text(errors="replace"):
        assert time.monotonic() < deadline and tracer.alive(), \
            "the sites never took over:\n" + err.read_text(errors="replace")
        time.sleep(0.05)
    os.kill(t.pid, signal.SIGUSR1)
    run = tracer.wait()
    doc = run.ok()
    mp = doc["memory_probes"]
    assert mp["syscall_sites_from_s"] is not None, mp
    assert mp["via"] == "syscall tracepoints", mp
    assert mp["switched_to_tracepoints_at_s"] is not None, mp
    assert mp["switched_to_tracepoints_at_s"] > mp["syscall_sites_from_s"], mp
    assert "budget" in mp["why_tracepoints"], mp
    assert mp["unseen_mapped_bytes"] <= 64 << 10, mp     # the call in flight at the switch
    leak = find_sites(doc, kind="mmap", function="raw_leak")
    assert leak and leak[0]["bytes"] >= 16 << 20, run.describe()


def test_text_report_says_unseen(start_prog, tmp_path):
    t = start_prog(prog_path(RAW), "-via", "1", "-rate", "10", "-duration", "60")
    run = start_trace(t.pid, 6, tmp_path, name="text", fmt="text").wait()
    assert run.returncode == 0, run.describe()
    out = (tmp_path / "text.txt").read_text()
    assert "memory mapped with no call seen:" in out and "tracepoints took over" in out, out


def test_tracepoints_when_asked_or_not_c(start_prog, tmp_path):
    """--mem-probes=tracepoints, and a Go process (raw syscalls of its own
    runtime): the tracepoints, and the report says why."""
    run, doc, (tps, ups) = trace_raw(start_prog, tmp_path, 0, d=4,
                                     extra=["--mem-probes=tracepoints"])
    mp = doc["memory_probes"]
    assert mp["via"] == "syscall tracepoints" and mp["sites"] == 0, mp
    assert mp["why_tracepoints"] == "--mem-probes=tracepoints", mp
    assert tps, "no syscall tracepoint held"
    # seen through the tracepoints (4 s: growing, maybe no verdict yet)
    seen = find_sites(doc, kind="mmap", function="raw_leak")
    assert seen and seen[0]["bytes"] >= 2 << 20, run.describe()

    g = start_prog(prog_path("flat", go=go_build(newest_go())))
    run = start_trace(g.pid, 3, tmp_path, name="go").wait()
    mp = run.ok()["memory_probes"]
    assert mp["via"] == "syscall tracepoints" and "Go program" in mp["why_tracepoints"], mp


def test_bad_mode_exits_2(tmp_path):
    run = run_leaktrace(["-p", "1", "--mem-probes=kprobes"], out_dir=tmp_path)
    assert run.returncode == 2, run.describe()
    assert "invalid --mem-probes" in run.stderr, run.stderr
