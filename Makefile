# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# leaktrace: out-of-tree build in $(OUTPUT). V=1 for verbose, DEBUG=1 for -O0.
OUTPUT ?= build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
PYTHON ?= /usr/bin/python3
PROTOC_C ?= protoc-c

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_DIR := vmlinux/$(ARCH)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ifeq ($(DEBUG),1)
OPT := -O0
else
OPT := -O2
endif

CFLAGS := -g $(OPT) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-missing-field-initializers
INCLUDES := -I$(OUTPUT) -Ibpf -Iuser
LIBS := -l:libbpf.a -lelf -ldw -lz -lzstd -lcapstone -ljson-c -lprotobuf-c -lstdc++ -lmicrohttpd -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(VMLINUX_DIR) -Ibpf -I$(OUTPUT)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c user/*/*.c)
# pprof's profile.proto, compiled by protoc-c into the build dir.
PROTO_GEN := $(OUTPUT)/profile.pb-c.c $(OUTPUT)/profile.pb-c.h
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS)) \
	$(OUTPUT)/user/profile.pb-c.o
# leaktrace capture's report.html embeds d3 (Debian's libjs-d3) and its own
# script and style, assembled in by .incbin: the page needs nothing else.
D3_JS ?= /usr/share/javascript/d3/d3.min.js
CAPTURE_ASSETS := $(D3_JS) user/capture/report.js user/capture/report.css
USER_OBJS += $(OUTPUT)/user/capture/assets.o
LIB_OBJS := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
C_PROG_SRCS := $(wildcard tests/progs/*.c)
C_PROGS := $(patsubst tests/progs/%.c,$(OUTPUT)/progs/%,$(C_PROG_SRCS))
CXX_PROG_SRCS := $(wildcard tests/progs/*.cc)
CXX_PROGS := $(patsubst tests/progs/%.cc,$(OUTPUT)/progs/%,$(CXX_PROG_SRCS))
# Libraries test programs dlopen: tests/progs/lib/<name>.c -> lib<name>.so
LIB_PROG_SRCS := $(wildcard tests/progs/lib/*.c)
LIB_PROGS := $(patsubst tests/progs/lib/%.c,$(OUTPUT)/progs/lib%.so,$(LIB_PROG_SRCS))

# Go test programs: tests/progs/go/<name>/main.go, built into
# $(OUTPUT)/progs/go1.NN/<name> (and <name>.stripped, linked with -s -w).
# Every (version, program, stripped) has a rule; `make progs` builds only
# those the tests run, listed here (the oldest, middle and newest Go are
# conftest.py's oldest_go(), middle_go() (1.22 when installed) and
# newest_go()). Another build: its own target, e.g.
# `make build/progs/go1.21/cache.stripped`.
GO_DIRS := $(sort $(wildcard /usr/lib/go-1.*))
GO_VERSIONS := $(notdir $(GO_DIRS:/usr/lib/go-%=go%))
GO_OLDEST := $(firstword $(GO_VERSIONS))
GO_NEWEST := $(lastword $(GO_VERSIONS))
GO_MIDDLE := $(if $(filter go1.22,$(GO_VERSIONS)),go1.22,$(word \
	$(shell echo $$(( $(words $(GO_VERSIONS)) / 2 + 1 ))),$(GO_VERSIONS)))
GO_PROG_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/progs/go/*/main.go))))
# On every Go: test_goroutines (chansend churn heapgrow preleak redial
# slowleak), test_safety (safety), test_gopclntab (symtest), test_goruntime
# (parked), test_symbolize (chansend), test_goheap (heapprof).
GO_USED_ALL := chansend churn heapgrow heapprof parked preleak redial safety slowleak \
	symtest
