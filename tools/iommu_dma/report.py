"""The type-acceptance report: every struct iommu_ops, what its gate accepts.

For each `struct iommu_ops` initializer of the tree (iommu_ops_inventory
.cocci): its domain allocator, the domain types its gate accepts before and
after the rewrite (evaluated by proof.py's C program, not guessed), the
flags the rewrite gives it, the audit's findings, and for every gate the
rules rewrote "proved" or the counterexample. `apply` refuses a rewrite
with a gate that is not proved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import era, gate, jsonout, proof
from .errors import ToolError
from .events import AllocDef, Finding, Gate, LegacyBinding, Ops, OpsAlloc
from .gate import Unmodelled
from .proof import Check, DomainTypes
from .rewrite import CORE_SHAPES, Rewrite
from .tree import IOMMU_H


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
    reason: str = ''            # why not proved: a key of REMEDIES
    findings: list[Finding] = field(default_factory=list)

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

    def to_json(self, tree: str) -> str:
        data = asdict(self)
        for row, out in zip(self.rows, data['rows']):
            out['findings'] = [f.to_json() for f in row.findings]
        data['summary'] = self.summary()
        return jsonout.document('report', 'failed' if self.failures
                                else 'ok', tree, data)

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


def build(rewrite: Rewrite, jobs: int = 1) -> Report:
    """Evaluate every ops' gate before and after the computed rewrite."""
    tree, record = rewrite.tree, rewrite.record
    types = proof.domain_types(tree.read(IOMMU_H))
    facts = rewrite.era or era.read(tree)
    # The inventory events and the gate facts of the drivers, before and
    # after the rewrite: what the rules read of them (rewrite.READ)
    events = rewrite.read_before
    before, after = gate.Facts(events), gate.Facts(rewrite.read_after)
    after.functions.update((k, v) for k, v in before.functions.items()
                           if k[0] not in record.files)
    allocs = {(e.file, e.ops): e for e in events
              if isinstance(e, OpsAlloc) and e.field == 'domain_alloc'}
    paging = {(e.file, e.ops): e for e in events
              if isinstance(e, OpsAlloc) and e.field == 'domain_alloc_paging'}
    params = {(e.file, e.function): e.param for e in events
              if isinstance(e, AllocDef)}
    flags = record.flags_by_ops()
    legacy = {(e.file, e.ops): e.flag_var for e in record.changes
              if isinstance(e, LegacyBinding)}
    gates: dict[tuple[str, str], list[str]] = {}
    for e in record.changes:
        if isinstance(e, Gate):
            gates.setdefault((e.file, e.function), []).append(
                f'{e.removed.removeprefix(proof.TYPE_PREFIX)} ({e.shape})')
    rows = []
    for e in sorted((e for e in events if isinstance(e, Ops)),
                    key=lambda e: (e.file, e.line)):
        key = (e.file, e.ops)
        row = Row(e.file, e.ops, e.line)
        alloc = allocs.get(key) or paging.get(key)
        if alloc:
            row.allocator, row.function = alloc.field, alloc.function
        row.flags = list(flags.get(key, []))
        if key in legacy:
            row.flags.append(f'use_dma_iommu=false when {legacy[key]}')
        row.removed = sorted(gates.get((row.file, row.function), []))
        rows.append(row)
    # Each proof is a C program: all are built at once, then read row by
    # row.
    requests: dict[int, list[proof.Request] | Unmodelled] = {}
    for k, row in enumerate(rows):
        if row.allocator == 'domain_alloc':
            try:
                requests[k] = proof_requests(row, rewrite, types, params,
                                             legacy.get((row.file, row.ops)),
                                             facts, (before, after))
            except Unmodelled as e:
                requests[k] = e
    evaluated = iter(proof.evaluate_all(
        [r for rs in requests.values() if not isinstance(rs, Unmodelled)
         for r in rs], jobs))
    checked = record.core_shape in CORE_SHAPES
    for k, row in enumerate(rows):
        fkey = (row.file, row.function)
        row.findings = [f for f in record.findings
                        if (f.file, f.function) == fkey]
        if k in requests:
            rs = requests[k]
            evaluate_row(row, types, rs, [rs] if isinstance(rs, Unmodelled)
                         else [next(evaluated) for _ in rs], checked)
            if 'use_dma_iommu' in row.flags and fkey in params:
                behaviour_findings(row, rewrite, params[fkey], after)
    covered = {(r.file, r.function) for r in rows}
    for fkey in sorted(set(gates) - covered):
        raise ToolError(f'{fkey[0]}: {fkey[1]}(): a gate was rewritten in '
                        f'a function no struct iommu_ops uses; nothing '
                        f'written')
    return Report(record.series_name, record.version, record.core_shape,
                  record.dma_fq, [types.short(n) for n in types.names],
                  rows)


