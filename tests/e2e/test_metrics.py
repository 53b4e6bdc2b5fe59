# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--metrics-addr end to end: leaktrace traces real leaking programs (C and
Go) and serves /metrics on 127.0.0.1; a real Prometheus server from Debian,
on 127.0.0.1 with its own config and data dir, scrapes both endpoints every
second; the assertions go through Prometheus's HTTP query API. Bad
addresses and a port in use: one clear message, exit 2, before tracing.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import Tracer, newest_go, go_build, prog_path

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Prometheus:
    """prometheus on 127.0.0.1:port scraping targets every second."""

    def __init__(self, targets, tmp: Path):
        if not os.access(PROMETHEUS, os.X_OK):
            pytest.fail("prometheus is not installed: run scripts/setup.sh")
        self.port = free_port()
        self.dir = tmp / "prometheus"
        self.dir.mkdir()
        cfg = self.dir / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: leaktrace\n    static_configs:\n"
            "      - targets: [" + ", ".join(f"'{t}'" for t in targets) + "]\n")
        self.log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"prometheus exited: {self.log_text()}")
            try:
                if http_get(f"http://127.0.0.1:{self.port}/-/ready", 2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"prometheus not ready in 60 s: {self.log_text()}")

    def log_text(self) -> str:
        return (self.dir / "prometheus.log").read_text(errors="replace")[-3000:]

    def query(self, q: str) -> list:
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": q}))
        code, body = http_get(url)
        assert code == 200, f"query {q!r}: HTTP {code}: {body}"
        doc = json.loads(body)
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def wait_for(self, q: str, pred, timeout: float, why: str):
        deadline = time.monotonic() + timeout
        res = []
        while time.monotonic() < deadline:
            res = self.query(q)
            if pred(res):
                return res
            time.sleep(1)
        raise AssertionError(f"{why}: {q!r} gave {res} after {timeout} s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def values(res) -> list:
    return [float(r["value"][1]) for r in res]


CT_ID = "5e2e" * 16     # 64 hex digits: a container id's shape


def unified_root() -> Path:
    """The cgroup v2 hierarchy: /sys/fs/cgroup/unified on hybrid hosts."""
    for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
        if (p / "cgroup.procs").exists() and (p / "cgroup.controllers").exists():
            return p
    pytest.fail("no cgroup v2 hierarchy mounted (hybrid hosts: /sys/fs/cgroup/unified)")


POD_UID = "6b8f3c2a-1d4e-4f5a-9b7c-0e1d2c3b4a59"
POD_PATH = ("kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
            + POD_UID.replace("-", "_") + ".slice/cri-containerd-" + "c0de" * 16 + ".scope")


@pytest.fixture
def cgroups():
    """make(relpath) -> <unified>/lt-e2e-PID/relpath, made like docker's
    systemd driver or the kubelet makes them; all removed at teardown."""
    top = unified_root() / f"lt-e2e-{os.getpid()}"
    made = []

    def make(rel: str) -> Path:
        d = top
        for part in rel.split("/"):
            d = d / part
            if not d.exists():
                d.mkdir(parents=True)
                made.append(d)
        return d

    made.append(top)
    top.mkdir()
    yield make
    for d in sorted(made, key=lambda p: len(p.parts), reverse=True):
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def test_prometheus_scrapes_leaks(start_prog, cgroups, tmp_path):
    c = start_prog(prog_path("mmap_leak"), "-rate", "5", "-chunk-kb", "256",
                   "-duration", "120")
    (cgroups(f"system.slice/docker-{CT_ID}.scope") / "cgroup.procs").write_text(f"{c.pid}\n")
    go = start_prog(prog_path("demo", go=go_build(newest_go())), "-rate", "20",
                    "-quiet", "-duration", "120")
    (cgroups(POD_PATH) / "cgroup.procs").write_text(f"{go.pid}\n")
    pc, pg = free_port(), free_port()
    tracers = [
        Tracer(["-p", str(c.pid), "-d", "90", "--metrics-addr", f"127.0.0.1:{pc}",
                "--format", "json", "-o", str(tmp_path / "c.json")], tmp_path, "c", 150),
        Tracer(["-p", str(go.pid), "-d", "90", "--metrics-addr", f"127.0.0.1:{pg}",
                "--format", "json", "-o", str(tmp_path / "go.json")], tmp_path, "go", 150),
    ]
    prom = None
    try:
        prom = Prometheus([f"127.0.0.1:{pc}", f"127.0.0.1:{pg}"], tmp_path)
        prom.wait_for('up{job="leaktrace"} == 1', lambda r: len(r) == 2, 60,
                      "both leaktrace endpoints scraped")
        # the C program: its culprit function leaks, mapped and touched
        q = f'leaktrace_site_leak{{pid="{c.pid}",culprit="leak_chunk"}}'
        res = prom.wait_for(q, lambda r: r and all(v == 1 for v in values(r)), 60,
                            "mmap_leak's leak_chunk is a leak")
        assert {r["metric"]["kind"] for r in res} >= {"mmap"}, res
        assert all(r["metric"]["comm"] == "mmap_leak" for r in res), res
        res = prom.query(f'leaktrace_site_growth_bytes_per_minute{{pid="{c.pid}",'
                         f'culprit="leak_chunk",kind="mmap"}}')
        # 5 chunks of 256 KiB a second: 75 MiB a minute
        assert res and 40 * 2**20 < values(res)[0] < 120 * 2**20, res
        res = prom.query(f'leaktrace_process_rss_bytes{{pid="{c.pid}",comm="mmap_leak"}}')
        assert len(res) == 1 and values(res)[0] > 1 << 20, res
        # in a docker-shaped cgroup: the container label (Prometheus drops
        # empty labels: pod_uid is absent, there is no pod)
        assert res[0]["metric"]["container"] == CT_ID, res
        assert "pod_uid" not in res[0]["metric"], res
        res = prom.query(f'leaktrace_process_info{{pid="{c.pid}"}}')
        assert len(res) == 1, res
        info = res[0]["metric"]
        assert info["exe"] == str(prog_path("mmap_leak")), info
        assert info["container_runtime"] == "docker", info
        assert info["cgroup"].endswith(
            f"/lt-e2e-{os.getpid()}/system.slice/docker-{CT_ID}.scope"), info
        res = prom.query(f'leaktrace_process_start_time_seconds{{pid="{c.pid}"}}')
        assert res and abs(values(res)[0] - (time.time() - (time.monotonic() - c.ready_at))) < 30, res
        # the Go program: goroutines and its goroutine leak by culprit
        q = (f'leaktrace_site_leak{{pid="{go.pid}",kind="goroutine",'
             f'culprit="main.(*Notifier).Publish"}}')
        prom.wait_for(q, lambda r: values(r) == [1], 60, "demo's Publish goroutines leak")
        res = prom.wait_for(f'leaktrace_process_goroutines{{pid="{go.pid}",comm="demo"}}',
                            lambda r: r and values(r)[0] > 20, 30, "goroutines climb")
        # in a kubelet-shaped cgroup (systemd driver, burstable pod,
        # containerd): pod UID and QoS, joinable with kube-state-metrics
        assert res[0]["metric"]["pod_uid"] == POD_UID, res
        assert res[0]["metric"]["container"] == "c0de" * 16, res
        res = prom.query(f'leaktrace_process_info{{pod_uid="{POD_UID}"}}')
        assert len(res) == 1, res
        assert res[0]["metric"]["qos_class"] == "burstable", res
        assert res[0]["metric"]["container_runtime"] == "containerd", res
        res = prom.query(f'leaktrace_site_leak{{pod_uid="{POD_UID}"}} == 1')
        assert res and all(r["metric"]["pid"] == str(go.pid) for r in res), res
        # nothing of the healthy churn is called a leak
        res = prom.query(f'leaktrace_site_leak{{pid="{c.pid}",culprit="churn_chunk"}} == 1')
        assert res == [], res
        # bounded: at most --metrics-top (5) site rows per metric and process
        for pid in (c.pid, go.pid):
            res = prom.query(f'count(leaktrace_site_leak{{pid="{pid}"}})')
            assert res and values(res)[0] <= 5, res
        # the metrics follow the samples: a new collect each second, and the
        # leaking process's RSS rises between scrapes
        prom.wait_for(f'changes(leaktrace_last_collect_timestamp_seconds'
                      f'{{instance="127.0.0.1:{pc}"}}[10s]) >= 4',
                      lambda r: len(r) == 1, 20, "a fresh sample every second")
        prom.wait_for(f'deriv(leaktrace_process_rss_bytes{{pid="{c.pid}"}}[10s]) > 100000',
                      lambda r: len(r) == 1, 20, "RSS of the leaker rises in the metrics")
        res = prom.query('leaktrace_processes_tracked')
        assert values(res) == [1, 1], res
        res = prom.query('leaktrace_drops_total{cause="ringbuf_full"}')
        assert len(res) == 2, res
    finally:
        if prom:
            prom.stop()
        for t in tracers:
            t.signal(signal.SIGINT)
        for t in tracers:
            t.wait()
        c.kill()    # they leave their cgroups, which can then be removed
        go.kill()   # (also when an assertion failed)
    for t in tracers:
        run = t.wait()
        run.ok()     # the report is still written after serving metrics


def run_lt(args, tmp_path, name):
    t = Tracer(args, tmp_path, name, timeout=20)
    return t.wait()


def one_line(run) -> str:
    lines = [l for l in run.stderr.splitlines() if l.strip()]
    assert run.returncode == 2, run.describe()
    assert run.elapsed < 10, "bad input must be refused before tracing\n" + run.describe()
    assert "unrecognized option" not in run.stderr, run.stderr
    return lines


def test_port_in_use(start_prog, tmp_path):
    pid = start_prog(prog_path("flat")).pid
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        run = run_lt(["-p", str(pid), "-d", "5", "--metrics-addr", f"127.0.0.1:{port}"],
                     tmp_path, "inuse")
    lines = one_line(run)
    assert len(lines) == 1 and "in use" in lines[0] and str(port) in lines[0], run.stderr


BAD_ADDRS = {
    "port-too-big": ["--metrics-addr", "127.0.0.1:99999"],
    "not-an-address": ["--metrics-addr", "nonsense:80"],
    "no-port": ["--metrics-addr", "127.0.0.1:"],
    "ipv6-without-brackets": ["--metrics-addr", "::1:9464"],
    "not-loopback": ["--metrics-addr", "0.0.0.0:{port}"],
    "not-on-this-host": ["--metrics-addr", "192.0.2.1:{port}", "--metrics-listen-any"],
}


@pytest.mark.parametrize("name", list(BAD_ADDRS))
def test_bad_addr(name, start_prog, tmp_path):
    pid = start_prog(prog_path("flat")).pid
    port = str(free_port())
    args = [a.replace("{port}", port) for a in BAD_ADDRS[name]]
    run = run_lt(["-p", str(pid), "-d", "5", *args], tmp_path, name)
    lines = one_line(run)
    assert len(lines) == 1 and "--metrics-addr" in lines[0], run.stderr


BAD_OPTS = {
    "listen-any-alone": ["--metrics-listen-any"],
    "top-zero": ["--metrics-addr", "127.0.0.1:9", "--metrics-top", "0"],
    "max-sites-word": ["--metrics-addr", "127.0.0.1:9", "--metrics-max-sites", "x"],
}


@pytest.mark.parametrize("name", list(BAD_OPTS))
def test_bad_metrics_options(name, start_prog, tmp_path):
    pid = start_prog(prog_path("flat")).pid
    run = run_lt(["-p", str(pid), "-d", "5", *BAD_OPTS[name]], tmp_path, name)
    lines = one_line(run)
    assert "metrics" in lines[0], run.stderr


def test_port_in_use_cmd_not_started(tmp_path):
    """With -- CMD, a port in use is refused before the command is started."""
    marker = tmp_path / "started"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        run = run_lt(["-d", "5", "--metrics-addr", f"127.0.0.1:{port}", "--",
                      "/usr/bin/touch", str(marker)], tmp_path, "inuse-cmd")
    lines = one_line(run)
    assert len(lines) == 1 and "in use" in lines[0], run.stderr
    assert not marker.exists(), "the command ran although leaktrace refused to start"
