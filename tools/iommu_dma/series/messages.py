"""Commit messages and the cover letter, as pure functions of the record.

Written for the permanent history: what changes and why, in the kernel's
voice, wrapped at 72 columns. Nothing here names the tool; the cover letter
says how the series was made and checked.
"""

from __future__ import annotations

import textwrap

from ..events import Core, Field, Finding, Flag, Gate, LegacyBinding
from ..record import Record

WIDTH = 72
SEED_SUBJECT = 'iommu: Remove IOMMU_DOMAIN_DMA from drivers'
SEED_AUTHOR = 'Jason Gunthorpe'
SEED_WHERE = ('"Re: [PATCH 1/4] iommu: Add a broken_unmanaged_domain flag '
              'in iommu_ops", linux-iommu, 27 Jan 2023')
SEED_CORE = 'iommu_group_alloc_default_domain'

# What the sketch sets per driver file; arm-smmu also clears use_dma_iommu
# for the legacy binding. The cover letter lists where this series differs.
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

# ---- text helpers ---------------------------------------------------------

def fill(text: str, **indents: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False,
                         break_on_hyphens=False, **indents)


def wrap(*paragraphs: str) -> str:
    """Paragraphs filled to WIDTH; one starting with two spaces is kept."""
    return '\n\n'.join(p.rstrip('\n') if p.startswith('  ') else fill(p)
                       for p in paragraphs if p)


def itemize(lines: list[str]) -> str:
    return '\n'.join(fill(line, initial_indent='  - ',
                          subsequent_indent='    ') for line in lines)


def joined(items: list[str], word: str = 'and') -> str:
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + f' {word} ' + items[-1]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f'{n} {one if n == 1 else many or one + "s"}'


# ---- what the record says, per file ----------------------------------------

def flags_of(record: Record, rel: str) -> dict[tuple[str, str], list[str]]:
    """(ops, function) -> flags set, for one file."""
    got: dict[tuple[str, str], list[str]] = {}
    for e in record.changes:
        if isinstance(e, Flag) and e.file == rel:
            got.setdefault((e.ops, e.function), []).append(e.flag)
    return {k: sorted(v, reverse=True) for k, v in sorted(got.items())}


def gates_of(record: Record, rel: str) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for e in record.changes:
        if isinstance(e, Gate) and e.file == rel:
            got.setdefault(e.function, []).append(e.removed)
    return {k: sorted(v) for k, v in sorted(got.items())}


def legacy_of(record: Record, rel: str) -> list[LegacyBinding]:
    return [e for e in record.changes
            if isinstance(e, LegacyBinding) and e.file == rel]


def flagged(record: Record, line: str, legacy: str) -> list[str]:
    """line.format(f=file, ops=, flags=) per ops given flags, with legacy
    after it where the legacy binding clears use_dma_iommu."""
    return [line.format(f=f, ops=ops, flags=', '.join(fl)) + (
        legacy if any(e.ops == ops for e in legacy_of(record, f)) else '')
        for (f, ops), fl in sorted(record.flags_by_ops().items())]


def unflagged_files(record: Record) -> list[str]:
    """Drivers that took DMA domains and declare no flag (only with
    ALLOW_DMA_LOSS: the proofs refuse them otherwise)."""
    flagged = {f for f, _ in record.flags_by_ops()}
    return sorted({e.file for e in record.findings
                   if e.kind in ('implicit-dma', 'not-rewritten')
                   and e.file not in flagged})


def behaviour_changes(record: Record) -> list[str]:
    """The behaviour changes the report computed, one sentence each."""
    return [f'{e.file}: {e.function}(): {e.message}.'
            for e in sorted(record.findings, key=lambda e: (
                e.file, e.function, e.line or 0))
            if e.kind == 'behaviour']


def fields(record: Record) -> list[str]:
    """The new fields, use_dma_iommu first."""
    return sorted({e.field for e in record.changes
                   if isinstance(e, Field)}, reverse=True)


# ---- commit messages -------------------------------------------------------

