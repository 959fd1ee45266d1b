# SPDX-License-Identifier: GPL-2.0
#
# iommu-dma: regenerate "iommu: Remove IOMMU_DOMAIN_DMA from drivers" on a
# kernel tree with Coccinelle. `make help` lists the targets.
#
# Variables, as in kbuild:
#   KERNEL=path   kernel tree (default: a scratch copy of linux-fixtures)
#   O=dir         output root (default: build/)
#   J=n           parallel jobs (default: 2)
#   V=1           echo every command
#   PARTS=all|drivers|core   what apply/diff rewrite (default: all)
#   FORCE=1       apply even to files with uncommitted git changes
#   ALLOW_DMA_LOSS=ops,...  apply (and diff) although these drivers would
#                 lose DMA domains (the whole-path proof refuses that otherwise)
#   N=n SEED=s    fuzz: variants (default 50) and seed (default 1)
#   RECORD=1      drift: record expected/<version>.manifest instead
#   KVER=5.10|6.1|6.12|7.2|7.3|7.3~rc7  Debian linux-source for `make linux`
#   DEBVER=v      that package's Debian version (default: the newest)
#   KCACHE=dir    Debian kernel trees, pristine boot builds and ccache,
#                 shared by every clone (default: ~/.cache/iommu-dma)
#   OUT=dir       where `make series` writes the patches (required there)
#   SPLIT=stage|driver|0  series: three bisect-safe stages (default), one
#                 patch per driver and step, or one patch
#   BOOT=1|0      series: boot-check the final tree (default 1, 0 for
#                 the fixtures, which cannot boot)
#   SIGNOFF='Name <email>'  series: Signed-off-by (default: git config)
#   REROLL=n RFC=1 SUBJECT_PREFIX=s  series: [RFC s vN] (default: PATCH, and
#                 the version in OUT plus 1; it moves to OUT/v<N>/)
#   MAIL_TO=addrs MAIL_CC=addrs  series: add To:/Cc: (space separated; not
#                 CC=, kbuild's compiler); MAINTAINERS=0 leaves out
#                 get_maintainer.pl's, so they replace them
#   SUGGESTED_BY='Name <email>' LINK=url  series: trailers on every patch
#   FORCE=1       series: use uncommitted changes to the files it touches
#   PREFIXES=file series: subject prefix table (default:
#                 tools/iommu_dma/prefixes.txt; git history comes first)
#   CHECKPATCH=f  series: checkpatch.pl for a tree without scripts/

# JSON=1 output is stdout alone: no "Entering directory" from make -C
MAKEFLAGS += --no-print-directory
O ?= $(CURDIR)/build
J ?= 2
PARTS ?= all
KVER ?= 6.1
KCACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/iommu-dma
export KCACHE
FIXTURE_COPY := $(O)/linux-fixtures
KERNEL ?= $(FIXTURE_COPY)

ifeq ($(V),1)
Q :=
else
Q := @
endif

PYTHON := /usr/bin/python3
TOOL := PYTHONPATH=$(CURDIR)/tools $(PYTHON) -m iommu_dma
# checks and measurements beside the product: python3 -m lab.boot, ...
LAB := PYTHONPATH=$(CURDIR)/tools $(PYTHON) -m lab
# the slowest tests named at the end of every run
PYTEST := $(PYTHON) -m pytest -q --durations=15
# What each target needs, installed when missing (tools/deps.sh)
DEPS = $(Q)tools/deps.sh

# Variables this Makefile reads; anything else given on the command line
# is a typo (KERNL=) or a kbuild habit that means nothing here (M=).
KNOWN_VARS := KERNEL O J V PARTS FORCE ALLOW_DMA_LOSS N SEED RECORD KVER DEBVER \
	KCACHE OUT SPLIT BOOT SIGNOFF REROLL RFC SUBJECT_PREFIX MAIL_TO \
	MAIL_CC MAINTAINERS SUGGESTED_BY LINK PREFIXES CHECKPATCH JSON ARCH \
	IOMMU MODES FILES REPS PLAIN_REPS PLAIN_CAP BENCH_CHECKER \
	BENCH_SERIES BENCH_BOOT KERNELS B4
given := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin \
	$(v))),$(v)))
