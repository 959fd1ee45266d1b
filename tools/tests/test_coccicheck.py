"""The semantic patches as kernel rules: the kernel's own `make coccicheck`.

Each rule runs alone under coccicheck in every MODE on a copy of Debian's
6.1 tree (M=drivers/iommu), as a kernel developer would run it: no mode is
refused, the report is in the kernel's format, J=1 and J=2 report the
same, and the drop rule alone removes nothing a driver still needs.
"""

import re
import subprocess
from pathlib import Path

import pytest

from toolrun import TOP, linked_copy, linux_tree

RULES = sorted((TOP / 'cocci').glob('*.cocci'))
MODES = ('report', 'patch', 'context', 'org')


@pytest.fixture(scope='module')
def tree(tmp_path_factory) -> Path:
    return linked_copy(linux_tree('6.1'),
                       tmp_path_factory.mktemp('cc') / 'linux')


def coccicheck(tree: Path, rule: Path, mode: str, jobs: int = 2,
               where: str = 'drivers/iommu') -> str:
    res = subprocess.run(['make', '-s', 'coccicheck', f'COCCI={rule}',
                          f'MODE={mode}', f'M={where}', f'J={jobs}'],
                         cwd=tree, capture_output=True, text=True,
                         timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-2000:]
    for bad in ('not supported', 'No rules apply', 'coccicheck failed',
                'EXN', 'Traceback'):
        assert bad not in out, (rule.name, mode, out[-2000:])
    return res.stdout


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('rule', RULES, ids=lambda r: r.stem)
def test_every_rule_runs_in_every_mode(tree: Path, rule: Path,
                                       mode: str) -> None:
    where = 'include/linux' if rule.stem == 'iommu_ops_fields' \
        else 'drivers/iommu'
    out = coccicheck(tree, rule, mode, where=where)
    assert 'IOMMU-DMA {' not in out     # the tool's events stay private
    if mode == 'report':
        for line in out.splitlines():
            if line.startswith(('drivers/', 'include/')):
                assert re.match(r'\S+:\d+:\d+-\d+: ', line), line


def report_lines(out: str) -> list[str]:
    return sorted(line for line in out.splitlines()
                  if line.startswith('drivers/'))


def test_audit_same_findings_with_one_and_two_jobs(tree: Path) -> None:
    rule = TOP / 'cocci' / 'domain_alloc_audit.cocci'
    one = report_lines(coccicheck(tree, rule, 'report', jobs=1))
    two = report_lines(coccicheck(tree, rule, 'report', jobs=2))
    assert one == two
    text = '\n'.join(one)
    assert 'amd_iommu_domain_alloc(): no type filter' in text
    assert 'intel_iommu_domain_alloc(): passes the type to ' \
        'first_level_by_default()' in text


def test_drop_rule_alone_removes_nothing(tree: Path) -> None:
    """No flag is declared in a pristine tree: nothing may be dropped."""
    rule = TOP / 'cocci' / 'domain_alloc_drop_dma.cocci'
    out = coccicheck(tree, rule, 'patch')
    assert not re.search(r'^-\s', out, re.M), out
    # ... while its report names the comparisons the series drops.
    report = coccicheck(tree, rule, 'report')
    assert 'intel_iommu_domain_alloc(): case IOMMU_DOMAIN_DMA is dead' \
        in report


def test_flags_rule_reports_what_to_declare(tree: Path) -> None:
    out = coccicheck(tree, TOP / 'cocci' / 'iommu_ops_dma_flags.cocci',
                     'report')
    assert 'amd_iommu_ops: amd_iommu_domain_alloc() takes ' \
        'IOMMU_DOMAIN_DMA: declare .use_dma_iommu = true' in out
