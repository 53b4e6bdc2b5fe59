# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Code compiled at run time (JIT), on real node from Debian.

A JavaScript function that keeps what it allocates grows memory from code
V8 compiled, which lies in no file:
- with node's perf map on (--perf-basic-prof), the JIT frames are named
  (the leak entry's culprit is the JavaScript function) and the stack goes
  on into V8's C++;
- without it, the stack still goes through the JIT frames (module "[jit]")
  into V8, and one finding says how to get names.
What this does not claim: in a garbage-collected heap a first touch names
the code that allocated when the heap grew, which need not be the code that
keeps the memory (a second allocating function may be blamed as well).
"""
import shutil
from pathlib import Path

import pytest

from conftest import trace_together

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "progs" / "js" / "jit_leak.js"
TRACE_S = 8


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.fail("node is not installed: run scripts/setup.sh")
    out = tmp_path_factory.mktemp("jit")
    env = {"PATH": "/usr/bin:/bin", "LIMIT_S": str(TRACE_S + 30)}
    specs = {
        "named": dict(argv=[node, "--perf-basic-prof", SCRIPT], duration=TRACE_S, env=env),
        "unnamed": dict(argv=[node, SCRIPT], duration=TRACE_S, env=env),
    }
    try:
        yield trace_together(specs, out)
    finally:
        # node leaves its perf map in /tmp; ours only
        for p in Path("/tmp").glob("perf-*.map"):
            try:
                if p.read_text(errors="replace").find(str(SCRIPT)) >= 0:
                    p.unlink()
            except OSError:
                pass


def jit_sites(report):
    """Memory sites whose innermost frame is JIT code, biggest first."""
    out = [s for s in report["sites"] if s["kind"] != "thread" and s["stack"]
           and s["stack"][0].get("module") == "[jit]"]
    return sorted(out, key=lambda s: -(s.get("bytes") or 0))


def test_perf_map_names_the_javascript_function(runs):
    run = runs["named"]
    report = run.ok()
    grown = jit_sites(report)
    assert grown, "no site grown from JIT code\n" + run.describe()
    top = grown[0]
    fns = [f.get("function") or "" for f in top["stack"]]
    assert "leakyRetainer" in fns[0] and "jit_leak.js" in fns[0], \
        f"innermost JIT frame not named from the perf map: {fns[:4]}\n" + run.describe()
    # the stack goes on from the JIT frames into V8's own code
    assert any(f.startswith(("v8::", "Builtins_")) for f in fns), fns
    # its entry is blamed on the function, by name
    culprits = [e.get("culprit") or "" for e in report.get("entries") or []]
    assert any("leakyRetainer" in c for c in culprits), culprits[:8]
    assert not any(f["kind"] == "jit_unnamed" for f in report.get("findings") or []), \
        report.get("findings")


def test_without_perf_map_the_stack_goes_through_and_one_line_says_why(runs):
    run = runs["unnamed"]
    report = run.ok()
    grown = jit_sites(report)
    assert grown, "no site grown from JIT code\n" + run.describe()
    top = grown[0]
    assert not top["stack"][0].get("function"), top["stack"][:3]
    assert any((f.get("function") or "").startswith(("v8::", "Builtins_"))
               for f in top["stack"]), [f.get("function") for f in top["stack"]]
    found = [f for f in report.get("findings") or [] if f["kind"] == "jit_unnamed"]
    assert len(found) == 1, report.get("findings")
    assert "--perf-basic-prof" in found[0]["detail"], found[0]
