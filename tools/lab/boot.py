"""make boot: does the rewritten kernel still work at run time?

Builds the pristine tree and the rewritten tree (tinyconfig plus
tools/boot/<arch>.config), boots each under QEMU (TCG) behind every IOMMU
QEMU emulates and with every IOMMU mode, and compares the two per
(iommu, mode): the IOMMU group types, a disk read whose DMA goes through
the IOMMU, IOMMU setup failures and faults on the console and QEMU's own
warnings.

KERNEL is never written. Everything happens in
WORK/<series>-<arch>-<path hash>/, WORK being KCACHE/boot unless --work
says otherwise, so the pristine kernel is built once per tree, arch and
config for every clone of this tool, and objects rebuilt go through
ccache (KCACHE/ccache) where it is installed:

  src/              cp -al KERNEL (the rewrite replaces files, never edits
                    them in place)
  obj/              one kbuild output dir for both builds
  pristine.Image    the pristine kernel, reused while its key matches
  rewritten.Image   the rewritten kernel
  initramfs.cpio    the static /init of tools/boot/init.c
  disk.img          the disk the /init reads, a deterministic pattern
  logs/             config, build, rewrite and one console log per boot
  state.json        the pristine key and the files the rewrite touched

The rewrite runs as `python3 -m iommu_dma apply` in a subprocess, with
$IOMMU_DMA_COCCI passed through, so this module depends on nothing of the
rewrite but its command line.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from iommu_dma import PROG, errors, jsonout
from iommu_dma.errors import ToolError
from iommu_dma.spatch import echo
from iommu_dma.tree import KernelTree, kernel_cache, linked_copy

TOP = Path(__file__).resolve().parents[2]
BOOT_DIR = TOP / 'tools' / 'boot'

Progress = Callable[[str], None]

# The disk: DISK_SIZE bytes of a deterministic pattern; /init reads them all.
DISK_SIZE = 4 << 20
BOOT_TIMEOUT = 90.0
DISK_TIMEOUT = 20
MAX_QEMU = 2

MODES = {
    'lazy': 'iommu.passthrough=0 iommu.strict=0',
    'strict': 'iommu.passthrough=0 iommu.strict=1',
    'passthrough': 'iommu.passthrough=1',
}

# Beside the table's kbuild environment (arches.txt: env, the checker's
# too), the boot check drops the user's build settings: pristine and
# rewritten are built alike, and kbuild gets ARCH, CROSS_COMPILE and O on
# its command line. (kbuild-check keeps KCFLAGS: it keys its objects.)
BOOT_ENV_DROP = (
    'KBUILD_OUTPUT', 'KBUILD_EXTMOD', 'KCONFIG_CONFIG', 'KCFLAGS',
    'KCPPFLAGS', 'O', 'V', 'W', 'C', 'M', 'J', 'ARCH', 'CROSS_COMPILE',
    'LLVM', 'CC', 'LD', 'KERNEL')


# The one arch table of everything here that runs kbuild (the checker's):
# ARCH= and CROSS_COMPILE come from it; this file adds what QEMU needs.
ARCH_TABLE = TOP / 'tools' / 'checker' / 'arches.txt'


@functools.lru_cache(maxsize=None)
def kbuild_identity(name: str) -> tuple[str, str, str]:
    """ARCH=, the arch/ directory and CROSS_COMPILE for arch name, no
    prefix on a host of that arch."""
    for line in ARCH_TABLE.read_text().splitlines():
        w = line.split()
        if w[:2] == ['arch', name] and len(w) >= 6:
            host = platform.machine()
            native = {'aarch64': 'arm64'}.get(host, host) == name
            return w[2], w[3], '' if native else w[4]
    raise ToolError(f'{ARCH_TABLE}: no arch {name}')


@dataclass(frozen=True)
class Arch:
    name: str
    target: str
    image: str
    qemu: str
    console: str
    # iommu name -> QEMU arguments (machine included)
    iommus: dict[str, tuple[str, ...]]

    @property
    def kbuild_arch(self) -> str:
        return kbuild_identity(self.name)[0]

    @property
    def srcarch(self) -> str:
        return kbuild_identity(self.name)[1]

    @property
    def cross_compile(self) -> str:
        return kbuild_identity(self.name)[2]

    @property
    def cc(self) -> str:
        return f'{self.cross_compile}gcc'

    @property
    def fragment(self) -> Path:
        return BOOT_DIR / f'{self.name}.config'


ARCHES = {
    'x86_64': Arch(
        name='x86_64', target='bzImage', image='arch/x86/boot/bzImage',
        qemu='qemu-system-x86_64', console='ttyS0',
        iommus={
            # caching-mode=on makes intel strict whatever the command line
            'intel': ('-M', 'q35,kernel-irqchip=split', '-device',
                      'intel-iommu,intremap=on,caching-mode=on'),
            'amd': ('-M', 'q35', '-device', 'amd-iommu'),
            'virtio': ('-M', 'q35', '-device', 'virtio-iommu-pci'),
        }),
    'arm64': Arch(
        name='arm64', target='Image', image='arch/arm64/boot/Image',
        qemu='qemu-system-aarch64', console='ttyAMA0',
        iommus={
            'smmuv3': ('-M', 'virt,iommu=smmuv3,gic-version=3',
                       '-cpu', 'cortex-a57'),
            'virtio': ('-M', 'virt,gic-version=3', '-cpu', 'cortex-a57',
                       '-device', 'virtio-iommu-pci'),
        }),
}


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class Group:
    number: int
    type: str
    devices: str


@dataclass(frozen=True)
class Problem:
    """A console or QEMU line that shows something went wrong."""
    kind: str       # setup, fault, crash, qemu; notice: compared only
    line: str

    def key(self) -> tuple[str, str]:
        """What must match between two boots: numbers masked."""
        return self.kind, re.sub(r'(0x)?[0-9a-fA-F]{2,}|\d+', '#',
                                 self.line)


@dataclass(frozen=True)
class BootRecord:
    """What one boot showed."""
    outcome: str            # ok, timeout, no-record, qemu-error
    groups: tuple[Group, ...]
    disk: str               # ok, bad, error, hang, missing
    disk_line: str
    problems: tuple[Problem, ...]
    tail: tuple[str, ...]   # the last console lines (for hangs)

    def worked(self) -> bool:
        return self.outcome == 'ok' and self.disk == 'ok' and \
            all(p.kind == 'notice' for p in self.problems)

    def summary(self) -> str:
        if self.outcome == 'qemu-error':
            return 'QEMU failed'
        types = Counter(g.type for g in self.groups)
        parts = [', '.join(f'{n}x{t}' for t, n in sorted(types.items()))
                 or 'no groups', f'disk {self.disk}']
        kinds = Counter(p.kind for p in self.problems if p.kind != 'notice')
        parts += [f'{kinds[k]} {name}' for k, name in KIND_NAMES.items()
                  if kinds[k]]
        if self.outcome != 'ok':
            parts.append(self.outcome)
        return ', '.join(parts)


KIND_NAMES = {'setup': 'setup failures', 'fault': 'faults',
              'crash': 'crashes', 'qemu': 'QEMU warnings',
              'notice': 'IOMMU notices'}

CONSOLE_PATTERNS = (
    ('setup', re.compile(r'Failed to set up IOMMU for device')),
    ('fault', re.compile(r'DMAR: \[(DMA (Read|Write)|INTR-REMAP)')),
    ('fault', re.compile(r'DMAR: DRHD: handling fault')),
    ('fault', re.compile(r'IO_PAGE_FAULT|AMD-Vi: Event logged')),
    ('fault', re.compile(r'page fault from EP')),
    ('fault', re.compile(r'arm-smmu-v3.*event 0x')),
    ('fault', re.compile(r'Unhandled context fault')),
    ('crash', re.compile(r'Kernel panic|BUG:|Oops|WARNING: CPU:|'
                         r'Unable to handle kernel|Call Trace:')),
    # Not failures, but a rewrite must not change them either.
    ('notice', re.compile(r'Failed to allocate default IOMMU domain|'
                          r'Falling back to IOMMU_DOMAIN|'
                          r'Using strict mode due to virtualization')),
)
QEMU_PATTERN = re.compile(r'fault|translat|iova|dmar|smmu|iommu|vtd|amdvi',
                          re.I)
RECORD = re.compile(r'BOOT-RECORD (\S.*)')
TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\]\s*')


def _fields(text: str) -> dict[str, str]:
    return dict(f.split('=', 1) for f in text.split() if '=' in f)


def parse_console(console: str, qemu_stderr: str = '',
                  timed_out: bool = False, qemu_failed: bool = False
                  ) -> BootRecord:
    """The boot record of one boot, from its console log and QEMU's
    stderr."""
    lines = [TIMESTAMP.sub('', ln.rstrip('\r'))
             for ln in console.replace('\r\n', '\n').split('\n')]
    groups: list[Group] = []
    disk, disk_line, began, ended = 'missing', '', False, False
    problems: list[Problem] = []
    for line in lines:
        m = RECORD.search(line)
        if m:
            text = m.group(1).strip()
            f = _fields(text)
            if text == 'begin':
                began = True
            elif text == 'end':
                ended = True
            elif 'group' in f:
                groups.append(Group(int(f['group']), f.get('type', '?'),
                                    f.get('devices', '')))
            elif 'disk' in f:
                disk, disk_line = f['disk'], text
            continue
        for kind, pattern in CONSOLE_PATTERNS:
            if pattern.search(line):
                problems.append(Problem(kind, line.strip()))
                break
    for line in qemu_stderr.splitlines():
        if QEMU_PATTERN.search(line):
            problems.append(Problem('qemu', line.strip()))
    if qemu_failed and not began:
        outcome = 'qemu-error'
    elif timed_out:
        outcome = 'timeout'
    elif not ended:
        outcome = 'no-record'
    else:
        outcome = 'ok'
    tail = tuple(ln for ln in lines if ln.strip())[-12:]
    if outcome == 'qemu-error':
        tail = tuple(qemu_stderr.strip().splitlines()[-5:]) or tail
    return BootRecord(outcome, tuple(sorted(groups, key=lambda g: g.number)),
                      disk, disk_line, tuple(problems), tail)


@dataclass(frozen=True)
class Difference:
    """One way a rewritten boot differs, with the lines that show it."""
    title: str
    evidence: tuple[str, ...] = ()

    def text(self) -> str:
        return '\n'.join([self.title, *(f'    {ln}' for ln in self.evidence)])


def compare(pristine: BootRecord, rewritten: BootRecord
            ) -> tuple[Difference, ...]:
    """Every way the rewritten boot differs from the pristine one; empty
    when they are the same."""
    diffs: list[Difference] = []
    if pristine.outcome != rewritten.outcome:
        diffs.append(Difference(
            f'boot {pristine.outcome} -> {rewritten.outcome}, last console '
            'lines', rewritten.tail))
    diffs += _compare_groups(pristine.groups, rewritten.groups)
    if pristine.disk != rewritten.disk:
        diffs.append(Difference(f'disk {pristine.disk} -> {rewritten.disk}',
                                (rewritten.disk_line or 'no disk line',)))
    before = Counter(p.key() for p in pristine.problems)
    after = Counter(p.key() for p in rewritten.problems)
    diffs += _problem_diff(rewritten.problems, after - before, 'new')
    diffs += _problem_diff(pristine.problems, before - after, 'gone')
    return tuple(diffs)


def _compare_groups(before: Sequence[Group], after: Sequence[Group]
                    ) -> list[Difference]:
    old = {(g.number, g.devices): g.type for g in before}
    new = {(g.number, g.devices): g.type for g in after}
    if set(old) != set(new):
        return [Difference('IOMMU groups differ',
                           (f'pristine:  {_groups_text(before)}',
                            f'rewritten: {_groups_text(after)}'))]
    changed = [(n, devs) for n, devs in sorted(old)
               if old[n, devs] != new[n, devs]]
    if not changed:
        return []
    types = sorted({f'{old[k]} -> {new[k]}' for k in changed})
    return [Difference(f'group types {", ".join(types)}',
                       tuple(f'group {n} ({devs}): {old[n, devs]} -> '
                             f'{new[n, devs]}' for n, devs in changed))]


def _groups_text(groups: Sequence[Group]) -> str:
    return ' '.join(f'{g.number}:{g.type}({g.devices})' for g in groups) \
        or 'none'


def _problem_diff(problems: Sequence[Problem], extra: Counter, how: str
                  ) -> list[Difference]:
    out = []
    for kind in KIND_NAMES:
        lines = [p.line for p in problems if extra[p.key()] > 0 and
                 p.kind == kind]
        if lines:
            shown = list(dict.fromkeys(lines))[:4]
            more = len(lines) - len(shown)
            out.append(Difference(
                f'{len(lines)} {how} {KIND_NAMES[kind]}',
                tuple(shown) + ((f'... {more} more',) if more > 0 else ())))
    return out


@dataclass(frozen=True)
class Row:
    iommu: str
    mode: str
    pristine: BootRecord
    rewritten: BootRecord
    differences: tuple[Difference, ...]

    def verdict(self) -> str:
        if not self.differences:
            return 'same as pristine' if self.pristine.worked() else \
                'same, but pristine itself failed'
        return 'differs: ' + '; '.join(d.title for d in self.differences)

    def ok(self) -> bool:
        return self.pristine.worked() and not self.differences


@dataclass(frozen=True)
class BootResult:
    kernel: str
    version: str
    arch: str
    work: str
    pristine_cached: bool
    rows: tuple[Row, ...]
    seconds: dict[str, float] = field(default_factory=dict)

    def ok(self) -> bool:
        return all(r.ok() for r in self.rows)

    def to_json(self) -> str:
        data = asdict(self)
        for row, raw in zip(self.rows, data['rows']):
            raw['verdict'] = row.verdict()
            raw['ok'] = row.ok()
        data['ok'] = self.ok()
        return jsonout.document('boot', 'same' if self.ok() else 'differs',
                                data.pop('kernel'), data)


def render(result: BootResult) -> str:
    """The table, then the evidence of every row that is not ok."""
    head = ('iommu', 'mode', 'pristine', 'rewritten', 'verdict')
    rows = [(r.iommu, r.mode, r.pristine.summary(), r.rewritten.summary(),
             r.verdict()) for r in result.rows]
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(4)]
    out = [f'{PROG} boot: {result.kernel} ({result.version}, '
           f'{result.arch})', '']
    for cells in [head, *rows]:
        out.append('  '.join(c.ljust(w) for c, w in zip(cells, widths)) +
                   '  ' + cells[4])
    for r in result.rows:
        if r.ok():
            continue
        out.append('')
        out.append(f'{r.iommu} {r.mode}:')
        if not r.pristine.worked():
            out.append(f'  pristine: {r.pristine.summary()}')
            for ln in _pristine_evidence(r.pristine):
                out.append(f'    {ln}')
        for d in r.differences:
            out.append('  ' + d.text().replace('\n', '\n  '))
    out.append('')
    bad = sum(not r.ok() for r in result.rows)
    out.append(f'{PROG} boot: ' + (
        f'the rewritten kernel boots as pristine in all {len(result.rows)} '
        '(iommu, mode) pairs' if not bad else
        f'{bad} of {len(result.rows)} (iommu, mode) pairs not the same as '
        'a working pristine'))
    return '\n'.join(out) + '\n'


def _pristine_evidence(rec: BootRecord) -> list[str]:
    lines = [f'{p.kind}: {p.line}' for p in rec.problems][:6]
    if rec.disk != 'ok':
        lines.append(f'disk: {rec.disk_line or rec.disk}')
    if rec.outcome != 'ok':
        lines += list(rec.tail)
    return lines


# ------------------------------------------------------------ the builds

@dataclass(frozen=True)
class Options:
    kernel: str
    arch: str = 'x86_64'
    jobs: int = 2
    work: Path | None = None
    iommus: tuple[str, ...] = ()
    modes: tuple[str, ...] = tuple(MODES)
    timeout: float = BOOT_TIMEOUT
    # The rewritten files as a caller already has them (the series: what
    # its patches give); None: `iommu-dma apply` makes them.
    rewritten: tuple[tuple[str, bytes], ...] | None = None


@dataclass(frozen=True)
class Work:
    """The work directory of one tree and arch."""
    root: Path

    @property
    def src(self) -> Path:
        return self.root / 'src'

    @property
    def obj(self) -> Path:
        return self.root / 'obj'

    @property
    def logs(self) -> Path:
        return self.root / 'logs'

    @property
    def state(self) -> Path:
        return self.root / 'state.json'

    def image(self, variant: str) -> Path:
        return self.root / f'{variant}.Image'

    def load_state(self) -> dict:
        try:
            return json.loads(self.state.read_text())
        except (OSError, ValueError):
            return {}

    def save_state(self, state: dict) -> None:
        tmp = self.state.with_suffix('.tmp')
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
        tmp.replace(self.state)


def default_work_root() -> Path:
    return kernel_cache() / 'boot'


@contextmanager
def locked(work: Work, progress: Progress) -> Iterator[None]:
    work.root.mkdir(parents=True, exist_ok=True)
    with open(work.root / '.lock', 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f'waiting for another boot in {work.root}')
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def table_env() -> tuple[set[str], dict[str, str]]:
    """The arch table's kbuild environment: names unset, names set."""
    words = [w for line in ARCH_TABLE.read_text().splitlines()
             if line.split()[:1] == ['env']
             for w in line.split('#')[0].split()[1:]]
    return ({w for w in words if '=' not in w},
            dict(w.split('=', 1) for w in words if '=' in w))


