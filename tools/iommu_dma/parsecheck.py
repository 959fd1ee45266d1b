"""Refuse a rewrite when spatch could not parse a driver it must see.

spatch skips any function it cannot parse without an error, and a skipped
domain_alloc or ops initializer would be a driver silently left out of the
rewrite. The candidate files are scanned as text for struct iommu_ops
initializers and the .domain_alloc functions they name and define; the
semantic patch iommu_ops_parsed names those spatch parsed. Any difference
is refused, naming every one, beside every other refusal of the run.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import ToolError
from .events import AllocParsed, Event, OpsParsed

RULE = 'iommu_ops_parsed'      # what spatch parsed (rewrite.READ)

COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
# `struct iommu_ops name [attributes] = {`
OPS = re.compile(r'\bstruct\s+iommu_ops\s+(?:const\s+)?(\w+)'
                 r'(?:\s+__\w+(?:\([^()]*\))?)*\s*=\s*\{')
ALLOC = re.compile(r'\.domain_alloc\s*=\s*([^,}]+?)\s*[,}]')
ANY_ALLOC = re.compile(r'\.domain_alloc\s*=')


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


def expected(text: str) -> tuple[set[str], set[str], list[str]]:
    """Ops initializers, the .domain_alloc functions they name that this
    file defines, and what the scan sees but cannot follow: a .domain_alloc
    outside a recognised initializer (built by a macro) or naming no plain
    function (a macro), or an allocator named here but defined elsewhere."""
    text = strip_comments(text)
    ops, allocs, odd = set(), set(), []
    spans = []
    for m in OPS.finditer(text):
        ops.add(m.group(1))
        body = initializer(text, m.end())
        spans.append((m.end(), m.end() + len(body)))
        for a in ALLOC.finditer(body):
            fn = a.group(1)
            if fn == 'NULL':
                continue
            if not re.fullmatch(r'\w+', fn):
                odd.append(f'{m.group(1)}: .domain_alloc = {fn}: not a '
                           f'function name')
            elif re.search(rf'\b{fn}\s*\([^;{{}}]*\)\s*\{{', text):
                allocs.add(fn)
            else:
                odd.append(f'{m.group(1)}: .domain_alloc = {fn}: no such '
                           f'function defined in this file')
    for a in ANY_ALLOC.finditer(text):
        if not any(start <= a.start() < end for start, end in spans):
            line = text.count('\n', 0, a.start()) + 1
            odd.append(f'line {line}: .domain_alloc set outside a struct '
                       f'iommu_ops initializer')
    return ops, allocs, odd


def unparsed(root: Path, files: list[str], events: list[Event]
             ) -> list[str]:
    """'file: what' for every initializer or function of files (under
    root) that RULE's events do not name: spatch missed it."""
    want = {f: expected((root / f).read_text(errors='surrogateescape'))
            for f in files}
    missed = [f'{f}: {what}' for f in files for what in want[f][2]]
    got_ops = {(e.file, e.ops) for e in events if isinstance(e, OpsParsed)}
    got_allocs = {(e.file, e.function) for e in events
                  if isinstance(e, AllocParsed)}
    for f in files:
        ops, allocs, _ = want[f]
        missed += [f'{f}: struct iommu_ops {o}: spatch did not parse it'
                   for o in sorted(ops) if (f, o) not in got_ops]
        missed += [f'{f}: {a}(): spatch did not parse it'
                   for a in sorted(allocs) if (f, a) not in got_allocs]
    return missed


def refusal(missed: list[str]) -> ToolError:
    """What a read-only command says of places out of the rules' reach;
    apply and diff name them among every refusal (report.refuse)."""
    return ToolError(f'{len(missed)} place{"s" if len(missed) > 1 else ""} '
                     f'the rewrite must see {"are" if len(missed) > 1 else "is"}'
                     f' out of its reach: {"; ".join(missed)}; '
                     f'nothing written')
