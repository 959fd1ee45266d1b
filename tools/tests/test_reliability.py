"""All-or-nothing apply: interrupted applies, refusals, parse failures.

Every test runs the command line on a copy of linux-fixtures and checks
the whole tree byte for byte: either the original or the reference
rewrite, never a mixture.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
FIXTURES = TOP / 'linux-fixtures'
STATE = '.iommu-dma'
CRASH_ENV = 'IOMMU_DMA_TEST_CRASH'
BROKEN = '''// SPDX-License-Identifier: GPL-2.0
#include <linux/iommu.h>

static struct iommu_domain broken_domain;

static struct iommu_domain *broken_domain_alloc(unsigned type)
{
	if (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_UNMANAGED)
		return NULL;
	FOO(BAR) baz {{ ;
	return &broken_domain;
}

static const struct iommu_ops broken_ops = {
	.domain_alloc = broken_domain_alloc,
};
'''


def run(*args: str, env: dict | None = None,
        path: str | None = None) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=str(TOP / 'tools'), **(env or {}))
    if path is not None:
        full['PATH'] = path
    return subprocess.run([sys.executable, '-m', 'iommu_dma', *args],
                          capture_output=True, text=True, env=full)


def files(root: Path, state: bool = False) -> dict[str, bytes]:
    """Every file of the tree (without the state directory)."""
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file() and
            (state or STATE not in p.relative_to(root).parts)}


@pytest.fixture(scope='module')
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The tree an uninterrupted apply leaves."""
    tree = shutil.copytree(FIXTURES, tmp_path_factory.mktemp('ref') / 'k')
    res = run('apply', str(tree))
    assert res.returncode == 0, res.stderr
    assert '16 files rewritten' in res.stdout
    return files(tree)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return shutil.copytree(FIXTURES, tmp_path / 'linux')


ORIGINAL = files(FIXTURES)


def assert_untouched(tree: Path) -> None:
    assert files(tree) == ORIGINAL
    assert not (tree / STATE).exists(), list((tree / STATE).rglob('*'))
    assert not list(tree.rglob('*.iommu-dma-tmp'))


# -- interrupted applies --------------------------------------------------

@pytest.mark.parametrize('stage,outcome', [
    ('staged', 'before it wrote anything: discarded its staged copies, '
               'tree unchanged'),
    ('committed', 'after 0 of 16 files: completed it (all 16 written)'),
    ('replaced-1', 'after 1 of 16 files: completed it (all 16 written)'),
    ('replaced-6', 'after 6 of 16 files: completed it (all 16 written)'),
    ('written', 'after 16 of 16 files: completed it (all 16 written)'),
])
def test_sigkill_mid_apply_is_finished_by_next_run(
        tree: Path, reference: dict, stage: str, outcome: str) -> None:
    res = run('apply', str(tree), env={CRASH_ENV: f'{stage}:KILL'})
    assert res.returncode == -9, res.stderr
    # Killed: either nothing replaced yet, or a journal to finish.
    now = files(tree)
    mixed = [f for f in now if now[f] != ORIGINAL[f]]
    if stage == 'replaced-6':
        assert len(mixed) == 6      # really killed in the middle
    diff = run('diff', str(tree))
    if stage != 'staged':
        assert diff.returncode == 2
        assert 'an earlier apply was interrupted; run apply' in diff.stderr
    res = run('apply', str(tree))
    assert res.returncode == 0, res.stderr
    assert outcome in res.stderr
    assert files(tree) == reference
    assert not (tree / STATE / 'journal').exists()
    assert not list(tree.rglob('*.iommu-dma-tmp'))
    # The record and the originals are there, as after a plain apply.
    assert (tree / STATE / 'manifest').exists()
    orig = tree / STATE / 'orig' / 'drivers/iommu/chain-first.c'
    assert orig.read_bytes() == ORIGINAL['drivers/iommu/chain-first.c']
    again = run('apply', str(tree))
    assert again.returncode == 0 and 'nothing to change' in again.stdout


@pytest.mark.parametrize('sig,name', [('TERM', 'SIGTERM'), ('INT', 'SIGINT')])
def test_sigterm_sigint_mid_apply_roll_back_at_once(
        tree: Path, sig: str, name: str) -> None:
    res = run('apply', str(tree), env={CRASH_ENV: f'replaced-4:{sig}'})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f'iommu-dma: error: interrupted by {name} while writing: rolled '
        f'back, tree unchanged']
    assert_untouched(tree)