def kbuild_env(work: Work | None = None) -> dict[str, str]:
    unset, forced = table_env()
    drop = unset | set(BOOT_ENV_DROP)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(forced)
    if work is not None:
        # One compiler cache for every work directory: paths under the
        # boot root are hashed relative to the object directory, so the
        # same source in another work directory (a git clone of the same
        # release, a new KCACHE/boot entry) hits.
        env.update(CCACHE_DIR=env.get('CCACHE_DIR',
                                      str(kernel_cache() / 'ccache')),
                   CCACHE_BASEDIR=str(work.root.parent),
                   CCACHE_NOHASHDIR='1')
    return env


def run_logged(cmd: Sequence[str], log: Path, what: str,
               cwd: Path | None = None, env: dict | None = None,
               append: bool = False) -> None:
    """Run CMD with its output in LOG; a failure is a ToolError naming
    LOG."""
    log.parent.mkdir(parents=True, exist_ok=True)
    echo(list(cmd), cwd)
    with open(log, 'a' if append else 'w') as out:
        out.write('$ ' + ' '.join(cmd) + '\n')
        out.flush()
        res = subprocess.run(list(cmd), cwd=cwd, env=env, stdout=out,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise ToolError(f'{what} failed (exit {res.returncode})'
                        f'{_first_error(log)}; see {log}')


def _first_error(log: Path) -> str:
    """': <the first error line>' of a log, or ''."""
    lines = log.read_text(errors='replace').splitlines()
    for line in lines:
        if re.search(r'\berror\b', line, re.I) and not line.startswith('$'):
            return ': ' + line.strip()[:200]
    return ''


def kbuild_cmd(arch: Arch, work: Work, jobs: int, *targets: str
               ) -> list[str]:
    cc = [f'CC=ccache {arch.cc}'] if shutil.which('ccache') else []
    return ['make', '-C', str(work.src), f'O={work.obj}',
            f'ARCH={arch.kbuild_arch}', f'CROSS_COMPILE={arch.cross_compile}',
            *cc, f'-j{jobs}', *targets]


def needed_symbols(fragment: str) -> tuple[list[str], list[str]]:
    """The symbols a fragment sets to y and those it turns off."""
    on = re.findall(r'^(CONFIG_\w+)=y\s*$', fragment, re.M)
    off = re.findall(r'^# (CONFIG_\w+) is not set\s*$', fragment, re.M)
    return on, off


def check_config(config: str, fragment: str, config_path: Path,
                 fragment_path: Path) -> None:
    on, off = needed_symbols(fragment)
    have = set(re.findall(r'^(CONFIG_\w+)=y\s*$', config, re.M))
    for sym in on:
        if sym not in have:
            raise ToolError(f'{config_path}: {sym} is not =y (needed by '
                            f'{fragment_path}); Kconfig refused it')
    for sym in off:
        if sym in have:
            raise ToolError(f'{config_path}: {sym}=y although '
                            f'{fragment_path} turns it off')


def configure(arch: Arch, work: Work, jobs: int, version: str,
              progress: Progress) -> str:
    """tinyconfig + the fragment in obj/.config, redone only when the
    fragment or the version changed; returns the config key."""
    fragment = arch.fragment.read_text()
    key = _digest(['config', version, arch.name, fragment])
    stamp = work.obj / '.iommu-dma-boot-config'
    config = work.obj / '.config'
    if not (stamp.exists() and stamp.read_text() == key and
            config.exists()):
        log = work.logs / 'config.log'
        progress(f'configuring: tinyconfig + {_rel(arch.fragment)} '
                 f'(log: {log})')
        work.obj.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        env = kbuild_env(work)
        run_logged(kbuild_cmd(arch, work, jobs, 'tinyconfig'), log,
                   'make tinyconfig', env=env)
        with open(config, 'a') as f:
            f.write('\n' + fragment)
        run_logged(kbuild_cmd(arch, work, jobs, 'olddefconfig'), log,
                   'make olddefconfig', env=env, append=True)
        stamp.write_text(key)
    check_config(config.read_text(), fragment, config, arch.fragment)
    return key


def build(arch: Arch, work: Work, jobs: int, variant: str,
          progress: Progress) -> float:
    """Build the image from src/ into obj/; copy it to <variant>.Image."""
    log = work.logs / f'build-{variant}.log'
    image = work.obj / arch.image
    progress(f'building {variant} {arch.target} (log: {log})')
    start = time.monotonic()
    image.unlink(missing_ok=True)
    work.image(variant).unlink(missing_ok=True)
    run_logged(kbuild_cmd(arch, work, jobs, arch.target), log,
               f'building the {variant} kernel', env=kbuild_env(work))
    if not image.exists():
        raise ToolError(f'building the {variant} kernel made no {image}; '
                        f'see {log}')
    shutil.copy2(image, work.image(variant))
    took = time.monotonic() - start
    progress(f'{variant} built in {took:.0f} s')
    return took


def make_source(kernel: Path, work: Work, stale: Sequence[str],
                progress: Progress) -> None:
    """src/ as a fresh cp -al of KERNEL. Files a previous rewrite replaced
    are written anew (a fresh mtime), so kbuild rebuilds what the previous
    build made from their rewritten version."""
    progress(f'copying {kernel} to {work.src} (cp -al)')
    if work.src.exists():
        shutil.rmtree(work.src)
    linked_copy(kernel, work.src)
    for rel in stale:
        path = work.src / rel
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)


