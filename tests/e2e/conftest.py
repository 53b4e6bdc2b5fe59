# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared helpers for leaktrace's end-to-end tests.

Run as root:  LEAKTRACE_BUILD=/work/main/build /usr/bin/python3 -m pytest -q tests/e2e

Test programs come from `make progs` (build/progs/<name> for C/C++,
build/progs/go1.NN/<name>[.stripped] for Go). Every program prints
"ready pid=<pid>" once it is set up; helpers here start it, wait for that
line and kill it afterwards.

Artifacts (report.json, leaktrace.stderr, leaktrace.stdout, target.stderr)
of every run are kept in pytest's tmp_path directories; failure messages
print the directory.
"""
import json
import os
import re
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("LEAKTRACE_BUILD") or REPO / "build").resolve()
LEAKTRACE = BUILD / "leaktrace"
PROGS = BUILD / "progs"
GO_SRC = REPO / "tests" / "progs" / "go"

# leaktrace honors DEBUGINFOD_URLS (Debian's libdebuginfod-common can set
# it for login shells to a server on the internet): tests talk only to
# 127.0.0.1, so no test inherits it; test_names.py sets its own.
os.environ.pop("DEBUGINFOD_URLS", None)

# Slack added to every leaktrace run's own duration before it is killed:
# attaching, symbolizing and writing the report must fit in it.
RUN_SLACK_S = 60.0

SITE_KINDS = {"goroutine", "thread", "mmap", "brk", "fault", "heap", "malloc"}
MEMORY_KINDS = ("fault", "mmap", "brk", "heap", "malloc")


# --------------------------------------------------------------------------
# Go toolchains / builds

def _version_key(v: str):
    return tuple(int(x) for x in v.split("."))


def go_versions() -> List[str]:
    """Go versions ("1.19", ...) whose test programs are built, else installed."""
    found = set()
    if PROGS.is_dir():
        for d in PROGS.iterdir():
            m = re.fullmatch(r"go(1\.\d+)", d.name)
            if m and d.is_dir():
                found.add(m.group(1))
    if not found:
        for d in Path("/usr/lib").glob("go-1.*"):
            m = re.fullmatch(r"go-(1\.\d+)", d.name)
            if m:
                found.add(m.group(1))
    return sorted(found, key=_version_key)


GO_VERSIONS = go_versions()


@dataclass(frozen=True)
class GoBuild:
    version: str          # "1.22"
    stripped: bool = False

    @property
    def id(self) -> str:
        return "go" + self.version + ("-stripped" if self.stripped else "")

    def path(self, name: str) -> Path:
        return prog_path(name, go=self)

    def __str__(self):
        return self.id


def go_build(version: str, stripped: bool = False) -> GoBuild:
    return GoBuild(version, stripped)


def oldest_go() -> str:
    return GO_VERSIONS[0] if GO_VERSIONS else "1.19"


def newest_go() -> str:
    return GO_VERSIONS[-1] if GO_VERSIONS else "1.27"


def middle_go() -> str:
    """1.22 when present, else the middle installed version."""
    if "1.22" in GO_VERSIONS or not GO_VERSIONS:
        return "1.22"
    return GO_VERSIONS[len(GO_VERSIONS) // 2]


def all_go_builds() -> list:
    """Every built Go version plus one stripped build (the newest), as params."""
    builds = [GoBuild(v) for v in GO_VERSIONS] + [GoBuild(newest_go(), True)]
    return [pytest.param(b, id=b.id) for b in builds]


_go_version_cache = {}


def go_version_of(build: GoBuild) -> Optional[str]:
    """Exact version ("go1.22.12") the build was made with, via `go version`."""
    if build.version in _go_version_cache:
        return _go_version_cache[build.version]
    ver = None
    gobin = Path(f"/usr/lib/go-{build.version}/bin/go")
    if gobin.exists():
        out = subprocess.run([str(gobin), "version"], capture_output=True, text=True,
                             env=dict(os.environ, GOTOOLCHAIN="local"))
        m = re.search(r"\b(go1\.\d+(?:\.\d+)?)\b", out.stdout)
        ver = m.group(1) if m else None
    _go_version_cache[build.version] = ver
    return ver


def prog_path(name: str, go: Optional[GoBuild] = None) -> Path:
    if go is None:
        p = PROGS / name
    else:
        p = PROGS / f"go{go.version}" / (name + (".stripped" if go.stripped else ""))
    if not p.exists():
        pytest.fail(f"test program {p} is missing: run `make progs` in {REPO}")
    return p


def source_line(relpath: str, needle: str) -> int:
    """1-based line of the first line of tests/progs/<relpath> containing needle."""
    path = REPO / "tests" / "progs" / relpath
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not found in {path}")


# --------------------------------------------------------------------------
# Target programs

class Target:
    """A running test program (started by us, in its own session)."""

    def __init__(self, argv: Sequence[str], out_dir: Path, ready_timeout: float = 30.0,
                 env: Optional[dict] = None):
        self.argv = [str(a) for a in argv]
        self.name = Path(self.argv[0]).name
        out_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = out_dir / f"target-{self.name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr,
                                     start_new_session=True, env=env)
        self.pid = self.proc.pid
        self.ready_at = None
        self._wait_ready(ready_timeout)

    def _wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                pytest.fail(f"{self.argv}: no ready line within {timeout}s "
                            f"(stdout so far {buf!r}; stderr in {self.stderr_path})")
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    self.kill()
                    pytest.fail(f"{self.argv}: exited (rc={self.proc.poll()}) before ready; "
                                f"stdout {buf!r}; stderr: {self.stderr_text()[-2000:]}")
                buf += chunk
        line, _, self._rest = buf.partition(b"\n")
        m = re.fullmatch(rb"ready pid=(\d+)", line.strip())
        if not m:
            self.kill()
            pytest.fail(f"{self.argv}: first stdout line is {line!r}, want 'ready pid=N'")
        if int(m.group(1)) != self.pid:
            self.kill()
            pytest.fail(f"{self.argv}: ready line names pid {m.group(1)}, process is {self.pid}")
        self.ready_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def rest_of_stdout(self, timeout: float = 10.0) -> str:
        """Remaining stdout after the ready line (waits for EOF up to timeout)."""
        data = self._rest
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
        self._rest = b""
        return data.decode(errors="replace")

    def wait(self, timeout: float) -> Optional[int]:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()


class running:
    """Context manager: `with running([path, args...], out_dir) as t:`."""

    def __init__(self, argv, out_dir: Path, ready_timeout: float = 30.0, env=None):
        self.args = (argv, out_dir, ready_timeout, env)
        self.target = None

    def __enter__(self) -> Target:
        self.target = Target(*self.args)
        return self.target

    def __exit__(self, *exc):
        self.target.kill()
        return False


@pytest.fixture
def start_prog(tmp_path):
    """start_prog(path, *args, ready_timeout=30) -> Target, killed at teardown."""
    started = []

    def start(path, *args, ready_timeout=30.0, env=None):
        t = Target([path, *args], tmp_path, ready_timeout=ready_timeout, env=env)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


# --------------------------------------------------------------------------
# leaktrace runs

@dataclass
class Run:
    name: str
    argv: List[str]
    out_dir: Path
    returncode: Optional[int] = None
    timed_out: bool = False
    elapsed: float = 0.0
    stdout: str = ""
    stderr: str = ""
    report: Optional[dict] = None
    report_error: Optional[str] = None
    report_path: Optional[Path] = None
    target_pid: Optional[int] = None
    notes: list = field(default_factory=list)

    def describe(self, max_sites: int = 12) -> str:
        lines = [f"leaktrace run {self.name!r}: {' '.join(self.argv)}",
                 f"  rc={self.returncode} timed_out={self.timed_out} "
                 f"elapsed={self.elapsed:.1f}s artifacts={self.out_dir}"]
        lines += [f"  note: {n}" for n in self.notes]
        if self.stderr.strip():
            tail = self.stderr.strip().splitlines()[-15:]
            lines.append("  stderr (tail):")
            lines += ["    " + l for l in tail]
        if self.report is not None:
            lines.append(describe_report(self.report, max_sites))
        elif self.report_error:
            lines.append(f"  report: {self.report_error}")
        return "\n".join(lines)

    def ok(self) -> dict:
        """Assert a clean exit with a JSON report; return the report."""
        assert not self.timed_out, "leaktrace did not finish in time\n" + self.describe()
        assert self.returncode == 0, "leaktrace failed\n" + self.describe()
        assert self.report is not None, "no JSON report\n" + self.describe()
        return self.report


def wait_tracing_line(stderr_path: Path, alive, timeout: float = 30.0) -> bool:
    """Wait until the leaktrace writing stderr_path is set up and tracing:
    its first progress line ("t=1s rss=...") is there. False if alive()
    turned false or on timeout. A test that must act on a target only once
    it is traced waits for this instead of sleeping a guess (set-up takes
    0.3 s on a quiet machine, seconds on a loaded one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = stderr_path.read_text(errors="replace")
        except OSError:
            text = ""
        if re.search(r"^t=\d", text, re.M):
            return True
        if not alive():
            return False
        time.sleep(0.05)
    return False


class Tracer:
    """leaktrace running in the background; wait() gives a Run."""

    def __init__(self, args: Sequence, out_dir: Path, name: str = "run",
                 timeout: float = 120.0):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.args = [str(a) for a in args]
        self.argv = [str(LEAKTRACE)] + self.args
        self.out_dir = out_dir
        self.name = name
        self.timeout = timeout
        self.report_path = None
        head = self.args[:self.args.index("--")] if "--" in self.args else self.args
        if "-o" in head and head.index("-o") + 1 < len(head):
            self.report_path = Path(head[head.index("-o") + 1])
        self._out = open(out_dir / f"{name}.leaktrace.stdout", "wb")
        self._err = open(out_dir / f"{name}.leaktrace.stderr", "wb")
        self.start = time.monotonic()
        # Own session: a `-- CMD` child is killed with it on timeout.
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, start_new_session=True)
        self.pid = self.proc.pid
        self.run = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait_tracing(self, timeout: float = 30.0) -> bool:
        """Wait until leaktrace is set up and tracing (wait_tracing_line)."""
        return wait_tracing_line(self.out_dir / f"{self.name}.leaktrace.stderr", self.alive,
                                 timeout)

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def wait(self, timeout: Optional[float] = None) -> Run:
        if self.run is not None:
            return self.run
        run = Run(self.name, self.argv, self.out_dir, report_path=self.report_path)
        left = (self.timeout if timeout is None else timeout) - (time.monotonic() - self.start)
        try:
            run.returncode = self.proc.wait(timeout=max(left, 0.1))
        except subprocess.TimeoutExpired:
            run.timed_out = True
            self.kill()
            run.returncode = self.proc.returncode
        run.elapsed = time.monotonic() - self.start
        self._out.close()
        self._err.close()
        run.stdout = (self.out_dir / f"{self.name}.leaktrace.stdout").read_text(errors="replace")
        run.stderr = (self.out_dir / f"{self.name}.leaktrace.stderr").read_text(errors="replace")
        if self.report_path is not None:
            run.report, run.report_error = load_report(self.report_path)
        self.run = run
        return run


