"""Cut the rewrite into patches: SPLIT=stage, driver or 0.

The patches follow record.steps, which lists per semantic patch, in series
order (fields, declare, core, drop), the files it changed; each step's
contents come from Rewrite.step_after. Applied in order, the patches must
give exactly the whole rewrite (check_sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..errors import ToolError
from ..rewrite import Rewrite
from ..tree import IOMMU_C
from . import messages

SPLITS = ('stage', 'driver', '0')
# checkpatch warns past 75 columns in a commit log; a subject that would be
# longer falls back to a wording that does not name the function or ops.
MAX_SUBJECT = 75
SHORT = {'declare': 'Declare DMA API support in iommu_ops',
         'drop': 'Remove IOMMU_DOMAIN_DMA comparisons'}


@dataclass(frozen=True)
class Patch:
    phase: str                 # fields, declare, core, drop, stage names
    files: tuple[str, ...]
    contents: dict[str, bytes]
    subject: str               # with its prefix
    body: str

    @property
    def c_files(self) -> list[str]:
        return [f for f in self.files if f.endswith(('.c', '.h'))]


def latest(rewrite: Rewrite, phases: tuple[str, ...], rel: str) -> bytes:
    """rel as the last step of phases that changed it left it."""
    data = None
    for step, after in zip(rewrite.record.steps, rewrite.step_after):
        if step['phase'] in phases and rel in after:
            data = after[rel]
    if data is None:
        raise ToolError(f'{rel}: no step of {"/".join(phases)} changed it')
    return data


def files_of(rewrite: Rewrite, phases: tuple[str, ...]) -> list[str]:
    return sorted({f for s in rewrite.record.steps if s['phase'] in phases
                   for f in s['files']})


def plan(rewrite: Rewrite, split: str,
         prefix: Callable[[str], str]) -> list[Patch]:
    planner = {'stage': plan_stages, 'driver': plan_drivers,
               '0': plan_single}[split]
    return check_sum(rewrite, planner(rewrite, prefix))


def plan_single(rewrite: Rewrite, prefix: Callable[[str], str]
                ) -> list[Patch]:
    files = tuple(rewrite.record.files)
    subject, body = messages.single_message(rewrite.record)
    return [Patch('all', files, {f: rewrite.after(f) for f in files},
                  f'{prefix(IOMMU_C)}: {subject}', body)]


def whole_steps(rewrite: Rewrite, prefix: Callable[[str], str],
                where: str | None, stages: tuple) -> list[Patch]:
    """A patch per (name, phases, message) whose phases changed files,
    prefixed for where, else for its first file."""
    patches = []
    for name, phases, make in stages:
        files = files_of(rewrite, phases)
        if not files:
            continue
        subject, body = make(rewrite.record)
        patches.append(Patch(name, tuple(files),
                             {f: latest(rewrite, phases, f) for f in files},
                             f'{prefix(where or files[0])}: {subject}', body))
    return patches


def plan_stages(rewrite: Rewrite, prefix: Callable[[str], str]
                ) -> list[Patch]:
    """Three bisectable stages: declare (fields and flags), core, drop."""
    return whole_steps(rewrite, prefix, IOMMU_C, (
        ('declare', ('fields', 'declare'), messages.stage_declare_message),
        ('core', ('core',), messages.core_message),
        ('drop', ('drop',), messages.stage_drop_message)))


def plan_drivers(rewrite: Rewrite, prefix: Callable[[str], str]
                 ) -> list[Patch]:
    """The fields, a patch per driver declaring, the core, a patch per
    driver dropping."""
    patches = whole_steps(rewrite, prefix, None, (
        ('fields', ('fields',), messages.fields_message),
        ('core', ('core',), messages.core_message)))
    for phase, make in (('declare', messages.declare_message),
                        ('drop', messages.drop_message)):
        for f in files_of(rewrite, (phase,)):
            subject, body = make(rewrite.record, f)
            subject = f'{prefix(f)}: {subject}'
            if len(subject) > MAX_SUBJECT:
                subject = f'{prefix(f)}: {SHORT[phase]}'
            patches.append(Patch(phase, (f,),
                                 {f: latest(rewrite, (phase,), f)},
                                 subject, body))
    order = {'fields': 0, 'declare': 1, 'core': 2, 'drop': 3}
    return sorted(patches, key=lambda p: order[p.phase])


def check_sum(rewrite: Rewrite, patches: list[Patch]) -> list[Patch]:
    """The patches, applied in order, must give the whole rewrite."""
    final: dict[str, bytes] = {}
    for p in patches:
        final.update(p.contents)
    for f in rewrite.record.files:
        if final.get(f) != rewrite.after(f):
            raise ToolError(f'{f}: the per-step patches do not add up to '
                            f'the whole rewrite; refusing the series')
    return patches
