"""Where a series is made: a run directory of its own, never the user's tree.

Every run gets <work root>/series/<tree>-<time>-<pid>/ with:
  tree/   a `cp -al` copy of the kernel (without its .git): hard links, so
          it costs seconds, not the 15 s and 1.5 GB of a checkout. Files
          are replaced, never edited in place, so the user's files never
          change. A throw-away git repository in it holds the pristine
          contents of the files the series touches as its base commit, and
          the series on top: `git format-patch` only needs those files, and
          their blob ids are the real ones.
  build/  the build checker's output, reused by every step of the run.
  logs/   per-step logs; kept (moved to series/logs/) if the run fails.
A lock held for the whole run marks it alive. A run killed with SIGKILL
leaves its directory unlocked; the next run removes it and says so. Nothing
is ever registered in the user's repository: no worktree, no branch.

For a git tree the series is based on HEAD. The files it touches (and every
candidate driver) must match HEAD, else the series would not apply to the
base it names: such a tree is refused, or with FORCE=1 the working-tree
contents are used and the cover letter says so.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import gitcmd
from ..errors import ToolError
from ..tree import STATE_DIR, KernelTree


@dataclass
class RunDir:
    root: Path                  # <work root>/series
    path: Path
    lock: IO[str]
    removed: list[str] = field(default_factory=list)   # stale runs

    @property
    def tree(self) -> Path:
        return self.path / 'tree'

    @property
    def build(self) -> Path:
        return self.path / 'build'

    @property
    def logs(self) -> Path:
        return self.path / 'logs'

    @property
    def stage(self) -> Path:
        return self.path / 'stage'

    @classmethod
    def create(cls, root: Path, name: str) -> 'RunDir':
        root.mkdir(parents=True, exist_ok=True)
        removed = remove_stale(root)
        path = root / f'{name}-{time.strftime("%Y%m%d-%H%M%S")}-{os.getpid()}'
        path.mkdir()
        lock = open(path / '.lock', 'w')
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = cls(root, path, lock, removed)
        run.logs.mkdir()
        run.build.mkdir()
        return run

    def close(self, failed: bool) -> Path | None:
        """Remove the run; a failed run's logs move to series/logs/."""
        kept = None
        try:
            if failed and self.logs.is_dir() and any(self.logs.iterdir()):
                kept = self.root / 'logs' / self.path.name
                kept.parent.mkdir(exist_ok=True)
                shutil.rmtree(kept, ignore_errors=True)
                self.logs.rename(kept)
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            self.lock.close()
        return kept


RUN_NAME = re.compile(r'.+-\d{8}-\d{6}-\d+$')


def remove_stale(root: Path) -> list[str]:
    """Run directories whose lock nobody holds: killed runs."""
    removed = []
    for path in sorted(root.iterdir()):
        if not path.is_dir() or not RUN_NAME.match(path.name):
            continue
        try:
            with open(path / '.lock', 'a') as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        except BlockingIOError:
            continue        # a live run
        except FileNotFoundError:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


@dataclass
class Base:
    """What the series applies to."""
    commit: str | None          # the user's HEAD for a git tree
    describe: str               # for the cover letter
    dirty: list[str]            # FORCE=1: uncommitted files used


def head_blobs(repo: Path, files: list[str]) -> dict[str, str]:
    out = gitcmd.run(repo, 'ls-tree', '-r', '-z', 'HEAD', '--', *files)
    blobs = {}
    for entry in out.split('\0'):
        if entry:
            meta, path = entry.split('\t', 1)
            blobs[path] = meta.split()[2]
    return blobs


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
    pkg = origin.read_text().strip() if origin.is_file() else ''
    if not pkg:
        pkg = debian_package(kernel.path)
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
    dst.mkdir()
    entries = [str(p) for p in kernel.path.iterdir() if p.name != '.git']
    if not entries:
        return
    res = subprocess.run(['cp', '-al', '--', *entries, str(dst)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise ToolError(f'cp -al {kernel.path} {dst} failed: '
                        f'{res.stderr.strip().splitlines()[-1]}')

