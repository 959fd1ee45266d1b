"""make bench: the speed of `make diff` against its floor, per tree.

Rows, on every tree given, in one run, each the median of --reps runs:
  diff, diff-warm  `make diff` as a user runs it, result cache empty, then
              warm (the next rc, CI)
  floor       the least any tool must do: the candidate scan (`grep -rlE
              --include=*.c 'struct iommu_ops'`) piped into ONE spatch run
              of a trivial rule, with the tool's spatch options
  scan        the floor's grep alone
  plain       (--plain-reps) every rule of the series the coccicheck way,
              `spatch --dir TREE -j J`, summed; a rule still running after
              --plain-cap s is stopped: the sum (and its ratio) is then a
              lower bound, shown as >=
  checker-*   (--checker) kbuild-check on a rewritten copy: cold, warm, and
              again after one touched file is edited (as between patches)
  series-*    (--series) `iommu-dma series` per split, no boot check
  boot-*      (--boot) the boot check, cold and with the pristine image
  series-boot (--boot) the stage series with its boot check, cold, then as
              a re-roll finds it (the issue's 90 s target)
Columns: ratio to the floor, wall, CPU (user + sys of the command and all
it waited for), peak RSS of its largest process (wait4's ru_maxrss). The
targets (the *_TARGET* constants) are printed, never asserted; all of it
is written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from iommu_dma import era
from iommu_dma.rewrite import (AUDIT, CORE_SHAPES, STEPS, core_state,
                               detect_core_shape, semantic_patch,
                               step_modes)
from iommu_dma.spatch import CACHE_ENV, python_option, replace_file
from iommu_dma.tree import KernelTree, linked_copy

TOP = Path(__file__).resolve().parents[2]
SCAN = ['grep', '-rlE', '--include=*.c', 'struct iommu_ops']
PLAIN_TARGET = 3.0      # diff at least this many times faster than plain
FLOOR_TARGET = 1.5      # cold diff at most this many times the floor
RSS_TARGET_MIB = 1024   # no process over 1 GiB
SERIES_TARGET_S = 90    # the stage series with its boot check, re-rolled
# the rows people wait for, each beside the pristine kernel's kbuild time
KBUILD_BESIDE = ('boot-cold', 'boot-cached', 'series-boot-cold',
                 'series-boot')
SPLITS = ('stage', 'driver', '0')
TRIVIAL_RULE = """// The floor's rule: every struct iommu_ops initializer with its
// .domain_alloc, printed.
@r@
identifier I, fn;
position p;
@@
struct iommu_ops I@p = { .domain_alloc = fn, };

