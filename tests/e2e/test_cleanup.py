# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""leaktrace leaves nothing behind in the kernel: no uprobe/kprobe events in
tracefs, no BPF programs. leaktrace names its BPF programs with the prefix
"lt_"; these tests first check that such programs exist while it runs (so
the "none left" checks cannot pass vacuously)."""
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (GoBuild, Tracer, assert_valid_report, newest_go, prog_path, running,
                      trace_args)

PREFIX = "lt_"

# What a run leaves behind is judged by the ids of the BPF programs and maps
# that run itself held (read from its /proc/PID/fdinfo while it ran): every
# one must be gone from the kernel after it ends. Other leaktrace runs
# (parallel tests, other users of the host) hold other ids, so these tests
# run in the parallel pass; a probe event in tracefs is judged the same way:
# one named after another process (libbpf_PID_...) is not this run's.


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


def bpf_objects(what: str) -> dict:
    """{id: name} of every BPF program (what="prog") or map ("map") loaded."""
    out = subprocess.run(["bpftool", "-j", what, "show"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, f"bpftool {what} show failed: {out.stderr}"
    return {o["id"]: o.get("name", "") for o in json.loads(out.stdout or "[]")}


def held_ids(pid: int) -> dict:
    """{"prog": ids, "map": ids} of the BPF objects process pid holds an fd
    of (a program's fd, a link's fd naming its program, a map's fd)."""
    ids = {"prog": set(), "map": set()}
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return ids
    for fd in fds:
        try:
            info = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        for m in re.finditer(r"^(prog|map)_id:\s*(\d+)$", info, re.M):
            ids[m.group(1)].add(int(m.group(2)))
    return ids


class KernelState:
    """What one leaktrace run held while it ran, and whether it is gone."""

    def __init__(self):
        self.events = probe_events()
        self.held = {"prog": set(), "map": set()}
        self.seen = {}
        self._stop = threading.Event()
        self._thread = None

    def watch(self, tracer: Tracer, timeout: float):
        """Sample the BPF objects the tracer holds until it exits (in the
        background); return once it holds a program named lt_* (or after
        timeout)."""
        self._thread = threading.Thread(target=self._sample, args=(tracer,), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while tracer.alive() and time.monotonic() < deadline:
            if self._named():
                return True
            time.sleep(0.1)
        return bool(self._named())

    def _sample(self, tracer: Tracer):
        while not self._stop.is_set() and tracer.alive():
            for k, v in held_ids(tracer.pid).items():
                self.held[k] |= v
            self._stop.wait(0.05)

    def _named(self) -> dict:
        progs = bpf_objects("prog")
        self.seen.update({i: progs[i] for i in self.held["prog"]
                          if i in progs and progs[i].startswith(PREFIX)})
        return self.seen

    def _finish(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def assert_seen(self, run):
        self._finish()
        self._named()
        assert self.seen, (f"no BPF program named {PREFIX}* was held by leaktrace while it ran "
                           f"(held programs {sorted(self.held['prog'])}): name every BPF "
                           f"program with the {PREFIX} prefix so leftovers can be found\n"
                           + run.describe())

    def _own_events(self, pid: int) -> set:
        new = probe_events() - self.events
        other = re.compile(r"libbpf_(\d+)_")
        return {e for e in new
                if not any(int(m.group(1)) != pid for m in other.finditer(e))}

    def assert_clean(self, run, pid: int, timeout: float = 5.0):
        self._finish()
        assert self.held["prog"], "no BPF program was held by leaktrace\n" + run.describe()
        deadline = time.monotonic() + timeout
        while True:
            progs = {i: n for i, n in bpf_objects("prog").items() if i in self.held["prog"]}
            maps = {i: n for i, n in bpf_objects("map").items() if i in self.held["map"]}
            events = self._own_events(pid)
            if not progs and not maps and not events:
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        pytest.fail(f"leaktrace left behind: BPF programs {progs}, maps {maps}, probe events "
                    f"{sorted(events)} (of {len(self.held['prog'])} programs and "
                    f"{len(self.held['map'])} maps it held)\n" + run.describe())


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
    ks.assert_clean(run, tracer.pid)


def test_no_leftovers_after_sigint(tmp_path):
    """Ctrl-C ends the trace: report written, exit 0, nothing left."""
    ks = KernelState()
    with running([GoBuild(newest_go()).path("chansend")], tmp_path) as t:
        out = tmp_path / "r.json"
        tracer = Tracer(trace_args(t.pid, 60, out), tmp_path, "sigint", timeout=60 + 60)
        ks.watch(tracer, 30)
        assert tracer.wait_tracing(60), "leaktrace never started tracing"
        time.sleep(1)
        tracer.signal(signal.SIGINT)
        run = tracer.wait(timeout=time.monotonic() - tracer.start + 20)
    ks.assert_seen(run)
    report = run.ok()
    assert_valid_report(report, run)
    assert report["duration_s"] < 60, run.describe()
    ks.assert_clean(run, tracer.pid)


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
    ks.assert_clean(run, tracer.pid, timeout=10)


def test_no_leftovers_after_target_exits(tmp_path):
    ks = KernelState()
    with running([GoBuild(newest_go()).path("chansend")], tmp_path) as t:
        tracer = Tracer(trace_args(t.pid, 20, tmp_path / "r.json"), tmp_path, "targetexit",
                        timeout=20 + 60)
        ks.watch(tracer, 30)
        # The target ends while traced, not while leaktrace sets up (that
        # is test_robust's vanishing target).
        assert tracer.wait_tracing(60), "leaktrace never started tracing"
        t.signal(signal.SIGKILL)
        t.wait(10)
        run = tracer.wait()
    ks.assert_seen(run)
    run.ok()
    ks.assert_clean(run, tracer.pid)


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
    ks.assert_clean(run, tracer.pid)