def proof_requests(row: Row, rewrite: Rewrite, types: DomainTypes,
                   params: dict, legacy_var: str | None, facts: era.Era,
                   gates: tuple[gate.Facts, gate.Facts]
                   ) -> list[proof.Request]:
    """The gates of row's allocator before and after, and what to check:
    one request per definition (#if may select one of several), each
    judged against the one flag set the ops declares."""
    record = rewrite.record
    # The core is rewritten: every driver's whole path is checked.
    check = Check(use_dma_iommu='use_dma_iommu' in row.flags,
                  allow_dma_fq='allow_dma_fq' in row.flags,
                  core_dma_fq=record.dma_fq, legacy_var=legacy_var) \
        if record.core_shape in CORE_SHAPES else None
    param = params.get((row.file, row.function))
    if param is None:
        raise Unmodelled(f'{row.function}() is not defined in '
                         f'{row.file} with one parameter')
    # A driver's own cookie call succeeds where the core tolerates it;
    # elsewhere the core's call fails on that cookie (-EEXIST), and the
    # gate is not modelled.
    known = ('iommu_get_dma_cookie',) if facts.cookie_guard else ()
    before, after = (
        [f.gate(param, known) for f in g.definitions(row.file, row.function)]
        for g in gates)
    if len(before) != len(after):
        raise Unmodelled(f'{len(before)} definitions of {row.function}() '
                         f'before the rewrite, {len(after)} after')
    where = f'{row.file}: {row.function}() of {row.ops}'
    return [proof.Request(types, b, a, check, where if len(before) == 1
                          else f'{where}, line {b.line}')
            for b, a in zip(before, after)]


def evaluate_row(row: Row, types: DomainTypes,
                 requests: list[proof.Request] | Unmodelled,
                 results: list[proof.Evaluation | Unmodelled],
                 checked: bool) -> None:
    """Fill the accepted types and, for a rewritten gate, the proof, from
    the results of the requests. checked: the core is rewritten, every
    driver's whole path is checked. Of several definitions, the first that
    fails is the row's verdict; the columns show the first definition."""
    e = next((r for r in results if isinstance(r, Unmodelled)), None)
    if e is not None:
        row.findings.append(Finding(
            kind='gate-unmodelled', file=row.file, function=row.function,
            rule='report', message=f'gate not evaluated: {e}'))
        # With the core rewritten every driver's path changes, touched by
        # the rules or not: a gate the model cannot read is not proved.
        if checked:
            row.proof = f'not proved: {e}'
            row.reason = e.kind
        return
    evs = [r for r in results if isinstance(r, proof.Evaluation)]
    ev = next((e for e in evs if e.verdict not in (None, 'proved')), evs[0])
    if len(evs) > 1 and ev.verdict not in (None, 'proved'):
        ev = replace(ev, verdict=f'{ev.verdict} (the definition at '
                     f'line {requests[evs.index(ev)].before.line})')
        row.reason = 'ifdef'
    row.evaluated = True
    row.before = proof.accepted(ev.before, ev.variables, types)
    row.after = proof.accepted(ev.after, ev.variables, types)
    row.proof = ev.verdict


# What a helper's UNMANAGED branch means, where the kernel's code says
# more than the computed sentence (gate.DISTINGUISHING)
CONSEQUENCES = Path(__file__).resolve().parent / 'consequences.txt'


def known_consequences(path: Path = CONSEQUENCES) -> dict[str, str]:
    """helper -> sentence, from the table's `helper<tabs>sentence` lines."""
    lines = [line.split('\t', 1) for line in path.read_text().splitlines()
             if line.strip() and not line.startswith('#')]
    return {helper.strip(): what.strip() for helper, what in lines}


