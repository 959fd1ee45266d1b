"""The type-acceptance report: every struct iommu_ops, what its gate accepts.

For each `struct iommu_ops` initializer of the tree (iommu_ops_inventory
.cocci): its domain allocator, the domain types its gate accepts before and
after the rewrite (evaluated by proof.py's C program, not guessed), the
flags the rewrite gives it, the audit's findings, and for every gate the
rules rewrote "proved" or the counterexample. `apply` refuses a rewrite
with a gate that is not proved.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import proof
from .errors import ToolError
from .proof import Check, DomainTypes, Unmodelled
from .rewrite import Rewrite, semantic_patch
from .spatch import run
from .tree import IOMMU_H, copy_files

INVENTORY = 'iommu_ops_inventory'


@dataclass
class Row:
    file: str
    ops: str
    line: int
    allocator: str = ''         # domain_alloc, domain_alloc_paging or ''
    function: str = ''
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    evaluated: bool = False
    flags: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)    # CONST (shape)
    proof: str | None = None    # proved / counterexample / not proved
    findings: list[dict] = field(default_factory=list)

    @property
    def rewritten(self) -> bool:
        return bool(self.removed)

    @property
    def failed(self) -> bool:
        return self.proof is not None and self.proof != 'proved'


@dataclass
class Report:
    series_name: str
    version: str
    core_shape: str | None
    dma_fq: bool
    types: list[str]
    rows: list[Row]

    @property
    def failures(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    def to_json(self) -> str:
        data = asdict(self)
        data['summary'] = self.summary()
        return json.dumps(data, indent=1) + '\n'

    def summary(self) -> dict:
        rows = self.rows
        return {
            'ops': len(rows),
            'with_domain_alloc': sum(r.allocator == 'domain_alloc'
                                     for r in rows),
            'with_domain_alloc_paging': sum(
                r.allocator == 'domain_alloc_paging' for r in rows),
            'gates_rewritten': sum(r.rewritten for r in rows),
            'proved': sum(r.proof == 'proved' for r in rows),
            'failed': len(self.failures),
            'findings': sum(len(r.findings) for r in rows),
        }


def inventory(rewrite: Rewrite, jobs: int) -> list[dict]:
    """The inventory events, from a copy of the tree's candidate files."""
    files = rewrite.tree.candidates()
    tmp = Path(tempfile.mkdtemp(prefix='iommu-dma-inventory-'))
    try:
        copy_files(rewrite.tree.path, tmp, files)
        events = run(semantic_patch(INVENTORY), tmp, files,
                     ['report', 'record'], jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for e in events:
        e['file'] = e['file'][2:] if e['file'].startswith('./') \
            else e['file']
    return events


def build(rewrite: Rewrite, jobs: int = 1) -> Report:
    """Evaluate every ops' gate before and after the computed rewrite."""
    tree, record = rewrite.tree, rewrite.record
    types = proof.domain_types(tree.read(IOMMU_H))
    events = inventory(rewrite, jobs)
    allocs = {(e['file'], e['ops']): e for e in events
              if e['event'] == 'ops-alloc' and e['field'] == 'domain_alloc'}
    paging = {(e['file'], e['ops']): e for e in events
              if e['event'] == 'ops-alloc' and
              e['field'] == 'domain_alloc_paging'}
    params = {(e['file'], e['function']): e['param'] for e in events
              if e['event'] == 'alloc-def'}
    flags = record.flags_by_ops()
    legacy = {(e['file'], e['ops']): e['flag_var'] for e in record.changes
              if e['event'] == 'legacy-binding'}
    gates: dict[tuple[str, str], list[str]] = {}
    for e in record.changes:
        if e['event'] == 'gate':
            gates.setdefault((e['file'], e['function']), []).append(
                f"{types_short(e['removed'])} ({e['shape']})")
    rows = []
    for e in sorted((e for e in events if e['event'] == 'ops'),
                    key=lambda e: (e['file'], e['line'])):
        key = (e['file'], e['ops'])
        row = Row(e['file'], e['ops'], e['line'])
        alloc = allocs.get(key) or paging.get(key)
        if alloc:
            row.allocator, row.function = alloc['field'], alloc['function']
        fkey = (row.file, row.function)
        row.flags = list(flags.get(key, []))
        if key in legacy:
            row.flags.append(f'use_dma_iommu=false when {legacy[key]}')
        row.removed = sorted(gates.get(fkey, [])) if row.function else []
        row.findings = [f for f in record.findings
                        if (f['file'], f['function']) == fkey]
        if row.allocator == 'domain_alloc':
            evaluate_row(row, rewrite, types, params, legacy.get(key))
        rows.append(row)
    covered = {(r.file, r.function) for r in rows}
    for fkey in sorted(set(gates) - covered):
        raise ToolError(f'{fkey[0]}: {fkey[1]}(): a gate was rewritten in '
                        f'a function no struct iommu_ops uses; nothing '
                        f'written')
    return Report(record.series_name, record.version, record.core_shape,
                  record.dma_fq, [types.short(n) for n in types.names],
                  rows)


def types_short(name: str) -> str:
    return name[len(proof.TYPE_PREFIX):] \
        if name.startswith(proof.TYPE_PREFIX) else name


def evaluate_row(row: Row, rewrite: Rewrite, types: DomainTypes,
                 params: dict, legacy_var: str | None) -> None:
    """Fill the accepted types and, for a rewritten gate, the proof."""
    tree, record = rewrite.tree, rewrite.record
    where = f'{row.file}: {row.function}() of {row.ops}'
    param = params.get((row.file, row.function))
    check = None
    if row.rewritten:
        check = Check(use_dma_iommu='use_dma_iommu' in row.flags,
                      allow_dma_fq='allow_dma_fq' in row.flags,
                      core_dma_fq=record.dma_fq, legacy_var=legacy_var)
    try:
        if param is None:
            raise Unmodelled(f'{row.function}() is not defined in '
                             f'{row.file} with one parameter')
        after_text = rewrite.after(row.file).decode(errors='replace') \
            if row.file in record.files else tree.read(row.file)
        before = proof.extract_gate(tree.read(row.file), row.function,
                                    param)
        after = proof.extract_gate(after_text, row.function, param)
        ev = proof.evaluate(types, before, after, check, where)
    except Unmodelled as e:
        row.findings.append({
            'event': 'finding', 'kind': 'gate-unmodelled', 'file': row.file,
            'function': row.function, 'rule': 'report',
            'message': f'gate not evaluated: {e}'})
        if check:
            row.proof = f'not proved: {e}'
        return
    row.evaluated = True
    row.before = proof.accepted(ev.before, ev.variables, types)
    row.after = proof.accepted(ev.after, ev.variables, types)
    row.proof = ev.verdict


def render(report: Report) -> str:
    """Plain text: one ops per row, one before/after column per type.

    Cells: `+/-` accepted before, rejected after; `?` accepted only for
    some values of a variable the gate reads (the `?` line below the row
    says which). Findings, removed comparisons and failed proofs follow
    their row, indented.
    """
    fq = 'flush queues in drivers' if report.dma_fq else \
        'no flush queues in drivers'
    out = [f'iommu-dma report: {report.series_name}, core '
           f'{report.core_shape or "unknown"} ({fq})',
           'Per domain type of include/linux/iommu.h, accepted before/after '
           'the rewrite: + yes, - no, ? for some values (see below the '
           'row);', 'blank: no .domain_alloc gate. Below a row: '
           '- removed comparison, + run-time flag, ! needs a human, '
           'x proof failed.', '']
    head = ('FILE', 'OPS', 'ALLOCATOR', *report.types, 'FLAGS', 'PROOF')
    cells = [head]
    for r in report.rows:
        alloc = r.function or '(none)'
        if r.allocator == 'domain_alloc_paging':
            alloc += ' (paging)'
        marks = [cell(r, t) for t in report.types]
        flags = ','.join(f for f in r.flags if ' ' not in f) or '-'
        if r.proof is None:
            verdict = '-'
        else:
            verdict = 'proved' if r.proof == 'proved' else 'FAILED'
        cells.append((r.file, r.ops, alloc, *marks, flags, verdict))
    widths = [max(len(c[i]) for c in cells) for i in range(len(head) - 1)]
    for k, c in enumerate(cells):
        out.append('  '.join(x.ljust(w) for x, w in zip(c, widths)) +
                   '  ' + c[-1])
        if k == 0:
            continue
        r = report.rows[k - 1]
        for side, accepted in (('before', r.before), ('after', r.after)):
            some = [a for a in accepted if '[' in a]
            if some:
                out.append(f'    ? {side}: {", ".join(some)}')
        for f in r.flags:
            if ' ' in f:
                out.append(f'    + {f}')
        if r.removed:
            out.append(f'    - removed {", ".join(r.removed)}')
        if r.failed:
            out.append(f'    x {r.proof}')
        for f in r.findings:
            out.append(f'    ! {finding_text(f)}')
    s = report.summary()
    out += ['', f"{s['ops']} struct iommu_ops initializers "
            f"({s['with_domain_alloc']} with .domain_alloc, "
            f"{s['with_domain_alloc_paging']} with only "
            f".domain_alloc_paging); {s['gates_rewritten']} gates "
            f"rewritten, {s['proved']} proved, {s['failed']} failed; "
            f"{s['findings']} findings need a human"]
    return '\n'.join(x.rstrip() for x in out) + '\n'


def cell(row: Row, short: str) -> str:
    if not row.evaluated:
        return ''

    def mark(accepted: list[str]) -> str:
        if short in accepted:
            return '+'
        return '?' if any(a.startswith(short + '[') for a in accepted) \
            else '-'
    return f'{mark(row.before)}/{mark(row.after)}'


def finding_text(f: dict) -> str:
    kind = f['kind']
    if kind == 'implicit-dma':
        why = 'accepts IOMMU_DOMAIN_DMA implicitly (no type filter)'
    elif kind == 'type-helper':
        why = (f"passes the type to {f['helper']}(), which compares it "
               f"with a domain type at line {f['line']}: with UNMANAGED "
               f"for a DMA domain it would behave differently")
    elif kind == 'not-rewritten':
        why = (f"{f['constant']} at line {f['line']}: a shape the rules "
               f"do not know, not rewritten")
    else:
        why = f['message']
    return f'{kind}: {why}'


def refuse_unproved(report: Report) -> None:
    """apply: no rewrite whose gate proof failed is ever written."""
    for r in report.failures:
        raise ToolError(f'{r.file}: {r.function}() of {r.ops}: {r.proof}; '
                        f'nothing written')