def _inodes(root: Path, skip: str = '') -> dict[str, int]:
    found: dict[str, int] = {}
    stack = [root]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    if not (skip and d == root and e.name == skip):
                        stack.append(Path(e.path))
                elif e.is_file(follow_symlinks=False):
                    found[os.path.relpath(e.path, root)] = e.inode()
    return found


def touched_files(kernel: Path, src: Path) -> list[str]:
    """Files of src/ that are no longer KERNEL's (replaced or new)."""
    before = _inodes(kernel)
    after = _inodes(src, skip='.iommu-dma')
    return sorted(rel for rel, ino in after.items()
                  if before.get(rel) != ino)


def rewrite(work: Work, jobs: int, progress: Progress) -> float:
    """`iommu-dma apply` on src/, as a subprocess (honours
    $IOMMU_DMA_COCCI)."""
    log = work.logs / 'rewrite.log'
    cocci = os.environ.get('IOMMU_DMA_COCCI')
    progress(f'rewriting {work.src}' +
             (f' with IOMMU_DMA_COCCI={cocci}' if cocci else '') +
             f' (log: {log})')
    start = time.monotonic()
    env = dict(kbuild_env(), PYTHONPATH=str(TOP / 'tools'))
    run_logged([sys.executable, '-m', 'iommu_dma', 'apply', f'-j{jobs}',
                str(work.src)], log, 'the rewrite (iommu-dma apply)',
               env=env)
    return time.monotonic() - start


