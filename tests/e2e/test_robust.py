# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Never wrong in silence (issue 13): pid namespaces, thread ids, signals,
atomic reports, `-- CMD` signal handling, JSON that is always UTF-8."""
import json
import os
import shutil
import signal
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import pytest

from conftest import (LEAKTRACE, Tracer, assert_valid_report, find_sites, load_report,
                      prog_path, run_leaktrace, running, start_trace, trace_args, trace_cmd)


def stderr_lines(run):
    return [l for l in run.stderr.splitlines() if l.strip()]


# --------------------------------------------------------------------------
# PID namespaces: the `kubectl debug` / `unshare -fp` case

def test_pid_namespace_traces_the_target_in_it(tmp_path):
    """leaktrace and a leaking target both inside a new pid namespace (with
    its own /proc): -p takes the namespace's pid and the leak is found."""
    leak = prog_path("mmap_leak")
    out = tmp_path / "ns.json"
    script = tmp_path / "ns.sh"
    # A decoy in the namespace first, so the target is not pid 1 or 2 of it
    # and its in-namespace pid names some unrelated host process.
    script.write_text(textwrap.dedent(f"""\
        sleep 60 & sleep 60 & sleep 60 &
        {leak} -rate 20 > {tmp_path}/target.out 2>&1 &
        T=$!
        sleep 0.5
        echo "ns pid $T" >&2
        {LEAKTRACE} -p $T -d 3 -i 1 --format json -o {out} -v
        rc=$?
        kill $T
        exit $rc
        """))
    run = subprocess.run(["unshare", "-fp", "--mount-proc", "sh", str(script)],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert_valid_report(report)
    assert report["target"]["comm"] == "mmap_leak", report["target"]
    leaks = find_sites(report, kind="mmap", function="leak_chunk")
    assert leaks, f"no mmap site in leak_chunk:\n{run.stderr}\n{json.dumps(report)[:2000]}"
    assert leaks[0]["bytes"] >= 10 << 20, leaks[0]
    assert "is host pid" in run.stderr, run.stderr


def test_pid_namespace_cmd(tmp_path):
    """`-- CMD` inside a pid namespace: the child's host pid is used."""
    leak = prog_path("mmap_leak")
    out = tmp_path / "nscmd.json"
    run = subprocess.run(["unshare", "-fp", "--mount-proc", str(LEAKTRACE), "-d", "3",
                          "--format", "json", "-o", str(out), "--", str(leak), "-rate", "20"],
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    leaks = find_sites(report, kind="mmap", function="leak_chunk")
    assert leaks and leaks[0]["bytes"] >= 10 << 20, json.dumps(report)[:2000]


# --------------------------------------------------------------------------
# -p TID

def test_thread_id_is_refused(tmp_path):
    with running([prog_path("pthread_leak")], tmp_path) as t:
        deadline = time.monotonic() + 10
        tids = []
        while time.monotonic() < deadline:
            tids = [int(x) for x in os.listdir(f"/proc/{t.pid}/task") if int(x) != t.pid]
            if tids:
                break
            time.sleep(0.1)
        assert tids, "pthread_leak started no thread"
        run = run_leaktrace(trace_args(tids[0], 2, tmp_path / "r.json"), timeout=30)
    assert run.returncode == 2, run.describe()
    lines = stderr_lines(run)
    assert len(lines) == 1, run.stderr
    assert f"thread of process {t.pid}" in lines[0] and f"-p {t.pid}" in lines[0], lines[0]


# --------------------------------------------------------------------------
# Probe placement proven safe: shifted .gopclntab entries (fuzz-style)

from conftest import GoBuild, newest_go  # noqa: E402
import gopatch  # noqa: E402

SHIFTS = [
    # (go version, stripped, function, delta, extra flags)
    (newest_go(), False, "runtime.gdestroy", 2, []),
    (newest_go(), False, "runtime.gdestroy", 5, []),
    (newest_go(), True, "runtime.gdestroy", 2, []),
    (newest_go(), True, "runtime.gdestroy", 5, []),
    ("1.22", True, "runtime.gdestroy", 5, []),
    ("1.19", True, "runtime.goexit0", 2, []),
    (newest_go(), False, "runtime.gopark", 1, ["--go-parks"]),
    (newest_go(), True, "runtime.gopark", 3, ["--go-parks"]),
    (newest_go(), True, "runtime.gopark", -2, ["--go-parks"]),
    ("1.22", True, "runtime.gopark", 2, ["--go-parks"]),
]


@pytest.mark.parametrize("ver,stripped,func,delta,extra", SHIFTS,
                         ids=[f"go{v}{'-stripped' if s else ''}-{f.split('.')[1]}{d:+d}"
                              for v, s, f, d, _ in SHIFTS])
def test_shifted_entry_is_not_probed(tmp_path, ver, stripped, func, delta, extra):
    """A function entry moved inside an instruction in .gopclntab: the
    target must survive, and leaktrace says which probe it did not place."""
    src = prog_path("churn", go=GoBuild(ver, stripped))
    bad = tmp_path / ("churn" + (".stripped" if stripped else ""))
    gopatch.shift_entry(src, bad, func, delta)
    with running([bad, "-rate", "2000"], tmp_path) as t:
        tr = start_trace(t.pid, 3, tmp_path, extra=extra)
        run = tr.wait()
        time.sleep(0.5)
        alive = t.alive()
        err = t.stderr_text()
    assert alive, f"target died under leaktrace (rc={t.proc.returncode}): {err[-1500:]}\n" \
                  + run.describe()
    assert run.returncode == 0, run.describe()
    assert f"not probing {func} at" in run.stderr, run.stderr
