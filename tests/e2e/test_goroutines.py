# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Goroutine leaks (issue 3): stories 1, 3, 4a, 4b and 5 of SCENARIOS.md, and
healthy churn, for every installed Go version plus a stripped build.

To keep the suite fast, all scenarios of one Go build are traced at the same
time (one leaktrace per program); LEAKTRACE_E2E_SERIAL=1 runs them one after
another instead.
"""
import time
from dataclasses import dataclass

import pytest

from conftest import (GoBuild, trace_together, all_go_builds, find_sites, has_function,
                      require_sites, site_index, sites, source_line)

pytestmark = pytest.mark.goroutines

PRELEAK_N = 10000


@dataclass
class Scenario:
    prog: str
    args: list
    duration: float
    ready_timeout: float = 30.0
    settle: float = 0.0


SCENARIOS = {
    # story 1: one leaked goroutine a second under 1000/s healthy churn
    "chansend": Scenario("chansend", ["-leak-rate", "1", "-churn-rate", "1000"], 6),
    # story 3: 2 redials/s, 3 transport goroutines each
    "redial": Scenario("redial", ["-call-rate", "20", "-fail-rate", "2"], 5),
    # story 4a: attach to a process already holding 2 x 10,000 parked goroutines
    "preleak": Scenario("preleak", ["-n", str(PRELEAK_N)], 3, ready_timeout=90),
    # story 4b: one watchConfig (two goroutines) a second
    "slowleak": Scenario("slowleak", ["-interval", "1"], 7),
    # healthy: 2000 goroutines/s that finish
    "churn": Scenario("churn", ["-rate", "2000"], 5),
    # story 5: heap grows, goroutines flat
    "heapgrow": Scenario("heapgrow", ["-rate", "50"], 5),
}


# go_runs traces one build's scenarios when a test of that build first asks:
# make e2e hands out each build's tests as a unit of their own (conftest).
E2E_UNIT_PARAM = "build"


@pytest.fixture(scope="module")
def go_runs(tmp_path_factory):
    """go_runs(build) -> {scenario: Run}, traced once per build and cached."""
    cache = {}
    def get(build: GoBuild):
        if build not in cache:
            out = tmp_path_factory.mktemp(build.id)
            try:
                cache[build] = _trace_all(build, out)
            except BaseException as e:  # fail the other tests of this build fast
                cache[build] = e
                raise
        if isinstance(cache[build], BaseException):
            pytest.fail(f"tracing the {build.id} scenarios failed earlier: {cache[build]}")
        return cache[build]

    return get


def _trace_all(build: GoBuild, out) -> dict:
    def settle(sc):
        return (lambda t: time.sleep(sc.settle)) if sc.settle else None

    return trace_together({name: dict(argv=[build.path(sc.prog), *sc.args],
                                      duration=sc.duration,
                                      ready_timeout=sc.ready_timeout,
                                      before=settle(sc))
                           for name, sc in SCENARIOS.items()}, out)


def goroutine_totals(report, run):
    g = report["totals"]["goroutines"]
    assert g is not None, "totals.goroutines must be set for a Go target\n" + run.describe()
    return g["start"], g["end"]


def wait_frame(site, prefix):
    for f in site.get("wait_stack") or []:
        if (f.get("function") or "").startswith(prefix):
            return f
    return None


BUILDS = all_go_builds()


# --------------------------------------------------------------------------
# story 1: chan send leak under heavy churn

@pytest.mark.parametrize("build", BUILDS)
def test_story1_chansend(build, go_runs):
    run = go_runs(build)["chansend"]
    report = run.ok()
    gs = sites(report, "goroutine")
    assert gs, "no goroutine sites\n" + run.describe()
    top = gs[0]
    d = run.describe()
    assert has_function(top, "main.handleTxnCheck"), \
        "the top goroutine site must be created in main.handleTxnCheck\n" + d
    assert has_function(top, "main.brokerLoop"), "the full creator stack is needed\n" + d
    assert top["wait_reason"] == "chan send", d
    assert top["leak"] is True, d
    assert top["live"] >= 3, d
    # 1 goroutine/s = 60/min
    assert 30 <= top["growth_per_min"] <= 120, f"growth_per_min should be ~60\n{d}"
    line = source_line("go/chansend/main.go", "callbackCh <- cb")
    fr = wait_frame(top, "main.handleTxnCheck.func")
    assert fr is not None, "parked stack must show the closure doing the send\n" + d
    assert fr["line"] == line, f"parked at line {fr['line']}, the send is at {line}\n{d}"
    top_i = site_index(report, top)
    for s in require_sites(find_sites(report, kind="goroutine", function="main.spawnHealthy"),
                           "of goroutines created in main.spawnHealthy", run):
        assert s["leak"] is False, "healthy churn (main.spawnHealthy) is not a leak\n" + d
        assert site_index(report, s) > top_i, "churn must rank below the leak\n" + d
    goroutine_totals(report, run)  # set for a Go target (its slope is churn noise here)


# --------------------------------------------------------------------------
# story 3: redial on every error

@pytest.mark.parametrize("build", BUILDS)
def test_story3_redial(build, go_runs):
    run = go_runs(build)["redial"]
    report = run.ok()
    d = run.describe()
    dialed = find_sites(report, kind="goroutine", function="main.dial")
    assert dialed, "no goroutine site created in main.dial\n" + d
    found = {}
    for name in ("reader", "writer", "keepalive"):
        fn = f"main.(*transport).{name}"
        hits = [s for s in dialed
                if has_function(s, fn, key="wait_stack") or has_function(s, fn)]
        assert hits, f"no goroutine site from main.dial runs {fn}\n{d}"
        s = hits[0]
        found[name] = site_index(report, s)
        assert s["leak"] is True, f"{fn} goroutines grow with every redial\n{d}"
        assert has_function(s, "main.callWithRetry"), \
            f"{fn}: creation stack must reach the redialing helper\n{d}"
        # 2 dials/s = 120/min per transport goroutine
        assert 60 <= s["growth_per_min"] <= 240, f"{fn}: growth_per_min should be ~120\n{d}"
    assert len(set(found.values())) == 3, \
        f"reader, writer and keepalive are three distinct sites: {found}\n{d}"
    for s in require_sites(find_sites(report, kind="goroutine", function="main.idleWorker",
                                      key="wait_stack"),
                           "of goroutines waiting in main.idleWorker", run):
        assert s["leak"] is False, "the idle pool does not grow\n" + d
    start, end = goroutine_totals(report, run)
    assert end - start >= 3 * 2 * (SCENARIOS["redial"].duration - 1) * 0.5, d


# --------------------------------------------------------------------------
# story 4a: attach after the leak happened

@pytest.mark.parametrize("build", BUILDS)
def test_story4a_preleak(build, go_runs):
    run = go_runs(build)["preleak"]
    report = run.ok()
    d = run.describe()
    ws = find_sites(report, kind="goroutine", function="main.watchConfig")
    assert ws, "no goroutine site created by main.watchConfig\n" + d
    total = sum(s["live"] or 0 for s in ws)
    assert total >= 2 * PRELEAK_N, \
        f"{2 * PRELEAK_N} goroutines were parked before attach, report has {total}\n{d}"
    for s in ws:
        assert s["wait_reason"] == "chan receive", d
        if s.get("oldest_s") is not None:
            assert s["oldest_s"] > 0, d
    for fn in ("main.(*watcher).loop", "main.(*watcher).recvLoop"):
        assert any(has_function(s, fn, key="wait_stack") for s in ws), \
            f"no watchConfig site is parked in {fn}\n{d}"
    assert any(sites(report, "goroutine")[0] is s for s in ws), \
        "20,000 parked goroutines are the most suspect goroutine site\n" + d
    start, end = goroutine_totals(report, run)
    assert start >= 2 * PRELEAK_N and end >= 2 * PRELEAK_N, d


# --------------------------------------------------------------------------
# story 4b: slow steady leak

@pytest.mark.parametrize("build", BUILDS)
def test_story4b_slowleak(build, go_runs):
    run = go_runs(build)["slowleak"]
    report = run.ok()
    d = run.describe()
    ws = find_sites(report, kind="goroutine", function="main.watchConfig", leak=True)
    assert ws, "one watchConfig a second (two goroutines) must be a leak\n" + d
    for s in ws:
        assert has_function(s, "main.refreshLoop"), d
        assert s["wait_reason"] == "chan receive", d
    growth = sum(s["growth_per_min"] for s in ws)
    assert 60 <= growth <= 240, f"combined growth should be ~120/min, is {growth}\n{d}"
    assert any(sites(report, "goroutine")[0] is s for s in ws), \
        "the slow leak is the most suspect goroutine site\n" + d


# --------------------------------------------------------------------------
# healthy churn

@pytest.mark.parametrize("build", BUILDS)
def test_churn_is_not_a_leak(build, go_runs):
    run = go_runs(build)["churn"]
    report = run.ok()
    d = run.describe()
    leaks = [s for s in report["sites"] if s["leak"]]
    assert not leaks, "2000 short-lived goroutines a second is healthy: no leak verdict\n" + d
    spawned = find_sites(report, kind="goroutine", function="main.spawnWorker")
    for s in spawned:
        assert s["leak"] is False, d
    start, end = goroutine_totals(report, run)
    assert abs(end - start) <= 50, d


# --------------------------------------------------------------------------
# story 5: heap grows, goroutines flat

@pytest.mark.parametrize("build", BUILDS)
def test_story5_goroutines_flat(build, go_runs):
    run = go_runs(build)["heapgrow"]
    report = run.ok()
    d = run.describe()
    start, end = goroutine_totals(report, run)
    assert abs(end - start) <= 2, "heapgrow serves requests on one goroutine\n" + d
    assert not find_sites(report, kind="goroutine", leak=True), \
        "retained heap must not be reported as a goroutine leak\n" + d
    leaks = [s for s in report["sites"] if s["leak"]]
    assert leaks and leaks[0]["kind"] in ("fault", "mmap", "heap"), d
    assert has_function(leaks[0], "main.storeSession", "main.handleRequest"), d
