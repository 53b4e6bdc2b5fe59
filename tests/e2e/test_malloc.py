# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Allocation sites (issue 15): the `malloc` kind.

leaktrace finds the allocator the target uses (glibc's malloc in libc.so.6,
jemalloc in Debian's redis-server), probes its entry points within a CPU
budget (duty windows) and keeps, per allocation stack, the outstanding
bytes and objects estimated from what the windows saw (frees seen in a
window, addresses handed out again). These tests run real programs and
real services under the real tool:

- malloc_leak: leak_record's malloc site leaks, about as much as it keeps;
  churn()'s (malloc/free) does not;
- the same program with only churn: no leak at all;
- a cgo program's C mallocs, with the Go caller in the stack;
- redis-server (jemalloc) filled, FLUSHALL'd and filled again while traced:
  the top memory site (the first entry the text shows, and the report's
  ranking) is a leaking malloc site under setCommand (_sdsnewlen or
  dictAddRaw), dictFind (a lookup that first
  touches a new hash table) gets no leak verdict; GET-only load
  afterwards: no leak verdict;
- --no-malloc turns the kind off, a bad --malloc-budget is a usage error.
"""
import socket
import time

import pytest

from conftest import (GoBuild, find_sites, fmt_stack, functions, has_function, newest_go,
                      prog_path, run_leaktrace, start_trace, trace_program)
from test_real_services import Service, _free_port, _need, _wait_port

D = 8
LEAK_RATE, LEAK_SIZE, CHURN_RATE = 2000, 200, 5000


def malloc_sites(report):
    return [s for s in report["sites"] if s["kind"] == "malloc"]


def culprit_is(site, name):
    """The first named frame of the application (past zmalloc & co) is name."""
    for f in functions(site):
        if f in (None, "malloc", "calloc", "realloc", "zmalloc", "zcalloc", "zrealloc",
                 "zmalloc_usable", "zcalloc_usable", "zrealloc_usable", "ztrymalloc_usable"):
            continue
        return f == name
    return False


def check_sampling(report, run, allocator):
    ms = report.get("malloc_sampling")
    assert isinstance(ms, dict), "report lacks 'malloc_sampling'\n" + run.describe()
    assert ms["allocator"] == allocator, f"allocator {ms['allocator']!r}\n{run.describe()}"
    assert ms["mode"] in ("continuous", "duty-cycled"), ms
    assert ms["alloc_hits"] > 0 and ms["allocations_sampled"] > 0, ms
    assert ms["attach_errors"] == 0, ms
    return ms


@pytest.fixture(scope="module")
def leak_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("malloc_sites")
    return trace_program([prog_path("malloc_leak"), "-rate", LEAK_RATE, "-size", LEAK_SIZE,
                          "-churn-rate", CHURN_RATE], D, out, name="malloc_sites")


def test_leak_record_malloc_site_leaks(leak_run):
    run = leak_run
    report = run.ok()
    check_sampling(report, run, "glibc")
    leak = [s for s in malloc_sites(report) if has_function(s, "leak_record")]
    assert leak, "no malloc site through leak_record\n" + run.describe()
    top = max(leak, key=lambda s: s["bytes"] or 0)
    assert top["verdict"] == "leak" and top["leak"] is True, \
        f"leak_record's malloc site: verdict {top['verdict']} ({top['verdict_reason']})\n" \
        + run.describe()
    fns = functions(top)
    assert fns.index("leak_record") < fns.index("main"), f"[{fmt_stack(top, n=12)}]"
    assert not has_function(top, "churn"), f"[{fmt_stack(top, n=12)}]"
    # Estimated outstanding bytes against what the program keeps over the
    # trace (records allocated while traced; the estimate scales the
    # windows' samples up by their duty).
    want = LEAK_RATE * LEAK_SIZE * D
    assert 0.3 * want <= top["bytes"] <= 3 * want, \
        f"estimated {top['bytes']} bytes, kept ~{want}\n{run.describe()}"
    sampled = top["malloc_sampled"]
    assert sampled["calls"] > 0 and sampled["live_objects"] == sampled["calls"], sampled


def test_churn_malloc_site_is_not_a_leak(leak_run):
    run = leak_run
    report = run.ok()
    churn = [s for s in malloc_sites(report) if has_function(s, "churn")]
    assert churn, "no malloc site through churn\n" + run.describe()
    for s in churn:
        assert s["leak"] is False and s["verdict"] != "leak", run.describe()
        died = s["malloc_sampled"]["died_seen_freed"] + s["malloc_sampled"]["died_address_reused"]
        assert died >= 0.9 * s["malloc_sampled"]["calls"], s["malloc_sampled"]
    # No site at all through churn leaks (its faults inside malloc are the
    # allocator's reuse, not churn's growth).
    assert not find_sites(report, function="churn", leak=True), run.describe()


def test_churn_program_has_no_leak(tmp_path):
    run = trace_program([prog_path("malloc_leak"), "-rate", 0, "-churn-rate", 20000], D,
                        tmp_path, name="churn_only")
    report = run.ok()
    check_sampling(report, run, "glibc")
    assert malloc_sites(report), "churn's mallocs were not seen\n" + run.describe()
    bad = [s for s in report["sites"] if s["verdict"] == "leak"]
    assert not bad, "a program that frees what it mallocs has no leak\n" + run.describe()


def test_pool_replaced_between_windows_is_not_counted_live(tmp_path):
    """flat replaces 256 heap buffers of 32 B - 64 KiB 2000 times a second:
    the probes go duty-cycled and most buffers sampled in a window are freed
    while the probes are off. The estimate must stay near what the pool
    holds (~8.4 MB, at most 16.8): a new allocation overlapping a sampled
    object proves it dead, and a window's objects count for the pause around
    them only as far as the site's objects were seen to outlive one (before:
    174 MB, and a leak verdict on a fresh machine)."""
    run = trace_program([prog_path("flat"), "-rate", 20], D, tmp_path, name="pool")
    report = run.ok()
    ms = check_sampling(report, run, "glibc")
    pool = [s for s in malloc_sites(report) if has_function(s, "heap_replace")]
    assert pool, "no malloc site through heap_replace\n" + run.describe()
    top = max(pool, key=lambda s: s["bytes"] or 0)
    assert not top["leak"], run.describe()
    died = top["malloc_sampled"]["died_seen_freed"] + top["malloc_sampled"]["died_address_reused"]
    assert top["malloc_sampled"]["live_objects"] <= 256 + 16, (top["malloc_sampled"], ms)
    assert died >= top["malloc_sampled"]["calls"] - 256 - 16, top["malloc_sampled"]
    assert 2 << 20 <= top["bytes"] <= 256 * (64 << 10) + (1 << 20), \
        f"estimated {top['bytes']} bytes for a pool of ~8.4 MB (mode {ms['mode']}, " \
        f"duty {ms['duty']})\n{run.describe()}"


def test_cgo_allocations_in_a_go_process(tmp_path):
    """cgoleak's C code mallocs 256 KiB buffers from a Go function: a Go
    process is probed too (its allocator is C), and the site's stack
    crosses from C back to the Go caller."""
    run = trace_program([prog_path("cgoleak", GoBuild(newest_go())), "-rate", 50], D,
                        tmp_path, name="cgoleak")
    report = run.ok()
    check_sampling(report, run, "glibc")
    sites = [s for s in malloc_sites(report) if has_function(s, "leak_buffer")]
    assert sites, "no malloc site through leak_buffer\n" + run.describe()
    top = max(sites, key=lambda s: s["bytes"] or 0)
    assert has_function(top, "main.leakBuffers"), f"[{fmt_stack(top, n=12)}]"
    assert top["verdict"] == "leak", run.describe()
    want = 50 * (256 << 10) * D
    assert 0.3 * want <= top["bytes"] <= 3 * want, f"{top['bytes']} vs ~{want}"


def test_no_malloc(tmp_path):
    run = trace_program([prog_path("malloc_leak"), "-rate", LEAK_RATE], 3, tmp_path,
                        name="no_malloc", extra=["--no-malloc"])
    report = run.ok()
    assert not malloc_sites(report), run.describe()
    assert "malloc_sampling" not in report, run.describe()


@pytest.mark.parametrize("bad", ["-1", "101", "x", ""])
def test_bad_malloc_budget(bad):
    run = run_leaktrace(["-p", "1", "--malloc-budget", bad])
    assert run.returncode == 2, run.describe()
    assert "budget" in run.stderr, run.describe()


# --------------------------------------------------------------------------
# redis-server (Debian's, jemalloc): allocator reuse after FLUSHALL

REDIS_TRACE_S = 14
REDIS_RATE, REDIS_VALUE = 6000, 64
# The default budget (1 % of a core) at ~10 us a hit on this VM gives a
# server doing ~80k allocator calls a second one window every few seconds:
# enough over minutes, not over a 14 s test. 5 % gives about seven.
REDIS_EXTRA = ["--malloc-budget", "5"]


class Resp:
    """A bounded RESP client on 127.0.0.1, pipelined by batches."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def call(self, *cmds):
        self.s.sendall(b"".join(b"*%d\r\n" % len(c) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in c) for c in cmds))
        n = 0
        while n < len(cmds):
            # simple strings, integers and bulk strings of our own values
            while b"\r\n" not in self.buf:
                self.buf += self.s.recv(65536)
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line.startswith(b"$") and int(line[1:]) >= 0:
                need = int(line[1:]) + 2
                while len(self.buf) < need:
                    self.buf += self.s.recv(65536)
                self.buf = self.buf[need:]
            n += 1

    def paced(self, make, seconds, rate, first=0):
        """make(i) -> command, rate a second for seconds; returns the count."""
        batch, i, t0 = max(1, rate // 20), first, time.monotonic()
        while time.monotonic() - t0 < seconds:
            self.call(*[make(j) for j in range(i, i + batch)])
            i += batch
            time.sleep(max(0.0, t0 + (i - first) / rate - time.monotonic()))
        return i - first

    def close(self):
        self.s.close()


# Keys of ~120 bytes (jemalloc's 128-byte class), values of 64 (80): what
# setCommand itself allocates (dbAdd's copy of the key, _sdsnewlen; the
# dictEntry, dictAddRaw) is then the largest growth, as issue 15 words it.
# With short keys the largest is the value's string, which the request
# parser allocates (_sdsnewlen < createStringObject < processMultibulkBuffer)
# and setCommand keeps: a leak of the SET path, not under setCommand.
REDIS_KEY = b"session:" + b"k" * 100 + b":%d"


def _set(i):
    return (b"SET", REDIS_KEY % i, b"v" * REDIS_VALUE)


def _get(i):
    return (b"GET", REDIS_KEY % (i % 20000))


@pytest.fixture(scope="module")
def redis_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("redis_malloc")
    port = _free_port()
    svc = Service([_need("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(out),
                   "--protected-mode", "yes"], out, "redis")
    try:
        _wait_port(port, svc.proc, "redis-server")
        c = Resp(port)
        # First fill (untraced), bigger than the second: its memory is
        # what jemalloc hands out again after the FLUSHALL.
        for i in range(0, 200000, 2000):
            c.call(*[_set(j) for j in range(i, i + 2000)])
        c.call((b"FLUSHALL",))
        # Each load starts at the trace's first progress line (t=1 s) and
        # lasts to its end: timed from leaktrace's start instead, a set-up
        # of 1.9 s on a loaded host ended the fill 2 s before the trace,
        # and "stopped" was the right verdict for what it saw.
        tr = start_trace(svc.pid, REDIS_TRACE_S, out, name="refill", extra=REDIS_EXTRA)
        assert tr.wait_tracing(), "leaktrace did not start tracing"
        sets = c.paced(_set, REDIS_TRACE_S - 1.0, REDIS_RATE, first=1000000)
        refill = tr.wait()
        tr = start_trace(svc.pid, REDIS_TRACE_S, out, name="gets", extra=REDIS_EXTRA)
        assert tr.wait_tracing(), "leaktrace did not start tracing"
        gets = c.paced(_get, REDIS_TRACE_S - 1.0, REDIS_RATE)
        get_run = tr.wait()
        c.close()
        return dict(refill=refill, gets=get_run, sets=sets, get_count=gets)
    finally:
        svc.stop()


def top_memory_entry(report):
    """What the text output shows first: the first memory entry that is
    not a consequence of another, and its lead (highest ranked) site."""
    for e in report["entries"]:
        if "columns" not in e or (e.get("symptom") and e.get("cause") is not None):
            continue
        return e, report["sites"][e["sites"][0]]
    return None, None


def test_redis_refill_malloc_sites_leak(redis_runs):
    """Issue 15 as worded: the top memory site in the second fill is a
    malloc site through setCommand (_sdsnewlen or dictAddRaw) with a leak
    verdict. (A hash table's one doubling, zcalloc < _dictExpand <
    dictAddRaw, megabytes in one interval, is a step: it ranks below.)"""
    run = redis_runs["refill"]
    report = run.ok()
    check_sampling(report, run, "jemalloc")
    under_set = [s for s in malloc_sites(report)
                 if has_function(s, "setCommand") and s["verdict"] == "leak"
                 and (has_function(s, "_sdsnewlen") or has_function(s, "dictAddRaw"))]
    assert under_set, "no leaking malloc site through setCommand (_sdsnewlen or " \
                      "dictAddRaw)\n" + run.describe(20)
    entry, top = top_memory_entry(report)
    assert top is not None, run.describe(20)
    where = f"top entry {entry['culprit']!r} ({entry['verdict']}), its lead site " \
            f"{top['kind']} {top['verdict']} [{fmt_stack(top, n=10)}]\n"
    assert top["kind"] == "malloc" and top["verdict"] == "leak", where + run.describe(20)
    assert has_function(top, "setCommand") and \
        (has_function(top, "_sdsnewlen") or has_function(top, "dictAddRaw")), \
        where + run.describe(20)
    assert entry["verdict"] == "leak", where + run.describe(20)
    # No site is estimated to hold more objects than the SETs could have
    # made (a few allocations each): a window cut at the load's arrival
    # saw the client's first calls only, and weighing its objects by the
    # I/O calls that followed once counted each of them 18,027 times.
    sets = redis_runs["sets"]
    for s in malloc_sites(report):
        assert (s["live"] or 0) <= 4 * sets + 10000, \
            f"{s['live']} objects estimated for {sets} SETs [{fmt_stack(s, n=8)}] " \
            f"{report['malloc_sampling']}\n" + run.describe(20)
    # the report's own ranking agrees: no memory site ranks above it
    mem = [s for s in report["sites"] if s["kind"] not in ("goroutine", "thread")]
    assert mem[0] == top, \
        f"first memory site [{fmt_stack(mem[0], n=10)}]\n" + where + run.describe(20)


def test_redis_refill_dictfind_is_not_a_leak(redis_runs):
    run = redis_runs["refill"]
    report = run.ok()
    for s in report["sites"]:
        if culprit_is(s, "dictFind"):
            assert s["leak"] is False and s["verdict"] != "leak", \
                f"dictFind is a lookup: [{fmt_stack(s, n=10)}]\n" + run.describe(20)
    for e in report["entries"]:
        assert not (e["culprit"] or "").startswith("dictFind") or e["verdict"] != "leak", \
            f"entry {e['culprit']!r} is a leak\n" + run.describe(20)


def test_redis_get_load_has_no_leak(redis_runs):
    run = redis_runs["gets"]
    report = run.ok()
    check_sampling(report, run, "jemalloc")
    bad = [e["culprit"] for e in report["entries"] if e["verdict"] == "leak"]
    assert not bad, f"GET-only load: no leak, got {bad}\n" + run.describe(20)