def load_report(path: Path):
    if not path.exists():
        return None, f"{path} was not written"
    text = path.read_text(errors="replace")
    try:
        return json.loads(text), None
    except json.JSONDecodeError as e:
        return None, f"{path} is not valid JSON ({e}); starts with {text[:300]!r}"


def trace_args(pid: int, duration: float, out: Path, interval: float = 1, fmt: str = "json",
               extra: Sequence = ()) -> list:
    return ["-p", str(pid), "-d", _num(duration), "-i", _num(interval), "--format", fmt,
            "-o", str(out), *extra]


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def start_trace(pid: int, duration: float, out_dir: Path, name: str = "run", interval: float = 1,
                fmt: str = "json", extra: Sequence = ()) -> Tracer:
    out = out_dir / f"{name}.{'json' if fmt == 'json' else 'txt'}"
    t = Tracer(trace_args(pid, duration, out, interval, fmt, extra), out_dir, name,
               timeout=duration + RUN_SLACK_S)
    t.target_pid = pid
    return t


def trace_pid(pid: int, duration: float, out_dir: Path, name: str = "run", interval: float = 1,
              fmt: str = "json", extra: Sequence = ()) -> Run:
    """`leaktrace -p PID -d D -i I --format F -o FILE [extra]`, waited for."""
    run = start_trace(pid, duration, out_dir, name, interval, fmt, extra).wait()
    run.target_pid = pid
    return run


