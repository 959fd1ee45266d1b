"""Hold back a driver the rules could rewrite only in part.

When a domain_alloc had one comparison removed (a gate event) while another
DMA comparison in it was left for a human (a not-rewritten finding), the
rewritten driver would keep accepting a type the core no longer hands it
and lose the flag that goes with it (for example DMA removed, a DMA_FQ label
in a shape the rules do not know kept). Such a file is put back, in the
scratch copy, as the declare step left it: its flags stay, so the driver
keeps its DMA domains, and every comparison stays, reported. Found by the
mutation tests (fuzz.py).
"""

from __future__ import annotations

from pathlib import Path

from .events import Gate
from .spatch import replace_file


def partial_functions(record) -> list[tuple[str, str]]:
    """(file, function) that lost a comparison while another DMA one in it
    was left for a human."""
    gated = {(e.file, e.function) for e in record.changes
             if isinstance(e, Gate)}
    return sorted({(f.file, f.function) for f in record.findings
                   if f.kind == 'not-rewritten'
                   and (f.file, f.function) in gated})


def hold_back_partial(rewrite) -> list[str]:
    """Undo the dropped comparisons of partly rewritten driver files in
    scratch, keeping their declared flags; return them."""
    record, scratch = rewrite.record, rewrite.scratch
    tree: Path = rewrite.tree.path
    partial = partial_functions(record)
    files = sorted({f for f, _ in partial})
    afters = rewrite.step_after
    for rel in files:
        declared = (tree / rel).read_bytes()    # if no declare step did
        for step, after in zip(record.steps, afters):
            if step['phase'] == 'declare' and rel in after:
                declared = after[rel]
        replace_file(scratch / rel, declared)
    record.changes = [e for e in record.changes
                      if not (e.file in files and isinstance(e, Gate))]
    for step, after in zip(record.steps, afters):
        if step['phase'] == 'drop':
            step['files'] = [f for f in step['files'] if f not in files]
            for rel in files:
                after.pop(rel, None)
    for rel, fn in partial:
        record.add_finding(
            kind='partial', file=rel, function=fn, rule='consistency',
            message='the rules could drop only part of its DMA '
                    'comparisons: all of them stay, its flags are '
                    'declared')
    return files
