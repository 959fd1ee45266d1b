"""Hold back a driver the rules could rewrite only in part.

When a domain_alloc had one comparison removed (a gate event) while another
DMA comparison in it was left for a human (a not-rewritten finding), the
rewritten driver would keep accepting a type the core no longer hands it
and lose the flag that goes with it (for example DMA removed, a DMA_FQ label
in a shape the rules do not know kept, so no .allow_dma_fq). Such a file is
put back as it was in the scratch copy, its changes are dropped from the
record and it is reported instead, like any other shape the rules do not
know. Found by the mutation tests (fuzz.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path



def hold_back_partial(rewrite) -> list[str]:
    """Restore partly rewritten driver files in scratch; return them."""
    record, scratch = rewrite.record, rewrite.scratch
    tree: Path = rewrite.tree.path
    gated = {(e['file'], e['function']) for e in record.changes
             if e['event'] == 'gate'}
    partial = sorted({(f['file'], f['function']) for f in record.findings
                      if f['kind'] == 'not-rewritten'
                      and (f['file'], f['function']) in gated})
    files = sorted({f for f, _ in partial})
    for rel in files:
        (scratch / rel).unlink()
        shutil.copy2(tree / rel, scratch / rel)
    record.changes = [e for e in record.changes if e['file'] not in files]
    for step in record.steps:
        step['files'] = [f for f in step['files'] if f not in files]
    for after in getattr(rewrite, 'step_after', []):
        for rel in files:
            after.pop(rel, None)
    for rel, fn in partial:
        record.findings.append({
            'event': 'finding', 'kind': 'partial', 'file': rel,
            'function': fn, 'rule': 'consistency',
            'message': 'the rules could rewrite only part of its type '
                       'checks: the whole file is left as it was'})
    return files