def test_damaged_journal_is_rolled_back(tree: Path) -> None:
    res = run('apply', str(tree), env={CRASH_ENV: 'replaced-3:KILL'})
    assert res.returncode == -9
    assert files(tree) != ORIGINAL
    staged = tree / STATE / 'journal' / 'new' / 'drivers/iommu/two-ops.c'
    staged.write_text('damaged\n')
    # Recovery rolls back; the new apply is then killed before it commits.
    res = run('apply', str(tree), env={CRASH_ENV: 'staged:KILL'})
    assert 'after 3 of 16 files and its staged new contents are damaged: ' \
        'rolled it back (all 16 original)' in res.stderr
    assert res.returncode == -9
    assert files(tree) == ORIGINAL


def test_file_edited_after_crash_stops_recovery(tree: Path) -> None:
    run('apply', str(tree), env={CRASH_ENV: 'replaced-2:KILL'})
    edited = tree / 'drivers/iommu/switch-labels.c'
    edited.write_text(edited.read_text() + '/* edited */\n')
    before = files(tree, state=True)
    res = run('apply', str(tree))
    assert res.returncode == 2
    assert 'switch-labels.c changed since (1 of 16 files are neither ' \
        'original nor rewritten)' in res.stderr
    assert files(tree, state=True) == before


# -- refusals -------------------------------------------------------------

def one_line_error(res: subprocess.CompletedProcess) -> str:
    """The error line; report and manifest name their tree before it."""
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [x for x in res.stderr.strip().splitlines()
             if not re.fullmatch(r'iommu-dma: \S.*: (report|manifest)', x)]
    assert len(lines) == 1 and lines[0].startswith('iommu-dma: error: '), \
        res.stderr
    return lines[0]


def test_refuses_missing_kernel(tmp_path: Path) -> None:
    msg = one_line_error(run('apply', str(tmp_path / 'nope')))
    assert msg.endswith('nope: no such directory')


def test_refuses_non_kernel_tree(tmp_path: Path) -> None:
    (tmp_path / 'Makefile').write_text('all:\n')
    msg = one_line_error(run('apply', str(tmp_path)))
    assert 'not a kernel tree (no include/linux/iommu.h)' in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Makefile']


def test_refuses_read_only_file(tree: Path) -> None:
    ro = tree / 'drivers/iommu/chain-split.c'
    ro.chmod(0o444)
    msg = one_line_error(run('apply', str(tree)))
    assert msg == ('iommu-dma: error: read-only: drivers/iommu/'
                   'chain-split.c: make them writable; nothing written')
    ro.chmod(0o644)
    assert_untouched(tree)


def test_refuses_read_only_tree_root(tree: Path) -> None:
    tree.chmod(0o555)
    try:
        msg = one_line_error(run('apply', str(tree)))
    finally:
        tree.chmod(0o755)
    assert 'read-only directory' in msg
    assert_untouched(tree)


def git(tree: Path, *args: str) -> None:
    subprocess.run(['git', '-C', str(tree), '-c', 'user.name=t', '-c',
                    'user.email=t@t', *args], check=True,
                   capture_output=True)


def test_refuses_uncommitted_changes_unless_forced(tree: Path,
                                                   reference: dict) -> None:
    git(tree, 'init', '-q')
    git(tree, 'add', '.')
    git(tree, 'commit', '-qm', 'base')
    # A change in a file the rewrite does not touch is no reason to stop.
    other = tree / 'drivers/iommu/unmanaged-only.c'
    other.write_text(other.read_text() + '/* local */\n')
    dirty = tree / 'drivers/iommu/chain-last.c'
    dirty.write_text(dirty.read_text() + '/* local */\n')
    git(tree, 'add', 'drivers/iommu/chain-last.c')
    dirty = tree / 'drivers/iommu/two-ops.c'
    dirty.write_text(dirty.read_text() + '/* local */\n')
    snap = files(tree)
    msg = one_line_error(run('apply', str(tree)))
    assert msg == ('iommu-dma: error: uncommitted changes in files to '
                   'rewrite: drivers/iommu/chain-last.c, drivers/iommu/'
                   'two-ops.c: commit or stash them, or use FORCE=1 '
                   '(--force); nothing written')
    assert files(tree) == snap and not (tree / STATE).exists()
    res = run('apply', '--force', str(tree))
    assert res.returncode == 0, res.stderr
    assert '16 files rewritten' in res.stdout
    assert files(tree)['drivers/iommu/switch-first.c'] == \
        reference['drivers/iommu/switch-first.c']


