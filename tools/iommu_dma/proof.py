"""Prove, by running C, that a rewritten domain_alloc gate keeps its meaning.

The gate of a domain_alloc function is its type filter: the top-level
`if (COND) return NULL;` statements whose condition reads the type (also
nested, as arm-smmu's legacy-binding gate), a top-level `switch (type)`
whose labels either fall through to a body of their own (accepted) or
return NULL (rejected), and the first top-level return. "Accepts type T"
means the gate does not reject T. Everything else in the function
(allocation failures, helpers) is not part of the gate.

The gates before and after the rewrite are copied, as C, into a program
built from proof_template.c together with the domain-type #defines of the
tree's own include/linux/iommu.h. The host compiler builds it and the
program evaluates both gates for every domain type and every 0/1 value of
the other variables the gate reads, and checks what the rewrite must keep.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import cache
from .errors import ToolError
from .spatch import echo

TEMPLATE = Path(__file__).with_name('proof_template.c')
CFLAGS = ['-std=gnu11', '-O0', '-Wall', '-Wextra', '-Werror']
TYPE_PREFIX = 'IOMMU_DOMAIN_'
MAX_VARS = 6
# Template #defines whose value is set per program; the rest are @KEY@.
SETTINGS = ('NR_VARS', 'CHECK', 'USE_DMA_IOMMU', 'ALLOW_DMA_FQ',
            'CORE_DMA_FQ', 'LEGACY_VAR')

# Identifiers a gate condition may use without them being free variables.
KEYWORDS = {'true', 'false', 'NULL', 'sizeof', 'unsigned', 'int', 'bool'}


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
class DomainTypes:
    defines: list[str]      # the #define lines, continuation lines joined
    names: list[str]        # IOMMU_DOMAIN_* types, in header order

    def short(self, name: str) -> str:
        return name[len(TYPE_PREFIX):]


def domain_types(header: str) -> DomainTypes:
    """The __IOMMU_DOMAIN_* bits and IOMMU_DOMAIN_* types of iommu.h.

    A type is an IOMMU_DOMAIN_* macro built only of __IOMMU_DOMAIN_* bits,
    integer literals, `|`, `<<` and parentheses (IOMMU_DOMAIN_ALLOC_FLAGS,
    a mask, is not a type).
    """
    text = blank(header).replace('\\\n', ' ')
    defines, names = [], []
    for m in re.finditer(r'^[ \t]*#[ \t]*define[ \t]+((?:__)?IOMMU_DOMAIN_'
                         r'\w+)[ \t]+(.*)$', text, re.M):
        name, value = m.group(1), ' '.join(m.group(2).split())
        if not re.fullmatch(r'(?:__IOMMU_DOMAIN_\w+|0[xX][0-9a-fA-F]+[uUlL]*'
                            r'|\d+[uUlL]*|[|()<>\s])+', value):
            continue
        defines.append(f'#define {name}\t{value}')
        if not name.startswith('__'):
            names.append(name)
    for need in ('IOMMU_DOMAIN_DMA', 'IOMMU_DOMAIN_DMA_FQ',
                 'IOMMU_DOMAIN_UNMANAGED'):
        if need not in names:
            raise ToolError(f'include/linux/iommu.h: no #define {need}')
    return DomainTypes(defines, names)


@functools.lru_cache(maxsize=16)
def blank(text: str) -> str:
    """Comments and string/char literals as spaces, newlines kept.

    Kept for the last few texts: the report blanks the same driver once
    per helper it follows."""
    def spaces(s: str) -> str:
        return '\n'.join(' ' * len(x) for x in s.split('\n'))

    def space(m: re.Match) -> str:
        s = m.group(0)
        if s[0] in '"\'':
            return s[0] + spaces(s[1:-1]) + s[-1]
        return spaces(s)
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"'
                  r"|'(?:\\.|[^'\\\n])*'", space, text, flags=re.S)


DIRECTIVE = re.compile(r'^[ \t]*#(?:[^\n]*\\\n)*[^\n]*', re.M)


@functools.lru_cache(maxsize=16)
def code(text: str) -> str:
    """blank(), and preprocessor lines as spaces too: the statements of
    every #if branch are read (a vendor `#ifndef CONFIG_X` around an if
    would otherwise swallow it into the directive's line)."""
    def spaces(m: re.Match) -> str:
        return '\n'.join(' ' * len(x) for x in m.group(0).split('\n'))
    return DIRECTIVE.sub(spaces, blank(text))