def trace_cmd(cmd: Sequence, out_dir: Path, name: str = "cmd", interval: float = 1,
              extra: Sequence = (), timeout: float = 120.0) -> Run:
    """`leaktrace -i I --format json -o FILE [extra] -- CMD ARGS...`, waited for."""
    out = out_dir / f"{name}.json"
    args = ["-i", _num(interval), "--format", "json", "-o", str(out), *extra, "--",
            *[str(c) for c in cmd]]
    return Tracer(args, out_dir, name, timeout=timeout).wait()


def run_leaktrace(args: Sequence, timeout: float = 30.0, out_dir: Optional[Path] = None) -> Run:
    """Run leaktrace with raw args (for usage/bad input tests)."""
    import tempfile
    d = out_dir or Path(tempfile.mkdtemp(prefix="leaktrace-e2e-"))
    return Tracer(list(args), d, "raw", timeout=timeout).wait()


def trace_program(argv: Sequence, duration: float, out_dir: Path, name: str = "run",
                  settle: float = 0.0, ready_timeout: float = 30.0, extra: Sequence = (),
                  fmt: str = "json", env=None) -> Run:
    """Start a test program, wait `settle` s after ready, trace it for `duration` s."""
    with running(argv, out_dir, ready_timeout, env) as t:
        if settle:
            time.sleep(settle)
        run = trace_pid(t.pid, duration, out_dir, name=name, fmt=fmt, extra=extra)
        if not t.alive():
            run.notes.append(f"target exited early rc={t.proc.returncode}: "
                             f"{t.stderr_text()[-500:]}")
        return run


