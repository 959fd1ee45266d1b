"""Prove, by running C, that a rewritten domain_alloc gate keeps its meaning.

"Accepts type T" means the gate (gate.py, from what spatch matched) does
not reject T. The gates before and after the rewrite are copied, as C, into a program
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .errors import ToolError
from .gate import Gate, Unmodelled
from .spatch import echo

TEMPLATE = Path(__file__).with_name('proof_template.c')
CFLAGS = ['-std=gnu11', '-O0', '-Wall', '-Wextra', '-Werror']
TYPE_PREFIX = 'IOMMU_DOMAIN_'
MAX_VARS = 6
# Template #defines whose value is set per program; the rest are @KEY@.
SETTINGS = ('NR_VARS', 'CHECK', 'USE_DMA_IOMMU', 'ALLOW_DMA_FQ',
            'CORE_DMA_FQ', 'LEGACY_VAR')

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


def blank(text: str) -> str:
    """Comments and string/char literals as spaces, newlines kept."""
    def spaces(s: str) -> str:
        return '\n'.join(' ' * len(x) for x in s.split('\n'))

    def space(m: re.Match) -> str:
        s = m.group(0)
        if s[0] in '"\'':
            return s[0] + spaces(s[1:-1]) + s[-1]
        return spaces(s)
    return re.sub(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"'
                  r"|'(?:\\.|[^'\\\n])*'", space, text, flags=re.S)


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
    variables = list(dict.fromkeys(before.variables + after.variables + (
        [check.legacy_var] if check and check.legacy_var else [])))
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
    return [re.sub(rf'\b{re.escape(old)}\b', new, x) for x in lines]


@dataclass
class Request:
    """One program to evaluate, with what its verdict is checked against."""
    types: DomainTypes
    before: Gate
    after: Gate
    check: Check | None
    where: str


def evaluate(types: DomainTypes, before: Gate, after: Gate,
             check: Check | None, where: str) -> Evaluation:
    """Build and run the program; its output is the evaluation."""
    (ev,) = evaluate_all([Request(types, before, after, check, where)])
    if isinstance(ev, Unmodelled):
        raise ev
    return ev


def evaluate_all(requests: list[Request], jobs: int = 1
                 ) -> list[Evaluation | Unmodelled]:
    """Evaluate many programs at once, in the order of requests: the ones
    no cache has are built together, one program per job (see batch())."""
    programs: list[tuple[str, list[str]] | Unmodelled] = []
    for req in requests:
        try:
            programs.append(program(req.types, req.before, req.after,
                                    req.check, req.where))
        except Unmodelled as e:
            programs.append(e)
    found = outcomes(list(dict.fromkeys(
        p[0] for p in programs if not isinstance(p, Unmodelled))), jobs)
    results: list[Evaluation | Unmodelled] = []
    for req, p in zip(requests, programs):
        if isinstance(p, Unmodelled):
            results.append(p)
            continue
        try:
            results.append(parse_outcome(p[1], req.check, req.where,
                                         found[p[0]]))
        except Unmodelled as e:
            results.append(e)
    return results


@functools.lru_cache(maxsize=None)
def compiler_identity() -> str:
    cc = compiler()
    out = subprocess.run([cc, '--version'], capture_output=True,
                         text=True).stdout
    return f'{shutil.which(cc)}\n{out.splitlines()[0] if out else ""}'


def outcome_key(text: str) -> str:
    return cache.key(b'iommu-dma proof outcome 1', compiler_identity(),
                     '\0'.join(CFLAGS), text)


def build_and_run(text: str) -> dict:
    with tempfile.TemporaryDirectory(prefix='iommu-dma-proof-') as tmp:
        src, exe = Path(tmp) / 'proof.c', Path(tmp) / 'proof'
        src.write_text(text)
        cmd = [compiler(), *CFLAGS, '-o', str(exe), str(src)]
        echo(cmd)
        res = subprocess.run(cmd, capture_output=True, text=True)
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
    spatch.run), the others built as one batch() per job, side by
    side, and kept."""
    store = cache.Cache.from_env()
    done: dict[str, dict] = {}
    for text in texts:
        out = store.get(outcome_key(text)) if store else None
        if isinstance(out, dict):
            done[text] = out
    todo = [text for text in texts if text not in done]
    lanes = max(1, min(jobs, len(todo)))
    chunks = [todo[k::lanes] for k in range(lanes)] if todo else []
    with ThreadPoolExecutor(max(1, len(chunks))) as pool:
        for found in pool.map(batch_outcomes, chunks):
            for text, out in found.items():
                if store is not None and out.get('status', 0) in (0, 1):
                    store.put(outcome_key(text), out)
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


def parse_outcome(variables: list[str], check: Check | None, where: str,
                  out: dict) -> Evaluation:
    if 'error' in out:
        raise Unmodelled(f'the gate does not compile as C: {out["error"]}')
    status = out['status']
    if status not in (0, 1):
        raise ToolError(f'{where}: proof program failed (status {status})')
    ev = Evaluation(variables, {}, {}, None)
    for line in out['stdout'].splitlines():
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
    if check and (status == 0) != ev.proved:
        raise ToolError(f'{where}: proof program status and verdict '
                        f'disagree')
    return ev


def accepted(ev_side: dict[str, list[tuple[int, ...]]],
             variables: list[str], types: DomainTypes) -> list[str]:
    """Accepted types, short names; `T[v=0]` when only for some values."""
    out = []
    everything = 1 << len(variables)
    for name in types.names:
        short = types.short(name)
        when = ev_side.get(short, [])
        if not when:
            continue
        if len(when) == everything:
            out.append(short)
            continue
        conds = []
        for k, var in enumerate(variables):
            values = {w[k] for w in when}
            if len(values) == 1 and len(when) == everything // 2:
                conds.append(f'{var}={values.pop()}')
        out.append(f'{short}[{conds[0]}]' if len(conds) == 1 else
                   f'{short}[{len(when)}/{everything}]')
    return out