TOKEN = re.compile(r'[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*'
                   r'|->|&&|\|\||<<|>>|[=!<>]=|\+\+|--|\S')


@dataclass
class Tok:
    text: str
    line: int


@dataclass
class Stmt:
    kind: str           # if switch block label return break other
    head: list[Tok] = field(default_factory=list)
    body: list['Stmt'] = field(default_factory=list)
    orelse: list['Stmt'] = field(default_factory=list)
    line: int = 0

    def words(self) -> list[str]:
        return [t.text for t in self.head]


def tokens(text: str, start: int, end: int) -> list[Tok]:
    line = text.count('\n', 0, start) + 1
    out, pos = [], start
    for m in TOKEN.finditer(text, start, end):
        line += text.count('\n', pos, m.start())
        pos = m.start()
        out.append(Tok(m.group(0), line))
    return out


def function_bodies(text: str, function: str) -> list[tuple[int, int, int]]:
    """(start, end, line) of the body of each definition of function in
    text: more than one where #if picks one."""
    found = []
    for m in re.finditer(rf'\b{re.escape(function)}\s*\(', text):
        close = matching(text, m.end() - 1, '(', ')')
        brace = re.match(r'\s*\{', text[close + 1:])
        if close > 0 and brace:
            start = close + 1 + brace.end() - 1
            end = matching(text, start, '{', '}')
            if end > 0:
                found.append((start, end, text.count('\n', 0, m.start()) + 1))
    if not found:
        raise Unmodelled(f'no definition of {function}() found')
    return found


def function_body(text: str, function: str) -> tuple[int, int, int]:
    """(start, end, line) of the body of function's first definition."""
    return function_bodies(text, function)[0]


def matching(text: str, at: int, open_: str, close: str) -> int:
    depth = 0
    for i in range(at, len(text)):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i
    return -1


class Parser:
    """Just enough of C statements to find a function's type gate."""

    def __init__(self, toks: list[Tok]):
        self.toks = toks
        self.i = 0

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.toks[j].text if j < len(self.toks) else ''

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def balanced(self, open_: str, close: str) -> list[Tok]:
        """The tokens inside the group that starts here, consumed."""
        if self.peek() != open_:
            raise Unmodelled(f'expected {open_!r} near line {self.line()}')
        self.take()
        out, depth = [], 1
        while self.i < len(self.toks):
            tok = self.take()
            depth += (tok.text == open_) - (tok.text == close)
            if depth == 0:
                return out
            out.append(tok)
        raise Unmodelled('unbalanced statement')

    def line(self) -> int:
        return self.toks[min(self.i, len(self.toks) - 1)].line

    def statements(self) -> list[Stmt]:
        out = []
        while self.i < len(self.toks) and self.peek() != '}':
            out.append(self.statement())
        return out

    def statement(self) -> Stmt:
        line, word = self.line(), self.peek()
        if word == '{':
            self.take()
            body = self.statements()
            self.take()
            return Stmt('block', body=body, line=line)
        if word in ('if', 'switch', 'while', 'for'):
            self.take()
            head = self.balanced('(', ')')
            body = [self.statement()]
            orelse = []
            if word == 'if' and self.peek() == 'else':
                self.take()
                orelse = [self.statement()]
            kind = word if word in ('if', 'switch') else 'other'
            return Stmt(kind, head, body, orelse, line)
        if word == 'do':
            self.take()
            body = [self.statement()]
            self.until(';')
            return Stmt('other', body=body, line=line)
        if word == 'case' or (word == 'default' and self.peek(1) == ':'):
            self.take()
            head = self.until(':')
            return Stmt('label', head or [Tok('default', line)], line=line)
        if re.fullmatch(r'[A-Za-z_]\w*', word) and self.peek(1) == ':':
            self.take()
            self.take()
            return Stmt('label', [Tok('goto:' + word, line)], line=line)
        if word == 'return':
            self.take()
            return Stmt('return', self.until(';'), line=line)
        if word == 'break' and self.peek(1) == ';':
            self.i += 2
            return Stmt('break', line=line)
        return Stmt('other', self.until(';'), line=line)

    def until(self, end: str) -> list[Tok]:
        """Tokens up to `end` at depth 0, consumed with it.

        A `{` right after `)` is a loop macro's body (list_for_each...).
        """
        out, depth = [], 0
        while self.i < len(self.toks):
            tok = self.take()
            if depth == 0 and tok.text == end:
                return out
            if depth == 0 and tok.text == '{' and out and \
                    out[-1].text == ')':
                self.i -= 1
                self.statement()
                return out
            depth += (tok.text in '([{') - (tok.text in ')]}')
            out.append(tok)
        raise Unmodelled(f'no {end!r} after line {out[0].line if out else 0}')


