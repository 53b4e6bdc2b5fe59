# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""CLI contract: exit codes 0 ok / 1 runtime failure / 2 usage or bad target,
`-- CMD` mode, and a target that dies while being traced."""
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (LEAKTRACE, GoBuild, Tracer, assert_valid_report, find_sites, functions, has_function,
                      newest_go, prog_path, run_leaktrace, running, trace_args, trace_cmd)

PF_KTHREAD = 0x00200000


def unused_pid() -> int:
    """A pid that names no process: one we just reaped (and not reused since)."""
    for _ in range(20):
        p = subprocess.Popen(["/bin/true"])
        p.wait()
        if not Path(f"/proc/{p.pid}").exists():
            return p.pid
    pytest.fail("could not find an unused pid")


def kernel_thread_pid() -> int:
    """kthreadd (pid 2) if visible, else any kernel thread."""
    candidates = [2] + sorted(int(d) for d in os.listdir("/proc") if d.isdigit())
    for pid in candidates:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        flags = int(fields[6])  # field 9 of stat: flags
        if flags & PF_KTHREAD:
            return pid
    pytest.skip("no kernel thread visible in this pid namespace")


def stderr_lines(run):
    return [l for l in run.stderr.splitlines() if l.strip()]


def test_help():
    run = run_leaktrace(["--help"], timeout=10)
    assert run.returncode == 0, run.describe()
    for opt in ("-p", "-d", "--duration", "-i", "--interval", "--format", "-o", "-v"):
        assert opt in run.stdout, f"--help does not mention {opt}:\n{run.stdout}"


def test_no_such_pid(tmp_path):
    pid = unused_pid()
    run = run_leaktrace(trace_args(pid, 2, tmp_path / "r.json"), timeout=20)
    assert run.returncode == 2, run.describe()
    lines = stderr_lines(run)
    assert len(lines) == 1, f"want exactly one line on stderr, got {len(lines)}:\n{run.stderr}"
    assert str(pid) in lines[0], f"the error should name the pid: {lines[0]!r}"
    assert run.elapsed < 10, "a bad target must be rejected before tracing starts"


def test_kernel_thread(tmp_path):
    pid = kernel_thread_pid()
    run = run_leaktrace(trace_args(pid, 2, tmp_path / "r.json"), timeout=20)
    assert run.returncode == 2, f"pid {pid} is a kernel thread\n{run.describe()}"
    assert stderr_lines(run), "a rejected target needs an explanation on stderr"
    assert run.elapsed < 10, run.describe()


def test_itself(tmp_path):
    """-p naming leaktrace's own pid (a shell's $$ that execs it)."""
    out = tmp_path / "r.json"
    argv = ["sh", "-c", f'exec "$0" -p $$ -d 2 -o {out}', str(LEAKTRACE)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "itself" in lines[0], p.stderr
    assert not out.exists()


@pytest.fixture
def live_pid(start_prog):
    return start_prog(prog_path("flat")).pid


BAD_ARGS = {
    "no-args": [],
    "unknown-flag": ["--no-such-flag", "-p", "{pid}"],
    "p-missing-value": ["-p"],
    "p-not-a-number": ["-p", "abc"],
    "p-negative": ["-p", "-5"],
    "duration-not-a-number": ["-p", "{pid}", "-d", "abc"],
    "duration-negative": ["-p", "{pid}", "-d", "-3"],
    "interval-not-a-number": ["-p", "{pid}", "-d", "1", "-i", "x"],
    "format-unknown": ["-p", "{pid}", "-d", "1", "--format", "xml"],
    "o-missing-value": ["-p", "{pid}", "-d", "1", "-o"],
    "dashdash-without-command": ["-d", "1", "--"],
    "pid-and-command": ["-p", "{pid}", "-d", "1", "--", "/bin/true"],
    "stray-argument": ["-p", "{pid}", "-d", "1", "extra"],
    "fault-sample-negative": ["-p", "{pid}", "-d", "1", "--fault-sample", "-1"],
    "fault-sample-not-a-number": ["-p", "{pid}", "-d", "1", "--fault-sample", "x"],
}


@pytest.mark.parametrize("name", list(BAD_ARGS))
def test_bad_usage(name, live_pid, tmp_path):
    args = [a.replace("{pid}", str(live_pid)) for a in BAD_ARGS[name]]
    run = run_leaktrace(args, timeout=15, out_dir=tmp_path)
    assert run.returncode == 2, f"{args} is a usage error\n{run.describe()}"
    assert stderr_lines(run), "a usage error needs a message on stderr"
    assert run.elapsed < 10, f"{args}: usage errors must not start tracing\n{run.describe()}"


def test_cmd_not_found(tmp_path):
    run = run_leaktrace(["-d", "2", "--format", "json", "-o", str(tmp_path / "r.json"), "--",
                         "/nonexistent/leaktrace-test-prog"], timeout=20)
    assert run.returncode == 2, run.describe()
    assert len(stderr_lines(run)) == 1, f"want one line on stderr:\n{run.stderr}"


def test_target_killed_mid_trace(tmp_path):
    """The target dies while traced: leaktrace still writes a complete report."""
    duration = 10
    with running([prog_path("mmap_leak"), "-rate", 10], tmp_path) as t:
        out = tmp_path / "r.json"
        tracer = Tracer(trace_args(t.pid, duration, out), tmp_path, "killed",
                        timeout=duration + 60)
        # killed once traced (1 s of it at least), not during set-up
        assert tracer.wait_tracing(60), "leaktrace never started tracing\n" \
            + tracer.wait().describe()
        time.sleep(1)
        assert tracer.alive(), "leaktrace exited before the target was killed\n" \
            + tracer.wait().describe()
        t.signal(signal.SIGKILL)
        assert t.wait(10) is not None  # reaped, as a real parent would
        run = tracer.wait()
    report = run.ok()
    assert_valid_report(report, run)
    assert report["target"]["pid"] == t.pid, run.describe()
    assert report["duration_s"] <= duration + 1, run.describe()
    # What was seen before the target died is kept.
    sites = find_sites(report, kind="fault", function="leak_chunk")
    assert sites and sites[0]["bytes"] and sites[0]["bytes"] > 0, \
        "data from before the target died is missing\n" + run.describe()


def test_cmd_mode_c(tmp_path):
    """`leaktrace -- CMD`: probes are in place before CMD runs; ends when it exits."""
    prog = prog_path("mmap_leak")
    # 6 s: a site born just after exec needs >= 4 samples over >= 3 s.
    run = trace_cmd([prog, "-rate", 10, "-duration", 6], tmp_path, timeout=6 + 60)
    report = run.ok()
    assert_valid_report(report, run)
    m = re.search(r"^ready pid=(\d+)$", run.stdout, re.M)
    assert m, f"the command's stdout must pass through:\n{run.stdout[:2000]}"
    assert report["target"]["pid"] == int(m.group(1)), run.describe()
    assert os.path.realpath(report["target"]["exe"]) == os.path.realpath(prog), run.describe()
    assert 5 <= report["duration_s"] <= 6 + 5, \
        "the trace lasts as long as the command\n" + run.describe()
    faults = find_sites(report, kind="fault")
    assert faults and functions(faults[0])[:1] == ["leak_chunk"] and faults[0]["leak"] is True, \
        run.describe()
    maps = find_sites(report, kind="mmap", leak=True)
    assert maps, "mmap growth from the first call on must be seen\n" + run.describe()


def test_cmd_mode_go(tmp_path):
    build = GoBuild(newest_go())
    prog = build.path("heapgrow")
    run = trace_cmd([prog, "-rate", 50, "-duration", 6], tmp_path, timeout=6 + 60)
    report = run.ok()
    assert_valid_report(report, run)
    assert report["target"]["go_version"] and \
        report["target"]["go_version"].startswith("go" + build.version), run.describe()
    top = find_sites(report, kind=("fault", "mmap", "heap"), leak=True)
    assert top and has_function(top[0], "main.storeSession", "main.handleRequest"), \
        run.describe()
