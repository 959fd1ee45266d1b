"""Compute the whole rewrite of a tree in a scratch copy, then write it.

spatch only ever runs on the scratch copy. The tree itself is written only
once every rule has run cleanly, file by file through a temporary file and
a rename, and the originals are kept in .iommu-dma/orig/ beside the record.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import (combine, era, events, gate, layout, parsecheck, spatch,
               upstream, version)
from .errors import ToolError
from .journal import Journal, sha256
from .holdback import hold_back_partial, partial_functions
from .record import Record
from .spatch import SemanticPatch, check_spatch, run
from .tree import IOMMU_C, IOMMU_H, KernelTree, copy_files

COCCI_DIR = Path(__file__).resolve().parents[2] / 'cocci'
PARTS = ('all', 'drivers', 'core')

# Core shapes, newest last: the semantic patch that recognises and rewrites
# each, and a token its pattern names (an iommu.c without it is not parsed
# for it). Whether DMA_FQ reaches drivers is a fact of the tree (era.py).
CORE_SHAPES = {
    'default-domain-fallback': ('core_default_domain', ''),
    'domain-alloc-legacy': ('core_domain_alloc_legacy',
                            'IOMMU_DOMAIN_ALLOC_FLAGS'),
}


@dataclass(frozen=True)
class Step:
    """One semantic patch, in the order a bisectable series needs."""
    cocci: str
    part: str      # drivers or core: what PARTS= selects
    phase: str     # fields, declare, core, drop
    scope: str     # header, drivers or core: the files it runs on
    # A token every pattern of the rule contains: files without it cannot
    # match, and are not parsed again (coccicheck's prefilter habit).
    needs: str = ''


STEPS = (
    Step('iommu_ops_fields', 'core', 'fields', 'header'),
    # Not IOMMU_DOMAIN_DMA: a domain_alloc without a type filter never
    # names it and still accepts it.
    Step('iommu_ops_dma_flags', 'drivers', 'declare', 'drivers',
         'domain_alloc'),
    Step('legacy_binding_no_dma', 'drivers', 'declare', 'drivers',
         'IOMMU_DOMAIN_DMA_FQ'),
    Step('core', 'core', 'core', 'core'),
    Step('domain_alloc_drop_dma', 'drivers', 'drop', 'drivers',
         'IOMMU_DOMAIN_DMA'),
)
AUDIT = 'domain_alloc_audit'
INVENTORY = 'iommu_ops_inventory'     # the report's (report.py)
# Modes of the core step (and of its shape detection, which runs it).
CORE_MODES = ['patch', 'record']
# Events that say a file was changed.
CHANGES = ('gate', 'flag', 'legacy-binding', 'field', 'core')


def cocci_dir() -> Path:
    """The semantic patches: cocci/, or $IOMMU_DMA_COCCI (tests)."""
    return Path(os.environ.get('IOMMU_DMA_COCCI') or COCCI_DIR)


def semantic_patch(name: str) -> SemanticPatch:
    return SemanticPatch(cocci_dir() / f'{name}.cocci')


@dataclass(frozen=True)
class ScannedTree(KernelTree):
    """The tree as compute() scanned it: candidates() answers from that
    scan (report.build asks again right after compute: no second grep)."""
    scanned: tuple[str, ...] = ()

    def candidates(self, jobs: int = 2) -> list[str]:
        return list(self.scanned)


@dataclass
class Rewrite:
    tree: KernelTree
    record: Record
    scratch: Path
    before: dict[str, bytes] = field(default_factory=dict)
    # Per record.steps entry: the files that step changed, as it left them.
    step_after: list[dict[str, bytes]] = field(default_factory=list)
    # Ops initializers and allocators spatch did not parse (parsecheck.py)
    unreachable: list[str] = field(default_factory=list)
    # The facts of the tree's core (era.py), read once before any rule
    era: era.Era | None = None

    def after(self, rel: str) -> bytes:
        return (self.scratch / rel).read_bytes()

    def diff(self) -> str:
        """The unified -p1 diff of the whole rewrite, from diff(1)."""
        out = []
        for rel in self.record.files:
            res = subprocess.run(
                ['diff', '-up', '--label', f'a/{rel}', '--label', f'b/{rel}',
                 str(self.tree.path / rel), str(self.scratch / rel)],
                capture_output=True, text=True, errors='surrogateescape')
            if res.returncode > 1:
                raise ToolError(f'diff failed on {rel}: {res.stderr.strip()}')
            out.append(res.stdout)
        return ''.join(out)


def core_state(tree: KernelTree) -> str | None:
    """'done' when iommu.h has the fields and iommu.c reads them, None
    when neither; a tree with one but not the other is refused."""
    header = 'use_dma_iommu' in tree.read(IOMMU_H)
    core = (tree.path / IOMMU_C).exists() and \
        'use_dma_iommu' in tree.read(IOMMU_C)
    if header != core:
        done, pending = (IOMMU_H, IOMMU_C) if header else (IOMMU_C, IOMMU_H)
        raise ToolError(f'partly rewritten tree: already rewritten: {done}; '
                        f'not rewritten: {pending}; restore the originals '
                        f'(.iommu-dma/orig/) or finish by hand; nothing '
                        f'written')
    return 'done' if header else None


class Lanes:
    """Run independent work side by side when jobs > 1, else in order.

    Work is only ever handed to a lane when its files are disjoint from
    every other lane's: the candidate grep (reads the tree) beside the core
    shape detection (iommu.c), the header and core steps (iommu.h, iommu.c)
    beside the driver steps. Threads only wait on spatch and grep processes.
    """

    def __init__(self, jobs: int):
        # the grep or a run aside, the header and core steps, J groups
        self.pool = ThreadPoolExecutor(max_workers=4 + jobs) \
            if jobs > 1 else None

    @property
    def parallel(self) -> bool:
        return self.pool is not None

    def submit(self, fn, *args) -> Future:
        if self.pool:
            return self.pool.submit(fn, *args)
        done: Future = Future()
        try:
            done.set_result(fn(*args))
        except BaseException as e:   # raised again by .result(), in order
            done.set_exception(e)
        return done

    def close(self) -> None:
        if self.pool:
            self.pool.shutdown(wait=True)


class IdleLanes:
    """Lanes whose group of drivers is done: a group that reaches its audit
    then splits it with them (fused_group), instead of leaving a core idle
    while it audits alone (6.12: the two files to audit in one group)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.free = 0

    def take(self, most: int) -> int:
        with self.lock:
            n = max(0, min(self.free, most))
            self.free -= n
            return n

    def give(self, n: int) -> None:
        with self.lock:
            self.free += n


