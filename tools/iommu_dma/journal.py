"""All-or-nothing writes into a kernel tree, with a journal for crashes.

A write goes through four stages, each durable (fsync) before the next:

1. stage: the original and the new content of every file, and the new
   record.json and manifest, are copied under .iommu-dma/journal/;
2. commit: .iommu-dma/journal/intent.json names every file with the
   SHA-256 of its original and new content (temporary file, fsync, rename:
   it exists whole or not at all);
3. replace: each file of the tree is replaced through a temporary file and
   a rename, the originals go to .iommu-dma/orig/, then the record;
4. done: the journal is removed.

An apply that dies before (2) has not touched the tree: the next run
discards the staged copies. One that dies after (2) has left every file
either original or new, which the hashes tell apart: the next run
completes it from the staged new contents, or, if those are damaged,
rolls it back from the staged originals, and says which. A file that is
neither (edited since) stops the recovery with an error and changes
nothing. A Python exception or SIGINT/SIGTERM during (3) rolls back at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .errors import ToolError

JOURNAL = 'journal'
INTENT = 'intent.json'
# Files of the state directory the journal also writes, beside the tree's.
STATE_FILES = ('record.json', 'manifest', 'report', 'report.json')
# Test hook: "<stage>:<signal>" kills the apply at that point, for example
# "replaced-2:KILL" after the second file is replaced, "staged:TERM".
CRASH_ENV = 'IOMMU_DMA_TEST_CRASH'


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durable(path: Path, data: bytes, like: Path | None = None) -> None:
    """Write data to path through a temporary file, fsync and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.iommu-dma-tmp')
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if like is not None and like.exists():
        shutil.copymode(like, tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def crash_point(stage: str) -> None:
    """Kill this process at stage if the test hook asks for it."""
    want = os.environ.get(CRASH_ENV)
    if not want:
        return
    at, _, sig = want.partition(':')
    if at == stage:
        os.kill(os.getpid(), getattr(signal, f'SIG{sig or "KILL"}'))


@dataclass
class Entry:
    file: str      # relative to the tree
    before: str    # sha256 of the original
    after: str     # sha256 of the new content


class Journal:
    """The journal of one tree's state directory."""

    def __init__(self, tree: Path, state: Path) -> None:
        self.tree = tree
        self.state = state
        self.dir = state / JOURNAL

    def pending(self) -> bool:
        return (self.dir / INTENT).exists()

    def leftover(self) -> bool:
        return self.dir.exists()

    def intent(self) -> dict:
        return json.loads((self.dir / INTENT).read_text())

    def entries(self) -> list[Entry]:
        return [Entry(**e) for e in self.intent()['files']]

    # -- writing -------------------------------------------------------

    def apply(self, new: dict[str, bytes], old: dict[str, bytes],
              state_files: dict[str, bytes], keep_orig: bool = True) -> None:
        """Write new into the tree, all or nothing (see the module doc).
        keep_orig=False (revert): the originals kept in the state
        directory stay as they are."""
        if self.leftover():
            shutil.rmtree(self.dir)
        for kind, files in (('orig', old), ('new', new),
                            ('state', state_files)):
            for rel, data in files.items():
                write_durable(self.dir / kind / rel, data)
        for name in STATE_FILES:
            if (self.state / name).exists():
                write_durable(self.dir / 'oldstate' / name,
                              (self.state / name).read_bytes())
        crash_point('staged')
        intent = {'files': [{'file': rel, 'before': sha256(old[rel]),
                             'after': sha256(new[rel])} for rel in new],
                  'state': {n: sha256(d) for n, d in state_files.items()},
                  'orig_new': [rel for rel in new
                               if keep_orig and
                               not (self.state / 'orig' / rel).exists()],
                  'keep_orig': keep_orig}
        write_durable(self.dir / INTENT,
                      json.dumps(intent, indent=1).encode())
        crash_point('committed')
        with rollback_on_interrupt(self):
            self._forward()
        crash_point('written')
        self._finish()

    def _forward(self) -> None:
        """Replace every file still original by its staged new content."""
        for n, e in enumerate(self.entries(), 1):
            path = self.tree / e.file
            if sha256(path.read_bytes()) != e.after:
                write_durable(path, (self.dir / 'new' / e.file).read_bytes(),
                              like=path)
            crash_point(f'replaced-{n}')
        keep_orig = self.intent().get('keep_orig', True)
        for rel in (e.file for e in self.entries() if keep_orig):
            write_durable(self.state / 'orig' / rel,
                          (self.dir / 'orig' / rel).read_bytes())
        for name in STATE_FILES:
            staged = self.dir / 'state' / name
            if staged.exists():
                write_durable(self.state / name, staged.read_bytes())

    def _backward(self) -> None:
        """Put back the staged original of every file already replaced,
        and the state directory as it was."""
        for e in self.entries():
            path = self.tree / e.file
            if sha256(path.read_bytes()) != e.before:
                write_durable(path, (self.dir / 'orig' / e.file).read_bytes(),
                              like=path)
        for rel in self.intent().get('orig_new', []):
            (self.state / 'orig' / rel).unlink(missing_ok=True)
        for name in STATE_FILES:
            old = self.dir / 'oldstate' / name
            if old.exists():
                write_durable(self.state / name, old.read_bytes())
            else:
                (self.state / name).unlink(missing_ok=True)

    def _finish(self) -> None:
        self._remove_tmp()
        (self.dir / INTENT).unlink()
        fsync_dir(self.dir)
        shutil.rmtree(self.dir)
        # A rolled-back first apply leaves no state directory behind.
        if not any(p.is_file() for p in self.state.rglob('*')):
            shutil.rmtree(self.state)

    @staticmethod
    def remove_state(state: Path) -> None:
        """The whole state directory, once nothing in it is needed."""
        shutil.rmtree(state)
        fsync_dir(state.parent)

    def _remove_tmp(self) -> None:
        """Temporary files a killed write may have left beside the files."""
        staged = self.dir / 'new'
        files = [p.relative_to(staged) for p in staged.rglob('*')
                 if p.is_file()] if staged.exists() else []
        for rel in files:
            path = self.tree / rel
            path.with_name(f'.{path.name}.iommu-dma-tmp').unlink(
                missing_ok=True)

    # -- recovery ------------------------------------------------------

    def check(self) -> tuple[list[Entry], list[Entry], list[str]]:
        """Split the journal's files into original, new and neither."""
        orig, new, odd = [], [], []
        for e in self.entries():
            path = self.tree / e.file
            digest = sha256(path.read_bytes()) if path.exists() else ''
            if digest == e.after:
                new.append(e)
            elif digest == e.before:
                orig.append(e)
            else:
                odd.append(e.file)
        return orig, new, odd

    def staged_intact(self, kind: str) -> bool:
        want = {f'{kind}/{e.file}': e.after if kind == 'new' else e.before
                for e in self.entries()}
        if kind == 'new':
            want.update((f'state/{name}', digest) for name, digest in
                        self.intent().get('state', {}).items())
        return all((self.dir / rel).exists() and
                   sha256((self.dir / rel).read_bytes()) == digest
                   for rel, digest in want.items())

    def recover(self) -> str | None:
        """Finish or undo an interrupted apply; say what was done."""
        if not self.leftover():
            return None
        if not self.pending():
            self._remove_tmp()
            shutil.rmtree(self.dir)
            return ('an earlier apply was interrupted before it wrote '
                    'anything: discarded its staged copies, tree unchanged')
        orig, new, odd = self.check()
        total = len(orig) + len(new) + len(odd)
        if odd:
            raise ToolError(
                f'an earlier apply was interrupted and {odd[0]} changed '
                f'since ({len(odd)} of {total} files are neither original '
                f'nor rewritten): the journal in {self.dir} was left as is; '
                f'restore them, then run apply again')
        if self.staged_intact('new'):
            self._forward()
            self._finish()
            return (f'an earlier apply was interrupted after {len(new)} of '
                    f'{total} files: completed it (all {total} written)')
        if self.staged_intact('orig'):
            self._backward()
            self._finish()
            return (f'an earlier apply was interrupted after {len(new)} of '
                    f'{total} files and its staged new contents are '
                    f'damaged: rolled it back (all {total} original)')
        raise ToolError(f'an earlier apply was interrupted and its journal '
                        f'in {self.dir} is damaged: nothing changed')


class Interrupted(BaseException):
    """SIGTERM during the replace stage, raised to roll back."""


@contextmanager
def rollback_on_interrupt(journal: Journal) -> Iterator[None]:
    """Turn SIGTERM into an exception; undo the writes on any exception."""
    def on_term(signum: int, frame: object) -> None:
        raise Interrupted()
    try:
        old = signal.signal(signal.SIGTERM, on_term)
    except ValueError:      # not the main thread
        old = None
    try:
        yield
    except BaseException as e:
        # Roll back with the signals ignored, then say so in one line.
        saved = {s: signal.signal(s, signal.SIG_IGN)
                 for s in (signal.SIGINT, signal.SIGTERM)} \
            if old is not None else {}
        try:
            journal._backward()
            journal._finish()
        finally:
            for s, h in saved.items():
                signal.signal(s, h)
        if isinstance(e, (Interrupted, KeyboardInterrupt)):
            what = 'SIGTERM' if isinstance(e, Interrupted) else 'SIGINT'
            raise ToolError(f'interrupted by {what} while writing: rolled '
                            f'back, tree unchanged') from None
        if isinstance(e, Exception):
            raise ToolError(f'writing failed ({e}): rolled back, tree '
                            f'unchanged') from None
        raise
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)

