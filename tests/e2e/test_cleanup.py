# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leaktrace leaves nothing behind in the kernel: no uprobe/kprobe events in
tracefs, no BPF programs. leaktrace names its BPF programs with the prefix
"lt_"; these tests first check that such programs exist while it runs (so
the "none left" checks cannot pass vacuously)."""
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (GoBuild, Tracer, assert_valid_report, newest_go, prog_path, running,
                      trace_args)

PREFIX = "lt_"

# Every leaktrace's programs are named lt_*: another test's run would look
# like a leftover. Run alone (make e2e: the serial pass).
pytestmark = pytest.mark.serial


def tracefs() -> Path:
    for p in (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing")):
        if (p / "uprobe_events").exists():
            return p
    pytest.skip("tracefs (uprobe_events) is not mounted")


def probe_events() -> set:
    fs = tracefs()
    lines = set()
    for name in ("uprobe_events", "kprobe_events"):
        try:
            lines |= {f"{name}: {l}" for l in (fs / name).read_text().splitlines() if l.strip()}
        except OSError:
            pass
    return lines


def lt_progs() -> dict:
    """{id: name} of loaded BPF programs whose name starts with lt_."""
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, f"bpftool prog show failed: {out.stderr}"
    progs = json.loads(out.stdout or "[]")
    return {p["id"]: p.get("name", "") for p in progs if p.get("name", "").startswith(PREFIX)}


class KernelState:
    """What existed before a run, and what the run loaded while it ran."""

    def __init__(self):
        self.events = probe_events()
        self.progs = lt_progs()
        self.seen = {}

    def watch(self, tracer: Tracer, timeout: float):
        """Poll while leaktrace runs until its lt_ programs show up."""
        deadline = time.monotonic() + timeout
        while tracer.alive() and time.monotonic() < deadline:
            new = {i: n for i, n in lt_progs().items() if i not in self.progs}
            if new:
                self.seen.update(new)
                return True
            time.sleep(0.3)
        return bool(self.seen)

    def assert_seen(self, run):
        assert self.seen, (f"no BPF program named {PREFIX}* was loaded while leaktrace ran: "
                           f"name every BPF program with the {PREFIX} prefix so leftovers can "
                           f"be found\n" + run.describe())

    def assert_clean(self, run, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        while True:
            progs = {i: n for i, n in lt_progs().items() if i not in self.progs}
            events = probe_events() - self.events
            if not progs and not events:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        pytest.fail(f"leaktrace left behind: BPF programs {progs}, probe events "
                    f"{sorted(events)}\n" + run.describe())


@pytest.mark.parametrize("kind", ["c", "go"])
def test_no_leftovers_after_run(kind, tmp_path):
    prog = prog_path("mmap_leak") if kind == "c" else GoBuild(newest_go()).path("chansend")
    ks = KernelState()
    with running([prog], tmp_path) as t:
        tracer = Tracer(trace_args(t.pid, 4, tmp_path / "r.json"), tmp_path, "run",
                        timeout=4 + 60)
        ks.watch(tracer, 60)
        run = tracer.wait()
    run.ok()
    ks.assert_seen(run)
    ks.assert_clean(run)


def test_no_leftovers_after_sigint(tmp_path):
    """Ctrl-C ends the trace: report written, exit 0, nothing left."""
    ks = KernelState()
    with running([GoBuild(newest_go()).path("chansend")], tmp_path) as t:
        out = tmp_path / "r.json"
        tracer = Tracer(trace_args(t.pid, 60, out), tmp_path, "sigint", timeout=60 + 60)
        ks.watch(tracer, 30)
        time.sleep(2)
        tracer.signal(signal.SIGINT)
        run = tracer.wait(timeout=time.monotonic() - tracer.start + 20)
    ks.assert_seen(run)
    report = run.ok()
    assert_valid_report(report, run)
    assert report["duration_s"] < 60, run.describe()
    ks.assert_clean(run)


def test_no_leftovers_after_sigkill(tmp_path):
    """Even SIGKILL (OOM killer, kubectl delete) leaves nothing in the kernel."""
    ks = KernelState()
    with running([GoBuild(newest_go()).path("chansend")], tmp_path) as t:
        tracer = Tracer(trace_args(t.pid, 60, tmp_path / "r.json"), tmp_path, "sigkill",
                        timeout=60 + 60)
        ks.watch(tracer, 30)
        time.sleep(1)
        tracer.signal(signal.SIGKILL)
        run = tracer.wait(timeout=time.monotonic() - tracer.start + 20)
        assert t.alive(), "killing leaktrace must not hurt the target"
    ks.assert_seen(run)
    ks.assert_clean(run, timeout=10)


def test_no_leftovers_after_target_exits(tmp_path):
    ks = KernelState()
    with running([GoBuild(newest_go()).path("chansend")], tmp_path) as t:
        tracer = Tracer(trace_args(t.pid, 20, tmp_path / "r.json"), tmp_path, "targetexit",
                        timeout=20 + 60)
        ks.watch(tracer, 30)
        time.sleep(1)
        t.signal(signal.SIGKILL)
        t.wait(10)
        run = tracer.wait()
    ks.assert_seen(run)
    run.ok()
    ks.assert_clean(run)


def test_no_leftovers_after_cmd_mode(tmp_path):
    ks = KernelState()
    out = tmp_path / "r.json"
    tracer = Tracer(["-i", "1", "--format", "json", "-o", str(out), "--",
                     str(GoBuild(newest_go()).path("heapgrow")), "-duration", "4"],
                    tmp_path, "cmd", timeout=4 + 60)
    ks.watch(tracer, 30)
    run = tracer.wait()
    run.ok()
    ks.assert_seen(run)
    ks.assert_clean(run)