# ... and stripped on every Go: test_gopclntab, test_goruntime, test_symbolize.
# test_disasm and test_robust (churn).
GO_USED_ALL_STRIPPED := chansend churn heapprof parked symtest
# Oldest Go: test_mem and test_schema (flat), test_native (cgoleak),
# test_analysis (lazyfree), test_gocost (bodyleak).
GO_USED_OLDEST := bodyleak cgoleak flat heapleak heapnoprof lazyfree
# Middle Go: test_analysis (cache, pool; slowleak is in the list above);
# stripped: test_mem (heapgrow), test_goheap (heapleak heapnoprof).
GO_USED_MIDDLE := cache pool
GO_USED_MIDDLE_STRIPPED := heapgrow heapleak heapnoprof
# Newest Go: test_mem (flat), test_native (cgoleak), test_capture (demo),
# test_gocost (bodyleak churnleak gcleak wave), test_robust (execer), test_entries
# (pool), test_goheap (heapleak
# heapnoprof); stripped: the
# test_goroutines and test_safety programs, test_schema (flat),
# test_analysis (lazyfree), test_gocost (bodyleak).
GO_USED_NEWEST := bodyleak cgoleak churnleak demo execer flat gcleak heapleak heapnoprof \
	pool wave
GO_USED_NEWEST_STRIPPED := bodyleak chansend churn flat heapgrow lazyfree preleak \
	redial safety slowleak
# Go 1.21 (no NOP before the probed call: a trapping probe): test_gocost.
GO_USED_121 := churnleak
go_used = $(foreach p,$(2),$(OUTPUT)/progs/$(1)/$(p)$(3))
GO_PROGS := $(sort \
	$(foreach v,$(GO_VERSIONS),$(call go_used,$(v),$(GO_USED_ALL),) \
		$(call go_used,$(v),$(GO_USED_ALL_STRIPPED),.stripped)) \
	$(call go_used,$(GO_OLDEST),$(GO_USED_OLDEST),) \
	$(call go_used,$(GO_MIDDLE),$(GO_USED_MIDDLE),) \
	$(call go_used,$(GO_MIDDLE),$(GO_USED_MIDDLE_STRIPPED),.stripped) \
	$(call go_used,$(GO_NEWEST),$(GO_USED_NEWEST),) \
	$(call go_used,$(GO_NEWEST),$(GO_USED_NEWEST_STRIPPED),.stripped) \
	$(call go_used,$(filter go1.21,$(GO_VERSIONS)),$(GO_USED_121),))
GO_ENV = GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false GO111MODULE=off \
	GOCACHE=$(abspath $(OUTPUT))/gocache GOPATH=$(abspath $(OUTPUT))/gopath

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all clean test unit e2e progs go-progs bench bench-smoke bench-services vmlinux setup demo \
	fuzz fuzz-build fuzz-smoke

all: $(OUTPUT)/leaktrace

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests $(OUTPUT)/progs:
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user $(SKELS) $(PROTO_GEN)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(OUTPUT)/user/capture/assets.o: user/capture/assets.S $(CAPTURE_ASSETS) | $(OUTPUT)/user
	$(call msg,AS,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -c -DD3_JS='"$(D3_JS)"' -DREPORT_JS='"user/capture/report.js"' \
		-DREPORT_CSS='"user/capture/report.css"' $< -o $@

$(D3_JS):
	@echo "missing $@: install Debian's libjs-d3 (scripts/setup.sh)" >&2; exit 1

$(PROTO_GEN) &: user/report/profile.proto | $(OUTPUT)
	$(call msg,PROTOC,$@)
	$(Q)$(PROTOC_C) --proto_path=user/report --c_out=$(OUTPUT) $<

$(OUTPUT)/user/profile.pb-c.o: $(OUTPUT)/profile.pb-c.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(OUTPUT)/leaktrace: $(USER_OBJS)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) $(INCLUDES) -MMD -MP $< $(LIB_OBJS) $(LIBS) -lcmocka -o $@

# Test programs are built the way their users build them: Debian's default
# flags for C (-O2, no frame pointers forced), so the tool sees real code.
$(OUTPUT)/progs/%: tests/progs/%.c tests/progs/progs.h | $(OUTPUT)/progs
	$(call msg,PROG,$@)
	$(Q)$(CC) -g -O2 -Wall -o $@ $< -lpthread

$(OUTPUT)/progs/lib%.so: tests/progs/lib/%.c | $(OUTPUT)/progs
	$(call msg,LIB,$@)
	$(Q)$(CC) -g -O2 -Wall -fPIC -shared -o $@ $<

$(OUTPUT)/progs/%: tests/progs/%.cc tests/progs/progs.h | $(OUTPUT)/progs
	$(call msg,PROG,$@)
	$(Q)g++ -g -O2 -Wall -o $@ $< -lpthread

