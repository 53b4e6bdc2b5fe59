# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Names out of stripped binaries (issue 15).

- A stripped C test program (mmap_leak built with -g, its debug info split
  off with objcopy --only-keep-debug, the binary stripped): the culprit is
  `module+0xOFFSET` with the module's build id in JSON, addr2line on the
  unstripped file names leak_chunk at that offset, and one line on stderr
  names the build id and where the debug file would go.
- The same binary with a local debuginfod (Debian's `debuginfod -F DIR`)
  serving the split debug file: leak_chunk and its source line come through
  it, cached in DEBUGINFOD_CACHE_PATH. A server that accepts and never
  answers costs one bounded wait; a missing libdebuginfod costs one line.
- memcached -m 64 (stripped, from Debian): during the fill the culprit is
  memcached's own code, not libevent's event loop; after the plateau, under
  traffic that evicts, no leak verdict. Symbolization time with and without
  debuginfod is written to names-timing.txt in the test's directory.

debuginfod 0.188 cannot be told to listen on 127.0.0.1 only, so it runs in
a network namespace of its own (loopback only, nothing else exists there)
and the leaktrace runs that use it join that namespace with nsenter; the
targets stay where they are (BPF and /proc do not depend on the network
namespace).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import LEAKTRACE, PROGS, running, wait_tracing_line

TRACE_S = 4
MC_VALUE, MC_FILL_ITEMS, MC_PLATEAU_S = 1024, 150000, 10
HINT = "is stripped (no .symtab or DWARF)"


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if not path:
        pytest.fail(f"{binary} is not installed: run scripts/setup.sh")
    return path


def _build_id(path: Path) -> str:
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    assert m, f"{path}: no build id\n{out}"
    return m.group(1)


def _trace(pid: int, out: Path, name: str, env: dict, netns=None, fmt="json",
           duration=TRACE_S, extra=(), mount_prefix=()):
    """leaktrace -v -p PID, optionally inside netns (a pid holding it)."""
    report = out / f"{name}.{'json' if fmt == 'json' else 'txt'}"
    argv = [str(LEAKTRACE), "-v", "-p", str(pid), "-d", str(duration), "-i", "1",
            "--format", fmt, "-o", str(report), *extra]
    if netns:
        argv = ["nsenter", "-t", str(netns), "-n", *argv]
    argv = [*mount_prefix, *argv]
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env, capture_output=True, text=True,
                       timeout=duration + 60)
    elapsed = time.monotonic() - t0
    (out / f"{name}.stderr").write_text(p.stderr)
    desc = f"{' '.join(argv)}\nrc={p.returncode} elapsed={elapsed:.1f}s\n" \
           f"stderr:\n{p.stderr[-3000:]}"
    assert p.returncode == 0, desc
    if fmt == "json":
        return json.loads(report.read_text()), p.stderr, elapsed, desc
    return report.read_text(), p.stderr, elapsed, desc


def _env(**kw) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
    env.update({k: str(v) for k, v in kw.items()})
    return env


def _top_memory(report: dict) -> dict:
    ents = [e for e in report["entries"] if e["class"] == "memory" and e.get("culprit_frame")]
    assert ents, "no memory entry with a culprit"
    return ents[0]


def _sym_ms(stderr: str):
    m = re.search(r"symbolize: pid \d+: (\d+) lookups .*?, ([\d.]+) ms; debuginfod: "
                  r"(\d+) queries, (\d+) found, ([\d.]+) ms", stderr)
    assert m, f"no symbolize line in stderr:\n{stderr[-2000:]}"
    return dict(lookups=int(m.group(1)), ms=float(m.group(2)), queries=int(m.group(3)),
                found=int(m.group(4)), debuginfod_ms=float(m.group(5)))


