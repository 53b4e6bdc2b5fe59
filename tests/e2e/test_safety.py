# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Tracing never changes what a Go program computes: `safety` (>= 1M goroutines,
channel ping-pong, stack growth, mutex contention) prints the same checksum
and exits 0 whether or not leaktrace attaches and detaches in the middle."""
import re
import subprocess
import time

import pytest

from conftest import all_go_builds, running, trace_args, Tracer

# Seconds the traced run lasts at least: leaktrace attaches 1 s in and must
# have detached (-d 2, plus its set-up and report) before the run ends. At 6
# a loaded machine's 3.8 s of set-up ended the run first (seen once, go1.26:
# "safety ended before leaktrace detached").
SPREAD = 9


def checksum(text: str) -> str:
    m = re.search(r"^checksum=([0-9a-f]{16})$", text, re.M)
    assert m, f"no checksum line in {text!r}"
    return m.group(1)


@pytest.mark.parametrize("build", all_go_builds())
def test_safety_same_checksum(build, tmp_path):
    prog = build.path("safety")
    base = subprocess.run([str(prog)], capture_output=True, text=True, timeout=120)
    assert base.returncode == 0, f"untraced run failed: {base.stderr[-2000:]}"
    want = checksum(base.stdout)

    with running([prog, "-spread", SPREAD], tmp_path) as t:
        time.sleep(1)
        tracer = Tracer(trace_args(t.pid, 2, tmp_path / "r.json"), tmp_path, "safety",
                        timeout=2 + 60)
        run = tracer.wait()
        still_running = t.alive()
        rc = t.wait(180)
        rest = t.rest_of_stdout()
        err = t.stderr_text()
    assert run.returncode == 0, run.describe()
    assert still_running, f"safety ended before leaktrace detached: raise SPREAD\n{run.describe()}"
    assert rc == 0, f"traced safety exited {rc}:\n{err[-3000:]}\n{run.describe()}"
    assert checksum(rest) == want, f"checksum changed under tracing\n{err[-2000:]}"