def finish_trace(t, tr) -> Run:
    """Wait for a background trace of target t; note an early target exit."""
    run = tr.wait()
    run.target_pid = t.pid
    if not t.alive():
        run.notes.append(f"target exited early rc={t.proc.returncode}: {t.stderr_text()[-500:]}")
    return run


def trace_together(specs: dict, out: Path) -> dict:
    """Start every program in specs and trace them all at once (one after
    another with LEAKTRACE_E2E_SERIAL=1). specs: {name: dict(argv=...,
    duration=..., interval=1, env=None, ready_timeout=30, before=None,
    after=None)}; before(t) runs between ready and attach, after(t, tracer)
    right after leaktrace started. Returns {name: Run}."""
    serial = os.environ.get("LEAKTRACE_E2E_SERIAL") == "1"
    done, pending, ctxs = {}, [], []
    try:
        for name, sp in specs.items():
            ctx = running([str(a) for a in sp["argv"]], out / name,
                          sp.get("ready_timeout", 30.0), sp.get("env"))
            t = ctx.__enter__()
            ctxs.append(ctx)
            if sp.get("before"):
                sp["before"](t)
            tr = start_trace(t.pid, sp["duration"], out / name, name=name,
                             interval=sp.get("interval", 1))
            pending.append((name, t, tr))
            if sp.get("after"):
                sp["after"](t, tr)
            if serial:
                done[name] = finish_trace(t, tr)
        for name, t, tr in pending:
            if name not in done:
                done[name] = finish_trace(t, tr)
    finally:
        for _, _, tr in pending:
            if tr.run is None:
                tr.kill()
        for ctx in ctxs:
            ctx.__exit__(None, None, None)
    return done


# --------------------------------------------------------------------------
# Report helpers

def sites(report: dict, kind: Optional[str] = None) -> list:
    s = report.get("sites") or []
    return [x for x in s if kind is None or x.get("kind") == kind]


def functions(site: dict, key: str = "stack") -> List[Optional[str]]:
    return [f.get("function") for f in (site.get(key) or [])]


def has_function(site: dict, *names: str, key: str = "stack") -> bool:
    fns = functions(site, key)
    return any(n in fns for n in names)


def has_function_re(site: dict, pattern: str, key: str = "stack") -> bool:
    rx = re.compile(pattern)
    return any(f and rx.search(f) for f in functions(site, key))


def frame_of(site: dict, name: str, key: str = "stack") -> Optional[dict]:
    for f in site.get(key) or []:
        if f.get("function") == name:
            return f
    return None


def find_sites(report: dict, kind=None, function=None, leak=None, key: str = "stack") -> list:
    """Sites (in report order) of a kind (str or tuple) having `function` in `key`."""
    out = []
    for s in report.get("sites") or []:
        if kind is not None:
            kinds = (kind,) if isinstance(kind, str) else tuple(kind)
            if s.get("kind") not in kinds:
                continue
        if function is not None:
            names = (function,) if isinstance(function, str) else tuple(function)
            if not has_function(s, *names, key=key):
                continue
        if leak is not None and s.get("leak") is not leak:
            continue
        out.append(s)
    return out


def site_index(report: dict, site: dict) -> int:
    for i, s in enumerate(report.get("sites") or []):
        if s is site:
            return i
    raise ValueError("site not in report")


def fmt_stack(site: dict, key: str = "stack", n: int = 8) -> str:
    fr = site.get(key) or []
    names = []
    for f in fr[:n]:
        fn = f.get("function")
        if fn is None:
            mod = Path(f.get("module") or "?").name
            fn = f"?{mod}+{f.get('address')}"
        names.append(fn)
    more = f" <+{len(fr) - n}>" if len(fr) > n else ""
    return " < ".join(names) + more


