"""`iommu-dma series`: mailable, bisectable, checkpatch-clean series.

Fixture tests (seconds) cover a tarball tree and a git tree (HEAD is the
base, the repository is only read: a `.gitignore` of `/*`, a detached
HEAD, dirty unrelated files, dirty target files and FORCE=1), SPLIT=0 and
driver, versions and range-diffs, trailers and addresses, killed and
interrupted runs, and the refusals; the real-tree tests make the 6.1 and
6.12 series from Debian's trees and from a git repository of 6.1, with the
per-patch build check, then `git am` them onto a pristine copy and compare
with `iommu-dma apply`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from toolrun import CHECKER, TOP, fixture_copy, json_keys, linked_copy, \
    linux_tree, tool, tree_digest

SIGNOFF = 'Test Person <test@example.org>'
OUT_ROOT = Path(os.environ.get('IOMMU_DMA_OUT', TOP / 'build'))
# Checkpatch for fixture trees (no scripts/): the real 6.1 tree's.
CHECKPATCH = linux_tree('6.1') / 'scripts' / 'checkpatch.pl'
GIT_ENV = {'GIT_AUTHOR_NAME': 'T', 'GIT_AUTHOR_EMAIL': 't@example.org',
           'GIT_COMMITTER_NAME': 'T', 'GIT_COMMITTER_EMAIL': 't@example.org'}


def git(cwd: Path, *args: str) -> str:
    res = subprocess.run(['git', *args], cwd=cwd, capture_output=True,
                         text=True, env=dict(os.environ, **GIT_ENV))
    assert res.returncode == 0, f'git {args}: {res.stderr}'
    return res.stdout


def series(kernel: Path, out: Path, *extra: str, work: Path | None = None,
           check: bool = True) -> subprocess.CompletedProcess:
    # Per driver unless the test says otherwise: most tests look at it.
    split = [] if '--split' in extra else ['--split', 'driver']
    args = ['series', str(kernel), '-o', str(out), '--signoff', SIGNOFF,
            '--checker', str(CHECKER), *split, *extra]
    if work:
        args += ['--work-root', str(work)]
    return tool(*args, check=check)


def patches(out: Path) -> list[Path]:
    return sorted(out.glob('[0-9][0-9][0-9][0-9]-*.patch'))


def subject(patch: Path) -> str:
    text = patch.read_text()
    m = re.search(r'^Subject: (.*(?:\n .*)*)', text, re.M)
    assert m, patch
    return re.sub(r'^\[PATCH[^]]*\] ', '', m.group(1).replace('\n', ''))


def touched(patch: Path) -> list[str]:
    return re.findall(r'^diff --git a/(\S+) ', patch.read_text(), re.M)


def am_onto_pristine(pristine: Path, dst: Path, files: list[str],
                     series_files: list[Path]) -> Path:
    """A cp -al copy of pristine with a git baseline, the series applied."""
    linked_copy(pristine, dst)
    git(dst, 'init', '-q')
    git(dst, 'add', '-f', '--', *files)
    git(dst, 'commit', '-qm', 'pristine')
    for p in series_files:
        git(dst, 'am', '-q', str(p))
    return dst


def applied_copy(pristine: Path, dst: Path) -> Path:
    """The tool's own one-shot rewrite, for comparison."""
    if pristine.name == 'linux-fixtures' or 'fixtures' in pristine.name:
        fixture_copy(dst)
    else:
        linked_copy(pristine, dst)
    tool('apply', str(dst))
    return dst


def checkpatch_clean(script: Path, cwd: Path, files: list[Path],
                     no_tree: bool) -> None:
    cmd = ['perl', str(script), '--strict'] + \
        (['--no-tree'] if no_tree else []) + [str(f) for f in files]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    totals = re.findall(r'total: (\d+) errors, (\d+) warnings, (\d+) checks',
                        res.stdout)
    assert len(totals) == len(files), res.stdout[-2000:]
    assert all(t == ('0', '0', '0') for t in totals), res.stdout[-3000:]


def phases(subjects: list[str]) -> list[str]:
    out = []
    for s in subjects:
        if ' to struct iommu_ops' in s:
            out.append('fields')
        elif 'eclare DMA API support' in s:
            out.append('declare')
        elif 'Allocate DMA API domains' in s:
            out.append('core')
        elif s.split(': ', 1)[1].startswith('Remove IOMMU_DOMAIN_DMA '):
            out.append('drop')
        else:
            out.append('?')
    return out


# ---- fixtures -----------------------------------------------------------

