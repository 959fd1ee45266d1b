"""Cores where upstream already keeps IOMMU_DOMAIN_DMA out of drivers.

From v6.16 (Debian's 7.2 and 7.3) the core allocates every paging domain,
DMA API ones included, through ops->domain_alloc_paging() or
domain_alloc_paging_flags() and sets the domain type itself; the legacy
ops->domain_alloc() is called only with IOMMU_DOMAIN_UNMANAGED (for
FSL_PAMU); flush queues are chosen per domain by dma-iommu.c's
iommu_domain_supports_fq() (IOMMU_CAP_DEFERRED_FLUSH, or the generic page
table). Such a core is recognised from iommu.c itself, not from a version
number, and the tool rewrites nothing there: it says so, and maps for each
struct iommu_ops what the seed's two flags became upstream.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import jsonout
from .events import Finding
from .parsecheck import OPS, initializer, strip_comments
from .tree import IOMMU_C, KernelTree

SHAPE = 'upstream-paging'
STATEMENT = (
    'nothing to rewrite: upstream already keeps IOMMU_DOMAIN_DMA out of '
    'drivers\' domain allocation. {fn}() allocates DMA API domains through '
    'domain_alloc_paging()/domain_alloc_paging_flags() and sets their type '
    'in the core; a legacy .domain_alloc is only ever asked for '
    'IOMMU_DOMAIN_UNMANAGED; flush queues are chosen per domain by '
    'iommu_domain_supports_fq(). use_dma_iommu became "has a paging '
    'allocator and no static default domain", allow_dma_fq became '
    'IOMMU_CAP_DEFERRED_FLUSH or the generic page table (make report).')

CALL = re.compile(r'->\s*domain_alloc\s*\(([^()]*)\)')
FIELD = re.compile(r'\.(\w+)\s*=\s*([^,}]+?)\s*(?:,|$|\})', re.M)
MACRO_CALL = re.compile(r'^\s*([A-Z][A-Z0-9_]*)\s*\(\s*\)\s*,?\s*$', re.M)


def paging_function(tree: KernelTree) -> str | None:
    """The core function of an upstream-paging iommu.c, else None.

    The core must call ops->domain_alloc_paging, and every call of the
    legacy ops->domain_alloc() must pass IOMMU_DOMAIN_UNMANAGED.
    """
    if not (tree.path / IOMMU_C).exists():
        return None
    text = strip_comments(tree.read(IOMMU_C))
    if '->domain_alloc_paging' not in text or any(
            arg.strip() != 'IOMMU_DOMAIN_UNMANAGED'
            for arg in CALL.findall(text)):
        return None
    found = re.search(r'^(?:static\s+)?struct\s+iommu_domain\s*\*\s*\n?'
                      r'(\w+)\([^)]*\)\s*\{(?:[^{}]|\{[^{}]*\})*?'
                      r'->\s*domain_alloc_paging', text, re.M)
    return found.group(1) if found else 'the core'


@dataclass
class OpsMap:
    """One struct iommu_ops on an upstream-paging core."""
    file: str
    ops: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    deferred_flush: bool = False
    generic_pt: bool = False
    # The types its .def_domain_type() can return (a per-device choice of
    # the default domain, not an allocation): IDENTITY, DMA
    def_types: tuple[str, ...] = ()

    @property
    def hardware(self) -> bool:
        """iommufd's own ops (no-IOMMU VFIO, the selftest mock) translate
        no device's DMA: not counted among the drivers."""
        return not self.file.startswith(IOMMUFD_DIR)

    @property
    def allocator(self) -> str:
        return next((name for name in ('domain_alloc_paging_flags',
                                       'domain_alloc_paging', 'domain_alloc')
                     if name in self.fields), '')

    @property
    def use_dma_iommu(self) -> bool:
        """What the seed's flag became: a paging allocator and no static
        default domain (a static IDENTITY default is the same as none)."""
        static = self.fields.get('default_domain', '')
        return self.allocator.startswith('domain_alloc_paging') and \
            (not static or 'identity' in static.lower())

    @property
    def allow_dma_fq(self) -> bool:
        return self.use_dma_iommu and (self.deferred_flush or
                                       self.generic_pt)


def macro_fields(text: str) -> dict[str, str]:
    """#define NAME() bodies, joined across continuation lines."""
    return {m.group(1): m.group(2).replace('\\\n', '\n')
            for m in re.finditer(r'^#\s*define\s+([A-Z][A-Z0-9_]*)\(\)\s*'
                                 r'((?:.*\\\n)*.*)$', text, re.M)}


IOMMUFD_DIR = 'drivers/iommu/iommufd/'


def fn_body(text: str, fn: str) -> str:
    """The body of fn's definition in text, '' without one."""
    m = re.search(rf'\b{re.escape(fn)}\s*\([^;{{}}]*\)\s*\{{', text)
    return initializer(text, m.end()) if m else ''


def returned_types(text: str, fn: str) -> tuple[str, ...]:
    """The IOMMU_DOMAIN_IDENTITY / _DMA that fn's body returns."""
    found = set(re.findall(r'\breturn\s+IOMMU_DOMAIN_(IDENTITY|DMA)\b',
                           fn_body(text, fn)))
    return tuple(t for t in ('IDENTITY', 'DMA') if t in found)


