"""Regenerate the rewrite as a mailable, bisectable `git format-patch` series.

The series is built from a pristine copy of the tree, never the user's
checkout:
  - a git tree: `git worktree add -b iommu-dma/<date>` of HEAD under the
    output root (the user's branch and work tree are not touched; the new
    branch is kept when the series is written, deleted when it is refused);
  - any other tree (Debian's tarball trees): a `cp -al` copy under the
    output root with a throw-away git repository whose baseline commit
    tracks only the files the series changes. Everything else stays in the
    work tree untracked, where kbuild, checkpatch.pl and get_maintainer.pl
    need it; `git format-patch` only needs the tracked files, and their
    blob ids are the real ones. (A baseline of the whole tree, `git add -f
    .`, measured 18 s and 525 MB of objects on 6.1 for nothing the series
    uses.) Files are replaced, never edited in place: the copy shares its
    inodes with the pristine tree, and git itself replaces files too.

The patches follow record.steps, which lists per semantic patch in series
order (fields, declare, core, drop) the files it changed; the contents come
from Rewrite.step_after. SPLIT=1: the iommu_ops fields, one patch per
driver declaring its flags (no behaviour change), the core switch, one
patch per driver dropping its dead DMA comparisons. SPLIT=0: one patch like
the seed. After every patch that touches C files kbuild-check builds the
files it touched (for the header: the core and every driver of the series)
and the series is refused if one fails; every patch must pass the tree's
checkpatch.pl --strict with no error, warning or check. Like apply, a
series is refused when a rewritten gate is not proved (report.py).
"""

from __future__ import annotations

import fcntl
import fnmatch
import os
import re
import shutil
import subprocess
import tempfile
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import PROG, boot, report
from .errors import ToolError
from .journal import write_durable
from .record import Record
from .rewrite import Rewrite, compute, discard
from .tree import IOMMU_C, STATE_DIR, KernelTree

HERE = Path(__file__).resolve().parent
PREFIXES = HERE / 'prefixes.txt'
SEED_SUBJECT = 'iommu: Remove IOMMU_DOMAIN_DMA from drivers'
SEED_AUTHOR = 'Jason Gunthorpe'
WIDTH = 72
# A subject line longer than this (prefix included) falls back to a
# shorter wording that does not name the function or ops.
MAX_SUBJECT = 70
SHORT = {'declare': 'Declare DMA API support in iommu_ops',
         'drop': 'Remove IOMMU_DOMAIN_DMA from domain_alloc'}

# What the seed patch ("iommu: Remove IOMMU_DOMAIN_DMA from drivers", Jason
# Gunthorpe, 2023-01-27) sets per driver file; arm-smmu also clears
# use_dma_iommu for the legacy binding. The cover letter lists where a
# regenerated series differs from it, and why.
SEED_FLAGS = {
    'drivers/iommu/apple-dart.c': {'use_dma_iommu'},
    'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c':
        {'use_dma_iommu', 'allow_dma_fq'},
    'drivers/iommu/arm/arm-smmu/arm-smmu.c':
        {'use_dma_iommu', 'allow_dma_fq'},
    'drivers/iommu/arm/arm-smmu/qcom_iommu.c': {'use_dma_iommu'},
    'drivers/iommu/exynos-iommu.c': {'use_dma_iommu'},
    'drivers/iommu/intel/iommu.c': {'use_dma_iommu'},
    'drivers/iommu/ipmmu-vmsa.c': {'use_dma_iommu'},
    'drivers/iommu/mtk_iommu.c': {'use_dma_iommu'},
    'drivers/iommu/rockchip-iommu.c': {'use_dma_iommu'},
    'drivers/iommu/sprd-iommu.c': {'use_dma_iommu'},
    'drivers/iommu/sun50i-iommu.c': {'use_dma_iommu'},
    'drivers/iommu/virtio-iommu.c': {'use_dma_iommu'},
}
SEED_CORE = 'iommu_group_alloc_default_domain'

# git must not take these from the user's configuration: they would change
# what the patches look like or run the user's hooks and signers.
GIT_CONFIG = ['-c', 'diff.noprefix=false', '-c', 'diff.mnemonicPrefix=false',
              '-c', 'format.signOff=false', '-c', 'commit.gpgSign=false',
              '-c', 'core.hooksPath=/dev/null', '-c', 'color.ui=false',
              '-c', 'format.coverLetter=false', '-c', 'format.numbered=auto',
              '-c', 'diff.renames=false']


@dataclass
class Options:
    out: Path
    split: str = 'stage'             # stage, driver or 0 (one patch)
    signoff: str | None = None
    prefixes: Path | None = None
    checkpatch: Path | None = None   # for trees without scripts/checkpatch.pl
    checker: Path | None = None      # kbuild-check
    work_root: Path | None = None    # work trees, logs, kbuild output dirs
    jobs: int = 2
    boot: bool = False               # boot check of the final tree


@dataclass
class Patch:
    phase: str
    files: list[str]
    contents: dict[str, bytes]
    subject: str
    body: str

    @property
    def c_files(self) -> list[str]:
        return [f for f in self.files if f.endswith(('.c', '.h'))]


@dataclass
class Work:
    """Where the series is committed."""
    path: Path
    kind: str                 # worktree or baseline
    kernel: KernelTree        # the user's tree
    branch: str | None = None
    base: str = ''

    def git(self, *args: str, env: dict | None = None,
            check: bool = True) -> str:
        return git(self.path, *args, env=env, check=check)


@dataclass
class Result:
    out: Path
    files: list[Path]
    subjects: list[str]
    where: str
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def git(cwd: Path, *args: str, env: dict | None = None,
        check: bool = True) -> str:
    res = subprocess.run(['git', *GIT_CONFIG, *args], cwd=cwd,
                         capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})))
    if check and res.returncode != 0:
        raise ToolError(f'git {args[0]} failed in {cwd}: '
                        f'{(res.stderr or res.stdout).strip()[-300:]}')
    return res.stdout


