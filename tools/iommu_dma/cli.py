"""Command line: iommu-dma {apply,diff,manifest,drift,report,series} KERNEL."""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import PROG, applied, errors, events, jsonout, pipeline, refusals, \
    report, upstream, version
from .errors import ToolError
from .journal import Journal
from .record import Record
from .rewrite import PARTS, Rewrite, core_state
from .summary import summary
from .tree import KernelTree

EXPECTED_DIR = Path(__file__).resolve().parents[2] / 'expected'


def cmd_apply(args: argparse.Namespace) -> int:
    tree = KernelTree.open(args.kernel)
    refusals.check_root(tree)
    with refusals.locked(tree):
        return apply_locked(tree, args)


def apply_locked(tree: KernelTree, args: argparse.Namespace) -> int:
    recovered = Journal(tree.path, tree.state_dir()).recover()
    if recovered:
        print(f'{PROG}: {recovered}', file=sys.stderr)
    with pipeline.prepared(tree, args.parts, args.jobs, refuse=True,
                           allow_dma_loss=allowed(args)) as done:
        pipeline.commit(done, args.force)
        record = done.rewrite.record
        if args.json:
            emit_json('apply', record, 'rewritten' if record.files
                      else 'nothing to do')
            return 0
        print(summary(record, 'rewritten'))
        if not record.files:
            print_last_apply(tree)
    return 0


def emit_json(command: str, record: Record, status: str,
              **more: object) -> None:
    """One JSON object on stdout (tools/json-schema.md)."""
    sys.stdout.write(jsonout.document(command, status, record.tree, {
        'version': record.version, 'series_name': record.series_name,
        'core_shape': record.core_shape, 'dma_fq': record.dma_fq,
        'files': record.files,
        'changes': [e.to_json() for e in record.changes],
        'findings': [e.to_json() for e in record.findings], **more}))


def print_last_apply(tree: KernelTree) -> None:
    """A tree with nothing left to change: what the apply that rewrote it
    recorded (.iommu-dma/record.json)."""
    saved = tree.state_dir() / 'record.json'
    if not saved.is_file():
        return
    done = Record.load(saved)
    print(f'{PROG}: rewritten earlier ({saved}): {len(done.files)} files, '
          f'{len(done.findings)} findings:')
    for line in summary(done, 'rewritten').splitlines()[1:]:
        print(f'  {line}')