def ops_map(tree: KernelTree, files: list[str]) -> list[OpsMap]:
    """Every struct iommu_ops initializer in files, fields expanded."""
    rows = []
    for rel in files:
        text = strip_comments(tree.read(rel))
        macros = macro_fields(text)
        generic_pt = re.search(r'\bpt_iommu_\w+|generic_pt/', text) \
            is not None
        for m in OPS.finditer(text):
            body = initializer(text, m.end())
            for name in MACRO_CALL.findall(body):
                body += '\n' + macros.get(name, '')
            row = OpsMap(rel, m.group(1), text.count('\n', 0, m.start()) + 1,
                         generic_pt=generic_pt)
            for f in FIELD.finditer(body):
                row.fields.setdefault(f.group(1), f.group(2).strip())
            capable = row.fields.get('capable', '')
            row.deferred_flush = bool(re.fullmatch(r'\w+', capable)) and \
                re.search(r'\bIOMMU_CAP_DEFERRED_FLUSH\b',
                          fn_body(text, capable)) is not None
            def_type = row.fields.get('def_domain_type', '')
            if re.fullmatch(r'\w+', def_type):
                row.def_types = returned_types(text, def_type)
            rows.append(row)
    return sorted(rows, key=lambda r: (r.file, r.line))


def use_cell(r: OpsMap) -> str:
    if not r.hardware:
        return 'n/a'
    if not r.use_dma_iommu:
        return 'no'
    return 'yes*' if 'IDENTITY' in r.def_types else 'yes'


def render(tree: KernelTree, fn: str, rows: list[OpsMap],
           findings: list[Finding]) -> str:
    """The mapping table of `make report` on an upstream-paging core."""
    head = (f'iommu-dma report: {tree.series_name()}, core {SHAPE} '
            f'({IOMMU_C}: {fn}())')
    lines = [head, STATEMENT.format(fn=fn), '',
             'Per struct iommu_ops, what the seed\'s flags became upstream:',
             '  use_dma_iommu = has domain_alloc_paging(_flags) and no '
             'static .default_domain (or a static IDENTITY one)',
             '  allow_dma_fq  = that, and IOMMU_CAP_DEFERRED_FLUSH in '
             '.capable or the generic page table (iommupt)',
             '  yes* = .def_domain_type() picks IDENTITY for some devices '
             '(arm-smmu: every device under the legacy binding)',
             '  n/a = iommufd\'s own ops: no IOMMU hardware, not counted', '']
    cells = [('FILE', 'OPS', 'ALLOCATOR', 'DEFAULT_DOMAIN', 'DEF_DOMAIN_TYPE',
              'USE_DMA_IOMMU', 'ALLOW_DMA_FQ')]
    for r in rows:
        cells.append((r.file, r.ops, r.allocator or '(none)',
                      r.fields.get('default_domain', '-'),
                      ','.join(r.def_types) or '-', use_cell(r),
                      ('yes' if r.allow_dma_fq else 'no') if r.hardware
                      else 'n/a'))
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    for c in cells:
        lines.append('  '.join(x.ljust(w) for x, w in zip(c, widths))
                     .rstrip())
    s = summary(rows)
    lines += ['', f"{s['ops']} struct iommu_ops initializers "
              f"({s['not_hardware']} of iommufd, no hardware); "
              f"{s['use_dma_iommu']} with DMA API domains, "
              f"{s['allow_dma_fq']} with flush queues; {len(s['legacy'])} "
              f"with a legacy .domain_alloc, only asked for "
              f"IOMMU_DOMAIN_UNMANAGED" +
              (f" ({', '.join(s['legacy'])})" if s['legacy'] else '')]
    if s['def_dma']:
        lines.append(f"{len(s['def_dma'])} still name IOMMU_DOMAIN_DMA as "
                     f"the default type a device asks for, in "
                     f".def_domain_type() ({', '.join(s['def_dma'])}): a "
                     f"choice of default, not an allocation")
    lines += [f'  ! {f.file}: {f.function}(): {f.message}' for f in findings]
    return '\n'.join(lines) + '\n'


def summary(rows: list[OpsMap]) -> dict:
    hw = [r for r in rows if r.hardware]
    return {
        'ops': len(rows),
        'not_hardware': len(rows) - len(hw),
        'use_dma_iommu': sum(r.use_dma_iommu for r in hw),
        'allow_dma_fq': sum(r.allow_dma_fq for r in hw),
        'legacy': [r.ops for r in rows if 'domain_alloc' in r.fields],
        'def_dma': [r.ops for r in hw if 'DMA' in r.def_types],
    }


def to_json(tree: KernelTree, fn: str, rows: list[OpsMap],
            findings: list[Finding]) -> str:
    """The same mapping as render(), for scripts."""
    return jsonout.document('report', 'upstream', str(tree.path), {
        'series_name': tree.series_name(), 'version': tree.version(),
        'core_shape': SHAPE, 'function': fn,
        'statement': STATEMENT.format(fn=fn),
        'rows': [{'file': r.file, 'ops': r.ops, 'line': r.line,
                  'allocator': r.allocator or None,
                  'default_domain': r.fields.get('default_domain'),
                  'def_domain_type': list(r.def_types),
                  'hardware': r.hardware,
                  'use_dma_iommu': r.use_dma_iommu if r.hardware else None,
                  'allow_dma_fq': r.allow_dma_fq if r.hardware else None}
                 for r in rows],
        'summary': summary(rows),
        'findings': [f.to_json() for f in findings]})
