"""The record of a rewrite: the one structure every other step reads.

A Record says, for one tree: which rules ran, every change they made
(gates, flags, fields, core, legacy-binding lines), every finding that needs
a human, and which files changed. It is saved as JSON in the tree's
.iommu-dma/ directory; its manifest is the plain-text summary that drift
checks compare and the build checker reads (`<file> <symbol> <op> <what>`,
op: `-` removed, `+` added, `~` rewritten, `!` reported, not rewritten,
`=` already done upstream).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1


@dataclass
class Record:
    tree: str
    version: str
    series_name: str
    parts: str
    core_shape: str | None = None
    dma_fq: bool = False
    changes: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    format: int = FORMAT

    def add_events(self, events: list[dict]) -> None:
        for event in events:
            target = (self.findings if event['event'] == 'finding'
                      else self.changes)
            if event not in target:
                target.append(event)

    def manifest_lines(self) -> list[str]:
        lines = {manifest_line(e) for e in self.changes}
        lines |= {manifest_line(e) for e in self.findings}
        lines.discard(None)
        return sorted(lines)

    def manifest(self) -> str:
        head = [f'# iommu-dma manifest: {self.series_name}, '
                f'parts={self.parts}',
                '# <file> <symbol> <op> <what>; op: - removed, + added, '
                '~ rewritten, ! needs a human, = done upstream']
        return '\n'.join(head + self.manifest_lines()) + '\n'

    def flags_by_ops(self) -> dict[tuple[str, str], list[str]]:
        """(file, ops) -> flags the rewrite gave that ops initializer."""
        flags: dict[tuple[str, str], list[str]] = {}
        for e in self.changes:
            if e['event'] == 'flag':
                flags.setdefault((e['file'], e['ops']), []).append(e['flag'])
        return {k: sorted(v, reverse=True) for k, v in flags.items()}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True)
                        + '\n')

    @classmethod
    def load(cls, path: Path) -> 'Record':
        return cls(**json.loads(path.read_text()))


def manifest_line(e: dict) -> str | None:
    kind = e['event']
    if kind == 'gate':
        return f"{e['file']} {e['function']} - {e['removed']} {e['shape']}"
    if kind == 'flag':
        return f"{e['file']} {e['ops']} + .{e['flag']} = true"
    if kind == 'legacy-binding':
        return (f"{e['file']} {e['function']} + {e['ops']}.use_dma_iommu = "
                f"false after {e['flag_var']} = true")
    if kind == 'field':
        return f"{e['file']} {e['struct']} + u8 {e['field']} : 1"
    if kind == 'core':
        return f"{e['file']} {e['function']} ~ {e['shape']}"
    if kind == 'upstream':
        return f"{e['file']} {e['function']} = {e['shape']}"
    if kind == 'finding':
        what = e['kind']
        if e.get('helper'):
            what += ' ' + e['helper']
        if e['kind'] in ('not-rewritten', 'behaviour'):
            what += ' ' + e['constant']
        return f"{e['file']} {e['function']} ! {what}"
    return None