@script:python@
I << r.I;
fn << r.fn;
p << r.p;
@@
print("%s:%s: %s .domain_alloc = %s" % (p[0].file, p[0].line, I, fn))
"""


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    status: int
    capped: bool = False    # stopped at the cap: wall is a lower bound


@dataclass
class Row:
    name: str
    command: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ''

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_mib for s in self.samples)

    @property
    def ok(self) -> bool:
        return all(s.status == 0 for s in self.samples if not s.capped)

    @property
    def capped(self) -> bool:
        return any(s.capped for s in self.samples)


def measure(cmd: list[str], cwd: Path | None = None,
            env: dict[str, str] | None = None,
            cap: float | None = None, stdout: Path | None = None) -> Sample:
    """Run cmd, output discarded (or stdout kept in a file): its wall, CPU
    and peak RSS. After cap seconds it and all it started are killed."""
    t0 = time.perf_counter()
    with open(stdout or os.devnull, 'wb') as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.DEVNULL,
                                start_new_session=cap is not None)
    capped = False
    # wait4, not proc.wait(): the rusage of this one command
    while not (done := os.wait4(proc.pid, os.WNOHANG if cap else 0))[0]:
        if not capped and time.perf_counter() - t0 > cap:
            os.killpg(proc.pid, signal.SIGKILL)
            capped = True
        time.sleep(0.02)
    _, status, ru = done
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(time.perf_counter() - t0, ru.ru_utime + ru.ru_stime,
                  ru.ru_maxrss / 1024, proc.returncode, capped)


def add(samples: list[Sample]) -> Sample:
    """Several commands run one after the other, as one sample."""
    return Sample(sum(s.wall for s in samples), sum(s.cpu for s in samples),
                  max(s.rss_mib for s in samples),
                  next((s.status for s in samples
                        if s.status and not s.capped), 0),
                  any(s.capped for s in samples))


def series_rules(tree: KernelTree) -> list[tuple[str, list[str]]]:
    """(cocci, modes) of every rule `make diff` runs on this tree, once."""
    dma_fq = era.read(tree).dma_fq
    # detect_core_shape works on a copy: the tree is not written
    found = None if core_state(tree) == 'done' else \
        detect_core_shape(tree.path, step_modes(dma_fq))
    shape = found[0] if found else None
    modes = step_modes(shape is not None and dma_fq)
    return [(CORE_SHAPES[shape][0] if s.cocci == 'core' else s.cocci, modes)
            for s in STEPS if s.cocci != 'core' or shape is not None] + \
        [(AUDIT, ['report', 'record'])]


def plain_command(cocci: str, modes: list[str], kernel: Path,
                  jobs: int) -> list[str]:
    """One rule over the whole tree the coccicheck way (no --in-place)."""
    sp = semantic_patch(cocci)
    return ['spatch', '--sp-file', str(sp.path), '--dir', str(kernel),
            '--very-quiet', '--timeout', '200', '-j', str(jobs),
            *sp.options(), *(arg for mode in modes if mode in sp.virtuals()
                             for arg in ('-D', mode))]


def floor_command(kernel: Path, rule: Path) -> list[str]:
    """The scan piped into one spatch run of the trivial rule."""
    spatch = ' '.join(['spatch', *python_option(), '--sp-file', str(rule),
                       '--very-quiet', '--no-includes'])
    scan = ' '.join(SCAN[:-1]) + f" '{SCAN[-1]}' {kernel}"
    return ['sh', '-c', f'{scan} | xargs -r {spatch}']


def ratio(a: float, b: float) -> float:
    return a / b if b else float('inf')


def targets(rows: dict[str, Row]) -> list[dict]:
    """The issue's targets, judged on what was measured."""
    out = []
    if 'diff' in rows and 'floor' in rows:
        r = ratio(rows['diff'].wall, rows['floor'].wall)
        out.append({'row': 'diff', 'target': f'diff / floor <= '
                    f'{FLOOR_TARGET:g}', 'ratio': r,
                    'met': r <= FLOOR_TARGET})
    for name in ('diff', 'diff-warm'):
        if name in rows and 'plain' in rows:
            r = ratio(rows['plain'].wall, rows[name].wall)
            # a capped plain time is a lower bound: so is the ratio
            out.append({'row': name, 'target': f'plain / {name} >= '
                        f'{PLAIN_TARGET:g}', 'ratio': r,
                        'lower_bound': rows['plain'].capped,
                        'met': r >= PLAIN_TARGET})
    if 'series-boot' in rows:
        r = rows['series-boot'].wall
        out.append({'row': 'series-boot', 'target': f'stage series, built '
                    f'and booted, KCACHE kept, s <= {SERIES_TARGET_S:g}',
                    'ratio': r, 'met': r <= SERIES_TARGET_S})
    if rows:
        peak = max(rows.values(), key=lambda r: r.rss_mib)
        out.append({'row': peak.name, 'target': f'peak rss MiB <= '
                    f'{RSS_TARGET_MIB}', 'ratio': peak.rss_mib,
                    'met': peak.rss_mib <= RSS_TARGET_MIB})
    return out


def table(rows: dict[str, Row], judged: list[dict], head: str) -> str:
    base = rows.get('floor')
    lines = [head,
             f'{"what":<14} {"x floor":>7} {"wall s":>8} {"cpu s":>8} '
             f'{"rss MiB":>8} {"runs":>4}  command']
    for row in rows.values():
        ge = '>=' if row.capped else ''
        x = ge + format(ratio(row.wall, base.wall), '.2f') if base else '-'
        flag = '' if row.ok else '  (FAILED: non-zero exit)'
        lines.append(f'{row.name:<14} {x:>7} '
                     f'{ge + format(row.wall, ".2f"):>8} '
                     f'{ge + format(row.cpu, ".2f"):>8} {row.rss_mib:8.0f} '
                     f'{len(row.samples):>4}  {row.command}{flag}')
        if row.note:
            lines.append(f'{"":<14} {"":>7} {row.note}')
    kbuild = rows.get('kbuild')
    for name in KBUILD_BESIDE:
        if kbuild and kbuild.ok and name in rows:
            lines.append(f'{name} / kbuild: '
                         f'{ratio(rows[name].wall, kbuild.wall):.2f}')
    for t in judged:
        ge = '>=' if t.get('lower_bound') else ''
        lines.append(f'target {t["target"]}: {ge}{t["ratio"]:.2f} '
                     f'({t["row"]}) {"met" if t["met"] else "NOT met"}')
    return '\n'.join(lines)


