"""A kernel tree: what it is, which version, where the candidate files are."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import gitcmd
from .errors import ToolError

IOMMU_H = 'include/linux/iommu.h'
IOMMU_C = 'drivers/iommu/iommu.c'
STATE_DIR = '.iommu-dma'

# A driver file can only matter if it initializes a struct iommu_ops or
# sets a .domain_alloc. grep finds every file naming either; the text scan
# in candidates() keeps those that initialize one in any formatting (line
# breaks, attributes) or set .domain_alloc, so nothing a grep can see is
# left out. parsecheck.py then stops the run on any of them spatch missed.
CANDIDATE_PATTERN = r'iommu_ops|\.domain_alloc'
# Most of the kernel's C is here: the scan splits it by subdirectory.
BIG_DIR = 'drivers'
OPS_INIT = re.compile(r'\bstruct\s+iommu_ops\s+(?:const\s+)?\w+'
                      r'(?:\s+__\w+(?:\([^()]*\))?)*\s*=\s*\{'
                      r'|\.domain_alloc\s*=')


@dataclass(frozen=True)
class KernelTree:
    path: Path

    @classmethod
    def open(cls, path: str | os.PathLike) -> 'KernelTree':
        root = Path(path)
        if not root.is_dir():
            raise ToolError(f'{path}: no such directory')
        for need in ('Makefile', IOMMU_H, 'drivers/iommu'):
            if not (root / need).exists():
                raise ToolError(f'{path}: not a kernel tree (no {need})')
        tree = cls(root.resolve())
        tree.version()
        return tree

    def _makefile_vars(self) -> dict[str, str]:
        text = (self.path / 'Makefile').read_text(errors='replace')
        found = {}
        for key in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL', 'EXTRAVERSION'):
            m = re.search(rf'^{key}\s*=[ \t]*(\S*)', text, re.M)
            found[key] = m.group(1) if m else ''
        return found

    def version(self) -> str:
        """Full version, as `make kernelversion` would print it."""
        v = self._makefile_vars()
        if not v['VERSION'] or not v['PATCHLEVEL']:
            raise ToolError(f'{self.path}/Makefile: no VERSION/PATCHLEVEL')
        return f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL'] or 0}" \
            f"{v['EXTRAVERSION']}"

    def series_name(self) -> str:
        """The name expected results are kept under: linux-6.1, ..."""
        v = self._makefile_vars()
        return f"linux-{v['VERSION']}.{v['PATCHLEVEL']}{v['EXTRAVERSION']}"

    def is_git(self) -> bool:
        return (self.path / '.git').exists()

    def read(self, rel: str) -> str:
        return (self.path / rel).read_text(errors='surrogateescape')

    def candidates(self, jobs: int = 2) -> list[str]:
        """Files that initialize a struct iommu_ops, relative to the tree;
        jobs: how many greps scan a tree that is not a git tree."""
        if self.is_git():
            # --untracked: a new driver not yet added is still a driver;
            # --no-exclude-standard: so is one .gitignore hides (Debian's
            # tree ignores /*, a repo made from it may too).
            out = gitcmd.grep(self.path, '--untracked',
                              '--no-exclude-standard', '-lzE',
                              CANDIDATE_PATTERN, '--', '*.c')
        else:
            out = '\0'.join(self.grep_candidates(jobs))
        files = {os.path.normpath(f) for f in out.split('\0') if f}
        return sorted(f for f in files
                      if not f.startswith(STATE_DIR + '/') and
                      not self.nested_tree(f) and
                      OPS_INIT.search(self.read(f)))

    def grep_candidates(self, jobs: int) -> list[str]:
        """*.c files matching CANDIDATE_PATTERN: `grep -r` over the tree
        in `jobs` processes side by side, the top-level entries and those
        of drivers/ dealt between them in turn (one grep over the whole
        tree takes 0.9 s on 6.1, two over half of it 0.5 s each). Like
        `grep -r .`, it does not follow symbolic links. surrogateescape: a
        file name that is not UTF-8 is a file."""
        entries = self.scan_entries()
        lanes = [entries[k::max(1, jobs)] for k in range(max(1, jobs))]
        procs = [subprocess.Popen(['grep', '-rlZE', '--include=*.c', '-e',
                                   CANDIDATE_PATTERN, '--', *lane],
                                  cwd=self.path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True,
                                  errors='surrogateescape')
                 for lane in lanes if lane]
        found = []
        for proc in procs:
            out, err = proc.communicate()
            if proc.returncode not in (0, 1):
                raise ToolError(f'grep failed on {self.path}: '
                                f'{err.strip()}')
            found += out.split('\0')
        return found

    def scan_entries(self) -> list[str]:
        """The tree's top-level directories and *.c files, drivers/ by its
        own entries, no symbolic link; sorted."""
        out = []
        for entry in os.scandir(self.path):
            if entry.is_symlink():
                continue
            if entry.name == BIG_DIR and entry.is_dir():
                out += [f'{BIG_DIR}/{e.name}' for e in os.scandir(entry.path)
                        if not e.is_symlink() and
                        (e.is_dir() or e.name.endswith('.c'))]
            elif entry.is_dir() or entry.name.endswith('.c'):
                out.append(entry.name)
        return sorted(out)

    def nested_tree(self, rel: str) -> bool:
        """rel lies in another kernel tree inside this one (the era
        fixtures under linux-fixtures/eras/): not part of this tree."""
        return any((self.path / parent / IOMMU_H).exists()
                   for parent in Path(rel).parents[:-1])    # not '.'

    def state_dir(self) -> Path:
        return self.path / STATE_DIR


def copy_files(src: Path, dst: Path, files: list[str]) -> None:
    """Copy the named files of src into dst, keeping their relative paths."""
    for rel in files:
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, target)


def kernel_cache() -> Path:
    """KCACHE: where Debian trees are unpacked (tools/linux-tree.sh), and
    pristine kernels and ccache kept, shared by every clone and O=."""
    env = os.environ.get('KCACHE')
    if env:
        return Path(env)
    xdg = os.environ.get('XDG_CACHE_HOME')
    return (Path(xdg) if xdg else Path.home() / '.cache') / 'iommu-dma'


def linked_copy(src: Path, dst: Path) -> None:
    """dst/ as `cp -al` of src/ without .git: hard links, cheap, and safe
    because this tool and kbuild replace files, never edit them in place.
    Not .git: git may repack (gc --auto) and delete loose objects while
    they are being linked, and nothing that reads the copy needs it."""
    dst.mkdir(parents=True)
    entries = [str(p) for p in src.iterdir() if p.name != '.git']
    if not entries:
        return
    res = subprocess.run(['cp', '-al', '--', *entries, str(dst)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        why = res.stderr.strip().splitlines()
        raise ToolError(f'cp -al {src} {dst} failed: '
                        f'{why[-1] if why else res.returncode}')
