#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Sets everything up, builds leaktrace and the bundled leaky demo service,
# then traces the demo for ~15 s and prints leaktrace's report.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/setup.sh >/tmp/leaktrace-setup.log 2>&1 || {
	tail -20 /tmp/leaktrace-setup.log >&2
	exit 1
}
go=$(ls -d /usr/lib/go-1.* | sort -V | tail -n1)
ver=go${go##*/go-}
make -s -j2 all "build/progs/$ver/demo"
"build/progs/$ver/demo" >/tmp/leaktrace-demo.out 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
sleep 1
echo "demo service: pid $demo ($ver); tracing it for 15 s..."
build/leaktrace -p "$demo" -d 15 -i 3