def describe_report(report: dict, max_sites: int = 12) -> str:
    t = report.get("totals") or {}

    def pair(k):
        v = t.get(k)
        return f"{v.get('start')}->{v.get('end')}" if isinstance(v, dict) else str(v)

    target = report.get("target") or {}
    lines = [f"  report: target pid={target.get('pid')} comm={target.get('comm')} "
             f"go={target.get('go_version')} duration_s={report.get('duration_s')} "
             f"rss={pair('rss_bytes')} threads={pair('threads')} goroutines={pair('goroutines')} "
             f"drops={report.get('drops')}"]
    ss = report.get("sites") or []
    lines.append(f"  sites ({len(ss)}):")
    for i, s in enumerate(ss[:max_sites]):
        extra = ""
        if s.get("kind") == "goroutine":
            extra = f" wait={s.get('wait_reason')!r} parked_in=[{fmt_stack(s, 'wait_stack', 6)}]"
        lines.append(f"   #{i} {s.get('kind')} leak={s.get('leak')} live={s.get('live')} "
                     f"bytes={s.get('bytes')} growth/min={s.get('growth_per_min')}{extra}")
        lines.append(f"       stack: {fmt_stack(s)}")
    if len(ss) > max_sites:
        lines.append(f"   ... {len(ss) - max_sites} more")
    for f in (report.get("findings") or [])[:5]:
        lines.append(f"  finding: [{f.get('severity')}] {f.get('kind')}: {f.get('title')}")
    return "\n".join(lines)


def is_libc_frame(frame: dict) -> bool:
    mod = Path(frame.get("module") or "").name
    return bool(re.match(r"libc([.-]|\.so)", mod))


def require_native_caller(site: dict, want: str, run: Run):
    """The site's stack must name `want` (a C function that called into libc).

    C test programs are built like Debian builds them: without frame pointers,
    and so is libc; leaktrace unwinds such code with CFI from stack copies
    (issue 5), so a stack that stops in libc is a failure, not a skip."""
    assert has_function(site, want), (
        f"stack lacks {want}: [{fmt_stack(site, n=16)}]\n{run.describe()}")


def require_sites(found: list, what: str, run: Run) -> list:
    """A check over every matching site must not pass because none matched."""
    assert found, f"no site {what}: the check below would pass on nothing\n{run.describe()}"
    return found


# --------------------------------------------------------------------------
# Shared traces: one leaktrace run serves every test that asks about the
# same program traced with the same options (session-scoped, and shared
# by the xdist workers of one run: shared_run; artifacts in the fixture's
# own tmp directory).

SHARED_D = 5
# mmap_leak: 10 chunks/s of 1 MiB leaked, 20 chunks/s mapped and unmapped.
MMAP_LEAK = dict(rate=10, churn=20, chunk_kb=1024)
# malloc_leak: 10000 records/s of 200 bytes (~2 MB/s of brk heap).
MALLOC_LEAK = dict(rate=10000, size=200)
# pthread_leak: 5 threads/s never joined, 5/s joined.
PTHREAD_LEAK = dict(rate=5, churn=5)


