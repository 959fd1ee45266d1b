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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from iommu_dma import PROG, errors, jsonout
from iommu_dma.errors import ToolError
from iommu_dma.spatch import echo, replace_file
from iommu_dma.tree import KernelTree, kernel_cache, linked_copy

TOP = Path(__file__).resolve().parents[2]
BOOT_DIR = TOP / 'tools' / 'boot'
# The one arch table of everything here that runs kbuild (the checker's):
# ARCH= and CROSS_COMPILE come from it; this file adds what QEMU needs.
ARCH_TABLE = TOP / 'tools' / 'checker' / 'arches.txt'

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
BOOT_ENV_DROP = ('KBUILD_OUTPUT KBUILD_EXTMOD KCONFIG_CONFIG KCFLAGS KCPPFLAGS'
                 ' O V W C M J ARCH CROSS_COMPILE LLVM CC LD KERNEL').split()


@dataclass(frozen=True)
class Arch:
    name: str
    target: str     # kbuild's image: arch/<arch/ dir>/boot/<target>
    qemu: str
    console: str
    iommus: dict[str, tuple[str, ...]]  # iommu -> QEMU args, machine too

    def kbuild(self) -> tuple[str, str, str]:
        """ARCH=, the arch/ directory and CROSS_COMPILE from the arch
        table, no prefix on a host of this arch."""
        for w in map(str.split, ARCH_TABLE.read_text().splitlines()):
            if w[:2] == ['arch', self.name] and len(w) >= 6:
                host = platform.machine()
                native = {'aarch64': 'arm64'}.get(host, host) == self.name
                return w[2], w[3], '' if native else w[4]
        raise ToolError(f'{ARCH_TABLE}: no arch {self.name}')

    @property
    def cc(self) -> str:
        return f'{self.kbuild()[2]}gcc'

    @property
    def fragment(self) -> Path:
        return BOOT_DIR / f'{self.name}.config'


