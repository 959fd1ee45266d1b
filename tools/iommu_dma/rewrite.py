"""Compute the whole rewrite of a tree in a scratch copy, then write it.

spatch only ever runs on the scratch copy, and the steps run in the order
of the series, each over the files it needs:

  core     while the drivers are being found: the core's shape, whose
           recognising run is the core step, then the header step
  read     the read-only rules on the pristine drivers (the parse check's,
           the report's inventory, the gate facts, the audit), with the
           flags step: one spatch pass, each driver parsed once; it
           starts while the drivers are being found, and is named them
           once they are (spatch.Pending)
  steps    the drivers' other steps, one spatch run each
  reread   the audit and the gate facts again on the drivers the steps
           changed, as they are at the end

The tree itself is written only once every rule has run cleanly, file by
file through a temporary file and a rename, and the originals are kept in
.iommu-dma/orig/ beside the record.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import era, events, gate, layout, parsecheck, upstream, version
from .errors import ToolError
from .events import CHANGES, Event, Finding   # CHANGES: a file changed
from .journal import Journal, sha256
from .holdback import hold_back_partial
from .record import Record
from .spatch import (Pending, SemanticPatch, check_spatch,
                     replace_file, run)
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


HEADER_STEP = 'iommu_ops_fields'
FLAGS = 'iommu_ops_dma_flags'   # the first driver step, in the first read
STEPS = (
    Step(HEADER_STEP, 'core', 'fields', 'header'),
    # Not IOMMU_DOMAIN_DMA: a domain_alloc without a type filter never
    # names it and still accepts it.
    Step(FLAGS, 'drivers', 'declare', 'drivers', 'domain_alloc'),
    Step('legacy_binding_no_dma', 'drivers', 'declare', 'drivers',
         'IOMMU_DOMAIN_DMA_FQ'),
    Step('core', 'core', 'core', 'core'),
    Step('domain_alloc_drop_dma', 'drivers', 'drop', 'drivers',
         'IOMMU_DOMAIN_DMA'),
)
# What a step did: its events, the files it changed, as it left them
StepResult = tuple[list[Event], list[str], dict[str, bytes]]
AUDIT = 'domain_alloc_audit'
INVENTORY = 'iommu_ops_inventory'     # the report's (report.py)
# The read-only rules of the first pass, and of the second read
READ = (parsecheck.RULE, INVENTORY, gate.RULE, AUDIT)
REREAD = (AUDIT, gate.RULE)
READ_MODES = ['record']


def cocci_dir() -> Path:
    """The semantic patches: cocci/, or $IOMMU_DMA_COCCI (tests)."""
    return Path(os.environ.get('IOMMU_DMA_COCCI') or COCCI_DIR)


def semantic_patch(*names: str) -> SemanticPatch:
    """The rule files, run as one spatch pass (spatch.SemanticPatch)."""
    return SemanticPatch(*(cocci_dir() / f'{n}.cocci' for n in names))


def run_rules(names: tuple[str, ...], cwd: Path, files: list[str],
              modes: list[str], jobs: int = 1,
              pending: Pending | None = None) -> list[Event]:
    """The rule files as one pass on files (under cwd), or the pass
    pending already started for them: their events, each naming the rule
    file that printed it."""
    assert pending is None or pending.sp == semantic_patch(*names)
    found = [events.parse(e) for e in
             (pending.finish(files) if pending else
              run(semantic_patch(*names), cwd, files, modes, jobs))]
    return [replace(e, rule=names[0] if len(names) == 1 else e.RULE)
            for e in found]


@dataclass
class Rewrite:
    tree: KernelTree
    record: Record
    scratch: Path
    drivers: list[str] = field(default_factory=list)    # the candidates
    before: dict[str, bytes] = field(default_factory=dict)
    # Per record.steps entry: the files that step changed, as it left them.
    step_after: list[dict[str, bytes]] = field(default_factory=list)
    # Ops initializers and allocators spatch did not parse (parsecheck.py)
    unreachable: list[str] = field(default_factory=list)
    # The facts of the tree's core (era.py), read once before any rule
    era: era.Era | None = None
    # What the read-only rules said of the drivers before the rewrite,
    # and of the drivers it changed, after (READ, REREAD)
    read_before: list[Event] = field(default_factory=list)
    read_after: list[Event] = field(default_factory=list)

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


def detect_core_shape(scratch: Path, modes: list[str]
                      ) -> tuple[str, StepResult] | None:
    """The first shape in CORE_SHAPES whose rule recognises iommu.c, with
    what that rule did to it, run on a copy: scratch is not changed. The
    run that recognises the shape is the core step's own."""
    text = (scratch / IOMMU_C).read_bytes()
    with tempfile.TemporaryDirectory(prefix='iommu-dma-core-') as tmp:
        for shape, (cocci, needs) in CORE_SHAPES.items():
            if needs.encode() not in text:
                continue
            copy_files(scratch, Path(tmp), [IOMMU_C])
            result = run_step(Path(tmp), cocci, [IOMMU_C], modes, 1)
            if any(isinstance(e, events.CoreShape) for e in result[0]):
                return shape, result
    return None


