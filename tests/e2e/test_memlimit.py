# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Time to the memory limit (issue 14): a leaking program in its own memory
cgroup with a 1 GiB limit. The report names the limit, where it comes from
and, at the RSS growth rate now, when it is reached: a line at the top of
the text report and the live view, and JSON "memory_limit".

The cgroup is created under the test's own memory cgroup (cgroup v1 where
the memory controller is on v1, as on hybrid hosts; else v2) and removed
after.
"""
import os
import re
import time
from pathlib import Path

import pytest

from conftest import LEAKTRACE, Tracer, prog_path, running, start_trace

GiB = 1 << 30
MiB = 1 << 20
LIMIT = GiB
# mmap_leak: 2 chunks of 1 MiB a second, each touched: +120 MiB/min of RSS
RATE, CHUNK_KB = 2, 1024
TRACE_S = 8


def _own_memory_cgroup():
    """(version, directory) of this process's memory cgroup."""
    v2 = None
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        num, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            for m in Path("/proc/self/mountinfo").read_text().splitlines():
                pre, post = m.split(" - ", 1)
                if post.split()[0] == "cgroup" and "memory" in post.split()[2]:
                    return 1, Path(pre.split()[4] + path)
        if num == "0" and not ctrls:
            v2 = path
    for m in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, post = m.split(" - ", 1)
        if post.split()[0] == "cgroup2" and v2 is not None:
            return 2, Path(pre.split()[4] + v2)
    pytest.fail("no memory cgroup found in /proc/self/cgroup")


@pytest.fixture
def limited_cgroup():
    version, parent = _own_memory_cgroup()
    cg = parent / f"leaktrace-e2e-limit-{os.getpid()}"
    cg.mkdir()
    try:
        if version == 1:
            (cg / "memory.limit_in_bytes").write_text(str(LIMIT))
        else:
            (cg / "memory.max").write_text(str(LIMIT))
        yield version, cg
    finally:
        for _ in range(50):
            try:
                cg.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _rel(cg: Path, version: int) -> str:
    """The cgroup path as /proc/PID/cgroup shows it."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        num, ctrls, path = line.split(":", 2)
        if (version == 1 and "memory" in ctrls.split(",")) or \
           (version == 2 and num == "0" and not ctrls):
            return path.rstrip("/") + "/" + cg.name
    return cg.name


def test_time_to_cgroup_limit(tmp_path, limited_cgroup):
    version, cg = limited_cgroup
    prog = prog_path("mmap_leak")
    # the program joins the cgroup before it runs: everything it maps is
    # charged there
    argv = ["/bin/sh", "-c", f'echo $$ > "{cg}/cgroup.procs" && exec "$0" "$@"',
            str(prog), "-rate", str(RATE), "-chunk-kb", str(CHUNK_KB),
            "-churn-rate", "0", "-max", "600"]
    with running(argv, tmp_path) as t:
        assert str(t.pid) in (cg / "cgroup.procs").read_text().split(), \
            "the target is not in its cgroup"
        js = start_trace(t.pid, TRACE_S, tmp_path, name="json")
        txt = start_trace(t.pid, TRACE_S, tmp_path, name="text", fmt="text")
        live = Tracer(["-p", str(t.pid), "-d", str(TRACE_S), "-i", "2", "--format", "json",
                       "-o", str(tmp_path / "live.json")], tmp_path, "live",
                      timeout=TRACE_S + 60)
        run, trun, lrun = js.wait(), txt.wait(), live.wait()
    report = run.ok()
    lim = report.get("memory_limit")
    assert lim, "no memory_limit in the report\n" + run.describe()
    want_src = "cgroup v1" if version == 1 else "cgroup v2"
    assert lim["source"] == want_src, lim
    assert lim["limit_bytes"] == LIMIT, lim
    assert lim["cgroup"] == _rel(cg, version), lim
    # usage in the cgroup: what the program mapped and touched since it
    # joined; left is the rest
    assert 0 < lim["left_bytes"] < LIMIT, lim
    # RSS grows by ~120 MiB/min now
    rate = lim["rss_recent_growth_per_min"]
    assert 60 * MiB < rate < 200 * MiB, lim
    minutes = lim["minutes_to_limit"]
    assert minutes is not None and abs(minutes - lim["left_bytes"] / rate) < 0.2, lim
    assert 3 < minutes < 20, lim
    # the text report says it on its second line
    text = (tmp_path / "text.txt").read_text()
    line = text.splitlines()[1]
    assert re.match(rf"limit 1\.0 GiB \({want_src} {re.escape(_rel(cg, version))}\), "
                    r"[\d.]+ \w+ left; at \+[\d.]+ MiB/min \(RSS now\) reached in ~\d+ min$",
                    line), text[:600]
    # and the live view, every interval
    lines = [l for l in lrun.stderr.splitlines() if l.startswith("t=")]
    assert lines and all(f"| limit 1.0 GiB ({want_src}" in l for l in lines), lrun.stderr[-2000:]
    assert "reached in" in lines[-1], lines[-1]
