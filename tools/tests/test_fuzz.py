"""Mutation testing: a small fuzz run, and the judge's own failure modes."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / 'tools'))

from lab import fuzz  # noqa: E402

OUT = Path(os.environ.get('IOMMU_DMA_OUT', TOP / 'build'))
CHECKER = OUT / 'checker' / 'kbuild-check'
N = int(os.environ.get('IOMMU_DMA_FUZZ_N', '40'))


def checker() -> Path:
    assert CHECKER.exists(), f'{CHECKER}: run `make checker`'
    return CHECKER


def test_generator_is_deterministic_and_varied() -> None:
    a = [fuzz.generate(n, 7) for n in range(60)]
    b = [fuzz.generate(n, 7) for n in range(60)]
    assert [v.text for v in a] == [v.text for v in b]
    assert {v.kind for v in a} == set(fuzz.GENERATORS)
    assert {v.expect for v in a} == {'rewrite', 'untouched', 'report',
                                     'refused'}
    muts = {m.split('-')[0] for v in a for m in v.mutations}
    assert {'param', 'comment', 'fields', 'qualifiers', 'extra',
            'layout'} <= muts
    assert fuzz.generate(3, 8).text != fuzz.generate(3, 7).text


def test_small_fuzz_run_has_no_wrong_rewrite_or_silent_skip(
        tmp_path: Path) -> None:
    outcomes = fuzz.fuzz(N, 1, 20, tmp_path, checker(), 2,
                         log=lambda *a, **k: None)
    assert len(outcomes) == N
    text = fuzz.summarize(outcomes, 1, 0)
    bad = [o for o in outcomes if o.result in ('wrong', 'silent-skip')]
    assert not bad, text
    results = {o.result for o in outcomes}
    assert {'correct', 'reported'} <= results, text
    # Rewritten variants were really rewritten and checked by running them.
    rewritten = [o for o in outcomes if o.why == 'rewritten, same meaning']
    assert len(rewritten) >= N // 4, text


def test_judge_catches_wrong_meaning_and_silent_skip(tmp_path: Path) -> None:
    v = next(fuzz.generate(n, 1) for n in range(100)
             if fuzz.generate(n, 1).expect == 'rewrite'
             and fuzz.generate(n, 1).kind == 'chain')
    root = fuzz.make_tree(tmp_path / 'k', [v])
    # Untouched and unreported: a silent skip.
    assert fuzz.judge(v, root, [], None, {}, tmp_path).result == \
        'silent-skip'
    findings, refusal = fuzz.apply_tree(root, 1)
    assert refusal is None
    built = fuzz.compile_check(checker(), tmp_path / 'out', root)
    assert fuzz.judge(v, root, findings, None, built,
                      tmp_path).result == 'correct'
    # The comparison dropped but no flag given: accepted set is right,
    # the flags are not.
    path = root / v.file
    path.write_text(re.sub(r'\.use_dma_iommu\s+= true,', '',
                           path.read_text()))
    o = fuzz.judge(v, root, findings, None, built, tmp_path)
    assert o.result == 'wrong' and 'probe' in o.why
    # A build failure of the rewritten file is wrong too.
    o = fuzz.judge(v, root, findings, None, {v.file: 'FAIL'}, tmp_path)
    assert o.result == 'wrong' and 'compile check' in o.why


def test_generator_claims_are_checked(tmp_path: Path) -> None:
    v = fuzz.generate(0, 1)
    fuzz.check_generator(v, tmp_path)
    v.accepted = frozenset(set(fuzz.TYPES) - v.accepted)
    try:
        fuzz.check_generator(v, tmp_path)
    except fuzz.ToolError as e:
        assert 'the generator says' in str(e)
    else:
        raise AssertionError('a false claim passed the generator check')