def core_side(scratch: Path, parts: str, modes: list[str]
              ) -> tuple[str | None, dict[str, StepResult]]:
    """The core's shape and the steps on the core's two files, which need
    no driver: they run while the drivers are being found."""
    found = detect_core_shape(scratch, modes)
    if not found:
        return None, {}
    shape, core = found
    done = {CORE_SHAPES[shape][0]: core}
    if parts in ('all', 'core'):
        done[HEADER_STEP] = run_step(scratch, HEADER_STEP, [IOMMU_H], modes, 1)
    return shape, done


def step_modes(dma_fq: bool) -> list[str]:
    return ['patch', 'record'] + (['dma_fq'] if dma_fq else [])


def run_step(scratch: Path, cocci: str, files: list[str], modes: list[str],
             jobs: int, pending: Pending | None = None) -> StepResult:
    """One step on files."""
    before = snapshot(scratch, files)
    return step_result(scratch, cocci, before, run_rules(
        (cocci,), scratch, files, modes, jobs, pending))


def step_result(scratch: Path, cocci: str, before: dict[str, bytes],
                found: list[Event]) -> StepResult:
    """What the step cocci did to the files of before, with its events."""
    layout.tidy(cocci, scratch, list(before))   # kernel-doc, alignment
    files = changed(scratch, before)
    unwritten = sorted({e.file for e in found
                        if isinstance(e, CHANGES)} - set(files))
    if unwritten:
        # spatch cannot write some files (a space in the name): a
        # change reported but not made would make the record lie.
        raise ToolError(f'{unwritten[0]}: {cocci}.cocci reported a '
                        f'change that spatch did not write (a file '
                        f'name with white space?); nothing written')
    return found, files, snapshot(scratch, files)


