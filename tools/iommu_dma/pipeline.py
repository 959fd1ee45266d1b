"""The one pipeline every command goes through.

  prepare  the tree, its candidates, the rules on a scratch copy, their
           events, the record (rewrite.compute), then the whole-path proofs
           and behaviour findings (report.build); with refuse=True (apply,
           diff, series) every driver whose proof failed, unless
           ALLOW_DMA_LOSS names it, and every place spatch did not parse,
           stop here in one refusal
  commit   the refusals that guard the tree (root, writable, uncommitted
           files, partly rewritten), then the journaled write

apply, diff, manifest, drift, report, series and fuzz call prepare();
apply and fuzz commit(). Nothing is written before commit().
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from . import parsecheck, refusals, report
from .report import Report
from .rewrite import Rewrite, compute, discard, write
from .tree import KernelTree


@dataclass
class Prepared:
    rewrite: Rewrite
    report: Report

    def close(self) -> None:
        discard(self.rewrite)


def prepare(tree: KernelTree, parts: str, jobs: int, refuse: bool,
            allow_dma_loss: tuple[str, ...] = ()) -> Prepared:
    rewrite = compute(tree, parts, jobs)
    try:
        if rewrite.unreachable and not refuse:
            raise parsecheck.refusal(rewrite.unreachable)
        rep = report.build(rewrite, jobs)
        if refuse:
            report.refuse(rep, allow_dma_loss, rewrite.unreachable)
        return Prepared(rewrite, rep)
    except BaseException:
        discard(rewrite)
        raise


@contextmanager
def prepared(tree: KernelTree, parts: str, jobs: int, refuse: bool = False,
             allow_dma_loss: tuple[str, ...] = ()) -> Iterator[Prepared]:
    """prepare(), and the scratch copy removed on the way out."""
    done = prepare(tree, parts, jobs, refuse, allow_dma_loss)
    try:
        yield done
    finally:
        done.close()


def commit(done: Prepared, force: bool) -> None:
    rewrite = done.rewrite
    refusals.before_write(rewrite.tree, rewrite.drivers, rewrite.record.files,
                          rewrite.record.changes, force)
    if rewrite.record.files:
        # The proofs as they were before the write: after it, report and
        # drift read them from the tree's state directory (applied.py).
        write(rewrite, {'report': report.render(done.report).encode(),
                        'report.json': done.report.to_json(
                            str(rewrite.tree.path)).encode()})