def run_split(sp: SemanticPatch, cwd: Path, files: list[str],
              modes: list[str], idle: IdleLanes | None) -> None:
    """run() of sp on files, in as many spatch processes side by side as
    there are idle lanes to take, plus this one; results land in MEMO."""
    extra = idle.take(len(files) - 1) if idle else 0
    if not extra:
        run(sp, cwd, files, modes)
        return
    try:
        weight = {f: (cwd / f).stat().st_size for f in files}
        parts = partition(files, weight, 1 + extra)
        with ThreadPoolExecutor(len(parts) - 1) as pool:
            aside = [pool.submit(run, sp, cwd, part, modes)
                     for part in parts[1:]]
            run(sp, cwd, parts[0], modes)
            for done in aside:
                done.result()
    finally:
        idle.give(extra)


def run_aside(scratch: Path, cocci: str, rel: str,
              modes: list[str]) -> list[dict]:
    """Run cocci, as its step will, on a copy of scratch/rel of its own:
    scratch is not changed, and the result waits in spatch.MEMO for the
    step's own run, which then starts no spatch."""
    sp = semantic_patch(cocci)
    before = (scratch / rel).read_bytes()
    with tempfile.TemporaryDirectory(prefix='iommu-dma-aside-') as tmp:
        copy_files(scratch, Path(tmp), [rel])
        events = run(sp, Path(tmp), [rel], modes)
        after = (Path(tmp) / rel).read_bytes()
    key = spatch.ResultCache.key(sp, spatch.command(sp, modes), rel, before)
    spatch.MEMO[key] = (events, None if after == before else after)
    return events


def detect_core_shape(scratch: Path, lanes: 'Lanes | None' = None
                      ) -> str | None:
    """The first shape in CORE_SHAPES whose rule recognises iommu.c.

    Each rule runs as the core step will (-D patch -D record), aside: the
    core step then reuses the run. With lanes, all of them side by side;
    without, one after the other until one recognises it."""
    lanes = lanes or Lanes(1)
    text = (scratch / IOMMU_C).read_bytes()
    found = None
    runs = []
    for shape, (cocci, needs) in CORE_SHAPES.items():
        if needs.encode() not in text:
            continue
        runs.append((shape, lanes.submit(run_aside, scratch, cocci, IOMMU_C,
                                         CORE_MODES)))
        if not lanes.parallel and recognised(runs[-1][1].result()):
            return shape
    for shape, run_ in runs:
        if recognised(run_.result()) and found is None:
            found = shape
    return found