ifneq ($(filter M,$(given)),)
$(error M= is kbuild's external-module directory; iommu-dma rewrites a \
whole tree: use KERNEL=path)
endif
unknown := $(filter-out $(KNOWN_VARS) MAKEFLAGS MFLAGS,$(given))
ifneq ($(unknown),)
$(error unknown variable $(firstword $(unknown))=: `make help` lists them)
endif
# make -jN sets J, as kbuild users expect
J_FLAG := $(patsubst -j%,%,$(filter -j%,$(MAKEFLAGS)))
ifneq ($(J_FLAG),)
J := $(J_FLAG)
endif
ifeq ($(V),1)
export IOMMU_DMA_VERBOSE := 1
endif

# The Debian trees the tests run on; `make linux` unpacks them once.
LINUX_6_1 := $(KCACHE)/linux-source-6.1
LINUX_6_12 := $(KCACHE)/linux-source-6.12
LINUX_7_2 := $(KCACHE)/linux-source-7.2
LINUX_7_3 := $(KCACHE)/linux-source-7.3
export IOMMU_DMA_LINUX_6_1 := $(LINUX_6_1)
export IOMMU_DMA_LINUX_6_12 := $(LINUX_6_12)
export IOMMU_DMA_LINUX_7_2 := $(LINUX_7_2)
export IOMMU_DMA_LINUX_7_3 := $(LINUX_7_3)
export IOMMU_DMA_OUT := $(O)
# Per-file spatch results (tools/iommu_dma/spatch.py); IOMMU_DMA_CACHE= : none
export IOMMU_DMA_CACHE ?= $(O)/cache

CHECKER := $(O)/checker/kbuild-check
CHECK_OPTS := -O $(O) -j $(J) $(if $(filter 1,$(V)),-v)

.PHONY: help deps apply revert diff manifest drift report series boot linux fixtures kernel-tree checker check \
	fuzz test test-rules test-tool test-checker clean

help:
	@echo 'Pipeline: tree -> candidates -> rules (cocci/) -> events -> record ->'
	@echo '          whole-path proofs -> write -> build check -> boot check -> series'
	@echo 'Main job:'
	@echo '  apply       rewrite KERNEL in place and print a summary (JSON=1)'
	@echo '  diff        print the -p1 diff for KERNEL, change nothing; refused as apply (JSON=1)'
	@echo '  revert      put back the originals of a tree apply rewrote'
	@echo '  manifest    print the change manifest for KERNEL'
	@echo '  drift       compare the manifest with expected/<version>.manifest (JSON=1)'
	@echo '  report      accepted domain types per iommu_ops, findings, gate proofs (JSON=1)'
	@echo '  check       compile the files the rewrite touched (kbuild-check)'
	@echo '  series      mailable series + cover letter in OUT= from KERNEL (a git tree: its HEAD) (JSON=1)'
	@echo '              SPLIT=stage|driver|0 BOOT= REROLL= RFC=1 SUBJECT_PREFIX= MAIL_TO= MAIL_CC='
	@echo '              MAINTAINERS=0 SIGNOFF= SUGGESTED_BY= LINK= FORCE=1 PREFIXES= B4=1'
	@echo '  boot        build pristine + rewritten KERNEL, boot both under QEMU per IOMMU, compare (ARCH=x86_64|arm64 IOMMU= MODES= JSON=1)'
	@echo 'Setup:'
	@echo '  deps        install every missing Debian package (each target installs its own)'
	@echo '  linux       unpack Debian linux-source-$$(KVER) [DEBVER=], print its path'
	@echo '  fixtures    (re)create the scratch copy of linux-fixtures'
	@echo 'Tests and benchmarks:'
	@echo '  test        every test: rules, tool, fixtures, real trees, checker'
	@echo '  bench       make diff vs its floor, plain spatch --dir, checker, per tree (KERNELS= REPS=)'
	@echo '  fuzz        rewrite N= mutated fixture drivers (SEED=), 0 wrong expected'
	@echo '  clean       remove build/ (the kernel cache stays)'
	@echo 'Variables: KERNEL= O= J= V=1 PARTS=all|drivers|core KVER= DEBVER= KCACHE= JSON=1 FORCE=1'
	@echo '           ALLOW_DMA_LOSS=ops,... RECORD=1 SPLIT= BOOT= ARCH= N= SEED= BENCH_BOOT=1'

# Installs only what is missing, per target; quiet when all is there.
deps:
	$(DEPS) rewrite test check boot series

# The default KERNEL: a copy, so the committed fixtures are never touched.
$(FIXTURE_COPY):
	$(Q)mkdir -p $(dir $@)
	$(Q)cp -r linux-fixtures $@

fixtures:
	$(Q)rm -rf $(FIXTURE_COPY)
	$(Q)mkdir -p $(dir $(FIXTURE_COPY))
	$(Q)cp -r linux-fixtures $(FIXTURE_COPY)
	@echo $(FIXTURE_COPY)

# Only the default KERNEL is created on demand. Read-only targets (diff,
# manifest, drift, report) do not run apt: a missing spatch is one line
# from the tool that says to run `make deps`.
kernel-tree: $(if $(filter $(FIXTURE_COPY),$(KERNEL)),$(FIXTURE_COPY))

apply: kernel-tree
	$(DEPS) rewrite
	$(Q)$(TOOL) apply --parts $(PARTS) -j $(J) $(if $(filter 1,$(FORCE)),--force) \
		$(if $(filter 1,$(JSON)),--json) \
		$(if $(ALLOW_DMA_LOSS),--allow-dma-loss $(ALLOW_DMA_LOSS)) "$(KERNEL)"

diff: kernel-tree
	$(DEPS) rewrite
	$(Q)$(TOOL) diff --parts $(PARTS) -j $(J) $(if $(filter 1,$(JSON)),--json) \
		$(if $(ALLOW_DMA_LOSS),--allow-dma-loss $(ALLOW_DMA_LOSS)) "$(KERNEL)"

# Put back what apply replaced (from KERNEL/.iommu-dma/orig/), journaled.
revert:
	$(Q)$(TOOL) revert "$(KERNEL)"

manifest: kernel-tree
	$(Q)$(TOOL) manifest --parts $(PARTS) -j $(J) "$(KERNEL)"

drift: kernel-tree
	$(Q)$(TOOL) drift --parts $(PARTS) -j $(J) $(if $(filter 1,$(RECORD)),--record) \
		$(if $(filter 1,$(JSON)),--json) "$(KERNEL)"

report: kernel-tree
	$(Q)$(TOOL) report --parts $(PARTS) -j $(J) $(if $(filter 1,$(JSON)),--json) "$(KERNEL)"

# A mailable series from the pristine KERNEL (only read: a git tree's HEAD
# is the base): every step build-checked, checkpatch --strict and kernel-doc
# clean, `git am` equal to apply, the final tree boot-checked. Variables that
# reach kbuild or git are passed as options, never through the environment.
SPLIT ?= stage
BOOT ?= $(if $(filter $(FIXTURE_COPY),$(KERNEL)),0,1)
MAINTAINERS ?= 1
export SIGNOFF SUGGESTED_BY LINK SUBJECT_PREFIX
series: checker kernel-tree
	$(DEPS) rewrite series
	$(Q)test -n "$(OUT)" || { echo 'make series: set OUT=dir' >&2; exit 2; }
	$(Q)$(TOOL) series -j $(J) --split $(SPLIT) --checker $(CHECKER) \
		$(if $(filter 1,$(BOOT)),--boot) \
		-o $(OUT) $(if $(SIGNOFF),--signoff "$$SIGNOFF") \
		$(if $(PREFIXES),--prefixes $(PREFIXES)) \
		$(if $(CHECKPATCH),--checkpatch $(CHECKPATCH)) \
		$(if $(REROLL),--reroll $(REROLL)) $(if $(filter 1,$(RFC)),--rfc) \
		$(if $(SUBJECT_PREFIX),--subject-prefix "$$SUBJECT_PREFIX") \
		$(foreach a,$(MAIL_TO),--to $(a)) $(foreach a,$(MAIL_CC),--cc $(a)) \
		$(if $(filter 0,$(MAINTAINERS)),--no-maintainers) \
		$(if $(SUGGESTED_BY),--suggested-by "$$SUGGESTED_BY") \
		$(if $(LINK),--link "$$LINK") $(if $(filter 1,$(FORCE)),--force) \
		$(if $(filter 1,$(B4)),--b4) $(if $(filter 1,$(JSON)),--json) \
		"$(KERNEL)"

# Run-time check: build the pristine KERNEL and its rewrite (tinyconfig +
# tools/boot/<arch>.config) in $(KCACHE)/boot/<series>-<arch>-<hash>/,
# boot both under QEMU behind every IOMMU it emulates (IOMMU=intel,amd,virtio
# on x86_64, smmuv3,virtio on arm64) in every mode
# (MODES=lazy,strict,passthrough) and compare. KERNEL is never written; the fixtures cannot boot, so the
# default is the 6.1 tree. ARCH goes to kbuild only on its command line.
BOOT_KERNEL = $(if $(filter $(FIXTURE_COPY),$(KERNEL)),$(LINUX_6_1),$(KERNEL))
boot:
	$(DEPS) rewrite check boot
	$(Q)$(if $(filter $(FIXTURE_COPY),$(KERNEL)),tools/linux-tree.sh 6.1 $(KCACHE) >/dev/null)
	$(Q)$(LAB).boot --arch $(or $(ARCH),x86_64) -j $(J) \
		$(if $(filter 1,$(JSON)),--json) $(if $(IOMMU),--iommu $(IOMMU)) \
		$(if $(MODES),--modes $(MODES)) "$(BOOT_KERNEL)"

# Debian's linux-source-$(KVER) unpacked once into $(KCACHE).
linux:
	$(Q)tools/linux-tree.sh $(KVER) $(KCACHE) $(DEBVER)

checker:
	$(DEPS) check
	$(Q)$(MAKE) -s -C tools/checker O=$(O)

# FILES= checks these instead of the files in $(KERNEL)/.iommu-dma/manifest
check: checker kernel-tree
	$(Q)$(CHECKER) $(CHECK_OPTS) "$(KERNEL)" $(FILES)

# `make diff` against its floor (the candidate grep piped into one spatch
# run of a trivial rule), plain `spatch --dir` and the checker, per tree in
# one run: KERNELS= (default: the Debian 6.1, 6.12 and 7.3 trees that are
# unpacked; KERNEL= one tree instead); median of REPS= runs (PLAIN_REPS= for
# the slow plain spatch, each rule stopped after PLAIN_CAP= s;
# BENCH_CHECKER=0 skips the checker; BENCH_SERIES=1 adds `series` per
# split; BENCH_BOOT=1 the boot check cold and cached, then the stage
# series with its boot check cold and re-rolled, about 12 min per tree);
# writes bench.json.
.PHONY: bench
REPS ?= 3
PLAIN_REPS ?= 1
PLAIN_CAP ?= 120
BENCH_CHECKER ?= 1
BENCH_SERIES ?= 0
BENCH_BOOT ?= 0
KERNELS ?= $(if $(filter $(FIXTURE_COPY),$(KERNEL)),$(foreach t,$(LINUX_6_1) \
	$(LINUX_6_12) $(LINUX_7_3),$(if $(wildcard $(t)/Makefile),$(t))),$(KERNEL))
bench: checker
	$(Q)test -n "$(strip $(KERNELS))" || { echo 'make bench: no tree: \
run make linux KVER=6.1 (6.12, 7.3) or set KERNELS=' >&2; exit 2; }
	$(Q)$(LAB).bench \
		--reps $(REPS) --plain-reps $(PLAIN_REPS) -j $(J) \
		--plain-cap $(PLAIN_CAP) \
		$(if $(filter 1,$(BENCH_CHECKER)),--checker $(CHECKER)) \
		$(if $(filter 1,$(BENCH_SERIES)),--series) \
		$(if $(filter 1,$(BENCH_BOOT)),--boot) \
		--json $(O)/bench.json --work $(O)/bench $(KERNELS)

# Mutation testing; `make test` runs a small N through tools/tests/test_fuzz.py.
N ?= 50
SEED ?= 1
fuzz: checker
	$(Q)$(LAB).fuzz -n $(N) --seed $(SEED) -O $(O) -j $(J)

test: test-rules test-tool test-checker

test-rules:
	$(DEPS) rewrite test
	$(Q)$(PYTEST) expected/rules

test-tool: checker
	$(DEPS) rewrite test boot series
	$(Q)tools/linux-tree.sh 6.1 $(KCACHE) >/dev/null
	$(Q)tools/linux-tree.sh 6.12 $(KCACHE) >/dev/null
	$(Q)tools/linux-tree.sh 7.2 $(KCACHE) >/dev/null
	$(Q)tools/linux-tree.sh 7.3 $(KCACHE) >/dev/null
	$(Q)$(PYTEST) tools/tests

test-checker: checker
	$(Q)tools/linux-tree.sh 6.1 $(KCACHE) >/dev/null
	$(Q)tools/linux-tree.sh 6.12 $(KCACHE) >/dev/null
	$(Q)$(MAKE) -s -C tools/checker O=$(O) unit
	$(Q)KCHECK_OUT=$(O) $(PYTEST) tools/checker/tests

clean:
	$(Q)rm -rf $(O)