define go_prog_rule
$(OUTPUT)/progs/$(1)/$(2): $(wildcard tests/progs/go/$(2)/*.go)
	$$(call msg,GO,$$@)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)cd tests/progs/go/$(2) && $(GO_ENV) /usr/lib/go-$(1:go%=%)/bin/go build -o $(abspath $(OUTPUT))/progs/$(1)/$(2) .
$(OUTPUT)/progs/$(1)/$(2).stripped: $(wildcard tests/progs/go/$(2)/*.go)
	$$(call msg,GO,$$@)
	$(Q)mkdir -p $$(dir $$@)
	$(Q)cd tests/progs/go/$(2) && $(GO_ENV) /usr/lib/go-$(1:go%=%)/bin/go build -ldflags='-s -w' -o $(abspath $(OUTPUT))/progs/$(1)/$(2).stripped .
endef
$(foreach v,$(GO_VERSIONS),$(foreach p,$(GO_PROG_NAMES),$(eval $(call go_prog_rule,$(v),$(p)))))

go-progs: $(GO_PROGS)
progs: $(C_PROGS) $(CXX_PROGS) $(LIB_PROGS) go-progs

# Two at a time, the slowest first (test_bpf_load verifies every BPF
# program variant: half the unit time alone); each one's output is printed
# whole when it ends, and every one runs even when one fails.
UNIT_JOBS ?= 2
UNIT_FIRST := $(filter %/test_bpf_load %/test_goruntime,$(UNIT_BINS))
unit: $(UNIT_BINS) progs
	$(Q)printf '%s\n' $(UNIT_FIRST) $(filter-out $(UNIT_FIRST),$(UNIT_BINS)) | \
		LEAKTRACE_BUILD=$(abspath $(OUTPUT)) xargs -P $(UNIT_JOBS) -I{} sh -c \
		'{} > {}.log 2>&1; rc=$$?; echo "== {}"; cat {}.log; exit $$rc'

# The e2e tests mostly sleep while they trace: they run E2E_JOBS at a time
# (pytest-xdist --dist loadgroup: tests that read one trace of their file
# are one unit, every other test is a unit of its own, handed out longest
# first: tests/e2e/conftest.py), then the tests that need the host to
# themselves (marked serial: timing-judged verdicts and probe costs) run
# alone. E2E_JOBS=1, or no xdist, runs them all in one pass. Every run ends
# with its 30 slowest tests and the seconds per test file.
E2E_JOBS ?= 6
E2E_RUN = LEAKTRACE_BUILD=$(abspath $(OUTPUT)) $(PYTHON) -m pytest -q --durations=30
e2e: all progs
	$(Q)if [ "$(E2E_JOBS)" -gt 1 ] && $(PYTHON) -c 'import xdist' 2>/dev/null; then \
		rc=0; \
		$(E2E_RUN) -n $(E2E_JOBS) --dist loadgroup -m 'not serial' tests/e2e || rc=$$?; \
		$(E2E_RUN) -m serial tests/e2e || rc=$$?; \
		exit $$rc; \
	else \
		$(E2E_RUN) tests/e2e; \
	fi

test: all progs
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory e2e
	$(Q)$(MAKE) --no-print-directory bench-smoke

# libFuzzer targets (tests/fuzz/fuzz_*.c) over the parsers of untrusted
# input, built with clang, ASan and UBSan from the same sources into
# $(OUTPUT)/fuzz. `make fuzz` runs each for FUZZ_SECONDS at nice 19, one at
# a time (the machine is shared); fuzz-smoke (in make test) replays the
# seeds and regression inputs and fuzzes each a few seconds. Crashers go to
# $(OUTPUT)/fuzz/crash-<target>-*; a fixed one becomes
# tests/fuzz/regress/<target>/<name>.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
# The smoke run is deterministic: a fixed seed and number of inputs, so
# make test cannot pass or fail by what a timed run happened to reach.
FUZZ_SMOKE_RUNS ?= 3000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
	-Wno-missing-field-initializers $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
# C sources are rebuilt with the sanitizers; the capture page's data object
# (no code) is linked as built.
FUZZ_LIB_OBJS := $(patsubst $(OUTPUT)/user/%.o,$(OUTPUT)/fuzz/obj/%.o,\
	$(filter-out $(OUTPUT)/user/capture/assets.o,$(LIB_OBJS))) \
	$(OUTPUT)/user/capture/assets.o

$(OUTPUT)/fuzz/obj/%.o: user/%.c | $(SKELS) $(PROTO_GEN)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(INCLUDES) -MMD -MP -c $< -o $@

$(OUTPUT)/fuzz/obj/profile.pb-c.o: $(OUTPUT)/profile.pb-c.c
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(INCLUDES) -c $< -o $@

$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_elf.h $(FUZZ_LIB_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(INCLUDES) -Itests/fuzz -fsanitize=fuzzer $< \
		$(FUZZ_LIB_OBJS) $(LIBS) -o $@

.SECONDARY: $(FUZZ_LIB_OBJS)
fuzz-build: $(FUZZ_BINS)

# One target: corpus in $(OUTPUT)/fuzz/corpus/<name>, seeded from the
# committed seeds and regression inputs; $(2): how long (libFuzzer flags).
define fuzz_run
	mkdir -p $(OUTPUT)/fuzz/corpus/$(1) && \
	cp -n tests/fuzz/corpus/$(1)/* tests/fuzz/regress/$(1)/* $(OUTPUT)/fuzz/corpus/$(1)/ 2>/dev/null; \
	LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp nice -n 19 $(OUTPUT)/fuzz/fuzz_$(1) $(2) -max_len=$$(cat tests/fuzz/corpus/$(1).max_len 2>/dev/null || echo 65536) \
		$$(test -f tests/fuzz/$(1).dict && echo -dict=tests/fuzz/$(1).dict) \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$(OUTPUT)/fuzz/crash-$(1)- $(OUTPUT)/fuzz/corpus/$(1)
endef

fuzz: fuzz-build
	$(Q)set -e; for t in $(FUZZ_NAMES); do echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(call fuzz_run,$$t,-max_total_time=$(FUZZ_SECONDS)); done

fuzz-smoke: fuzz-build
	$(Q)set -e; for t in $(FUZZ_NAMES); do echo "== fuzz-smoke $$t"; \
		if ls tests/fuzz/regress/$$t/* >/dev/null 2>&1; then \
			LSAN_OPTIONS=suppressions=tests/fuzz/lsan.supp $(OUTPUT)/fuzz/fuzz_$$t tests/fuzz/regress/$$t/* >/dev/null 2>&1 || \
			{ echo "regression input of $$t fails"; exit 1; }; fi; \
		log=$(OUTPUT)/fuzz/smoke-$$t.log; \
		rm -rf $(OUTPUT)/fuzz/corpus/$$t; \
		( $(call fuzz_run,$$t,-seed=1 -runs=$(FUZZ_SMOKE_RUNS)) ) >$$log 2>&1 || \
			{ tail -n 30 $$log; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' $$log | tail -n 1; done

# Overhead benchmarks (slow, noisy: not part of make test); results in
# tests/bench/RESULTS.md and RESULTS-services.md (redis, memcached,
# heaptrack). BENCH_RUNS sets the interleaved runs per mode.
BENCH_RUNS ?= 5
bench: all
	$(Q)scripts/setup-bench.sh >/dev/null
	$(Q)LEAKTRACE_BUILD=$(abspath $(OUTPUT)) $(PYTHON) tests/bench/bench.py --runs $(BENCH_RUNS)
	$(Q)LEAKTRACE_BUILD=$(abspath $(OUTPUT)) $(PYTHON) tests/bench/services.py --runs $(BENCH_RUNS)

bench-services: all
	$(Q)LEAKTRACE_BUILD=$(abspath $(OUTPUT)) $(PYTHON) tests/bench/services.py --runs $(BENCH_RUNS)

# One short pass of the cheap workloads so the benchmark cannot rot.
bench-smoke: all
	$(Q)LEAKTRACE_BUILD=$(abspath $(OUTPUT)) $(PYTHON) tests/bench/bench.py --smoke

setup:
	$(Q)scripts/setup.sh

demo: all progs
	$(Q)scripts/demo.sh

vmlinux:
	$(Q)scripts/gen-vmlinux.sh

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*.d $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d \
	$(OUTPUT)/fuzz/obj/*/*.d $(OUTPUT)/fuzz/obj/*.d)