ARCHES = {
    'x86_64': Arch('x86_64', 'bzImage', 'qemu-system-x86_64', 'ttyS0', {
        # caching-mode=on makes intel strict whatever the command line
        'intel': ('-M', 'q35,kernel-irqchip=split', '-device',
                  'intel-iommu,intremap=on,caching-mode=on'),
        'amd': ('-M', 'q35', '-device', 'amd-iommu'),
        'virtio': ('-M', 'q35', '-device', 'virtio-iommu-pci')}),
    'arm64': Arch('arm64', 'Image', 'qemu-system-aarch64', 'ttyAMA0', {
        'smmuv3': ('-M', 'virt,iommu=smmuv3,gic-version=3',
                   '-cpu', 'cortex-a57'),
        'virtio': ('-M', 'virt,gic-version=3', '-cpu', 'cortex-a57',
                   '-device', 'virtio-iommu-pci')}),
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
        kinds = Counter(p.kind for p in self.problems if p.kind != 'notice')
        parts = [', '.join(f'{n}x{t}' for t, n in sorted(types.items()))
                 or 'no groups', f'disk {self.disk}',
                 *(f'{kinds[k]} {name}' for k, name in KIND_NAMES.items()
                   if kinds[k])]
        return ', '.join(parts + [self.outcome] * (self.outcome != 'ok'))


KIND_NAMES = {'setup': 'setup failures', 'fault': 'faults',
              'crash': 'crashes', 'qemu': 'QEMU warnings',
              'notice': 'IOMMU notices'}
# A console line's kind: the first that matches. Notices are not
# failures, but a rewrite must not change them either.
CONSOLE_PATTERNS = {
    'setup': r'Failed to set up IOMMU for device',
    'fault': r'DMAR: \[(DMA (Read|Write)|INTR-REMAP)|DMAR: DRHD: handling '
             r'fault|IO_PAGE_FAULT|AMD-Vi: Event logged|page fault from EP'
             r'|arm-smmu-v3.*event 0x|Unhandled context fault',
    'crash': r'Kernel panic|BUG:|Oops|WARNING: CPU:|'
             r'Unable to handle kernel|Call Trace:',
    'notice': r'Failed to allocate default IOMMU domain|'
              r'Falling back to IOMMU_DOMAIN|'
              r'Using strict mode due to virtualization',
}
QEMU_PATTERN = r'(?i)fault|translat|iova|dmar|smmu|iommu|vtd|amdvi'


def parse_console(console: str, qemu_stderr: str = '',
                  timed_out: bool = False, qemu_failed: bool = False
                  ) -> BootRecord:
    """The boot record of one boot, from its console log and QEMU's
    stderr."""
    lines = [re.sub(r'^\[\s*\d+\.\d+\]\s*', '', ln.rstrip('\r'))
             for ln in console.replace('\r\n', '\n').split('\n')]
    groups: list[Group] = []
    disk, disk_line, marks = 'missing', '', set()
    problems: list[Problem] = []
    for line in lines:
        m = re.search(r'BOOT-RECORD (\S.*)', line)
        if not m:
            problems += [Problem(k, line.strip()) for k, p in
                         CONSOLE_PATTERNS.items() if re.search(p, line)][:1]
            continue
        text = m.group(1).strip()
        f = dict(w.split('=', 1) for w in text.split() if '=' in w)
        if text in ('begin', 'end'):
            marks.add(text)
        elif 'group' in f:
            groups.append(Group(int(f['group']), f.get('type', '?'),
                                f.get('devices', '')))
        elif 'disk' in f:
            disk, disk_line = f['disk'], text
    problems += [Problem('qemu', ln.strip()) for ln in
                 qemu_stderr.splitlines() if re.search(QEMU_PATTERN, ln)]
    outcome = ('qemu-error' if qemu_failed and 'begin' not in marks else
               'timeout' if timed_out else
               'ok' if 'end' in marks else 'no-record')
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
    old = {(g.number, g.devices): g.type for g in pristine.groups}
    new = {(g.number, g.devices): g.type for g in rewritten.groups}
    if set(old) != set(new):
        diffs.append(Difference('IOMMU groups differ', tuple(
            who + (' '.join(f'{g.number}:{g.type}({g.devices})'
                            for g in rec.groups) or 'none')
            for who, rec in (('pristine:  ', pristine),
                             ('rewritten: ', rewritten)))))
    elif changed := [k for k in sorted(old) if old[k] != new[k]]:
        types = sorted({f'{old[k]} -> {new[k]}' for k in changed})
        diffs.append(Difference(
            f'group types {", ".join(types)}',
            tuple(f'group {n} ({devs}): {old[n, devs]} -> {new[n, devs]}'
                  for n, devs in changed)))
    if pristine.disk != rewritten.disk:
        diffs.append(Difference(f'disk {pristine.disk} -> {rewritten.disk}',
                                (rewritten.disk_line or 'no disk line',)))
    before = Counter(p.key() for p in pristine.problems)
    after = Counter(p.key() for p in rewritten.problems)
    for rec, extra, how in ((rewritten, after - before, 'new'),
                            (pristine, before - after, 'gone')):
        for kind, name in KIND_NAMES.items():
            lines = [p.line for p in rec.problems
                     if extra[p.key()] > 0 and p.kind == kind]
            shown = list(dict.fromkeys(lines))[:4]
            more = [f'... {len(lines) - len(shown)} more'] \
                if len(lines) > len(shown) else []
            if lines:
                diffs.append(Difference(f'{len(lines)} {how} {name}',
                                        tuple(shown + more)))
    return tuple(diffs)


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
            raw.update(verdict=row.verdict(), ok=row.ok())
        data['ok'] = self.ok()
        return jsonout.document('boot', 'same' if self.ok() else 'differs',
                                data.pop('kernel'), data)


def render(result: BootResult) -> str:
    """The table, then the evidence of every row that is not ok."""
    table = [('iommu', 'mode', 'pristine', 'rewritten', 'verdict')] + [
        (r.iommu, r.mode, r.pristine.summary(), r.rewritten.summary(),
         r.verdict()) for r in result.rows]
    widths = [max(len(x[i]) for x in table) for i in range(4)]
    out = [f'{PROG} boot: {result.kernel} ({result.version}, '
           f'{result.arch})', '']
    out += ['  '.join(c.ljust(w) for c, w in zip(cells, widths)) + '  ' +
            cells[4] for cells in table]
    bad = [r for r in result.rows if not r.ok()]
    for r in bad:
        out += ['', f'{r.iommu} {r.mode}:']
        p = r.pristine
        if not p.worked():
            evidence = [f'{x.kind}: {x.line}' for x in p.problems][:6]
            if p.disk != 'ok':
                evidence.append(f'disk: {p.disk_line or p.disk}')
            if p.outcome != 'ok':
                evidence += p.tail
            out.append(f'  pristine: {p.summary()}')
            out += [f'    {ln}' for ln in evidence]
        out += ['  ' + d.text().replace('\n', '\n  ') for d in r.differences]
    out += ['', f'{PROG} boot: ' + (
        f'the rewritten kernel boots as pristine in all {len(result.rows)} '
        '(iommu, mode) pairs' if not bad else
        f'{len(bad)} of {len(result.rows)} (iommu, mode) pairs not the same '
        'as a working pristine')]
    return '\n'.join(out) + '\n'


# ------------------------------------------------------------ the builds

class Work:
    """The work directory of one tree and arch."""

    def __init__(self, root: Path) -> None:
        self.root, self.src, self.obj = root, root / 'src', root / 'obj'
        self.logs, self.state = root / 'logs', root / 'state.json'

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


def kbuild_env(work: Work | None = None) -> dict[str, str]:
    """The environment less BOOT_ENV_DROP, with the arch table's (env
    lines: a NAME unset, NAME=VALUE set)."""
    words = [w for line in ARCH_TABLE.read_text().splitlines()
             if line.split()[:1] == ['env']
             for w in line.split('#')[0].split()[1:]]
    env = {k: v for k, v in os.environ.items()
           if k not in words and k not in BOOT_ENV_DROP}
    env.update(w.split('=', 1) for w in words if '=' in w)
    if work is not None:
        # One compiler cache for every work directory: paths under the
        # boot root are hashed relative to the object directory, so the
        # same source in another work directory (a git clone of the same
        # release, a new KCACHE/boot entry) hits.
        env.setdefault('CCACHE_DIR', str(kernel_cache() / 'ccache'))
        env.update(CCACHE_BASEDIR=str(work.root.parent), CCACHE_NOHASHDIR='1')
    return env


def run_logged(cmd: list[str], log: Path, what: str,
               env: dict | None = None, append: bool = False) -> None:
    """Run CMD with its output in LOG; a failure is a ToolError naming
    LOG and its first error line."""
    log.parent.mkdir(parents=True, exist_ok=True)
    echo(cmd)
    with open(log, 'a' if append else 'w') as out:
        print('$ ' + ' '.join(cmd), file=out, flush=True)
        res = subprocess.run(cmd, env=env, stdout=out,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        first = next((': ' + ln.strip()[:200] for ln in
                      log.read_text(errors='replace').splitlines()
                      if re.search(r'\berror\b', ln, re.I) and
                      not ln.startswith('$')), '')
        raise ToolError(f'{what} failed (exit {res.returncode}){first}; '
                        f'see {log}')


def kbuild(arch: Arch, work: Work, jobs: int, target: str, log: Path,
           what: str, append: bool = False) -> None:
    """make TARGET of src/ in obj/, through ccache where installed."""
    name, _, cross = arch.kbuild()
    cc = [f'CC=ccache {arch.cc}'] if shutil.which('ccache') else []
    run_logged(['make', '-C', str(work.src), f'O={work.obj}', f'ARCH={name}',
                f'CROSS_COMPILE={cross}', *cc, f'-j{jobs}', target], log,
               what, kbuild_env(work), append)


def needed_symbols(fragment: str) -> tuple[list[str], list[str]]:
    """The symbols a fragment sets to y and those it turns off."""
    return (re.findall(r'^(CONFIG_\w+)=y\s*$', fragment, re.M),
            re.findall(r'^# (CONFIG_\w+) is not set\s*$', fragment, re.M))


def check_config(config: str, fragment: str, config_path: Path,
                 fragment_path: Path) -> None:
    on, off = needed_symbols(fragment)
    have = set(needed_symbols(config)[0])
    bad = [f'{sym} is not =y (needed by {fragment_path}); Kconfig refused '
           'it' for sym in on if sym not in have] + [
        f'{sym}=y although {fragment_path} turns it off'
        for sym in off if sym in have]
    if bad:
        raise ToolError(f'{config_path}: {bad[0]}')


def configure(arch: Arch, work: Work, jobs: int, version: str,
              progress: Progress) -> str:
    """tinyconfig + the fragment in obj/.config, redone only when the
    fragment or the version changed; returns the config key."""
    fragment = arch.fragment.read_text()
    key = _digest(['config', version, arch.name, fragment])
    stamp, config = work.obj / '.iommu-dma-boot-config', work.obj / '.config'
    if not (stamp.exists() and stamp.read_text() == key and
            config.exists()):
        log = work.logs / 'config.log'
        progress(f'configuring: tinyconfig + '
                 f'{arch.fragment.relative_to(TOP)} (log: {log})')
        work.obj.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        kbuild(arch, work, jobs, 'tinyconfig', log, 'make tinyconfig')
        with open(config, 'a') as f:
            f.write('\n' + fragment)
        kbuild(arch, work, jobs, 'olddefconfig', log, 'make olddefconfig',
               append=True)
        stamp.write_text(key)
    check_config(config.read_text(), fragment, config, arch.fragment)
    return key


def build(arch: Arch, work: Work, jobs: int, variant: str,
          progress: Progress, state: dict, cached: bool, **before: object
          ) -> dict[str, float]:
    """<variant>.Image: as cached, or built from src/ into obj/ once the
    state says BEFORE and no longer has the variant's key; the seconds."""
    if cached:
        progress(f'{variant} kernel cached: {work.image(variant)}')
        return {}
    state.pop(f'{variant}_key', None)
    state.update(before)
    work.save_state(state)
    log = work.logs / f'build-{variant}.log'
    image = work.obj / 'arch' / arch.kbuild()[1] / 'boot' / arch.target
    progress(f'building {variant} {arch.target} (log: {log})')
    start = time.monotonic()
    image.unlink(missing_ok=True)
    work.image(variant).unlink(missing_ok=True)
    kbuild(arch, work, jobs, arch.target, log,
           f'building the {variant} kernel')
    if not image.exists():
        raise ToolError(f'building the {variant} kernel made no {image}; '
                        f'see {log}')
    shutil.copy2(image, work.image(variant))
    took = time.monotonic() - start
    progress(f'{variant} built in {took:.0f} s')
    return {f'build_{variant}': took}


def make_source(kernel: Path, work: Work, stale: Sequence[str],
                progress: Progress) -> None:
    """src/ as a fresh cp -al of KERNEL. Files a previous rewrite replaced
    are written anew (a fresh mtime), so kbuild rebuilds what the previous
    build made from their rewritten version."""
    progress(f'copying {kernel} to {work.src} (cp -al)')
    shutil.rmtree(work.src, ignore_errors=True)
    linked_copy(kernel, work.src)
    for path in (work.src / rel for rel in stale):
        if path.is_file():
            replace_file(path, path.read_bytes())


def _entries(root: Path | str) -> Iterator[os.DirEntry]:
    """Everything under root but directories, .git and .iommu-dma (the
    rewrite's state); symlinks not followed."""
    with os.scandir(root) as it:
        for e in it:
            if e.name not in ('.git', '.iommu-dma'):
                yield from _entries(e.path) \
                    if e.is_dir(follow_symlinks=False) else (e,)


def touched_files(kernel: Path, src: Path) -> list[str]:
    """Files of src/ that are no longer KERNEL's (replaced or new)."""
    before = {os.path.relpath(e.path, kernel): e.inode()
              for e in _entries(kernel)}
    return sorted(rel for e in _entries(src)
                  if e.is_file(follow_symlinks=False) and
                  before.get(rel := os.path.relpath(e.path, src)) != e.inode())


def rewrite(work: Work, options: argparse.Namespace,
            progress: Progress) -> None:
    """src/ rewritten: with the files of --rewritten, laid out as in
    KERNEL (the series: what its patches give; new files: the links to
    KERNEL stay intact) or by `iommu-dma apply` as a subprocess (honours
    $IOMMU_DMA_COCCI)."""
    if options.rewritten:
        top = Path(options.rewritten)
        files = [p for p in top.rglob('*') if p.is_file()]
        progress(f'writing the {len(files)} rewritten files into {work.src}')
        for new in files:
            path = work.src / new.relative_to(top)
            if path.exists():
                replace_file(path, new.read_bytes())
            else:
                path.write_bytes(new.read_bytes())
        return
    log = work.logs / 'rewrite.log'
    cocci = os.environ.get('IOMMU_DMA_COCCI')
    progress(f'rewriting {work.src}' +
             (f' with IOMMU_DMA_COCCI={cocci}' if cocci else '') +
             f' (log: {log})')
    run_logged([sys.executable, '-m', 'iommu_dma', 'apply',
                f'-j{options.jobs}', str(work.src)], log,
               'the rewrite (iommu-dma apply)',
               dict(kbuild_env(), PYTHONPATH=str(TOP / 'tools')))


def pristine_key(kernel: KernelTree, arch: Arch, config_key: str,
                 files: Sequence[str]) -> str:
    """What the pristine image depends on: the version, the config, the
    compiler, the tree's file count and newest mtime (what kbuild goes
    by), and the files the rewrite touches, by content."""
    cc = subprocess.run([arch.cc, '--version'], capture_output=True,
                        text=True).stdout.split('\n', 1)[0]
    mtimes = [e.stat(follow_symlinks=False).st_mtime_ns
              for e in _entries(kernel.path)]
    parts = [kernel.version(), arch.name, config_key, cc,
             f'{len(mtimes)} {max([0, *mtimes])}']
    for rel in sorted(files):
        path = kernel.path / rel
        parts += [rel, hashlib.sha256(path.read_bytes()).hexdigest()
                  if path.is_file() else '-']
    return _digest(parts)


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]


# ------------------------------------------------ initramfs, disk, QEMU

def initramfs(arch: Arch, work: Work) -> Path:
    """initramfs.cpio holding the static /init (tools/boot/init.c)."""
    root = work.root / 'initramfs'
    shutil.rmtree(root, ignore_errors=True)
    for d in ('dev', 'proc', 'sys'):
        (root / d).mkdir(parents=True)
    log = work.logs / 'initramfs.log'
    run_logged([arch.cc, '-static', '-O2', '-Wall', '-o', str(root / 'init'),
                str(BOOT_DIR / 'init.c')], log,
               f'compiling /init with {arch.cc}')
    cpio = work.root / 'initramfs.cpio'
    with open(cpio, 'wb') as out, open(log, 'a') as err:
        res = subprocess.run(['cpio', '-o', '-H', 'newc', '--quiet',
                              '-R', '0:0'], cwd=root,
                             input=b'dev\ninit\nproc\nsys\n',
                             stdout=out, stderr=err)
    if res.returncode != 0:
        raise ToolError(f'cpio failed; see {log}')
    return cpio


def disk_pattern(size: int = DISK_SIZE) -> bytes:
    return b''.join(hashlib.sha256(b'iommu-dma boot %d' % i).digest()
                    for i in range(size // 32 + 1))[:size]


def boot_all(arch: Arch, work: Work, options: argparse.Namespace,
             progress: Progress) -> tuple[Row, ...]:
    """Boot pristine and rewritten per (iommu, mode), at most MAX_QEMU at
    once, and compare them."""
    cpio, data = initramfs(arch, work), disk_pattern()
    disk = work.root / 'disk.img'
    if not disk.exists() or disk.read_bytes() != data:
        disk.write_bytes(data)
    check = (f'bootcheck_crc={zlib.crc32(data):08x} '
             f'bootcheck_size={DISK_SIZE} bootcheck_timeout={DISK_TIMEOUT}')
    pairs = [(iommu, mode) for iommu in options.iommus
             for mode in options.modes]
    progress(f'{2 * len(pairs)} boots, {MAX_QEMU} at a time (logs: '
             f'{work.logs}/<variant>-<iommu>-<mode>.console)')
    procs: list[subprocess.Popen] = []

    def boot(key: tuple[str, str, str]) -> BootRecord:
        variant, iommu, mode = key
        log, started = work.logs / '-'.join(key), time.monotonic()
        with open(f'{log}.console', 'wb') as out, \
                open(f'{log}.qemu', 'wb') as err:
            procs.append(proc := subprocess.Popen(
                (arch.qemu, *arch.iommus[iommu], '-m', '512M', '-nographic',
                 '-no-reboot', '-nic', 'none', '-kernel',
                 str(work.image(variant)), '-initrd', str(cpio), '-append',
                 f'console={arch.console} panic=-1 rdinit=/init '
                 f'{MODES[mode]} {check}',
                 '-drive', f'file={disk},if=none,format=raw,id=d0,'
                 'readonly=on', '-device', 'virtio-blk-pci,drive=d0,'
                 'iommu_platform=on,disable-legacy=on'),
                stdin=subprocess.DEVNULL, stdout=out, stderr=err))
            try:
                failed, timed_out = proc.wait(options.timeout) != 0, False
            except subprocess.TimeoutExpired:
                failed, timed_out = False, True
                proc.kill()
                proc.wait()
        rec = parse_console(Path(f'{log}.console').read_text(errors='replace'),
                            Path(f'{log}.qemu').read_text(errors='replace'),
                            timed_out, failed)
        progress(f'booted {variant:9} {iommu:6} {mode:11} {rec.summary()} '
                 f'({time.monotonic() - started:.1f} s)')
        return rec

    with ThreadPoolExecutor(MAX_QEMU) as pool:
        try:
            records = list(pool.map(boot, [
                (variant, iommu, mode) for iommu, mode in pairs
                for variant in ('pristine', 'rewritten')]))
        finally:        # Ctrl-C: no more boots, and none left running
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                proc.kill()         # a no-op once it has exited
    return tuple(Row(iommu, mode, p, r, compare(p, r)) for (iommu, mode), p, r
                 in zip(pairs, records[::2], records[1::2]))


# ------------------------------------------------------------ the whole

def run(options: argparse.Namespace, progress: Progress) -> BootResult:
    """The boot check of the command line's options."""
    arch = ARCHES[options.arch]     # one of argparse's choices
    for kind, names, known, where in (
            ('iommu', options.iommus, arch.iommus, f' for {arch.name}'),
            ('mode', options.modes, MODES, '')):
        for name in names:
            if name not in known:
                raise ToolError(f'unknown {kind} {name!r}{where} (known: '
                                f'{", ".join(known)})')
    tree = KernelTree.open(options.kernel)
    for need in ('scripts/kconfig', f'arch/{arch.kbuild()[1]}/Kconfig',
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
    options.iommus = options.iommus or tuple(arch.iommus)
    # One work directory per tree and arch: kbuild judges objects by
    # mtime, so objects built from another tree of the same release
    # would pass for this one's.
    where = _digest([str(tree.path.resolve())])[:8]
    work = Work(Path(options.work or kernel_cache() / 'boot') /
                f'{tree.series_name()}-{arch.name}-{where}')
    prune(work.root.parent, progress)
    work.root.mkdir(parents=True, exist_ok=True)
    with open(work.root / '.lock', 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f'waiting for another boot in {work.root}')
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _run_locked(options, tree, arch, work, progress)


def prune(boot_root: Path, progress: Progress) -> None:
    """Work dirs whose tree is gone (a test's clone, a deleted copy) go:
    nothing can use them again, and each holds a kernel build."""
    for root in boot_root.iterdir() if boot_root.is_dir() else ():
        tree = Work(root).load_state().get('tree')
        if not tree or Path(tree).exists():
            continue
        with open(root / '.lock', 'w') as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue            # in use: its owner will say
            progress(f'removing {root} (its tree {tree} is gone)')
            shutil.rmtree(root)


def _run_locked(options: argparse.Namespace, tree: KernelTree, arch: Arch,
                work: Work, progress: Progress) -> BootResult:
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
    seconds.update(build(arch, work, options.jobs, 'pristine', progress,
                         state, cached, touched=stale))
    step = time.monotonic()
    rewrite(work, options, progress)
    seconds['rewrite'] = time.monotonic() - step
    touched = touched_files(tree.path, work.src)
    progress(f'the rewrite touched {len(touched)} files')
    new_key = pristine_key(tree, arch, config_key, touched)
    rewritten_key = _digest([new_key, *(
        f'{rel}\0{hashlib.sha256((work.src / rel).read_bytes()).hexdigest()}'
        for rel in touched)])
    # A re-roll that rewrites the same files the same way: obj/ holds the
    # objects of exactly this rewrite. Until a rewritten build is done,
    # obj/ may hold objects of both.
    seconds.update(build(
        arch, work, options.jobs, 'rewritten', progress, state,
        cached and state.get('rewritten_key') == rewritten_key and
        sorted(stale) == touched and work.image('rewritten').exists(),
        touched=sorted(set(stale) | set(touched)), pristine_key=new_key))
    state.update(touched=touched, pristine_key=new_key,
                 rewritten_key=rewritten_key)
    work.save_state(state)
    step = time.monotonic()
    rows = boot_all(arch, work, options, progress)
    seconds['boots'] = time.monotonic() - step
    seconds['total'] = time.monotonic() - start
    return BootResult(str(options.kernel), tree.version(), arch.name,
                      str(work.root), cached, rows,
                      {k: round(v, 1) for k, v in seconds.items()})


# ------------------------------------------------------------ command line

def _list(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(',') if x)


def cmd_boot(args: argparse.Namespace) -> int:
    def progress(msg: str) -> None:
        print(f'{PROG} boot: {msg}', file=sys.stderr, flush=True)

    result = run(args, progress)
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
    s.add_argument('--iommu', dest='iommus', type=_list, default=(),
                   help='comma-separated (default: all of the arch: x86_64 '
                   'intel,amd,virtio; arm64 smmuv3,virtio)')
    s.add_argument('--modes', type=_list, default=tuple(MODES),
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
