# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Native thread leaks (issue 3): threads created and never joined."""
import pytest

from conftest import PTHREAD_LEAK, SHARED_D, find_sites, require_native_caller, \
    require_sites, site_index, sites

pytestmark = pytest.mark.goroutines

RATE, CHURN, D = PTHREAD_LEAK["rate"], PTHREAD_LEAK["churn"], SHARED_D


@pytest.fixture
def pthread_run(pthread_leak_run):
    """The session's shared pthread_leak trace (test_native reads it too)."""
    return pthread_leak_run


def test_thread_leak_site(pthread_run):
    run = pthread_run
    report = run.ok()
    d = run.describe()
    ts = sites(report, "thread")
    assert ts, "no thread sites\n" + d
    top = ts[0]
    assert top["leak"] is True, d
    assert top["live"] >= RATE * D * 0.5, d
    # 5 threads/s = 300/min
    assert 150 <= top["growth_per_min"] <= 600, f"growth_per_min should be ~300\n{d}"
    assert not find_sites(report, kind="thread", function="spawn_joined", leak=True), d
    require_native_caller(top, "spawn_worker", run)


def test_thread_totals(pthread_run):
    run = pthread_run
    report = run.ok()
    th = report["totals"]["threads"]
    assert th["end"] - th["start"] >= RATE * (D - 1) * 0.5, run.describe()


def test_joined_threads_are_not_a_leak(pthread_run):
    run = pthread_run
    report = run.ok()
    for s in require_sites(find_sites(report, function=("spawn_joined", "worker_quick")),
                           "through spawn_joined or worker_quick", run):
        assert s["leak"] is False, \
            f"joined threads are healthy: site #{site_index(report, s)}\n{run.describe()}"
