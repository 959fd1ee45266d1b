"""The tool end to end on linux-fixtures (a scratch copy of it)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from toolrun import EXPECTED, FIXTURES, CHECKER, fixture_copy, tool, \
    tree_digest

EXPECTED_DIFF = EXPECTED / 'linux-fixtures.diff'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return fixture_copy(tmp_path / 'linux')


@pytest.fixture(scope='module')
def rewritten(tmp_path_factory) -> tuple[Path, str]:
    tree = fixture_copy(tmp_path_factory.mktemp('rewritten') / 'linux')
    return tree, tool('apply', str(tree)).stdout


def test_diff_matches_expected(tree: Path) -> None:
    got = tool('diff', str(tree)).stdout
    assert got == EXPECTED_DIFF.read_text(), \
        'fixture diff drifted: compare with `make diff` and update ' \
        'expected/linux-fixtures.diff if the change is intended'


def test_diff_changes_nothing(tree: Path) -> None:
    before = tree_digest(tree)
    tool('diff', str(tree))
    tool('manifest', str(tree))
    assert tree_digest(tree) == before
    assert not (tree / '.iommu-dma').exists()


def test_apply_equals_diff(tree: Path) -> None:
    """apply writes exactly what diff shows: patch(1) of the diff agrees."""
    diff = tool('diff', str(tree)).stdout
    patched = fixture_copy(tree.parent / 'patched')
    subprocess.run(['patch', '-s', '-p1', '-d', str(patched)], input=diff,
                   text=True, check=True)
    tool('apply', str(tree))
    shutil.rmtree(tree / '.iommu-dma')
    assert tree_digest(tree) == tree_digest(patched)


def test_second_apply_is_a_no_op(tree: Path) -> None:
    tool('apply', str(tree))
    state = tree / '.iommu-dma'
    record = (state / 'record.json').read_text()
    digest = tree_digest(tree)
    res = tool('apply', str(tree))
    assert 'nothing to change' in res.stdout
    assert tree_digest(tree) == digest
    assert (state / 'record.json').read_text() == record
    # what the first apply did, read back from its record
    assert f'rewritten earlier ({state}/record.json): 16 files, ' in \
        res.stdout
    assert '  drivers/iommu/chain-first.c: chain_first_domain_alloc() ' \
        '-IOMMU_DOMAIN_DMA (chain)' in res.stdout


def test_originals_kept(rewritten: tuple[Path, str]) -> None:
    tree, _ = rewritten
    orig = tree / '.iommu-dma' / 'orig'
    for rel in ('drivers/iommu/chain-first.c', 'include/linux/iommu.h'):
        assert (orig / rel).read_bytes() == (FIXTURES / rel).read_bytes()


@pytest.mark.parametrize('rel', [
    'drivers/iommu/unmanaged-only.c',  # accepts only UNMANAGED
])
def test_must_not_touch_files(rewritten: tuple[Path, str], rel: str) -> None:
    tree, _ = rewritten
    assert (tree / rel).read_bytes() == (FIXTURES / rel).read_bytes()


@pytest.mark.parametrize('rel', [
    'drivers/iommu/label-body.c',      # DMA label with a body of its own
    'drivers/iommu/implicit-dma.c',    # no type filter
    'drivers/iommu/positive-gate.c',   # type == UNMANAGED || type == DMA
])
def test_flag_added_comparisons_kept(rewritten: tuple[Path, str],
                                     rel: str) -> None:
    """Only the flag lines are added: the comparisons stay as they were."""
    tree, _ = rewritten
    got = (tree / rel).read_text().splitlines()
    want = (FIXTURES / rel).read_text().splitlines()
    added = [line for line in got if line not in want]
    assert added and all(re.fullmatch(
        r'\t\.(use_dma_iommu|allow_dma_fq)\s+= true,', line)
        for line in added), added
    assert [line for line in got if line not in added] == want


def test_dma_outside_domain_alloc_stays(rewritten: tuple[Path, str]) -> None:
    tree, _ = rewritten
    text = (tree / 'drivers/iommu/chain-first.c').read_text()
    attach = text[text.index('chain_first_attach_dev(struct'):]
    assert 'case IOMMU_DOMAIN_DMA:' in attach
    assert 'return IOMMU_DOMAIN_DMA;' in text
    assert 'type != IOMMU_DOMAIN_DMA' not in text


def test_two_ops_only_one_flagged(rewritten: tuple[Path, str]) -> None:
    tree, _ = rewritten
    text = (tree / 'drivers/iommu/two-ops.c').read_text()
    dma = text[text.index('two_ops_dma_ops = {'):]
    plain = text[text.index('two_ops_plain_ops = {'):]
    assert len(re.findall(r'\.use_dma_iommu\s+= true',
                          dma.split('};')[0])) == 1
    assert '.use_dma_iommu' not in plain.split('};')[0]


def test_legacy_binding_clears_flag(rewritten: tuple[Path, str]) -> None:
    tree, _ = rewritten
    text = (tree / 'drivers/iommu/legacy-binding.c').read_text()
    assert 'using_legacy_binding = true;\n\t\tlegacy_ops.use_dma_iommu = ' \
        'false;' in text
    assert 'using_legacy_binding ||' not in text


def test_summary_reports_what_it_cannot_rewrite(
        rewritten: tuple[Path, str]) -> None:
    _, out = rewritten
    human = out[out.index('for a human'):]
    assert 'implicit_domain_alloc(): no type filter' in human
    assert 'implicit_use_v2_table()' in human
    assert 'label_body_domain_alloc(): IOMMU_DOMAIN_DMA still compared' \
        in human


def test_committed_fixtures_untouched() -> None:
    res = subprocess.run(['git', 'status', '--porcelain', '--',
                          str(FIXTURES)], capture_output=True, text=True,
                         cwd=FIXTURES)
    assert res.stdout == ''


def test_parts_drivers_and_core(tmp_path: Path) -> None:
    pristine = fixture_copy(tmp_path / 'pristine')
    digest = tree_digest(pristine)
    # Drivers alone: the flags would not compile without the fields.
    res = tool('apply', '--parts', 'drivers', str(pristine), check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1
    assert 'PARTS=drivers: include/linux/iommu.h has no use_dma_iommu ' \
        'field yet' in res.stderr
    # The core alone would leave every driver without its flag: refused,
    # naming every driver that would lose its DMA domains.
    res = tool('apply', '--parts', 'core', str(pristine), check=False)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0].startswith('iommu-dma: error: refused: ')
    for ops in ('chain_first_ops', 'switch_labels_ops', 'implicit_ops'):
        assert any(ops in x and 'gets DMA before, no domain after' in x
                   for x in lines[1:]), res.stderr
    assert tree_digest(pristine) == digest


@pytest.mark.parametrize('restored', ['drivers/iommu/iommu.c',
                                      'include/linux/iommu.h'])
def test_core_restored_after_apply_is_refused(tmp_path: Path,
                                              restored: str) -> None:
    tree = fixture_copy(tmp_path / 'linux')
    tool('apply', str(tree))
    (tree / restored).unlink()
    shutil.copy(FIXTURES / restored, tree / restored)
    digest = tree_digest(tree)
    res = tool('apply', str(tree), check=False)
    assert res.returncode == 2 and res.stderr.count('\n') == 1
    assert 'partly rewritten tree' in res.stderr
    assert f'not rewritten: {restored}' in res.stderr
    assert tree_digest(tree) == digest


def test_unknown_core_shape_refused(tree: Path) -> None:
    core = tree / 'drivers/iommu/iommu.c'
    text = core.read_text().replace('if (!dom && type != IOMMU_DOMAIN_DMA)',
                                    'if (!dom)')
    core.unlink()
    core.write_text(text)
    digest = tree_digest(tree)
    res = tool('apply', str(tree), check=False)
    assert res.returncode == 2
    assert res.stderr.count('\n') == 1
    assert 'drivers/iommu/iommu.c: no known core shape' in res.stderr
    assert '__iommu_domain_alloc()' in res.stderr
    assert tree_digest(tree) == digest
    # No advice that leads to a broken tree.
    assert 'PARTS=drivers' not in res.stderr


CORE_DRIVER = '''
static struct iommu_domain *core_self_domain_alloc(unsigned int type)
{
	if (type != IOMMU_DOMAIN_UNMANAGED && type != IOMMU_DOMAIN_DMA)
		return NULL;
	return NULL;
}

static const struct iommu_ops core_self_ops = {
	.domain_alloc = core_self_domain_alloc,
};
'''


def test_driver_in_core_file(tree: Path) -> None:
    """An ops initialized in iommu.c itself: the core step, which otherwise
    runs beside the drivers' scan, sees what the driver steps did to it,
    and the driver's changes survive the core's."""
    core = tree / 'drivers/iommu/iommu.c'
    core.write_text(core.read_text() + CORE_DRIVER)
    diff = tool('diff', str(tree)).stdout
    hunk = diff.split('+++ b/drivers/iommu/iommu.c\n')[1].split('\n--- ')[0]
    assert '+\t\talloc_type = IOMMU_DOMAIN_UNMANAGED;' in hunk
    assert '+\t.use_dma_iommu = true,\n \t.domain_alloc = core_self_' in hunk
    assert '+\tif (type != IOMMU_DOMAIN_UNMANAGED)\n' in hunk

@pytest.mark.parametrize('args, message', [
    (['apply', '/nonexistent/linux'], 'no such directory'),
    (['apply', str(FIXTURES / 'drivers')], 'not a kernel tree'),
])
def test_bad_input_one_line(args: list[str], message: str) -> None:
    res = tool(*args, check=False)
    assert res.returncode == 2
    assert res.stderr.count('\n') == 1 and message in res.stderr


def test_drift_on_fixtures(tree: Path, tmp_path: Path) -> None:
    assert 'no drift' in tool('drift', str(tree)).stdout
    edited = tmp_path / 'edited.manifest'
    lines = (EXPECTED / 'linux-6.1-fixtures.manifest').read_text() \
        .replace('chain_first_ops + .use_dma_iommu',
                 'chain_first_ops + .allow_dma_fq')
    edited.write_text(lines)
    res = tool('drift', '--expected', str(edited), str(tree), check=False)
    assert res.returncode == 1
    assert '-drivers/iommu/chain-first.c chain_first_ops + .allow_dma_fq' \
        in res.stdout


def test_drift_without_expected_manifest(tree: Path) -> None:
    mk = tree / 'Makefile'
    text = mk.read_text().replace('-fixtures', '-other')
    mk.unlink()
    mk.write_text(text)
    res = tool('drift', str(tree), check=False)
    assert res.returncode == 2
    assert 'no expected manifest for linux-6.1-other' in res.stderr
    assert f'make drift KERNEL={tree} RECORD=1' in res.stderr


def test_rewritten_fixtures_compile(rewritten: tuple[Path, str]) -> None:
    tree, _ = rewritten
    assert CHECKER.exists(), f'{CHECKER}: run `make checker`'
    res = subprocess.run([str(CHECKER), '-O', str(tree.parent / 'out'),
                          str(tree)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ' 0 FAIL' in res.stdout and ' 16 ok' in res.stdout


def test_untracked_driver_in_git_tree_is_a_candidate(tree: Path) -> None:
    subprocess.run(['git', 'init', '-q'], cwd=tree, check=True)
    subprocess.run(['git', 'add', 'Makefile', 'include', 'drivers/iommu/'
                    'iommu.c'], cwd=tree, check=True)
    out = tool('diff', str(tree)).stdout
    assert '+++ b/drivers/iommu/chain-first.c' in out