def recognised(events: list[dict]) -> bool:
    return any(e['event'] == 'core-shape' for e in events)


def step_modes(dma_fq: bool) -> list[str]:
    return ['patch', 'record'] + (['dma_fq'] if dma_fq else [])


def run_steps(scratch: Path, steps: list[tuple[str, list[str]]],
              modes: list[str], jobs: int
              ) -> list[tuple[list[dict], list[str], dict[str, bytes]]]:
    """(cocci, files) in order; per step: events, files changed, after."""
    done = []
    for cocci, files in steps:
        before = snapshot(scratch, files)
        events = run(semantic_patch(cocci), scratch, files, modes, jobs)
        layout.tidy(cocci, scratch, files)   # kernel-doc, alignment
        files = changed(scratch, before)
        unwritten = sorted({e['file'] for e in events
                            if e['event'] in CHANGES} - set(files))
        if unwritten:
            # spatch cannot write some files (a space in the name): a
            # change reported but not made would make the record lie.
            raise ToolError(f'{unwritten[0]}: {cocci}.cocci reported a '
                            f'change that spatch did not write (a file '
                            f'name with white space?); nothing written')
        done.append((events, files, snapshot(scratch, files)))
    return done


def run_steps_after(aside: Future | None, *args
                    ) -> list[tuple[list[dict], list[str], dict[str, bytes]]]:
    """run_steps() once the run aside that its first step replays (the
    header step's, beside the grep) is done."""
    if aside is not None:
        aside.result()
    return run_steps(*args)


def partition(files: list[str], weight: dict[str, int],
              n: int) -> list[list[str]]:
    """files in at most n groups of near-equal weight, each sorted."""
    groups: list[tuple[int, list[str]]] = [(0, []) for _ in range(n)]
    for f in sorted(files, key=lambda f: (-weight[f], f)):
        k = min(range(n), key=lambda i: groups[i][0])
        groups[k] = (groups[k][0] + weight[f], groups[k][1] + [f])
    return [sorted(g) for _, g in groups if g]


def run_chain(tmp: Path, steps: list[tuple[str, list[str]]],
              modes: list[str], audit: bool) -> None:
    """The driver steps, then the audit, on tmp: a copy of some of the
    drivers of its own. Every result lands in spatch.MEMO under the key
    the steps' own runs on the scratch copy will have (same rule, command
    line, path and content); tmp is removed."""
    try:
        files = sorted({f for _, fs in steps for f in fs} |
                       {f.relative_to(tmp).as_posix()
                        for f in tmp.rglob('*') if f.is_file()})
        run_steps(tmp, steps, modes, 1)
        if audit:
            run(semantic_patch(AUDIT), tmp, files, ['report', 'record'])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def first_pass_and_chain(first: list[combine.Section], scratch: Path,
                         group: list[str], steps: list[tuple[str, list[str]]],
                         modes: list[str], audit: bool) -> None:
    """One group of drivers: the first pass in scratch (which it leaves as
    it was), then the steps and the audit in a copy (run_chain)."""
    combine.prime(first, scratch, group, 1)
    tmp = Path(tempfile.mkdtemp(prefix='iommu-dma-chain-'))
    copy_files(scratch, tmp, group)
    run_chain(tmp, steps, modes, audit)


class NeedStages(Exception):
    """The fused pass cannot give this tree's result: run step by step."""


def fused_group(first: list[combine.Section], scratch: Path,
                group: list[str], steps: list[tuple[str, list[str]]],
                modes: list[str], audit: bool, idle: IdleLanes | None = None
                ) -> dict[str, tuple[list[list[dict]], bytes]]:
    """One group of drivers through the first pass and every driver step
    in ONE spatch pass (combine.run_chained: the steps change the file one
    after the other, as their own runs would), then the audit of the
    files it changed: per file, each step's events and the final text.

    The first pass's read-only sections are entered in spatch.MEMO as
    prime() enters them; each step's layout fix (layout.tidy) is made on
    the final text, on the files its own run would read; the audit's
    results wait in MEMO for its run on the final text. The group's lane
    is given to idle when it is done."""
    try:
        return fused_group_pass(first, scratch, group, steps, modes, audit,
                                idle)
    finally:
        if idle:
            idle.give(1)