def fields_message(record: Record) -> tuple[str, str]:
    new = fields(record)
    them = 'them' if len(new) > 1 else 'it'
    paras = [
        'IOMMU_DOMAIN_DMA asks a driver for the same kind of domain as '
        'IOMMU_DOMAIN_UNMANAGED; the only difference is that dma-iommu.c '
        'may use it. Let drivers say that once, in struct iommu_ops, so '
        'that the core can stop passing IOMMU_DOMAIN_DMA to them:',
        '  use_dma_iommu  the driver\'s domains can back the DMA API' +
        ('\n  allow_dma_fq   dma-iommu.c may use a flush queue with them'
         if 'allow_dma_fq' in new else ''),
    ]
    if 'allow_dma_fq' not in new:
        paras.append('This core already decides about flush queues itself '
                     '(IOMMU_CAP_DEFERRED_FLUSH) and never passes '
                     'IOMMU_DOMAIN_DMA_FQ to a driver, so no flag is '
                     'needed for them.')
    paras.append(f'Nothing reads the new {"fields" if len(new) > 1 else "field"}'
                 f' yet: the drivers set {them} first, then the core uses '
                 f'{them}.')
    return f'Add {joined(new)} to struct iommu_ops', wrap(*paras)


def declare_message(record: Record, rel: str) -> tuple[str, str]:
    paras = []
    flags = flags_of(record, rel)
    for (ops, fn), fl in flags.items():
        accepts = ['IOMMU_DOMAIN_DMA'] + (
            ['IOMMU_DOMAIN_DMA_FQ'] if 'allow_dma_fq' in fl else [])
        paras.append(
            f'{fn}() accepts {joined(accepts)}. Say so in {ops} with '
            f'{joined(["." + f for f in fl])}, so that the core keeps '
            f'allocating DMA API domains for this driver once it asks for '
            f'IOMMU_DOMAIN_UNMANAGED instead.')
    for e in legacy_of(record, rel):
        paras.append(
            f'With the legacy binding ({e.flag_var}) the driver refuses '
            f'DMA domains, so {e.function}() clears '
            f'{e.ops}.use_dma_iommu when it sets {e.flag_var}.')
    paras.append('Nothing reads the flags yet; no functional change.')
    ops = sorted({o for o, _ in flags}) or \
        sorted({e.ops for e in legacy_of(record, rel)})
    subject = f'Declare DMA API support in {joined(ops)}' if ops else \
        'Declare DMA API support in iommu_ops'
    return subject, wrap(*paras)