# ---- who signs, which prefix --------------------------------------------

def identity(kernel: KernelTree, signoff: str | None) -> tuple[str, str]:
    """(name, email) for From: and Signed-off-by:."""
    if signoff:
        m = re.fullmatch(r'\s*([^<>]*?)\s*<([^<>\s@]+@[^<>\s]+)>\s*', signoff)
        if not m or not m.group(1):
            raise ToolError(f"SIGNOFF='{signoff}': expected "
                            f"'Full Name <user@example.org>'")
        return m.group(1), m.group(2)
    where = kernel.path if kernel.is_git() else Path.cwd()
    got = []
    for key in ('user.name', 'user.email'):
        res = subprocess.run(['git', 'config', key], cwd=where,
                             capture_output=True, text=True)
        got.append(res.stdout.strip())
    if not all(got):
        raise ToolError("no Signed-off-by identity: set SIGNOFF='Full Name "
                        "<user@example.org>' or git config user.name and "
                        "user.email")
    return got[0], got[1]


def load_prefixes(path: Path) -> list[tuple[str, str]]:
    if not path.is_file():
        raise ToolError(f'{path}: no such prefix table')
    table = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ToolError(f'{path}:{n}: expected "<path glob> <prefix>"')
        table.append((parts[0], parts[1]))
    return table


def table_prefix(rel: str, table: list[tuple[str, str]]) -> str | None:
    name = re.sub(r'[-_]iommu$', '', Path(rel).stem)
    for glob, prefix in table:
        if fnmatch.fnmatchcase(rel, glob):
            return prefix.replace('{name}', name)
    return None


PREFIX_RE = re.compile(r'((?:[\w.+/-]+: )*[\w.+/-]+): \S')


def history_prefix(kernel: KernelTree, rel: str) -> str | None:
    """The prefix most used by the last 50 commits touching rel."""
    if not kernel.is_git():
        return None
    res = subprocess.run(['git', 'log', '--no-merges', '-n', '50',
                          '--format=%s', 'HEAD', '--', rel],
                         cwd=kernel.path, capture_output=True, text=True)
    if res.returncode != 0:
        return None
    seen = Counter()
    for subject in res.stdout.splitlines():
        m = PREFIX_RE.match(subject)
        if m:
            seen[m.group(1)] += 1
    if not seen:
        return None
    return seen.most_common(1)[0][0]


class Prefixes:
    def __init__(self, kernel: KernelTree, table: list[tuple[str, str]]):
        self.kernel = kernel
        self.table = table
        self.source: dict[str, str] = {}

    def __call__(self, rel: str) -> str:
        found = history_prefix(self.kernel, rel)
        if found:
            self.source[rel] = 'git history'
            return found
        found = table_prefix(rel, self.table)
        if not found:
            raise ToolError(f'{rel}: no subject prefix (no git history and '
                            f'no line of the prefix table matches it)')
        self.source[rel] = 'prefix table'
        return found


# ---- the patches --------------------------------------------------------

def wrap(*paragraphs: str) -> str:
    out = []
    for p in paragraphs:
        if not p:
            continue
        if p.startswith('  '):     # preformatted list
            out.append(p.rstrip('\n'))
        else:
            out.append(textwrap.fill(p, WIDTH, break_long_words=False,
                                     break_on_hyphens=False))
    return '\n\n'.join(out)