def shared_run(tmp_path_factory, name: str, make) -> Run:
    """make(out_dir) -> Run, once per test session. Under pytest-xdist each
    worker is a session of its own: the first worker to ask runs it (under a
    lock in the run's common temp directory) and the others read its Run
    (pickled) instead of tracing the same program again."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    import fcntl
    import pickle
    root = tmp_path_factory.getbasetemp().parent / "shared-runs"
    root.mkdir(exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / f"{name}.pickle"
        if done.exists():
            return pickle.loads(done.read_bytes())
        out = root / name
        out.mkdir(exist_ok=True)
        run = make(out)
        tmp = root / f"{name}.pickle.tmp"
        tmp.write_bytes(pickle.dumps(run))
        tmp.rename(done)
        return run


@pytest.fixture(scope="session")
def mmap_leak_run(tmp_path_factory) -> Run:
    return shared_run(tmp_path_factory, "mmap_leak", lambda out: trace_program(
        [prog_path("mmap_leak"), "-rate", MMAP_LEAK["rate"], "-churn-rate", MMAP_LEAK["churn"],
         "-chunk-kb", MMAP_LEAK["chunk_kb"]], SHARED_D, out, name="mmap_leak"))


@pytest.fixture(scope="session")
def malloc_leak_run(tmp_path_factory) -> Run:
    return shared_run(tmp_path_factory, "malloc_leak", lambda out: trace_program(
        [prog_path("malloc_leak"), "-rate", MALLOC_LEAK["rate"], "-size", MALLOC_LEAK["size"]],
        SHARED_D, out, name="malloc_leak"))


@pytest.fixture(scope="session")
def pthread_leak_run(tmp_path_factory) -> Run:
    return shared_run(tmp_path_factory, "pthread_leak", lambda out: trace_program(
        [prog_path("pthread_leak"), "-rate", PTHREAD_LEAK["rate"], "-churn-rate",
         PTHREAD_LEAK["churn"]], SHARED_D, out, name="pthread_leak"))


# --------------------------------------------------------------------------
# Schema validation (shared/REPORT-SCHEMA.md, leaktrace/v1)

def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def validate_frame(fr, where: str, errs: list):
    if not isinstance(fr, dict):
        errs.append(f"{where}: frame is {type(fr).__name__}, want object")
        return
    for k in ("function", "file", "line", "module", "address"):
        if k not in fr:
            errs.append(f"{where}: missing {k!r}")
    if "function" in fr and not (fr["function"] is None or isinstance(fr["function"], str)):
        errs.append(f"{where}.function: {fr['function']!r} is not a string or null")
    if "file" in fr and not (fr["file"] is None or isinstance(fr["file"], str)):
        errs.append(f"{where}.file: {fr['file']!r} is not a string or null")
    if "line" in fr and not (fr["line"] is None or _is_int(fr["line"])):
        errs.append(f"{where}.line: {fr['line']!r} is not an integer or null")
    if "module" in fr and not (fr["module"] is None or isinstance(fr["module"], str)):
        errs.append(f"{where}.module: {fr['module']!r} is not a string or null")
    if "address" in fr and not (isinstance(fr["address"], str)
                                and re.fullmatch(r"0x[0-9a-fA-F]+", fr["address"])):
        errs.append(f"{where}.address: {fr['address']!r} is not a hex string like 0x4a1b2c")


def validate_report(r) -> List[str]:
    """Every required field of leaktrace/v1 with the right type; returns errors."""
    errs = []
    if not isinstance(r, dict):
        return [f"report is {type(r).__name__}, want object"]

    def need(obj, key, where):
        if not isinstance(obj, dict) or key not in obj:
            errs.append(f"{where}: missing {key!r}")
            return False
        return True

    if need(r, "schema", "report") and r["schema"] != "leaktrace/v1":
        errs.append(f"schema: {r['schema']!r} != 'leaktrace/v1'")
    if need(r, "version", "report") and not (isinstance(r["version"], str)
                                             and re.match(r"leaktrace \d+\.\d+\.\d+", r["version"])):
        errs.append(f"version: {r['version']!r} is not like 'leaktrace 0.1.0'")
    if need(r, "target", "report"):
        t = r["target"]
        if not isinstance(t, dict):
            errs.append("target: not an object")
        else:
            if need(t, "pid", "target") and not (_is_int(t["pid"]) and t["pid"] > 0):
                errs.append(f"target.pid: {t['pid']!r} is not a positive integer")
            if need(t, "comm", "target") and not (isinstance(t["comm"], str) and t["comm"]):
                errs.append(f"target.comm: {t['comm']!r} is not a non-empty string")
            if need(t, "exe", "target") and not (isinstance(t["exe"], str) and t["exe"]):
                errs.append(f"target.exe: {t['exe']!r} is not a non-empty string")
            if need(t, "go_version", "target") and not (
                    t["go_version"] is None or (isinstance(t["go_version"], str)
                                                and re.match(r"go1\.\d+", t["go_version"]))):
                errs.append(f"target.go_version: {t['go_version']!r} is not null or 'go1.N...'")
    if need(r, "started_at", "report") and not (
            isinstance(r["started_at"], str)
            and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", r["started_at"])):
        errs.append(f"started_at: {r['started_at']!r} is not RFC 3339 UTC like "
                    "2026-11-22T10:00:00Z")
    if need(r, "duration_s", "report") and not (_is_num(r["duration_s"]) and r["duration_s"] >= 0):
        errs.append(f"duration_s: {r['duration_s']!r} is not a non-negative number")
    if need(r, "totals", "report"):
        tot = r["totals"]
        for k in ("rss_bytes", "threads", "goroutines"):
            if not need(tot, k, "totals"):
                continue
            v = tot[k]
            if v is None and k == "goroutines":
                continue
            if not isinstance(v, dict):
                errs.append(f"totals.{k}: {v!r} is not an object")
                continue
            for e in ("start", "end"):
                if need(v, e, f"totals.{k}") and not (_is_int(v[e]) and v[e] >= 0):
                    errs.append(f"totals.{k}.{e}: {v[e]!r} is not a non-negative integer")
    if need(r, "sites", "report"):
        if not isinstance(r["sites"], list):
            errs.append("sites: not a list")
        else:
            for i, s in enumerate(r["sites"]):
                w = f"sites[{i}]"
                if not isinstance(s, dict):
                    errs.append(f"{w}: not an object")
                    continue
                if need(s, "kind", w) and s["kind"] not in SITE_KINDS:
                    errs.append(f"{w}.kind: {s['kind']!r} not in {sorted(SITE_KINDS)}")
                for k in ("live", "bytes"):
                    if need(s, k, w) and not (s[k] is None or (_is_int(s[k]) and s[k] >= 0)):
                        errs.append(f"{w}.{k}: {s[k]!r} is not a non-negative integer or null")
                if need(s, "growth_per_min", w) and not _is_num(s["growth_per_min"]):
                    errs.append(f"{w}.growth_per_min: {s['growth_per_min']!r} is not a number")
                if need(s, "leak", w) and not isinstance(s["leak"], bool):
                    errs.append(f"{w}.leak: {s['leak']!r} is not a boolean")
                if need(s, "oldest_s", w) and not (s["oldest_s"] is None
                                                   or (_is_num(s["oldest_s"]) and s["oldest_s"] >= 0)):
                    errs.append(f"{w}.oldest_s: {s['oldest_s']!r} is not a number or null")
                if need(s, "stack", w):
                    if not isinstance(s["stack"], list):
                        errs.append(f"{w}.stack: not a list")
                    else:
                        for j, fr in enumerate(s["stack"]):
                            validate_frame(fr, f"{w}.stack[{j}]", errs)
                if s.get("kind") == "goroutine":
                    if need(s, "wait_reason", w) and not (s["wait_reason"] is None
                                                          or isinstance(s["wait_reason"], str)):
                        errs.append(f"{w}.wait_reason: {s['wait_reason']!r} is not a string or null")
                    if need(s, "wait_stack", w):
                        if not isinstance(s["wait_stack"], list):
                            errs.append(f"{w}.wait_stack: not a list")
                        else:
                            for j, fr in enumerate(s["wait_stack"]):
                                validate_frame(fr, f"{w}.wait_stack[{j}]", errs)
    if need(r, "findings", "report"):
        if not isinstance(r["findings"], list):
            errs.append("findings: not a list")
        else:
            for i, f in enumerate(r["findings"]):
                for k in ("severity", "kind", "title", "detail"):
                    if need(f, k, f"findings[{i}]") and not isinstance(f[k], str):
                        errs.append(f"findings[{i}].{k}: {f[k]!r} is not a string")
    if need(r, "drops", "report"):
        for k in ("events", "stacks"):
            if need(r["drops"], k, "drops") and not (_is_int(r["drops"][k]) and r["drops"][k] >= 0):
                errs.append(f"drops.{k}: {r['drops'][k]!r} is not a non-negative integer")
    return errs


def assert_valid_report(report: dict, run: Optional[Run] = None):
    errs = validate_report(report)
    assert not errs, ("report does not follow leaktrace/v1:\n  " + "\n  ".join(errs[:40])
                      + ("\n" + run.describe() if run else ""))


# --------------------------------------------------------------------------
# Session-wide checks

@pytest.fixture(scope="session", autouse=True)
def _environment():
    if os.geteuid() != 0:
        pytest.skip("leaktrace e2e tests need root (BPF, uprobes)")
    if not LEAKTRACE.exists():
        pytest.fail(f"{LEAKTRACE} is missing: run `make` in {REPO} "
                    f"(or set LEAKTRACE_BUILD to the build directory)")
    yield



# --------------------------------------------------------------------------
# Per-file wall time (issue 11): with --dist loadfile a file is one unit of
# work, so the longest file bounds the parallel pass and the serial pass is a
# plain sum. Each test's setup+call+teardown is summed per file (module and
# session fixtures count in the test that first uses them); the controller
# sees every worker's reports, so this works with and without xdist.

_file_seconds = {}
_file_tests = {}
_test_seconds = {}


def _base_nodeid(nodeid: str) -> str:
    """The node id without xdist's "@group" suffix."""
    at = nodeid.rfind("@")
    return nodeid[:at] if at > nodeid.rfind("]") and at > nodeid.rfind("::") else nodeid


