#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Extra packages for make bench only (not needed to build or test):
# wrk drives the HTTP workload, bpftrace is the alternative measured;
# memslap (libmemcached-tools) loads memcached, heaptrack is measured on redis
# beside leaktrace (tests/bench/services.py).
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "setup-bench.sh: run as root" >&2; exit 2; }
bash "$(dirname "$0")/setup.sh"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk bpftrace \
	heaptrack libmemcached-tools