def rejects(s: Stmt) -> bool:
    """`return NULL;` or `return ERR_PTR(...);`."""
    w = s.words()
    return s.kind == 'return' and (w == ['NULL'] or w[:2] == ['ERR_PTR', '('])


def plain(s: Stmt) -> bool:
    """An expression statement (a log line, an assignment): no branch."""
    return s.kind == 'other' and not s.body and not s.orelse


def reject_tree(s: Stmt) -> bool:
    """An if/block tree whose leaves are rejecting returns; a block may
    also log or count before it rejects (`{ pr_err(...); return NULL; }`,
    the most common vendor gate)."""
    if rejects(s):
        return True
    if s.kind == 'block':
        branches = [b for b in s.body if not plain(b)]
        return bool(branches) and all(reject_tree(b) for b in branches)
    if s.kind == 'if':
        return reject_tree(s.body[0]) and all(reject_tree(b)
                                              for b in s.orelse)
    return False


def accept_branch(s: Stmt) -> bool:
    """`if (COND) return dom;` or a block ending so, with no else: a
    positive gate (COND lists what is accepted)."""
    if s.kind != 'if' or s.orelse:
        return False
    last = s.body[0]
    if last.kind == 'block' and last.body:
        last = last.body[-1]
    return last.kind == 'return' and not rejects(last)


def gate_if(s: Stmt, param: str) -> bool:
    return (reject_tree(s) or accept_branch(s)) and \
        param in [t.text for t in heads(s)]


def heads(s: Stmt) -> list[Tok]:
    out = list(s.head) if s.kind == 'if' else []
    for b in s.body + s.orelse:
        out += heads(b)
    return out


@dataclass
class Gate:
    function: str
    param: str
    line: int           # of the definition
    shape: str          # filter, switch, none
    c: list[str]        # C statements: return true = rejected
    variables: list[str]
    constants: list[str] = field(default_factory=list)   # IOMMU_DOMAIN_*


def extract_gates(text: str, function: str, param: str,
                  calls: dict[str, str] | None = None) -> list[Gate]:
    """The type gate of each definition of function, as C statements.
    calls: functions whose calls in the gate have a known value (the
    cookie call a driver still makes, on a core that tolerates it)."""
    clean = code(text)
    return [gate_of(clean, function, param, body, calls or {})
            for body in function_bodies(clean, function)]


def extract_gate(text: str, function: str, param: str) -> Gate:
    """The type gate of function's first definition."""
    return extract_gates(text, function, param)[0]


def known_calls(toks: list[Tok], calls: dict[str, str]) -> list[Tok]:
    """Each call `f(...)` of a function in calls as its value."""
    out: list[Tok] = []
    k = 0
    while k < len(toks):
        tok = toks[k]
        if tok.text in calls and k + 1 < len(toks) and \
                toks[k + 1].text == '(':
            depth, j = 0, k + 1
            while j < len(toks):
                depth += (toks[j].text == '(') - (toks[j].text == ')')
                if depth == 0:
                    break
                j += 1
            out.append(Tok(calls[tok.text], tok.line))
            k = j + 1
            continue
        out.append(tok)
        k += 1
    return out