def report(rows: dict[str, Row], meta: dict) -> dict:
    floor = rows.get('floor')
    return {'meta': meta, 'targets': targets(rows),
            'rows': {name: {'command': r.command, 'wall': r.wall,
                            'cpu': r.cpu, 'rss_mib': r.rss_mib, 'ok': r.ok,
                            'lower_bound': r.capped,
                            'x_floor': ratio(r.wall, floor.wall)
                            if floor else None,
                            'note': r.note,
                            'samples': [asdict(s) for s in r.samples]}
                     for name, r in rows.items()}}


def tool(module: str, *args: str, **env: str
         ) -> tuple[list[str], dict[str, str]]:
    """`python3 -m module args` of this checkout, and its environment."""
    return ([sys.executable, '-m', module, *args],
            dict(os.environ, PYTHONPATH=str(TOP / 'tools'), **env))


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


def checker_rows(checker: Path, kernel: Path, jobs: int,
                 work: Path) -> list[Row]:
    """kbuild-check on a cp -al copy rewritten by `iommu-dma apply`: cold,
    warm, then with one touched file edited, as between two patches."""
    copy = fresh(work / 'linux')
    linked_copy(kernel, copy)
    cmd, env = tool('iommu_dma', 'apply', '-j', str(jobs), str(copy))
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    manifest = copy / '.iommu-dma' / 'manifest'
    if not manifest.exists():
        # nothing rewritten (an upstream-era tree): nothing to build
        shutil.rmtree(copy, ignore_errors=True)
        return []
    cmd = [str(checker), '-O', str(fresh(work / 'checker-out')), '-j',
           str(jobs), '--json', str(copy)]
    shown = f'{checker.name} -O <fresh dir> -j {jobs} --json <rewritten copy>'
    rows = [Row('checker-cold', shown, [measure(cmd)])]
    shown = shown.replace('<fresh dir>', '<same dir>')
    rows.append(Row('checker-warm', shown, [measure(cmd)]))
    edited = next(line.split()[0] for line in manifest.read_text().split('\n')
                  if line and not line.startswith('#'))
    replace_file(copy / edited,     # a new file, not through a link
                 (copy / edited).read_bytes() + b'\n/* bench: edited */\n')
    rows.append(Row('checker-edit', f'{shown}  ({edited} edited)',
                    [measure(cmd)]))
    return rows


def boot_rows(checker: Path, kernel: Path, jobs: int,
              work: Path) -> list[Row]:
    """`python3 -m lab.boot` on x86_64 with a KCACHE of the bench's own: cold
    (empty: pristine and rewritten built, ccache empty) and cached (the
    pristine image reused, the rewrite rebuilt in place); beside them
    kbuild alone, the cold run's pristine build, to compare with."""
    cmd, env = tool('lab.boot', '-j', str(jobs), '--json', str(kernel),
                    KCACHE=str(fresh(work / 'kcache-boot')))
    shown = f'python3 -m lab.boot -j {jobs} {kernel}'
    result = work / 'boot-cold.json'
    cold = Row('boot-cold', shown + '  (KCACHE=<empty dir>)',
               [measure(cmd, env=env, stdout=result)])
    cached = Row('boot-cached', shown + '  (pristine image cached)',
                 [measure(cmd, env=env)])
    try:
        took = json.loads(result.read_text())['seconds']['build_pristine']
        kbuild = Row('kbuild', 'make O=<dir> bzImage, tinyconfig + tools/'
                     'boot/x86_64.config  (the cold boot\'s pristine build)',
                     [Sample(took, 0.0, 0.0, 0)])
    except (OSError, ValueError, KeyError, TypeError):
        kbuild = Row('kbuild', 'make bzImage (the cold boot failed)',
                     [Sample(0.0, 0.0, 0.0, 1)])
    return [kbuild, cold, cached]