def write_rewritten(work: Work, files: Sequence[tuple[str, bytes]],
                    progress: Progress) -> float:
    """The caller's rewritten files into src/ (new files: the links to
    KERNEL stay intact)."""
    progress(f'writing the {len(files)} rewritten files into {work.src}')
    start = time.monotonic()
    for rel, data in files:
        path = work.src / rel
        mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
        path.unlink(missing_ok=True)
        path.write_bytes(data)
        path.chmod(mode)
    return time.monotonic() - start


def pristine_key(kernel: KernelTree, arch: Arch, config_key: str,
                 files: Sequence[str]) -> str:
    """What the pristine image depends on: the version, the config, the
    compiler, and the files the rewrite touches, by content."""
    parts = [kernel.version(), arch.name, config_key, _compiler(arch),
             _tree_stamp(kernel.path)]
    for rel in sorted(files):
        path = kernel.path / rel
        parts.append(rel)
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest()
                     if path.is_file() else '-')
    return _digest(parts)


def _tree_stamp(root: Path) -> str:
    """How many files the tree has and the newest mtime: an edit, a
    checkout or a new unpack changes it (mtime is what kbuild goes by)."""
    count = newest = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for e in it:
                if e.name in ('.git', '.iommu-dma'):
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append(Path(e.path))
                else:
                    count += 1
                    newest = max(newest,
                                 e.stat(follow_symlinks=False).st_mtime_ns)
    return f'{count} {newest}'


