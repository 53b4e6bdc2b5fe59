# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The deployment files under scripts/deploy/: the DaemonSet manifest (parsed
with python3-yaml: hostPID, not privileged, the capabilities, mounts, the
metrics port, scrape annotations, probes, limits), the capability set
proven by running the real leaktrace with only those capabilities (and
shown needed by taking each away), the image recipe against the libraries
build/leaktrace links, and the systemd units through systemd-analyze.
"""
import json
import os
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import REPO, LEAKTRACE, Tracer, go_build, newest_go, prog_path

DEPLOY = REPO / "scripts" / "deploy"
MANIFEST = DEPLOY / "leaktrace-daemonset.yaml"
CAPS = {"BPF", "PERFMON", "SYS_PTRACE", "SYS_ADMIN", "SYS_RESOURCE"}


def daemonset():
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]
    ds = [d for d in docs if d.get("kind") == "DaemonSet"]
    assert len(ds) == 1, f"one DaemonSet in {MANIFEST}, found {len(ds)}"
    return ds[0]


def container(ds):
    cs = ds["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, cs
    return cs[0]


def test_manifest_pod():
    ds = daemonset()
    assert ds["apiVersion"] == "apps/v1"
    pod = ds["spec"]["template"]["spec"]
    assert pod["hostPID"] is True, "leaktrace must see the node's processes"
    assert not pod.get("hostNetwork"), "metrics belong on the pod network"
    assert ds["spec"]["selector"]["matchLabels"].items() <= \
        ds["spec"]["template"]["metadata"]["labels"].items()
    assert {"operator": "Exists"} in pod.get("tolerations", []), "every node"
    assert pod.get("automountServiceAccountToken") is False, "no API access needed"


def test_manifest_security():
    sc = container(daemonset())["securityContext"]
    assert sc.get("privileged") is False, "not privileged: capabilities instead"
    assert sc.get("allowPrivilegeEscalation") is False
    assert sc.get("readOnlyRootFilesystem") is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert set(sc["capabilities"]["add"]) == CAPS, sc["capabilities"]
    assert "privileged: true" not in MANIFEST.read_text()


def test_manifest_mounts():
    ds = daemonset()
    c = container(ds)
    vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    for host, path in (("/sys/kernel/btf", "/sys/kernel/btf"),
                       ("/sys/kernel/tracing", "/sys/kernel/tracing"),
                       ("/sys/fs/cgroup", "/host/sys/fs/cgroup")):
        assert path in mounts, f"{path} not mounted: {sorted(mounts)}"
        m = mounts[path]
        assert m.get("readOnly") is True, f"{path} should be read-only"
        assert vols[m["name"]]["hostPath"]["path"] == host, vols[m["name"]]
    # no writable host path at all
    for m in mounts.values():
        if "hostPath" in vols[m["name"]]:
            assert m.get("readOnly") is True, m
    # hostPID makes the container's /proc the node's: no /proc host mount
    assert not any(v.get("hostPath", {}).get("path") == "/proc" for v in vols.values())


def test_manifest_metrics_port_and_probes():
    ds = daemonset()
    c = container(ds)
    ann = ds["spec"]["template"]["metadata"]["annotations"]
    ports = {p["name"]: p for p in c["ports"]}
    port = ports["metrics"]["containerPort"]
    assert ann["prometheus.io/scrape"] == "true"
    assert int(ann["prometheus.io/port"]) == port
    assert ann["prometheus.io/path"] == "/metrics"
    args = c["args"]
    addr = args[args.index("--metrics-addr") + 1]
    assert addr.endswith(f":{port}"), addr
    # a non-loopback address is refused without the explicit flag
    assert "--metrics-listen-any" in args
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["livenessProbe"].get("initialDelaySeconds", 0) >= 10
    lim = c["resources"]["limits"]
    assert "memory" in lim and "cpu" not in lim, lim
    assert "memory" in c["resources"]["requests"]


def help_text() -> str:
    return subprocess.run([str(LEAKTRACE), "--help"], capture_output=True, text=True,
                          timeout=10).stdout


def test_manifest_metrics_flags_exist():
    """Every --metrics-* flag the deployment passes is one leaktrace has."""
    flags = {a for a in container(daemonset())["args"] if a.startswith("--metrics")}
    text = help_text()
    assert flags and all(f in text for f in flags), (flags, text)


def test_manifest_all_flags_exist():
    text = help_text()
    for f in container(daemonset())["args"]:
        if f.startswith("--"):
            assert f in text, f"leaktrace has no {f}"


# --------------------------------------------------------------------------
# The capabilities: leaktrace run with exactly the manifest's set (as root,
# the bounding set limited with setpriv), on a Go program, serving metrics.

def run_with_caps(caps, pid, tmp_path, name, extra=()):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.fail("setpriv (util-linux) missing")
    bset = "-all," + ",".join("+" + c.lower() for c in sorted(caps))
    out = tmp_path / f"{name}.json"
    argv = [setpriv, f"--bounding-set={bset}", "--inh-caps=-all", "--",
            str(LEAKTRACE), "-p", str(pid), "-d", "3", *extra, "--format", "json",
            "-o", str(out)]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    rep = json.loads(out.read_text()) if p.returncode == 0 and out.exists() else None
    return p, rep


def named_main(rep) -> int:
    """Sites with a main.* function in their stack: symbols were read."""
    return sum(1 for s in rep["sites"]
               if any((f.get("function") or "").startswith("main.") for f in s["stack"]))


@pytest.fixture(scope="module")
def go_target(tmp_path_factory):
    from conftest import Target
    t = Target([prog_path("demo", go=go_build(newest_go())), "-rate", "20", "-quiet",
                "-duration", "300"], tmp_path_factory.mktemp("capgo"))
    yield t
    t.kill()


def test_manifest_caps_suffice(go_target, tmp_path):
    p, rep = run_with_caps(CAPS, go_target.pid, tmp_path, "all")
    assert p.returncode == 0, p.stderr
    assert rep["totals"]["goroutines"] is not None, p.stderr
    assert any(s["kind"] == "goroutine" for s in rep["sites"]), "goroutines traced"
    assert any(s["kind"] in ("fault", "mmap") for s in rep["sites"]), "memory traced"
    assert named_main(rep) > 0, "symbols read"
    assert not [l for l in p.stderr.splitlines() if "warning" in l], p.stderr


def test_sys_admin_needed_for_go(go_target, tmp_path):
    """Measured on 6.18: the uprobe PMU refuses (EACCES) without CAP_SYS_ADMIN
    even with CAP_PERFMON; the manifest says so and offers --no-go. Without
    it leaktrace either stops, or goes on with what reads give (goroutines
    counted, their stacks read) and says in one line that the creation
    probe was refused, and the report says "refused"."""
    p, rep = run_with_caps(CAPS - {"SYS_ADMIN"}, go_target.pid, tmp_path, "noadmin")
    assert "uprobe" in p.stderr or "goroutine" in p.stderr, p.stderr
    if p.returncode == 0 and rep["totals"]["goroutines"] is not None:
        cp = rep["goroutine_sampling"]["creation_probe"]
        assert cp["mode"] == "refused", (cp, p.stderr)
        assert "cannot attach the goroutine creation probe" in p.stderr, p.stderr
        assert "CAP_SYS_ADMIN" in p.stderr, p.stderr
    assert "--no-go" in MANIFEST.read_text()


NO_GO_CAPS = CAPS - {"SYS_ADMIN"}


def test_no_go_without_sys_admin(go_target, tmp_path):
    """The documented fallback: memory and threads, named, without SYS_ADMIN."""
    p, rep = run_with_caps(NO_GO_CAPS, go_target.pid, tmp_path, "nogo", ["--no-go"])
    assert p.returncode == 0, p.stderr
    assert named_main(rep) > 0, p.stderr


@pytest.mark.parametrize("cap", ["BPF", "PERFMON", "SYS_PTRACE"])
def test_manifest_caps_needed(cap, go_target, tmp_path):
    """Without any one of them (SYS_ADMIN, which covers BPF and PERFMON,
    taken away too) leaktrace fails, or cannot name a single function."""
    p, rep = run_with_caps(NO_GO_CAPS - {cap}, go_target.pid, tmp_path, cap, ["--no-go"])
    degraded = p.returncode != 0 or named_main(rep) == 0
    assert degraded, f"CAP_{cap} is in the manifest but nothing needed it:\n{p.stderr}"


# --------------------------------------------------------------------------
# The image recipe and the systemd units

def stage_packages(text: str, stage: int) -> set:
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    body = stages[stage].replace("\\\n", " ")
    pkgs = set()
    for m in re.finditer(r"apt-get install ([^&\n]*)", body):
        pkgs |= {w for w in m.group(1).split() if not w.startswith("-") and
                 w != "bookworm-backports"}
    return pkgs


def needed_packages() -> set:
    """Debian packages of the shared libraries build/leaktrace links."""
    dyn = subprocess.run(["readelf", "-d", str(LEAKTRACE)], capture_output=True,
                         text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\).*\[(.+)\]", dyn)
    ldd = subprocess.run(["ldd", str(LEAKTRACE)], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, flags=re.M))
    pkgs = set()
    for lib in needed:
        path = paths[lib]
        cands = [path, os.path.realpath(path), path.replace("/usr/lib/", "/lib/")]
        owner = None
        for c in cands:
            r = subprocess.run(["dpkg", "-S", c], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0]
                break
        assert owner, f"no Debian package owns {path} ({lib})"
        pkgs.add(owner)
    return pkgs


def test_image_recipe():
    text = (DEPLOY / "Containerfile").read_text()
    froms = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert froms and all(f.startswith("debian:") for f in froms), froms
    build, run = stage_packages(text, 0), stage_packages(text, 1)
    assert {"libmicrohttpd-dev", "libbpf-dev", "bpftool", "clang"} <= build, build
    missing = {p for p in needed_packages() if p not in run and p not in ("libc6",)}
    assert not missing, f"runtime stage lacks {missing} (installs {sorted(run)})"
    assert "COPY --from=build /out/leaktrace" in text
    # data files the build reads from Debian packages (`VAR ?= /usr/share/...`)
    mk = (REPO / "Makefile").read_text()
    for path in re.findall(r"^\w+ \?= (/usr/(?:share|lib)/\S+)", mk, flags=re.M):
        r = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        assert r.returncode == 0, f"the build reads {path}, which no package owns"
        pkg = r.stdout.split(":")[0]
        assert pkg in build, f"the build reads {path} from {pkg}: not in the build stage"


def verify_unit(src: Path, name: str, tmp_path: Path) -> str:
    if not shutil.which("systemd-analyze"):
        pytest.fail("systemd-analyze missing")
    dst = tmp_path / name
    dst.write_text(src.read_text().replace("/usr/local/bin/leaktrace", str(LEAKTRACE)))
    r = subprocess.run(["systemd-analyze", "verify", str(dst)], capture_output=True,
                       text=True, timeout=60)
    return (r.stdout + r.stderr).strip()


def unit_caps(path: Path) -> set:
    m = re.search(r"^CapabilityBoundingSet=(.*)$", path.read_text(), flags=re.M)
    return {c.removeprefix("CAP_") for c in m.group(1).split()}


def test_systemd_units(tmp_path):
    # an instance of the template on a unit this host has
    have = [n for n in ("cron", "ssh", "dbus", "systemd-journald")
            if Path(f"/lib/systemd/system/{n}.service").exists()]
    assert have, "no well-known service unit to instantiate the template on"
    out = verify_unit(DEPLOY / "leaktrace@.service", f"leaktrace@{have[0]}.service", tmp_path)
    assert out == "", out
    out = verify_unit(DEPLOY / "leaktrace.service", "leaktrace.service", tmp_path)
    assert out == "", out
    for u in ("leaktrace@.service", "leaktrace.service"):
        assert unit_caps(DEPLOY / u) == CAPS, u
