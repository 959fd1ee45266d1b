"""Every kernel era the tool knows, today's included.

7.2 (sid) and 7.3 (trixie-backports) have a core that already keeps
IOMMU_DOMAIN_DMA out of drivers: diff, report and drift exit 0 with one
statement, and the report maps the seed's flags onto what upstream has.
The v5.15, v6.5-v6.6 and v6.7-v6.11 (NULL-returning) shapes are
hand-written fixtures under linux-fixtures/eras/, rewritten and then run as
a small C program before and after. A v5.10 core, whose drivers allocate
their own IOVA cookies, is refused before any rule runs.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolrun import EXPECTED, FIXTURES, TOP, json_keys, linux_tree, tool, \
    tree_digest

ERAS_DONE = ('7.2', '7.3')


@pytest.mark.parametrize('version', ERAS_DONE)
def test_upstream_era_is_recognised_and_left_alone(version: str) -> None:
    tree = linux_tree(version)
    res = tool('diff', str(tree))
    assert res.stdout == ''
    assert 'core: upstream-paging' in res.stderr
    assert ('drivers/iommu/iommu.c: nothing to rewrite: upstream already '
            'keeps IOMMU_DOMAIN_DMA out of drivers\' domain allocation. '
            '__iommu_paging_domain_alloc_flags() allocates') in res.stderr
    assert 'already rewritten' not in res.stderr
    assert 'no drift' in tool('drift', str(tree)).stdout


@pytest.mark.parametrize('version', ERAS_DONE)
def test_upstream_report_maps_the_flags(version: str) -> None:
    out = tool('report', str(linux_tree(version))).stdout
    rows = {tuple(line.split()[:2]): line.split()
            for line in out.splitlines() if line.startswith(('drivers/',
                                                             'arch/'))}
    intel = rows[('drivers/iommu/intel/iommu.c', 'intel_iommu_ops')]
    assert intel[2:] == ['domain_alloc_paging_flags', '-', 'IDENTITY,DMA',
                         'yes*', 'yes']
    # the legacy binding makes every arm-smmu device IDENTITY
    smmu = rows[('drivers/iommu/arm/arm-smmu/arm-smmu.c', 'arm_smmu_ops')]
    assert smmu[-3:] == ['IDENTITY', 'yes*', 'yes']
    # iommufd's ops (7.3: no-IOMMU VFIO too) translate nothing: not counted
    mock = rows[('drivers/iommu/iommufd/selftest.c', 'mock_ops')]
    assert mock[-2:] == ['n/a', 'n/a']
    iommufd = {'7.2': 1, '7.3': 2}[version]
    assert f'({iommufd} of iommufd, no hardware); 21 with DMA API ' \
        f'domains, 8 with flush queues' in out
    assert 'still name IOMMU_DOMAIN_DMA as the default type a device asks ' \
        'for, in .def_domain_type() (amd_iommu_ops, apple_dart_iommu_ops, ' \
        'intel_iommu_ops)' in out
    virtio = rows[('drivers/iommu/virtio-iommu.c', 'viommu_ops')]
    assert virtio[-2:] == ['yes', 'yes']        # IOMMU_CAP_DEFERRED_FLUSH
    sun50i = rows[('drivers/iommu/sun50i-iommu.c', 'sun50i_iommu_ops')]
    assert sun50i[-2:] == ['yes', 'no']
    pamu = rows[('drivers/iommu/fsl_pamu_domain.c', 'fsl_pamu_ops')]
    assert pamu[2] == 'domain_alloc' and pamu[-2:] == ['no', 'no']
    # ops built by a macro (s390) are read through the macro
    s390 = rows[('drivers/iommu/s390-iommu.c', 's390_iommu_ops')]
    assert s390[2] == 'domain_alloc_paging'
    assert '1 with a legacy .domain_alloc, only asked for ' \
        'IOMMU_DOMAIN_UNMANAGED (fsl_pamu_ops)' in out
    # the same mapping for scripts
    data = json.loads(tool('report', '--json',
                           str(linux_tree(version))).stdout)
    by_ops = {(r['file'], r['ops']): r for r in data['rows']}
    assert by_ops[('drivers/iommu/intel/iommu.c', 'intel_iommu_ops')][
        'allocator'] == 'domain_alloc_paging_flags'
    assert by_ops[('drivers/iommu/iommufd/selftest.c', 'mock_ops')][
        'use_dma_iommu'] is None
    assert data['summary']['use_dma_iommu'] == 21
    assert data['status'] == 'upstream'
    assert json_keys(data, 'report') == set()


def test_drift_records_a_missing_manifest(tmp_path) -> None:
    tree = linux_tree('7.3')
    expected = tmp_path / 'linux-7.3.manifest'
    res = tool('drift', '--expected', str(expected), str(tree),
               check=False)
    assert res.returncode == 2 and 'RECORD=1' in res.stderr
    assert not expected.exists()
    tool('drift', '--record', '--expected', str(expected), str(tree))
    assert expected.read_text() == \
        (EXPECTED / 'linux-7.3.manifest').read_text()
    assert 'no drift' in tool('drift', '--expected', str(expected),
                              str(tree)).stdout


def test_upstream_era_driver_bringing_dma_back_is_found(tmp_path) -> None:
    """A new driver on a 7.3 core whose legacy .domain_alloc compares with
    IOMMU_DOMAIN_DMA is reported, not silently passed over."""
    src = linux_tree('7.3')
    tree = tmp_path / 'linux'
    for rel in ('Makefile', 'include/linux/iommu.h',
                'drivers/iommu/iommu.c'):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes((src / rel).read_bytes())
    (tree / 'drivers/iommu/newdrv.c').write_text(
        '#include <linux/iommu.h>\n'
        'static struct iommu_domain newdrv_domain;\n'
        'static struct iommu_domain *newdrv_domain_alloc(unsigned int type)\n'
        '{\n\tif (type != IOMMU_DOMAIN_UNMANAGED && '
        'type != IOMMU_DOMAIN_DMA)\n\t\treturn NULL;\n'
        '\treturn &newdrv_domain;\n}\n'
        'static const struct iommu_ops newdrv_ops = {\n'
        '\t.domain_alloc = newdrv_domain_alloc,\n};\n')
    before = tree_digest(tree)
    res = tool('diff', str(tree))
    assert 'drivers/iommu/newdrv.c: newdrv_domain_alloc(): ' \
        'IOMMU_DOMAIN_DMA still compared at line 5' in res.stderr
    assert tree_digest(tree) == before


# --- the v6.5-v6.6 and v6.7-v6.11 shapes, on hand-written fixtures ----

ERAS = FIXTURES / 'eras'
HARNESS = TOP / 'tools' / 'tests' / 'data' / 'core_harness.c'


def run_core(tree: Path, tmp: Path, name: str) -> str:
    """Build the era fixture's core with its drivers and the harness; its
    output: per driver and request, the domain type and DMA API readiness.
    """
    sources = [HARNESS, tree / 'drivers/iommu/iommu.c',
               tree / 'drivers/iommu/legacy-chain.c']
    defines = []
    if (tree / 'drivers/iommu/paging.c').exists():
        sources.append(tree / 'drivers/iommu/paging.c')
        defines.append('-DHAVE_PAGING')
    exe = tmp / name
    subprocess.run(['gcc', '-Wall', '-Wextra', '-Werror', '-I',
                    str(tree / 'include'), *defines, '-o', str(exe),
                    *map(str, sources)], check=True)
    return subprocess.run([str(exe)], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize('era', ['v6.6', 'v6.7'])
def test_era_fixture_rewrite_keeps_every_request(era: str,
                                                 tmp_path: Path) -> None:
    tree = tmp_path / 'linux'
    shutil.copytree(ERAS / era, tree)
    before = run_core(tree, tmp_path, 'before')
    assert 'legacy-chain default DMA: DMA, DMA API ready' in before
    diff = tool('diff', str(tree)).stdout
    assert diff == (EXPECTED / f'linux-fixtures-{era}.diff').read_text()
    out = tool('apply', str(tree)).stdout
    assert 'core: domain-alloc-legacy' in out
    assert 'allow_dma_fq' not in diff       # the core masks DMA_FQ itself
    assert run_core(tree, tmp_path, 'after') == before
    # Negative control: the same core without the driver's flag loses DMA.
    chain = tree / 'drivers/iommu/legacy-chain.c'
    text = chain.read_text()
    chain.unlink()
    chain.write_text(re.sub(r'\t\.use_dma_iommu\s+= true,\n', '', text))
    broken = run_core(tree, tmp_path, 'broken')
    assert 'legacy-chain default DMA: no domain' in broken


def test_era_fixtures_are_not_drivers_of_the_main_fixture() -> None:
    files = tool('manifest', str(FIXTURES)).stdout
    assert 'eras/' not in files


# --- v5.15 (the core gets the cookie, DMA_FQ reaches drivers) ----------

def test_v5_15_fixture_rewrite_keeps_every_request(tmp_path: Path) -> None:
    """A v5.15 vendor core with the transitional `!domain->iova_cookie`
    guard and a BSP driver that still gets its own cookie: every request
    ends as before, with its cookie."""
    tree = tmp_path / 'linux'
    shutil.copytree(ERAS / 'v5.15', tree)
    before = run_core(tree, tmp_path, 'before')
    assert 'legacy-chain default DMA_FQ: DMA_FQ, DMA API ready' in before
    diff = tool('diff', str(tree)).stdout
    assert diff == (EXPECTED / 'linux-fixtures-v5.15.diff').read_text()
    assert '.allow_dma_fq\t= true,' in diff   # DMA_FQ reaches drivers
    out = tool('apply', str(tree)).stdout
    assert 'core: default-domain-fallback, flush queues in drivers' in out
    assert run_core(tree, tmp_path, 'after') == before
    rep = tool('report', str(tree)).stdout
    assert 'legacy_chain_ops' in rep and 'FAILED' not in rep


# --- v5.10 and older: drivers get their own cookies -------------------

def pre_5_15_tree(tmp_path: Path, dma_fq: bool) -> Path:
    tree = tmp_path / 'linux'
    shutil.copytree(ERAS / 'v5.10', tree)
    if dma_fq:
        # as vendor backports do: the type exists, the core is still 5.10
        header = tree / 'include/linux/iommu.h'
        header.write_text(header.read_text().replace(
            '#define IOMMU_DOMAIN_DMA\t',
            '#define __IOMMU_DOMAIN_DMA_FQ\t(1U << 3)\n'
            '#define IOMMU_DOMAIN_DMA_FQ\t(IOMMU_DOMAIN_DMA | '
            '__IOMMU_DOMAIN_DMA_FQ)\n#define IOMMU_DOMAIN_DMA\t'))
        assert 'IOMMU_DOMAIN_DMA_FQ' in header.read_text()
    return tree


@pytest.mark.parametrize('command', ['diff', 'apply', 'report'])
@pytest.mark.parametrize('dma_fq', [False, True])
def test_pre_5_15_core_is_refused_before_any_rule(
        tmp_path: Path, command: str, dma_fq: bool) -> None:
    tree = pre_5_15_tree(tmp_path, dma_fq)
    before = tree_digest(tree)
    # No spatch on PATH: the refusal must come before any rule runs.
    env_path = tmp_path / 'bin'
    env_path.mkdir()
    (env_path / 'spatch').write_text('#!/bin/sh\necho ran >&2\nexit 99\n')
    (env_path / 'spatch').chmod(0o755)
    res = subprocess.run(
        [sys.executable, '-m', 'iommu_dma', command, str(tree)],
        capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(TOP / 'tools'),
                 PATH=f'{env_path}:{os.environ["PATH"]}'))
    assert res.returncode == 2
    assert res.stdout == ''
    lines = res.stderr.splitlines()
    if command == 'report':     # it names its tree first
        assert lines.pop(0) == f'iommu-dma: {tree}: report'
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith('iommu-dma: error: drivers/iommu/iommu.c: '
                               'a pre-v5.15 core: drivers allocate the IOVA '
                               'cookie themselves (drivers/iommu/'
                               'legacy-chain.c calls iommu_get_dma_cookie())')
    assert 'supported: v5.15 to v6.15' in lines[0]
    assert tree_digest(tree) == before


def test_release_candidate_is_compared_with_its_release(tmp_path) -> None:
    tree = tmp_path / 'linux'
    shutil.copytree(FIXTURES, tree)
    mk = tree / 'Makefile'
    mk.write_text(mk.read_text().replace('EXTRAVERSION = -fixtures',
                                         'EXTRAVERSION = -rc3'))
    res = tool('drift', str(tree), check=False)
    assert 'iommu-dma: linux-6.1-rc3 is a release candidate: compared ' \
        'with linux-6.1.manifest' in res.stderr
    assert 'no expected manifest' not in res.stderr
