"""Several semantic patches in one spatch pass: each file parsed once.

The rules stay separate files under cocci/ (the kernel's make coccicheck
runs them one by one); the pipeline may run some of them together. A pass
is a list of sections, each one semantic patch with its own -D modes:

  read-only sections first (report/record modes, no -D patch: they
  change nothing), then at most one section that may change the file.

Every section then sees exactly what its own run would see (the file as
it was before the pass, with real file names and line numbers: spatch
reparses a file into temporary "small" files only after a rule changed
it, so nothing may come after the changing section), and its events and
the changed file are exactly what its own run gives. prime() enters each
section's per-file result into spatch.MEMO under the key its own
spatch.run() would use, so the pipeline's own calls (parsecheck.unparsed, the
steps, the report's inventory) find them there and start no spatch.

A chained pass (run_chained) lets several sections change the file, one
after the other, after the read-only ones: each then matches what the
ones before it made of the file (spatch reparses what a rule changed),
and its events name spatch's temporary files where it matched a reparsed
part; they are mapped back to the file of the pass (small_file_owner).
That this gives what the rules give one by one is not a property of
spatch this module can check: tools/tests/test_speed.py compares the two
on every tree it has. The changing sections' results cannot be entered
in MEMO for their own runs (their input never exists on disk): the caller
takes them as they are (rewrite.fused_group).

The combined semantic patch is generated: each section's rules, virtual
rules and rule references are renamed with a section prefix (its -D modes
too), its Python is kept as it is. It is refused (NotCombinable, and the
caller runs the sections one by one) when the sections' Python globals
would collide, when an event name does not tell which section emitted it,
or when their options differ. IOMMU_DMA_COMBINE=0 turns combining off,
and with it the other fast paths of rewrite.compute (the header step run
beside the candidate grep, the drivers' steps in groups side by side):
every rule then runs over all its files in order, as before (tests
compare both ways).
"""

from __future__ import annotations

import ast
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cache
from . import spatch as _spatch
from .errors import ToolError
from .spatch import (EVENT_PREFIX, MEMO, QUIET, TIMEOUT, ResultCache,
                     SemanticPatch, command, interrupted_or_failed,
                     python_option, replace_file)

COMBINE_ENV = 'IOMMU_DMA_COMBINE'
CACHE_FORMAT = b'iommu-dma combined pass 1'
HEADER = re.compile(r'^@([^@]*)@\s*$')
SCRIPT_KINDS = ('script:python', 'initialize:python', 'finalize:python')
EMIT_CALL = re.compile(r'\bemit\(')
EMIT_NAMED = re.compile(r"\bemit\(\s*'([\w-]+)'")
# `identifier fn : script:python(a, b) {`: fn, and a and b
CONSTRAINT = re.compile(r'(\w+)\s*:\s*script:python\s*\(([^)]*)\)')


class NotCombinable(Exception):
    pass


def enabled() -> bool:
    return os.environ.get(COMBINE_ENV, '1') != '0'


@dataclass(frozen=True)
class Section:
    sp: SemanticPatch
    modes: tuple[str, ...]

    def wanted(self) -> list[str]:
        """The -D modes its own run passes (only declared virtuals)."""
        return [m for m in self.modes if m in self.sp.virtuals()]

    @property
    def changes(self) -> bool:
        return 'patch' in self.wanted()


@dataclass
class Rule:
    header: str           # between the @s
    decls: list[str]      # metavariable lines (script: bindings)
    body: list[str]       # after @@


def split_rules(text: str) -> tuple[list[str], list[Rule]]:
    """(virtual names, rules) of a semantic patch."""
    virtuals, rules = [], []
    cur: Rule | None = None
    in_decls = False
    for line in text.split('\n'):
        m = HEADER.match(line)
        if m and line.strip() != '@@':
            cur = Rule(m.group(1).strip(), [], [])
            rules.append(cur)
            in_decls = True
            continue
        if cur is None:
            v = re.match(r'virtual\s+(\w+)\s*$', line)
            if v:
                virtuals.append(v.group(1))
            continue
        if in_decls and line.strip() == '@@':
            in_decls = False
            continue
        (cur.decls if in_decls else cur.body).append(line)
    return virtuals, rules


