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
from typing import Iterable

from . import events
from .errors import ToolError
from .events import Event, Finding, Flag

FORMAT = 2


@dataclass
class Record:
    tree: str
    version: str
    series_name: str
    parts: str
    core_shape: str | None = None
    dma_fq: bool = False
    changes: list[Event] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    format: int = FORMAT
    # Set by apply: what wrote the tree, and each file's SHA-256 as written
    tool: str = ''
    written: dict[str, str] = field(default_factory=dict)

    def add_events(self, raw: Iterable[dict | Event]) -> None:
        """Events, typed or as saved (events.parse rejects unknown ones)."""
        for event in map(events.parse, raw):
            target: list = (self.findings if isinstance(event, Finding)
                            else self.changes)
            if event not in target:
                target.append(event)

    def add_finding(self, **what) -> None:
        self.add_events([Finding(**what)])

    def manifest(self) -> str:
        lines = {e.manifest() for e in self.changes + self.findings}
        lines.discard(None)
        head = [f'# iommu-dma manifest: {self.series_name}, '
                f'parts={self.parts}',
                '# <file> <symbol> <op> <what>; op: - removed, + added, '
                '~ rewritten, ! needs a human, = done upstream']
        return '\n'.join(head + sorted(lines)) + '\n'

    def flags_by_ops(self) -> dict[tuple[str, str], list[str]]:
        """(file, ops) -> flags the rewrite gave that ops initializer."""
        flags: dict[tuple[str, str], list[str]] = {}
        for e in self.changes:
            if isinstance(e, Flag):
                flags.setdefault((e.file, e.ops), []).append(e.flag)
        return {k: sorted(v, reverse=True) for k, v in flags.items()}

    def to_json(self) -> dict:
        data = asdict(self)
        data['changes'] = [e.to_json() for e in self.changes]
        data['findings'] = [e.to_json() for e in self.findings]
        return data

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, sort_keys=True)
                        + '\n')

    @classmethod
    def load(cls, path: Path) -> 'Record':
        """A saved record; one of another format is refused."""
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ToolError(f'{path}: not a record ({e})') from None
        if not isinstance(data, dict) or data.get('format') != FORMAT:
            raise ToolError(f'{path}: a record of another format; rerun '
                            f'the rewrite')
        record = cls(**{k: v for k, v in data.items()
                        if k not in ('changes', 'findings')})
        record.add_events(data['changes'] + data['findings'])
        return record