# --------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """mmap_leak (-g) split into a stripped binary and a debug file."""
    d = tmp_path_factory.mktemp("names")
    src = PROGS / "mmap_leak"
    if not src.exists():
        pytest.fail(f"{src} missing: make {src}")
    full, stripped, srv = d / "mmap_leak", d / "mmap_leak.stripped", d / "srv"
    srv.mkdir()
    shutil.copy(src, full)
    subprocess.run(["objcopy", "--only-keep-debug", str(full), str(srv / "mmap_leak.debug")],
                   check=True)
    subprocess.run(["strip", "--strip-all", "-o", str(stripped), str(full)], check=True)
    sections = subprocess.run(["readelf", "-SW", str(stripped)], capture_output=True,
                              text=True, check=True).stdout
    assert ".symtab" not in sections and ".debug_info" not in sections, sections
    bid = _build_id(stripped)
    assert bid == _build_id(full) == _build_id(srv / "mmap_leak.debug")
    return dict(dir=d, full=full, stripped=stripped, debug=srv / "mmap_leak.debug",
                srv=srv, build_id=bid)


@pytest.fixture(scope="module")
def netns():
    """A network namespace with only loopback, held by a sleeping process."""
    _need("unshare")
    _need("nsenter")
    holder = subprocess.Popen(["unshare", "-n", "sleep", "3600"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "unshare -n did not take effect"
            time.sleep(0.05)
        subprocess.run(["nsenter", "-t", str(holder.pid), "-n", _need("ip"), "link", "set",
                        "lo", "up"], check=True)
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture(scope="module")
def debuginfod(split, netns, tmp_path_factory):
    """debuginfod -F serving split['srv'] on 127.0.0.1 inside netns."""
    d = tmp_path_factory.mktemp("debuginfod")
    port = 8002 + os.getpid() % 1000        # the namespace is ours: any port is free
    log = open(d / "debuginfod.log", "wb")
    srv = subprocess.Popen(["nsenter", "-t", str(netns), "-n", _need("debuginfod"),
                            "-F", str(split["srv"]), "-p", str(port), "-d",
                            str(d / "db.sqlite"), "-t", "1"],
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    probe = f"{url}/buildid/{split['build_id']}/debuginfo"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert srv.poll() is None, f"debuginfod exited: {(d / 'debuginfod.log').read_text()}"
            r = subprocess.run(["nsenter", "-t", str(netns), "-n", "/usr/bin/python3", "-c",
                                "import sys, urllib.request as u\n"
                                f"sys.exit(u.urlopen({probe!r}, timeout=2).status != 200)"],
                               capture_output=True)
            if r.returncode == 0:
                break
            assert time.monotonic() < deadline, \
                f"debuginfod never served {probe}: {(d / 'debuginfod.log').read_text()[-2000:]}"
            time.sleep(0.5)
        # and nothing of it is reachable from the host's network namespace
        with pytest.raises(OSError):
            urllib.request.urlopen(probe, timeout=2)
        yield dict(url=url, dir=d, pid=srv.pid)
    finally:
        os.killpg(srv.pid, signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(srv.pid, signal.SIGKILL)
            srv.wait()
        log.close()


@pytest.fixture(scope="module")
def leaker(split, tmp_path_factory):
    """The stripped mmap_leak, running for the module's tests."""
    d = tmp_path_factory.mktemp("leaker")
    with running([str(split["stripped"]), "-rate", "10", "-chunk-kb", "256"], d) as t:
        yield t


def _addr2line(binary: Path, offset: str, eu=False):
    argv = ["eu-addr2line" if eu else "addr2line", "-f", "-e", str(binary), offset]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split("\n")
    return out[0].strip(), out[1].strip()


def _assert_culprit_unnamed(rep, stderr, split, desc):
    e = _top_memory(rep)
    f = e["culprit_frame"]
    stripped = str(split["stripped"])
    assert f["function"] is None and f["module"] == stripped, f"{f}\n{desc}"
    assert re.fullmatch(r"0x[0-9a-f]+", f.get("offset") or ""), f"{f}\n{desc}"
    assert f.get("build_id") == split["build_id"], f"{f}\n{desc}"
    # the text form is module+0xOFFSET, never an absolute address alone
    # (PIE by GNU ld: the file offset is also the address addr2line takes)
    assert f.get("elf_address") == f["offset"], f
    assert e["culprit"] == f"{stripped}+{f['offset']}", f"{e['culprit']}\n{desc}"
    # ... which addr2line and eu-addr2line resolve on the unstripped file
    # and on the debug file: the leaking function and its source
    fn, where = _addr2line(split["full"], f["offset"])
    assert fn == "leak_chunk" and "mmap_leak.c:" in where, (fn, where, desc)
    fn, where = _addr2line(split["debug"], f["offset"], eu=True)
    assert fn == "leak_chunk" and "mmap_leak.c:" in where, (fn, where, desc)
    # every frame in the stripped module carries its offset and build id
    for s in rep["sites"]:
        for fr in s["stack"]:
            if fr["module"] == stripped:
                assert fr.get("offset") and fr.get("build_id") == split["build_id"], fr
    # one line says which build id and debug file would name it
    hints = [l for l in stderr.splitlines() if HINT in l and stripped in l]
    assert len(hints) == 1, f"{hints}\n{desc}"
    bid = split["build_id"]
    assert bid in hints[0] and f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug" \
        in hints[0], hints[0]
    # ... and the report keeps it (stderr may be gone when it is read)
    miss = [m for m in rep["symbols_missing"] if m["module"] == stripped]
    assert len(miss) == 1 and miss[0]["build_id"] == bid and miss[0]["hint"] == \
        hints[0].split("warning: ", 1)[-1], (miss, hints)
    return hints[0]


# --------------------------------------------------------------------------
# the stripped test program

def test_stripped_module_offset_and_hint(split, leaker, tmp_path):
    rep, stderr, _, desc = _trace(leaker.pid, tmp_path, "nodebug", _env())
    hint = _assert_culprit_unnamed(rep, stderr, split, desc)
    assert "DEBUGINFOD_URLS" in hint, hint
    # the text report shows it the same way and folds nothing as libc
    txt, _, _, desc = _trace(leaker.pid, tmp_path, "nodebug-text", _env(), fmt="text")
    assert f"{split['stripped']}+0x" in txt, desc + "\n" + txt
    assert "runtime/libc/allocator, see JSON" not in txt, txt
    assert "SYMBOLS MISSING" in txt and split["build_id"] in txt, txt


def test_debuginfod_supplies_names(split, leaker, debuginfod, netns, tmp_path):
    cache = tmp_path / "cache"
    rep, stderr, _, desc = _trace(leaker.pid, tmp_path, "debuginfod",
                                  _env(DEBUGINFOD_URLS=debuginfod["url"],
                                       DEBUGINFOD_CACHE_PATH=cache), netns=netns)
    f = _top_memory(rep)["culprit_frame"]
    assert f["function"] == "leak_chunk", f"{f}\n{desc}"
    assert f["file"] and f["file"].endswith("mmap_leak.c") and f["line"], f
    assert f.get("build_id") == split["build_id"] and f.get("offset"), f
    assert not [l for l in stderr.splitlines() if HINT in l and str(split["stripped"]) in l], \
        desc
    assert "debug info from" in stderr, desc
    assert not [m for m in rep["symbols_missing"] if m["module"] == str(split["stripped"])], \
        rep["symbols_missing"]
    # honoring DEBUGINFOD_CACHE_PATH: the file is in the cache we named
    assert (cache / split["build_id"] / "debuginfo").is_file(), list(cache.rglob("*"))
    st = _sym_ms(stderr)
    assert st["queries"] >= 1 and st["found"] >= 1, st


def test_debuginfod_dead_server_is_bounded(split, leaker, tmp_path):
    """A server that accepts connections and never answers: one query
    waits at most 5 s without data, then no more are made."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    try:
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        rep, stderr, elapsed, desc = _trace(
            leaker.pid, tmp_path, "dead", _env(DEBUGINFOD_URLS=url,
                                               DEBUGINFOD_CACHE_PATH=tmp_path / "cache"))
    finally:
        s.close()
    _assert_culprit_unnamed(rep, stderr, split, desc)
    assert "no more queries" in stderr, desc
    st = _sym_ms(stderr)
    assert st["queries"] == 1 and st["found"] == 0, st
    assert st["debuginfod_ms"] < 8000, st
    assert elapsed < TRACE_S + 15, desc


def test_probe_window_ends_while_a_lookup_waits(tmp_path):
    """A debuginfod server that answers "not found" after 3 s holds
    leaktrace's main loop in the first lookup of each stripped module. Here
    a stripped plugin is dlopen'ed once the allocator probes are on and
    calls malloc+free 4000 times a second: its first frames start a lookup
    while the probes are attached, the programs soon cut their window (the
    cap) and stop recording, but the target traps into every attached
    probe until someone detaches them. The watchdog thread must (within
    tens of ms: watchdog_detaches >= 1), not the main loop 3 s later."""
    import http.server
    import threading

    for name in ("dlopen_leak", "libleakplug.so"):
        subprocess.run(["objcopy", "--strip-all", str(PROGS / name), str(tmp_path / name)],
                       check=True)
    asked = []

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            time.sleep(3)
            self.send_error(404)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    report = tmp_path / "wd.json"
    argv = [str(LEAKTRACE), "-v", "-p", "0", "-d", "12", "-i", "1", "--format", "json",
            "-o", str(report)]
    try:
        with running([str(tmp_path / "dlopen_leak"), "-load-on-usr1", "1", "-pages", "1",
                      "-churn", "100"], tmp_path) as t:
            argv[3] = str(t.pid)
            env = _env(DEBUGINFOD_URLS=f"http://127.0.0.1:{srv.server_address[1]}",
                       DEBUGINFOD_CACHE_PATH=tmp_path / "cache")
            err = tmp_path / "wd.stderr"
            with open(err, "w") as ef:
                p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=ef)
                # the program's own lookup (first sample) is over and the
                # allocator probes are on: then the plugin comes
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and p.poll() is None and \
                        "allocator probes attached" not in err.read_text() and \
                        "malloc sites" not in err.read_text():
                    time.sleep(0.1)
                time.sleep(0.5)
                t.signal(signal.SIGUSR1)
                rc = p.wait(timeout=60)
    finally:
        srv.shutdown()
    stderr = err.read_text()
    desc = f"{' '.join(argv)}\nrc={rc}\nstderr:\n{stderr[-3000:]}"
    assert rc == 0, desc
    assert len(asked) >= 2, f"lookups made: {asked}\n{desc}"
    ms = json.loads(report.read_text())["malloc_sampling"]
    assert ms["watchdog_detaches"] >= 1, f"{ms}\n{desc}"


def test_debuginfod_library_missing(split, leaker, tmp_path):
    """libdebuginfod hidden (a mount namespace binds /dev/null over it):
    leaktrace still runs, says so once, and prints module+0xOFFSET."""
    lib = None
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
        if os.path.exists(f"{d}/libdebuginfod.so.1"):
            lib = os.path.realpath(f"{d}/libdebuginfod.so.1")
            break
    assert lib, "libdebuginfod.so.1 is not installed: run scripts/setup.sh"
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
              f"mount --bind /dev/null {lib} && exec \"$@\"", "sh"]
    rep, stderr, _, desc = _trace(leaker.pid, tmp_path, "nolib",
                                  _env(DEBUGINFOD_URLS="http://127.0.0.1:9"),
                                  mount_prefix=prefix)
    assert "libdebuginfod cannot be loaded" in stderr, desc
    _assert_culprit_unnamed(rep, stderr, split, desc)


# --------------------------------------------------------------------------
# memcached (stripped, from Debian)

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mc_sets(port: int, first: int, n: int, size: int = MC_VALUE) -> dict:
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


def _wait_port(port: int, proc):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"memcached exited rc={proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"memcached did not listen on 127.0.0.1:{port}")


def _start_memcached(out: Path):
    port = _free_port()
    log = open(out / "memcached.log", "wb")
    p = subprocess.Popen([_need("memcached"), "-m", "64", "-p", str(port), "-l", "127.0.0.1",
                          "-U", "0", "-u", "root", "-t", "2"], stdin=subprocess.DEVNULL,
                         stdout=log, stderr=subprocess.STDOUT)
    _wait_port(port, p)
    return p, port, log


def _fill_traced(out: Path, name: str, env: dict, netns=None) -> dict:
    """A fresh memcached filled to its limit while traced (-v)."""
    p, port, log = _start_memcached(out)
    try:
        res = {}
        report = out / f"{name}.json"
        argv = [str(LEAKTRACE), "-v", "-p", str(p.pid), "-d", "12", "-i", "1",
                "--format", "json", "-o", str(report)]
        if netns:
            argv = ["nsenter", "-t", str(netns), "-n", *argv]
        tr = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL,
                              stderr=open(out / f"{name}.stderr", "wb"))
        # the fill starts once leaktrace traces (its probes are live)
        assert wait_tracing_line(out / f"{name}.stderr", lambda: tr.poll() is None, 60), \
            (out / f"{name}.stderr").read_text()[-3000:]
        stats = _mc_sets(port, 0, MC_FILL_ITEMS)
        rc = tr.wait(timeout=90)
        stderr = (out / f"{name}.stderr").read_text()
        assert rc == 0, stderr[-3000:]
        res.update(report=json.loads(report.read_text()), stderr=stderr, stats=stats,
                   pid=p.pid, port=port)
        return res
    finally:
        p.kill()
        p.wait()
        log.close()


@pytest.fixture(scope="module")
def memcached_fill(tmp_path_factory):
    out = tmp_path_factory.mktemp("memcached-fill")
    return _fill_traced(out, "fill", _env())


def test_memcached_fill_culprit_is_memcached(memcached_fill):
    rep, stats = memcached_fill["report"], memcached_fill["stats"]
    exe = os.path.realpath(_need("memcached"))
    assert int(stats["evictions"]) > 0, f"not filled to its limit: {stats}"
    grown = [e for e in rep["entries"] if e["class"] == "memory" and e.get("culprit_frame")
             and max([c.get("bytes", 0) for c in (e.get("columns") or {}).values()] + [0])
             > 32 << 20]
    ents = grown or [_top_memory(rep)]
    desc = "\n".join(f"{e['verdict']} {e.get('culprit')} {e.get('culprit_frame')}"
                     for e in rep["entries"][:8])
    for e in ents:
        f = e["culprit_frame"]
        assert f["module"] == exe, f"culprit outside memcached:\n{desc}"
        assert f.get("offset") and f.get("build_id") == _build_id(Path(exe)), f
        assert e["culprit"] == f"{exe}+{f['offset']}" or f["function"], e["culprit"]
    for e in rep["entries"]:
        c = e.get("culprit") or ""
        assert "event_base_loop" not in c and "libevent" not in c, desc
    hints = [l for l in memcached_fill["stderr"].splitlines() if HINT in l and exe in l]
    assert len(hints) == 1, memcached_fill["stderr"][-2000:]


def test_memcached_plateau_no_leak(tmp_path):
    p, port, log = _start_memcached(tmp_path)
    try:
        stats = _mc_sets(port, 0, MC_FILL_ITEMS)
        assert int(stats["evictions"]) > 0, stats
        report = tmp_path / "plateau.json"
        tr = subprocess.Popen([str(LEAKTRACE), "-p", str(p.pid), "-d", str(MC_PLATEAU_S),
                               "-i", "1", "--format", "json", "-o", str(report)],
                              stdout=subprocess.DEVNULL,
                              stderr=open(tmp_path / "plateau.stderr", "wb"))
        first, t0 = MC_FILL_ITEMS, time.monotonic()
        while time.monotonic() - t0 < MC_PLATEAU_S:     # evicting sets, bounded
            _mc_sets(port, first, 200)
            first += 200
            time.sleep(0.1)
        assert tr.wait(timeout=60) == 0, (tmp_path / "plateau.stderr").read_text()
        rep = json.loads(report.read_text())
    finally:
        p.kill()
        p.wait()
        log.close()
    leaks = [s for s in rep["sites"] if s["leak"]]
    assert not leaks, [(s["kind"], s["verdict"], s["stack"][:3]) for s in leaks]
    assert not [e for e in rep["entries"] if e["verdict"] == "LEAK"], rep["entries"][:5]


def test_memcached_symbolization_time(memcached_fill, debuginfod, netns, tmp_path):
    """Symbolization of the fill trace without and with debuginfod (a local
    server without memcached's files: every module lacking symbols costs one
    404). Written down, asserted only loosely (the machine is shared)."""
    without = _sym_ms(memcached_fill["stderr"])
    with_ = _fill_traced(tmp_path, "fill-debuginfod",
                         _env(DEBUGINFOD_URLS=debuginfod["url"],
                              DEBUGINFOD_CACHE_PATH=tmp_path / "cache"), netns=netns)
    withd = _sym_ms(with_["stderr"])
    line = (f"memcached fill trace symbolization: without debuginfod {without['ms']:.1f} ms "
            f"({without['lookups']} lookups); with a local debuginfod {withd['ms']:.1f} ms "
            f"({withd['lookups']} lookups, {withd['queries']} queries, {withd['found']} found, "
            f"{withd['debuginfod_ms']:.1f} ms in them)\n")
    (tmp_path / "names-timing.txt").write_text(line)
    print(line)
    assert without["queries"] == 0, without
    assert withd["queries"] >= 1 and withd["found"] == 0, withd
    assert withd["debuginfod_ms"] < 10000, withd


# --------------------------------------------------------------------------
# issue 13: a C binary without section headers still names what .dynsym
# names (found through PT_DYNAMIC)

def test_no_section_headers_dynsym(tmp_path):
    import elfdamage
    from conftest import REPO, find_sites, trace_cmd
    built = tmp_path / "mmap_leak.rdynamic"
    subprocess.run(["gcc", "-g", "-O2", "-rdynamic", "-o", str(built),
                    str(REPO / "tests" / "progs" / "mmap_leak.c"), "-lpthread"], check=True)
    bad = tmp_path / "mmap_leak"
    elfdamage.damage(built, bad, "shoff0")
    run = trace_cmd([bad, "-rate", "20"], tmp_path, extra=["-d", "3"])
    report = run.ok()
    lines = [l for l in run.stderr.splitlines() if "damaged ELF" in l]
    assert len(lines) == 1 and "PT_DYNAMIC" in lines[0], run.stderr
    assert find_sites(report, kind="mmap", function="leak_chunk"), run.describe()


def test_non_pie_offset_and_elf_address(tmp_path):
    """A non-PIE executable: file offset and link-time address differ; the
    text says both, and the JSON's elf_address is what addr2line takes."""
    from conftest import REPO
    full, stripped = tmp_path / "nopie", tmp_path / "nopie.stripped"
    subprocess.run(["gcc", "-g", "-O2", "-no-pie", "-o", str(full),
                    str(REPO / "tests" / "progs" / "mmap_leak.c"), "-lpthread"], check=True)
    subprocess.run(["strip", "--strip-all", "-o", str(stripped), str(full)], check=True)
    with running([str(stripped), "-rate", "10", "-chunk-kb", "256"], tmp_path) as t:
        rep, stderr, _, desc = _trace(t.pid, tmp_path, "nopie", _env())
    e = _top_memory(rep)
    f = e["culprit_frame"]
    assert f["function"] is None and f["module"] == str(stripped), f"{f}\n{desc}"
    assert int(f["elf_address"], 16) != int(f["offset"], 16), f
    assert e["culprit"] == f"{stripped}+{f['offset']} (addr2line {f['elf_address']})", e
    fn, where = _addr2line(full, f["elf_address"])
    assert fn == "leak_chunk" and "mmap_leak.c:" in where, (fn, where, desc)


def test_debuginfod_itself_traced(debuginfod, netns, split, tmp_path):
    """Debian's debuginfod (C++, libmicrohttpd and sqlite, built without frame
    pointers) traced while it answers a bounded loop of requests: no leak
    verdict, and its memory stacks are unwound with CFI past the frames
    without frame pointers, through its own code, to the thread's root."""
    loop = ("import urllib.request as u, urllib.error as e\n"
            f"for i in range(600):\n"
            f"    for p in ('/metrics', '/buildid/%040x/debuginfo' % i,\n"
            f"              '/buildid/{split['build_id']}/debuginfo'):\n"
            f"        try: u.urlopen({debuginfod['url']!r} + p, timeout=5).read()\n"
            f"        except e.HTTPError: pass\n")
    load = subprocess.Popen(["nsenter", "-t", str(netns), "-n", "/usr/bin/python3", "-c", loop],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        rep, _, _, desc = _trace(debuginfod["pid"], tmp_path, "traced", _env(), duration=10)
    finally:
        load.kill()
        load.wait()
    leaks = [e for e in rep.get("entries") or [] if e.get("verdict") == "leak"]
    assert not leaks, f"debuginfod under a bounded request loop is no leak: {leaks}\n{desc}"
    uw = rep["unwind"]
    assert uw["copies"] > 0 and uw["unwound"] > 0, f"no stack unwound with CFI: {uw}\n{desc}"
    exe = os.path.realpath(_need("debuginfod"))
    whole = [s for s in rep["sites"] if s["kind"] in ("fault", "mmap", "brk", "malloc")
             and not s.get("stack_truncated")
             and any(f.get("module") == exe for f in s["stack"])]
    assert whole, "no memory site unwound whole through debuginfod's own code\n" + \
        "\n".join(" < ".join((f.get("function") or f"{f.get('module')}+{f.get('offset')}")
                              for f in s["stack"][:8]) for s in rep["sites"][:6]) + "\n" + desc
    for s in whole:
        for f in s["stack"]:
            assert f.get("function") or f.get("offset") is not None, f


def test_stripped_and_full_copies_in_one_run(split, leaker, tmp_path):
    """A stripped copy keeps the build id of the full one. Traced together
    (-p STRIPPED,FULL: one symbol cache for the run, the stripped copy
    opened first), the full copy still names its functions — under --all
    the full mmap_leak had been printed as mmap_leak+0x1700 because the
    cache, keyed by build id alone, handed it the stripped copy."""
    with running([str(split["full"]), "-rate", "10", "-chunk-kb", "256"], tmp_path) as full:
        rep, _, _, desc = _trace(f"{leaker.pid},{full.pid}", tmp_path, "both", _env())
    by_pid = {p["target"]["pid"]: p for p in rep["processes"]}
    named = [s for s in by_pid[full.pid]["sites"]
             if any(f.get("function") == "leak_chunk" for f in s["stack"])]
    assert named, "the full copy's frames are unnamed\n" + desc
    unnamed = [s for s in by_pid[leaker.pid]["sites"]
               if any(f.get("function") == "leak_chunk" for f in s["stack"])]
    assert not unnamed, "the stripped copy cannot name leak_chunk without its debug file"


def test_library_loaded_after_attach_is_named(tmp_path):
    """A plugin dlopen'ed once leaktrace traces, whose leak is resident pages
    of one region mapped at load (the address space keeps its size after):
    the growing fault site is named in the plugin, with its path. The maps
    are read again only when the address space changes size or a lookup
    finds no mapping: this is the case that must still be seen."""
    from conftest import find_sites, prog_path, require_sites, start_trace
    prog = prog_path("dlopen_leak")
    plug = prog.parent / "libleakplug.so"
    assert plug.exists(), f"{plug} is missing: run `make progs`"
    with running([prog, "-load-on-usr1", "1"], tmp_path) as t:
        tr = start_trace(t.pid, 6, tmp_path)
        assert tr.wait_tracing(), "leaktrace never traced"
        os.kill(t.pid, signal.SIGUSR1)
        run = tr.wait()
    report = run.ok()
    sites = require_sites(find_sites(report, kind="fault", function="plug_touch"),
                          "through plug_touch", run)
    top = max(sites, key=lambda s: s["bytes"] or 0)
    assert top["bytes"] >= 4 << 20, f"plug_touch's site holds {top['bytes']}\n{run.describe()}"
    frame = next(f for f in top["stack"] if f.get("function") == "plug_touch")
    assert frame.get("module") == str(plug.resolve()), f"{frame}\n{run.describe()}"
    assert frame.get("file", "").endswith("leakplug.c"), frame
