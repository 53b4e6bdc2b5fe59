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
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import finish_trace, running, start_trace, trace_pid

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "progs" / "js" / "jit_leak.js"
PAGE = ROOT / "tests" / "progs" / "js" / "jit_leak.html"
TRACE_S = 8


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        pytest.fail("node is not installed: run scripts/setup.sh")
    out = tmp_path_factory.mktemp("jit")
    env = {"PATH": "/usr/bin:/bin", "LIMIT_S": str(TRACE_S + 30)}
    # V8 writes its logs into the working directory: the test's own
    def in_out(*argv):
        return ["sh", "-c", f'cd "{out}" && exec "$@"', "sh", *argv]
    # The leak starts (SIGUSR2) once both leaktraces trace, and each is
    # ended (SIGINT) after TRACE_S s of tracing: V8's new space grows in
    # the first seconds of the leak, first touched by the JIT code; when a
    # slow set-up (a loaded machine) missed that, only the GC's copies into
    # old space were left to see and no site began in JIT code.
    env = dict(env, LEAK_ON_SIGNAL="1")
    argvs = {"named": in_out(node, "--perf-basic-prof", SCRIPT), "unnamed": in_out(node, SCRIPT)}
    ctxs, started, runs = [], {}, {}
    try:
        for name, argv in argvs.items():
            ctx = running([str(a) for a in argv], out / name, 30.0, env)
            started[name] = (ctx.__enter__(), None)
            ctxs.append(ctx)
        for name, (t, _) in started.items():
            started[name] = (t, start_trace(t.pid, 60, out / name, name=name))
        for name, (t, tr) in started.items():
            assert tr.wait_tracing(60), "leaktrace never started tracing\n" + tr.wait().describe()
            t.signal(signal.SIGUSR2)
        time.sleep(TRACE_S - 1)     # the first progress line is 1 s into tracing
        for name, (t, tr) in started.items():
            tr.signal(signal.SIGINT)
        for name, (t, tr) in started.items():
            runs[name] = finish_trace(t, tr)
        yield runs
    finally:
        for _, tr in started.values():
            if tr is not None and tr.run is None:
                tr.kill()
        for ctx in ctxs:
            ctx.__exit__(None, None, None)
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


def _ppid(pid: str) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _renderer_of(browser: int, timeout: float = 30.0) -> int:
    """The pid of the renderer among the descendants of browser."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                # Chromium rewrites its command line as one string
                if b"--type=renderer" not in Path(f"/proc/{d}/cmdline").read_bytes():
                    continue
                p = int(d)
                while p > 1 and p != browser:
                    p = _ppid(str(p))
            except (OSError, ValueError, IndexError):
                continue
            if p == browser:
                return int(d)
        time.sleep(0.3)
    pytest.fail("headless Chromium started no renderer")


def test_headless_chromium_page_leak_is_named(tmp_path):
    """A leaking page in Debian's headless Chromium, its renderer traced:
    the growth is in the page's own function, named through the perf map
    Chromium writes with --js-flags=--perf-basic-prof."""
    exe = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if not exe:
        pytest.fail("no headless Chromium: run scripts/setup.sh")
    profile = tmp_path / "profile"
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--disable-extensions", "--js-flags=--perf-basic-prof",
            f"--user-data-dir={profile}", PAGE.as_uri()]
    browser = subprocess.Popen(argv, cwd=tmp_path, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "chromium.stderr", "wb"),
                               start_new_session=True)
    pid = None
    try:
        pid = _renderer_of(browser.pid)
        time.sleep(2)   # the page loads and its timer runs
        run = trace_pid(pid, TRACE_S, tmp_path, name="chromium")
        report = run.ok()
    finally:
        try:
            os.killpg(browser.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        browser.wait()
        if pid:
            Path(f"/tmp/perf-{pid}.map").unlink(missing_ok=True)
    grown = jit_sites(report)
    assert grown, "no site grown from JIT code\n" + run.describe()
    fns = [f.get("function") or "" for f in grown[0]["stack"]]
    assert "keepRows" in fns[0] and "jit_leak.html" in fns[0], \
        f"innermost JIT frame not named: {fns[:4]}\n" + run.describe()
    assert any(f.startswith(("v8::", "Builtins_")) for f in fns), fns
