"""The type gate of a domain_alloc, from what domain_alloc_gate.cocci matched.

The rule reports each statement of the function with its extent (nesting
follows from the extents), each if condition as spatch parsed it and the
names it reads, each rejecting return, each case label, each comparison of
a type parameter with UNMANAGED or a DMA type and each call handing the
type on. This module builds the statement tree from those facts alone and
writes the gate as C for the proof (proof.py); it never reads the C file.

The gate: the top-level `if (COND) return NULL;` statements whose
condition reads the type (also nested, as arm-smmu's legacy-binding gate,
and braced bodies that log first), `if (COND) return dom;` tests (a
positive gate), a top-level `switch (type)` whose labels fall through to a
body of their own (accepted) or return NULL (rejected), and the first
top-level return. Everything else (allocation failures, helpers) is code
after the gate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from .events import Event, GateFact

RULE = 'domain_alloc_gate'
Pos = tuple[int, int]

# Names a gate condition may use without them being free variables.
KEYWORDS = {'true', 'false', 'NULL'}
DOMAIN_NAME = re.compile(r'(__)?IOMMU_DOMAIN_\w+')
HEADS = {'if': 'if', 'switch': 'switch', '{': 'block', 'case': 'label',
         'default': 'label', 'return': 'return', 'break': 'break'}


class Unmodelled(Exception):
    """The gate has a shape this model does not evaluate. kind says which,
    for what the user is told to do (report.REMEDIES): 'local' (the type
    read through a local), 'own-cookie' (the driver's own
    iommu_get_dma_cookie()), 'undefined-type', or 'shape' (anything
    else)."""

    def __init__(self, message: str, kind: str = 'shape') -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Stmt:
    kind: str               # if switch block label return break other
    start: Pos
    end: Pos
    body: list['Stmt'] = field(default_factory=list)
    cond: str = ''          # if/switch: the condition; label: the constant
    rejects: bool = False   # `return NULL;` or `return ERR_PTR(...);`
    reads: set[str] = field(default_factory=set)   # params the if reads
    names: list[GateFact] = field(default_factory=list)  # and members

    @property
    def line(self) -> int:
        return self.start[0]

    def holds(self, pos: Pos) -> bool:
        return self.start <= pos <= self.end


@dataclass
class Gate:
    function: str
    param: str
    line: int           # of the definition
    shape: str          # filter, positive, switch, none (joined by +)
    c: list[str]        # C statements: return true = rejected
    variables: list[str]
    constants: list[str] = field(default_factory=list)   # IOMMU_DOMAIN_*


# What code after the gate may test the type against: the answers change
# for a DMA domain once the driver is handed UNMANAGED instead.
DISTINGUISHING = {
    'IOMMU_DOMAIN_UNMANAGED': 'DMA domains now take its UNMANAGED branch',
    'IOMMU_DOMAIN_DMA': 'DMA domains no longer take its DMA branch',
    'IOMMU_DOMAIN_DMA_FQ': 'DMA_FQ domains no longer take its DMA_FQ branch',
    '__IOMMU_DOMAIN_DMA_API': 'it is now false for DMA domains',
}


@dataclass(frozen=True)
class TypeUse:
    """Code outside the gate that tells UNMANAGED and DMA apart."""
    line: int
    constant: str
    code: str

    @property
    def consequence(self) -> str:
        return DISTINGUISHING[self.constant]


@dataclass
class Function:
    """One definition of a function, as the rule saw it."""
    name: str
    definition: int
    facts: list[GateFact]
    body: list[Stmt] = field(default_factory=list)

    def of(self, fact: str) -> list[GateFact]:
        return [f for f in self.facts if f.fact == fact]

    @classmethod
    def build(cls, name: str, definition: int,
              facts: list[GateFact]) -> 'Function':
        fn = cls(name, definition, facts)
        at: dict[str, dict[Pos, list[GateFact]]] = defaultdict(
            lambda: defaultdict(list))
        for f in facts:
            at[f.fact][(f.line, f.col)].append(f)
        stmts = {((f.line, f.col), (f.end_line or 0, f.end_col or 0)): f
                 for f in fn.of('stmt')}
        stack: list[Stmt] = []
        # outer first: by start, then the later end first
        for (start, end), f in sorted(stmts.items(), key=lambda x: (
                x[0][0], (-x[0][1][0], -x[0][1][1]))):
            s = Stmt(HEADS.get(f.text or '', 'other'), start, end)
            if s.kind in ('if', 'switch'):
                conds = at['cond' if s.kind == 'if' else 'switch'][start]
                s.cond = (conds[0].text or '') if conds else ''
                s.reads = {r.text or '' for r in at['reads'][start]}
            elif s.kind == 'label':
                labels = at['label'][start]
                s.cond = (labels[0].text or '') if labels else ''
            elif s.kind == 'return':
                s.rejects = bool(at['reject'][start])
            while stack and not stack[-1].holds(start):
                stack.pop()
            (stack[-1].body if stack else fn.body).append(s)
            stack.append(s)
        # Each name and member read goes to the if whose condition holds it.
        for f in sorted(set(fn.of('name')) | set(fn.of('member')),
                        key=lambda f: (f.line, f.col)):
            inner = fn.innermost_if((f.line, f.col))
            if inner is not None:
                inner.names.append(f)
        return fn

    def innermost_if(self, pos: Pos) -> Stmt | None:
        found, level = None, self.body
        while True:
            inside = [s for s in level if s.holds(pos)]
            if not inside:
                return found
            if inside[0].kind == 'if':
                found = inside[0]
            level = inside[0].body

    def gate(self, param: str, known: tuple[str, ...] = ()) -> Gate:
        """The gate as C. known: functions whose calls in the gate are 0
        (the cookie call a driver still makes, on a core that tolerates
        it); any other call is not modelled."""
        c: list[str] = []
        conds: list[Stmt] = []
        labels: list[str] = []
        shapes = []
        for s in self.body:
            if s.kind == 'if' and accept_branch(s) and param in s.reads:
                c += [f'\tif ({s.cond})', '\t\treturn false;']
                conds.append(s)
                shapes.append('positive')
            elif s.kind == 'if' and reject_tree(s) and \
                    any(param in i.reads for i in ifs(s)):
                c += c_if(s, '\t')
                conds += ifs(s)
                shapes.append('filter')
            elif s.kind == 'switch' and param in s.cond.split():
                if s.cond.split() not in ([param], ['(', param, ')']):
                    raise Unmodelled(f'line {s.line}: switch on {s.cond}')
                body_c, names = c_switch(s, param)
                c += body_c
                labels += names
                shapes.append('switch')
            elif s.kind == 'return':
                c.append('\treturn true;' if s.rejects else
                         '\treturn false;')
                break
        variables, used = self.free_variables(conds, param, known)
        if used:
            c = [f'#define {k}(...) 0' for k in used] + c
        # A local set from the type is no free variable: the gate reads the
        # type through it, and neither the rules nor this model follow that.
        for f in self.of('local'):
            if f.param == param and f.text in variables:
                raise Unmodelled(f'its gate reads the type through the local '
                                 f'{f.text} (line {f.line})', 'local')
        constants = sorted({n.text or '' for s in conds for n in s.names
                            if DOMAIN_NAME.fullmatch(n.text or '')} |
                           {x for x in labels if DOMAIN_NAME.fullmatch(x)})
        return Gate(self.name, param, self.definition,
                    '+'.join(shapes) or 'none', c, variables, constants)

    def free_variables(self, conds: list[Stmt], param: str,
                       known: tuple[str, ...]) -> tuple[list[str],
                                                        list[str]]:
        """The names the gate conditions read, and the known functions
        they call; a call of another function or a structure member is
        not modelled."""
        calls = self.of('call')
        inside_known = [((f.line, f.col), (f.end_line or 0, f.end_col or 0))
                        for f in calls if f.text in known]
        callees = {(f.line, f.col): f.text for f in calls}
        names: list[str] = []
        used: list[str] = []
        found = {(n.line, n.col, '->' if n.fact == 'member' else n.text or '')
                 for s in conds for n in s.names}
        for line, col, name in sorted(found):
            if any(a <= (line, col) <= b for a, b in inside_known):
                if callees.get((line, col)) in known and name not in used:
                    used.append(name)
                continue
            if name == '->':
                raise Unmodelled(f'line {line}: reads a structure member')
            if (line, col) in callees:
                raise Unmodelled(f'line {line}: calls {name}()',
                                 'own-cookie' if name ==
                                 'iommu_get_dma_cookie' else 'shape')
            if name == param or name in KEYWORDS or \
                    DOMAIN_NAME.fullmatch(name) or name in names:
                continue
            names.append(name)
        return names, used

    def type_uses(self, param: str, lines: list[str]) -> list[TypeUse]:
        """Tests of the type against UNMANAGED/DMA outside the gate."""
        excluded: list[tuple[Stmt, Stmt | None]] = []
        labels: list[TypeUse] = []
        filtered = False
        for s in self.body:
            # A branch that returns a domain for some types after the
            # filter has let them through picks which domain (a shared
            # singleton for DMA): code after the gate, not the gate.
            if s.kind == 'if' and gate_if(s, param) and \
                    not (filtered and accept_branch(s)):
                filtered = filtered or reject_tree(s)
                hole = s.body[0] if accept_branch(s) and \
                    s.body[0].kind == 'block' else None
                excluded.append((s, hole))
            elif s.kind == 'switch' and param in s.cond.split():
                labels += own_body_labels(flatten(s.body), lines)
        uses = []
        for f in sorted(set(self.of('use')), key=lambda f: (f.line, f.col)):
            pos = (f.line, f.col)
            if f.param != param or any(
                    s.holds(pos) and not (hole and hole.holds(pos))
                    for s, hole in excluded):
                continue
            use = TypeUse(f.line, f.text or '', lines[f.line - 1].strip())
            if use not in uses:
                uses.append(use)
        return labels + uses

    def passes(self, param: str, defs: 'Facts', file: str
               ) -> list[tuple[str, str]]:
        """(callee, its parameter) for calls that hand param on to a
        function defined in the file."""
        out: list[tuple[str, str]] = []
        for f in sorted(set(self.of('pass')), key=lambda f: (f.line, f.col)):
            if f.param != param:
                continue
            callee = defs.first(file, f.text or '')
            for p in callee.of('param') if callee else []:
                if p.index == f.index and (f.text, p.text) not in out:
                    out.append((f.text or '', p.text or ''))
        return out


def ifs(s: Stmt) -> list[Stmt]:
    return ([s] if s.kind == 'if' else []) + [i for b in s.body
                                               for i in ifs(b)]


def plain(s: Stmt) -> bool:
    """An expression statement (a log line, an assignment): no branch."""
    return s.kind == 'other' and not s.body


def reject_tree(s: Stmt) -> bool:
    """An if/block tree whose leaves are rejecting returns; a block may
    also log or count before it rejects (`{ pr_err(...); return NULL; }`,
    the most common vendor gate)."""
    if s.kind == 'return':
        return s.rejects
    if s.kind == 'block':
        branches = [b for b in s.body if not plain(b)]
        return bool(branches) and all(reject_tree(b) for b in branches)
    if s.kind == 'if':
        return bool(s.body) and all(reject_tree(b) for b in s.body)
    return False


def accept_branch(s: Stmt) -> bool:
    """`if (COND) return dom;` or a block ending so, with no else: a
    positive gate (COND lists what is accepted)."""
    if s.kind != 'if' or len(s.body) != 1:
        return False
    last = s.body[0]
    if last.kind == 'block' and last.body:
        last = last.body[-1]
    return last.kind == 'return' and not last.rejects


def gate_if(s: Stmt, param: str) -> bool:
    return (reject_tree(s) or accept_branch(s)) and \
        any(param in i.reads for i in ifs(s))


def c_if(s: Stmt, indent: str) -> list[str]:
    if s.kind == 'return':
        return [indent + 'return true;']
    if s.kind == 'block':
        return sum((c_if(b, indent) for b in s.body if not plain(b)), [])
    then = c_if(s.body[0], indent + '\t')
    other = c_if(s.body[1], indent + '\t') if len(s.body) > 1 else []
    if len(then) == 1 and len(other) <= 1:
        out = [f'{indent}if ({s.cond})'] + then
        return out + ([indent + 'else'] + other if other else [])
    out = [f'{indent}if ({s.cond}) {{'] + then
    if other:
        out += [f'{indent}}} else {{'] + other
    return out + [indent + '}']


def flatten(body: list[Stmt]) -> list[Stmt]:
    """A switch body as C has it: each label, then what follows it."""
    if len(body) == 1 and body[0].kind == 'block':
        body = body[0].body
    out = []
    for s in body:
        if s.kind == 'label':
            out.append(Stmt('label', s.start, s.start, cond=s.cond))
            out += flatten(s.body)
        else:
            out.append(s)
    return out


def c_switch(s: Stmt, param: str) -> tuple[list[str], list[str]]:
    """The switch with each label group's body reduced to its verdict."""
    stmts = flatten(s.body)
    out = [f'\tswitch ({param}) {{']
    labels: list[str] = []
    i = 0
    while i < len(stmts):
        if stmts[i].kind != 'label':
            i += 1          # unreachable code before the first label
            continue
        while i < len(stmts) and stmts[i].kind == 'label':
            name = stmts[i].cond
            out.append('\tdefault:' if name == 'default'
                       else f'\tcase {name}:')
            labels += [] if name == 'default' else [name]
            i += 1
        if i == len(stmts) or stmts[i].kind == 'break':
            out.append('\t\tbreak;')
        elif stmts[i].kind == 'return' and stmts[i].rejects:
            out.append('\t\treturn true;')
        else:
            out.append('\t\treturn false;')   # a body of its own
        while i < len(stmts) and stmts[i].kind != 'label':
            i += 1
    return out + ['\t}'], labels