def core_paragraphs(record: Record, dead_next: bool) -> list[str]:
    fn = next((e.function for e in record.changes
               if isinstance(e, Core)), 'the core')
    if record.core_shape == 'domain-alloc-legacy':
        paras = [
            f'{fn}() passes IOMMU_DOMAIN_DMA to drivers that implement the '
            f'legacy .domain_alloc(); flush-queue domains are already '
            f'masked down to IOMMU_DOMAIN_DMA (IOMMU_DOMAIN_ALLOC_FLAGS) '
            f'and handled by the core.',
            'A DMA domain is an IOMMU_DOMAIN_UNMANAGED domain that '
            'dma-iommu.c may use, and drivers now say whether it may '
            '(use_dma_iommu). Ask those drivers for IOMMU_DOMAIN_UNMANAGED '
            'instead, and refuse DMA domains to drivers that do not set '
            'use_dma_iommu; the domain keeps its DMA type in the core.',
        ]
    else:
        paras = [
            f'{fn}() passes the requested domain type to the driver, '
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
    if dead_next:
        paras.append('Drivers no longer see IOMMU_DOMAIN_DMA from the core; '
                     'their comparisons with it are dead code and are '
                     'removed next.')
    left = unflagged_files(record)
    if left:
        paras.append(
            f'{joined(left)} {"takes" if len(left) == 1 else "take"} DMA '
            f'domains today but {"does" if len(left) == 1 else "do"} not '
            f'set use_dma_iommu, so {"it gets" if len(left) == 1 else "they get"}'
            f' no DMA API domain after this change.')
    changes = behaviour_changes(record)
    if changes:
        paras.append('Drivers that tell IOMMU_DOMAIN_UNMANAGED from '
                     'IOMMU_DOMAIN_DMA after their type check now take '
                     'their UNMANAGED path for DMA API domains:')
        paras.append(itemize(changes))
    return paras


def core_message(record: Record) -> tuple[str, str]:
    return ('Allocate DMA API domains as IOMMU_DOMAIN_UNMANAGED',
            wrap(*core_paragraphs(record, dead_next=True)))


def drop_message(record: Record, rel: str) -> tuple[str, str]:
    gates = gates_of(record, rel)
    paras = []
    for fn, consts in gates.items():
        paras.append(
            f'The core now asks drivers that set use_dma_iommu for '
            f'IOMMU_DOMAIN_UNMANAGED when it needs a DMA API domain, so '
            f'{fn}() is never called with {joined(consts, "or")} any more. '
            f'Remove the dead comparison{"s" if len(consts) > 1 else ""}.')
    shapes = {e.shape for e in record.changes
              if isinstance(e, Gate) and e.file == rel}
    if 'legacy-gate' in shapes:
        paras.append('The legacy binding check goes with them: with the '
                     'legacy binding use_dma_iommu is clear, so the core '
                     'never asks this driver for a DMA domain.')
    fns = list(gates)
    name = fns[0] + '()' if len(fns) == 1 else 'domain_alloc'
    return f'Remove IOMMU_DOMAIN_DMA from {name}', wrap(*paras)


def stage_declare_message(record: Record) -> tuple[str, str]:
    """Fields and every driver's flags in one patch."""
    _, fields_body = fields_message(record)
    drivers = flagged(record, '{ops} ({f}): {flags}',
                      ', cleared with the legacy binding')
    head, _, tail = fields_body.rpartition('\n\nNothing reads')
    body = (head + '\n\nEvery driver whose domain_alloc accepts these types '
            'declares them:\n\n' + itemize(drivers) + '\n\nNothing reads' +
            tail) if drivers else fields_body
    return 'Let drivers declare DMA API support in struct iommu_ops', body


def stage_drop_message(record: Record) -> tuple[str, str]:
    """Every driver's dead comparisons in one patch."""
    by_fn: dict[tuple[str, str], set[str]] = {}
    for e in record.changes:
        if isinstance(e, Gate):
            by_fn.setdefault((e.file, e.function), set()).add(e.removed)
    lines = [f'{fn}() ({f}): {joined(sorted(cs))}'
             for (f, fn), cs in sorted(by_fn.items())]
    body = wrap('The core now asks drivers that set use_dma_iommu for '
                'IOMMU_DOMAIN_UNMANAGED when it needs a DMA API domain. No '
                'domain_alloc is called with IOMMU_DOMAIN_DMA or '
                'IOMMU_DOMAIN_DMA_FQ any more; remove the comparisons with '
                'them:', itemize(lines))
    return 'Remove IOMMU_DOMAIN_DMA from the drivers\' domain_alloc', body


def single_message(record: Record) -> tuple[str, str]:
    """SPLIT=0: the whole change in one patch."""
    new = fields(record)
    paras = [
        'IOMMU_DOMAIN_DMA asks a driver for the same kind of domain as '
        'IOMMU_DOMAIN_UNMANAGED; the only difference is that dma-iommu.c '
        'may use it. Drivers should not have to know about the DMA API.',
        'Add ' + ('two bits to struct iommu_ops: use_dma_iommu, set by '
                  'drivers whose domains can back the DMA API, and '
                  'allow_dma_fq, set by those that may use a flush queue. '
                  if 'allow_dma_fq' in new else
                  'one bit to struct iommu_ops, use_dma_iommu, set by '
                  'drivers whose domains can back the DMA API; this core '
                  'already decides about flush queues itself '
                  '(IOMMU_CAP_DEFERRED_FLUSH). ') +
        'Every driver whose domain_alloc accepted IOMMU_DOMAIN_DMA sets '
        'them, and the core asks it for IOMMU_DOMAIN_UNMANAGED instead, '
        'so the comparisons with IOMMU_DOMAIN_DMA in the drivers go.',
    ]
    paras += core_paragraphs(record, dead_next=False)[1:]
    return 'Remove IOMMU_DOMAIN_DMA from drivers', wrap(*paras)


# ---- the cover letter ------------------------------------------------------

def seed_differences(record: Record, split: str, exists) -> list[str]:
    """Where this series differs from the sketch; exists(rel) -> bool."""
    notes = []
    flagged: dict[str, set[str]] = {}
    for e in record.changes:
        if isinstance(e, Flag):
            flagged.setdefault(e.file, set()).add(e.flag)
    absent = [f for f in sorted(SEED_FLAGS)
              if f not in flagged and not exists(f)]
    unchanged = [f for f in sorted(SEED_FLAGS)
                 if f not in flagged and exists(f)]
    extra = [f for f in sorted(flagged) if f not in SEED_FLAGS]
    if extra:
        notes.append(f'Also changed (their domain_alloc accepts '
                     f'IOMMU_DOMAIN_DMA in this tree): {joined(extra)}.')
    if unchanged:
        notes.append(f'Not changed (no .domain_alloc here takes '
                     f'IOMMU_DOMAIN_DMA): {joined(unchanged)}.')
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
            why = ('this core never passes IOMMU_DOMAIN_DMA_FQ to drivers '
                   '(IOMMU_CAP_DEFERRED_FLUSH)') if not record.dma_fq else \
                'its domain_alloc does not accept IOMMU_DOMAIN_DMA_FQ here'
            notes.append(f'{f}: does not set {joined(sorted(want - got))}: '
                         f'{why}.')
    if not record.dma_fq:
        notes.append('include/linux/iommu.h: no allow_dma_fq field: this '
                     'core never passes IOMMU_DOMAIN_DMA_FQ to drivers '
                     '(IOMMU_CAP_DEFERRED_FLUSH).')
    core = next((e for e in record.changes if isinstance(e, Core)), None)
    if core and record.core_shape == 'default-domain-fallback':
        notes.append(f'{core.file}: the driver is asked for '
                     f'IOMMU_DOMAIN_UNMANAGED in {core.function}(), '
                     f'before the domain gets its type and its IOVA cookie. '
                     f'The sketch changed {SEED_CORE}() instead: the domain '
                     f'was allocated as UNMANAGED and retyped, never got its '
                     f'cookie, and every device behind the IOMMU lost DMA at '
                     f'boot; the fallback to IOMMU_DOMAIN_DMA was lost too.')
    elif core:
        notes.append(f'{core.file}: the core change is in '
                     f'{core.function}(); the sketch changed '
                     f'{SEED_CORE}(), which this tree does not have in that '
                     f'shape.')
    if split == 'stage':
        notes.append('Split in three bisectable steps: every driver '
                     'declares its flags, the core switches, the dead '
                     'comparisons go.')
    elif split == 'driver':
        notes.append('Split per driver: the fields, each driver declaring '
                     'its flags, the core switch, each driver dropping its '
                     'dead comparisons.')
    return notes


def outline(record: Record, phases: list[str]) -> str:
    """'  1-3  set the flags in each driver' lines for the cover letter."""
    nflags = len(fields(record))
    word = 'flags' if nflags > 1 else 'flag'
    them = 'them' if nflags > 1 else 'it'
    what = {
        'fields': f'add the {word} to struct iommu_ops',
        'declare': (f'add the {word} and set {them} in every driver (no '
                    f'functional change)' if 'fields' not in phases else
                    f'set {them} in each driver (no functional change)'),
        'core': 'switch the core',
        'drop': 'remove the dead IOMMU_DOMAIN_DMA comparisons',
    }
    ranges, n = [], 1
    for phase in ('fields', 'declare', 'core', 'drop'):
        k = phases.count(phase)
        if k:
            span = f'{n}' if k == 1 else f'{n}-{n + k - 1}'
            ranges.append(f'  {span:<7} {what[phase]}')
            n += k
    return '\n'.join(ranges)


def findings_list(record: Record) -> list[str]:
    return [f'{e.file}: {e.function}(): {e.message}. {e.consequence}'
            for e in sorted(record.findings, key=Finding.sort_key)]


def cover_blurb(record: Record, phases: list[str], split: str,
                checks: list[str], base: str, exists,
                notes: list[str]) -> str:
    paras = [fill(
        'IOMMU_DOMAIN_DMA asks a driver for the same kind of domain as '
        'IOMMU_DOMAIN_UNMANAGED; the only difference is that dma-iommu.c '
        'may use it. This series lets drivers declare that in struct '
        'iommu_ops, makes the core ask them for IOMMU_DOMAIN_UNMANAGED, and '
        'removes IOMMU_DOMAIN_DMA from the drivers\' domain_alloc.'),
        fill(f'It follows the sketch {SEED_AUTHOR} posted in {SEED_WHERE} '
             f'("{SEED_SUBJECT}"), with the differences listed below.')]
    if split != '0':
        paras.append(outline(record, phases))
    paras.append('Drivers:\n' + itemize(flagged(
        record, '{f} ({ops}): {flags}', ' (cleared with the legacy binding)')))
    found = findings_list(record)
    if found:
        paras.append('Behaviour changes, and comparisons left in place:\n' +
                     itemize(found))
    else:
        paras.append(fill('No behaviour change found after the drivers\' '
                          'type checks, and no comparison left in place.'))
    paras.append(fill('Differences from the sketch:') + '\n' +
                 itemize(seed_differences(record, split, exists)))
    if notes:
        paras.append('Notes:\n' + itemize(notes))
    paras.append('Checks:\n' + itemize(checks))
    paras.append(fill(f'Base: {base}'))
    paras.append(fill('Made with iommu-dma, a set of Coccinelle semantic '
                      'patches that regenerates this series on any kernel '
                      'from 6.1 on.'))
    return '\n\n'.join(paras)