def series_rows(checker: Path, kernel: Path, jobs: int,
                work: Path) -> list[Row]:
    """`iommu-dma series` per split, no boot check, each from scratch."""
    rows = []
    for split in SPLITS:
        root = fresh(work / f'series-{split}')
        root.mkdir(parents=True)
        cmd, env = tool('iommu_dma', 'series', '-j', str(jobs), '--split',
                        split, '--checker', str(checker), '--work-root',
                        str(root / 'work'), '-o', str(root / 'out'),
                        str(kernel))
        shown = (f'iommu-dma series -j {jobs} --split {split} --checker '
                 f'<kbuild-check> --work-root <dir> -o <dir> {kernel}')
        rows.append(Row(f'series-{split}', shown, [measure(cmd, env=env)]))
    return rows


def series_boot_rows(checker: Path, kernel: Path, jobs: int,
                     work: Path) -> list[Row]:
    """`iommu-dma series --split stage --boot` twice with a KCACHE of the
    bench's own: first empty, then as a re-roll (or a fresh clone of this
    tool, which keeps nothing of its own) finds it: the pristine image and
    the slot's build dir kept, the rewritten kernel built and every boot
    run again; each into a fresh OUT."""
    kcache = fresh(work / 'kcache-series')
    rows = []
    for name, what in (('series-boot-cold', 'KCACHE=<empty dir>'),
                       ('series-boot', 'a re-roll, or a new clone: '
                                       'KCACHE kept')):
        out = fresh(work / f'out-{name}')
        cmd, env = tool('iommu_dma', 'series', '-j', str(jobs), '--split',
                        'stage', '--boot', '--checker', str(checker), '-o',
                        str(out), str(kernel), KCACHE=str(kcache))
        shown = (f'iommu-dma series -j {jobs} --split stage --boot '
                 f'--checker <kbuild-check> -o <new dir> {kernel}  ({what})')
        rows.append(Row(name, shown, [measure(cmd, env=env)]))
    return rows


def run_bench(kernel: Path, args: argparse.Namespace, work: Path,
              log: Callable[[str], None]) -> tuple[dict[str, Row], dict]:
    load, tree = os.getloadavg()[0], KernelTree.open(kernel)
    reps, plain_reps, plain_cap, jobs, checker, series, boot = (
        max(1, args.reps), args.plain_reps, args.plain_cap, args.jobs,
        args.checker, args.series, args.boot)
    work.mkdir(parents=True, exist_ok=True)
    rule = work / 'floor.cocci'
    rule.write_text(TRIVIAL_RULE)
    diff = ['make', '-s', '-C', str(TOP), 'diff', f'KERNEL={kernel}',
            f'J={jobs}']
    floor = floor_command(kernel, rule)
    scan = SCAN + [str(kernel)]
    shown = ' '.join(diff) + f'  ({CACHE_ENV}='
    rows = {'diff': Row('diff', shown + '<empty dir>)'),
            'floor': Row('floor', floor[-1].replace(str(rule),
                                                    '<trivial rule>')),
            'scan': Row('scan', floor[-1].split(' | ')[0])}

    # Interleaved, so a change in the machine's load hits every row alike.
    log(f'bench: {kernel}: make diff (empty result cache), the floor and '
        f'its scan, {reps} runs each')
    for _ in range(reps):
        cache = Path(tempfile.mkdtemp(prefix='cache-', dir=work))
        rows['diff'].samples.append(measure(
            diff, env=dict(os.environ, **{CACHE_ENV: str(cache)})))
        shutil.rmtree(cache)
        rows['floor'].samples.append(measure(floor, cwd=work))
        rows['scan'].samples.append(measure(scan))

    log(f'bench: make diff, {reps} runs, warm result cache')
    warm = dict(os.environ, **{CACHE_ENV: str(fresh(work / 'cache-warm'))})
    measure(diff, env=warm)     # fills the cache
    rows['diff-warm'] = Row('diff-warm', shown + '<warm dir>)',
                            [measure(diff, env=warm) for _ in range(reps)])

    if plain_reps:
        rules = series_rules(tree)
        log(f'bench: plain spatch --dir, {len(rules)} rules, {plain_reps} '
            f'runs, at most {plain_cap:g} s per rule (slow)')
        per_rule = {cocci: Row(cocci, '') for cocci, _ in rules}
        samples = []
        for _ in range(plain_reps):
            for cocci, modes in rules:
                # Outside the tree: its .cocciconfig wants git grep.
                s = measure(plain_command(cocci, modes, kernel, jobs),
                            cwd=work, cap=plain_cap)
                per_rule[cocci].samples.append(s)
                log(f'bench:   {cocci}: {s.wall:.1f} s'
                    f'{" (capped)" if s.capped else ""}')
            samples.append(add([r.samples[-1] for r in per_rule.values()]))
        rows['plain'] = Row(
            'plain', f'spatch --sp-file <rule> --dir {kernel} -j {jobs} '
            f'... > /dev/null, summed over {len(rules)} rules', samples,
            note='per rule (median s): ' + ', '.join(
                f'{r.name} {">=" if r.capped else ""}{r.wall:.1f}'
                for r in per_rule.values()))

    for wanted, what, more in (
            (checker, 'checker cold, warm and one file edited (1 run each)',
             checker_rows),
            (series and checker, 'series per split, no boot (1 run each)',
             series_rows),
            (boot, 'boot check cold and cached, x86_64 (1 run each, slow)',
             boot_rows),
            (boot and checker, 'series --split stage --boot, cold then as '
             'a re-roll (1 run each, slow)', series_boot_rows)):
        if wanted:
            log(f'bench: {what}')
            rows.update((r.name, r) for r in more(checker, kernel, jobs,
                                                   work))

    meta = {'kernel': str(kernel), 'version': tree.version(),
            'jobs': jobs, 'reps': reps, 'plain_reps': plain_reps,
            'plain_cap': plain_cap, 'cores': os.cpu_count(),
            'loadavg_after': os.getloadavg()[0],
            'date': time.strftime('%Y-%m-%d %H:%M:%S'),
            'loadavg_before': load}
    return rows, meta


