#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# safety_nets.sh: remove each safety net in turn, in a scratch copy of
# HEAD, and run the test that guards it: every one must fail. A net whose
# test still passes is not tested. Not part of `make test` (about 10 min);
# run it by hand after touching a net: tools/tests/safety_nets.sh
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# net | file | python statement that removes it | test that must fail
nets='
check_consistency|tools/iommu_dma/rewrite.py|s=s.replace("def check_consistency(record: Record) -> None:\n", "def check_consistency(record: Record) -> None:\n    return\n",1)|tools/tests/test_safety_nets.py
hold_back_partial|tools/iommu_dma/rewrite.py|s=s.replace("    held = hold_back_partial(rewrite)","    held = []",1)|tools/tests/test_report.py::test_wrong_rule_gives_counterexample_and_refused_apply
refuse|tools/iommu_dma/report.py|s=s.replace("list[str] = ()) -> None:\n","list[str] = ()) -> None:\n    return\n",1)|tools/tests/test_report.py::test_wrong_rule_gives_counterexample_and_refused_apply
journal_recover|tools/iommu_dma/journal.py|s=s.replace("        \"\"\"Finish or undo an interrupted apply; say what was done.\"\"\"\n","        \"\"\"Finish or undo an interrupted apply; say what was done.\"\"\"\n        return None\n",1)|tools/tests/test_reliability.py::test_sigkill_mid_apply_is_finished_by_next_run
unparsed|tools/iommu_dma/parsecheck.py|s=s.replace("    got_ops = {","    return []\n    got_ops = {",1)|tools/tests/test_reliability.py::test_refuses_unparsed_domain_alloc
unwritten_change|tools/iommu_dma/rewrite.py|s=s.replace("    if unwritten:","    if False:",1)|tools/tests/test_runtime.py
partly_rewritten_core|tools/iommu_dma/rewrite.py|s=s.replace("    if header != core:","    if False:",1)|tools/tests/test_fixtures.py::test_core_restored_after_apply_is_refused
before_write|tools/iommu_dma/refusals.py|s=s.replace("    scanned as candidates); see the module doc.\"\"\"\n","    scanned as candidates); see the module doc.\"\"\"\n    return\n",1)|tools/tests/test_reliability.py::test_refuses_uncommitted_changes_unless_forced
series_dirty_target|tools/iommu_dma/series/workdir.py|s=s.replace("    if dirty and not force:","    if False:",1)|tools/tests/test_series.py::test_dirty_target_refused_or_forced
series_stale_runs|tools/iommu_dma/series/workdir.py|s=s.replace("            run.clear_stale()\n","",1)|tools/tests/test_series.py::test_killed_or_interrupted_run
series_git_am|tools/iommu_dma/series/checks.py|s=s.replace("            if (repo / rel).read_bytes() != data:","            if False:",1)|tools/tests/test_safety_nets.py::test_git_am_check_compares_with_apply
'

copy() {
	rm -rf "$tmp/repo"
	mkdir "$tmp/repo"
	git -C "$top" archive HEAD | tar -x -C "$tmp/repo"
}

run_tests() {
	(cd "$tmp/repo" && IOMMU_DMA_OUT=${IOMMU_DMA_OUT:-$top/build} \
	    /usr/bin/python3 -m pytest -q -x -p no:cacheprovider \
	    --basetemp="$tmp/pt" "$@" >"$tmp/log" 2>&1)
}

# First every test on the unchanged copy: they must pass, or a failure
# below would prove nothing.
copy
tests=$(printf '%s\n' "$nets" | cut -d'|' -f4 | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
if ! run_tests $tests; then
	echo "safety_nets: the tests fail on HEAD itself:" >&2
	tail -n 20 "$tmp/log" >&2
	exit 1
fi

printf '%s\n' "$nets" | while IFS='|' read -r net file edit test; do
	[ -n "$net" ] || continue
	copy
	/usr/bin/python3 - "$tmp/repo/$file" "$edit" <<'PY'
import sys
path, edit = sys.argv[1], sys.argv[2]
s = open(path).read()
before = s
exec(edit)
if s == before:
	sys.exit(f'{path}: the edit did not apply')
open(path, 'w').write(s)
PY
	if run_tests "$test"; then
		echo "NOT TESTED  $net: $test still passes without it"
		touch "$tmp/failed"
	else
		echo "tested      $net: $test fails without it"
	fi
done
[ ! -e "$tmp/failed" ]