def allowed(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(n for n in args.allow_dma_loss.split(',') if n)


@contextmanager
def computed(tree: KernelTree, args: argparse.Namespace, refuse: bool = False
             ) -> Iterator[tuple[Rewrite, report.Report]]:
    """The rewrite of a tree no apply is half-way through; read-only.
    refuse: judge it as apply does (diff previews apply)."""
    refusals.no_pending_journal(tree)
    with pipeline.prepared(tree, args.parts, args.jobs, refuse=refuse,
                           allow_dma_loss=allowed(args) if refuse else ()
                           ) as done:
        yield done.rewrite, done.report


def cmd_diff(args: argparse.Namespace) -> int:
    with computed(KernelTree.open(args.kernel), args, refuse=True) as \
            (rewrite, _):
        if args.json:
            emit_json('diff', rewrite.record, 'changes' if
                      rewrite.record.files else 'nothing to do',
                      diff=rewrite.diff())
            return 0
        sys.stdout.write(rewrite.diff())
        print(summary(rewrite.record, 'would change'), file=sys.stderr)
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    tree = KernelTree.open(args.kernel)
    print(f'{PROG}: {tree.path}: manifest', file=sys.stderr)
    with computed(tree, args) as (rewrite, _):
        sys.stdout.write(rewrite.record.manifest())
    return 0


def as_applied(tree: KernelTree) -> applied.Applied | None:
    """The apply that rewrote tree, said in one line on stderr; a tree
    changed by hand since is no tree to judge by its record."""
    done = applied.find(tree)
    if done is None and core_state(tree) == 'done':
        print(f'{PROG}: {tree.path}: rewritten without a record (by hand, '
              f'or by a tool other than make apply): judged as it stands',
              file=sys.stderr)
    if done is not None:
        print(done.say(), file=sys.stderr)
        if done.changed:
            raise ToolError(f'{tree.path}: changed since apply: its record '
                            f'no longer describes it; `make revert` needs '
                            f'the files as apply wrote them')
    return done


def cmd_drift(args: argparse.Namespace) -> int:
    tree = KernelTree.open(args.kernel)
    expected = Path(args.expected) if args.expected else \
        EXPECTED_DIR / f'{tree.series_name()}.manifest'
    release = re.sub(r'-rc\d+$', '', tree.series_name())
    if not args.expected and not args.record and not expected.exists() \
            and (EXPECTED_DIR / f'{release}.manifest').exists():
        expected = EXPECTED_DIR / f'{release}.manifest'
        print(f'{PROG}: {tree.series_name()} is a release candidate: '
              f'compared with {expected.name}', file=sys.stderr)
    if not expected.exists() and not args.record:
        raise ToolError(
            f'{expected}: no expected manifest for {tree.series_name()}; '
            f'record one with `make drift KERNEL={args.kernel} RECORD=1` '
            f'and review it')
    done = as_applied(tree)
    if done is not None:
        text = done.text(applied.MANIFEST)
    else:
        with computed(tree, args) as (rewrite, _):
            text = rewrite.record.manifest()
    if args.record:
        # Written only once the whole manifest is computed: a failed run
        # leaves no empty or partial file behind.
        tmp = expected.with_name(f'.{expected.name}.tmp')
        tmp.write_text(text)
        os.replace(tmp, expected)
        print(f'{PROG}: recorded {expected} ({text.count(chr(10))} lines); '
              f'review it with git diff')
        return 0
    if expected.name == f'{release}.manifest' != \
            f'{tree.series_name()}.manifest':
        # a release candidate: the same lines under its release's name
        text = text.replace(f'manifest: {tree.series_name()},',
                            f'manifest: {release},', 1)
    got = text.splitlines(keepends=True)
    want = expected.read_text().splitlines(keepends=True)
    diff = ''.join(difflib.unified_diff(want, got, f'expected/{expected.name}',
                                        'regenerated'))
    if args.json:
        sys.stdout.write(jsonout.document(
            'drift', 'no drift' if got == want else 'drift', str(tree.path),
            {'series_name': tree.series_name(), 'expected': str(expected),
             'diff': diff}))
        return 0 if got == want else 1
    if got == want:
        print(f'{PROG}: {tree.path}: no drift against {expected.name} '
              f'({len(want)} lines)')
        return 0
    sys.stdout.write(diff)
    print(f'{PROG}: {tree.path}: drift: the rules no longer produce '
          f'{expected.name}', file=sys.stderr)
    return 1


def cmd_report(args: argparse.Namespace) -> int:
    tree = KernelTree.open(args.kernel)
    print(f'{PROG}: {tree.path}: report', file=sys.stderr)
    done = as_applied(tree)
    if done is not None:
        # The proofs as made before the write, not the rules run again
        # on a tree that has nothing left for them.
        sys.stdout.write(done.text(applied.REPORT_JSON if args.json
                                   else applied.REPORT))
        return 0
    with computed(tree, args) as (rewrite, rep):
        record = rewrite.record
    if record.core_shape == upstream.SHAPE:
        fn = next(e.function for e in record.changes
                  if isinstance(e, events.Upstream))
        show = upstream.to_json if args.json else upstream.render
        sys.stdout.write(show(tree, fn,
                              upstream.ops_map(tree, rewrite.drivers),
                              record.findings))
        return 0
    sys.stdout.write(rep.to_json(str(tree.path)) if args.json
                     else report.render(rep))
    return 1 if rep.failures else 0


def cmd_revert(args: argparse.Namespace) -> int:
    tree = KernelTree.open(args.kernel)
    refusals.check_root(tree)
    with refusals.locked(tree):
        print(applied.revert(tree))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description='Regenerate "iommu: Remove IOMMU_DOMAIN_DMA '
        'from drivers" on a kernel tree.')
    p.add_argument('--version', action='version', version=version())
    sub = p.add_subparsers(dest='command', required=True)

    def add(name: str, func, help: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=help)
        s.add_argument('kernel', metavar='KERNEL', help='kernel tree')
        s.add_argument('--parts', choices=PARTS, default='all',
                       help='what to rewrite (default: all)')
        s.add_argument('-j', '--jobs', type=int, default=1,
                       help='spatch jobs')
        s.set_defaults(func=func)
        return s

    apply = add('apply', cmd_apply,
                'rewrite the tree in place, print a summary')
    apply.add_argument('--force', action='store_true',
                       help='rewrite files with uncommitted git changes')
    diff = add('diff', cmd_diff, 'print the -p1 diff apply would write, '
               'change nothing (refused as apply is)')
    for s in (apply, diff):
        s.add_argument('--json', action='store_true',
                       help='one JSON object on stdout')
        s.add_argument('--allow-dma-loss', default='', metavar='OPS,...',
                       help='rewrite even though these drivers (struct '
                       'iommu_ops or domain_alloc names) lose what the '
                       'whole-path proof says they lose')
    add('manifest', cmd_manifest, 'print the change manifest')
    drift = add('drift', cmd_drift,
                'compare the manifest with the expected one')
    drift.add_argument('--expected', help='expected manifest file')
    drift.add_argument('--json', action='store_true',
                       help='one JSON object on stdout')
    drift.add_argument('--record', action='store_true',
                       help='write the expected manifest instead of '
                       'comparing with it')
    rep = add('report', cmd_report,
              'type-acceptance report and gate proofs, change nothing')
    rep.add_argument('--json', action='store_true', help='print JSON')
    revert = sub.add_parser('revert', help='put back the originals of a '
                            'tree make apply rewrote, drop its record')
    revert.add_argument('kernel', metavar='KERNEL', help='kernel tree')
    revert.set_defaults(func=cmd_revert)
    add_series(sub)
    return p


