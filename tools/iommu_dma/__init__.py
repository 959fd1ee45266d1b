"""iommu-dma: regenerate "iommu: Remove IOMMU_DOMAIN_DMA from drivers"."""

import functools
import hashlib
from pathlib import Path

PROG = 'iommu-dma'
VERSION = '1.1'


@functools.lru_cache(maxsize=1)
def version() -> str:
    """The tool and its rules: a record names what wrote it, and the same
    version with other rules is another tool."""
    h = hashlib.sha256()
    for path in sorted((Path(__file__).resolve().parents[2] / 'cocci')
                       .glob('*.cocci')):
        h.update(path.name.encode() + b'\0' + path.read_bytes())
    return f'{PROG} {VERSION} (rules {h.hexdigest()[:12]})'