def test_clean_git_tree_is_rewritten(tree: Path, reference: dict) -> None:
    git(tree, 'init', '-q')
    git(tree, 'add', '.')
    git(tree, 'commit', '-qm', 'base')
    res = run('apply', str(tree))
    assert res.returncode == 0, res.stderr
    now = files(tree)
    assert {f: now[f] for f in reference} == reference


def tool_path(tmp_path: Path, spatch: str | None) -> str:
    """A PATH with the tools apply needs, and the given spatch script."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name in ('git', 'grep', 'diff', 'sh'):
        os.symlink(shutil.which(name), bin_dir / name)
    if spatch is not None:
        fake = bin_dir / 'spatch'
        fake.write_text(spatch)
        fake.chmod(0o755)
    return str(bin_dir)


def test_refuses_missing_spatch(tree: Path, tmp_path: Path) -> None:
    msg = one_line_error(run('apply', str(tree),
                             path=tool_path(tmp_path, None)))
    assert msg == ('iommu-dma: error: spatch not found: run `make deps` '
                   '(Debian package coccinelle)')
    assert_untouched(tree)


def test_refuses_old_spatch(tree: Path, tmp_path: Path) -> None:
    old = '#!/bin/sh\necho "spatch version 1.0.8 compiled with OCaml"\n'
    msg = one_line_error(run('apply', str(tree),
                             path=tool_path(tmp_path, old)))
    assert msg == ('iommu-dma: error: spatch 1.1.1 or newer required, '
                   'found: spatch version 1.0.8 compiled with OCaml')
    assert_untouched(tree)


def test_refuses_partly_rewritten_tree(tree: Path) -> None:
    assert run('apply', str(tree)).returncode == 0
    # Put two drivers back as they were: the others keep their flags.
    for name in ('chain-first.c', 'switch-labels.c'):
        rel = f'drivers/iommu/{name}'
        os.unlink(tree / rel)
        shutil.copy(FIXTURES / rel, tree / rel)
    snap = files(tree, state=True)
    msg = one_line_error(run('apply', str(tree)))
    assert msg.startswith(
        'iommu-dma: error: partly rewritten tree: already rewritten: '
        'drivers/iommu/after-gate.c, drivers/iommu/attributed-decl.c, ')
    done = msg.split('; still comparing')[0]
    assert 'chain-first.c' not in done and 'switch-labels.c' not in done
    assert '; still comparing IOMMU_DOMAIN_DMA: drivers/iommu/' \
        'chain-first.c, drivers/iommu/switch-labels.c; ' in msg
    assert files(tree, state=True) == snap


def test_fully_rewritten_tree_is_a_no_op(tree: Path,
                                         reference: dict) -> None:
    assert run('apply', str(tree)).returncode == 0
    snap = files(tree, state=True)
    res = run('apply', str(tree))
    assert res.returncode == 0, res.stderr
    assert 'nothing to change: the tree is already rewritten' in res.stdout
    assert files(tree, state=True) == snap
    assert files(tree) == reference


def test_refuses_unparsed_domain_alloc(tree: Path) -> None:
    (tree / 'drivers/iommu/broken.c').write_text(BROKEN)
    snap = files(tree)
    res = run('apply', str(tree))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "iommu-dma: error: refused: 1 place out of the rules' reach; "
        "nothing written:",
        '  drivers/iommu/broken.c: broken_domain_alloc(): spatch did not '
        'parse it']
    assert files(tree) == snap and not (tree / STATE).exists()
    # read-only commands say so in one line
    msg = one_line_error(run('report', str(tree)))
    assert msg == ('iommu-dma: error: 1 place the rewrite must see is '
                   'out of its reach: drivers/iommu/broken.c: '
                   'broken_domain_alloc(): spatch did not parse it; '
                   'nothing written')


def test_refuses_unparsed_ops_initializer(tree: Path) -> None:
    text = BROKEN.replace('\tFOO(BAR) baz {{ ;\n', '').replace(
        '.domain_alloc = broken_domain_alloc,',
        '.domain_alloc = broken_domain_alloc,\n\t.owner = FOO(BAR) baz,')
    (tree / 'drivers/iommu/broken.c').write_text(text)
    snap = files(tree)
    res = run('apply', str(tree))
    assert res.returncode == 2
    assert any(x.startswith('  drivers/iommu/broken.c: struct iommu_ops '
                            'broken_ops') for x in res.stderr.splitlines())
    assert files(tree) == snap and not (tree / STATE).exists()