def pytest_runtest_logreport(report):
    f = report.nodeid.split("::", 1)[0]
    _file_seconds[f] = _file_seconds.get(f, 0.0) + (report.duration or 0.0)
    n = _base_nodeid(report.nodeid)
    _test_seconds[n] = _test_seconds.get(n, 0.0) + (report.duration or 0.0)
    if report.when == "call":
        _file_tests[f] = _file_tests.get(f, 0) + 1


def pytest_sessionfinish(session):
    """LEAKTRACE_E2E_SECONDS=FILE: merge this run's seconds per test into
    FILE (how tests/e2e/e2e-seconds.json is refreshed, one file at a time
    on a quiet machine: the parallel pass's own numbers include the other
    workers' load)."""
    path = os.environ.get("LEAKTRACE_E2E_SECONDS")
    if not path or os.environ.get("PYTEST_XDIST_WORKER") or not _test_seconds:
        return
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        old = {}
    old.update({k: round(v, 1) for k, v in _test_seconds.items()})
    tmp = Path(path + ".tmp")
    tmp.write_text(json.dumps(dict(sorted(old.items())), indent=0) + "\n")
    tmp.rename(path)


def pytest_terminal_summary(terminalreporter):
    if not _file_seconds:
        return
    tr = terminalreporter
    tr.section("seconds per test file (setup+call+teardown summed)")
    for f, s in sorted(_file_seconds.items(), key=lambda kv: -kv[1]):
        tr.write_line(f"{s:8.1f} s  {_file_tests.get(f, 0):4d} tests  {f}")
    tr.write_line(f"{sum(_file_seconds.values()):8.1f} s  total")


