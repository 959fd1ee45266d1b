"""Where a series is made: a run directory of its own, never the user's tree.

A run takes the first free slot <work root>/series/<tree>.<n>/ (n = 0, 1,
...; a lock held for the whole run marks a slot taken) with:
  tree/   a `cp -al` copy of the kernel (without its .git): hard links, so
          it costs seconds, not the 15 s and 1.5 GB of a checkout. Files
          are replaced, never edited in place, so the user's files never
          change. A throw-away git repository in it holds the pristine
          contents of the files the series touches as its base commit, and
          the series on top: `git format-patch` only needs those files, and
          their blob ids are the real ones.
  build/  the build checker's output, reused by every step of the run and
          by the next run in the slot: the copy has the same path every
          time, so kbuild and the checker's kept results find every object
          they made (a re-rolled series builds only what changed).
  logs/   per-step logs; kept (moved to series/logs/) if the run fails.
tree/, logs/ and stage/ go when the run ends. A run killed with SIGKILL
leaves them in an unlocked slot; the next run in that slot removes them
and says so, and removes build/ too: only a run that ended (done, failed
or refused, not killed or interrupted) marks it reusable. Nothing is ever
registered in the user's repository: no worktree, no branch.

For a git tree the series is based on HEAD. The files it touches (and every
candidate driver) must match HEAD, else the series would not apply to the
base it names: such a tree is refused, or with FORCE=1 the working-tree
contents are used and the cover letter says so.
"""

from __future__ import annotations

import fcntl
import itertools
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import gitcmd
from ..errors import ToolError
from ..tree import STATE_DIR, KernelTree, linked_copy


@dataclass
class RunDir:
    root: Path                  # <work root>/series
    path: Path                  # the slot
    lock: IO[str]
    removed: list[str] = field(default_factory=list)   # stale runs
    tree: Path = field(init=False)
    build: Path = field(init=False)
    logs: Path = field(init=False)
    stage: Path = field(init=False)
    reusable: Path = field(init=False)  # while build/ has no half-made object

    def __post_init__(self) -> None:
        self.tree, self.build, self.logs, self.stage, self.reusable = (
            self.path / name for name in ('tree', 'build', 'logs', 'stage',
                                          'build.reusable'))

    @classmethod
    def create(cls, root: Path, name: str) -> 'RunDir':
        root.mkdir(parents=True, exist_ok=True)
        for n in itertools.count():
            path = root / f'{name}.{n}'
            path.mkdir(exist_ok=True)
            lock = open(path / '.lock', 'a')
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()            # a live run has this slot
                continue
            run = cls(root, path, lock)
            run.clear_stale()
            run.reusable.unlink(missing_ok=True)
            run.logs.mkdir()
            run.build.mkdir(exist_ok=True)
            return run
        raise AssertionError('unreachable')

    def clear_stale(self) -> None:
        """What a killed run left in this slot."""
        left = [d for d in (self.tree, self.logs, self.stage) if d.exists()]
        for d in left:
            shutil.rmtree(d)
        if left:
            self.removed.append(str(self.tree.relative_to(self.root)))
        if not self.reusable.exists() and self.build.exists():
            shutil.rmtree(self.build)

    def close(self, failed: bool, reusable: bool = True) -> Path | None:
        """End the run; a failed run's logs move to series/logs/."""
        kept = None
        try:
            if failed and self.logs.is_dir() and any(self.logs.iterdir()):
                kept = self.root / 'logs' / \
                    f'{self.path.name}-{time.strftime("%Y%m%d-%H%M%S")}'
                kept.parent.mkdir(exist_ok=True)
                shutil.rmtree(kept, ignore_errors=True)
                self.logs.rename(kept)
            for d in (self.tree, self.logs, self.stage):
                shutil.rmtree(d, ignore_errors=True)
            for f in self.path.iterdir():
                if f.is_file() and f.name not in ('.lock', 'build.reusable'):
                    f.unlink()
            if reusable:
                self.reusable.touch()
            else:
                shutil.rmtree(self.build, ignore_errors=True)
        finally:
            self.lock.close()
        return kept


@dataclass
class Base:
    """What the series applies to."""
    commit: str | None          # the user's HEAD for a git tree
    describe: str               # for the cover letter
    dirty: list[str]            # FORCE=1: uncommitted files used


def head_blobs(repo: Path, files: list[str]) -> dict[str, str]:
    out = gitcmd.run(repo, 'ls-tree', '-r', '-z', 'HEAD', '--', *files)
    # '<mode> blob <id>\t<path>' entries
    return {path: meta.split()[2] for meta, path in
            (entry.split('\t', 1) for entry in out.split('\0') if entry)}


def uncommitted(kernel: KernelTree, files: list[str]) -> list[str]:
    """Files whose working-tree contents are not those of HEAD (read-only:
    no index refresh)."""
    present = [f for f in files if (kernel.path / f).is_file()]
    if not present:
        return []
    blobs = head_blobs(kernel.path, present)
    hashes = gitcmd.run(kernel.path, 'hash-object', '--stdin-paths',
                        stdin='\n'.join(present) + '\n').split()
    return sorted(f for f, h in zip(present, hashes) if blobs.get(f) != h)


def git_base(kernel: KernelTree, files: list[str], force: bool) -> Base:
    top = gitcmd.run(kernel.path, 'rev-parse', '--show-toplevel').strip()
    if Path(top).resolve() != kernel.path:
        raise ToolError(f'{kernel.path}: inside the git tree {top}; give '
                        f'the top of the tree')
    head = gitcmd.run(kernel.path, 'rev-parse', '--verify', '-q', 'HEAD',
                      check=False).strip()
    if not head:
        raise ToolError(f'{kernel.path}: a git tree without a commit; '
                        f'commit the tree first')
    dirty = uncommitted(kernel, files)
    if dirty and not force:
        which = f'{dirty[0]} differs' if len(dirty) == 1 else \
            f'{dirty[0]} and {len(dirty) - 1} more differ'
        raise ToolError(f'{kernel.path}: {which} from HEAD; commit or stash '
                        f'them, or FORCE=1 to make the series from the '
                        f'working tree')
    describe = gitcmd.run(kernel.path, 'describe', '--tags', '--always',
                          head, check=False).strip()
    return Base(head, f'{head} ({describe or "no tag"})', dirty)


def tarball_base(kernel: KernelTree) -> Base:
    """A tree without git: Debian's package and version when known."""
    origin = kernel.path.parent / f'{kernel.path.name}.origin'
    pkg = (origin.read_text().strip() if origin.is_file() else '') or \
        debian_package(kernel.path)
    what = f'Debian {pkg}, ' if pkg else ''
    return Base(None, f'{what}Linux {kernel.version()}, a tree without git '
                      f'history ({kernel.path}); no base-commit', [])


def debian_package(path: Path) -> str:
    """'linux-source-6.1 6.1.158-1' for a tree dpkg installed."""
    name = path.name
    if not name.startswith('linux-source-'):
        return ''
    res = subprocess.run(['dpkg-query', '-W', '-f=${Version}', name],
                         capture_output=True, text=True)
    return f'{name} {res.stdout.strip()}' if res.returncode == 0 and \
        res.stdout.strip() else ''


def copy_tree(kernel: KernelTree, dst: Path) -> None:
    """cp -al of the tree without .git, nor a state dir left by apply."""
    if (kernel.path / STATE_DIR).exists():
        raise ToolError(f'{kernel.path}: has {STATE_DIR}/: it was rewritten '
                        f'by apply; a series needs the pristine tree')
    linked_copy(kernel.path, dst)

