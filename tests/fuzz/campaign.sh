#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Long fuzz campaign: each target in turn (never two at once: the machine
# is shared), at nice 19, until RUNS executions or SECONDS seconds.
# Usage: tests/fuzz/campaign.sh BUILD_DIR RUNS SECONDS [TARGET...]
set -u
B=$1 RUNS=$2 SECS=$3
shift 3
T=${*:-base buildinfo cfi procmaps elfsym gopclntab}
for t in $T; do
	c=$B/fuzz/corpus/$t
	mkdir -p "$c"
	cp -n tests/fuzz/corpus/$t/* tests/fuzz/regress/$t/* "$c"/ 2>/dev/null
	ml=$(cat tests/fuzz/corpus/$t.max_len 2>/dev/null || echo 65536)
	dict=
	[ -f tests/fuzz/$t.dict ] && dict=-dict=tests/fuzz/$t.dict
	start=$(date +%s)
	LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp nice -n 19 \
		"$B/fuzz/fuzz_$t" -runs="$RUNS" -max_total_time="$SECS" -max_len="$ml" $dict \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$B/fuzz/crash-$t-" "$c" > "$B/fuzz/campaign-$t.log" 2>&1
	rc=$?
	end=$(date +%s)
	echo "$t rc=$rc seconds=$((end - start)) $(grep -E '^stat::number_of_executed_units' "$B/fuzz/campaign-$t.log")" >> "$B/fuzz/campaign.summary"
done