def own_body_labels(stmts: list[Stmt], lines: list[str]) -> list[TypeUse]:
    """DMA labels of a gate switch whose group does not also hold
    UNMANAGED: DMA domains no longer run that group's code."""
    uses, group = [], []
    for st in stmts + [Stmt('end', (0, 0), (0, 0))]:
        if st.kind == 'label':
            group.append(st)
            continue
        if not group:
            continue
        names = [g.cond for g in group]
        if 'IOMMU_DOMAIN_UNMANAGED' not in names and \
                not (st.kind == 'return' and st.rejects):
            for g in group:
                if g.cond in ('IOMMU_DOMAIN_DMA', 'IOMMU_DOMAIN_DMA_FQ'):
                    uses.append(TypeUse(g.line, g.cond,
                                        lines[g.line - 1].strip()))
        group = []
    return uses


class Facts:
    """Every definition the rule reported, by file and function."""

    def __init__(self, events: list[Event]) -> None:
        """From any events: the gate rule's are taken."""
        grouped: dict[tuple[str, str], dict[int, list[GateFact]]] = \
            defaultdict(lambda: defaultdict(list))
        for e in events:
            if isinstance(e, GateFact):
                grouped[(e.file, e.function)][e.definition].append(e)
        self.functions = {
            key: [Function.build(key[1], d, fs)
                  for d, fs in sorted(defs.items())]
            for key, defs in grouped.items()}

    def definitions(self, file: str, function: str) -> list[Function]:
        found = self.functions.get((file, function))
        if not found:
            raise Unmodelled(f'no definition of {function}() found')
        return found

    def first(self, file: str, function: str) -> Function | None:
        found = self.functions.get((file, function))
        return found[0] if found else None
