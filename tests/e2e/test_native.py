# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Native code without frame pointers (issue 5): stack copies unwound with CFI.

The C/C++ test programs are built like Debian builds them (-O2, no frame
pointers) and so is Debian's glibc: frame-pointer stacks taken in a
syscall stop inside libc. For mmap, mremap, brk and thread creation
leaktrace copies a slice of the user stack and unwinds it with the
binaries' .eh_frame, so the stacks reach the program's own callers up to
_start. The report's "unwind" object counts copies and why unwinds ended.
The default-option traces of mmap_leak, malloc_leak and pthread_leak are the
session's shared runs (conftest), read by test_mem and test_threads too.
"""
import pytest

from conftest import (find_sites, fmt_stack, functions, go_build, has_function, newest_go,
                      oldest_go, prog_path, require_sites, trace_program)

D = 5


def assert_unwound_cleanly(run, report):
    uw = report.get("unwind")
    assert isinstance(uw, dict), "report lacks the 'unwind' object\n" + run.describe()
    assert uw["copies"] > 0 and uw["unwound"] > 0, f"nothing unwound: {uw}\n{run.describe()}"
    ends = uw["ended_by"]
    bad = {k: v for k, v in ends.items() if k != "outermost" and v}
    assert not bad, f"unwinds that did not reach the stack's root: {bad}\n{run.describe()}"
    assert uw["copy_ringbuf_full"] == 0 and uw["copy_read_failed"] == 0, \
        f"stack copies lost: {uw}\n{run.describe()}"


def assert_callers(site, run, *names):
    fns = functions(site)
    for n in names:
        assert n in fns, f"stack lacks {n}: [{fmt_stack(site, n=16)}]\n{run.describe()}"
    # Callers in order, innermost first, down to the program's entry.
    idx = [fns.index(n) for n in names]
    assert idx == sorted(idx), f"callers out of order: [{fmt_stack(site, n=16)}]"
    assert fns[-1] == "_start", f"stack does not end at _start: [{fmt_stack(site, n=16)}]"
    assert site["stack_truncated"] is False, run.describe()


@pytest.fixture(scope="module")
def cc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("leak_cc")
    return trace_program([prog_path("leak_cc"), "-rate", 4000, "-size", 512], D, out,
                         name="leak_cc")


def test_cc_store_leak_site(cc_run):
    """new in Cache::store grows the heap: the brk/mmap site names it, demangled."""
    run = cc_run
    report = run.ok()
    grow = find_sites(report, kind=("brk", "mmap"), function="Cache::store(unsigned long)",
                      leak=True)
    assert grow, "no leaking brk/mmap site through Cache::store(unsigned long)\n" \
        + run.describe()
    top = grow[0]
    assert_callers(top, run, "malloc", "Cache::store(unsigned long)", "main")
    assert has_function(top, "operator new(unsigned long)"), \
        f"[{fmt_stack(top, n=16)}]\n{run.describe()}"
    assert_unwound_cleanly(run, report)


def test_mmap_site_has_all_callers(mmap_leak_run):
    run = mmap_leak_run
    report = run.ok()
    maps = find_sites(report, kind="mmap", function="leak_chunk")
    assert maps, "no mmap site through leak_chunk\n" + run.describe()
    assert_callers(maps[0], run, "leak_chunk", "main")
    # churn_chunk's mappings are another site, even though the libc part of
    # both frame-pointer stacks is the same.
    churn = find_sites(report, kind="mmap", function="churn_chunk")
    assert churn and not has_function(churn[0], "leak_chunk"), run.describe()
    assert_unwound_cleanly(run, report)


def test_brk_stacks_split_by_caller(malloc_leak_run):
    """Every brk stops at `brk < __sbrk` with frame pointers: one stack id for
    all callers. The copies tell leak_record's growth from churn's."""
    run = malloc_leak_run
    report = run.ok()
    leak = find_sites(report, kind="brk", function="leak_record")
    assert leak, "no brk site through leak_record\n" + run.describe()
    assert_callers(leak[0], run, "malloc", "leak_record", "main")
    assert not has_function(leak[0], "churn"), run.describe()
    assert_unwound_cleanly(run, report)


def test_fault_sites_split_by_caller(malloc_leak_run):
    """Page faults stay aggregated in the kernel, but one first touch in 64
    carries a stack copy, unwound with CFI. Faults inside malloc touch heap
    pages that whoever mallocs next fills, so (like brk) they go to the
    caller that touched most: leak_record, down to _start, never churn."""
    run = malloc_leak_run
    report = run.ok()
    uw = report["unwind"]
    assert uw["fault_samples"] > 0 and uw["fault_stacks_split"] > 0, \
        f"no sampled fault was unwound: {uw}\n{run.describe()}"
    leak = find_sites(report, kind="fault", function="leak_record")
    assert leak, "no fault site through leak_record\n" + run.describe()
    top = max(leak, key=lambda s: s["bytes"] or 0)
    assert_callers(top, run, "malloc", "leak_record", "main")
    assert not has_function(top, "churn"), run.describe()
    # with the allocator probes on (the default) the target runs slower in
    # their windows: 5 s may say "growing" rather than "leak"
    assert top["verdict"] in ("leak", "growing"), run.describe()
    assert not find_sites(report, kind="fault", function="churn", leak=True), run.describe()


def test_fault_sample_off(tmp_path):
    """--fault-sample 0: fault sites keep their frame-pointer stacks only."""
    run = trace_program([prog_path("malloc_leak"), "-rate", 10000, "-size", 200], 3, tmp_path,
                        name="malloc_nosample", extra=["--fault-sample", "0"])
    report = run.ok()
    assert report["unwind"]["fault_samples"] == 0, run.describe()
    faults = find_sites(report, kind="fault")
    assert faults and not any(has_function(s, "main") and has_function(s, "leak_record")
                              for s in faults), \
        "without samples no fault stack should reach main through malloc\n" + run.describe()


def test_thread_creator_stack(pthread_leak_run):
    run = pthread_leak_run
    report = run.ok()
    ts = find_sites(report, kind="thread", function="spawn_worker")
    assert ts, "no thread site through spawn_worker\n" + run.describe()
    assert_callers(ts[0], run, "spawn_worker", "main")
    assert ts[0]["leak"] is True, run.describe()
    joined = require_sites(find_sites(report, kind="thread", function="spawn_joined"),
                           "of kind thread through spawn_joined", run)
    assert all(s["leak"] is False for s in joined), run.describe()
    assert_unwound_cleanly(run, report)


def test_stack_copy_off(tmp_path):
    """--stack-copy-kb 0: no copies, frame-pointer stacks only."""
    run = trace_program([prog_path("mmap_leak"), "-rate", 10, "-churn-rate", 0], 3, tmp_path,
                        name="mmap_nocopy", extra=["--stack-copy-kb", "0"])
    report = run.ok()
    assert report["unwind"]["copies"] == 0, run.describe()
    maps = find_sites(report, kind="mmap", function="leak_chunk")
    assert maps and not has_function(maps[0], "main"), \
        "without copies the stack should stop in libc\n" + run.describe()


def test_stack_copy_kb_checked(tmp_path):
    from conftest import run_leaktrace
    run = run_leaktrace(["--stack-copy-kb", "29", "-p", "1"], out_dir=tmp_path)
    assert run.returncode == 2, run.describe()
    assert "stack copy" in run.stderr, run.describe()


# --------------------------------------------------------------------------
# cgo: C frames and the Go function that called them

@pytest.mark.parametrize("version", sorted({oldest_go(), newest_go()}))
def test_cgo_leak_names_the_go_caller(version, tmp_path):
    prog = go_build(version).path("cgoleak")
    run = trace_program([prog, "-rate", 40], 6, tmp_path, settle=0.5)
    report = run.ok()
    d = run.describe()
    faults = find_sites(report, kind="fault", leak=True)
    assert faults, "the buffers C touches must show as resident growth\n" + d
    top = faults[0]
    assert has_function(top, "leak_buffer"), "the C frame is missing\n" + d
    assert has_function(top, "main.leakBuffers"), \
        "the Go function calling C must be in the stack\n" + d
    maps = [s for s in find_sites(report, kind="mmap") if has_function(s, "leak_buffer")]
    assert maps, "malloc's mmap from leak_buffer must be a site\n" + d
    for s in maps:
        fns = functions(s)
        # Either it crosses into Go, or it says exactly where it stops.
        assert "main.leakBuffers" in fns or \
            (fns[-1] == "runtime.asmcgocall" and s["stack_truncated"] is True), d