def joined(items: list[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def flags_of(record: Record, rel: str) -> dict[tuple[str, str], list[str]]:
    """(ops, function) -> flags set, for one file."""
    got: dict[tuple[str, str], list[str]] = {}
    for e in record.changes:
        if e['event'] == 'flag' and e['file'] == rel:
            got.setdefault((e['ops'], e['function']), []).append(e['flag'])
    return {k: sorted(v, reverse=True) for k, v in sorted(got.items())}


def gates_of(record: Record, rel: str) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for e in record.changes:
        if e['event'] == 'gate' and e['file'] == rel:
            got.setdefault(e['function'], []).append(e['removed'])
    return {k: sorted(v) for k, v in sorted(got.items())}


def legacy_of(record: Record, rel: str) -> list[dict]:
    return [e for e in record.changes
            if e['event'] == 'legacy-binding' and e['file'] == rel]


def human_files(record: Record) -> list[str]:
    """Files with DMA left in domain_alloc and no flag declared there."""
    flagged = {f for f, _ in record.flags_by_ops()}
    return sorted({e['file'] for e in record.findings
                   if e['kind'] in ('implicit-dma', 'not-rewritten')
                   and e['file'] not in flagged})


def behaviour_of(record: Record, rel: str | None = None) -> list[str]:
    """The behaviour changes the report computed, as sentences."""
    return [f"{e['file']}: {e['function']}(), {e['message']}."
            for e in sorted(record.findings, key=lambda e: (
                e['file'], e['function'], e.get('line') or 0))
            if e['kind'] == 'behaviour' and rel in (None, e['file'])]


def const_names(consts: list[str]) -> str:
    return joined(sorted(consts))


def fields_message(record: Record) -> tuple[str, str]:
    fields = [e['field'] for e in record.changes if e['event'] == 'field']
    fields = sorted(set(fields), reverse=True)   # use_dma_iommu first
    subject = f'Add {joined(fields)} to struct iommu_ops'
    paras = [
        'IOMMU_DOMAIN_DMA asks a driver for the same domain as '
        'IOMMU_DOMAIN_UNMANAGED; it only adds that dma-iommu.c may use the '
        'domain for the DMA API. Let drivers say that once, in struct '
        'iommu_ops, so that the core can stop handing IOMMU_DOMAIN_DMA to '
        'them:',
        '  use_dma_iommu  the driver\'s domains can back the DMA API' +
        ('\n  allow_dma_fq   dma-iommu.c may use a flush queue with them'
         if 'allow_dma_fq' in fields else ''),
    ]
    if 'allow_dma_fq' not in fields:
        paras.append('This core already decides about flush queues itself '
                     '(IOMMU_CAP_DEFERRED_FLUSH) and never hands '
                     'IOMMU_DOMAIN_DMA_FQ to a driver, so no flag is needed '
                     'for them.')
    paras.append('Nothing reads the new field' + ('s' if len(fields) > 1
                                                  else '') +
                 ' yet: the drivers set ' + ('them' if len(fields) > 1
                                             else 'it') +
                 ' first, then the core uses ' + ('them.' if len(fields) > 1
                                                  else 'it.'))
    return subject, wrap(*paras)


def declare_message(record: Record, rel: str) -> tuple[str, str]:
    paras = []
    flags = flags_of(record, rel)
    for (ops, fn), fl in flags.items():
        accepts = ['IOMMU_DOMAIN_DMA'] + (
            ['IOMMU_DOMAIN_DMA_FQ'] if 'allow_dma_fq' in fl else [])
        paras.append(
            f'{fn}() accepts {joined(accepts)}, so set '
            f'{joined(["." + f for f in fl])} in {ops}: the core will use '
            f'{"them" if len(fl) > 1 else "it"} to keep allocating DMA API '
            f'domains for this driver once it asks drivers for '
            f'IOMMU_DOMAIN_UNMANAGED instead of IOMMU_DOMAIN_DMA.')
    for e in legacy_of(record, rel):
        paras.append(
            f'With the legacy binding ({e["flag_var"]}) the driver refuses '
            f'DMA domains, so {e["function"]}() clears '
            f'{e["ops"]}.use_dma_iommu when it sets {e["flag_var"]}.')
    paras.append('Nothing reads the flags yet, so this changes no '
                 'behaviour.')
    ops = sorted({o for o, _ in flags}) or \
        sorted({e['ops'] for e in legacy_of(record, rel)})
    subject = f'Declare DMA API support in {joined(ops)}' if ops else \
        'Declare DMA API support in iommu_ops'
    return subject, wrap(*paras)


def core_message(record: Record, core_file: str) -> tuple[str, str]:
    fn = next((e['function'] for e in record.changes
               if e['event'] == 'core'), 'the core')
    left = human_files(record)
    if record.core_shape == 'domain-alloc-legacy':
        paras = [
            f'{fn}() hands IOMMU_DOMAIN_DMA to drivers that still implement '
            f'the legacy .domain_alloc(); flush-queue domains are already '
            f'masked down to IOMMU_DOMAIN_DMA (IOMMU_DOMAIN_ALLOC_FLAGS) '
            f'and handled by the core.',
            'A DMA domain is an IOMMU_DOMAIN_UNMANAGED domain that '
            'dma-iommu.c may use, and drivers now say whether it may '
            '(use_dma_iommu). Hand such drivers IOMMU_DOMAIN_UNMANAGED '
            'instead, and refuse DMA domains to drivers that do not set '
            'use_dma_iommu; the domain keeps its DMA type in the core.',
        ]
    else:
        paras = [
            f'{fn}() hands the requested domain type to the driver, '
            f'IOMMU_DOMAIN_DMA and IOMMU_DOMAIN_DMA_FQ included. A DMA '
            f'domain is an IOMMU_DOMAIN_UNMANAGED domain that dma-iommu.c '
            f'may use, and drivers now say whether it may in struct '
            f'iommu_ops.',
            'Ask drivers that set use_dma_iommu for IOMMU_DOMAIN_UNMANAGED '
            'instead, and fail the allocation for those that do not. The '
            'domain still gets its DMA type before its IOVA cookie is set '
            'up, so dma-iommu.c sees no difference. A DMA_FQ request to a '
            'driver without allow_dma_fq fails as it did when the driver '
            'refused the type, and the caller falls back to '
            'IOMMU_DOMAIN_DMA with its existing warning.',
        ]
    paras.append('Drivers no longer see IOMMU_DOMAIN_DMA from the core; '
                 'their comparisons with it are dead code now and go next.')
    if left:
        paras.append(
            f'Not rewritten, needs a human: {joined(left)} '
            f'{"accepts" if len(left) == 1 else "accept"} DMA domains '
            f'without a comparison the tool can rewrite and '
            f'{"does" if len(left) == 1 else "do"} not set use_dma_iommu, '
            f'so {"it gets" if len(left) == 1 else "they get"} no DMA API '
            f'domain after this patch. See the cover letter.')
    changes = behaviour_of(record)
    if changes:
        paras.append('Drivers that tell IOMMU_DOMAIN_UNMANAGED from '
                     'IOMMU_DOMAIN_DMA after their type check now take '
                     'their UNMANAGED path for DMA domains:')
        paras.append(itemize(changes))
    return 'Allocate DMA API domains as IOMMU_DOMAIN_UNMANAGED', wrap(*paras)


def drop_message(record: Record, rel: str) -> tuple[str, str]:
    gates = gates_of(record, rel)
    paras = []
    fns = list(gates)
    for fn, consts in gates.items():
        paras.append(
            f'The core now asks drivers for IOMMU_DOMAIN_UNMANAGED when it '
            f'needs a DMA API domain, and only drivers that set '
            f'use_dma_iommu: {fn}() is no longer called with '
            f'{const_names(consts).replace(" and ", " or ")}. Remove the '
            f'dead comparison{"s" if len(consts) > 1 else ""}.')
    shapes = {e['shape'] for e in record.changes
              if e['event'] == 'gate' and e['file'] == rel}
    if 'legacy-gate' in shapes:
        paras.append('The legacy binding check goes with them: with the '
                     'legacy binding use_dma_iommu is clear, so the core '
                     'never asks this driver for a DMA domain.')
    name = fns[0] + '()' if len(fns) == 1 else 'domain_alloc'
    return f'Remove IOMMU_DOMAIN_DMA from {name}', wrap(*paras)


def single_message(record: Record) -> str:
    fields = sorted({e['field'] for e in record.changes
                     if e['event'] == 'field'}, reverse=True)
    paras = [
        'The IOMMU_DOMAIN_DMA is exactly the same driver functionality as '
        'IOMMU_DOMAIN_UNMANAGED, except it also implies that dma-iommu.c '
        'should be able to use this driver.',
        'As a first step to removing IOMMU_DOMAIN_DMA remove all references '
        'to it from the drivers. '
        + ('Two simple ops flags are enough to indicate if the driver is '
           'compatible with dma-iommu.c (use_dma_iommu) and if the driver '
           'will allow the FQ mode to be selected (allow_dma_fq).'
           if 'allow_dma_fq' in fields else
           'One ops flag, use_dma_iommu, is enough to indicate if the '
           'driver is compatible with dma-iommu.c: this core already '
           'decides about flush queues itself (IOMMU_CAP_DEFERRED_FLUSH).')
        + ' When the core needs a DMA API domain it requests an '
        'IOMMU_DOMAIN_UNMANAGED one.',
    ]
    _, core = core_message(record, IOMMU_C)
    paras.append(core.split('\n\n', 1)[1] if '\n\n' in core else core)
    return wrap(*paras)


def latest(rewrite: Rewrite, phase: str | tuple[str, ...],
           rel: str) -> bytes:
    """rel as the last step of phase (or phases) that changed it left it."""
    phases = (phase,) if isinstance(phase, str) else phase
    data = None
    for step, after in zip(rewrite.record.steps, rewrite.step_after):
        if step['phase'] in phases and rel in after:
            data = after[rel]
    assert data is not None
    return data


def stage_declare_message(record: Record) -> tuple[str, str]:
    """Fields and every driver's flags in one patch."""
    _, fields_body = fields_message(record)
    drivers = []
    for (f, ops), fl in sorted(record.flags_by_ops().items()):
        legacy = ', cleared with the legacy binding' if any(
            e['ops'] == ops for e in legacy_of(record, f)) else ''
        drivers.append(f'{ops} ({f}): {", ".join(fl)}{legacy}')
    body = fields_body.replace(
        '\n\nNothing reads the new field',
        '\n\nEvery driver whose domain_alloc takes these types declares '
        'them:\n\n' + itemize(drivers) + '\n\nNothing reads the new field')
    return 'Let drivers declare DMA API support in struct iommu_ops', body


def stage_drop_message(record: Record) -> tuple[str, str]:
    """Every driver's dead comparisons in one patch."""
    gone = [(e['file'], e['function'], e['removed'])
            for e in record.changes if e['event'] == 'gate']
    by_fn: dict[tuple[str, str], list[str]] = {}
    for f, fn, c in gone:
        by_fn.setdefault((f, fn), []).append(c)
    lines = [f'{fn}() ({f}): {const_names(sorted(set(cs)))}'
             for (f, fn), cs in sorted(by_fn.items())]
    body = wrap('The core now hands drivers IOMMU_DOMAIN_UNMANAGED when it '
                'needs a DMA API domain, and only drivers that declare '
                'use_dma_iommu get one. No domain_alloc is called with '
                'IOMMU_DOMAIN_DMA or IOMMU_DOMAIN_DMA_FQ any more; remove '
                'the comparisons with them:',
                itemize(lines))
    return 'Remove IOMMU_DOMAIN_DMA from the drivers\' domain_alloc', body


def plan(rewrite: Rewrite, split: str,
         prefix: Prefixes) -> list[Patch]:
    record = rewrite.record
    if split == '0':
        files = list(record.files)
        return [Patch('all', files, {f: rewrite.after(f) for f in files},
                      SEED_SUBJECT, single_message(record))]
    if split == 'stage':
        return check_sum(rewrite, plan_stages(rewrite, prefix))
    patches: list[Patch] = []
    for phase in ('fields', 'declare', 'core', 'drop'):
        files = sorted({f for s in record.steps if s['phase'] == phase
                        for f in s['files']})
        if not files:
            continue
        contents = {f: latest(rewrite, phase, f) for f in files}
        if phase in ('fields', 'core'):
            make = fields_message if phase == 'fields' else \
                (lambda r: core_message(r, files[0]))
            subject, body = make(record)
            pre = prefix(files[0])
            patches.append(Patch(phase, files, contents,
                                 f'{pre}: {subject}', body))
            continue
        make = declare_message if phase == 'declare' else drop_message
        short = SHORT[phase]
        for f in files:
            subject, body = make(record, f)
            subject = f'{prefix(f)}: {subject}'
            if len(subject) > MAX_SUBJECT:
                subject = f'{prefix(f)}: {short}'
            patches.append(Patch(phase, [f], {f: contents[f]}, subject,
                                 body))
    return check_sum(rewrite, patches)


def plan_stages(rewrite: Rewrite, prefix: Prefixes) -> list[Patch]:
    """Three bisect-safe stages: declare (fields and flags), core, drop."""
    record = rewrite.record
    stages = (('declare', ('fields', 'declare'), stage_declare_message),
              ('core', ('core',), None), ('drop', ('drop',),
                                          stage_drop_message))
    patches = []
    for name, phases, make in stages:
        files = sorted({f for s in record.steps if s['phase'] in phases
                        for f in s['files']})
        if not files:
            continue
        contents = {f: latest(rewrite, phases, f) for f in files}
        if make is None:
            subject, body = core_message(record, files[0])
        else:
            subject, body = make(record)
        pre = prefix('drivers/iommu/iommu.c')
        patches.append(Patch(name, files, contents, f'{pre}: {subject}',
                             body))
    return patches


def check_sum(rewrite: Rewrite, patches: list[Patch]) -> list[Patch]:
    """The patches, applied in order, must give the whole rewrite."""
    final = {}
    for p in patches:
        final.update(p.contents)
    for f in rewrite.record.files:
        if final.get(f) != rewrite.after(f):
            raise ToolError(f'{f}: the per-step patches do not add up to '
                            f'the whole rewrite; refusing the series')
    return patches


# ---- the cover letter ---------------------------------------------------

def seed_differences(record: Record, split: str | bool,
                     exists) -> list[str]:
    """Where this series differs from the seed; exists(rel) -> bool."""
    notes = []
    flagged: dict[str, set[str]] = {}
    for e in record.changes:
        if e['event'] == 'flag':
            flagged.setdefault(e['file'], set()).add(e['flag'])
    absent = [f for f in sorted(SEED_FLAGS)
              if f not in flagged and not exists(f)]
    unchanged = [f for f in sorted(SEED_FLAGS)
                 if f not in flagged and exists(f)]
    extra = [f for f in sorted(flagged) if f not in SEED_FLAGS]
    if extra:
        notes.append(f'Also changed (not in the original patch, their '
                     f'domain_alloc accepts IOMMU_DOMAIN_DMA in this '
                     f'tree): {joined(extra)}.')
    if unchanged:
        notes.append(f'Not changed (no IOMMU_DOMAIN_DMA gate in a '
                     f'.domain_alloc in this tree: the rules found nothing '
                     f'to rewrite): {joined(unchanged)}.')
    if absent:
        notes.append(f'Not in this tree: {joined(absent)}.')
    for f in sorted(set(flagged) & set(SEED_FLAGS)):
        got, want = flagged[f], SEED_FLAGS[f]
        if got - want:
            notes.append(f'{f}: also sets {joined(sorted(got - want))}: '
                         f'its domain_alloc accepts IOMMU_DOMAIN_DMA_FQ in '
                         f'this tree; without the flag it would lose flush '
                         f'queues.')
        elif want - got:
            why = ('this core never hands IOMMU_DOMAIN_DMA_FQ to drivers '
                   '(IOMMU_CAP_DEFERRED_FLUSH)') if not record.dma_fq else \
                'its domain_alloc does not accept IOMMU_DOMAIN_DMA_FQ here'
            notes.append(f'{f}: does not set {joined(sorted(want - got))}: '
                         f'{why}.')
    if not record.dma_fq:
        notes.append('include/linux/iommu.h: no allow_dma_fq field: this '
                     'core never hands IOMMU_DOMAIN_DMA_FQ to drivers '
                     '(IOMMU_CAP_DEFERRED_FLUSH).')
    core = next((e for e in record.changes if e['event'] == 'core'), None)
    if core and record.core_shape == 'default-domain-fallback':
        notes.append(f'{core["file"]}: the driver is asked for '
                     f'IOMMU_DOMAIN_UNMANAGED in {core["function"]}(), '
                     f'before the domain gets its type and its IOVA cookie. '
                     f'The original changed {SEED_CORE}() instead: the '
                     f'domain was allocated as UNMANAGED and retyped, never '
                     f'got its cookie, and every device behind the IOMMU '
                     f'lost DMA at boot; the fallback to IOMMU_DOMAIN_DMA '
                     f'was lost too.')
    elif core:
        notes.append(f'{core["file"]}: the core change is in '
                     f'{core["function"]}() ({record.core_shape}); the '
                     f'original changed {SEED_CORE}(), which this tree does '
                     f'not have in that shape.')
    if split == 'stage':
        notes.append('Split in three bisect-safe steps: every driver '
                     'declares its flags, the core switches, the dead '
                     'comparisons go.')
    elif split:
        notes.append('Split for bisection: fields first, then each driver '
                     'declares its flags, then the core switch, then each '
                     'driver drops its dead comparisons.')
    return notes


def itemize(lines: list[str]) -> str:
    out = []
    for line in lines:
        out.append(textwrap.fill(line, WIDTH, initial_indent='  - ',
                                 subsequent_indent='    ',
                                 break_long_words=False,
                                 break_on_hyphens=False))
    return '\n'.join(out)


# What a finding means once the series is applied.
CONSEQUENCE = {
    'implicit-dma': 'It declares its flags from that and keeps its DMA '
                    'API domains.',
    'not-rewritten': 'The comparison stays; the driver declares its flag '
                     'and keeps its DMA API domains.',
    'type-helper': 'The helper now sees IOMMU_DOMAIN_UNMANAGED for DMA API '
                   'domains.',
    'behaviour': 'This is a behaviour change of this series.',
    'fq-ignored': 'This core never hands IOMMU_DOMAIN_DMA_FQ to drivers.',
    'partial': 'The driver is left as it was.',
}


def cover_blurb(record: Record, patches: list[Patch], split: str | bool,
                base: str, tools: list[str], exists) -> str:
    paras = [
        'IOMMU_DOMAIN_DMA asks a driver for the same domain as '
        'IOMMU_DOMAIN_UNMANAGED; it only adds that dma-iommu.c may use it. '
        'This series lets drivers declare that in struct iommu_ops, makes '
        'the core ask them for IOMMU_DOMAIN_UNMANAGED, and removes '
        'IOMMU_DOMAIN_DMA from the drivers\' domain_alloc.',
    ]
    if split:
        ranges = []
        n = 1
        nflags = len({e['field'] for e in record.changes
                      if e['event'] == 'field'})
        flags_word = 'flags' if nflags > 1 else 'flag'
        for phase, what in (('fields', f'add the {flags_word} to struct '
                                       f'iommu_ops'),
                            ('declare', (f'add the {flags_word}, ' if not
                                         any(p.phase == 'fields'
                                             for p in patches) else '') +
                                        f'set {"them" if nflags > 1 else "it"}'
                                        f' in each driver (no behaviour '
                                        f'change)'),
                            ('core', 'switch the core'),
                            ('drop', 'drop the dead IOMMU_DOMAIN_DMA '
                                     'comparisons')):
            k = sum(1 for p in patches if p.phase == phase)
            if k:
                span = f'{n}' if k == 1 else f'{n}-{n + k - 1}'
                ranges.append(f'  {span:<7} {what}')
                n += k
        paras.append('\n'.join(ranges))
    drivers = []
    flags = record.flags_by_ops()
    for (f, ops), fl in sorted(flags.items()):
        legacy = ' (cleared with the legacy binding)' if any(
            e['ops'] == ops for e in legacy_of(record, f)) else ''
        drivers.append(f'{f} ({ops}): {", ".join(fl)}{legacy}')
    paras.append('Drivers:\n' + itemize(drivers))
    human = sorted((e['file'], e['function'], e['message'], e['kind'])
                   for e in record.findings)
    if human:
        paras.append(
            'Findings (behaviour changes, and comparisons left in place):\n' +
            itemize([f'{f}: {fn}(): {msg}. {CONSEQUENCE.get(kind, "")}'
                     for f, fn, msg, kind in human]))
    else:
        paras.append('Needs a human: nothing; every driver that accepted '
                     'IOMMU_DOMAIN_DMA was rewritten.')
    paras.append(fill(f'Differences from the original patch '
                      f'("{SEED_SUBJECT}", {SEED_AUTHOR}):') + '\n' +
                 itemize(seed_differences(record, split, exists)))
    paras.append('Checks:\n' + itemize(tools))
    paras.append(f'Base: {base}')
    paras.append('Generated by iommu-dma from its Coccinelle semantic '
                 'patches (cocci/).')
    return '\n\n'.join(p if '\n' in p or p.startswith('  ') else fill(p)
                       for p in paras)


def fill(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False,
                         break_on_hyphens=False)


# ---- the work tree ------------------------------------------------------

def make_work(kernel: KernelTree, root: Path) -> Work:
    name = kernel.series_name()
    if kernel.is_git():
        top = git(kernel.path, 'rev-parse', '--show-toplevel').strip()
        if Path(top).resolve() != kernel.path:
            raise ToolError(f'{kernel.path}: inside the git tree {top}; '
                            f'give the top of the tree')
        path = root / f'{name}-worktree'
        drop_worktree(kernel.path, path)
        branch = 'iommu-dma/' + time.strftime('%Y%m%d-%H%M%S')
        while git(kernel.path, 'branch', '--list', branch).strip():
            time.sleep(1)
            branch = 'iommu-dma/' + time.strftime('%Y%m%d-%H%M%S')
        git(kernel.path, 'worktree', 'add', '-q', '-b', branch, str(path),
            'HEAD')
        work = Work(path, 'worktree', kernel, branch)
        work.base = work.git('rev-parse', 'HEAD').strip()
        return work
    if (kernel.path / STATE_DIR).exists():
        raise ToolError(f'{kernel.path}: has {STATE_DIR}/: it was rewritten '
                        f'by apply; a series needs the pristine tree')
    path = root / name
    if path.exists():
        shutil.rmtree(path)
    res = subprocess.run(['cp', '-al', str(kernel.path), str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        raise ToolError(f'cp -al {kernel.path} {path} failed: '
                        f'{res.stderr.strip()[-200:]}')
    if (path / '.git').exists():
        raise ToolError(f'{path}: unexpected .git in a non-git tree')
    return Work(path, 'baseline', kernel)


def baseline(work: Work, files: list[str], ident: tuple[str, str]) -> None:
    """The throw-away repository of a non-git tree: the pristine files."""
    work.git('init', '-q')
    work.git('add', '-f', '--', *files)
    work.git('commit', '-q', '--no-verify', '-m',
             f'Linux {work.kernel.version()} (baseline of {work.kernel.path})',
             env=author_env(ident))
    work.base = work.git('rev-parse', 'HEAD').strip()


def drop_worktree(repo: Path, path: Path) -> None:
    if path.exists():
        git(repo, 'worktree', 'remove', '--force', str(path), check=False)
        if path.exists():
            shutil.rmtree(path)
    git(repo, 'worktree', 'prune', check=False)


def author_env(ident: tuple[str, str]) -> dict[str, str]:
    name, email = ident
    return {'GIT_AUTHOR_NAME': name, 'GIT_AUTHOR_EMAIL': email,
            'GIT_COMMITTER_NAME': name, 'GIT_COMMITTER_EMAIL': email}


def commit(work: Work, patch: Patch, ident: tuple[str, str]) -> None:
    for rel, data in patch.contents.items():
        write_durable(work.path / rel, data, like=work.path / rel)
    work.git('add', '-f', '--', *patch.files)
    msg = f'{patch.subject}\n\n{patch.body}\n\nSigned-off-by: ' \
          f'{ident[0]} <{ident[1]}>\n'
    msgfile = work.path / STATE_DIR / 'series-msg'
    msgfile.parent.mkdir(parents=True, exist_ok=True)
    msgfile.write_text(msg)
    work.git('commit', '-q', '--no-verify', '--cleanup=verbatim', '-F',
             str(msgfile), env=author_env(ident))


# ---- checks -------------------------------------------------------------

def find_checker(opts: Options) -> Path:
    checker = opts.checker or default_root() / 'checker' / 'kbuild-check'
    if not os.access(checker, os.X_OK):
        raise ToolError(f'{checker}: no build checker; run `make checker`')
    return checker


def default_root() -> Path:
    return Path(os.environ.get('IOMMU_DMA_OUT') or HERE.parents[1] / 'build')


def bisect_check(work: Work, patch: Patch, n: int, total: int,
                 series_files: list[str], checker: Path, opts: Options,
                 logs: Path) -> str:
    files = list(patch.c_files)
    if any(f.endswith('.h') for f in files):
        # A header change reaches every file the series touches.
        files += [f for f in series_files if f.endswith('.c')
                  and f not in files]
    t0 = time.monotonic()
    res = subprocess.run([str(checker), '-O', str(work_root(opts)), '-j',
                          str(opts.jobs), str(work.path), *files],
                         capture_output=True, text=True)
    log = logs / f'{n:04d}-check.log'
    log.write_text(res.stderr + res.stdout)
    took = time.monotonic() - t0
    if res.returncode != 0:
        last = [ln for ln in res.stdout.splitlines() if ln.strip()]
        raise ToolError(f'bisect check failed after patch {n}/{total} '
                        f'({patch.subject}): '
                        f'{last[-1] if last else "kbuild-check failed"}; '
                        f'see {log}; no series written')
    return f'{n:2d}/{total} {len(files)} file(s) ok ({took:.1f} s)'


def work_root(opts: Options) -> Path:
    return (opts.work_root or default_root()).resolve()


CHECKPATCH_TOTAL = re.compile(r'total: (\d+) errors, (\d+) warnings, '
                              r'(?:(\d+) checks, )?\d+ lines checked')


def checkpatch(script: Path, tree_mode: bool, cwd: Path,
               patch: Path) -> None:
    cmd = ['perl', str(script), '--strict'] + \
        ([] if tree_mode else ['--no-tree']) + [str(patch)]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    m = CHECKPATCH_TOTAL.search(res.stdout)
    if not m:
        raise ToolError(f'checkpatch.pl gave no verdict on {patch.name}: '
                        f'{(res.stderr or res.stdout).strip()[-200:]}')
    counts = [int(x or 0) for x in m.groups()]
    if any(counts) or res.returncode != 0:
        first = next((ln for ln in res.stdout.splitlines()
                      if re.match(r'(ERROR|WARNING|CHECK):', ln)), '')
        where = next((ln.strip() for ln in
                      res.stdout.split(first, 1)[-1].splitlines()
                      if ln.strip().startswith('#')), '') if first else ''
        raise ToolError(f'checkpatch --strict: {patch.name}: {first} '
                        f'{where} ({counts[0]} errors, {counts[1]} '
                        f'warnings, {counts[2]} checks); no series written')


ROLE_TO = ('maintainer', 'supporter', 'odd fixer', 'chief penguin')


def maintainers(script: Path, cwd: Path,
                patch: Path) -> tuple[list[str], list[str]]:
    res = subprocess.run(['perl', str(script), '--no-git',
                          '--no-git-fallback', '--rolestats', str(patch)],
                         cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ToolError(f'get_maintainer.pl failed on {patch.name}: '
                        f'{res.stderr.strip()[-200:]}')
    to, cc = [], []
    for line in res.stdout.splitlines():
        m = re.match(r'(.*?)\s*\(([^)]*(?:\([^)]*\))?[^)]*)\)\s*$', line)
        addr, role = (m.group(1), m.group(2)) if m else (line.strip(), '')
        if not addr or '@' not in addr:
            continue
        (to if role.startswith(ROLE_TO) else cc).append(addr)
    return to, cc


def add_headers(patch: Path, to: list[str], cc: list[str]) -> None:
    text = patch.read_text()
    head, sep, rest = text.partition('\n\n')
    extra = ''
    for key, addrs in (('To', to), ('Cc', cc)):
        if addrs:
            extra += f'\n{key}: ' + ',\n    '.join(addrs)
    patch.write_text(head + extra + sep + rest)


def fill_cover(cover: Path, title: str, blurb: str) -> None:
    text = cover.read_text()
    if '*** SUBJECT HERE ***' not in text or '*** BLURB HERE ***' not in text:
        raise ToolError(f'{cover}: not a git format-patch cover letter')
    cover.write_text(text.replace('*** SUBJECT HERE ***', title, 1)
                     .replace('*** BLURB HERE ***', blurb, 1))


def uniq(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for i in items:
        seen.setdefault(i, None)
    return list(seen)


# ---- the whole job ------------------------------------------------------

def generate(kernel_path: str | os.PathLike, opts: Options) -> Result:
    kernel = KernelTree.open(kernel_path)
    ident = identity(kernel, opts.signoff)
    prefix = Prefixes(kernel, load_prefixes(opts.prefixes or PREFIXES))
    checker = find_checker(opts)
    root = work_root(opts) / 'series'
    root.mkdir(parents=True, exist_ok=True)
    own_checkpatch = kernel.path / 'scripts' / 'checkpatch.pl'
    if opts.checkpatch:
        if not Path(opts.checkpatch).is_file():
            raise ToolError(f'{opts.checkpatch}: no such checkpatch.pl')
        cp_script, cp_tree = Path(opts.checkpatch).resolve(), False
    elif own_checkpatch.is_file():
        cp_script, cp_tree = own_checkpatch, True
    else:
        cp_script, cp_tree = None, False
    out = Path(opts.out).resolve()
    if out == kernel.path or kernel.path in out.parents:
        raise ToolError(f'OUT={opts.out}: inside the kernel tree')

    lock = open(root / f'.{kernel.series_name()}.lock', 'w')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise ToolError(f'another series for {kernel.series_name()} is '
                        f'being made in {root}') from None
    try:
        return build(kernel, opts, ident, prefix, checker, root,
                     cp_script, cp_tree, out)
    finally:
        lock.close()


def build(kernel: KernelTree, opts: Options, ident: tuple[str, str],
          prefix: Prefixes, checker: Path, root: Path,
          cp_script: Path | None, cp_tree: bool, out: Path) -> Result:
    work = make_work(kernel, root)
    rewrite = None
    done = False
    try:
        rewrite = compute(KernelTree.open(work.path), 'all', opts.jobs)
        record = rewrite.record
        if record.core_shape == 'rewritten' or not record.files:
            raise ToolError(f'{kernel.path}: already rewritten (no change '
                            f'to make); a series needs the pristine tree')
        # The same guarantee as apply: no gate whose proof failed.
        report.refuse_unproved(report.build(rewrite, opts.jobs))
        patches = plan(rewrite, opts.split, prefix)
        if work.kind == 'baseline':
            baseline(work, record.files, ident)
        state = work.path / STATE_DIR
        for rel in record.files:   # originals: the checker's warning base
            keep = state / 'orig' / rel
            keep.parent.mkdir(parents=True, exist_ok=True)
            keep.write_bytes(rewrite.before[rel])
        logs = root / f'{kernel.series_name()}-logs'
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir()

        checks = []
        t0 = time.monotonic()
        for n, patch in enumerate(patches, 1):
            commit(work, patch, ident)
            if patch.c_files:
                checks.append(bisect_check(work, patch, n, len(patches),
                                           record.files, checker, opts,
                                           logs))
        bisect_time = time.monotonic() - t0
        booted = boot_check(kernel, opts) if opts.boot else None

        stage = Path(tempfile.mkdtemp(prefix='.series-', dir=root))
        try:
            files = format_series(work, stage, record, patches, opts,
                                  ident, cp_script, cp_tree, len(checks),
                                  bisect_time, booted)
            written = publish(stage, out, files)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        where = (f'branch {work.branch} of {kernel.path}'
                 if work.kind == 'worktree' else
                 f'commits in {work.path} (throw-away git baseline)')
        done = True
        return Result(out, written, [p.subject for p in patches], where,
                      checks, [f'prefix of {f}: {s}'
                               for f, s in sorted(prefix.source.items())])
    finally:
        if rewrite is not None:
            discard(rewrite)
        if work.kind == 'worktree':
            drop_worktree(kernel.path, work.path)
            if not done and work.branch:
                git(kernel.path, 'branch', '-D', work.branch, check=False)


def boot_check(kernel: KernelTree, opts: Options) -> 'boot.BootResult':
    """The final tree (the same as `make apply`, which git am checks)
    booted against pristine; a series whose kernel does not boot like
    pristine is not written."""
    def progress(msg: str) -> None:
        print(f'{PROG} series: boot: {msg}', file=sys.stderr, flush=True)

    result = boot.run(boot.Options(kernel=str(kernel.path), jobs=opts.jobs,
                                   work=work_root(opts) / 'boot'), progress)
    if not result.ok():
        bad = [r for r in result.rows if not r.ok()]
        raise ToolError(f'boot check: {len(bad)} of {len(result.rows)} '
                        f'(iommu, mode) pairs differ from pristine, first '
                        f'{bad[0].iommu} {bad[0].mode}: {bad[0].verdict()}; '
                        f'nothing written (make boot KERNEL={kernel.path} '
                        f'shows why)')
    return result


def boot_table(result: 'boot.BootResult') -> str:
    """The boot check's table for the cover letter, indented."""
    lines = boot.render(result).splitlines()
    table = [ln for ln in lines[2:] if ln.strip()][:len(result.rows) + 1]
    return '\n'.join('  ' + ln.rstrip() for ln in table)


def format_series(work: Work, stage: Path, record: Record,
                  patches: list[Patch], opts: Options,
                  ident: tuple[str, str],
                  cp_script: Path | None, cp_tree: bool, nchecks: int,
                  bisect_time: float,
                  booted: 'boot.BootResult | None' = None) -> list[Path]:
    args = ['format-patch', '-q', '--cover-letter', '-n', '--no-to',
            '--no-cc', '--no-signature', '-o', str(stage)]
    if work.kind == 'worktree':
        args.append(f'--base={work.base}')
        base = f'{work.base} ({kernel_describe(work)}; base-commit below)'
    else:
        base = (f'Linux {work.kernel.version()}, a tree without git history '
                f'({work.kernel.path}); no base-commit')
    work.git(*args, f'{work.base}..HEAD', env=author_env(ident))
    files = sorted(stage.glob('*.patch'))
    if len(files) != len(patches) + 1:
        raise ToolError(f'git format-patch wrote {len(files)} files for '
                        f'{len(patches)} patches')
    cover, numbered = files[0], files[1:]

    getm = work.path / 'scripts' / 'get_maintainer.pl'
    tools = [f'bisect: kbuild-check built the touched files after each of '
             f'the {nchecks} patches that touch C files '
             f'({bisect_time:.0f} s)']
    all_to: list[str] = []
    all_cc: list[str] = []
    if getm.is_file():
        for p in numbered:
            to, cc = maintainers(getm, work.path, p)
            add_headers(p, to, cc)
            all_to += to
            all_cc += cc
        tools.append('To:/Cc: from scripts/get_maintainer.pl --no-git '
                     '--no-git-fallback, per patch')
    else:
        tools.append('To:/Cc: not set: the tree has no '
                     'scripts/get_maintainer.pl; add them by hand')
    if cp_script:
        how = ('scripts/checkpatch.pl --strict' if cp_tree else
               f'{cp_script} --strict --no-tree (the tree has no '
               f'scripts/checkpatch.pl)')
        tools.append(f'{how}: no errors, warnings or checks')
    else:
        tools.append('checkpatch: not run: the tree has no '
                     'scripts/checkpatch.pl and none was given')
    if booted:
        tools.append(f'boot: the final tree and pristine built for '
                     f'{booted.arch} and booted under QEMU behind every '
                     f'IOMMU it emulates, lazy, strict and passthrough: '
                     f'every pair as pristine (table below)')
    else:
        tools.append('boot: not run (BOOT=0)')
    title = SEED_SUBJECT if opts.split != '0' else \
        f'{SEED_SUBJECT} (one patch)'
    split = opts.split if opts.split != '0' else False
    blurb = cover_blurb(record, patches, split, base, tools,
                        lambda rel: (work.path / rel).exists())
    if booted:
        blurb += ('\n\nBoot check (default domain type per group, and a '
                  'virtio-blk disk read through the IOMMU):\n\n' +
                  boot_table(booted))
    fill_cover(cover, title, blurb)
    all_to, all_cc = uniq(all_to), uniq(all_cc)
    add_headers(cover, all_to, [a for a in all_cc if a not in all_to])
    if cp_script:
        for p in numbered:
            checkpatch(cp_script, cp_tree, work.path, p)
    return files


def kernel_describe(work: Work) -> str:
    d = work.git('describe', '--tags', '--always', work.base,
                 check=False).strip()
    return d or f'Linux {work.kernel.version()}'


def publish(stage: Path, out: Path, files: list[Path]) -> list[Path]:
    """Replace any earlier series in out with this one."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob('[0-9][0-9][0-9][0-9]-*.patch'):
        old.unlink()
    written = []
    for f in files:
        dst = out / f.name
        shutil.move(str(f), dst)
        written.append(dst)
    return written
