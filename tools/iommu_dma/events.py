"""What the semantic patches report, as typed events.

The rules print `IOMMU-DMA {json}` lines in their `record` mode (the
kernel's report/org modes print through coccilib instead). parse() turns
each into one frozen dataclass; an unknown event or finding kind is an
error, never a silently dropped line or a renderer's KeyError later.

Every rendering of a change or finding lives here, per class: manifest()
for the manifest (drift, checker), summary() for the summary line; a
finding's kind has its consequence (cover letter) in FINDING_KINDS. A test
checks that every kind has each. Code reads them by attribute (e.file,
isinstance(e, Gate)), never like the JSON they came from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from .errors import ToolError


@dataclass(frozen=True)
class Event:
    KIND: ClassVar[str] = ''
    # The one rule file that prints this kind, where only one does: what
    # `rule` says of events from a pass of several (rewrite.run_rules)
    RULE: ClassVar[str | None] = None
    file: str
    rule: str | None = field(default=None, kw_only=True)   # which .cocci

    def to_json(self) -> dict[str, Any]:
        return {'event': self.KIND, **{k: v for k, v in asdict(self).items()
                                      if v is not None}}

    def manifest(self) -> str | None:
        """The manifest line: `<file> <symbol> <op> <what>`, or None."""
        return None

    def summary(self) -> str | None:
        """What the summary says of it after `<file>: `, or None."""
        return None


# ---- changes: what the rewrite did ---------------------------------------

@dataclass(frozen=True)
class Gate(Event):
    KIND: ClassVar[str] = 'gate'
    function: str
    removed: str
    shape: str

    def manifest(self) -> str:
        return f'{self.file} {self.function} - {self.removed} {self.shape}'

    def summary(self) -> str:
        return f'{self.function}() -{self.removed} ({self.shape})'


@dataclass(frozen=True)
class Flag(Event):
    KIND: ClassVar[str] = 'flag'
    RULE: ClassVar[str | None] = 'iommu_ops_dma_flags'
    ops: str
    function: str
    flag: str

    def manifest(self) -> str:
        return f'{self.file} {self.ops} + .{self.flag} = true'

    def summary(self) -> str:
        return f'{self.ops} +.{self.flag}'


@dataclass(frozen=True)
class LegacyBinding(Event):
    KIND: ClassVar[str] = 'legacy-binding'
    ops: str
    function: str
    flag_var: str

    def manifest(self) -> str:
        return (f'{self.file} {self.function} + {self.ops}.use_dma_iommu = '
                f'false after {self.flag_var} = true')

    def summary(self) -> str:
        return f'{self.function}() +{self.ops}.use_dma_iommu = false'


@dataclass(frozen=True)
class Field(Event):
    KIND: ClassVar[str] = 'field'
    struct: str
    field: str

    def manifest(self) -> str:
        return f'{self.file} {self.struct} + u8 {self.field} : 1'

    def summary(self) -> str:
        return f'struct {self.struct} +{self.field}'


@dataclass(frozen=True)
class Core(Event):
    KIND: ClassVar[str] = 'core'
    function: str
    shape: str

    def manifest(self) -> str:
        return f'{self.file} {self.function} ~ {self.shape}'

    def summary(self) -> str:
        return f'{self.function}() rewritten ({self.shape})'


@dataclass(frozen=True)
class Upstream(Event):
    """A core that already keeps DMA out of drivers (6.16+)."""
    KIND: ClassVar[str] = 'upstream'
    function: str
    shape: str

    def manifest(self) -> str:
        return f'{self.file} {self.function} = {self.shape}'


# ---- findings: what a human must read -------------------------------------

@dataclass(frozen=True)
class FindingKind:
    consequence: str     # what it means once the series is applied
    detail: str = ''     # the field the manifest adds: constant, helper


FINDING_KINDS = {
    'implicit-dma': FindingKind('It declares its flags from that and keeps '
                                'its DMA API domains.'),
    'not-rewritten': FindingKind('The comparison stays; the driver declares '
                                 'its flag and keeps its DMA API domains.',
                                 'constant'),
    'type-helper': FindingKind('The helper now sees IOMMU_DOMAIN_UNMANAGED '
                               'for DMA API domains.', 'helper'),
    'behaviour': FindingKind('This is a behaviour change of this series.',
                             'constant'),
    'fq-ignored': FindingKind('This core never passes IOMMU_DOMAIN_DMA_FQ '
                              'to drivers.'),
    'partial': FindingKind('The driver keeps its comparisons and declares '
                           'its flags.'),
    'gate-unmodelled': FindingKind('The driver keeps its comparisons.'),
}


@dataclass(frozen=True)
class Finding(Event):
    KIND: ClassVar[str] = 'finding'
    RULE: ClassVar[str | None] = 'domain_alloc_audit'
    kind: str
    function: str
    message: str
    constant: str | None = None
    helper: str | None = None
    line: int | None = None
    code: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FINDING_KINDS:
            raise ToolError(f'{self.file}: unknown finding kind '
                            f'{self.kind!r} from the rules')

    @property
    def consequence(self) -> str:
        return FINDING_KINDS[self.kind].consequence

    def manifest(self) -> str:
        constant = FINDING_KINDS[self.kind].detail == 'constant'
        what = (self.kind, self.helper, self.constant if constant else None)
        return f'{self.file} {self.function} ! ' + \
            ' '.join(w for w in what if w)

    def summary(self) -> str:
        return f'{self.function}(): {self.message}'

    def report(self) -> str:
        """The line under its ops in `make report`."""
        why = {
            'implicit-dma': 'accepts IOMMU_DOMAIN_DMA implicitly (no type '
                            'filter)',
            'type-helper': f'passes the type to {self.helper}(), which '
                           f'compares it with a domain type at line '
                           f'{self.line}: with UNMANAGED for a DMA domain it '
                           f'would behave differently',
            'not-rewritten': f'{self.constant} at line {self.line}: the '
                             f'rules leave this comparison alone',
        }.get(self.kind, self.message)
        return f'{self.kind}: {why}'

    def sort_key(self) -> tuple:
        return (self.file, self.function, self.line or 0, self.kind)


# ---- facts the pipeline reads, never rendered ------------------------------

@dataclass(frozen=True)
class CoreShape(Event):
    KIND: ClassVar[str] = 'core-shape'
    function: str
    shape: str


@dataclass(frozen=True)
class Ops(Event):
    KIND: ClassVar[str] = 'ops'
    RULE: ClassVar[str | None] = 'iommu_ops_inventory'
    ops: str
    line: int


@dataclass(frozen=True)
class OpsAlloc(Event):
    KIND: ClassVar[str] = 'ops-alloc'
    RULE: ClassVar[str | None] = 'iommu_ops_inventory'
    ops: str
    field: str
    function: str


@dataclass(frozen=True)
class AllocDef(Event):
    KIND: ClassVar[str] = 'alloc-def'
    RULE: ClassVar[str | None] = 'iommu_ops_inventory'
    function: str
    param: str | None
    line: int


@dataclass(frozen=True)
class OpsParsed(Event):
    KIND: ClassVar[str] = 'ops-parsed'
    RULE: ClassVar[str | None] = 'iommu_ops_parsed'
    ops: str


@dataclass(frozen=True)
class AllocParsed(Event):
    KIND: ClassVar[str] = 'alloc-parsed'
    RULE: ClassVar[str | None] = 'iommu_ops_parsed'
    function: str


@dataclass(frozen=True)
class GateFact(Event):
    """What domain_alloc_gate.cocci matched in one definition of a
    function (see gate.py): fact names what, text the matched name or
    expression, line/col where (end_line/end_col where it spans)."""
    KIND: ClassVar[str] = 'gate-fact'
    RULE: ClassVar[str | None] = 'domain_alloc_gate'
    fact: str
    function: str
    definition: int
    line: int
    col: int
    text: str | None = None
    end_line: int | None = None
    end_col: int | None = None
    param: str | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        if self.fact not in GATE_FACTS:
            raise ToolError(f'{self.file}: unknown gate fact {self.fact!r} '
                            f'from the rules')


# What domain_alloc_gate.cocci reports (gate.py reads each).
GATE_FACTS = {'stmt', 'cond', 'reads', 'name', 'call', 'member', 'reject',
              'label', 'switch', 'local', 'use', 'pass', 'param'}


KINDS: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    Gate, Flag, LegacyBinding, Field, Core, Upstream, Finding, CoreShape,
    Ops, OpsAlloc, AllocDef, OpsParsed, AllocParsed, GateFact)}
CHANGES = (Gate, Flag, LegacyBinding, Field, Core, Upstream)


def parse(raw: dict[str, Any] | Event) -> Event:
    """One event from its JSON form; unknown kinds and fields are errors."""
    if isinstance(raw, Event):
        return raw
    data = dict(raw)
    kind = data.pop('event', None)
    cls = KINDS.get(kind)
    if cls is None:
        raise ToolError(f'{data.get("file", "?")}: unknown event {kind!r} '
                        f'from the rules')
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ToolError(f'{data.get("file", "?")}: event {kind!r} with '
                        f'unknown field {sorted(unknown)[0]!r}')
    try:
        return cls(**data)
    except TypeError as e:
        raise ToolError(f'{data.get("file", "?")}: event {kind!r}: {e}') \
            from None