def fused_group_pass(first: list[combine.Section], scratch: Path,
                     group: list[str], steps: list[tuple[str, list[str]]],
                     modes: list[str], audit: bool, idle: IdleLanes | None
                     ) -> dict[str, tuple[list[list[dict]], bytes]]:
    first = [sec for sec in first if not sec.changes]   # the flags: a step
    sections = first + [combine.Section(semantic_patch(cocci), tuple(modes))
                        for cocci, _ in steps]
    before = {rel: (scratch / rel).read_bytes() for rel in group}
    try:
        results = combine.run_chained(sections, scratch, group)
    except combine.NotCombinable as e:
        raise NeedStages(str(e)) from None
    for k, sec in enumerate(first):
        cmd = spatch.command(sec.sp, list(sec.modes))
        for rel in group:
            key = spatch.ResultCache.key(sec.sp, cmd, rel, before[rel])
            spatch.MEMO[key] = (results[rel][0][k], None)
    tmp = Path(tempfile.mkdtemp(prefix='iommu-dma-fused-'))
    try:
        copy_files(scratch, tmp, group)
        for rel in group:
            after = results[rel][1]
            if after is not None:
                spatch.replace_file(tmp / rel, after)
        for cocci, files in steps:
            layout.tidy(cocci, tmp, files)
        final = {rel: (tmp / rel).read_bytes() for rel in group}
        n = len(first)
        if audit:
            sp = semantic_patch(AUDIT)
            k = next(k for k, sec in enumerate(first) if sec.sp == sp)
            again = []
            for rel in group:
                if final[rel] == before[rel]:
                    continue
                if audit_carries_over(results[rel][0][k],
                                      results[rel][0][n:], before[rel],
                                      final[rel]):
                    cmd = spatch.command(sp, ['report', 'record'])
                    key = spatch.ResultCache.key(sp, cmd, rel, final[rel])
                    spatch.MEMO[key] = (results[rel][0][k], None)
                else:
                    again.append(rel)
            run_split(sp, tmp, again, ['report', 'record'], idle)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {rel: (results[rel][0][n:], final[rel]) for rel in group}


def audit_carries_over(pristine: list[dict], steps: list[list[dict]],
                       before: bytes, after: bytes) -> bool:
    """The audit of after gives what it gave on before: the steps only
    added flags to ops initializers (which the audit reads for their
    .domain_alloc alone), below every line its findings name."""
    if any(e['event'] in CHANGES and e['event'] != 'flag'
           for events in steps for e in events):
        return False
    old, new = before.split(b'\n'), after.split(b'\n')
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b),
                 min(len(old), len(new))) + 1
    return all(e.get('line', 0) < first for e in pristine)


def fused_steps(scratch: Path, drivers: list[str],
                steps: list[tuple[str, list[str]]],
                results: dict[str, tuple[list[list[dict]], bytes]]
                ) -> list[tuple[list[dict], list[str], dict[str, bytes]]]:
    """run_steps()'s answer from the fused pass: per step its events (in
    file order, as its own run gives them) and the files it changed; the
    drivers in scratch get their final text. No step's intermediate
    contents: those need the steps one by one (compute(stages=True))."""
    done = []
    changed_by: set[str] = set()
    for k, (cocci, files) in enumerate(steps):
        events = [dict(e, rule=cocci) for rel in drivers
                  for e in results[rel][0][k]]
        stray = [e['file'] for e in events if e['file'] not in files]
        if stray:
            raise NeedStages(f'{cocci}: an event for {stray[0]}, which its '
                             f'own run would not read')
        touched = sorted({e['file'] for e in events
                          if e['event'] in CHANGES})
        changed_by |= set(touched)
        done.append((events, touched, {}))
    changed_files = set()
    for rel in drivers:
        if results[rel][1] != (scratch / rel).read_bytes():
            spatch.replace_file(scratch / rel, results[rel][1])
            changed_files.add(rel)
    if changed_files != changed_by:
        # a change without the event that says so (or the reverse): which
        # step changed which file is then known only step by step
        raise NeedStages('changes and events disagree')
    return done


