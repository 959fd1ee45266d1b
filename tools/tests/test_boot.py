"""iommu-dma boot: the console parser and the comparison on canned logs,
bad input, the source copy, and end to end on Debian's 6.1 and 6.12
(x86_64 behind intel/amd/virtio, arm64 behind the SMMUv3), with a negative
control: the seed's core rule must fail at run time with the missing IOVA
cookie symptoms.

The end-to-end runs share KCACHE/boot with `make boot` and every clone:
the pristine kernels are cached there after the first run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from toolrun import TOP, linux_tree, tool

sys.path.insert(0, str(TOP / 'tools'))

from lab import boot  # noqa: E402
from iommu_dma.errors import ToolError  # noqa: E402

SEED_CORE = Path(__file__).parent / 'data' / 'seed-core' / \
    'core_default_domain.cocci'

# A pristine 6.1 boot behind intel-iommu (trimmed from a real log).
PRISTINE_INTEL = '''\
[    0.000000] Linux version 6.1.0 (root@host) #1 Tue Nov 26 2024
[    0.260000] DMAR: Host address width 39
[    0.270000] iommu: Default domain type: Translated (set via kernel command line)
[    0.330000] pci 0000:00:00.0: Adding to iommu group 0
[    0.330000] pci 0000:00:01.0: Adding to iommu group 1
[    0.331000] pci 0000:00:02.0: Adding to iommu group 2
[    0.332000] pci 0000:00:1f.0: Adding to iommu group 3
[    0.900000] virtio_blk virtio0: 1/0/0 default/read/poll queues
BOOT-RECORD begin
BOOT-RECORD groups=4
BOOT-RECORD group=0 type=DMA devices=0000:00:00.0
BOOT-RECORD group=1 type=DMA devices=0000:00:01.0
BOOT-RECORD group=2 type=DMA devices=0000:00:02.0
BOOT-RECORD group=3 type=DMA devices=0000:00:1f.0,0000:00:1f.2,0000:00:1f.3
BOOT-RECORD disk=ok crc=eb8fefdf bytes=4194304
BOOT-RECORD end
[    1.200000] reboot: Power down
'''

# The seed's core change on 6.1: the default domain is allocated
# UNMANAGED and retyped, so it has no IOVA cookie; the group still reads
# DMA, but dma-iommu refuses the device and the disk's DMA faults.
MISSING_COOKIE = '''\
[    0.000000] Linux version 6.1.0 (root@host) #2 Tue Nov 26 2024
[    0.330000] pci 0000:00:00.0: Adding to iommu group 0
[    0.330100] Failed to set up IOMMU for device 0000:00:00.0; retaining platform DMA ops
[    0.330000] pci 0000:00:01.0: Adding to iommu group 1
[    0.330200] Failed to set up IOMMU for device 0000:00:01.0; retaining platform DMA ops
[    0.331000] pci 0000:00:02.0: Adding to iommu group 2
[    0.331200] Failed to set up IOMMU for device 0000:00:02.0; retaining platform DMA ops
[    0.332000] pci 0000:00:1f.0: Adding to iommu group 3
[    0.332200] Failed to set up IOMMU for device 0000:00:1f.0; retaining platform DMA ops
[    0.900000] virtio_blk virtio0: 1/0/0 default/read/poll queues
BOOT-RECORD begin
BOOT-RECORD groups=4
BOOT-RECORD group=0 type=DMA devices=0000:00:00.0
BOOT-RECORD group=1 type=DMA devices=0000:00:01.0
[    1.010000] DMAR: DRHD: handling fault status reg 2
[    1.010100] DMAR: [DMA Read NO_PASID] Request device [00:02.0] fault addr 0x1f4a000 [fault reason 0x06] PTE Read access is not set
BOOT-RECORD group=2 type=DMA devices=0000:00:02.0
BOOT-RECORD group=3 type=DMA devices=0000:00:1f.0,0000:00:1f.2,0000:00:1f.3
BOOT-RECORD disk=hang seconds=20
BOOT-RECORD end
[   21.200000] reboot: Power down
'''

HANG = '''\
[    0.000000] Linux version 6.1.0 (root@host) #3
[    0.330000] pci 0000:00:00.0: Adding to iommu group 0
BOOT-RECORD begin
BOOT-RECORD groups=1
BOOT-RECORD group=0 type=unknown devices=0000:00:00.0
'''


def test_parse_pristine() -> None:
    rec = boot.parse_console(PRISTINE_INTEL)
    assert rec.outcome == 'ok'
    assert [(g.number, g.type) for g in rec.groups] == \
        [(0, 'DMA'), (1, 'DMA'), (2, 'DMA'), (3, 'DMA')]
    assert rec.groups[3].devices == '0000:00:1f.0,0000:00:1f.2,0000:00:1f.3'
    assert rec.disk == 'ok'
    assert rec.problems == ()
    assert rec.worked()
    assert rec.summary() == '4xDMA, disk ok'


def test_parse_missing_cookie() -> None:
    rec = boot.parse_console(MISSING_COOKIE)
    kinds = [p.kind for p in rec.problems]
    assert kinds.count('setup') == 4 and kinds.count('fault') == 2
    assert rec.disk == 'hang' and rec.outcome == 'ok'
    assert not rec.worked()
    assert 'setup failures' in rec.summary() and 'faults' in rec.summary()


def test_missing_cookie_is_a_difference() -> None:
    diffs = boot.compare(boot.parse_console(PRISTINE_INTEL),
                         boot.parse_console(MISSING_COOKIE))
    text = '\n'.join(d.text() for d in diffs)
    assert 'disk ok -> hang' in text
    assert '4 new setup failures' in text
    assert 'Failed to set up IOMMU for device 0000:00:02.0; retaining ' \
        'platform DMA ops' in text
    assert '2 new faults' in text
    assert 'DMAR: [DMA Read NO_PASID] Request device [00:02.0]' in text
    # The group types read DMA on both: they do not show the bug.
    assert not any('group' in d.title for d in diffs)
    row = boot.Row('intel', 'lazy', boot.parse_console(PRISTINE_INTEL),
                   boot.parse_console(MISSING_COOKIE), diffs)
    assert not row.ok()
    assert row.verdict().startswith('differs: disk ok -> hang; 4 new setup '
                                    'failures; 2 new faults')


def test_same_boot_is_same() -> None:
    rec = boot.parse_console(PRISTINE_INTEL)
    # Timestamps and the build number differ from boot to boot.
    again = boot.parse_console(PRISTINE_INTEL.replace('0.33', '0.44')
                               .replace('#1', '#7'))
    assert boot.compare(rec, again) == ()
    row = boot.Row('intel', 'lazy', rec, again, ())
    assert row.ok() and row.verdict() == 'same as pristine'


def test_group_type_change() -> None:
    after = PRISTINE_INTEL.replace('group=2 type=DMA', 'group=2 type=unknown')
    diffs = boot.compare(boot.parse_console(PRISTINE_INTEL),
                         boot.parse_console(after))
    assert [d.title for d in diffs] == ['group types DMA -> unknown']
    assert diffs[0].evidence == ('group 2 (0000:00:02.0): DMA -> unknown',)


def test_missing_group() -> None:
    after = PRISTINE_INTEL.replace(
        'BOOT-RECORD group=3 type=DMA devices=0000:00:1f.0,0000:00:1f.2,'
        '0000:00:1f.3\n', '')
    diffs = boot.compare(boot.parse_console(PRISTINE_INTEL),
                         boot.parse_console(after))
    assert diffs[0].title == 'IOMMU groups differ'


def test_hang() -> None:
    rec = boot.parse_console(HANG, timed_out=True)
    assert rec.outcome == 'timeout' and rec.disk == 'missing'
    assert rec.tail[-1] == 'BOOT-RECORD group=0 type=unknown ' \
        'devices=0000:00:00.0'
    diffs = boot.compare(boot.parse_console(PRISTINE_INTEL), rec)
    assert diffs[0].title.startswith('boot ok -> timeout')
    assert 'group=0 type=unknown' in diffs[0].text()


def test_qemu_failure_and_warnings() -> None:
    rec = boot.parse_console('', 'qemu-system-x86_64: -device amd-iommu: '
                             'bad option\n', qemu_failed=True)
    assert rec.outcome == 'qemu-error'
    assert rec.summary() == 'QEMU failed'
    rec = boot.parse_console(PRISTINE_INTEL, 'qemu-system-x86_64: '
                             'vtd_iova_to_slpte: detected IOVA overflow '
                             '(iova=0x1000)\n')
    assert [p.kind for p in rec.problems] == ['qemu']
    assert not rec.worked()


def test_same_fault_other_address_is_not_new() -> None:
    a = boot.Problem('fault', 'DMAR: [DMA Read NO_PASID] Request device '
                     '[00:02.0] fault addr 0x1f4a000')
    b = boot.Problem('fault', 'DMAR: [DMA Read NO_PASID] Request device '
                     '[00:02.0] fault addr 0x2b3c000')
    assert a.key() == b.key()


def test_notice_is_compared_not_failed() -> None:
    notice = '[    0.5] iommu: Failed to allocate default IOMMU domain of ' \
        'type 11 for group (null) - Falling back to IOMMU_DOMAIN_DMA\n'
    with_notice = PRISTINE_INTEL.replace('BOOT-RECORD begin\n',
                                         notice + 'BOOT-RECORD begin\n')
    rec = boot.parse_console(with_notice)
    assert rec.worked() and rec.problems[0].kind == 'notice'
    diffs = boot.compare(rec, boot.parse_console(PRISTINE_INTEL))
    assert [d.title for d in diffs] == ['1 gone IOMMU notices']


def test_render_and_json() -> None:
    good = boot.parse_console(PRISTINE_INTEL)
    bad = boot.parse_console(MISSING_COOKIE)
    rows = (boot.Row('intel', 'lazy', good, good, ()),
            boot.Row('intel', 'strict', good, bad, boot.compare(good, bad)))
    res = boot.BootResult('/k', '6.1.0', 'x86_64', '/w', True, rows,
                          {'total': 1.0})
    assert not res.ok()
    text = boot.render(res)
    assert 'same as pristine' in text
    assert 'intel strict:' in text
    assert 'Failed to set up IOMMU for device' in text
    assert '1 of 2 (iommu, mode) pairs' in text
    data = json.loads(res.to_json())
    assert data['ok'] is False
    assert [r['verdict'] for r in data['rows']][0] == 'same as pristine'
    assert data['rows'][1]['differences'][0]['title'] == 'disk ok -> hang'
    assert data['status'] == 'differs' and data['tree'] == '/k'
    # the series reads the table, and only the table, off the report
    from iommu_dma.series import checks
    table = checks._table(text.splitlines())
    assert [ln.split()[:2] for ln in table] == [
        ['iommu', 'mode'], ['intel', 'lazy'], ['intel', 'strict']]
    assert 'differs' in table[2]


def test_pristine_failure_is_not_ok() -> None:
    bad = boot.parse_console(MISSING_COOKIE)
    row = boot.Row('amd', 'lazy', bad, bad, ())
    assert not row.ok()
    assert row.verdict() == 'same, but pristine itself failed'


def test_config_check() -> None:
    fragment = 'CONFIG_PCI=y\n# CONFIG_EFI_PARTITION is not set\n'
    boot.check_config('CONFIG_PCI=y\n', fragment, Path('.config'),
                      Path('x.config'))
    with pytest.raises(ToolError, match='CONFIG_PCI is not =y'):
        boot.check_config('# CONFIG_PCI is not set\n', fragment,
                          Path('.config'), Path('x.config'))
    with pytest.raises(ToolError, match='CONFIG_EFI_PARTITION=y'):
        boot.check_config('CONFIG_PCI=y\nCONFIG_EFI_PARTITION=y\n',
                          fragment, Path('.config'), Path('x.config'))


@pytest.mark.parametrize('arch', sorted(boot.ARCHES))
def test_fragments_name_the_needed_symbols(arch: str) -> None:
    on, off = boot.needed_symbols(boot.ARCHES[arch].fragment.read_text())
    want = {'x86_64': {'CONFIG_INTEL_IOMMU', 'CONFIG_AMD_IOMMU',
                       'CONFIG_VIRTIO_IOMMU', 'CONFIG_IRQ_REMAP',
                       'CONFIG_VIRTIO_BLK', 'CONFIG_SERIAL_8250_CONSOLE'},
            'arm64': {'CONFIG_ARM_SMMU_V3', 'CONFIG_VIRTIO_IOMMU',
                      'CONFIG_PCI_HOST_GENERIC', 'CONFIG_ARM_GIC_V3_ITS',
                      'CONFIG_SERIAL_AMBA_PL011_CONSOLE'}}[arch]
    assert want <= set(on)
    assert {'CONFIG_MSDOS_PARTITION', 'CONFIG_EFI_PARTITION'} <= set(off)


def test_disk_pattern() -> None:
    data = boot.disk_pattern()
    assert len(data) == boot.DISK_SIZE
    assert data == boot.disk_pattern()
    assert data[:32] != data[32:64]
    assert zlib.crc32(data) == zlib.crc32(boot.disk_pattern())


@pytest.mark.parametrize('cc', ['gcc', 'aarch64-linux-gnu-gcc'])
def test_init_compiles(cc: str, tmp_path: Path) -> None:
    """Compiled only: run on the host it would mount and power off."""
    if not shutil.which(cc):
        pytest.skip(f'{cc} not installed')
    res = subprocess.run([cc, '-static', '-O2', '-Wall', '-Wextra',
                          '-Werror', '-o', str(tmp_path / 'init'),
                          str(boot.BOOT_DIR / 'init.c')],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_kbuild_env_drops_make_variables(monkeypatch) -> None:
    monkeypatch.setenv('MAKEFLAGS', ' -j2 -- O=/x KERNEL=/y')
    monkeypatch.setenv('O', '/x')
    monkeypatch.setenv('ARCH', 'arm64')
    monkeypatch.setenv('HOME', '/root')
    env = boot.kbuild_env()
    assert 'MAKEFLAGS' not in env and 'O' not in env and 'ARCH' not in env
    assert env['HOME'] == '/root'


def test_source_copy_and_touched(tmp_path: Path) -> None:
    kernel = tmp_path / 'kernel'
    (kernel / 'drivers').mkdir(parents=True)
    (kernel / 'drivers' / 'a.c').write_text('a\n')
    (kernel / 'b.h').write_text('b\n')
    before = (kernel / 'b.h').stat()
    work = boot.Work(tmp_path / 'work')
    work.root.mkdir()
    quiet = lambda msg: None  # noqa: E731
    boot.make_source(kernel, work, [], quiet)
    assert boot.touched_files(kernel, work.src) == []
    # The rewrite replaces files (and keeps its state in .iommu-dma/).
    (work.src / 'b.h').unlink()
    (work.src / 'b.h').write_text('rewritten\n')
    (work.src / '.iommu-dma').mkdir()
    (work.src / '.iommu-dma' / 'record.json').write_text('{}')
    assert boot.touched_files(kernel, work.src) == ['b.h']
    # A later run: pristine again, and b.h gets a new inode and mtime.
    os.utime(kernel / 'b.h', (0, 0))
    boot.make_source(kernel, work, ['b.h'], quiet)
    assert (work.src / 'b.h').read_text() == 'b\n'
    assert (work.src / 'b.h').stat().st_mtime > 0
    assert (kernel / 'b.h').stat().st_ino == before.st_ino
    assert (kernel / 'b.h').stat().st_mtime == 0
    assert (work.src / 'drivers' / 'a.c').stat().st_ino == \
        (kernel / 'drivers' / 'a.c').stat().st_ino


def test_failed_step_names_its_log(tmp_path: Path) -> None:
    log = tmp_path / 'logs' / 'build-rewritten.log'
    with pytest.raises(ToolError) as err:
        boot.run_logged(['sh', '-c', 'echo CC x.o; echo "x.c:1:2: error: '
                         'boom"; exit 2'], log, 'building the rewritten '
                        'kernel')
    assert str(err.value) == ('building the rewritten kernel failed (exit '
                              f'2): x.c:1:2: error: boom; see {log}')


def test_interrupt_exits_130(monkeypatch, capsys) -> None:
    def interrupted(options, progress):
        progress('building pristine bzImage')
        raise KeyboardInterrupt
    monkeypatch.setattr(boot, 'run', interrupted)
    assert boot.main(['/k']) == 130
    assert capsys.readouterr().err.splitlines()[-1] == \
        'iommu-dma: interrupted'


def lab_boot(*args: str, env: dict | None = None
             ) -> subprocess.CompletedProcess:
    return tool(*args, check=False, module='lab.boot', env=env)


def test_bad_input(tmp_path: Path) -> None:
    res = lab_boot(str(TOP / 'linux-fixtures'))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        f'iommu-dma: error: {TOP / "linux-fixtures"}: not a buildable '
        'kernel tree (no scripts/kconfig)']
    res = lab_boot(str(tmp_path / 'none'))
    assert res.returncode == 2 and 'no such directory' in res.stderr
    res = lab_boot('--iommu', 'smmuv3', str(TOP / 'linux-fixtures'))
    assert res.returncode == 2
    assert "unknown iommu 'smmuv3' for x86_64" in res.stderr
    res = lab_boot('--modes', 'eager', str(TOP / 'linux-fixtures'))
    assert res.returncode == 2 and "unknown mode 'eager'" in res.stderr


def test_missing_qemu(tmp_path: Path) -> None:
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name in ('make', 'cpio', 'gcc'):
        (bin_dir / name).symlink_to(shutil.which(name))
    res = lab_boot('--work', str(tmp_path / 'work'), str(linux_tree('6.1')),
                   env={'PATH': str(bin_dir)})
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        'iommu-dma: error: qemu-system-x86_64: not found (make deps '
        'installs it)']
    assert not (tmp_path / 'work').exists()


# ------------------------------------------------------------ end to end

def boot_json(kernel: Path, *args: str, env: dict | None = None
              ) -> tuple[int, dict, str]:
    res = lab_boot('--json', *args, str(kernel), env=env)
    assert res.returncode in (0, 1), res.stderr
    return res.returncode, json.loads(res.stdout), res.stderr


def explain(data: dict) -> str:
    out = []
    for row in data['rows']:
        if not row['ok']:
            out.append(f"{row['iommu']} {row['mode']}: {row['verdict']}")
            for d in row['differences']:
                out += [f"  {d['title']}"] + \
                    [f'    {ln}' for ln in d['evidence']]
    return '\n'.join(out)


def assert_same(data: dict, iommus: set[str]) -> None:
    assert {r['iommu'] for r in data['rows']} == iommus
    assert data['ok'], explain(data)
    for row in data['rows']:
        assert row['pristine']['disk'] == 'ok'
        assert row['verdict'] == 'same as pristine'


def test_boot_61_x86_64() -> None:
    rc, data, _ = boot_json(linux_tree('6.1'))
    assert_same(data, {'intel', 'amd', 'virtio'})
    assert rc == 0


def test_boot_61_seed_core_fails(tmp_path: Path) -> None:
    """Negative control: the seed's core rule (UNMANAGED, then retyped: no
    IOVA cookie) must fail at run time, naming the symptoms."""
    cocci = tmp_path / 'cocci'
    shutil.copytree(TOP / 'cocci', cocci)
    shutil.copy(SEED_CORE, cocci / 'core_default_domain.cocci')
    rc, data, _ = boot_json(linux_tree('6.1'), '--iommu', 'intel',
                            '--modes', 'lazy',
                            env={'IOMMU_DMA_COCCI': str(cocci)})
    assert rc == 1 and not data['ok']
    (row,) = data['rows']
    assert row['pristine']['disk'] == 'ok'
    titles = [d['title'] for d in row['differences']]
    assert any('new setup failures' in t for t in titles), explain(data)
    assert any('new faults' in t for t in titles), explain(data)
    evidence = '\n'.join(ln for d in row['differences']
                         for ln in d['evidence'])
    assert 'Failed to set up IOMMU for device' in evidence
    assert 'DMAR: [DMA Read' in evidence or 'DMAR: [DMA Write' in evidence


def test_boot_612_x86_64() -> None:
    rc, data, _ = boot_json(linux_tree('6.12'))
    assert_same(data, {'intel', 'amd', 'virtio'})
    assert rc == 0


def test_boot_61_arm64_smmuv3() -> None:
    rc, data, _ = boot_json(linux_tree('6.1'), '--arch', 'arm64',
                            '--iommu', 'smmuv3')
    assert_same(data, {'smmuv3'})
    assert rc == 0


def test_work_dirs_of_gone_trees_are_pruned(tmp_path: Path) -> None:
    """A work dir whose tree no longer exists is removed; one whose tree
    is there, or that names none, stays."""
    root = tmp_path / 'boot'
    for name, tree in (('gone', tmp_path / 'deleted'), ('here', tmp_path),
                       ('unknown', None)):
        work = boot.Work(root / name)
        work.root.mkdir(parents=True)
        work.save_state({'tree': str(tree)} if tree else {})
    said: list[str] = []
    boot.prune(root, said.append)
    assert sorted(p.name for p in root.iterdir()) == ['here', 'unknown']
    assert said == [f'removing {root / "gone"} (its tree '
                    f'{tmp_path / "deleted"} is gone)']