def gate_of(clean: str, function: str, param: str,
            where: tuple[int, int, int], calls: dict[str, str]) -> Gate:
    start, end, line = where
    parser = Parser(known_calls(tokens(clean, start + 1, end), calls))
    body = parser.statements()
    c: list[str] = []
    cond_toks: list[Tok] = []
    shapes = []
    for s in body:
        if s.kind == 'if' and accept_branch(s) and \
                param in [t.text for t in s.head]:
            c += [f'\tif ({c_text(s.head)})', '\t\treturn false;']
            cond_toks += s.head
            shapes.append('positive')
        elif s.kind == 'if' and reject_tree(s) and \
                param in [t.text for t in heads(s)]:
            c += c_if(s, '\t')
            cond_toks += heads(s)
            shapes.append('filter')
        elif s.kind == 'switch' and param in s.words():
            if s.words() not in ([param], ['(', param, ')']):
                raise Unmodelled(f'line {s.line}: switch on '
                                 f'{" ".join(s.words())}')
            body_c, labels = c_switch(s)
            c += body_c
            cond_toks += labels
            shapes.append('switch')
        elif s.kind == 'return':
            c.append('\treturn true;' if rejects(s) else '\treturn false;')
            break
    variables = free_variables(cond_toks, param)
    # A local set from the type is no free variable: the gate reads the
    # type through it, and neither the rules nor this model follow that.
    for s in body:
        w = s.words()
        if s.kind == 'other' and '=' in w and \
                param in w[w.index('=') + 1:] and \
                w[w.index('=') - 1] in variables:
            raise Unmodelled(f'its gate reads the type through the local '
                             f'{w[w.index("=") - 1]} (line {s.line})',
                             'local')
    constants = sorted({t.text for t in cond_toks
                        if re.fullmatch(r'(__)?IOMMU_DOMAIN_\w+', t.text)})
    return Gate(function, param, line, '+'.join(shapes) or 'none', c,
                variables, constants)


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


def type_uses_after_gate(text: str, function: str, param: str
                         ) -> list[TypeUse]:
    """Tests of the type against UNMANAGED/DMA outside function's gate."""
    clean = code(text)
    start, end, _ = function_body(clean, function)
    body = Parser(tokens(clean, start + 1, end)).statements()
    outside: list[Stmt] = []
    uses = []
    lines = text.split('\n')
    filtered = False
    for s in body:
        # A branch that returns a domain for some types after the filter
        # has let them through picks which domain (a shared singleton for
        # DMA): code after the gate, not the gate.
        if s.kind == 'if' and gate_if(s, param) and \
                not (filtered and accept_branch(s)):
            filtered = filtered or reject_tree(s)
            if accept_branch(s):
                outside += s.body[0].body if s.body[0].kind == 'block' \
                    else []
            continue
        if s.kind == 'switch' and param in s.words():
            inner = s.body[0].body if s.body[0].kind == 'block' else s.body
            outside += [b for b in inner if b.kind != 'label']
            uses += own_body_labels(inner, lines)
            continue
        outside.append(s)
    for s in outside:
        toks = all_tokens(s)
        for k, tok in enumerate(toks):
            if tok.text not in DISTINGUISHING:
                continue
            near = [t.text for t in toks[max(0, k - 2):k + 3]]
            if param in near and any(op in near for op in
                                     ('==', '!=', '&')):
                uses.append(TypeUse(tok.line, tok.text,
                                    lines[tok.line - 1].strip()))
            elif toks[k - 1].text == 'case' and k and \
                    s.kind == 'switch' and param in s.words():
                uses.append(TypeUse(tok.line, tok.text,
                                    lines[tok.line - 1].strip()))
    return uses


def own_body_labels(stmts: list[Stmt], lines: list[str]) -> list[TypeUse]:
    """DMA labels of a gate switch whose group does not also hold
    UNMANAGED: DMA domains no longer run that group's code."""
    uses, group = [], []
    for st in stmts + [Stmt('end')]:
        if st.kind == 'label':
            group.append(st)
            continue
        if not group:
            continue
        names = [g.words()[0] for g in group]
        if 'IOMMU_DOMAIN_UNMANAGED' not in names and \
                not (st.kind == 'return' and rejects(st)):
            for g in group:
                if g.words()[0] in ('IOMMU_DOMAIN_DMA',
                                    'IOMMU_DOMAIN_DMA_FQ'):
                    uses.append(TypeUse(g.line, g.words()[0],
                                        lines[g.line - 1].strip()))
        group = []
    return uses


@functools.lru_cache(maxsize=256)
def param_names(text: str, function: str) -> tuple[str, ...] | None:
    """The parameter names of function's definition in text, or None."""
    clean = code(text)
    for m in re.finditer(rf'\b{re.escape(function)}\s*\(([^()]*)\)\s*\{{',
                         clean):
        names = [(re.findall(r'\w+', a) or [''])[-1]
                 for a in m.group(1).split(',')]
        return () if names == ['void'] else tuple(names)
    return None


