# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Acceptance on real services as Debian ships them (issue 14):

- redis-server traced across the end of its fill: "grew until t=..., flat
  since", no current-leak verdict; the header names redis-server, the name
  it runs as, not the redis-check-rdb its symlink points to;
- memcached -m 64 filled to its limit, then traced under traffic that
  evicts: nothing flagged;
- Prometheus scraping itself for 60 s: no leak verdict, and no Go runtime
  function named as a culprit.

Every service listens on 127.0.0.1 only, keeps its data in the test's temp
directory, and gets traffic from bounded loops. The three run at the same
time (one leaktrace each) to keep the module about a minute long.
"""
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import start_trace

MiB = 1 << 20
REDIS_TRACE_S, REDIS_FILL_S, REDIS_FILL_DELAY_S = 30, 15, 3
REDIS_SETS_PER_S, REDIS_VALUE = 2000, 4096
MC_TRACE_S, MC_FILL_ITEMS, MC_VALUE = 15, 150000, 1024
PROM_TRACE_S = 60
# Go runtime functions by name: "runtime.x", "runtime/cgo...", "internal/..."
RUNTIME_FN = re.compile(r"(^|[\s(])(runtime[./]|internal/)[\w(*]")


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if not path:
        pytest.fail(f"{binary} is not installed: run scripts/setup.sh")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited rc={proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


class Service:
    def __init__(self, argv, out: Path, name: str):
        self.log = open(out / f"{name}.log", "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=out)
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _redis_fill(port: int, seconds: float):
    """SETs of REDIS_VALUE bytes at REDIS_SETS_PER_S for `seconds`."""
    s = socket.create_connection(("127.0.0.1", port))
    val, batch, i, t0 = b"x" * REDIS_VALUE, REDIS_SETS_PER_S // 10, 0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        s.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                           % (len(k), k, len(val), val)
                           for k in (b"key:%d" % j for j in range(i, i + batch))))
        got = 0
        while got < batch:
            got += s.recv(65536).count(b"+OK")
        i += batch
        time.sleep(max(0.0, t0 + i / REDIS_SETS_PER_S - time.monotonic()))
    s.close()
    return i


def _mc_sets(port: int, first: int, n: int, size: int, noreply=True):
    s = socket.create_connection(("127.0.0.1", port))
    val = b"v" * size
    for i in range(first, first + n, 500):
        s.sendall(b"".join(b"set k%d 0 0 %d noreply\r\n%s\r\n" % (j, size, val)
                           for j in range(i, min(first + n, i + 500))))
    s.sendall(b"stats\r\n")
    buf = b""
    while b"END\r\n" not in buf:
        buf += s.recv(65536)
    s.close()
    return dict(l.split()[1:3] for l in buf.decode().splitlines() if l.startswith("STAT "))


def run_redis(out: Path) -> dict:
    port = _free_port()
    svc = Service([_need("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(out),
                   "--protected-mode", "yes"], out, "redis")
    try:
        _wait_port(port, svc.proc, "redis-server")
        js = start_trace(svc.pid, REDIS_TRACE_S, out, name="redis-json")
        txt = start_trace(svc.pid, REDIS_TRACE_S, out, name="redis-text", fmt="text")
        time.sleep(REDIS_FILL_DELAY_S)
        sets = _redis_fill(port, REDIS_FILL_S)
        return dict(json=js.wait(), text=txt.wait(), sets=sets)
    finally:
        svc.stop()


def run_memcached(out: Path) -> dict:
    port = _free_port()
    svc = Service([_need("memcached"), "-m", "64", "-p", str(port), "-l", "127.0.0.1",
                   "-U", "0", "-u", "root", "-t", "2"], out, "memcached")
    try:
        _wait_port(port, svc.proc, "memcached")
        stats = _mc_sets(port, 0, MC_FILL_ITEMS, MC_VALUE)
        tr = start_trace(svc.pid, MC_TRACE_S, out, name="memcached-json")
        # traffic while traced: new keys that evict old ones, 2000 a second
        first, t0 = MC_FILL_ITEMS, time.monotonic()
        while time.monotonic() - t0 < MC_TRACE_S:
            _mc_sets(port, first, 200, MC_VALUE)
            first += 200
            time.sleep(0.1)
        return dict(json=tr.wait(), fill=stats)
    finally:
        svc.stop()


def run_prometheus(out: Path) -> dict:
    port = _free_port()
    cfg = out / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "scrape_configs:\n  - job_name: self\n    static_configs:\n"
                   f"      - targets: ['127.0.0.1:{port}']\n")
    svc = Service([_need("prometheus"), f"--config.file={cfg}",
                   f"--storage.tsdb.path={out / 'prometheus-data'}",
                   f"--web.listen-address=127.0.0.1:{port}"], out, "prometheus")
    try:
        _wait_port(port, svc.proc, "prometheus", timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready",
                                          timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        tr = start_trace(svc.pid, PROM_TRACE_S, out, name="prometheus-json")
        return dict(json=tr.wait())
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    out = tmp_path_factory.mktemp("services")
    results, errors = {}, {}

    def run(name, fn):
        d = out / name
        d.mkdir()
        try:
            results[name] = fn(d)
        except BaseException as e:      # pytest.fail inside a thread
            errors[name] = e

    threads = [threading.Thread(target=run, args=(n, f)) for n, f in
               (("redis", run_redis), ("memcached", run_memcached),
                ("prometheus", run_prometheus))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def _get(services, name):
    results, errors = services
    if name in errors:
        raise errors[name]
    return results[name]


def _verdicts(report) -> str:
    return "\n".join(f"  {e['class']} {e['verdict']} {e.get('culprit')} "
                     f"grew_until={e.get('grew_until_s')} "
                     f"{e.get('columns') or e.get('live')}"
                     for e in report["entries"][:10])


def test_redis_fill_then_flat(services):
    r = _get(services, "redis")
    run = r["json"]
    report = run.ok()
    d = run.describe() + "\n" + _verdicts(report)
    assert r["sets"] >= REDIS_SETS_PER_S * REDIS_FILL_S * 0.8, r["sets"]
    assert not [s for s in report["sites"] if s["leak"]], d
    assert not [f for f in report["findings"] if f["kind"] == "leak"], d
    assert not [e for e in report["entries"] if e["verdict"] in ("leak", "growing")], d
    # the fill: ~120 MiB resident, stopped between the fill's end and a few
    # seconds after it (the trace starts ~0.5 s after attach)
    end = REDIS_FILL_DELAY_S + REDIS_FILL_S
    stopped = [e for e in report["entries"] if e["verdict"] == "stopped"
               and e["class"] == "memory" and not e["symptom"]
               and e["columns"].get("resident", {}).get("bytes", 0) >= 30 * MiB]
    assert stopped, d
    assert end - 3 <= stopped[0]["grew_until_s"] <= end + 3, d
    assert stopped[0]["culprit"], d
    assert not RUNTIME_FN.search(stopped[0]["culprit"]), d
    assert report["target"]["exe_as_run"] == "/usr/bin/redis-server", report["target"]
    text = (run.out_dir / "redis-text.txt").read_text()
    assert text.splitlines()[0].startswith(
        f"leaktrace report: pid {report['target']['pid']} (redis-server) /usr/bin/redis-server,"), text[:300]
    assert re.search(r"grew until t=\d+ s, flat since", text), text
    assert not re.search(r"^\s*\d+\s+\S+.*\sLEAK\s", text, re.M), text
    assert "[critical]" not in text, text


def test_memcached_full_nothing_flagged(services):
    r = _get(services, "memcached")
    run = r["json"]
    report = run.ok()
    d = run.describe() + "\n" + _verdicts(report) + f"\nfill stats {r['fill']}"
    assert int(r["fill"]["evictions"]) > 0, f"memcached was not filled to -m 64: {r['fill']}"
    assert not [s for s in report["sites"] if s["leak"]], d
    assert not [e for e in report["entries"] if e["verdict"] in ("leak", "growing")], d
    assert not [f for f in report["findings"] if f["severity"] in ("critical", "warning")], \
        d + "\n" + str(report["findings"])


def test_prometheus_self_scrape_no_leak(services):
    r = _get(services, "prometheus")
    run = r["json"]
    report = run.ok()
    d = run.describe() + "\n" + _verdicts(report)
    assert report["target"]["go_version"], report["target"]
    assert not [s for s in report["sites"] if s["leak"]], d
    assert not [f for f in report["findings"] if f["kind"] == "leak"], d
    for e in report["entries"]:
        assert not (e["culprit"] and RUNTIME_FN.search(e["culprit"])), \
            f"a runtime function is named as a culprit: {e['culprit']}\n{d}"
    for f in report["findings"]:
        assert not RUNTIME_FN.search(f["title"] + " " + f["detail"]), \
            f"a finding names a runtime function: {f}"
