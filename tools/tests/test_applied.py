"""After apply: read-only commands judge the tree by its record, and
revert puts the originals back (journaled, refusing hand edits)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolrun import TOP, fixture_copy, tool, tree_digest

CHAIN = 'drivers/iommu/chain-first.c'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return fixture_copy(tmp_path / 'linux')


def test_apply_drift_report_revert(tree: Path) -> None:
    pristine = tree_digest(tree)
    report = tool('report', str(tree)).stdout
    report_json = tool('report', '--json', str(tree)).stdout
    tool('apply', str(tree))
    drift = tool('drift', str(tree))
    assert 'no drift against linux-6.1-fixtures.manifest' in drift.stdout
    assert drift.stderr.startswith('iommu-dma: rewritten by iommu-dma ')
    assert '16 files as written' in drift.stderr
    assert tool('report', str(tree)).stdout == report
    assert tool('report', '--json', str(tree)).stdout == report_json
    res = tool('revert', str(tree))
    assert res.stdout.startswith('iommu-dma: reverted 16 files of ')
    assert tree_digest(tree) == pristine
    res = tool('revert', str(tree), check=False)
    assert res.returncode == 2 and 'nothing to revert' in res.stderr


def test_hand_edit_after_apply_is_named(tree: Path) -> None:
    tool('apply', str(tree))
    path = tree / CHAIN
    text = path.read_text()
    path.unlink()
    path.write_text(text + '/* edited */\n')
    edited = tree_digest(tree)
    for command in ('drift', 'report', 'revert'):
        res = tool(command, str(tree), check=False)
        assert res.returncode == 2, (command, res.stderr)
        assert CHAIN in res.stderr, (command, res.stderr)
        assert res.stdout == ''
    assert tree_digest(tree) == edited


def test_interrupted_revert_is_finished_by_the_next(tree: Path) -> None:
    pristine = tree_digest(tree)
    tool('apply', str(tree))
    env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'),
               IOMMU_DMA_TEST_CRASH='replaced-3:KILL')
    res = subprocess.run([sys.executable, '-m', 'iommu_dma', 'revert',
                          str(tree)], env=env, capture_output=True)
    assert res.returncode == -9
    tool('revert', str(tree))
    assert tree_digest(tree) == pristine


def test_version() -> None:
    out = tool('--version').stdout
    assert out.startswith('iommu-dma ') and '(rules ' in out


def test_tree_rewritten_without_a_record_is_named(tree: Path) -> None:
    tool('apply', str(tree))
    state = tree / '.iommu-dma'
    for p in sorted(state.rglob('*'), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    state.rmdir()
    res = tool('drift', str(tree), check=False)
    assert 'rewritten without a record (by hand, or by a tool other ' \
        'than make apply)' in res.stderr
