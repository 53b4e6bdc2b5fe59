# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""One entry per culprit, and findings only where they apply (issue 14):

- the demo's 3 leaks are 3 entries in JSON, text and findings: the
  goroutines from before attach and those since in one, the mapped and
  resident views of a culprit in one; runtime growth sits under its cause
  and no advice names a runtime function;
- a Go target gets no frame-pointer advice;
- `-- CMD` of a Go program: the threads its runtime starts are not growth.
"""
import re

import pytest

from conftest import GoBuild, newest_go, prog_path, running, start_trace, trace_cmd

RUNTIME_FN = re.compile(r"(^|[\s(])(runtime[./]|internal/)[\w(*]")
DEMO_S = 15


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    with running([prog_path("demo", go=GoBuild(newest_go())), "-quiet"], out) as t:
        js = start_trace(t.pid, DEMO_S, out, name="json", interval=3)
        txt = start_trace(t.pid, DEMO_S, out, name="text", interval=3, fmt="text")
        return js.wait(), txt.wait()


def test_demo_three_leaks_three_entries(demo):
    run, trun = demo
    report = run.ok()
    d = run.describe()
    leaks = [e for e in report["entries"] if e["verdict"] == "leak"]
    culprits = sorted(re.sub(r" \(.*", "", e["culprit"] or "?") for e in leaks)
    assert culprits == ["main.(*BlobCache).Load", "main.(*Notifier).Publish",
                        "main.(*SessionStore).Save"], f"{culprits}\n{d}"
    by = {re.sub(r" \(.*", "", e["culprit"]): e for e in leaks}
    g = by["main.(*Notifier).Publish"]
    # goroutines alive before attach and those started since: one entry
    assert g["before_attach"] > 0 and g["since_attach"] > 0, g
    assert g["live"] == g["before_attach"] + g["since_attach"], g
    # the mmap'd blob cache: its mapped and resident views in one entry
    load = by["main.(*BlobCache).Load"]
    assert set(load["columns"]) >= {"mapped", "resident"}, load
    # every leaking site belongs to one of the three
    idx = {report["entries"].index(e) for e in leaks}
    for s in report["sites"]:
        if s["leak"]:
            assert s["entry"] in idx, (s["entry"], d)
    # runtime/allocator growth is a consequence, never a leak entry
    for e in report["entries"]:
        if e["symptom"]:
            assert e["verdict"] != "leak" or e["cause"] is not None, e
    # findings: one per leak, distinct titles, no runtime function
    fl = [f for f in report["findings"] if f["kind"] == "leak"]
    assert len(fl) == 3 and len({f["title"] for f in fl}) == 3, fl
    for f in report["findings"]:
        assert not RUNTIME_FN.search(f["title"] + " " + f["detail"]), f
    # text: three LEAK rows, one per culprit
    text = (trun.out_dir / "text.txt").read_text()
    rows = [l for l in text.splitlines() if re.match(r"\s*\d+\s+\S+.*\sLEAK\s", l)]
    assert len(rows) == 3, text
    assert re.search(r"\d+ live: \d+ before attach \+ \d+ since", text), text


def test_json_entries_and_sites_agree(demo):
    """Variants are kept: every site names its entry, every entry lists
    its sites, and the columns add up to the sites' bytes."""
    report = demo[0].ok()
    entries, sites = report["entries"], report["sites"]
    for i, s in enumerate(sites):
        assert s["entry"] is not None and 0 <= s["entry"] < len(entries), s
        assert i in entries[s["entry"]]["sites"], (i, entries[s["entry"]])
        assert s["verdict"] in ("leak", "growing", "stopped", "recycled", "none"), s
        assert s["leak"] == (s["verdict"] == "leak"), s
    col = {"mmap": "mapped", "brk": "mapped", "fault": "resident", "heap": "heap",
           "malloc": "heap"}
    for k, e in enumerate(entries):
        listed = [sites[j] for j in e["sites"] if j >= 0]
        assert all(x["entry"] == k for x in listed), e
        if e["class"] == "memory" and len(listed) == len(e["sites"]):
            for name, c in e["columns"].items():
                total = sum(x["bytes"] for x in listed if col[x["kind"]] == name)
                assert c["bytes"] == total, (name, c, e)


def test_go_target_no_frame_pointer_advice(demo):
    report = demo[0].ok()
    assert not [f for f in report["findings"] if f["kind"] == "truncated"], report["findings"]
    assert "frame-pointer" not in (demo[1].out_dir / "text.txt").read_text()


def test_cmd_go_runtime_start_threads_are_not_growth(tmp_path, monkeypatch):
    """`-- CMD` sees a Go runtime start its threads (1 -> 6 with 8 Ps): that
    is start-up, flat by the end of the window, not growth. And a Go target
    gets no frame-pointer advice."""
    monkeypatch.setenv("GOMAXPROCS", "8")
    run = trace_cmd([prog_path("pool", go=GoBuild(newest_go())), "-workers", "16",
                     "-duration", "6"], tmp_path, interval=0.5)
    report = run.ok()
    th = report["totals"]["threads"]
    kinds = [f["kind"] for f in report["findings"]]
    assert "threads" not in kinds, f"threads {th}: {report['findings']}\n{run.describe()}"
    assert "truncated" not in kinds, report["findings"]