def type_passed_on(text: str, function: str, param: str
                   ) -> list[tuple[str, str]]:
    """(callee, its parameter) for calls in function that hand param on to
    a function defined in text."""
    clean = code(text)
    start, end, _ = function_body(clean, function)
    toks = tokens(clean, start + 1, end)
    out: list[tuple[str, str]] = []
    for k, tok in enumerate(toks[:-1]):
        if not re.fullmatch(r'[A-Za-z_]\w*', tok.text) or \
                toks[k + 1].text != '(' or tok.text in KEYWORDS | {
                    'if', 'while', 'for', 'switch', 'return', 'sizeof'}:
            continue
        args, depth, arg = [], 0, []
        for t in toks[k + 1:]:
            depth += (t.text in '([{') - (t.text in ')]}')
            if depth == 0:
                args.append(arg)
                break
            if depth == 1 and t.text == ',':
                args.append(arg)
                arg = []
            elif not (depth == 1 and t.text == '('):
                arg.append(t.text)
        if [param] not in args:
            continue
        callee_params = param_names(text, tok.text)
        for i, a in enumerate(args):
            if a == [param] and callee_params and i < len(callee_params) \
                    and (tok.text, callee_params[i]) not in out:
                out.append((tok.text, callee_params[i]))
    return out


def all_tokens(s: Stmt) -> list[Tok]:
    out = list(s.head)
    for b in s.body + s.orelse:
        out += all_tokens(b)
    return out


def c_if(s: Stmt, indent: str) -> list[str]:
    if rejects(s):
        return [indent + 'return true;']
    if s.kind == 'block':
        return sum((c_if(b, indent) for b in s.body if not plain(b)), [])
    then = c_if(s.body[0], indent + '\t')
    other = c_if(s.orelse[0], indent + '\t') if s.orelse else []
    if len(then) == 1 and len(other) <= 1:
        out = [f'{indent}if ({c_text(s.head)})'] + then
        return out + ([indent + 'else'] + other if other else [])
    out = [f'{indent}if ({c_text(s.head)}) {{'] + then
    if other:
        out += [f'{indent}}} else {{'] + other
    return out + [indent + '}']


def c_text(toks: list[Tok]) -> str:
    """Tokens as C text, spaced in kernel style."""
    out = ''
    for k, tok in enumerate(toks):
        prev = toks[k - 1].text if k else ''
        unary = prev in ('', '(', '!', '~', '&&', '||', '==', '!=')
        if k and tok.text not in (')', ',') and prev != '(' and \
                not (prev in ('!', '~') and unary) and \
                not (tok.text == '(' and re.fullmatch(r'\w+', prev)
                     and prev not in ('if', 'return')):
            out += ' '
        out += tok.text
    return out


def c_switch(s: Stmt) -> tuple[list[str], list[Tok]]:
    """The switch with each label group's body reduced to its verdict."""
    stmts = s.body[0].body if s.body[0].kind == 'block' else s.body
    out = ['\tswitch (' + c_text(s.head) + ') {']
    labels: list[Tok] = []
    i = 0
    while i < len(stmts):
        if stmts[i].kind != 'label':
            i += 1          # unreachable code before the first label
            continue
        while i < len(stmts) and stmts[i].kind == 'label':
            w = stmts[i].words()
            if w[0].startswith('goto:'):
                raise Unmodelled(f'line {stmts[i].line}: label in switch')
            out.append('\tdefault:' if w == ['default']
                       else f'\tcase {c_text(stmts[i].head)}:')
            labels += stmts[i].head if w != ['default'] else []
            i += 1
        if i == len(stmts):
            out.append('\t\tbreak;')
        elif rejects(stmts[i]):
            out.append('\t\treturn true;')
        elif stmts[i].kind == 'break':
            out.append('\t\tbreak;')
        else:
            out.append('\t\treturn false;')   # a body of its own
        while i < len(stmts) and stmts[i].kind != 'label':
            i += 1
    return out + ['\t}'], labels


def free_variables(toks: list[Tok], param: str) -> list[str]:
    names: list[str] = []
    for k, tok in enumerate(toks):
        w = tok.text
        if not re.fullmatch(r'[A-Za-z_]\w*', w) or w == param or \
                w in KEYWORDS or re.fullmatch(r'(__)?IOMMU_DOMAIN_\w+', w):
            if w in ('->', '.'):
                raise Unmodelled(f'line {tok.line}: reads a structure '
                                 f'member')
            continue
        if k + 1 < len(toks) and toks[k + 1].text == '(':
            raise Unmodelled(f'line {tok.line}: calls {w}()',
                             'own-cookie' if w == 'iommu_get_dma_cookie'
                             else 'shape')
        if w not in names:
            names.append(w)
    return names


