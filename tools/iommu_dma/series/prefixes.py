"""Subject prefixes: what the file's own git history uses, else a table."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from pathlib import Path

from .. import gitcmd
from ..errors import ToolError
from ..tree import KernelTree

TABLE = Path(__file__).resolve().parents[1] / 'prefixes.txt'
PREFIX_RE = re.compile(r'((?:[\w.+/-]+: )*[\w.+/-]+): \S')


def load_table(path: Path) -> list[tuple[str, str]]:
    """'<path glob> <prefix>' lines; {name} is the file's stem."""
    if not path.is_file():
        raise ToolError(f'{path}: no such prefix table')
    table = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ToolError(f'{path}:{n}: expected "<path glob> <prefix>"')
        table.append((parts[0], parts[1]))
    return table


def table_prefix(rel: str, table: list[tuple[str, str]]) -> str | None:
    name = re.sub(r'[-_]iommu$', '', Path(rel).stem)
    for glob, prefix in table:
        if fnmatch.fnmatchcase(rel, glob):
            return prefix.replace('{name}', name)
    return None


def history_prefix(kernel: KernelTree, rel: str) -> str | None:
    """The prefix most used by the last 50 commits touching rel."""
    if not kernel.is_git() or \
            not gitcmd.ok(kernel.path, 'rev-parse', '--verify', '-q', 'HEAD'):
        return None
    log = gitcmd.run(kernel.path, 'log', '--no-merges', '-n', '50',
                     '--format=%s', 'HEAD', '--', rel, check=False)
    seen = Counter(m.group(1) for subject in log.splitlines()
                   if (m := PREFIX_RE.match(subject)))
    return seen.most_common(1)[0][0] if seen else None


class Prefixes:
    """prefix(rel) -> 'iommu/vt-d': git history first, else the table."""

    def __init__(self, kernel: KernelTree, table: list[tuple[str, str]]):
        self.kernel = kernel
        self.table = table

    def __call__(self, rel: str) -> str:
        found = history_prefix(self.kernel, rel) or \
            table_prefix(rel, self.table)
        if not found:
            raise ToolError(f'{rel}: no subject prefix (no git history and '
                            f'no line of the prefix table matches it)')
        return found
