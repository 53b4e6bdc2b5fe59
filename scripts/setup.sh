#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Installs every build, run and test dependency of leaktrace from Debian's
# archive. Idempotent. Extra suites (bookworm-backports for libbpf/bpftool,
# trixie and trixie-backports for Go 1.24-1.27) reuse the mirror that the
# machine's apt configuration already names, and are pinned low so that
# nothing else is upgraded from them.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "setup.sh: run as root" >&2; exit 2; }
export DEBIAN_FRONTEND=noninteractive

# The Debian mirror already configured for the base suite (deb822 or one-line).
find_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			/^[[:space:]]*$/ { if (uri != "" && suites ~ /(^| )bookworm( |$)/) { print uri; exit } uri=""; suites=""; next }
			/^URIs:/ { uri=$2 }
			/^Suites:/ { $1=""; suites=$0 " " }
			END { if (uri != "" && suites ~ /(^| )bookworm( |$)/) print uri }
		' "$f" | head -n1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '$1 == "deb" && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i ~ /:\/\//) { if ($(i+1) == "bookworm") print $i; break }
		}' "$f"
	done
}

mirror=$(find_mirror | head -n1)
if [ -z "$mirror" ]; then
	echo "setup.sh: no Debian bookworm mirror found in the apt configuration" >&2
	exit 1
fi

list=/etc/apt/sources.list.d/leaktrace-extra.list
want="deb $mirror bookworm-backports main
deb $mirror trixie main
deb $mirror trixie-backports main"
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	printf '%s\n' "$want" > "$list"
fi
cat > /etc/apt/preferences.d/leaktrace-extra <<'PIN'
Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100

Package: *
Pin: release n=trixie
Pin-Priority: 50

Package: *
Pin: release n=trixie-backports
Pin-Priority: 50
PIN

apt_install() { apt-get install -y -q --no-install-recommends "$@"; }

stamp=/var/lib/apt/periodic/leaktrace-update-stamp
if [ ! -f "$stamp" ] || [ "$(find "$stamp" -mmin +360 2>/dev/null)" ] ||
   ! apt-cache policy | grep -q 'bookworm-backports'; then
	apt-get update -q
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

# Build and run.
apt_install make gcc clang llvm pkg-config libelf-dev libdw-dev zlib1g-dev \
	libzstd-dev libcapstone-dev libjson-c-dev libprotobuf-c-dev \
	protobuf-c-compiler libcmocka-dev libmicrohttpd-dev python3 python3-pytest \
	python3-pytest-xdist \
	python3-yaml procps prometheus \
	ca-certificates
# Tests of scripts/deploy: systemd-analyze verify, setpriv (capability
# sets), readelf (the libraries the image needs).
apt_install systemd util-linux binutils
apt_install -t bookworm-backports libbpf-dev bpftool
# libFuzzer and the sanitizer runtimes for `make fuzz` (only recommended by
# bookworm's clang 14); util-linux's unshare for the pid namespace tests.
apt_install libclang-rt-14-dev util-linux

# Go toolchains for the test programs: 1.19 (bookworm), 1.21-1.23
# (bookworm-backports), 1.24 (trixie), 1.25-1.27 (trixie-backports).
apt_install golang-1.19-go
apt_install -t bookworm-backports golang-1.21-go golang-1.22-go golang-1.23-go
apt_install -t trixie golang-1.24-go
apt_install -t trixie-backports golang-1.25-go golang-1.26-go golang-1.27-go

# leaktrace capture: d3 is embedded into report.html at build time; headless
# Chromium opens that report in the capture tests (screenshot, DOM, console).
apt_install libjs-d3 chromium-headless-shell fonts-dejavu-core

# Real services for the acceptance tests (tests/e2e/test_real_services.py):
# a C key-value store and a C cache (prometheus is installed above).
apt_install redis-server redis-tools memcached
# The other allocators of the malloc-site tests (tests/e2e/test_allocators.py):
# gperftools' tcmalloc, and jemalloc's static archive (redis links it so, prefixed je_).
apt_install libtcmalloc-minimal4 libjemalloc2 libjemalloc-dev
# Separate debug info through debuginfod: libdebuginfod (loaded at run time
# with dlopen, its header at build time), a local debuginfod server for the
# names test, eu-addr2line/eu-readelf to check what reports print.
apt_install libdebuginfod-dev debuginfod elfutils
# JavaScript for the JIT tests (tests/e2e/test_jit.py): Debian's nodejs
# unless a node is already installed.
command -v node >/dev/null 2>&1 || apt_install nodejs

# tracefs for uprobes (needed by libbpf's legacy attach on old kernels).
if [ ! -d /sys/kernel/tracing/events ] && ! mountpoint -q /sys/kernel/tracing; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
fi
echo "setup.sh: dependencies installed"