# --------------------------------------------------------------------------
# Units of work for the parallel pass (make e2e: pytest-xdist --dist
# loadgroup). A test that uses a fixture of its own file wider than one test
# (module or session scope: a trace several tests read) is grouped with every
# test of its file using the same instance of it (a parametrized module
# fixture makes one group per parameter), so that trace runs once on one
# worker. Every other test is a unit of its own and any worker may take it:
# a file of independent tests no longer runs end to end on one worker.
# Units are handed out longest first (the seconds of their tests in
# e2e-seconds.json, measured one file at a time; a test not there counts
# E2E_DEFAULT_S), so a long unit never starts
# last. Refresh the file: LEAKTRACE_E2E_SECONDS=$PWD/tests/e2e/e2e-seconds.json
# with one pytest run per file on a quiet machine.

E2E_SECONDS_FILE = Path(__file__).resolve().parent / "e2e-seconds.json"
E2E_DEFAULT_S = 1.0


def _e2e_seconds() -> dict:
    try:
        return json.loads(E2E_SECONDS_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _shared_fixtures(item) -> list:
    """Instances ("file:name=param") of the fixtures wider than one test
    that item uses and that its own file defines."""
    info = getattr(item, "_fixtureinfo", None)
    mod = getattr(getattr(item, "module", None), "__name__", None)
    if info is None or mod is None:
        return []
    f = item.nodeid.split("::", 1)[0]
    params = getattr(getattr(item, "callspec", None), "params", {})
    # A file whose wide fixture traces per value of a test parameter, on
    # demand (test_goroutines: go_runs(build)), names that parameter in
    # E2E_UNIT_PARAM: each value is then a unit of its own.
    by = getattr(item.module, "E2E_UNIT_PARAM", None)
    out = []
    for name, defs in sorted(info.name2fixturedefs.items()):
        for fd in defs:
            if fd.scope == "function" or getattr(fd.func, "__module__", None) != mod:
                continue
            param = params.get(name, params.get(by, "") if by else "")
            out.append(f"{f}:{name}" + (f"={param}" if param != "" else ""))
    return out


def e2e_units(items) -> dict:
    """{id(item): unit name}: tests that share a fixture instance (directly
    or through another test) form one unit, named after its first
    instance; any other test is a unit of its own (its node id)."""
    parent = {}

    def find(k):
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    shared = {id(it): _shared_fixtures(it) for it in items}
    for keys in shared.values():
        for k in keys[1:]:
            a, b = find(keys[0]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {i: (find(keys[0]) if keys else None) for i, keys in shared.items()}


def _loadgroup(config) -> bool:
    # On an xdist worker dist is "no" and loadgroup says the mode.
    return bool(getattr(config.option, "loadgroup", False)
                or getattr(config.option, "dist", "no") == "loadgroup")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """Mark the units (before xdist reads the marks)."""
    if not _loadgroup(config):
        return
    units = e2e_units(items)
    for it in items:
        if units[id(it)] is not None:
            it.add_marker(pytest.mark.xdist_group(units[id(it)]))
        it.e2e_unit = units[id(it)] or it.nodeid


@pytest.hookimpl(trylast=True)
def _e2e_longest_first(session, config, items):
    """Order the units longest first, after pytest's own reordering (xdist
    hands units out in the order they first appear; a unit's tests run
    together on one worker whatever their order here)."""
    if not _loadgroup(config):
        return
    seconds, cost = _e2e_seconds(), {}
    for it in items:
        s = seconds.get(_base_nodeid(it.nodeid), E2E_DEFAULT_S)
        cost[it.e2e_unit] = cost.get(it.e2e_unit, 0.0) + s
    items.sort(key=lambda it: -cost[it.e2e_unit])    # stable


class _LongestFirst:
    pytest_collection_modifyitems = _e2e_longest_first


def pytest_configure(config):
    config.pluginmanager.register(_LongestFirst(), "e2e-longest-first")