def summary(results: list[tuple[dict[str, Row], dict]]) -> str:
    """One line per tree: the ratios first."""
    lines = ['bench summary (cold diff / floor, warm diff / floor, '
             'then wall s):']
    for rows, meta in results:
        cold, warm, floor = rows['diff'], rows['diff-warm'], rows['floor']
        lines.append(f'  linux {meta["version"]:<10} cold '
                     f'{ratio(cold.wall, floor.wall):.2f}x  warm '
                     f'{ratio(warm.wall, floor.wall):.2f}x  (diff '
                     f'{cold.wall:.2f} s, floor {floor.wall:.2f} s, warm '
                     f'{warm.wall:.2f} s; peak '
                     f'{max(r.rss_mib for r in rows.values()):.0f} MiB)')
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='iommu-dma bench',
                                description=__doc__.splitlines()[0])
    p.add_argument('kernels', metavar='KERNEL', nargs='+')
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--plain-reps', type=int, default=1,
                   help='runs of the slow plain spatch (0: skip)')
    p.add_argument('--plain-cap', type=float, default=120,
                   help='seconds after which one plain rule is stopped '
                        '(its time then counts as a lower bound)')
    p.add_argument('-j', '--jobs', type=int, default=2)
    p.add_argument('--checker', type=Path,
                   help='kbuild-check binary (default: skip)')
    p.add_argument('--series', action='store_true',
                   help='also time `iommu-dma series` per split (needs '
                        '--checker)')
    p.add_argument('--boot', action='store_true',
                   help='also time the boot check, cold and cached')
    p.add_argument('--json', type=Path, default=TOP / 'build' / 'bench.json')
    p.add_argument('--work', help='scratch directory (default: a temp dir)')
    args = p.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix='iommu-dma-bench-'))
    results, trees = [], []
    try:
        for n, path in enumerate(args.kernels):
            kernel = Path(path).resolve()
            rows, meta = run_bench(kernel, args, work / f'tree{n}',
                                   lambda m: print(m, file=sys.stderr))
            results.append((rows, meta))
            trees.append(report(rows, meta))
            head = (f'bench: linux {meta["version"]} ({kernel}), '
                    f'{meta["cores"]} cores, -j{args.jobs}, median of '
                    f'{meta["reps"]} runs (plain: {args.plain_reps}), load '
                    f'{meta["loadavg_before"]:.1f} -> '
                    f'{meta["loadavg_after"]:.1f}')
            print(table(rows, trees[-1]['targets'], head) + '\n')
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(summary(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({'trees': trees}, indent=1) + '\n')
    print(f'bench: wrote {args.json}')
    return int(not all(r.ok for rows, _ in results for r in rows.values()))


if __name__ == '__main__':
    sys.exit(main())
