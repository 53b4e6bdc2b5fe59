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