def compute(tree: KernelTree, parts: str = 'all', jobs: int = 1,
            stages: bool = True) -> Rewrite:
    """Run every step on a scratch copy; the tree is not touched.

    stages=False: the caller needs the final files and the record, not
    every step's intermediate contents (Rewrite.step_after, which only the
    series is made of): with J > 1 the driver steps then run fused, in one
    spatch pass with the first (fused_group); where that cannot give the
    step-by-step result exactly (NeedStages), the steps run one by one."""
    if parts not in PARTS:
        raise ToolError(f'PARTS={parts}: expected one of {", ".join(PARTS)}')
    if not stages:
        try:
            return compute_once(tree, parts, jobs, fused=True)
        except NeedStages:
            pass
    return compute_once(tree, parts, jobs, fused=False)


def compute_once(tree: KernelTree, parts: str, jobs: int,
                 fused: bool) -> Rewrite:
    done = core_state(tree) == 'done'
    facts = era.read(tree)
    if not done:
        era.check(facts)    # before any rule: a core the rewrite breaks
    check_spatch()
    spatch.MEMO.clear()     # only this computation's results from here on
    core_files = [f for f in (IOMMU_H, IOMMU_C) if (tree.path / f).exists()]
    scratch = Path(tempfile.mkdtemp(prefix='iommu-dma-'))
    lanes = Lanes(jobs)
    try:
        copy_files(tree.path, scratch, core_files)
        found = lanes.submit(tree.candidates, jobs)
        shape = None if done else detect_core_shape(scratch, lanes)
        header = None
        if shape and IOMMU_H in core_files and combine.enabled():
            # the header step too, beside the candidate grep
            header = lanes.submit(run_aside, scratch, 'iommu_ops_fields',
                                  IOMMU_H, step_modes(facts.dma_fq))
        drivers = found.result()
        copy_files(tree.path, scratch, sorted(set(drivers) - set(core_files)))
        if set(drivers) & set(core_files):
            lanes.close()       # shared files: everything in order
            lanes = Lanes(1)
        return compute_steps(tree, parts, jobs, scratch, drivers,
                             core_files, done, shape, facts, lanes, fused,
                             header)
    except BaseException:
        # A refusal, a failed rule or Ctrl-C: no scratch copy is left.
        lanes.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        lanes.close()


