"""What the semantic patches cannot lay out the way a maintainer would.

Coccinelle cannot edit comments, and prints an added initializer as
`.field = value,` whatever its neighbours do. After the fields rule, the
new members get their kernel-doc entries in struct iommu_ops' comment,
after the entry of the member they follow (scripts/kernel-doc warns
otherwise); after the flags rule, an added `.use_dma_iommu = true,` is
aligned like the initializers around it. Both only ever touch the lines
the rules added, and are idempotent.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

NEW_FIELDS = ('use_dma_iommu', 'allow_dma_fq')
FIELD_DOC = {
    'use_dma_iommu': "the driver's domains can back the DMA API "
                     "(dma-iommu.c)",
    'allow_dma_fq': 'dma-iommu.c may use a flush queue with the '
                    "driver's domains",
}
STRUCT = re.compile(r'^struct iommu_ops \{\n(?P<body>.*?)^\};', re.M | re.S)
MEMBER = re.compile(r'(\w+)\s*(?:\)\s*\(.*\))?\s*(?::\s*\d+)?\s*;\s*$')


def document_fields(text: str) -> str:
    """Kernel-doc entries for the new struct iommu_ops members."""
    m = STRUCT.search(text)
    if not m:
        return text
    doc_start = text.rfind('/**', 0, m.start())
    doc_end = text.find('*/', doc_start) if doc_start >= 0 else -1
    if doc_start < 0 or doc_end < 0 or doc_end > m.start() or \
            '* struct iommu_ops -' not in text[doc_start:doc_end]:
        return text
    doc = text[doc_start:doc_end]
    lines = m.group('body').splitlines()
    for name in NEW_FIELDS:
        at = next((i for i, ln in enumerate(lines)
                   if re.match(rf'\s*u8 {name}\s*:\s*1;', ln)), None)
        if at is None or f'@{name}:' in doc:
            continue
        prev = next((MEMBER.search(ln).group(1) for ln in
                     reversed(lines[:at]) if MEMBER.search(ln)), None)
        doc = insert_entry(doc, prev, f' * @{name}: {FIELD_DOC[name]}\n')
    return text[:doc_start] + doc + text[doc_end:]


def insert_entry(doc: str, after: str | None, entry: str) -> str:
    """entry after @after's lines (continuations included), else last."""
    lines = doc.splitlines(keepends=True)
    at = None
    for i, ln in enumerate(lines):
        if after and re.match(rf' \* @{after}:', ln):
            at = i + 1
            while at < len(lines) and not re.match(r' \* @\w+:', lines[at]) \
                    and lines[at].strip() not in ('*', ''):
                at += 1
            break
    if at is None:
        at = len(lines)          # the comment's last line: before */
        while at > 0 and lines[at - 1].strip() in ('*', ''):
            at -= 1
    return ''.join(lines[:at]) + entry + ''.join(lines[at:])


ADDED = re.compile(r'^(\t+)\.(' + '|'.join(NEW_FIELDS) +
                   r') = (true|false),$')
SIBLING = re.compile(r'^(\t+)\.(\w+)([ \t]+)=')


def align_flags(text: str) -> str:
    """Pad the added flag initializers like their neighbours."""
    lines = text.split('\n')
    for i, line in enumerate(lines):
        m = ADDED.match(line)
        if not m:
            continue
        start, end = i, i
        while start > 0 and not lines[start - 1].rstrip().endswith('{'):
            start -= 1
        while end < len(lines) - 1 and not lines[end + 1].startswith(
                m.group(1)[:-1] + '}'):
            end += 1
        lines[i] = aligned(line, m, lines[start:end + 1])
    return '\n'.join(lines)


def aligned(line: str, m: re.Match, block: list[str]) -> str:
    cols: Counter[int] = Counter()
    tabs = False
    plain = 0
    for ln in block:
        s = SIBLING.match(ln)
        if not s or s.group(1) != m.group(1) or ADDED.match(ln):
            continue
        if s.group(3) == ' ':
            plain += 1
            continue
        cols[len(ln[:s.end() - 1].expandtabs())] += 1
        tabs = tabs or '\t' in s.group(3)
    if sum(cols.values()) <= plain:     # mostly `.x = y`: keep that
        return line
    target = cols.most_common(1)[0][0]
    name = f'{m.group(1)}.{m.group(2)}'
    col = len(name.expandtabs())
    if col >= target:
        return line
    # tabs: each one to the next multiple of 8, until target is reached
    pad = '\t' * (-(-target // 8) - col // 8) if tabs else \
        ' ' * (target - col)
    return f'{name}{pad}= {m.group(3)},'


def tidy(cocci: str, root: Path, files: list[str]) -> None:
    """After the rule cocci ran on files under root."""
    fix = {'iommu_ops_fields': document_fields,
           'iommu_ops_dma_flags': align_flags}.get(cocci)
    if not fix:
        return
    for rel in files:
        path = root / rel
        text = path.read_text(errors='surrogateescape')
        new = fix(text)
        if new != text:
            path.write_text(new, errors='surrogateescape')