def compute(tree: KernelTree, parts: str = 'all', jobs: int = 1) -> Rewrite:
    """Run every step on a scratch copy; the tree is not touched."""
    if parts not in PARTS:
        raise ToolError(f'PARTS={parts}: expected one of {", ".join(PARTS)}')
    done = core_state(tree) == 'done'
    facts = era.read(tree)
    if not done:
        era.check(facts)    # before any rule: a core the rewrite breaks
    check_spatch()
    core_files = [f for f in (IOMMU_H, IOMMU_C) if (tree.path / f).exists()]
    scratch = Path(tempfile.mkdtemp(prefix='iommu-dma-'))
    try:
        copy_files(tree.path, scratch, core_files)
        # Whether drivers declare allow_dma_fq: in the header once the
        # core is rewritten, else a fact of the core (era.py).
        dma_fq = 'allow_dma_fq' in tree.read(IOMMU_H) if done else \
            facts.dma_fq
        with ExitStack() as stack:
            # The drivers' first read starts while they are being found
            # (spatch.Pending); a core with nothing to rewrite stops it.
            names, modes = read_pass(parts, dma_fq)
            first = stack.enter_context(Pending(semantic_patch(*names),
                                                scratch, modes, jobs))
            first.start()
            with ThreadPoolExecutor(1) as aside:
                side = None if done else aside.submit(
                    core_side, scratch, parts, step_modes(facts.dma_fq))
                drivers = tree.candidates(jobs)
                shape, core = side.result() if side else (None, {})
            copy_files(tree.path, scratch,
                       sorted(set(drivers) - set(core_files)))
            record = Record(tree=str(tree.path), version=tree.version(),
                            series_name=tree.series_name(), parts=parts)
            rewrite = Rewrite(tree, record, scratch, drivers, era=facts)
            return compute_steps(rewrite, jobs, core_files, done, shape,
                                 core, first, dma_fq)
    except BaseException:
        # A refusal, a failed rule or Ctrl-C: no scratch copy is left.
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def read_pass(parts: str, dma_fq: bool) -> tuple[tuple[str, ...], list[str]]:
    """The rules and modes of the drivers' first read (read_drivers()):
    without the audit and the flags step when only the core is rewritten."""
    if parts == 'core':
        return READ[:-1], READ_MODES
    return READ + (FLAGS,), READ_MODES + step_modes(dma_fq)


def compute_steps(rewrite: Rewrite, jobs: int, core_files: list[str],
                  done: bool, shape: str | None,
                  core: dict[str, StepResult], first: Pending,
                  dma_fq: bool) -> Rewrite:
    tree, record, scratch = rewrite.tree, rewrite.record, rewrite.scratch
    parts, drivers = record.parts, rewrite.drivers
    if done:
        record.core_shape = 'rewritten'
    elif shape:
        record.core_shape = shape
    elif upstream.paging_function(tree):
        return compute_upstream(rewrite, jobs)
    else:
        raise ToolError(
            f'{IOMMU_C}: no known core shape (looked for '
            f'iommu_group_alloc_default_domain() with a DMA fallback, '
            f'__iommu_domain_alloc() calling a legacy domain_alloc with '
            f'IOMMU_DOMAIN_ALLOC_FLAGS, and a core that only calls '
            f'domain_alloc_paging); nothing written')
    record.dma_fq = dma_fq      # as the first read was started with
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
    planned = [(step, CORE_SHAPES[shape][0] if step.cocci == 'core'
                else step.cocci) for step in STEPS
               if parts in ('all', step.part)
               and not (step.part == 'core' and done)]
    audit = parts in ('all', 'drivers')
    driver_steps = [c for s, c in planned if s.scope == 'drivers']
    flags = driver_steps[0] if driver_steps[:1] == [FLAGS] else None
    with ExitStack() as stack:
        # The drivers' passes after the first, in order, each started as
        # the one before it starts: spatch compiles its rules meanwhile,
        # and reads its files only once they are named (spatch.Pending).
        later = [(semantic_patch(c), modes) for s, c in planned
                 if s.scope == 'drivers' and c != flags]
        if audit:
            later.append((semantic_patch(*REREAD), READ_MODES))
        ahead = deque(stack.enter_context(Pending(sp, scratch, m, jobs))
                      for sp, m in later)

        def next_pass() -> Pending:
            if len(ahead) > 1:
                ahead[1].start()
            return ahead.popleft()

        if ahead:
            ahead[0].start()
        declared = read_drivers(rewrite, jobs, first)
        for step, cocci in planned:
            if cocci == flags and declared:
                found, files, after = declared
            elif step.scope == 'drivers':
                found, files, after = run_step(scratch, cocci, [
                    f for f in drivers if step.needs.encode() in
                    (scratch / f).read_bytes()], modes, jobs, next_pass())
            elif cocci in core and (step.scope == 'header' or
                                    IOMMU_C not in drivers):
                # run beside the drivers' scan: the header in place, the
                # core on a copy, put in place now
                found, files, after = core[cocci]
                for rel in files:
                    replace_file(scratch / rel, after[rel])
            else:
                # a driver in iommu.c: the core step sees what the driver
                # steps did to it
                found, files, after = run_step(
                    scratch, cocci, scopes[step.scope], modes, jobs)
            record.add_events(e for e in found if isinstance(e, CHANGES))
            record.steps.append({'cocci': cocci, 'phase': step.phase,
                                 'files': files})
            rewrite.step_after.append(after)
        if audit:
            # What each driver is now: the first read where no step
            # changed it, else a read of its text as the steps left it
            moved = changed(scratch, snapshot(tree.path, drivers))
            rewrite.read_after = reread(rewrite, moved, jobs, next_pass())
            now = {f: [] for f in drivers}
            for e in audit_findings(rewrite.read_before):
                if e.file not in moved:
                    now[e.file].append(e)
            for e in audit_findings(rewrite.read_after):
                now[e.file].append(e)
            record.add_events(e for found in now.values() for e in found)
            held = hold_back_partial(rewrite)  # none rewritten in part
            if held:
                # their lines are of a text no longer there: read again
                old = {e for found in now.values() for e in found}
                record.findings = [f for f in record.findings
                                   if not (f in old and f.file in held)]
                again = reread(rewrite, held, jobs)
                rewrite.read_after = [e for e in rewrite.read_after
                                      if e.file not in held] + again
                record.add_events(audit_findings(again))
    check_consistency(record)
    record.files = changed(scratch, snapshot(tree.path, drivers + core_files))
    rewrite.before = {f: (tree.path / f).read_bytes() for f in record.files}
    return rewrite