def compute_steps(tree: KernelTree, parts: str, jobs: int, scratch: Path,
                  drivers: list[str], core_files: list[str], done: bool,
                  shape: str | None, facts: era.Era, lanes: Lanes,
                  fused: bool, aside: Future | None = None) -> Rewrite:
    """aside: the header step's run beside the grep, if any."""
    record = Record(tree=str(tree.path), version=tree.version(),
                    series_name=tree.series_name(), parts=parts)
    rewrite = Rewrite(ScannedTree(tree.path, tuple(drivers)), record, scratch,
                      era=facts)

    if done:
        record.core_shape = 'rewritten'
        record.dma_fq = 'allow_dma_fq' in tree.read(IOMMU_H)
    elif shape:
        record.core_shape = shape
        record.dma_fq = facts.dma_fq
    elif upstream.paging_function(tree):
        return compute_upstream(tree, parts, jobs, scratch, drivers, rewrite)
    else:
        raise ToolError(
            f'{IOMMU_C}: no known core shape (looked for '
            f'iommu_group_alloc_default_domain() with a DMA fallback, '
            f'__iommu_domain_alloc() calling a legacy domain_alloc with '
            f'IOMMU_DOMAIN_ALLOC_FLAGS, and a core that only calls '
            f'domain_alloc_paging); nothing written')
    if parts == 'drivers' and not done:
        # Flags need the fields, and whether DMA_FQ comparisons may go
        # depends on the core: a drivers-only rewrite of a tree without
        # them would not compile, or would lose flush queues.
        raise ToolError(
            f'PARTS=drivers: {IOMMU_H} has no use_dma_iommu field yet, so '
            f'the flags would not compile; rewrite with PARTS=all; nothing '
            f'written')

    modes = step_modes(record.dma_fq)
    scopes = {'header': [IOMMU_H], 'core': [IOMMU_C], 'drivers': drivers}
    planned = []
    for step in STEPS:
        if parts not in ('all', step.part):
            continue
        if step.part == 'core' and done:
            continue
        cocci = CORE_SHAPES[shape][0] if step.cocci == 'core' else step.cocci
        planned.append((step, cocci))
    # Each scope's steps run in series order; the scopes' files are
    # disjoint, so the header and core steps run beside the driver steps.
    by_scope = {scope: lanes.submit(
        run_steps_after, aside if scope == 'header' else None, scratch,
        [(cocci, scopes[scope]) for step, cocci in planned
         if step.scope == scope], modes, jobs)
        for scope in ('header', 'core')}
    # One spatch pass parses every driver once for the parse check, the
    # report's inventory, the audit and the flags step (combine.py); their
    # own runs below then find the results in spatch.MEMO.
    # The audit reads the drivers before the flags step changes them: its
    # results serve the files no step changes (the key is the content).
    first = [combine.Section(SemanticPatch(parsecheck.COCCI),
                             ('report', 'record')),
             combine.Section(semantic_patch(INVENTORY), ('report', 'record')),
             combine.Section(semantic_patch(gate.RULE), ('record',))]
    if parts in ('all', 'drivers'):
        first.append(combine.Section(semantic_patch(AUDIT),
                                     ('report', 'record')))
    flags = [cocci for step, cocci in planned if step.phase == 'declare']
    if flags and flags[0] == 'iommu_ops_dma_flags':
        first.append(combine.Section(semantic_patch(flags[0]), tuple(modes)))
    texts = {f: (scratch / f).read_bytes() for f in drivers}
    driver_steps = [(cocci, [f for f in drivers
                             if step.needs.encode() in texts[f]])
                    for step, cocci in planned if step.scope == 'drivers']
    audit = parts in ('all', 'drivers')
    grouped = jobs > 1 and combine.enabled() and bool(drivers)
    fused = fused and grouped and \
        [c for c, _ in driver_steps][:1] == ['iommu_ops_dma_flags']
    if grouped:
        # Each file's passes depend on that file alone (one group per
        # file): the drivers go through the first pass, every step and
        # the audit in J groups of their own side by side, no group
        # waiting for another, then the runs below replay them from
        # spatch.MEMO (fused: take their results).
        def weight(f: str) -> int:
            # About a parse of the file per pass: the first pass, each step
            # and the audit of what they changed; fused, the first pass
            # and the steps cost about two parses (the matching of every
            # rule), the audit one more where a step beyond the flags can
            # change the file.
            steps = sum(f in fs for _, fs in driver_steps)
            if fused:
                return len(texts[f]) * (2 + (steps > 1))
            return len(texts[f]) * (1 + steps + (steps > 0))
        run_group = functools.partial(fused_group, idle=IdleLanes()) \
            if fused else first_pass_and_chain
        chains = [lanes.submit(
            run_group, first, scratch, group,
            [(cocci, [f for f in fs if f in group])
             for cocci, fs in driver_steps], modes, audit)
            for group in partition(drivers, {f: weight(f) for f in drivers},
                                   jobs)]
        per_file = {rel: r for chain in chains for rel, r in
                    (chain.result() or {}).items()}
    else:
        combine.prime(first, scratch, drivers, jobs)
    # no driver silently skipped: refused with every other refusal
    rewrite.unreachable = parsecheck.unparsed(scratch, drivers, jobs)
    by_scope['drivers'] = lanes.submit(
        fused_steps, scratch, drivers, driver_steps, per_file) if fused \
        else lanes.submit(run_steps, scratch, driver_steps, modes, jobs)
    results = {scope: iter(f.result()) for scope, f in by_scope.items()}
    for step, cocci in planned:
        events, files, after = next(results[step.scope])
        record.add_events(events)
        record.steps.append({'cocci': cocci, 'phase': step.phase,
                             'files': files})
        rewrite.step_after.append(after)
    if parts in ('all', 'drivers'):
        # The audit's facts are keyed by file and all come from that file
        # (one group per file): one spatch -j J over the files it still
        # has to read (the others were read in the first pass) gives the
        # findings one process would, in file order (spatch.run).
        record.add_events(run(semantic_patch(AUDIT), scratch, drivers,
                              ['report', 'record'], jobs))
    if fused and partial_functions(record):
        # hold_back_partial() puts such a file back as the declare step
        # left it: that text exists only step by step
        raise NeedStages('a driver rewritten in part')
    held = hold_back_partial(rewrite)  # no driver rewritten in part
    if held and parts in ('all', 'drivers'):
        # The audit read those files with their comparisons dropped: its
        # lines are of a text no longer there. Read them again as kept.
        record.findings = [f for f in record.findings
                           if not (f.rule == AUDIT and f.file in held)]
        record.add_events(run(semantic_patch(AUDIT), scratch, held,
                              ['report', 'record'], jobs))
    check_consistency(record)
    record.files = changed(scratch, snapshot(tree.path, drivers + core_files))
    rewrite.before = {f: (tree.path / f).read_bytes() for f in record.files}
    return rewrite


