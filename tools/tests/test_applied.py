"""After apply: read-only commands judge the tree by its record, and
revert puts the originals back (journaled, refusing hand edits)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolrun import TOP, fixture_copy, json_keys, tool, tree_digest

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


def test_json_output(tree: Path, tmp_path: Path) -> None:
    """JSON=1 (--json): one object on stdout, the documented fields, the
    same exit statuses."""

    report = json.loads(tool('report', '--json', str(tree)).stdout)
    assert report['status'] == 'ok' and report['rows']
    diff = json.loads(tool('diff', '--json', str(tree)).stdout)
    assert diff['command'] == 'diff' and diff['status'] == 'changes'
    assert diff['schema'] == 1 and diff['tree'] == str(tree)
    assert len(diff['files']) == 16 and diff['diff'].startswith('--- a/')
    assert any(e['event'] == 'flag' for e in diff['changes'])
    assert all('kind' in f for f in diff['findings'])
    out = json.loads(tool('apply', '--json', str(tree)).stdout)
    assert out['status'] == 'rewritten' and out['files'] == diff['files']
    drift = json.loads(tool('drift', '--json', str(tree)).stdout)
    assert drift['status'] == 'no drift' and drift['diff'] == ''
    vendor = tmp_path / 'vendor'
    shutil.copytree(TOP / 'linux-fixtures' / 'vendor', vendor)
    res = tool('diff', '--json', str(vendor), check=False)
    assert res.returncode == 2
    refused = json.loads(res.stdout)
    assert refused['status'] == 'refused'
    assert refused['error'].startswith('refused: ')
    assert any('dma_only_ops' in x for x in refused['details'])
    assert refused['command'] == 'diff' and refused['tree'] == str(vendor)
    # every field is in tools/json-schema.md
    for obj, section in ((report, 'report'), (diff, 'diff'), (out, 'apply'),
                         (drift, 'drift'), (refused, 'refused')):
        assert json_keys(obj, section) == set(), section
    # make adds nothing to stdout
    res = subprocess.run(['make', '-s', '-C', str(TOP), 'drift', 'JSON=1',
                          f'KERNEL={tree}'], capture_output=True, text=True)
    assert json.loads(res.stdout)['status'] == 'no drift'