@dataclass
class Check:
    """What the rewrite declared for the ops, checked against the gate."""
    use_dma_iommu: bool
    allow_dma_fq: bool
    core_dma_fq: bool
    legacy_var: str | None = None


@dataclass
class Evaluation:
    variables: list[str]
    # type name -> the variable assignments under which it is accepted
    before: dict[str, list[tuple[int, ...]]]
    after: dict[str, list[tuple[int, ...]]]
    verdict: str | None         # proved / counterexample: ..., or None
    program: str = ''

    @property
    def proved(self) -> bool:
        return self.verdict == 'proved'


def compiler() -> str:
    for cc in ('cc', 'gcc'):
        if shutil.which(cc):
            return cc
    raise ToolError('no host C compiler (cc or gcc): run `make deps`')


def program(types: DomainTypes, before: Gate, after: Gate,
            check: Check | None, where: str) -> tuple[str, list[str]]:
    variables = list(before.variables)
    for v in after.variables + ([check.legacy_var] if check and
                                check.legacy_var else []):
        if v not in variables:
            variables.append(v)
    if len(variables) > MAX_VARS:
        raise Unmodelled(f'gate reads {len(variables)} variables')
    defined = {d.split()[1] for d in types.defines}
    for name in before.constants + after.constants:
        if name not in defined:
            raise Unmodelled(f'its gate names {name}, which '
                             f'include/linux/iommu.h does not define',
                             'undefined-type')

    def decls(gate: Gate) -> str:
        return '\n'.join(f'\tconst int {v} = v[{variables.index(v)}];\n'
                         f'\t(void){v};' for v in gate.variables)
    legacy = variables.index(check.legacy_var) \
        if check and check.legacy_var else -1
    fill = {
        'WHERE': where,
        'DEFINES': '\n'.join(types.defines),
        'NR_VARS': str(len(variables)),
        'CHECK': '1' if check else '0',
        'USE_DMA_IOMMU': str(int(bool(check and check.use_dma_iommu))),
        'ALLOW_DMA_FQ': str(int(bool(check and check.allow_dma_fq))),
        'CORE_DMA_FQ': str(int(bool(check and check.core_dma_fq))),
        'LEGACY_VAR': f'({legacy})',
        'TYPES': '\n'.join(f'\t{{ "{types.short(n)}", {n} }},'
                           for n in types.names),
        'VAR_NAMES': '\n'.join(f'\t"{v}",' for v in variables),
        'PARAM': before.param,
        'BEFORE_VARS': decls(before),
        'AFTER_VARS': decls(after),
        'BEFORE': '\n'.join(before.c),
        'AFTER': '\n'.join(rename(after.c, after.param, before.param)),
    }
    text = TEMPLATE.read_text()
    for key, value in fill.items():
        if key in SETTINGS:
            text, n = re.subn(rf'^(#define {key}\s+)\S+$',
                              lambda m: m.group(1) + value, text, flags=re.M)
        else:
            n = text.count(f'@{key}@')
            text = text.replace(f'@{key}@', value)
        if not n:
            raise ToolError(f'{TEMPLATE.name}: no {key} in the template')
    return text, variables


def rename(lines: list[str], old: str, new: str) -> list[str]:
    if old == new:
        return lines
    return [re.sub(rf'\b{re.escape(old)}\b', new, x) for x in lines]


# Evaluations by program text (the text fixes the result: the compiler and
# the program are deterministic), so the report can build all its programs
# first (evaluate_all) and then read them in order; bounded.
_EVALUATED: 'OrderedDict[str, Evaluation | Unmodelled]' = OrderedDict()
_EVALUATED_MAX = 256
_LOCK = threading.Lock()


@dataclass
class Request:
    """One evaluate() call, made ahead by evaluate_all()."""
    types: DomainTypes
    before: Gate
    after: Gate
    check: Check | None
    where: str


def evaluate(types: DomainTypes, before: Gate, after: Gate,
             check: Check | None, where: str) -> Evaluation:
    """Build and run the program; its output is the evaluation."""
    text, variables = program(types, before, after, check, where)
    with _LOCK:
        hit = _EVALUATED.get(text)
    if hit is None:
        hit = remember(text, variables, check, where,
                       compile_and_run(text))
    if isinstance(hit, Unmodelled):
        raise Unmodelled(str(hit), hit.kind)
    return hit