def _compiler(arch: Arch) -> str:
    res = subprocess.run([arch.cc, '--version'], capture_output=True,
                         text=True)
    return res.stdout.split('\n', 1)[0]


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(TOP))
    except ValueError:
        return str(path)


# ------------------------------------------------ initramfs, disk, QEMU

def initramfs(arch: Arch, work: Work) -> Path:
    """initramfs.cpio holding the static /init (tools/boot/init.c)."""
    root = work.root / 'initramfs'
    if root.exists():
        shutil.rmtree(root)
    for d in ('dev', 'proc', 'sys'):
        (root / d).mkdir(parents=True)
    log = work.logs / 'initramfs.log'
    run_logged([arch.cc, '-static', '-O2', '-Wall', '-o', str(root / 'init'),
                str(BOOT_DIR / 'init.c')], log, f'compiling /init with '
               f'{arch.cc}')
    names = sorted(str(p.relative_to(root)) for p in root.rglob('*'))
    cpio = work.root / 'initramfs.cpio'
    with open(cpio, 'wb') as out, open(log, 'a') as err:
        res = subprocess.run(['cpio', '-o', '-H', 'newc', '--quiet',
                              '-R', '0:0'], cwd=root,
                             input='\n'.join(names).encode() + b'\n',
                             stdout=out, stderr=err)
    if res.returncode != 0:
        raise ToolError(f'cpio failed; see {log}')
    return cpio