def compute_upstream(tree: KernelTree, parts: str, jobs: int, scratch: Path,
                     drivers: list[str], rewrite: Rewrite) -> Rewrite:
    """A core that already keeps DMA out of drivers: nothing to rewrite.

    The audit still runs, so a driver that brings a DMA comparison back
    into a .domain_alloc is found."""
    record = rewrite.record
    fn = upstream.paging_function(tree) or 'the core'
    record.core_shape = upstream.SHAPE
    record.changes.append(events.Upstream(file=IOMMU_C, function=fn,
                                          shape=upstream.SHAPE))
    if parts in ('all', 'drivers') and drivers:
        # the audit and the report's inventory in one pass (combine.py)
        combine.prime([combine.Section(semantic_patch(INVENTORY),
                                       ('report', 'record')),
                       combine.Section(semantic_patch(AUDIT),
                                       ('report', 'record'))],
                      scratch, drivers, jobs)
        record.add_events(run(semantic_patch(AUDIT), scratch, drivers,
                              ['report', 'record'], jobs))
    record.findings = [f for f in record.findings
                       if f.kind != 'implicit-dma']
    return rewrite


def snapshot(root: Path, files: list[str]) -> dict[str, bytes]:
    return {f: (root / f).read_bytes() for f in files}


def changed(scratch: Path, before: dict[str, bytes]) -> list[str]:
    return sorted(f for f, data in before.items()
                  if (scratch / f).read_bytes() != data)


def check_consistency(record: Record) -> None:
    """Every dropped comparison must have its flag declared.

    The flags rule reads acceptance from the code before the drop rule
    removes the comparisons; if a drop has no flag, the rewrite is refused.
    """
    dropped = {(e.file, e.function, e.removed)
               for e in record.changes if isinstance(e, events.Gate)}
    flagged = {(e.file, e.function, e.flag)
               for e in record.changes if isinstance(e, events.Flag)}
    if record.parts != 'all':
        return
    want = {(f, fn, 'use_dma_iommu') for f, fn, c in dropped
            if c == 'IOMMU_DOMAIN_DMA'}
    fq = {(f, fn) for f, fn, c in dropped if c == 'IOMMU_DOMAIN_DMA_FQ'}
    if record.dma_fq:
        want |= {(f, fn, 'allow_dma_fq') for f, fn in fq}
    else:
        for f, fn in sorted(fq):
            record.add_finding(
                kind='fq-ignored', file=f, function=fn, rule='consistency',
                message='accepted IOMMU_DOMAIN_DMA_FQ, but this core no '
                        'longer hands flush-queue domains to drivers')
    # A flag without a dropped comparison is fine (no type filter, or a
    # comparison left for a human); a dropped comparison without its flag
    # would lose the driver its DMA domains.
    if want - flagged:
        odd = sorted(want - flagged)[0]
        raise ToolError(f'{odd[0]}: {odd[1]}: a comparison was dropped '
                        f'but {odd[2]} was not declared; nothing written')


def write(rewrite: Rewrite, state: dict[str, bytes]) -> None:
    """Write the rewritten files into the tree, then the record, its
    manifest and the given state files (the report).

    All or nothing, through the tree's journal (journal.py): an apply
    killed at any point is completed or rolled back by the next run.
    """
    tree = rewrite.tree
    files = rewrite.record.files
    rewrite.record.tool = version()
    rewrite.record.written = {rel: sha256(rewrite.after(rel))
                              for rel in files}
    saved = rewrite.scratch / '.record.json'
    rewrite.record.save(saved)
    state_files = {'record.json': saved.read_bytes(),
                   'manifest': rewrite.record.manifest().encode(), **state}
    Journal(tree.path, tree.state_dir()).apply(
        {rel: rewrite.after(rel) for rel in files},
        {rel: rewrite.before[rel] for rel in files}, state_files)


def discard(rewrite: Rewrite) -> None:
    shutil.rmtree(rewrite.scratch, ignore_errors=True)
