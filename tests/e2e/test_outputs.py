# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Other outputs (issue 4): --format folded (flame graphs), --format pprof
(read back with `go tool pprof`) and --base (comparison with an earlier
JSON report)."""
import gzip
import os
import pty
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BUILD, LEAKTRACE, RUN_SLACK_S, SITE_KINDS, GoBuild, Tracer,
                      assert_valid_report, newest_go, prog_path, run_leaktrace, running,
                      trace_args, trace_program)

MiB = 1 << 20

# mmap_leak: 10 chunks/s of 1 MiB leaked from leak_chunk, 20 chunks/s churned.
MMAP_ARGS = ["-rate", "10", "-churn-rate", "20", "-chunk-kb", "1024"]
MMAP_BYTES_PER_S = 10 * MiB


def stderr_lines(run):
    return [l for l in run.stderr.splitlines() if l.strip()]


def trace_to(pid: int, duration: float, out: Path, fmt: str, name: str, extra=()):
    """leaktrace -p PID -d D --format FMT -o OUT [extra], waited for."""
    run = Tracer(trace_args(pid, duration, out, fmt=fmt, extra=extra), out.parent, name,
                 timeout=duration + RUN_SLACK_S).wait()
    run.target_pid = pid
    assert not run.timed_out and run.returncode == 0, "leaktrace failed\n" + run.describe()
    assert out.exists() and out.stat().st_size > 0, f"{out} not written\n" + run.describe()
    return run


# --------------------------------------------------------------------------
# --format folded

FOLDED_LINE = re.compile(r"^(\S[^\n]*) (\d+)$")


def parse_folded(text: str):
    """[(frames outermost first, including the kind root), value]."""
    out = []
    for line in text.splitlines():
        m = FOLDED_LINE.match(line)
        assert m, f"not a folded-stack line: {line!r}"
        out.append((m.group(1).split(";"), int(m.group(2))))
    return out


@pytest.fixture(scope="module")
def folded_mmap(tmp_path_factory):
    out = tmp_path_factory.mktemp("folded-mmap")
    run = trace_program([prog_path("mmap_leak"), *MMAP_ARGS], 3, out, name="folded",
                        fmt="folded")
    assert not run.timed_out and run.returncode == 0, "leaktrace failed\n" + run.describe()
    return run, run.report_path.read_text()


def test_folded_lines_are_well_formed(folded_mmap):
    run, text = folded_mmap
    stacks = parse_folded(text)
    assert stacks, "no folded stacks\n" + run.describe()
    for frames, value in stacks:
        assert frames[0] in SITE_KINDS, f"root frame {frames[0]!r} is not a site kind"
        assert len(frames) >= 2 and all(frames), f"empty frame in {';'.join(frames)}"
        assert value > 0, f"{';'.join(frames)} has value {value}"


def test_folded_names_leak_chunk_with_its_bytes(folded_mmap):
    run, text = folded_mmap
    want = 0.5 * MMAP_BYTES_PER_S * 3
    hits = [(f, v) for f, v in parse_folded(text) if "leak_chunk" in f]
    assert hits, f"no folded stack names leak_chunk:\n{text}\n{run.describe()}"
    big = [(f, v) for f, v in hits if v >= want]
    assert big, (f"leak_chunk stacks hold {[v for _, v in hits]} bytes, want one >= "
                 f"{want:.0f}:\n{text}")
    # The page faults are taken in leak_chunk itself: innermost (last) frame.
    assert any(f[0] == "fault" and f[-1] == "leak_chunk" and v >= want for f, v in hits), \
        f"no fault stack ending in leak_chunk with >= {want:.0f} bytes:\n{text}"


# --------------------------------------------------------------------------
# --format pprof, read back by go tool pprof

GO_VERSION = newest_go()
GO = Path(f"/usr/lib/go-{GO_VERSION}/bin/go")


@pytest.fixture(scope="session")
def pprof_tool(tmp_path_factory):
    """pprof_tool(*args) -> stdout of `go tool pprof ARGS` (offline)."""
    if not GO.exists():
        pytest.skip(f"{GO} is not installed")
    home = tmp_path_factory.mktemp("pprof-home")
    # `go tool pprof` is built on first use (a minute): reuse the build's
    # Go cache when there is one.
    cache = BUILD / "gocache"
    if not (cache.is_dir() and os.access(cache, os.W_OK)):
        cache = home / "gocache"
    env = dict(os.environ, HOME=str(home), GOCACHE=str(cache), GOTOOLCHAIN="local",
               GOPROXY="off", GOFLAGS="", PPROF_TMPDIR=str(home))

    def run(*args):
        p = subprocess.run([str(GO), "tool", "pprof", *map(str, args)], env=env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, f"go tool pprof {args} failed:\n{p.stderr}"
        return p.stdout
    return run


def top_functions(top: str) -> list:
    """Function names of `pprof -top` rows, in order."""
    rows, seen_header = [], False
    for line in top.splitlines():
        if re.match(r"\s*flat\s+flat%", line):
            seen_header = True
            continue
        if seen_header and line.strip():
            parts = line.split(None, 5)
            if len(parts) == 6:
                rows.append(re.sub(r" \(inline\)$", "", parts[5]))
    return rows


def pprof_of(prog: str, args: list, duration: float, out_dir: Path) -> Path:
    out = out_dir / f"{prog}.pb.gz"
    with running([prog_path(prog, go=GoBuild(GO_VERSION)), *args], out_dir) as t:
        trace_to(t.pid, duration, out, "pprof", prog)
    data = out.read_bytes()
    assert data[:2] == b"\x1f\x8b", f"{out} is not gzip: starts with {data[:8]!r}"
    assert len(gzip.decompress(data)) > 0, f"{out} is an empty profile"
    return out


def test_pprof_heapgrow_resident_bytes(tmp_path, pprof_tool):
    prof = pprof_of("heapgrow", ["-rate", "50"], 4, tmp_path)
    top = pprof_tool("-top", "-sample_index=resident_bytes", prof)
    fns = top_functions(top)
    assert "main.storeSession" in fns[:3], \
        f"main.storeSession is not among the top resident_bytes functions:\n{top}"
    raw = pprof_tool("-raw", prof)
    assert "leak:[true]" in raw and "kind:[fault]" in raw, \
        f"samples lack kind/leak labels:\n{raw[:3000]}"


def test_pprof_chansend_goroutines(tmp_path, pprof_tool):
    prof = pprof_of("chansend", ["-leak-rate", "1", "-churn-rate", "1000"], 5, tmp_path)
    top = pprof_tool("-top", "-sample_index=goroutines", prof)
    assert "main.handleTxnCheck" in top_functions(top), \
        f"main.handleTxnCheck is not in the goroutines profile:\n{top}"
    raw = pprof_tool("-raw", prof)
    assert "wait_reason:[" in raw, f"goroutine samples lack wait_reason:\n{raw[:3000]}"


def test_pprof_refuses_a_terminal(start_prog):
    t = start_prog(prog_path("mmap_leak"), *MMAP_ARGS)
    master, slave = pty.openpty()
    try:
        start = time.monotonic()
        p = subprocess.run([str(LEAKTRACE), "-p", str(t.pid), "-d", "1", "--format", "pprof"],
                           stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                           text=True, timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert p.returncode == 2, f"rc={p.returncode}, stderr:\n{p.stderr}"
    assert len(lines) == 1 and "-o" in lines[0], f"want one line suggesting -o:\n{p.stderr}"
    assert time.monotonic() - start < 5, "refused only after tracing"


# --------------------------------------------------------------------------
# --base

@pytest.fixture(scope="module")
def base_runs(tmp_path_factory):
    """One mmap_leak traced three times: 2 s (the base, JSON), then 4 s JSON
    and 3 s text, both with --base. Each report counts what its own window
    added, so the longer windows must show the leak as grown (two equal
    windows may add exactly as much: "no change")."""
    out = tmp_path_factory.mktemp("base")
    first, second, text = out / "first.json", out / "second.json", out / "third.txt"
    with running([prog_path("mmap_leak"), *MMAP_ARGS], out) as t:
        r1 = trace_to(t.pid, 2, first, "json", "first")
        r2 = trace_to(t.pid, 4, second, "json", "second", extra=["--base", first])
        r3 = trace_to(t.pid, 3, text, "text", "third", extra=["--base", first])
    return first, r1, r2, r3, text.read_text()


def test_base_comparison_lists_leak_as_grown(base_runs):
    first, r1, r2, _, _ = base_runs
    r1.ok()
    report = r2.ok()
    assert_valid_report(report, r2)
    cmp_ = report.get("comparison")
    assert isinstance(cmp_, dict), "no comparison object\n" + r2.describe()
    assert cmp_["base"] == str(first), cmp_["base"]
    for key in ("new", "grown", "shrunk", "gone"):
        assert isinstance(cmp_.get(key), list), f"comparison.{key} is not a list: {cmp_}"
        for e in cmp_[key]:
            assert e["kind"] in SITE_KINDS, e
            assert isinstance(e["stack"], list) and len(e["stack"]) <= 5, e
            assert all(isinstance(f, str) for f in e["stack"]), e
            assert e["delta"] == e["after"] - e["before"], e
            assert {"new": e["before"] == 0 and e["after"] > 0,
                    "gone": e["after"] == 0 and e["before"] > 0,
                    "grown": 0 < e["before"] < e["after"],
                    "shrunk": 0 < e["after"] < e["before"]}[key], f"{key}: {e}"
    grown = [e for e in cmp_["grown"]
             if e["kind"] in ("fault", "mmap") and "leak_chunk" in e["stack"]]
    assert grown, f"leak_chunk is not listed as grown: {cmp_}\n{r2.describe()}"
    assert max(e["delta"] for e in grown) >= 0.5 * MMAP_BYTES_PER_S * 2, grown


def test_base_text_section(base_runs):
    first, _, _, r3, text = base_runs
    assert f"COMPARED WITH {first}" in text, text
    section = text.split("COMPARED WITH", 1)[1]
    assert "leak_chunk" in section, f"the text comparison does not name leak_chunk:\n{text}"


def test_base_missing_file_is_usage_error(start_prog, tmp_path):
    t = start_prog(prog_path("mmap_leak"), *MMAP_ARGS)
    missing = tmp_path / "no-such-report.json"
    run = run_leaktrace(trace_args(t.pid, 2, tmp_path / "r.json", extra=["--base", missing]),
                        timeout=20, out_dir=tmp_path)
    assert run.returncode == 2, run.describe()
    lines = stderr_lines(run)
    assert len(lines) == 1 and str(missing) in lines[0], \
        f"want one stderr line naming {missing}:\n{run.stderr}"
    assert run.elapsed < 5, f"exit took {run.elapsed:.1f}s: tracing started\n" + run.describe()
    assert not (tmp_path / "r.json").exists(), "a report was written"


def test_base_invalid_file_is_usage_error(start_prog, tmp_path):
    t = start_prog(prog_path("mmap_leak"), *MMAP_ARGS)
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/else", "sites": []}')
    run = run_leaktrace(trace_args(t.pid, 2, tmp_path / "r.json", extra=["--base", bad]),
                        timeout=20, out_dir=tmp_path)
    assert run.returncode == 2, run.describe()
    lines = stderr_lines(run)
    assert len(lines) == 1 and str(bad) in lines[0], f"want one stderr line:\n{run.stderr}"
