"""The human summary printed after apply and diff."""

from __future__ import annotations

from . import PROG, upstream
from .events import Upstream
from .record import Record


def summary(record: Record, verb: str) -> str:
    lines = [f'iommu-dma: {record.tree}: linux {record.version}, '
             f'parts={record.parts}, '
             f'core: {record.core_shape or "no known shape"}'
             f'{", flush queues in drivers" if record.dma_fq else ""}']
    done = [e for e in record.changes if isinstance(e, Upstream)]
    if done:
        lines.append(f"{PROG}: {done[0].file}: " +
                     upstream.STATEMENT.format(fn=done[0].function))
    by_file: dict[str, list[str]] = {}
    for e in record.changes:
        said = e.summary()
        if said:
            by_file.setdefault(e.file, []).append(said)
    for f in sorted(by_file):
        lines.append(f'  {f}: ' + '; '.join(sorted(set(by_file[f]))))
    if record.findings:
        lines.append('for a human (behaviour changes, and code the rules '
                     'left as it was):')
        lines += [f'  {e.file}: {e.summary()}' for e in sorted(
            record.findings, key=lambda e: (e.file, e.function))]
    if record.files:
        lines.append(f'{len(record.files)} files {verb}')
    elif not done:
        lines.append('nothing to change: the tree is already rewritten')
    return '\n'.join(lines)

