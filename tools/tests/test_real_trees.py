"""Debian's 6.1 and 6.12 trees: seed comparison, drift, build check.

The trees come from `make linux KVER=...` (see toolrun.linux_tree); the
rewrite runs on a cp -al copy under build/test-trees, never on the cache.
"""

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from toolrun import CHECKER, EXPECTED, SEED, TOP, linked_copy, linux_tree, \
    tool

WORK = TOP / 'build' / 'test-trees'

# Where 6.1's output differs from the seed on purpose (see README.md).
SEED_DIFFERENCES = {
    # intel accepted DMA_FQ: without the flag it would lose flush queues.
    'drivers/iommu/intel/iommu.c': Counter({'+.allow_dma_fq=true,': 1}),
}
# spatch 1.1.1 cannot print the seed's else-if chain cleanly: the same
# logic, written as nested ifs (compared by meaning in test_core_61).
SEED_REWRITTEN = {'drivers/iommu/iommu.c'}


def changed_lines(diff: str) -> dict[str, Counter]:
    """Per file, the removed and added lines with all whitespace dropped."""
    files: dict[str, Counter] = {}
    current = None
    for line in diff.splitlines():
        m = re.match(r'(?:diff --git a/\S+ b/|\+\+\+ b/)(\S+)', line)
        if m:
            current = files.setdefault(m.group(1), Counter())
            continue
        if line.startswith(('---', '+++')) or current is None:
            continue
        if line[:1] in '+-':
            text = re.sub(r'\s+', '', line[1:])
            if text:
                current[line[0] + text] += 1
    return files


@pytest.fixture(scope='module')
def diff_61() -> str:
    return tool('diff', str(linux_tree('6.1'))).stdout


def test_61_matches_seed_hunk_by_hunk(diff_61: str) -> None:
    seed_text = SEED.read_text()
    patch = seed_text[seed_text.index('diff --git'):seed_text.rindex('\n--\n')]
    seed = changed_lines(patch)
    ours = changed_lines(diff_61)
    assert set(ours) == set(seed)
    for path in sorted(seed):
        if path in SEED_REWRITTEN:
            continue
        want = seed[path] + SEED_DIFFERENCES.get(path, Counter())
        assert ours[path] == want, path


def test_61_core_keeps_the_seed_logic(diff_61: str) -> None:
    added = changed_lines(diff_61)['drivers/iommu/iommu.c']
    for line in ('+if(!bus->iommu_ops->use_dma_iommu)',
                 '+dom=__iommu_domain_alloc(bus,IOMMU_DOMAIN_UNMANAGED);',
                 '+dom=__iommu_domain_alloc(bus,IOMMU_DOMAIN_IDENTITY);',
                 '+if(type==IOMMU_DOMAIN_DMA_FQ&&!bus->iommu_ops->'
                 'allow_dma_fq){',
                 '+type=IOMMU_DOMAIN_DMA;', '+dom->type=type;',
                 '-if(!dom&&type!=IOMMU_DOMAIN_DMA){'):
        assert added[line] == 1, line


@pytest.mark.parametrize('version', ['6.1', '6.12'])
def test_apply_drift_and_build(version: str) -> None:
    tree = WORK / f'linux-{version}'
    shutil.rmtree(tree, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    linked_copy(linux_tree(version), tree)
    out = tool('apply', '-j', '2', str(tree)).stdout
    assert 'needs a human' in out
    drift = tool('drift', str(tree), check=False)
    # After apply the tree is rewritten: drift is checked on the pristine
    # cache tree, which the next line does without writing to it.
    assert drift.returncode in (0, 1)
    assert 'no drift' in tool('drift', str(linux_tree(version))).stdout
    manifest = (tree / '.iommu-dma' / 'manifest').read_text()
    assert manifest == \
        (EXPECTED / f'linux-{version}.manifest').read_text()
    assert 'nothing to change' in tool('apply', str(tree)).stdout
    assert CHECKER.exists(), f'{CHECKER}: run `make checker`'
    res = subprocess.run([str(CHECKER), '-O', str(TOP / 'build'), '-j', '2',
                          str(tree)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]


def test_61_needs_a_human() -> None:
    manifest = (EXPECTED / 'linux-6.1.manifest').read_text()
    for line in (
            'drivers/iommu/amd/iommu.c amd_iommu_domain_alloc ! implicit-dma',
            'drivers/iommu/amd/iommu.c amd_iommu_domain_alloc ! type-helper '
            'protection_domain_alloc',
            'drivers/iommu/intel/iommu.c intel_iommu_domain_alloc ! '
            'type-helper first_level_by_default'):
        assert line in manifest.splitlines()


def test_612_port() -> None:
    manifest = (EXPECTED / 'linux-6.12.manifest').read_text().splitlines()
    assert 'drivers/iommu/iommu.c __iommu_domain_alloc ~ ' \
        'domain-alloc-legacy' in manifest
    assert not any('allow_dma_fq' in line for line in manifest)
    assert 'drivers/iommu/amd/iommu.c amd_iommu_domain_alloc ! ' \
        'implicit-dma' in manifest