def read_drivers(rewrite: Rewrite, jobs: int,
                 first: Pending) -> StepResult | None:
    """The first read of the drivers (read_pass(), started by compute()):
    the read-only rules, and the flags step after them (they match the
    files as they are on disk). The flags step's result, or None."""
    scratch, drivers = rewrite.scratch, rewrite.drivers
    names, modes = read_pass(rewrite.record.parts, rewrite.record.dma_fq)
    before = snapshot(scratch, drivers)
    found = run_rules(names, scratch, drivers, modes, jobs, first)
    rewrite.read_before = [e for e in found if not isinstance(e, CHANGES)]
    rewrite.unreachable = parsecheck.unparsed(rewrite.tree.path, drivers,
                                              rewrite.read_before)
    if FLAGS not in names:
        return None
    return step_result(scratch, FLAGS, before,
                       [e for e in found if isinstance(e, CHANGES)])


def reread(rewrite: Rewrite, files: list[str], jobs: int,
           pending: Pending | None = None) -> list[Event]:
    """REREAD files as they are now in the scratch copy."""
    return run_rules(REREAD, rewrite.scratch, files, READ_MODES, jobs,
                     pending)


def audit_findings(read: list[Event]) -> list[Finding]:
    return [e for e in read if isinstance(e, Finding)]


def compute_upstream(rewrite: Rewrite, jobs: int) -> Rewrite:
    """A core that already keeps DMA out of drivers: nothing to rewrite.

    The audit still runs, so a driver that brings a DMA comparison back
    into a .domain_alloc is found."""
    tree, record = rewrite.tree, rewrite.record
    fn = upstream.paging_function(tree) or 'the core'
    record.core_shape = upstream.SHAPE
    record.changes.append(events.Upstream(file=IOMMU_C, function=fn,
                                          shape=upstream.SHAPE))
    rewrite.read_before = run_rules((INVENTORY, gate.RULE, AUDIT),
                                    rewrite.scratch, rewrite.drivers,
                                    READ_MODES, jobs)
    if record.parts in ('all', 'drivers'):
        record.add_events(f for f in audit_findings(rewrite.read_before)
                          if f.kind != 'implicit-dma')
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