@pytest.fixture(scope='module')
def fixture_series(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp('series-fx')
    kernel = fixture_copy(base / 'linux-fixtures')
    before = tree_digest(kernel)
    out = base / 'out'
    res = series(kernel, out, '--checkpatch', str(CHECKPATCH),
                 work=base / 'work')
    return {'base': base, 'kernel': kernel, 'before': before, 'out': out,
            'res': res}


def test_fixture_series_order_and_one_file_per_driver(fixture_series):
    files = patches(fixture_series['out'])
    assert files[0].name == '0000-cover-letter.patch'
    subjects = [subject(p) for p in files[1:]]
    kinds = phases(subjects)
    assert kinds == sorted(kinds, key=['fields', 'declare', 'core',
                                       'drop'].index), subjects
    assert kinds.count('fields') == kinds.count('core') == 1
    dropped = {'chain-first', 'chain-last', 'chain-middle', 'chain-split',
               'legacy-binding', 'switch-first', 'switch-labels', 'two-ops',
               'after-gate', 'attributed-decl', 'wrapped-decl'}
    # flagged, their comparisons left in place: a declare patch only
    kept = {'implicit-dma', 'label-body', 'positive-gate'}
    drivers = dropped | kept
    assert kinds.count('declare') == len(drivers)
    assert kinds.count('drop') == len(dropped)
    for p, kind in zip(files[1:], kinds):
        t = touched(p)
        if kind == 'fields':
            assert t == ['include/linux/iommu.h']
        elif kind == 'core':
            assert t == ['drivers/iommu/iommu.c']
        else:
            assert len(t) == 1 and Path(t[0]).stem in drivers, (p, t)
    # the legacy-binding line rides with that driver's declare patch
    legacy = next(p for p, k in zip(files[1:], kinds)
                  if k == 'declare' and 'legacy-binding' in subject(p))
    assert '+\t\tlegacy_ops.use_dma_iommu = false;' in legacy.read_text()
    # prefixes from the table ({name}) for a tree without history
    assert 'iommu/chain-first: Declare DMA API support in chain_first_ops' \
        in subjects
    assert subjects[0] == \
        'iommu: Add use_dma_iommu and allow_dma_fq to struct iommu_ops'
    # Signed-off-by and From: from SIGNOFF
    for p in files[1:]:
        text = p.read_text()
        assert f'\nSigned-off-by: {SIGNOFF}\n' in text
        assert f'\nFrom: {SIGNOFF}\n' in text.split('\n\n', 1)[0]


def test_fixture_series_leaves_the_tree_alone(fixture_series):
    assert tree_digest(fixture_series['kernel']) == fixture_series['before']


def test_fixture_series_am_equals_apply_and_every_step_builds(
        fixture_series, tmp_path):
    out, kernel = fixture_series['out'], fixture_series['kernel']
    numbered = patches(out)[1:]
    files = sorted({f for p in numbered for f in touched(p)})
    am = am_onto_pristine(kernel, tmp_path / 'am', files, [])
    ref = applied_copy(kernel, tmp_path / 'ref')
    for n, p in enumerate(numbered, 1):
        git(am, 'am', '-q', str(p))
        # independent bisect check: the files this patch touched build
        res = subprocess.run([str(CHECKER), '-O', str(tmp_path / 'kb'),
                              str(am), *touched(p)],
                             capture_output=True, text=True)
        assert res.returncode == 0, (n, p.name, res.stdout, res.stderr)
    for f in files:
        assert (am / f).read_bytes() == (ref / f).read_bytes(), f
    assert len(git(am, 'log', '--format=%H').split()) == len(numbered) + 1


def test_fixture_series_checkpatch_clean_and_cover_letter(fixture_series):
    out = fixture_series['out']
    checkpatch_clean(CHECKPATCH, out, patches(out)[1:], no_tree=True)
    cover = (out / '0000-cover-letter.patch').read_text()
    assert 'Subject: [PATCH 00/27] iommu: Remove IOMMU_DOMAIN_DMA from ' \
        'drivers' in cover
    assert '*** ' not in cover
    for needle in ('drivers/iommu/chain-first.c (chain_first_ops): '
                   'use_dma_iommu',
                   'Behaviour changes, and comparisons left in place',
                   'drivers/iommu/implicit-dma.c',
                   'line 18 `if (type == IOMMU_DOMAIN_UNMANAGED)`: DMA '
                   'domains now take its UNMANAGED branch',
                   'drivers/iommu/label-body.c',
                   'Differences from the sketch',
                   'It follows the sketch Jason Gunthorpe posted',
                   'no scripts/get_maintainer.pl',
                   '--strict --no-tree: no errors, warnings or checks',
                   'git am of the 27 mailed patches onto the base gives',
                   'Base: Linux 6.1.0-fixtures', 'change-id: '):
        assert needle in ' '.join(cover.split()) or needle in cover, needle
    assert max(len(line) for line in cover.split('\n\n', 1)[1].split(
        ' 0 files changed')[0].splitlines()) <= 80


def test_fixture_split0_is_one_patch(tmp_path):
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    out = tmp_path / 'out'
    res = series(kernel, out, '--split', '0', '--checkpatch',
                 str(CHECKPATCH), '--json', work=tmp_path / 'work')
    files = patches(out)
    # JSON=1: the series as tools/json-schema.md lays it out
    data = json.loads(res.stdout)
    assert data['status'] == 'written' and data['number'] == 1
    assert data['files'] == [str(p) for p in files]
    assert json_keys(data, 'series') == set()
    assert [p.name[:4] for p in files] == ['0000', '0001']
    assert subject(files[1]) == 'iommu: Remove IOMMU_DOMAIN_DMA from drivers'
    text = files[1].read_text()
    assert 'Drivers should not have to know about the DMA API' in text
    # written for the history: no copy of the sketch's changelog
    assert 'exactly the same driver functionality' not in text
    ref = applied_copy(kernel, tmp_path / 'ref')
    am = am_onto_pristine(kernel, tmp_path / 'am', touched(files[1]),
                          files[1:])
    for f in touched(files[1]):
        assert (am / f).read_bytes() == (ref / f).read_bytes(), f
    checkpatch_clean(CHECKPATCH, out, files[1:], no_tree=True)


def git_repo(kernel: Path) -> Path:
    """A repository like one made from Debian's tree: its .gitignore
    ignores everything, the files are added with -f."""
    (kernel / '.gitignore').write_text('/*\n')
    git(kernel, 'init', '-q', '-b', 'main')
    git(kernel, 'add', '-f', '.')
    git(kernel, 'commit', '-qm', 'Import fixtures')
    return kernel


def repo_state(repo: Path) -> dict:
    """What the user's repository must keep: HEAD, index, stash,
    worktrees, branches and refs."""
    return {'head': git(repo, 'rev-parse', 'HEAD'),
            'symbolic': subprocess.run(['git', 'symbolic-ref', '-q',
                                        'HEAD'], cwd=repo,
                                       capture_output=True,
                                       text=True).stdout,
            'index': (repo / '.git' / 'index').read_bytes(),
            'stash': git(repo, 'stash', 'list'),
            'worktrees': git(repo, 'worktree', 'list', '--porcelain'),
            'refs': git(repo, 'for-each-ref')}


def addresses(head: str) -> str:
    """The To: and Cc: headers, folded lines included."""
    return '\n'.join(re.findall(r'^(?:To|Cc): .*(?:\n[ \t].*)*', head,
                                re.M))


def run_dirs(work: Path) -> list[Path]:
    """Slots a run is in, or was killed in: with a tree/ copy."""
    root = work / 'series'
    return sorted(p for p in root.iterdir() if (p / 'tree').exists()) \
        if root.is_dir() else []


def slots(work: Path) -> list[Path]:
    root = work / 'series'
    return sorted(p for p in root.iterdir() if p.name != 'logs') \
        if root.is_dir() else []


def test_git_tree_is_only_read(tmp_path):
    kernel = git_repo(fixture_copy(tmp_path / 'linux-fixtures'))
    # history teaches a prefix the table does not have
    f = kernel / 'drivers/iommu/chain-first.c'
    f.write_text(f.read_text() + '/* touch */\n')
    git(kernel, 'commit', '-qam', 'iommu/cfirst: Add a comment')
    # a stash, a detached HEAD and dirty unrelated files
    (kernel / 'Makefile').write_text((kernel / 'Makefile').read_text() +
                                     '# stashed\n')
    git(kernel, 'stash', '-q')
    git(kernel, 'checkout', '-q', '--detach')
    head = git(kernel, 'rev-parse', 'HEAD').strip()
    dirty = kernel / 'Makefile'
    dirty.write_text(dirty.read_text() + '# dirty\n')
    (kernel / 'notes.txt').write_text('untracked\n')
    before = repo_state(kernel)
    digest = tree_digest(kernel)
    out = tmp_path / 'out'
    series(kernel, out, '--checkpatch', str(CHECKPATCH),
           work=tmp_path / 'work')
    assert repo_state(kernel) == before
    assert tree_digest(kernel) == digest
    assert run_dirs(tmp_path / 'work') == []      # nothing left behind
    numbered = patches(out)[1:]
    # every driver found although .gitignore ignores everything
    assert len(numbered) == 27, [p.name for p in numbered]
    subjects = [subject(p) for p in numbered]
    assert 'iommu/cfirst: Declare DMA API support in chain_first_ops' \
        in subjects
    assert all('dirty' not in p.read_text() for p in numbered)
    cover = (out / '0000-cover-letter.patch').read_text()
    assert f'\nbase-commit: {head}\n' in cover
    assert re.search(r'^change-id: \d{8}-remove-iommu-domain-dma-[0-9a-f]{12}$',
                     cover, re.M)
    # OUT holds the mail and nothing else
    assert sorted(p.name for p in out.iterdir()) == \
        sorted(p.name for p in patches(out))
    # the blob ids are HEAD's: git am onto the user's HEAD works
    am = tmp_path / 'am'
    git(tmp_path, 'clone', '-q', str(kernel), str(am))
    git(am, 'checkout', '-q', head)
    for p in numbered:
        git(am, 'am', '-q', str(p))
    ref = tmp_path / 'ref'
    git(tmp_path, 'clone', '-q', str(kernel), str(ref))
    git(ref, 'checkout', '-q', head)
    tool('apply', str(ref))
    for rel in sorted({t for p in numbered for t in touched(p)}):
        assert (am / rel).read_bytes() == (ref / rel).read_bytes(), rel


def test_dirty_target_refused_or_forced(tmp_path):
    kernel = git_repo(fixture_copy(tmp_path / 'linux-fixtures'))
    target = kernel / 'drivers/iommu/chain-last.c'
    target.write_text(target.read_text() + '/* local */\n')
    out = tmp_path / 'out'
    res = series(kernel, out, '--checkpatch', str(CHECKPATCH),
                 work=tmp_path / 'work', check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr
    assert 'drivers/iommu/chain-last.c differs from HEAD' in res.stderr
    assert not out.exists()
    assert run_dirs(tmp_path / 'work') == []
    res = series(kernel, out, '--checkpatch', str(CHECKPATCH), '--force',
                 work=tmp_path / 'work')
    cover = ' '.join((out / '0000-cover-letter.patch').read_text().split())
    assert 'Made from uncommitted changes to drivers/iommu/chain-last.c ' \
        '(FORCE=1)' in cover
    assert 'prerequisite-patch-id: ' in cover
    assert 'FORCE=1' in res.stderr


def test_versions_range_diff_and_mail_options(tmp_path):
    kernel = git_repo(fixture_copy(tmp_path / 'linux-fixtures'))
    out = tmp_path / 'out'
    work = tmp_path / 'work'
    series(kernel, out, '--split', 'stage', work=work)
    v1 = (out / '0000-cover-letter.patch').read_text()
    change_id = re.search(r'^change-id: (\S+)$', v1, re.M).group(1)
    series(kernel, out, '--split', 'stage', '--rfc', '--subject-prefix',
           'PATCH iommu-next', '--suggested-by',
           'Jason Gunthorpe <jgg@nvidia.com>', '--link',
           'https://lore.kernel.org/r/Y9RcvbRxaolX5ZZ8@nvidia.com',
           '--to', 'iommu@lists.linux.dev', '--cc', 'someone@example.org',
           work=work)
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == 'v1' and all(n.startswith('v2-') for n in names[1:])
    assert sorted(p.name for p in (out / 'v1').iterdir()) == [
        '0000-cover-letter.patch'] + [p.name for p in patches(out / 'v1')][1:]
    cover = (out / 'v2-0000-cover-letter.patch').read_text()
    assert 'Subject: [RFC PATCH iommu-next v2 0/3] iommu: Remove ' \
        'IOMMU_DOMAIN_DMA from drivers' in cover
    assert f'change-id: {change_id}' in cover       # the same series
    assert 'Range-diff against v1:' in cover
    assert '+    Suggested-by: Jason Gunthorpe <jgg@nvidia.com>' in cover
    heads = set()
    for p in sorted(out.glob('v2-*.patch')):
        text = p.read_text()
        head = text.split('\n\n', 1)[0]
        assert 'To: iommu@lists.linux.dev' in head
        assert 'Cc: someone@example.org' in head
        heads.add(addresses(head))
        if '0000-cover' not in p.name:
            assert '\nSuggested-by: Jason Gunthorpe <jgg@nvidia.com>\n' \
                'Link: https://lore.kernel.org/r/Y9RcvbRxaolX5ZZ8@nvidia.com'\
                f'\nSigned-off-by: {SIGNOFF}\n' in text
    assert len(heads) == 1          # everyone gets every patch
    # REROLL= wins over counting, and leaves v2 in v2/
    series(kernel, out, '--split', 'stage', '--reroll', '5', work=work)
    assert (out / 'v5-0000-cover-letter.patch').exists()
    assert (out / 'v2' / 'v2-0000-cover-letter.patch').exists()
    assert 'Range-diff against v2:' in \
        (out / 'v5-0000-cover-letter.patch').read_text()


def wait_for(cond, timeout: float = 120) -> None:
    import time
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, 'timed out'
        time.sleep(0.05)


@pytest.mark.parametrize('sig', ['KILL', 'INT'])
def test_killed_or_interrupted_run(tmp_path, sig):
    import signal
    kernel = git_repo(fixture_copy(tmp_path / 'linux-fixtures'))
    before = repo_state(kernel)
    out = tmp_path / 'out'
    work = tmp_path / 'work'
    args = [sys.executable, '-m', 'iommu_dma', 'series', str(kernel), '-o',
            str(out), '--signoff', SIGNOFF, '--checker', str(CHECKER),
            '--work-root', str(work)]
    proc = subprocess.Popen(args, env=dict(os.environ,
                                           PYTHONPATH=str(TOP / 'tools')),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    # mid-run: the copy exists, the rules are running
    wait_for(lambda: any((d / 'tree' / 'Makefile').exists()
                         for d in run_dirs(work)))
    proc.send_signal(getattr(signal, f'SIG{sig}'))
    _, err = proc.communicate(timeout=60)
    assert not out.exists()
    assert repo_state(kernel) == before
    if sig == 'INT':
        assert proc.returncode == 130
        assert err.strip().splitlines()[-1] == 'iommu-dma: interrupted'
        assert run_dirs(work) == []
        # a build may have been cut short: the slot keeps no build dir
        (slot,) = slots(work)
        assert not (slot / 'build').exists()
        assert not (slot / 'build.reusable').exists()
        return
    assert proc.returncode == -9
    left = run_dirs(work)
    assert len(left) == 1
    res = series(kernel, out, '--split', 'stage', work=work)
    assert f'removed {left[0] / "tree"}, left by an interrupted run' in \
        res.stderr
    assert run_dirs(work) == []
    # the slot is taken again, its build dir marked reusable
    assert slots(work) == left and (left[0] / 'build.reusable').exists()
    assert len(patches(out)) == 4
    assert repo_state(kernel) == before


def test_refused_when_a_step_does_not_build(tmp_path):
    """Without the fields patch the drivers' declarations cannot build."""
    cocci = tmp_path / 'cocci'
    shutil.copytree(TOP / 'cocci', cocci)
    (cocci / 'iommu_ops_fields.cocci').write_text(
        '// no fields: the declare patches must fail the bisect check\n'
        'virtual patch\n\n@nothing depends on patch@\n@@\n'
        '- this_identifier_is_nowhere_xyz();\n')
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    out = tmp_path / 'out'
    env_cocci = os.environ.get('IOMMU_DMA_COCCI')
    os.environ['IOMMU_DMA_COCCI'] = str(cocci)
    try:
        res = series(kernel, out, '--checkpatch', str(CHECKPATCH),
                     work=tmp_path / 'work', check=False)
    finally:
        if env_cocci is None:
            del os.environ['IOMMU_DMA_COCCI']
        else:
            os.environ['IOMMU_DMA_COCCI'] = env_cocci
    assert res.returncode == 2, res.stderr
    assert re.search(r'error: build check failed after patch 1/\d+ '
                     r'\(iommu/\S+: Declare', res.stderr), res.stderr
    assert not patches(out) if out.exists() else True


def test_refused_when_checkpatch_complains(tmp_path):
    fake = tmp_path / 'checkpatch.pl'
    fake.write_text('print "WARNING: fake complaint\\n#12: FILE: x.c:1:\\n'
                    '\\ntotal: 0 errors, 1 warnings, 0 checks, '
                    '9 lines checked\\n"; exit 1;\n')
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    out = tmp_path / 'out'
    res = series(kernel, out, '--checkpatch', str(fake),
                 work=tmp_path / 'work', check=False)
    assert res.returncode == 2
    assert 'checkpatch --strict: 0001-' in res.stderr
    assert 'WARNING: fake complaint' in res.stderr
    assert not out.exists() or not patches(out)


def test_bad_input(tmp_path):
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    res = tool('series', str(kernel), '-o', str(tmp_path / 'o'),
               '--signoff', 'no email here', check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1
    assert "expected 'Full Name <user@example.org>'" in res.stderr
    res = series(kernel, kernel / 'out', check=False)
    assert res.returncode == 2 and 'inside the kernel tree' in res.stderr
    res = series(kernel, tmp_path / 'o', '--prefixes',
                 str(tmp_path / 'none.txt'), check=False)
    assert res.returncode == 2 and 'no such prefix table' in res.stderr


def test_prefix_table_override(tmp_path):
    table = tmp_path / 'prefixes.txt'
    table.write_text('drivers/iommu/chain-*  iommu/chains\n*  iommu\n')
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    out = tmp_path / 'out'
    series(kernel, out, '--prefixes', str(table), '--checkpatch',
           str(CHECKPATCH), work=tmp_path / 'work')
    subjects = [subject(p) for p in patches(out)[1:]]
    assert 'iommu/chains: Declare DMA API support in chain_first_ops' \
        in subjects
    assert 'iommu: Declare DMA API support in legacy_ops' in subjects


# ---- real trees ---------------------------------------------------------

STAGES = ['iommu: Let drivers declare DMA API support in struct iommu_ops',
          'iommu: Allocate DMA API domains as IOMMU_DOMAIN_UNMANAGED',
          "iommu: Remove IOMMU_DOMAIN_DMA from the drivers' domain_alloc"]
EXPECT = {
    '6.1': {'declared': ['amd_iommu_ops', 'intel_iommu_ops',
                         'arm_smmu_ops', 'viommu_ops'],
            'fq': True},
    '6.12': {'declared': ['amd_iommu_ops', 'intel_iommu_ops',
                          'viommu_ops'],
             'fq': False},
}


@pytest.fixture(scope='module')
def git_6_1(tmp_path_factory) -> Path:
    """A git repository of Debian's 6.1, made as a user would: its
    .gitignore ignores /*, so everything is added with -f."""
    repo = tmp_path_factory.mktemp('git-6.1') / 'linux'
    subprocess.run(['cp', '-a', str(linux_tree('6.1')), str(repo)],
                   check=True)
    git(repo, 'init', '-q', '-b', 'master')
    # no background gc repacking 78000 loose objects mid-test
    git(repo, 'config', 'gc.auto', '0')
    git(repo, 'add', '-f', '.')
    git(repo, 'commit', '-qm', 'Linux 6.1')
    git(repo, 'tag', 'v6.1')
    return repo


def test_real_git_clone_series(git_6_1, tmp_path) -> None:
    """From a git repository of 6.1: killed mid-run, then twice in a row
    (the second is v2 with a range-diff); the repository keeps HEAD,
    index, stash, worktrees and branches; OUT holds only mail."""
    import signal
    repo = git_6_1
    (repo / 'README').write_text((repo / 'README').read_text() + 'x\n')
    git(repo, 'stash', '-q')
    (repo / 'MAINTAINERS.local').write_text('untracked\n')
    before = repo_state(repo)
    out = tmp_path / 'out'
    # the shared root: the boot check reuses test_boot's pristine builds
    work = OUT_ROOT
    args = [sys.executable, '-m', 'iommu_dma', 'series', str(repo), '-o',
            str(out), '--signoff', SIGNOFF, '--checker', str(CHECKER),
            '--work-root', str(work)]
    proc = subprocess.Popen(args, env=dict(os.environ,
                                           PYTHONPATH=str(TOP / 'tools')),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    # mid-run: patch 1 is committed, its build check starts
    wait_for(lambda: any((d / 'message').exists() for d in run_dirs(work)),
             timeout=600)
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and repo_state(repo) == before
    killed = run_dirs(work)
    assert len(killed) == 1 and not (killed[0] / 'build.reusable').exists()
    res = series(repo, out, '--split', 'stage', '--boot', work=work)
    assert 'left by an interrupted run' in res.stderr
    check_real_series('6.1', repo, out, res, tmp_path, boot=True)
    cover = (out / '0000-cover-letter.patch').read_text()
    head = git(repo, 'rev-parse', 'HEAD').strip()
    assert f'\nbase-commit: {head}\n' in cover
    assert f'Base: {head} (v6.1)' in cover
    res = series(repo, out, '--split', 'stage', work=work)
    assert sorted(p.name for p in out.iterdir()) == ['v1'] + sorted(
        p.name for p in out.glob('v2-*.patch'))
    assert len(list(out.glob('v2-*.patch'))) == 4
    v2 = (out / 'v2-0000-cover-letter.patch').read_text()
    assert 'Range-diff against v1:' in v2
    # the same patches: every commit of v1 has its twin in v2
    assert re.findall(r'^\d+:  \w+ = \d+:  \w+ ', v2, re.M).__len__() == 3
    assert repo_state(repo) == before
    assert run_dirs(work) == []
    # v2 reused v1's build dir (the same slot, the same tree path): every
    # object of the last build check was kept, make never started (its
    # command line opens the log when it does)
    logs = sorted((killed[0] / 'build').glob('kbuild/*/logs/*-build.log'))
    assert logs, 'no build check log in the reused slot'
    for log in logs:
        text = log.read_text()
        assert 'kept from an earlier run' in text, log
        assert not re.search(r'^\$ .*\bmake\b', text, re.M), log


@pytest.mark.parametrize('version', ['6.12'])
def test_real_tree_series(version: str, tmp_path) -> None:
    """A tarball tree: Debian's 6.12 as unpacked."""
    pristine = linux_tree(version)
    out = tmp_path / 'out'
    res = series(pristine, out, '-j', '2', '--split', 'stage',
                 work=tmp_path / 'work')
    check_real_series(version, pristine, out, res, tmp_path, boot=False)
    cover = ' '.join((out / '0000-cover-letter.patch').read_text().split())
    assert f'Base: Debian linux-source-{version} ' in cover, cover
    assert 'no base-commit' in cover


def check_real_series(version: str, kernel: Path, out: Path,
                      res: subprocess.CompletedProcess, tmp_path: Path,
                      boot: bool) -> None:
    pristine = linux_tree(version)
    files = patches(out)
    numbered = files[1:]
    want = EXPECT[version]
    subjects = [subject(p) for p in numbered]
    assert subjects == STAGES, res.stdout
    declare = ' '.join(numbered[0].read_text().split())
    for ops in want['declared']:
        assert f'{ops} (' in declare, ops
    assert ('allow_dma_fq' in declare) == want['fq']
    kinds = phases(subjects)
    assert kinds == sorted(kinds, key=['fields', 'declare', 'core',
                                       'drop'].index), subjects
    # the bisect check ran after every patch (all of them touch C files)
    assert len(re.findall(r'build check \d+/\d+: .* built', res.stderr)) \
        == len(numbered), res.stderr
    # To:/Cc: from get_maintainer.pl over the whole series, the same on
    # every patch and the cover letter
    heads = {addresses(p.read_text().split('\n\n', 1)[0]) for p in files}
    assert len(heads) == 1, heads
    head = heads.pop()
    assert re.search(r'^To: .*<.*@.*>', head, re.M), head
    assert 'iommu@lists.linux.dev' in head, head
    if version == '6.1':   # a driver maintainer sees the core patch too
        assert 'dwmw2@infradead.org' in head or 'baolu.lu' in head, head
    checkpatch_clean(pristine / 'scripts' / 'checkpatch.pl', pristine,
                     numbered, no_tree=False)
    touched_files = sorted({f for p in numbered for f in touched(p)})
    am = am_onto_pristine(pristine, tmp_path / 'am', touched_files,
                          numbered)
    ref = applied_copy(pristine, tmp_path / 'ref')
    for f in touched_files:
        assert (am / f).read_bytes() == (ref / f).read_bytes(), f
    cover = (out / '0000-cover-letter.patch').read_text()
    assert 'scripts/kernel-doc -none on include/linux/iommu.h: no new' \
        in ' '.join(cover.split())
    if boot:
        assert 'Boot check (default domain type per group' in cover
        table = cover[cover.index('Boot check'):]
        for iommu in ('intel', 'amd', 'virtio'):
            assert re.search(rf'^  {iommu} +lazy .* same as pristine$',
                             table, re.M), table
    else:
        assert 'boot: not run (BOOT=0)' in cover
    assert 'protection_domain_alloc()' in cover     # its behaviour change
    core = next(p for p, k in zip(numbered, kinds) if k == 'core')
    assert 'first_level_by_default()' in ' '.join(core.read_text().split())


def test_fixture_stage_series(tmp_path):
    """SPLIT=stage (the default of make series): three patches, each
    bisect-checked, checkpatch clean, and git am gives the apply tree."""
    kernel = fixture_copy(tmp_path / 'linux-fixtures')
    out = tmp_path / 'out'
    series(kernel, out, '--split', 'stage', '--checkpatch',
           str(CHECKPATCH), work=tmp_path / 'work')
    numbered = patches(out)[1:]
    assert [subject(p) for p in numbered] == STAGES
    checkpatch_clean(CHECKPATCH, out, numbered, no_tree=True)
    files = sorted({f for p in numbered for f in touched(p)})
    am = am_onto_pristine(kernel, tmp_path / 'am', files, numbered)
    ref = applied_copy(kernel, tmp_path / 'ref')
    for f in files:
        assert (am / f).read_bytes() == (ref / f).read_bytes(), f
    cover = (out / '0000-cover-letter.patch').read_text()
    assert 'Subject: [PATCH 0/3]' in cover
    assert 'boot: not run (BOOT=0)' in cover


def test_slots_concurrent_killed_and_reused(tmp_path):
    """Two live runs take two slots; an ended run leaves its build dir for
    the next run in its slot; a killed one (its lock gone, its copy left)
    loses both, and the next run says so."""
    sys.path.insert(0, str(TOP / 'tools'))
    from iommu_dma.series.workdir import RunDir
    root = tmp_path / 'series'
    first = RunDir.create(root, 'linux-6.1')
    second = RunDir.create(root, 'linux-6.1')
    assert (first.path.name, second.path.name) == ('linux-6.1.0',
                                                   'linux-6.1.1')
    (first.build / 'kept.o').write_text('x')
    first.tree.mkdir()
    first.close(failed=False)
    assert not first.tree.exists() and (first.build / 'kept.o').exists()
    again = RunDir.create(root, 'linux-6.1')      # slot 0 is free again
    assert again.path == first.path and again.removed == []
    assert (again.build / 'kept.o').exists()
    # killed: the lock goes with the process, the copy stays
    again.tree.mkdir()
    again.lock.close()
    after = RunDir.create(root, 'linux-6.1')
    assert after.path == first.path
    assert after.removed == ['linux-6.1.0/tree']
    assert not after.tree.exists()
    assert after.build.is_dir() and not any(after.build.iterdir())
    # interrupted: nothing of the build kept either
    after.close(failed=True, reusable=False)
    assert not after.build.exists() and not after.reusable.exists()
    second.close(failed=False)


def test_b4_prep_branch(tmp_path):
    """B4=1: b4 itself enrolls the series and keeps its cover letter; the
    branch lands in the user's repository beside its own, and b4 works on
    it there without edits."""
    kernel = git_repo(fixture_copy(tmp_path / 'linux-fixtures'))
    git(kernel, 'config', 'user.name', 'Kernel Dev')
    git(kernel, 'config', 'user.email', 'dev@example.org')
    before = git(kernel, 'symbolic-ref', 'HEAD').strip()
    out = tmp_path / 'out'
    series(kernel, out, '--checkpatch', str(CHECKPATCH), '--b4', '--to',
           'iommu@lists.example.org', '--split', 'stage',
           work=tmp_path / 'work')
    assert git(kernel, 'symbolic-ref', 'HEAD').strip() == before
    branch = 'b4/iommu-dma-v1'
    git(kernel, 'checkout', '-q', branch)
    info = subprocess.run(['b4', 'prep', '--show-info'], cwd=kernel,
                          capture_output=True, text=True, check=True).stdout
    assert 'cover-subject: iommu: Remove IOMMU_DOMAIN_DMA from drivers' \
        in info
    sent = tmp_path / 'sent'
    subprocess.run(['b4', 'send', '--dry-run', '--no-sign', '-o', str(sent)],
                   cwd=kernel,
                   capture_output=True, text=True, check=True)
    mails = sorted(sent.iterdir())
    assert len(mails) == len(patches(out))      # the cover and 3 patches
    assert 'To: iommu@lists.example.org' in mails[0].read_text()
    # a second run does not overwrite the user's branch
    git(kernel, 'checkout', '-q', before.removeprefix('refs/heads/'))
    res = series(kernel, tmp_path / 'out2', '--checkpatch', str(CHECKPATCH),
                 '--b4', '--to', 'iommu@lists.example.org', '--reroll', '1',
                 work=tmp_path / 'work', check=False)
    assert res.returncode == 2 and f'branch {branch} exists' in res.stderr
