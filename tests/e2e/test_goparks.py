# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--go-parks: gopark entry and RET uprobes (off by default for their cost)
give each goroutine site how long its goroutines have been parked, and a
concurrency-heavy program still computes the same checksum with them."""
import re
import subprocess
import time

import pytest

from conftest import (go_build, has_function, newest_go, oldest_go, running,
                      sites, trace_args, trace_program, Tracer)

D = 6


@pytest.mark.goroutines
@pytest.mark.parametrize("version", sorted({oldest_go(), newest_go()}))
def test_park_times_with_go_parks(version, tmp_path):
    prog = go_build(version).path("chansend")
    run = trace_program([prog, "-leak-rate", 2], D, tmp_path, settle=1, extra=["--go-parks"])
    report = run.ok()
    d = run.describe()
    top = sites(report, "goroutine")[0]
    assert has_function(top, "main.handleTxnCheck"), d
    assert top["wait_reason"] == "chan send", d
    # The first leaked goroutines parked right after attach: several seconds.
    assert top["parked_s"] is not None and 1.0 <= top["parked_s"] <= D + 2, d


@pytest.mark.goroutines
def test_default_reads_parks_from_memory(tmp_path):
    prog = go_build(newest_go()).path("chansend")
    run = trace_program([prog], 3, tmp_path)
    report = run.ok()
    # The leak's site (in 3 s the healthy churn may rank above it).
    leaks = [s for s in sites(report, "goroutine") if has_function(s, "main.handleTxnCheck")]
    assert leaks, run.describe()
    top = leaks[0]
    # Without --go-parks, park reason and park stack come from reading the
    # goroutines (parked_s, if any, from the GC's waitsince).
    assert top["wait_reason"] == "chan send", run.describe()
    assert has_function(top, "main.handleTxnCheck.func1", key="wait_stack"), run.describe()
    assert top["parked_s"] is None or 0 <= top["parked_s"] <= 3 + 10, run.describe()


def _checksum(text):
    m = re.search(r"^checksum=([0-9a-f]{16})$", text, re.M)
    assert m, f"no checksum line in {text!r}"
    return m.group(1)


@pytest.mark.goroutines
def test_safety_with_go_parks(tmp_path):
    prog = go_build(newest_go()).path("safety")
    base = subprocess.run([str(prog)], capture_output=True, text=True, timeout=120)
    assert base.returncode == 0
    with running([prog, "-spread", 6], tmp_path) as t:
        time.sleep(1)
        run = Tracer(trace_args(t.pid, 2, tmp_path / "r.json", extra=["--go-parks"]),
                     tmp_path, "safety", timeout=120).wait()
        rc = t.wait(300)
        rest = t.rest_of_stdout()
    assert run.returncode == 0, run.describe()
    assert rc == 0
    assert _checksum(rest) == _checksum(base.stdout)