def evaluate_all(requests: list[Request], jobs: int = 1) -> None:
    """Evaluate many programs at once, for evaluate() to find: the ones no
    cache has are built together, one program per job (see batch())."""
    todo: dict[str, tuple[list[str], Request]] = {}
    for req in requests:
        try:
            text, variables = program(req.types, req.before, req.after,
                                      req.check, req.where)
        except Unmodelled:
            continue
        with _LOCK:
            if text in _EVALUATED:
                continue
        todo.setdefault(text, (variables, req))
    for text, out in outcomes(list(todo), jobs).items():
        variables, req = todo[text]
        remember(text, variables, req.check, req.where, out)


def remember(text: str, variables: list[str], check: Check | None,
             where: str, out: dict) -> 'Evaluation | Unmodelled':
    try:
        hit: Evaluation | Unmodelled = parse_outcome(text, variables,
                                                     check, where, out)
    except Unmodelled as e:
        hit = e
    with _LOCK:
        _EVALUATED[text] = hit
        while len(_EVALUATED) > _EVALUATED_MAX:
            _EVALUATED.popitem(last=False)
    return hit


@functools.lru_cache(maxsize=None)
def compiler_identity() -> str:
    cc = compiler()
    out = subprocess.run([cc, '--version'], capture_output=True,
                         text=True).stdout
    return f'{shutil.which(cc)}\n{out.splitlines()[0] if out else ""}'


def outcome_key(text: str) -> str:
    return cache.key(b'iommu-dma proof outcome 1', compiler_identity(),
                     '\0'.join(CFLAGS), text)


def cached_outcome(text: str) -> dict | None:
    store = cache.Cache.from_env()
    out = store.get(outcome_key(text)) if store else None
    return out if isinstance(out, dict) else None


def keep_outcome(text: str, out: dict) -> None:
    store = cache.Cache.from_env()
    if store is not None and out.get('status', 0) in (0, 1):
        store.put(outcome_key(text), out)


def compile_and_run(text: str) -> dict:
    """outcomes() of one program."""
    return outcomes([text])[text]


def build_and_run(text: str) -> dict:
    with tempfile.TemporaryDirectory(prefix='iommu-dma-proof-') as tmp:
        src, exe = Path(tmp) / 'proof.c', Path(tmp) / 'proof'
        src.write_text(text)
        echo([compiler(), *CFLAGS, '-o', str(exe), str(src)])
        res = subprocess.run([compiler(), *CFLAGS, '-o', str(exe),
                              str(src)], capture_output=True, text=True)
        if res.returncode != 0:
            first = next((x for x in res.stderr.splitlines()
                          if 'error' in x), res.stderr.strip())
            return {'error': first.split("error: ")[-1]}
        run = subprocess.run([str(exe)], capture_output=True, text=True,
                             timeout=60)
    return {'status': run.returncode, 'stdout': run.stdout}


def outcomes(texts: list[str], jobs: int = 1) -> dict[str, dict]:
    """Per program text, {'error': first compiler error} or {'status':
    .., 'stdout': ..}: read from $IOMMU_DMA_CACHE/proof/ (kept there by
    compiler, flags and program text, like the spatch results in
    spatch.ResultCache), the others built as one batch() per job, side by
    side, and kept."""
    done: dict[str, dict] = {}
    todo = []
    for text in texts:
        out = cached_outcome(text)
        if out is None:
            todo.append(text)
        else:
            done[text] = out
    lanes = max(1, min(jobs, len(todo)))
    chunks = [todo[k::lanes] for k in range(lanes)] if todo else []
    with ThreadPoolExecutor(max(1, len(chunks))) as pool:
        for found in pool.map(batch_outcomes, chunks):
            for text, out in found.items():
                keep_outcome(text, out)
                done[text] = out
    return done


BATCH_MARK = '@@iommu-dma proof '


@functools.lru_cache(maxsize=None)
def template_symbols() -> tuple[str, ...]:
    """The file-scope names of the template, renamed per program in a
    batch: its functions, arrays and struct tags, and main."""
    tmpl = TEMPLATE.read_text()
    names = set(re.findall(r'^static\b[^=;(]*?\b(\w+)\s*[\[(]', tmpl,
                           re.M))
    names |= set(re.findall(r'^struct (\w+)', tmpl, re.M)) | {'main'}
    return tuple(sorted(names))