def disk_pattern(size: int = DISK_SIZE) -> bytes:
    blocks = (hashlib.sha256(b'iommu-dma boot %d' % i).digest()
              for i in range(size // 32 + 1))
    return b''.join(blocks)[:size]


def disk_image(work: Work) -> tuple[Path, int]:
    """disk.img and the CRC-32 /init must read from it."""
    data = disk_pattern()
    path = work.root / 'disk.img'
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path, zlib.crc32(data)


@dataclass(frozen=True)
class BootSpec:
    variant: str
    iommu: str
    mode: str
    command: tuple[str, ...]
    console: Path
    stderr: Path


def boot_specs(arch: Arch, work: Work, options: Options, cpio: Path,
               disk: Path, crc: int) -> list[BootSpec]:
    specs = []
    for iommu in options.iommus:
        for mode in options.modes:
            for variant in ('pristine', 'rewritten'):
                cmdline = (f'console={arch.console} panic=-1 rdinit=/init '
                           f'{MODES[mode]} bootcheck.crc={crc:08x} '
                           f'bootcheck.size={DISK_SIZE} '
                           f'bootcheck.timeout={DISK_TIMEOUT}')
                cmd = (arch.qemu, *arch.iommus[iommu], '-m', '512M',
                       '-nographic', '-no-reboot', '-nic', 'none',
                       '-kernel', str(work.image(variant)),
                       '-initrd', str(cpio), '-append', cmdline,
                       '-drive', f'file={disk},if=none,format=raw,id=d0,'
                       'readonly=on',
                       '-device', 'virtio-blk-pci,drive=d0,'
                       'iommu_platform=on,disable-legacy=on')
                name = f'{variant}-{iommu}-{mode}'
                specs.append(BootSpec(variant, iommu, mode, cmd,
                                      work.logs / f'{name}.console',
                                      work.logs / f'{name}.qemu'))
    return specs


@dataclass
class _Running:
    spec: BootSpec
    proc: subprocess.Popen
    started: float
    files: tuple


def boot_all(specs: Sequence[BootSpec], timeout: float, progress: Progress
             ) -> dict[tuple[str, str, str], BootRecord]:
    """Run the boots, at most MAX_QEMU at once; their records."""
    pending = list(specs)
    running: list[_Running] = []
    records: dict[tuple[str, str, str], BootRecord] = {}
    try:
        while pending or running:
            while pending and len(running) < MAX_QEMU:
                running.append(_start(pending.pop(0)))
            time.sleep(0.1)
            for r in list(running):
                timed_out = time.monotonic() - r.started > timeout
                if r.proc.poll() is None and not timed_out:
                    continue
                running.remove(r)
                rec = _finish(r, timed_out)
                records[r.spec.variant, r.spec.iommu, r.spec.mode] = rec
                progress(f'booted {r.spec.variant:9} {r.spec.iommu:6} '
                         f'{r.spec.mode:11} {rec.summary()} '
                         f'({time.monotonic() - r.started:.1f} s)')
    finally:
        for r in running:
            r.proc.kill()
            r.proc.wait()
            for f in r.files:
                f.close()
    return records


def _start(spec: BootSpec) -> _Running:
    spec.console.parent.mkdir(parents=True, exist_ok=True)
    out = open(spec.console, 'wb')
    err = open(spec.stderr, 'wb')
    proc = subprocess.Popen(spec.command, stdin=subprocess.DEVNULL,
                            stdout=out, stderr=err)
    return _Running(spec, proc, time.monotonic(), (out, err))


def _finish(r: _Running, timed_out: bool) -> BootRecord:
    if timed_out and r.proc.poll() is None:
        r.proc.kill()
    r.proc.wait()
    for f in r.files:
        f.close()
    console = r.spec.console.read_text(errors='replace')
    stderr = r.spec.stderr.read_text(errors='replace')
    return parse_console(console, stderr, timed_out=timed_out,
                         qemu_failed=r.proc.returncode not in (0, None)
                         and not timed_out)


# ------------------------------------------------------------ the whole

def check_inputs(options: Options) -> tuple[KernelTree, Arch]:
    if options.arch not in ARCHES:
        raise ToolError(f'unknown arch {options.arch!r} (known: '
                        f'{", ".join(ARCHES)})')
    arch = ARCHES[options.arch]
    for name in options.iommus:
        if name not in arch.iommus:
            raise ToolError(f'unknown iommu {name!r} for {arch.name} '
                            f'(known: {", ".join(arch.iommus)})')
    for mode in options.modes:
        if mode not in MODES:
            raise ToolError(f'unknown mode {mode!r} (known: '
                            f'{", ".join(MODES)})')
    tree = KernelTree.open(options.kernel)
    for need in ('scripts/kconfig', f'arch/{arch.srcarch}/Kconfig',
                 'scripts/Makefile.build'):
        if not (tree.path / need).exists():
            raise ToolError(f'{options.kernel}: not a buildable kernel tree '
                            f'(no {need})')
    if (tree.path / '.iommu-dma' / 'record.json').exists():
        raise ToolError(f'{options.kernel}: already rewritten by {PROG} '
                        '(.iommu-dma/record.json); boot needs the pristine '
                        'tree')
    for tool in ('make', 'cpio', arch.cc, arch.qemu):
        if not shutil.which(tool):
            raise ToolError(f'{tool}: not found (make deps installs it)')
    return tree, arch


def run(options: Options, progress: Progress) -> BootResult:
    tree, arch = check_inputs(options)
    if not options.iommus:
        options = replace(options, iommus=tuple(arch.iommus))
    # One work directory per tree and arch: kbuild judges objects by
    # mtime, so objects built from another tree of the same release
    # would pass for this one's.
    where = _digest([str(tree.path.resolve())])[:8]
    root = (options.work or default_work_root()) / \
        f'{tree.series_name()}-{arch.name}-{where}'
    work = Work(root)
    prune(root.parent, progress)
    with locked(work, progress):
        return _run_locked(options, tree, arch, work, progress)


def prune(boot_root: Path, progress: Progress) -> None:
    """Work dirs whose tree is gone (a test's clone, a deleted copy) go:
    nothing can use them again, and each holds a kernel build."""
    if not boot_root.is_dir():
        return
    for root in boot_root.iterdir():
        work = Work(root)
        tree = work.load_state().get('tree')
        if not tree or Path(tree).exists():
            continue
        with open(root / '.lock', 'w') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue            # in use: its owner will say
            progress(f'removing {root} (its tree {tree} is gone)')
            shutil.rmtree(root)


def _run_locked(options: Options, tree: KernelTree, arch: Arch, work: Work,
                progress: Progress) -> BootResult:
    seconds: dict[str, float] = {}
    start = time.monotonic()
    state = work.load_state()
    if 'touched' not in state and work.obj.exists():
        # Which objects a rewrite left behind is unknown: start afresh.
        progress(f'no {work.state}: removing {work.obj}')
        shutil.rmtree(work.obj)
    stale = state.get('touched', [])
    state['tree'] = str(tree.path.resolve())
    make_source(tree.path, work, stale, progress)
    config_key = configure(arch, work, options.jobs, tree.version(),
                           progress)
    key = pristine_key(tree, arch, config_key, stale)
    cached = bool(stale) and state.get('pristine_key') == key and \
        work.image('pristine').exists()
    if cached:
        progress(f'pristine kernel cached: {work.image("pristine")}')
    else:
        state.pop('pristine_key', None)
        state['touched'] = stale
        work.save_state(state)
        seconds['build_pristine'] = build(arch, work, options.jobs,
                                          'pristine', progress)
    seconds['rewrite'] = rewrite(work, options.jobs, progress) \
        if options.rewritten is None else \
        write_rewritten(work, options.rewritten, progress)
    touched = touched_files(tree.path, work.src)
    progress(f'the rewrite touched {len(touched)} files')
    new_key = pristine_key(tree, arch, config_key, touched)
    rewritten_key = _digest([new_key, *(
        f'{rel}\0{hashlib.sha256((work.src / rel).read_bytes()).hexdigest()}'
        for rel in touched)])
    if cached and state.get('rewritten_key') == rewritten_key and \
            sorted(stale) == touched and work.image('rewritten').exists():
        # A re-roll that rewrites the same files the same way: obj/ holds
        # the objects of exactly this rewrite.
        progress(f'rewritten kernel cached: {work.image("rewritten")}')
    else:
        # Until the rewritten build is done, obj/ may hold objects of both.
        state.pop('rewritten_key', None)
        state['touched'] = sorted(set(stale) | set(touched))
        state['pristine_key'] = new_key
        work.save_state(state)
        seconds['build_rewritten'] = build(arch, work, options.jobs,
                                           'rewritten', progress)
    state.update(touched=touched, pristine_key=new_key,
                 rewritten_key=rewritten_key)
    work.save_state(state)
    cpio = initramfs(arch, work)
    disk, crc = disk_image(work)
    boots_start = time.monotonic()
    specs = boot_specs(arch, work, options, cpio, disk, crc)
    progress(f'{len(specs)} boots, {MAX_QEMU} at a time (logs: '
             f'{work.logs}/<variant>-<iommu>-<mode>.console)')
    records = boot_all(specs, options.timeout, progress)
    seconds['boots'] = time.monotonic() - boots_start
    seconds['total'] = time.monotonic() - start
    rows = tuple(
        Row(iommu, mode, records['pristine', iommu, mode],
            records['rewritten', iommu, mode],
            compare(records['pristine', iommu, mode],
                    records['rewritten', iommu, mode]))
        for iommu in options.iommus for mode in options.modes)
    return BootResult(str(options.kernel), tree.version(), arch.name,
                      str(work.root), cached, rows,
                      {k: round(v, 1) for k, v in seconds.items()})


# ------------------------------------------------------------ command line

def _list(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(',') if x)


def cmd_boot(args: argparse.Namespace) -> int:
    rewritten = None
    if args.rewritten:
        top = Path(args.rewritten)
        rewritten = tuple(sorted((str(p.relative_to(top)), p.read_bytes())
                                 for p in top.rglob('*') if p.is_file()))
    options = Options(
        kernel=args.kernel, arch=args.arch, jobs=args.jobs,
        work=Path(args.work) if args.work else None,
        iommus=_list(args.iommu) if args.iommu else (),
        modes=_list(args.modes), timeout=args.timeout, rewritten=rewritten)

    def progress(msg: str) -> None:
        print(f'{PROG} boot: {msg}', file=sys.stderr, flush=True)

    result = run(options, progress)
    sys.stdout.write(result.to_json() if args.json else render(result))
    steps = ', '.join(f'{k.replace("_", " ")} {v:.0f} s'
                      for k, v in result.seconds.items() if k != 'total')
    progress(f'took {result.seconds.get("total", 0):.0f} s ({steps}' +
             (', pristine cached' if result.pristine_cached else '') + ')')
    return 0 if result.ok() else 1


def parser() -> argparse.ArgumentParser:
    s = argparse.ArgumentParser(
        prog='python3 -m lab.boot', description='build the pristine and '
        'the rewritten kernel, boot both under QEMU behind every IOMMU, '
        'compare (exit 0 same, 1 differs, 2 bad input)')
    s.add_argument('kernel', metavar='KERNEL', help='pristine kernel tree '
                   '(never written)')
    s.add_argument('--arch', choices=tuple(ARCHES), default='x86_64')
    s.add_argument('-j', '--jobs', type=int, default=2,
                   help='make and spatch jobs (default 2)')
    s.add_argument('--work', help='work root (default: KCACHE/boot, '
                   'shared by every clone and O=)')
    s.add_argument('--json', action='store_true', help='print JSON')
    s.add_argument('--iommu', help='comma-separated (default: all of the '
                   'arch: x86_64 intel,amd,virtio; arm64 smmuv3,virtio)')
    s.add_argument('--modes', default=','.join(MODES),
                   help=f'comma-separated (default: {",".join(MODES)})')
    s.add_argument('--timeout', type=float, default=BOOT_TIMEOUT,
                   help=f'seconds per boot (default {BOOT_TIMEOUT:.0f})')
    s.add_argument('--rewritten', metavar='DIR', help='the rewritten files, '
                   'laid out as in KERNEL (default: `iommu-dma apply` '
                   'makes them)')
    s.set_defaults(func=cmd_boot)
    return s


def main(argv: list[str] | None = None) -> int:
    return errors.run(parser(), argv)

if __name__ == '__main__':
    sys.exit(main())
