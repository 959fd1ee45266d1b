"""What the core of a tree does, read from its text: the facts the rewrite
rests on, never a version number.

The rewrite hands drivers IOMMU_DOMAIN_UNMANAGED where the core asked for a
DMA API domain, and lets the core make that domain a DMA one. That is only
right where

  cookie   the core allocates the IOVA cookie of a DMA API domain
           (iommu.c calls iommu_get_dma_cookie(), v5.15 on). Before v5.15
           each driver's .domain_alloc did it under `type ==
           IOMMU_DOMAIN_DMA`: handed UNMANAGED, it would allocate none and
           every DMA mapping would fault. Such a core is refused at once.
  dma_fq   IOMMU_DOMAIN_DMA_FQ exists and reaches drivers (iommu.h defines
           it and iommu.c does not mask it with IOMMU_DOMAIN_ALLOC_FLAGS,
           v5.15-v6.4): drivers then declare .allow_dma_fq as well.

Where the driver is called is found by the core rule of that shape.
These are read with regular expressions over comment-free text: they are
markers of a whole file, not of a statement, and take milliseconds, so a
tree the tool cannot rewrite is refused before any rule runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ToolError
from .parsecheck import strip_comments
from .tree import IOMMU_C, IOMMU_H, KernelTree

SUPPORTED = ('v5.15 to v6.15 cores (the core allocates the IOVA cookie), '
             'and v6.16 on (nothing to rewrite)')

COOKIE_CALL = re.compile(r'\biommu_get_dma_cookie\s*\(')
# `int iommu_get_dma_cookie(struct iommu_domain *domain)` and its
# prototype: not a call.
COOKIE_DECL = re.compile(r'\bint\s+iommu_get_dma_cookie\s*\(')
DMA_FQ_DEFINE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+IOMMU_DOMAIN_DMA_FQ\b',
                           re.M)
# DMA_FQ kept from drivers: masked at the call or on the way to it
# (v6.5-v6.15), or the driver only ever asked for UNMANAGED (v6.16 on).
MASKED_CALL = re.compile(r'->\s*domain_alloc\s*\([^;]*IOMMU_DOMAIN_ALLOC_FLAGS'
                         r'|=\s*\w+\s*&\s*IOMMU_DOMAIN_ALLOC_FLAGS'
                         r'|->\s*domain_alloc\s*\(\s*IOMMU_DOMAIN_UNMANAGED\s*\)')
COOKIE_GUARD = re.compile(r'!\s*\w+\s*->\s*iova_cookie\s*&&\s*'
                          r'iommu_get_dma_cookie\s*\(')


@dataclass(frozen=True)
class Era:
    cookie: str             # core, drivers or none
    dma_fq: bool            # IOMMU_DOMAIN_DMA_FQ reaches drivers
    cookie_drivers: tuple[str, ...] = ()    # drivers calling the cookie
    # The core leaves a cookie a driver already got alone (the v5.15
    # transitional `!domain->iova_cookie &&`): a driver's own call then
    # succeeds, and its domains work before and after the rewrite.
    cookie_guard: bool = False


def cookie_calls(text: str) -> int:
    """Calls of iommu_get_dma_cookie() in text, its definition not one."""
    return len(COOKIE_CALL.findall(text)) - len(COOKIE_DECL.findall(text))


def cookie_drivers(tree: KernelTree) -> tuple[str, ...]:
    """Files under drivers/iommu/ other than the core that call
    iommu_get_dma_cookie()."""
    out = []
    for path in sorted((tree.path / 'drivers/iommu').rglob('*.c')):
        rel = str(path.relative_to(tree.path))
        if rel in (IOMMU_C, 'drivers/iommu/dma-iommu.c'):
            continue
        text = path.read_text(errors='replace')
        if 'iommu_get_dma_cookie' in text and \
                cookie_calls(strip_comments(text)) > 0:
            out.append(rel)
    return tuple(out)


def read(tree: KernelTree) -> Era:
    core = strip_comments(tree.read(IOMMU_C)) \
        if (tree.path / IOMMU_C).exists() else ''
    header = strip_comments(tree.read(IOMMU_H))
    in_drivers = cookie_drivers(tree)
    cookie = 'core' if cookie_calls(core) > 0 else \
        'drivers' if in_drivers else 'none'
    dma_fq = bool(DMA_FQ_DEFINE.search(header)) and \
        not MASKED_CALL.search(core)
    return Era(cookie, dma_fq, in_drivers, bool(COOKIE_GUARD.search(core)))


def check(era: Era) -> None:
    """Refuse a core whose drivers allocate their own IOVA cookies."""
    if era.cookie == 'core':
        return
    if era.cookie == 'drivers':
        some = ', '.join(era.cookie_drivers[:3])
        more = f' and {len(era.cookie_drivers) - 3} more' \
            if len(era.cookie_drivers) > 3 else ''
        verb = 'calls' if len(era.cookie_drivers) == 1 else 'call'
        why = f'drivers allocate the IOVA cookie themselves ({some}{more} ' \
            f'{verb} iommu_get_dma_cookie()), so a driver handed ' \
            f'IOMMU_DOMAIN_UNMANAGED would set up DMA domains without one'
    else:
        why = 'nothing in the tree allocates an IOVA cookie ' \
            '(no iommu_get_dma_cookie() call)'
    raise ToolError(f'{IOMMU_C}: a pre-v5.15 core: {why}; supported: '
                    f'{SUPPORTED}; nothing written')
