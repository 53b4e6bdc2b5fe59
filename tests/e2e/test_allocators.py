# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Allocation sites under the other allocators of issue 15: tcmalloc
(gperftools' libtcmalloc_minimal from Debian) and jemalloc (Debian's
libjemalloc2, what redis-server links), each preloaded into a C program
(malloc) and a C++ one (new: tcmalloc defines operator new itself, jemalloc
leaves it to libstdc++, which calls its malloc). leaktrace must find the
allocator from the process's own mappings, probe it, and name the leaking
function's malloc site with a leak verdict while the churning one gets none.
And jemalloc as redis builds it: linked statically, its names prefixed je_.
"""
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import functions, has_function, prog_path, trace_program

LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
ALLOCATORS = {
    "tcmalloc": LIBDIR / "libtcmalloc_minimal.so.4",
    "jemalloc": LIBDIR / "libjemalloc.so.2",
}
# (program, flags, the leaking function, a healthy one or None)
PROGRAMS = {
    "c": ("malloc_leak", ["-rate", 2000, "-size", 200, "-churn-rate", 5000],
          "leak_record", "churn"),
    "cc": ("leak_cc", ["-rate", 2000], "Cache::store", None),
}


@pytest.mark.parametrize("prog", sorted(PROGRAMS))
@pytest.mark.parametrize("allocator", sorted(ALLOCATORS))
def test_preloaded_allocator_sites(allocator, prog, tmp_path):
    lib = ALLOCATORS[allocator]
    assert lib.exists(), f"{lib} is missing: run scripts/setup.sh"
    name, flags, leaker, healthy = PROGRAMS[prog]
    env = {"LD_PRELOAD": str(lib), "PATH": "/usr/bin:/bin"}
    run = trace_program([prog_path(name), *flags], 8, tmp_path, name=f"{allocator}-{prog}",
                        env=env, extra=["--malloc-budget", "5"])
    report = run.ok()
    ms = report.get("malloc_sampling")
    assert isinstance(ms, dict), "no malloc_sampling\n" + run.describe()
    assert ms["allocator"] == allocator, f"allocator {ms['allocator']!r}\n{run.describe()}"
    assert Path(ms["module"]).resolve() == lib.resolve(), ms["module"]
    assert ms["attach_errors"] == 0 and ms["allocations_sampled"] > 0, ms
    sites = [s for s in report["sites"] if s["kind"] == "malloc"]
    # C++ names come demangled with their parameters: Cache::store(unsigned long)
    leaking = [s for s in sites if any(f and f.split("(")[0] == leaker for f in functions(s))]
    assert leaking, f"no malloc site through {leaker}\n{run.describe()}"
    top = max(leaking, key=lambda s: s["bytes"] or 0)
    assert top["verdict"] == "leak", \
        f"{leaker}'s malloc site: {top['verdict']} ({top.get('verdict_reason')})\n{run.describe()}"
    if healthy:
        churn = [s for s in sites if has_function(s, healthy)]
        assert churn, f"no malloc site through {healthy}: its mallocs went unseen\n" \
            + run.describe()
        assert not [s for s in churn if s["verdict"] == "leak"], run.describe()


JE_PUBLIC = ["malloc", "free", "calloc", "realloc", "posix_memalign", "aligned_alloc",
             "memalign", "valloc", "malloc_usable_size", "mallocx", "rallocx", "xallocx",
             "sallocx", "dallocx", "sdallocx", "nallocx", "mallctl", "mallctlnametomib",
             "mallctlbymib", "malloc_stats_print"]


def test_static_prefixed_jemalloc(tmp_path):
    """redis's own build: jemalloc linked statically into the executable with
    its functions prefixed je_ (here Debian's libjemalloc_pic.a with every
    public name renamed), the program calling je_malloc while libc's malloc
    stays for libc itself. leaktrace finds the prefixed copy inside the
    executable and probes it: leak_record's allocations are seen (they never
    reach libc's malloc)."""
    import subprocess
    from conftest import REPO
    pic = LIBDIR / "libjemalloc_pic.a"
    assert pic.exists(), f"{pic} is missing: run scripts/setup.sh (libjemalloc-dev)"
    syms = tmp_path / "syms"
    syms.write_text("".join(f"{s} je_{s}\n" for s in JE_PUBLIC))
    lib = tmp_path / "libje_prefixed.a"
    subprocess.run(["objcopy", f"--redefine-syms={syms}", str(pic), str(lib)], check=True)
    exe = tmp_path / "malloc_leak_je"
    subprocess.run(["gcc", "-g", "-O2", "-Dmalloc=je_malloc", "-Dfree=je_free",
                    "-Dcalloc=je_calloc", "-Drealloc=je_realloc", "-o", str(exe),
                    str(REPO / "tests" / "progs" / "malloc_leak.c"), str(lib),
                    "-lpthread", "-lm", "-ldl"], check=True)
    run = trace_program([exe, "-rate", 2000, "-size", 200, "-churn-rate", 5000], 8, tmp_path,
                        name="je_prefixed", extra=["--malloc-budget", "5"])
    report = run.ok()
    ms = report.get("malloc_sampling")
    assert isinstance(ms, dict), "no malloc_sampling\n" + run.describe()
    assert ms["prefixed"] == f"je_ in {exe.name}", f"{ms}\n{run.describe()}"
    assert ms["attach_errors"] == 0, ms
    sites = [s for s in report["sites"] if s["kind"] == "malloc"]
    leak = [s for s in sites if has_function(s, "leak_record")]
    assert leak, "leak_record's je_malloc calls went unseen\n" + run.describe()
    assert max(leak, key=lambda s: s["bytes"] or 0)["verdict"] == "leak", run.describe()
    churn = [s for s in sites if has_function(s, "churn")]
    assert churn and not [s for s in churn if s["verdict"] == "leak"], run.describe()


def test_allocator_probes_follow_an_exec(tmp_path):
    """-p on a program that execs malloc_leak once traced: the old image's
    allocator probes go with it (its libc mapping is gone), the new image's
    allocator is found and probed, and leak_record's malloc site leaks."""
    from conftest import running, start_trace
    leak = prog_path("mmap_leak")
    cmd = [leak, "-rate", "0", "-churn-rate", "5", "-exec-on-usr1", "1", "--",
           prog_path("malloc_leak"), "-rate", "2000", "-size", "200", "-churn-rate", "5000"]
    with running(cmd, tmp_path) as t:
        tr = start_trace(t.pid, 9, tmp_path, extra=["--malloc-budget", "5"])
        assert tr.wait_tracing(), "leaktrace never traced"
        time.sleep(1)   # the old image's allocator probes are on by then
        os.kill(t.pid, signal.SIGUSR1)
        run = tr.wait()
    report = run.ok()
    assert report["target"].get("execs") == 1, run.describe()
    ms = report.get("malloc_sampling")
    assert isinstance(ms, dict) and ms["attach_errors"] == 0, f"{ms}\n{run.describe()}"
    sites = [s for s in report["sites"] if s["kind"] == "malloc"]
    leak = [s for s in sites if has_function(s, "leak_record")]
    assert leak, "the new image's mallocs went unseen\n" + run.describe()
    assert max(leak, key=lambda s: s["bytes"] or 0)["verdict"] in ("leak", "growing"), \
        run.describe()
