# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The JSON report follows shared/REPORT-SCHEMA.md (leaktrace/v1) on real runs."""
import datetime as dt
import json
import os

import pytest

from conftest import (GoBuild, Tracer, assert_valid_report, go_version_of, newest_go,
                      oldest_go, prog_path, running, trace_args, trace_program)

DURATION = 3


@pytest.fixture(scope="module")
def flat_c(tmp_path_factory):
    out = tmp_path_factory.mktemp("schema-flat-c")
    before = dt.datetime.now(dt.timezone.utc)
    run = trace_program([prog_path("flat")], DURATION, out, name="flat")
    return run, before


def test_schema_c_flat(flat_c):
    run, before = flat_c
    report = run.ok()
    assert_valid_report(report, run)
    t = report["target"]
    exe = os.path.realpath(prog_path("flat"))
    assert t["pid"] == run.target_pid, run.describe()
    assert t["comm"] == "flat", run.describe()
    assert os.path.realpath(t["exe"]) == exe, run.describe()
    assert t["go_version"] is None, "a C program has no Go version\n" + run.describe()
    assert report["totals"]["goroutines"] is None, "goroutines must be null for C\n" + run.describe()
    assert report["totals"]["threads"]["start"] == 1 and report["totals"]["threads"]["end"] == 1, \
        run.describe()
    rss = report["totals"]["rss_bytes"]
    assert rss["start"] > 0 and rss["end"] > 0, run.describe()
    assert DURATION - 0.5 <= report["duration_s"] <= DURATION + 2, run.describe()
    started = dt.datetime.strptime(report["started_at"][:19], "%Y-%m-%dT%H:%M:%S") \
        .replace(tzinfo=dt.timezone.utc)
    assert before - dt.timedelta(seconds=2) <= started <= before + dt.timedelta(seconds=30), \
        f"started_at {report['started_at']} is not when the run started ({before:%H:%M:%S}Z)"
    assert report["drops"]["events"] == 0 and report["drops"]["stacks"] == 0, \
        "a quiet program must not lose events\n" + run.describe()


def test_c_flat_has_no_leak(flat_c):
    run, _ = flat_c
    report = run.ok()
    leaks = [s for s in report["sites"] if s["leak"]]
    assert not leaks, "flat keeps its memory flat: no site may be a leak\n" + run.describe()


@pytest.mark.parametrize("build", [GoBuild(oldest_go()), GoBuild(newest_go(), stripped=True)],
                         ids=lambda b: b.id)
def test_schema_go(build, tmp_path):
    path = build.path("flat")
    run = trace_program([path], DURATION, tmp_path, name="goflat")
    report = run.ok()
    assert_valid_report(report, run)
    t = report["target"]
    assert t["pid"] == run.target_pid, run.describe()
    assert t["comm"] == path.name[:15], run.describe()
    assert os.path.realpath(t["exe"]) == os.path.realpath(path), run.describe()
    want = go_version_of(build)
    if want:
        assert t["go_version"] == want, \
            f"go_version must come from the binary's build info\n{run.describe()}"
    else:
        assert t["go_version"] and t["go_version"].startswith("go" + build.version), run.describe()
    g = report["totals"]["goroutines"]
    if g is not None:
        assert g["start"] >= 1 and g["end"] >= 1, run.describe()
    assert report["totals"]["threads"]["end"] >= 2, \
        "a Go program runs several threads\n" + run.describe()


def test_json_to_stdout_without_o(tmp_path):
    """`--format json` without -o writes exactly the report to stdout."""
    with running([prog_path("flat")], tmp_path) as t:
        args = ["-p", str(t.pid), "-d", "2", "-i", "1", "--format", "json"]
        run = Tracer(args, tmp_path, "stdout", timeout=2 + 60).wait()
    assert run.returncode == 0, run.describe()
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError as e:
        pytest.fail(f"stdout is not one JSON document ({e}); diagnostics belong on stderr:\n"
                    f"{run.stdout[:1000]}")
    assert_valid_report(report, run)
    assert report["target"]["pid"] == t.pid


def test_text_format_names_the_leak(tmp_path):
    """`--format text` is for people: it names the leaking function."""
    with running([prog_path("mmap_leak")], tmp_path) as t:
        out = tmp_path / "report.txt"
        run = Tracer(trace_args(t.pid, 4, out, fmt="text"), tmp_path, "text",
                     timeout=4 + 60).wait()
    assert run.returncode == 0, run.describe()
    assert out.exists(), f"{out} not written\n{run.describe()}"
    text = out.read_text(errors="replace")
    assert text.strip(), "empty text report"
    assert not text.lstrip().startswith("{"), "--format text wrote JSON"
    assert "leak_chunk" in text, f"text report does not name leak_chunk:\n{text[:3000]}"