def batch(texts: list[str]) -> str:
    """Several programs as one: each one's file-scope names renamed by
    #define (main becomes main__proofK), its own #defines undone after
    it, and a main() that runs them in order, each output after a mark
    line and followed by its status. The programs stay exactly as they
    are; one compiler run and one link instead of one per program."""
    out = ['#include <stdbool.h>', '#include <stdio.h>', '']
    symbols = template_symbols()
    for k, text in enumerate(texts):
        out += [f'#define {s} {s}__proof{k}' for s in symbols]
        out.append(text)
        defined = set(re.findall(r'^\s*#\s*define\s+(\w+)', text, re.M))
        out += [f'#undef {m}' for m in sorted(defined | set(symbols))]
    out += ['', 'int main(void)', '{']
    out += [f'\tint main__proof{k}(void);' for k in range(len(texts))]
    out.append('')
    for k in range(len(texts)):
        out += [f'\tprintf("{BATCH_MARK}{k}\\n");',
                f'\tprintf("{BATCH_MARK}status %d\\n", main__proof{k}());']
    out += ['\treturn 0;', '}']
    return '\n'.join(out) + '\n'


def batch_outcomes(texts: list[str]) -> dict[str, dict]:
    """build_and_run() of each text through one batch(); a batch that does
    not build (a gate that is not C) or run to its end falls back to one
    program each, so every text gets exactly its own outcome."""
    if len(texts) > 1:
        out = build_and_run(batch(texts))
        found = split_batch(out.get('stdout', ''), len(texts)) \
            if out.get('status') == 0 else None
        if found is not None:
            return {text: {'status': status, 'stdout': stdout}
                    for text, (status, stdout) in zip(texts, found)}
    return {text: build_and_run(text) for text in texts}


def split_batch(stdout: str, n: int) -> list[tuple[int, str]] | None:
    found: list[tuple[int, str]] = []
    lines: list[str] | None = None
    for line in stdout.splitlines(keepends=True):
        if line == f'{BATCH_MARK}{len(found)}\n' and lines is None:
            lines = []
        elif line.startswith(f'{BATCH_MARK}status ') and lines is not None:
            found.append((int(line.split()[-1]), ''.join(lines)))
            lines = None
        elif lines is not None:
            lines.append(line)
        else:
            return None
    return found if len(found) == n and lines is None else None


def parse_outcome(text: str, variables: list[str], check: Check | None,
                  where: str, out: dict) -> Evaluation:
    if 'error' in out:
        raise Unmodelled(f'the gate does not compile as C: {out["error"]}')
    run = subprocess.CompletedProcess([], out['status'], out['stdout'], '')
    if run.returncode not in (0, 1):
        raise ToolError(f'{where}: proof program failed '
                        f'(status {run.returncode})')
    ev = Evaluation(variables, {}, {}, None, text)
    for line in run.stdout.splitlines():
        m = re.fullmatch(r'eval (\w+)((?: \w+=[01])*) before=([01]) '
                         r'after=([01])', line)
        if m:
            values = tuple(int(x.split('=')[1]) for x in m.group(2).split())
            if m.group(3) == '1':
                ev.before.setdefault(m.group(1), []).append(values)
            if m.group(4) == '1':
                ev.after.setdefault(m.group(1), []).append(values)
        elif line == 'proved' or line.startswith('counterexample: '):
            ev.verdict = line
    if check and ev.verdict is None:
        raise ToolError(f'{where}: proof program gave no verdict')
    if check and (run.returncode == 0) != ev.proved:
        raise ToolError(f'{where}: proof program status and verdict '
                        f'disagree')
    return ev


def accepted(ev_side: dict[str, list[tuple[int, ...]]],
             variables: list[str], types: DomainTypes) -> list[str]:
    """Accepted types, short names; `T[v=0]` when only for some values."""
    out = []
    everything = 1 << len(variables)
    for name in types.names:
        when = ev_side.get(types.short(name), [])
        if not when:
            continue
        short = types.short(name)
        if len(when) == everything:
            out.append(short)
            continue
        conds = []
        for k, var in enumerate(variables):
            values = {w[k] for w in when}
            if len(values) == 1 and len(when) == everything // 2:
                conds.append(f'{var}={values.pop()}')
        if len(conds) == 1:
            out.append(f'{short}[{conds[0]}]')
        else:
            out.append(f'{short}[{len(when)}/{everything}]')
    return out
