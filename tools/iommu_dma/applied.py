"""A tree this tool rewrote: what its apply left, and the way back.

`make apply` leaves .iommu-dma/ in the tree: record.json (every change and
finding, the SHA-256 of every file as written, the tool that wrote it),
the manifest, the report as it was proved before the write, and orig/
(every original). Read-only commands use it to judge the tree as it is:
drift compares the recorded manifest, report shows the recorded proofs.
revert puts the originals back through the journal, refusing any file
changed since.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import PROG, version
from .errors import ToolError
from .journal import Journal, sha256
from .record import Record
from .tree import KernelTree

RECORD = 'record.json'
MANIFEST = 'manifest'
REPORT = 'report'
REPORT_JSON = 'report.json'


@dataclass
class Applied:
    """The apply a tree's state directory records."""
    record: Record
    state: Path
    changed: list[str]      # written files that differ from what was written

    def say(self) -> str:
        """One line on how the tree stands against its record."""
        by = self.record.tool or 'an iommu-dma without a version'
        other = '' if by == version() else f' (this is {version()})'
        if self.changed:
            return (f'{PROG}: rewritten by {by}{other}, then changed by '
                    f'hand: {", ".join(self.changed)}')
        return f'{PROG}: rewritten by {by}{other}: ' \
            f'{len(self.record.files)} files as written ' \
            f'({self.state / RECORD})'

    def text(self, name: str) -> str:
        path = self.state / name
        if not path.is_file():
            raise ToolError(f'{path}: missing: the apply that rewrote '
                            f'this tree kept no {name}; revert and apply '
                            f'again')
        return path.read_text()


def find(tree: KernelTree) -> Applied | None:
    """The record of the apply that rewrote tree, or None."""
    path = tree.state_dir() / RECORD
    if not path.is_file():
        return None
    record = Record.load(path)
    changed = [rel for rel, digest in sorted(record.written.items())
               if not (tree.path / rel).is_file() or
               sha256((tree.path / rel).read_bytes()) != digest]
    return Applied(record, tree.state_dir(), changed)


def revert(tree: KernelTree) -> str:
    """Put back every original the apply replaced, then drop its state.

    All or nothing through the journal; refused, naming them, when files
    changed since the apply."""
    journal = Journal(tree.path, tree.state_dir())
    if journal.leftover():
        journal.recover()
    done = find(tree)
    if done is None:
        raise ToolError(f'{tree.path}: no {tree.state_dir().name}/{RECORD}: '
                        f'not rewritten by make apply, nothing to revert')
    orig = tree.state_dir() / 'orig'
    missing = [rel for rel in done.record.written
               if not (orig / rel).is_file()]
    if missing:
        raise ToolError(f'no original kept for {", ".join(missing)} in '
                        f'{orig}; nothing reverted')
    back = {rel: (orig / rel).read_bytes() for rel in done.record.written}
    now = {rel: (tree.path / rel).read_bytes() for rel in back}
    # Neither as written nor the original (a revert finished by recover())
    pending = [rel for rel in done.changed if now[rel] != back[rel]]
    if pending:
        raise ToolError(f'changed since apply: {", ".join(pending)}: '
                        f'restore or commit them first; nothing reverted')
    todo = {rel: data for rel, data in back.items() if now[rel] != data}
    if todo:
        journal.apply(todo, {rel: now[rel] for rel in todo}, {},
                      keep_orig=False)
    Journal.remove_state(tree.state_dir())
    return f'{PROG}: reverted {len(todo)} files of {tree.path}; ' \
        f'{tree.state_dir().name}/ removed'