def cmd_series(args: argparse.Namespace) -> int:
    from .series import Options, generate
    res = generate(args.kernel, Options(
        out=args.out, split={'1': 'driver'}.get(args.split, args.split),
        signoff=args.signoff, prefixes=args.prefixes,
        checkpatch=args.checkpatch, checker=args.checker,
        work_root=args.work_root, jobs=args.jobs, boot=args.boot,
        reroll=args.reroll, rfc=args.rfc,
        subject_prefix=args.subject_prefix, to=tuple(args.to),
        cc=tuple(args.cc), maintainers=not args.no_maintainers,
        suggested_by=args.suggested_by, link=args.link, force=args.force,
        b4=args.b4))
    if args.json:
        sys.stdout.write(jsonout.document('series', 'written', args.kernel, {
            'out': str(res.out), 'number': res.number,
            'change_id': res.change_id, 'files': [str(f) for f in res.files],
            'subjects': res.subjects, 'checks': res.checks,
            'verified': res.verified, 'notes': res.notes}))
        return 0
    print(f'{PROG}: {len(res.subjects)} patches and a cover letter in '
          f'{res.out}')
    for subject in res.subjects:
        print(f'  {subject}')
    for note in res.notes:
        print(f'{PROG}: note: {note}', file=sys.stderr)
    return 0


def add_series(sub) -> None:
    s = sub.add_parser('series', help='write a git format-patch series '
                       'with a cover letter, every step build-checked')
    s.add_argument('kernel', metavar='KERNEL', help='pristine kernel tree '
                   '(a git tree: its HEAD is the base)')
    s.add_argument('-o', '--out', type=Path, required=True,
                   help='output directory; a series already there moves to '
                   'OUT/v<N>/')
    s.add_argument('--split', choices=('stage', 'driver', '0', '1'),
                   default='stage',
                   help='stage: fields and flags, core, dropped comparisons '
                   '(default); driver (or 1): one patch per driver and '
                   'step; 0: one patch')
    s.add_argument('--signoff', help="'Name <email>' (default: git config)")
    s.add_argument('--prefixes', type=Path, help='subject prefix table')
    s.add_argument('--checkpatch', type=Path, help='checkpatch.pl for a tree '
                   'without scripts/checkpatch.pl (run with --no-tree)')
    s.add_argument('--checker', type=Path, help='kbuild-check (default: '
                   '$IOMMU_DMA_OUT/checker/kbuild-check)')
    s.add_argument('--work-root', type=Path, help='run directories (default: '
                   'KCACHE, ~/.cache/iommu-dma; boot builds: KCACHE/boot)')
    s.add_argument('-j', '--jobs', type=int, default=2,
                   help='spatch and build jobs')
    s.add_argument('--boot', action='store_true',
                   help='boot-check the final tree against pristine under '
                   'QEMU and put the table in the cover letter')
    s.add_argument('-v', '--reroll', type=int, metavar='N',
                   help='version (default: the one in OUT plus 1, else 1)')
    s.add_argument('--rfc', action='store_true', help='[RFC PATCH]')
    s.add_argument('--subject-prefix', default='PATCH',
                   help='instead of PATCH')
    s.add_argument('--to', action='append', default=[],
                   help='add a To: address (repeatable)')
    s.add_argument('--cc', action='append', default=[],
                   help='add a Cc: address (repeatable)')
    s.add_argument('--no-maintainers', action='store_true',
                   help='no To:/Cc: from get_maintainer.pl: only --to/--cc')
    s.add_argument('--suggested-by', metavar="'NAME <EMAIL>'",
                   help='Suggested-by: trailer on every patch')
    s.add_argument('--link', help='Link: trailer on every patch')
    s.add_argument('--force', action='store_true',
                   help='a git tree whose files to change differ from HEAD: '
                   'make the series from the working tree')
    s.add_argument('--json', action='store_true',
                   help='one JSON object on stdout')
    s.add_argument('--b4', action='store_true',
                   help='also fetch the b4 prep branch b4/iommu-dma-v<N> '
                   'into KERNEL\'s repository (its current branch stays)')
    s.set_defaults(func=cmd_series)


def main(argv: list[str] | None = None) -> int:
    return errors.run(parser(), argv)
