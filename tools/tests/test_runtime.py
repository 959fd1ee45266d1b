"""What keeps the rewritten kernel working, short of booting it.

Every driver that took DMA domains keeps them (the whole-path model, with
the core's fallback), a driver the new core would starve is refused by
name, behaviour the gate cannot show is a finding with file, function and
line, and discovery sees every way an ops table is written.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from toolrun import FIXTURES, TOP, fixture_copy, gate_of, linux_tree, \
    tool, tree_digest

sys.path.insert(0, str(TOP / 'tools'))

from iommu_dma import proof  # noqa: E402
from iommu_dma.tree import KernelTree  # noqa: E402

TYPES = proof.domain_types((FIXTURES / 'include/linux/iommu.h').read_text())

DMA_ONLY = '''// SPDX-License-Identifier: GPL-2.0
#include <linux/iommu.h>

static struct iommu_domain dma_only_domain;

static struct iommu_domain *dma_only_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_IDENTITY)
		return NULL;

	return &dma_only_domain;
}

static const struct iommu_ops dma_only_ops = {
	.domain_alloc	= dma_only_domain_alloc,
};
'''


gate = gate_of


# --- the whole-path model ---------------------------------------------

def test_dma_without_unmanaged_loses_dma_on_the_path():
    before = gate('if (type != IOMMU_DOMAIN_DMA && '
                  'type != IOMMU_DOMAIN_IDENTITY)\n\treturn NULL;')
    after = gate('if (type != IOMMU_DOMAIN_IDENTITY)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, before, after,
                        proof.Check(True, False, True), 'dma-only')
    assert ev.verdict == ('counterexample: request DMA: gets DMA before, '
                          'no domain after')


def test_fallback_keeps_dma_for_a_driver_without_fq():
    """DMA_FQ refused without allow_dma_fq falls back to DMA, as before."""
    before = gate('if (type != IOMMU_DOMAIN_UNMANAGED && '
                  'type != IOMMU_DOMAIN_DMA)\n\treturn NULL;')
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, before, after,
                        proof.Check(True, False, True), 'no-fq')
    assert ev.verdict == 'proved'


def test_flag_given_to_a_driver_that_never_took_dma_is_caught():
    unmanaged = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, unmanaged, unmanaged,
                        proof.Check(True, False, True), 'extra flag')
    assert ev.verdict == ('counterexample: request DMA: gets no domain '
                          'before, DMA after')


def test_missing_allow_dma_fq_downgrades_and_is_caught():
    both = gate('if (type != IOMMU_DOMAIN_UNMANAGED && '
                'type != IOMMU_DOMAIN_DMA && type != IOMMU_DOMAIN_DMA_FQ)'
                '\n\treturn NULL;')
    after = gate('if (type != IOMMU_DOMAIN_UNMANAGED)\n\treturn NULL;')
    ev = proof.evaluate(TYPES, both, after,
                        proof.Check(True, False, True), 'no allow_dma_fq')
    assert ev.verdict == ('counterexample: request DMA_FQ: gets DMA_FQ '
                          'before, DMA after')


def test_positive_gate_is_modelled():
    g = gate('if (type == IOMMU_DOMAIN_UNMANAGED || '
             'type == IOMMU_DOMAIN_DMA)\n\treturn &d;\nreturn NULL;')
    ev = proof.evaluate(TYPES, g, g, proof.Check(True, False, True), 'pos')
    assert ev.verdict == 'proved'
    assert proof.accepted(ev.before, ev.variables, TYPES) == \
        ['UNMANAGED', 'DMA']


# --- refusal by name, and the user's override -------------------------

def test_driver_that_would_lose_dma_is_refused_by_name(tmp_path):
    linux = fixture_copy(tmp_path / 'linux')
    (linux / 'drivers/iommu/dma-only.c').write_text(DMA_ONLY)
    before = tree_digest(linux)
    res = tool('apply', str(linux), check=False)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[0] == 'iommu-dma: error: refused: 1 driver would not ' \
        'keep the domains it got; nothing written:', res.stderr
    assert len(lines) == 3, res.stderr
    assert 'dma_only_ops' in lines[1] and \
        'request DMA: gets DMA before, no domain after' in lines[1] and \
        'never UNMANAGED' in lines[1], res.stderr
    assert lines[2].endswith('ALLOW_DMA_LOSS=dma_only_ops (--allow-dma-loss)')
    assert tree_digest(linux) == before
    res = tool('apply', '--allow-dma-loss', 'dma_only_ops', str(linux))
    assert 'dma_only_ops +.use_dma_iommu' in res.stdout


def test_every_refused_driver_in_one_run_and_diff_agrees(tmp_path):
    """Two drivers that would lose DMA: one run names both; diff judges
    as apply does (same lines, same status, no diff on stdout) and
    previews apply exactly once the user accepts the loss."""
    linux = fixture_copy(tmp_path / 'linux')
    (linux / 'drivers/iommu/dma-only.c').write_text(DMA_ONLY)
    (linux / 'drivers/iommu/dma-only2.c').write_text(
        DMA_ONLY.replace('dma_only', 'dma_two'))
    before = tree_digest(linux)
    diff = tool('diff', str(linux), check=False)
    apply = tool('apply', str(linux), check=False)
    assert diff.returncode == apply.returncode == 2
    assert diff.stdout == ''
    refusal = [line for line in apply.stderr.splitlines()
               if not line.startswith('iommu-dma: linux')]
    assert [line for line in diff.stderr.splitlines()
            if not line.startswith('iommu-dma: linux')] == refusal
    assert refusal[0].startswith('iommu-dma: error: refused: 2 drivers '
                                 'would not ')
    assert sum('dma_only_ops' in x for x in refusal[1:3]) == 1
    assert sum('dma_two_ops' in x for x in refusal[1:3]) == 1
    assert refusal[3].endswith('ALLOW_DMA_LOSS=dma_only_ops,dma_two_ops '
                               '(--allow-dma-loss)')
    assert tree_digest(linux) == before
    allow = ('--allow-dma-loss', 'dma_only_ops,dma_two_ops')
    preview = tool('diff', *allow, str(linux)).stdout
    assert '+\t.use_dma_iommu\t= true,' in preview
    patched = fixture_copy(tmp_path / 'patched')
    shutil.copy(linux / 'drivers/iommu/dma-only.c', patched / 'drivers/iommu')
    shutil.copy(linux / 'drivers/iommu/dma-only2.c',
                patched / 'drivers/iommu')
    subprocess.run(['patch', '-s', '-p1', '-d', str(patched)],
                   input=preview, text=True, check=True)
    tool('apply', *allow, str(linux))
    shutil.rmtree(linux / '.iommu-dma')
    assert tree_digest(linux) == tree_digest(patched)


# --- findings the gate cannot show ------------------------------------

def test_behaviour_findings_on_fixtures(tmp_path):
    linux = fixture_copy(tmp_path / 'linux')
    out = tool('diff', str(linux)).stderr
    assert ('drivers/iommu/after-gate.c: after_gate_domain_alloc(): line 18 '
            '`if (type == IOMMU_DOMAIN_UNMANAGED)`: DMA domains now take '
            'its UNMANAGED branch') in out
    assert ('drivers/iommu/label-body.c: label_body_domain_alloc(): line 14 '
            '`case IOMMU_DOMAIN_DMA:`') in out
    assert 'in implicit_use_v2_table()' in out
    # flagged although their comparisons stay
    for ops in ('implicit_ops +.use_dma_iommu', 'label_body_ops +.use_dma',
                'positive_ops +.use_dma_iommu', 'implicit_ops +.allow_dma'):
        assert ops in out, ops
    # discovery: wrapped and attributed declarations are rewritten
    assert 'wrapped_ops +.use_dma_iommu' in out
    assert 'attributed_ops +.allow_dma_fq' in out


def test_macro_built_domain_alloc_stops_the_run(tmp_path):
    linux = fixture_copy(tmp_path / 'linux')
    (linux / 'drivers/iommu/macro.c').write_text(
        '#include <linux/iommu.h>\n'
        '#define MACRO_OPS(n, fn) const struct iommu_ops n = '
        '{ .domain_alloc = fn, }\n'
        'static struct iommu_domain *m_alloc(unsigned int type)\n'
        '{\n\treturn NULL;\n}\n'
        'MACRO_OPS(m_ops, m_alloc);\n')
    res = tool('diff', str(linux), check=False)
    assert res.returncode == 2 and res.stdout == ''
    lines = res.stderr.splitlines()
    assert lines[0] == "iommu-dma: error: refused: 2 places out of the " \
        "rules' reach; nothing written:"
    # The #define itself is what a text scan sees: an initializer whose
    # allocator is a macro argument, which spatch never parses.
    assert lines[1:] == [
        '  drivers/iommu/macro.c: n: .domain_alloc = fn: no such function '
        'defined in this file',
        '  drivers/iommu/macro.c: struct iommu_ops n: spatch did not parse '
        'it']


# --- the real trees ---------------------------------------------------

def summary_of(version: str) -> str:
    return tool('diff', str(linux_tree(version))).stderr


def test_61_amd_keeps_dma_and_the_findings_say_what_changes():
    out = summary_of('6.1')
    assert 'amd_iommu_ops +.allow_dma_fq; amd_iommu_ops +.use_dma_iommu' \
        in out
    assert ('intel/iommu.c: intel_iommu_domain_alloc(): line 1806, in '
            'first_level_by_default() `return type != '
            'IOMMU_DOMAIN_UNMANAGED;`: DMA domains on scalable-mode hardware '
            'with both levels move from first-level to second-level page '
            'tables') in out
    assert ('amd/iommu.c: amd_iommu_domain_alloc(): line 2098, in '
            'protection_domain_alloc()') in out
    assert 'iommu.c: __iommu_domain_alloc() rewritten' in out


def test_612_amd_gets_use_dma_iommu_and_the_right_line():
    out = summary_of('6.12')
    assert 'amd_iommu_ops +.use_dma_iommu' in out
    assert 'amd_iommu_ops +.allow_dma_fq' not in out
    assert ('amd/iommu.c: amd_iommu_domain_alloc(): line 2558, in '
            'protection_domain_alloc() `case IOMMU_DOMAIN_DMA:`') in out


def test_report_proves_every_driver_on_61():
    out = tool('report', str(linux_tree('6.1'))).stdout
    assert '12 gates rewritten, 20 proved, 0 failed' in out
    amd = [line for line in out.splitlines()
           if line.startswith('drivers/iommu/amd/iommu.c')][0]
    assert amd.split()[-2:] == ['use_dma_iommu,allow_dma_fq', 'proved']


# --- interruptions ----------------------------------------------------

def test_ctrl_c_says_interrupted_and_leaves_no_scratch(tmp_path) -> None:
    scratch = tmp_path / 'tmp'
    scratch.mkdir()
    env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'),
               TMPDIR=str(scratch), IOMMU_DMA_CACHE='')
    cmd = [sys.executable, '-m', 'iommu_dma', 'diff', '-j', '2',
           str(linux_tree('6.1'))]
    # Interrupt early, midway and late in a run as long as this machine's.
    start = time.monotonic()
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    whole = time.monotonic() - start
    for delay in (0.1 * whole, 0.4 * whole, 0.75 * whole):
        while True:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            time.sleep(delay)
            if proc.poll() is None:
                break
            # This run outran the first: interrupt it earlier.
            proc.communicate()
            delay /= 2
        os.killpg(proc.pid, signal.SIGINT)     # Ctrl-C: the whole group
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert err == 'iommu-dma: interrupted\n', err
        assert list(scratch.iterdir()) == []


def test_spatch_wrapper_that_does_not_exec(tmp_path) -> None:
    """A started spatch with nothing to run is stopped (v6.6: no driver
    names IOMMU_DOMAIN_DMA_FQ), also when `spatch` on PATH is a script
    that runs the real one as its child: no hang, nothing left running."""
    linux = tmp_path / 'linux'
    shutil.copytree(FIXTURES / 'eras/v6.6', linux)
    bindir, scratch = tmp_path / 'bin', tmp_path / 'tmp'
    bindir.mkdir()
    scratch.mkdir()
    wrapper = bindir / 'spatch'
    wrapper.write_text(f'#!/bin/sh\n{shutil.which("spatch")} "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'),
               IOMMU_DMA_CACHE='', TMPDIR=str(scratch))
    cmd = [sys.executable, '-m', 'iommu_dma', 'diff', '-j', '2', str(linux)]
    direct = subprocess.run(cmd, env=env, capture_output=True, check=True)
    env['PATH'] = f'{bindir}:{env["PATH"]}'
    wrapped = subprocess.run(cmd, env=env, capture_output=True, check=True,
                             timeout=60)    # it hung here once
    assert wrapped.stdout == direct.stdout
    left = [pid for pid in os.listdir('/proc') if pid.isdigit() and
            str(scratch).encode() in read_cmdline(pid)]
    assert left == []


def read_cmdline(pid: str) -> bytes:
    try:
        return (Path('/proc') / pid / 'cmdline').read_bytes()
    except OSError:     # gone meanwhile
        return b''


def test_odd_file_names(tmp_path) -> None:
    """spatch cannot write a file whose name has a space, nor name one
    that is not UTF-8: each is one line and nothing written."""
    linux = fixture_copy(tmp_path / 'linux')
    src = (FIXTURES / 'drivers/iommu/chain-first.c').read_text()
    spaced = linux / 'drivers/iommu/with space.c'
    spaced.write_text(src.replace('chain_first', 'with_space'))
    before = tree_digest(linux)
    res = tool('apply', str(linux), check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr
    assert res.stderr.startswith('iommu-dma: error: drivers/iommu/with '
                                 'space.c: ')
    assert tree_digest(linux) == before
    spaced.unlink()
    bad = os.path.join(os.fsencode(linux / 'drivers/iommu'), b'bad\xff.c')
    with open(bad, 'w') as f:
        f.write(src.replace('chain_first', 'bad_name'))
    before = tree_digest(linux)
    res = tool('apply', str(linux), check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr
    assert res.stderr.startswith('iommu-dma: error: ')
    assert tree_digest(linux) == before


def test_git_repo_ignoring_everything_still_finds_every_driver(
        tmp_path) -> None:
    """Debian's tree has `/*` in .gitignore; a repo made from it must not
    make git grep blind (it once gave a series of no driver at all)."""
    linux = fixture_copy(tmp_path / 'linux')
    (linux / '.gitignore').write_text('/*\n')
    git = ['git', '-C', str(linux), '-c', 'user.name=T',
           '-c', 'user.email=t@example.org']
    subprocess.run(git[:3] + ['init', '-q'], check=True)
    subprocess.run(git + ['add', '-f', '.gitignore', 'Makefile'],
                   check=True)
    subprocess.run(git + ['commit', '-qm', 'base'], check=True)
    plain = fixture_copy(tmp_path / 'plain')
    assert KernelTree.open(linux).candidates() == \
        KernelTree.open(plain).candidates()


def test_missing_iommu_c_is_one_line(tmp_path) -> None:
    linux = fixture_copy(tmp_path / 'linux')
    (linux / 'drivers/iommu/iommu.c').unlink()
    before = tree_digest(linux)
    res = tool('apply', str(linux), check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr
    assert res.stderr.startswith('iommu-dma: error: ')
    assert 'Traceback' not in res.stderr
    assert tree_digest(linux) == before


def test_kernel_path_with_a_space_works(tmp_path) -> None:
    linux = fixture_copy(tmp_path / 'with space' / 'linux')
    res = tool('apply', str(linux))
    assert '16 files rewritten' in res.stdout, res.stdout


def test_write_failure_is_one_line_and_writes_nothing(tmp_path) -> None:
    """A full disk, as a file size limit: every write past 2 KiB fails
    (EFBIG); the error is one line and the tree is left as it was."""
    import resource
    linux = fixture_copy(tmp_path / 'linux')
    before = tree_digest(linux)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    res = subprocess.run([sys.executable, '-m', 'iommu_dma', 'apply',
                          str(linux)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(TOP / 'tools'),
                                  IOMMU_DMA_CACHE=''),
                         preexec_fn=limit)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert res.stderr.count('\n') == 1 and 'Traceback' not in res.stderr, \
        res.stderr
    assert res.stderr.startswith('iommu-dma: error: ')
    assert tree_digest(linux) == before
