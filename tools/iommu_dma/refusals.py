"""The reasons apply refuses a tree, checked before anything is written.

Each refusal is one ToolError line that names the first offending file and
how many there are; the tree is left untouched. KERNEL missing or not a
kernel tree is refused by KernelTree.open(), a missing or too old spatch by
check_spatch(), both before any of these.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import gitcmd
from .errors import ToolError
from .events import Event
from .journal import Journal
from .tree import IOMMU_C, IOMMU_H, KernelTree

# An ops initializer or a legacy-binding assignment the rewrite has added.
REWRITTEN = re.compile(r'\.\s*(?:use_dma_iommu|allow_dma_fq)\s*=')
# Events that mean a driver still compares its type with a DMA type.
PENDING = ('gate', 'flag', 'legacy-binding')


def writable(path: Path) -> bool:
    """Writable by mode bits and by access(2): root ignores the bits."""
    st = path.stat()
    return bool(st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) \
        and os.access(path, os.W_OK)


def check_root(tree: KernelTree) -> None:
    """The tree's top directory must take the state directory."""
    if not writable(tree.path):
        raise ToolError(f'{tree.path}: read-only directory: cannot keep '
                        f'the journal and record there; nothing written')


@contextmanager
def locked(tree: KernelTree) -> Iterator[None]:
    """One apply at a time per tree (a lock on the tree's directory)."""
    fd = os.open(tree.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ToolError(f'{tree.path}: another apply is running on '
                            f'this tree') from None
        yield
    finally:
        os.close(fd)


def no_pending_journal(tree: KernelTree) -> None:
    """diff and friends read the tree: refuse one an apply left midway."""
    if Journal(tree.path, tree.state_dir()).pending():
        raise ToolError(f'{tree.path}: an earlier apply was interrupted; '
                        f'run apply to complete it first')


def read_only(tree: KernelTree, files: list[str]) -> list[str]:
    bad = [rel for rel in files if not writable(tree.path / rel) or
           not writable((tree.path / rel).parent)]
    state = tree.state_dir()
    if state.exists() and not writable(state):
        bad.append(state.name)
    return bad


def uncommitted(tree: KernelTree, files: list[str]) -> list[str]:
    """Files of a git tree that differ from HEAD or are not tracked."""
    if not tree.is_git() or not files:
        return []
    out = gitcmd.run(tree.path, 'status', '--porcelain', '--ignored',
                     '--untracked-files=all', '--', *files)
    return sorted({line[3:] for line in out.splitlines() if line})


def partly_rewritten(tree: KernelTree, candidates: list[str],
                     changes: list[Event]) -> tuple[list[str], list[str]]:
    """Drivers already rewritten, and drivers the rewrite would change."""
    core = (IOMMU_C, IOMMU_H)
    done = [f for f in candidates
            if f not in core and REWRITTEN.search(tree.read(f))]
    pending = sorted({e.file for e in changes
                      if e.KIND in PENDING and e.file not in core})
    return done, pending


def before_write(tree: KernelTree, candidates: list[str], files: list[str],
                 changes: list[Event], force: bool = False) -> None:
    """Refuse to write files into tree (whose candidate files were
    scanned as candidates); see the module doc."""
    done, pending = partly_rewritten(tree, candidates, changes)
    if done and pending:
        raise ToolError(
            f'partly rewritten tree: already rewritten: {", ".join(done)}; '
            f'still comparing IOMMU_DOMAIN_DMA: {", ".join(pending)}; '
            f'restore the originals (.iommu-dma/orig/) or finish by hand; '
            f'nothing written')
    bad = read_only(tree, files)
    if bad:
        raise ToolError(f'read-only: {", ".join(bad)}: make them writable; '
                        f'nothing written')
    if not force:
        dirty = uncommitted(tree, files)
        if dirty:
            raise ToolError(
                f'uncommitted changes in files to rewrite: '
                f'{", ".join(dirty)}: commit or stash them, or use '
                f'FORCE=1 (--force); nothing written')