def behaviour_findings(row: Row, rewrite: Rewrite, param: str,
                       facts: gate.Facts) -> None:
    """Code after the gate, in the allocator or a helper it hands the type
    to, that tells UNMANAGED from DMA: the driver now sees UNMANAGED for
    DMA domains, so that code takes another branch. A finding each, with
    file, function and line of the rewritten text (a line the rewrite
    removed is no finding); it replaces the audit's type-helper finding
    for the same helper, which only knew that the helper compares."""
    text = rewrite.after(row.file).decode(errors='surrogateescape') \
        if row.file in rewrite.record.files else rewrite.tree.read(row.file)
    lines = text.split('\n')
    helpers = [f for f in row.findings if f.kind == 'type-helper']
    known = known_consequences()
    found = []
    sites, seen = [(row.function, param)], set()
    while sites:
        function, name = sites.pop(0)
        if function in seen or len(seen) > 8:
            continue
        seen.add(function)
        fn = facts.first(row.file, function)
        if fn is None:
            continue
        sites += fn.passes(name, facts, row.file)
        for use in fn.type_uses(name, lines):
            change = known.get(function, use.consequence)
            where = '' if function == row.function else \
                f', in {function}()'
            found.append(Finding(
                kind='behaviour', file=row.file, function=row.function,
                helper=function, line=use.line, constant=use.constant,
                code=use.code, rule='report',
                message=f'line {use.line}{where} `{use.code}`: {change}'))
    record = rewrite.record
    for f in helpers:
        if f.helper in seen and f in record.findings:
            record.findings.remove(f)
            row.findings.remove(f)
    for f in found:
        if f not in record.findings:
            record.findings.append(f)
            row.findings.append(f)


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
        verdict = '-' if r.proof is None else \
            'proved' if r.proof == 'proved' else 'FAILED'
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
        out += [f'    + {f}' for f in r.flags if ' ' in f]
        if r.removed:
            out.append(f'    - removed {", ".join(r.removed)}')
        if r.failed:
            out.append(f'    x {r.proof}')
        out += [f'    ! {f.report()}' for f in r.findings]
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


def refuse(report: Report, allow_dma_loss: tuple[str, ...] = (),
           unreachable: tuple[str, ...] | list[str] = ()) -> None:
    """apply and diff: no rewrite whose whole-path proof failed is ever
    written, nor shown as what apply would write.

    Every such driver is named in the one refusal, with its reason and what
    the user can do, beside every place spatch did not parse. A driver
    named in allow_dma_loss (by its ops or its domain_alloc) may lose what
    the proof says it loses: the user asked.
    """
    out_of_reach = {u.split(':')[0] for u in unreachable}
    refused = [r for r in report.failures
               if r.ops not in allow_dma_loss and
               r.function not in allow_dma_loss and
               r.file not in out_of_reach]
    if not refused and not unreachable:
        return
    what = []
    if unreachable:
        n = len(unreachable)
        what.append(f'{n} place{"s" if n > 1 else ""} out of the rules\' '
                    f'reach')
    if refused:
        n = len(refused)
        what.append(f'{n} driver{"s" if n > 1 else ""} would not keep the '
                    f'domains {"they" if n > 1 else "it"} got')
    lines = [f'refused: {", ".join(what)}; nothing written:']
    lines += [f'  {u}' for u in unreachable]
    for r in refused:
        lines.append(f'  {r.file}: {r.function}() of {r.ops}: {r.proof}; '
                     f'{remedy(r)}')
    if refused:
        lines.append(f'  to rewrite anyway and accept the loss: '
                     f'ALLOW_DMA_LOSS={",".join(r.ops for r in refused)} '
                     f'(--allow-dma-loss)')
    raise ToolError('\n'.join(lines))


# What the user can do about a refused driver, by why it was refused.
REMEDIES = {
    'own-cookie': 'it gets the IOVA cookie of its DMA domains itself, as '
                  'drivers did before v5.15, and this core gets it too '
                  '(without the transitional !domain->iova_cookie check, '
                  'so the core\'s call fails on it): remove the driver\'s '
                  'call, as upstream did in v5.15, or accept the loss',
    'local': 'the rules see only comparisons of the type itself: compare '
             'it in the gate, or accept the loss',
    'ifdef': 'its #if-selected definitions accept different types, and the '
             'one struct iommu_ops declares the same flags for all: put the '
             'flags under the same #if, or accept the loss',
    'undefined-type': 'a domain type from a later release: the driver does '
                      'not build on this tree as it is; define the type as '
                      'that release does, or accept the loss',
    'partial': 'it accepts DMA only for some values of what its gate reads, '
               'which no static .use_dma_iommu can say: set the flag at run '
               'time (as the legacy-binding rewrite does), or accept the '
               'loss',
    'no-unmanaged': 'it took DMA domains but never UNMANAGED ones, and the '
                    'core now asks for UNMANAGED: let its .domain_alloc '
                    'accept IOMMU_DOMAIN_UNMANAGED (as upstream later did '
                    'for such drivers), or accept the loss',
    'shape': 'check its gate by hand, or accept the loss',
}


def remedy(row: Row) -> str:
    """What the user can do about one refused driver."""
    reason = row.reason
    if not reason and any('[' in t for t in row.before):
        reason = 'partial'
    elif not reason and 'UNMANAGED' not in row.before and \
            any(t.startswith('DMA') for t in row.before):
        reason = 'no-unmanaged'
    return REMEDIES[reason or 'shape']