def rule_name(header: str) -> str | None:
    first = header.split()[0] if header.split() else ''
    if not first or first == 'depends' or first.startswith(SCRIPT_KINDS):
        return None
    return first


def python_names(code: str) -> tuple[dict[str, str], set[str]]:
    """Module-level definitions (name -> the statement, dumped) and every
    global name the code stores (at top level, or through `global`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise NotCombinable(f'python does not parse: {e}') from None
    defs: dict[str, str] = {}
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(a.asname or a.name).split('.')[0] for a in node.names]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            # a value, not a definition: never shared between sections
            names = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store)]
            for n in names:
                defs[n] = ''
            continue
        for n in names:
            defs[n] = ast.dump(node)
    stored: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.Lambda, ast.ClassDef)):
            in_function = True
        if isinstance(node, ast.Global):
            stored.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                and not in_function:
            stored.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, in_function)
    visit(tree, False)
    return defs, stored | set(defs)


@dataclass
class Combined:
    text: str
    options: list[str]
    defines: list[str]            # -D flags of the combined run
    events: dict[str, int]        # event name -> section index


def generate(sections: list[Section], chained: bool = False) -> Combined:
    """The combined semantic patch, or NotCombinable. chained: several
    sections may change the file, one after the other (run_chained)."""
    if not sections:
        raise NotCombinable('no sections')
    changing = [k for k, s in enumerate(sections) if s.changes]
    if not chained and any(k < len(sections) - 1 for k in changing):
        raise NotCombinable('only the last section may change files')
    if changing and any(not s.changes for s in sections[changing[0]:]):
        raise NotCombinable('a read-only section after a changing one')
    options = sections[0].sp.options()
    out: list[str] = []
    head: list[str] = []        # every virtual goes before the first rule
    defines: list[str] = []
    events: dict[str, int] = {}
    script_sets: list[set[str]] = []
    init_sets: list[set[str]] = []
    def_sets: list[dict[str, str]] = []
    for k, sec in enumerate(sections):
        if sec.sp.options() != options:
            raise NotCombinable(f'{sec.sp.name}: options differ')
        prefix = f's{k}_'
        text = sec.sp.path.read_text()
        virtuals, rules = split_rules(text)
        names = {n for n in (rule_name(r.header) for r in rules) if n}
        if len(names) != len([r for r in rules if rule_name(r.header)]):
            raise NotCombinable(f'{sec.sp.name}: a rule name twice')
        renamed = names | set(virtuals)

        def ren_expr(expr: str) -> str:
            return re.sub(r'\b\w+\b', lambda m: prefix + m.group(0)
                          if m.group(0) in renamed else m.group(0), expr)

        def ren_decl(line: str) -> str:
            return re.sub(r'\b(\w+)\.(\w+)\b',
                          lambda m: prefix + m.group(0)
                          if m.group(1) in names else m.group(0), line)
        out.append(f'// section {k}: {sec.sp.name}.cocci '
                   f'-D {" -D ".join(sec.wanted()) or "(none)"}')
        head += [f'virtual {prefix}{v}' for v in virtuals]
        defines += [f'{prefix}{m}' for m in sec.wanted()]
        init_names: set[str] = set()
        script_names: set[str] = set()
        init_defs: dict[str, str] = {}
        for r in rules:
            header = r.header
            dep = re.search(r'\bdepends on\b(.*)$', header)
            if dep:
                header = header[:dep.start(1)] + ren_expr(dep.group(1))
            name = rule_name(header)
            if name:
                header = prefix + header
            out.append(f'@{header}@')
            out += [ren_decl(d) for d in r.decls]
            out.append('@@')
            out += r.body
            kind = header.split()[0]
            # A script constraint binds its metavariable and parameters
            # as Python globals while it runs (spatch 1.1.1).
            script_names |= {n for d in r.decls
                             for m in [CONSTRAINT.search(d)] if m
                             for n in re.findall(r'\w+', m.group(1) +
                                                 ',' + m.group(2))}
            if kind.startswith(SCRIPT_KINDS):
                # SmPL comments between rules are not Python
                defs, stored = python_names('\n'.join(
                    x for x in r.body if not x.lstrip().startswith('//')))
                if kind == 'initialize:python':
                    init_defs.update(defs)
                    init_names |= stored
                else:
                    script_names |= stored | {
                        m.group(1) for d in r.decls
                        for m in [re.match(r'\s*(\w+)\s*<<', d)] if m}
        emitted = EMIT_NAMED.findall(text)
        calls = len(EMIT_CALL.findall(text))
        if calls != len(emitted) + text.count('def emit('):
            raise NotCombinable(f'{sec.sp.name}: an event whose name is '
                                f'not a literal')
        if text.count(EVENT_PREFIX.strip()) != text.count('def emit('):
            raise NotCombinable(f'{sec.sp.name}: prints events outside '
                                f'emit()')
        for name in set(emitted):
            if name in events and events[name] != k:
                raise NotCombinable(f'event {name} comes from two '
                                    f'sections')
            events[name] = k
        init_sets.append(init_names)
        script_sets.append(script_names)
        def_sets.append(init_defs)
        out.append('')
    # A script of one section must not assign what another section's
    # Python keeps between rules (identical definitions may be shared).
    for k, inits in enumerate(init_sets):
        for j, scripts in enumerate(script_sets):
            if j != k and inits & scripts:
                clash = sorted(inits & scripts)[0]
                raise NotCombinable(f'python global {clash} of section {k} '
                                    f'assigned by section {j}')
    # Two sections may share a global only as the same function or import.
    for k, inits in enumerate(init_sets):
        for j in range(k + 1, len(init_sets)):
            for n in sorted(inits & init_sets[j]):
                same = def_sets[k].get(n) or None
                if same is None or same != def_sets[j].get(n):
                    raise NotCombinable(f'python global {n} in sections '
                                        f'{k} and {j}')
    return Combined('\n'.join(head + [''] + out) + '\n', options, defines,
                    events)


def run_combined(sections: list[Section], cwd: Path, files: list[str],
                 jobs: int, chained: bool = False
                 ) -> dict[str, tuple[list[list[dict]], bytes | None]]:
    """Run the pass in place on files (relative to cwd): per file, the
    events of each section and the new content (None: unchanged)."""
    comb = generate(sections, chained)
    if chained:
        jobs = 1        # one file after the other: see small_file_owner()
    cache = ResultCache.from_env()
    cmd_tail = [*python_option(), *QUIET, '--timeout', str(TIMEOUT),
                *comb.options]
    for d in comb.defines:
        cmd_tail += ['-D', d]
    before = {rel: (cwd / rel).read_bytes() for rel in files}
    keys = {rel: combined_key(comb.text, cmd_tail, rel, data)
            for rel, data in before.items()}
    results: dict[str, tuple[list[list[dict]], bytes | None]] = {}
    missing = []
    for rel in files:
        hit = cache.get(keys[rel]) if cache else None
        if hit is None:
            missing.append(rel)
            continue
        flat, after = hit
        results[rel] = (per_section(flat, len(sections)), after)
        if after is not None:
            replace_file(cwd / rel, after)
    if missing:
        fd, sp_path = tempfile.mkstemp(prefix='.combined.', suffix='.cocci',
                                       dir=cwd)
        with os.fdopen(fd, 'w') as f:
            f.write(comb.text)
        try:
            flat = run_pass(Path(sp_path), cwd, missing, cmd_tail, jobs,
                            comb, sections)
        finally:
            os.unlink(sp_path)
        by_file: dict[str, list[dict]] = {rel: [] for rel in missing}
        current = None
        for e in flat:
            rel = os.path.normpath(str(e.get('file', '')))
            if rel not in by_file and chained:
                rel = small_file_owner(rel, current, missing)
                e['file'] = rel
            if rel not in by_file:
                raise NotCombinable(f'an event names no file of the pass: '
                                    f'{e}')
            by_file[rel].append(e)
            current = rel
        for rel in missing:
            data = (cwd / rel).read_bytes()
            after = None if data == before[rel] else data
            results[rel] = (per_section(by_file[rel], len(sections)), after)
            if cache:
                cache.put(keys[rel], by_file[rel], after)
    return results


# After a rule changed a function or declaration, spatch reparses it from a
# temporary file named after the real one; positions in it name that file.
SMALL_FILE = re.compile(r'cocci_small_output-\d+-[0-9a-f]+-(.+)$')


def small_file_owner(name: str, current: str | None,
                     files: list[str]) -> str:
    """The file of the pass a small file came from: the one with its base
    name; of several, the file spatch is at (one file after the other; the
    first events of each name it, the read-only sections coming first)."""
    m = SMALL_FILE.search(os.path.basename(name))
    if not m:
        return name
    owners = [f for f in files if os.path.basename(f) == m.group(1)]
    if current in owners:
        return current
    if len(owners) == 1:
        return owners[0]
    raise NotCombinable(f'{name}: from which of {", ".join(owners)}?')


def run_chained(sections: list[Section], cwd: Path, files: list[str]
                ) -> dict[str, tuple[list[list[dict]], bytes | None]]:
    """Every section on files in one pass, the changing ones changing the
    file one after the other, in order: per file, each section's events
    (their file names mapped back from spatch's small files) and the text
    the last one leaves. The read-only sections (first) see the file as
    it was; each changing one sees what the ones before it made of it, in
    spatch's memory. The files are left as they were."""
    before = {rel: (cwd / rel).read_bytes() for rel in files}
    try:
        return run_combined(sections, cwd, files, 1, chained=True)
    finally:
        for rel, data in before.items():
            if (cwd / rel).read_bytes() != data:
                replace_file(cwd / rel, data)


def per_section(flat: list[dict], n: int) -> list[list[dict]]:
    out: list[list[dict]] = [[] for _ in range(n)]
    for e in flat:
        out[e['_section']].append({k: v for k, v in e.items()
                                   if k != '_section'})
    return out


def combined_key(text: str, cmd: list[str], rel: str, data: bytes) -> str:
    return cache.key(CACHE_FORMAT, _spatch.spatch_version(), text,
                     '\0'.join(cmd), rel, data)


def run_pass(sp_path: Path, cwd: Path, files: list[str], cmd_tail: list[str],
             jobs: int, comb: Combined, sections: list[Section]
             ) -> list[dict]:
    res = _spatch.run_file_groups(
        ['spatch', '--sp-file', str(sp_path), *cmd_tail], cwd, files, jobs,
        'combined')
    names = '+'.join(s.sp.name for s in sections)
    interrupted_or_failed(res, f'{names} (combined)')
    events = []
    for line in res.stdout.splitlines():
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            k = comb.events.get(event.get('event'))
            if k is None:
                raise NotCombinable(f'unattributed event {event}')
            event['_section'] = k
            events.append(event)
    return events


def prime(sections: list[Section], cwd: Path, files: list[str],
          jobs: int) -> bool:
    """Run the sections as one pass on files in cwd and remember each
    section's per-file result for spatch.run(); False when they cannot be
    combined (nothing run: the caller's own runs do the work).

    The files in cwd are left as they were: the last section's changes
    are made by its own run(), from MEMO, when the pipeline gets there."""
    if not enabled() or not files:
        return False
    try:
        generate(sections)
    except NotCombinable:
        return False
    before = {rel: (cwd / rel).read_bytes() for rel in files}
    try:
        results = run_combined(sections, cwd, files, jobs)
    except NotCombinable as e:
        raise ToolError(f'combined spatch pass: {e}') from None
    finally:
        for rel, data in before.items():
            if (cwd / rel).read_bytes() != data:
                replace_file(cwd / rel, data)
    last = len(sections) - 1
    for k, sec in enumerate(sections):
        cmd = command(sec.sp, list(sec.modes))
        for rel in files:
            events, after = results[rel]
            key = ResultCache.key(sec.sp, cmd, rel, before[rel])
            MEMO[key] = (events[k], after if k == last else None)
    return True
