"""Debian's 6.1 and 6.12 trees: seed comparison, drift, build check.

The trees come from `make linux KVER=...` (see toolrun.linux_tree); the
rewrite runs on a cp -al copy under build/test-trees, never on the cache.
"""

import json
import re
import shutil
import subprocess
from collections import Counter

import pytest

from toolrun import CHECKER, EXPECTED, SEED, TOP, linked_copy, linux_tree, \
    tool

WORK = TOP / 'build' / 'test-trees'

# Where 6.1's output differs from the seed on purpose (see README.md).
SEED_DIFFERENCES = {
    # intel accepted DMA_FQ: without the flag it would lose flush queues.
    'drivers/iommu/intel/iommu.c': Counter({'+.allow_dma_fq=true,': 1}),
    # AMD took both with no type filter: without them it gets no domain.
    'drivers/iommu/amd/iommu.c': Counter({'+.use_dma_iommu=true,': 1,
                                          '+.allow_dma_fq=true,': 1}),
    # kernel-doc for the new fields (scripts/kernel-doc warns without it)
    'include/linux/iommu.h': Counter({
        "+*@use_dma_iommu:thedriver'sdomainscanbacktheDMAAPI(dma-iommu.c)":
            1,
        "+*@allow_dma_fq:dma-iommu.cmayuseaflushqueuewiththedriver's"
        "domains": 1}),
}
# The seed's core loses the IOVA cookie at run time: ours is written in
# __iommu_domain_alloc() instead (checked in test_61_core_keeps_dma_api).
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
    assert SEED.is_file(), f'needs the seed patch at {SEED} (a clone ' \
        f'with ../shared beside it)'
    seed_text = SEED.read_text()
    patch = seed_text[seed_text.index('diff --git'):seed_text.rindex('\n--\n')]
    seed = changed_lines(patch)
    ours = changed_lines(diff_61)
    assert set(ours) == set(seed) | set(SEED_DIFFERENCES)
    for path in sorted(ours):
        if path in SEED_REWRITTEN:
            continue
        want = seed.get(path, Counter()) + \
            SEED_DIFFERENCES.get(path, Counter())
        assert ours[path] == want, path


def test_61_core_keeps_dma_api(diff_61: str) -> None:
    """The driver is asked for UNMANAGED; the type, the cookie and the
    fallback to DMA after the call are left alone."""
    changed = changed_lines(diff_61)['drivers/iommu/iommu.c']
    for line in ('+unsignedintalloc_type=type;',
                 '+if(type&__IOMMU_DOMAIN_DMA_API){',
                 '+if(!ops->use_dma_iommu)',
                 '+if(type==IOMMU_DOMAIN_DMA_FQ&&!ops->allow_dma_fq)',
                 '+alloc_type=IOMMU_DOMAIN_UNMANAGED;',
                 '-domain=bus->iommu_ops->domain_alloc(type);',
                 '+domain=bus->iommu_ops->domain_alloc(alloc_type);'):
        assert changed[line] == 1, line
    removed = [line for line in changed if line.startswith('-')]
    assert removed == ['-domain=bus->iommu_ops->domain_alloc(type);']


@pytest.mark.parametrize('version', ['6.1', '6.12'])
def test_apply_drift_and_build(version: str) -> None:
    tree = WORK / f'linux-{version}'
    shutil.rmtree(tree, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    linked_copy(linux_tree(version), tree)
    pristine_report = tool('report', str(tree)).stdout
    out = tool('apply', '-j', '2', str(tree)).stdout
    assert 'for a human' in out
    assert 'no drift' in tool('drift', str(linux_tree(version))).stdout
    manifest = (tree / '.iommu-dma' / 'manifest').read_text()
    assert manifest == \
        (EXPECTED / f'linux-{version}.manifest').read_text()
    assert 'nothing to change' in tool('apply', str(tree)).stdout
    # Read-only commands judge the rewritten tree by its record.
    drift = tool('drift', str(tree))
    assert 'no drift' in drift.stdout
    assert 'rewritten by iommu-dma ' in drift.stderr
    assert tool('report', str(tree)).stdout == pristine_report
    assert CHECKER.exists(), f'{CHECKER}: run `make checker`'
    res = subprocess.run([str(CHECKER), '-O', str(TOP / 'build'), '-j', '2',
                          str(tree)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr[-2000:]
    # And back: every file apply wrote is the pristine one again.
    written = json.loads((tree / '.iommu-dma/record.json').read_text())[
        'written']
    assert tool('revert', str(tree)).returncode == 0
    assert not (tree / '.iommu-dma').exists()
    for rel in written:
        assert (tree / rel).read_bytes() == \
            (linux_tree(version) / rel).read_bytes(), rel


def manifest_of(version: str) -> list[str]:
    return tool('manifest', str(linux_tree(version))).stdout.splitlines()


def test_61_findings_and_amd_flags() -> None:
    manifest = manifest_of('6.1')
    for line in (
            'drivers/iommu/amd/iommu.c amd_iommu_domain_alloc ! implicit-dma',
            'drivers/iommu/amd/iommu.c amd_iommu_domain_alloc ! behaviour '
            'protection_domain_alloc IOMMU_DOMAIN_UNMANAGED',
            'drivers/iommu/amd/iommu.c amd_iommu_ops + .use_dma_iommu = true',
            'drivers/iommu/amd/iommu.c amd_iommu_ops + .allow_dma_fq = true',
            'drivers/iommu/intel/iommu.c intel_iommu_domain_alloc ! '
            'behaviour first_level_by_default IOMMU_DOMAIN_UNMANAGED',
            'drivers/iommu/iommu.c __iommu_domain_alloc ~ '
            'default-domain-fallback'):
        assert line in manifest


def test_612_port() -> None:
    manifest = manifest_of('6.12')
    assert 'drivers/iommu/iommu.c __iommu_domain_alloc ~ ' \
        'domain-alloc-legacy' in manifest
    assert not any('allow_dma_fq' in line for line in manifest)
    assert 'drivers/iommu/amd/iommu.c amd_iommu_ops + .use_dma_iommu = ' \
        'true' in manifest
