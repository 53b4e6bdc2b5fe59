#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Regenerates the committed vmlinux/<arch>/vmlinux.h from a kernel's BTF.
# Not part of the normal build: the header is committed so that builds do not
# depend on the build host's kernel. Usage: scripts/gen-vmlinux.sh [BTF-FILE]
set -euo pipefail
btf=${1:-/sys/kernel/btf/vmlinux}
case "$(uname -m)" in
x86_64) arch=x86 ;;
aarch64) arch=arm64 ;;
*) echo "gen-vmlinux.sh: unsupported arch $(uname -m)" >&2; exit 1 ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/vmlinux/$arch"
bpftool btf dump file "$btf" format c > "$top/vmlinux/$arch/vmlinux.h.tmp"
mv "$top/vmlinux/$arch/vmlinux.h.tmp" "$top/vmlinux/$arch/vmlinux.h"
echo "wrote vmlinux/$arch/vmlinux.h from $btf"
