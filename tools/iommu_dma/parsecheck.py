"""Refuse a rewrite when spatch could not parse a driver it must see.

spatch skips any function it cannot parse without an error, and a skipped
domain_alloc or ops initializer would be a driver silently left out of the
rewrite. The candidate files are scanned as text for struct iommu_ops
initializers and the .domain_alloc functions they name and define; the
semantic patch iommu_ops_parsed names those spatch parsed. Any difference
is refused, naming every one.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ToolError
from .spatch import SemanticPatch, run

COCCI = Path(__file__).resolve().parents[2] / 'cocci' / \
    'iommu_ops_parsed.cocci'

COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
# `struct iommu_ops name [attributes] = {`
OPS = re.compile(r'\bstruct\s+iommu_ops\s+(\w+)(?:\s+__\w+)*\s*=\s*\{')
ALLOC = re.compile(r'\.domain_alloc\s*=\s*(\w+)')


def strip_comments(text: str) -> str:
    return COMMENT.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)


def initializer(text: str, start: int) -> str:
    """The braced initializer opening at text[start - 1] == '{'."""
    depth = 1
    i = start
    while i < len(text) and depth:
        depth += {'{': 1, '}': -1}.get(text[i], 0)
        i += 1
    return text[start:i]


def expected(text: str) -> tuple[set[str], set[str]]:
    """Ops initializers, and the .domain_alloc functions they name that
    this file defines."""
    text = strip_comments(text)
    ops, allocs = set(), set()
    for m in OPS.finditer(text):
        ops.add(m.group(1))
        for a in ALLOC.finditer(initializer(text, m.end())):
            fn = a.group(1)
            if fn != 'NULL' and re.search(
                    rf'\b{fn}\s*\([^;{{}}]*\)\s*\{{', text):
                allocs.add(fn)
    return ops, allocs


def unparsed(root: Path, files: list[str], jobs: int = 1) -> list[str]:
    """'file: what' for every initializer or function spatch missed."""
    want = {f: expected((root / f).read_text(errors='surrogateescape'))
            for f in files}
    if not any(o or a for o, a in want.values()):
        return []
    events = run(SemanticPatch(COCCI), root, files, ['report'], jobs)
    got_ops = {(e['file'], e['ops']) for e in events
               if e['event'] == 'ops-parsed'}
    got_allocs = {(e['file'], e['function']) for e in events
                  if e['event'] == 'alloc-parsed'}
    missed = []
    for f in files:
        ops, allocs = want[f]
        missed += [f'{f}: struct iommu_ops {o}' for o in sorted(ops)
                   if (f, o) not in got_ops]
        missed += [f'{f}: {a}()' for a in sorted(allocs)
                   if (f, a) not in got_allocs]
    return missed


def check_parsed(root: Path, files: list[str], jobs: int = 1) -> None:
    missed = unparsed(root, files, jobs)
    if missed:
        raise ToolError(f'spatch could not parse {len(missed)} of the '
                        f'places the rewrite must see: {"; ".join(missed)}; '
                        f'nothing written')
