"""Safety nets tested directly: each test here fails when its net is
removed (see the README's list of safety nets and their tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iommu_dma import events  # noqa: E402
from iommu_dma.errors import ToolError  # noqa: E402
from iommu_dma.record import Record  # noqa: E402
from iommu_dma.rewrite import check_consistency  # noqa: E402


def record(*raw: dict, dma_fq: bool = True) -> Record:
    r = Record(tree='t', version='6.1.0', series_name='linux-6.1',
               parts='all', dma_fq=dma_fq)
    r.add_events(list(raw))
    return r


GATE = dict(event='gate', file='d.c', function='d_alloc',
            removed='IOMMU_DOMAIN_DMA', shape='chain')
FQ_GATE = dict(GATE, removed='IOMMU_DOMAIN_DMA_FQ')
FLAG = dict(event='flag', file='d.c', ops='d_ops', function='d_alloc',
            flag='use_dma_iommu')


def test_dropped_comparison_without_its_flag_is_refused() -> None:
    """The drop rule guards itself; this is the net under it."""
    with pytest.raises(ToolError, match='d.c: d_alloc: a comparison was '
                       'dropped but use_dma_iommu was not declared'):
        check_consistency(record(GATE))
    check_consistency(record(GATE, FLAG))          # flagged: fine


def test_dropped_fq_comparison_needs_allow_dma_fq() -> None:
    with pytest.raises(ToolError, match='allow_dma_fq was not declared'):
        check_consistency(record(GATE, FQ_GATE, FLAG))
    # a core without flush queues in drivers: reported, not refused
    r = record(GATE, FQ_GATE, FLAG, dma_fq=False)
    check_consistency(r)
    assert [f.kind for f in r.findings] == ['fq-ignored']
    assert isinstance(r.findings[0], events.Finding)


def test_git_am_check_compares_with_apply(tmp_path) -> None:
    """The series' last check: the mailed files, applied with git am onto
    the base, must be what apply writes."""
    import subprocess
    from iommu_dma.series import checks
    env = {'GIT_AUTHOR_NAME': 'T', 'GIT_AUTHOR_EMAIL': 't@example.org',
           'GIT_COMMITTER_NAME': 'T', 'GIT_COMMITTER_EMAIL': 't@example.org'}

    def git(*args: str) -> str:
        return subprocess.run(['git', *args], cwd=tmp_path, check=True,
                              capture_output=True, text=True,
                              env=dict(__import__('os').environ, **env)
                              ).stdout

    (tmp_path / 'd.c').write_text('int a;\n')
    git('init', '-q')
    git('add', 'd.c')
    git('commit', '-qm', 'base')
    base = git('rev-parse', 'HEAD').strip()
    (tmp_path / 'd.c').write_text('int b;\n')
    git('commit', '-qam', 'change')
    mail = tmp_path / 'mail'
    git('format-patch', '-q', '-o', str(mail), f'{base}..HEAD')
    mailed = sorted(mail.glob('*.patch'))
    assert 'gives the same files' in checks.git_am(
        tmp_path, base, mailed, {'d.c': b'int b;\n'}, env)
    with pytest.raises(ToolError, match='gives a different d.c than apply'):
        checks.git_am(tmp_path, base, mailed, {'d.c': b'int c;\n'}, env)


def test_every_net_of_safety_nets_sh_still_applies() -> None:
    """safety_nets.sh removes each net by a text edit of the code: an edit
    that no longer matches (the code moved) would stop the script, so
    `make test` checks them all against the code as it is."""
    top = Path(__file__).resolve().parents[2]
    script = (top / 'tools' / 'tests' / 'safety_nets.sh').read_text()
    block = script.split("nets='\n", 1)[1].split("\n'\n", 1)[0]
    nets = [line.split('|') for line in block.splitlines() if line]
    assert len(nets) >= 10
    for net, path, edit, test in nets:
        scope = {'s': (top / path).read_text()}
        before = scope['s']
        exec(edit, {}, scope)
        assert scope['s'] != before, f'{net}: the edit no longer applies'
        assert (top / test.split('::')[0]).exists(), f'{net}: {test}'
