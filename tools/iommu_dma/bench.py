"""make bench: whole-tree speed of `make diff` beside plain spatch and grep.

On one tree, in one run, each measured several times (median):
  diff        `make diff` as a user runs it, result cache empty
  diff-warm   `make diff` again with a warm result cache (the next rc, CI)
  plain       every rule of the series run the plain way, as coccicheck
              would: `spatch --dir TREE -j J`, output to /dev/null; the
              rules' times are summed into one sample. A rule still running
              after --plain-cap seconds is stopped: the sum is then a lower
              bound (shown as >=), and so is the ratio to it
  grep        `grep -rl iommu_ops TREE`: the floor of any tool that reads
              every file
  checker     kbuild-check on a rewritten copy, cold (fresh O=) and warm
Wall and CPU (user + sys of the command and everything it waited for) and
the peak RSS of its largest process. The table is printed and written as
JSON; the targets (diff >= 3x faster than plain, within 2x of grep) are
printed, never asserted.
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

from .rewrite import (AUDIT, CORE_SHAPES, STEPS, core_state,
                      detect_core_shape, semantic_patch)
from .spatch import CACHE_ENV
from .tree import IOMMU_C, KernelTree

TOP = Path(__file__).resolve().parents[2]
GREP_TOKEN = 'iommu_ops'
PLAIN_TARGET = 3.0      # diff at least this many times faster than plain
GREP_TARGET = 2.0       # diff at most this many times the grep floor


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
            cap: float | None = None) -> Sample:
    """Run cmd, output discarded; its wall, CPU and peak RSS.

    After cap seconds the command and everything it started is killed and
    the sample marked capped.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=cap is not None)
    capped = False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG if cap else 0)
        if pid:
            break
        if time.perf_counter() - t0 > cap:
            os.killpg(proc.pid, signal.SIGKILL)
            capped = True
            _, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Sample(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024,
                  proc.returncode, capped)


def add(samples: list[Sample]) -> Sample:
    """Several commands run one after the other, as one sample."""
    return Sample(sum(s.wall for s in samples), sum(s.cpu for s in samples),
                  max(s.rss_mib for s in samples),
                  next((s.status for s in samples
                        if s.status and not s.capped), 0),
                  any(s.capped for s in samples))


def series_rules(tree: KernelTree) -> list[tuple[str, list[str]]]:
    """(cocci, modes) of every rule `make diff` runs on this tree, once."""
    shape = None
    if core_state(tree) != 'done':
        with tempfile.TemporaryDirectory(prefix='iommu-dma-bench-') as tmp:
            (Path(tmp) / IOMMU_C).parent.mkdir(parents=True)
            shutil.copy2(tree.path / IOMMU_C, Path(tmp) / IOMMU_C)
            shape = detect_core_shape(Path(tmp))
    dma_fq = shape is not None and CORE_SHAPES[shape][1]
    modes = ['patch', 'record'] + (['dma_fq'] if dma_fq else [])
    rules = []
    for step in STEPS:
        if step.cocci == 'core':
            if shape is None:
                continue
            rules.append((CORE_SHAPES[shape][0], modes))
        else:
            rules.append((step.cocci, modes))
    rules.append((AUDIT, ['report', 'record']))
    return rules


def plain_command(cocci: str, modes: list[str], kernel: Path,
                  jobs: int) -> list[str]:
    """One rule over the whole tree the coccicheck way (no --in-place)."""
    sp = semantic_patch(cocci)
    cmd = ['spatch', '--sp-file', str(sp.path), '--dir', str(kernel),
           '--very-quiet', '--timeout', '200', '-j', str(jobs)]
    cmd += sp.options()
    for mode in modes:
        if mode in sp.virtuals():
            cmd += ['-D', mode]
    return cmd


def make_diff(kernel: Path, jobs: int) -> list[str]:
    return ['make', '-s', '-C', str(TOP), 'diff', f'KERNEL={kernel}',
            f'J={jobs}']


def ratio(a: float, b: float) -> float:
    return a / b if b else float('inf')


def targets(rows: dict[str, Row]) -> list[dict]:
    """The issue's targets, judged for each `make diff` row measured."""
    out = []
    for name in ('diff', 'diff-warm'):
        diff = rows.get(name)
        if diff is None:
            continue
        if 'plain' in rows:
            r = ratio(rows['plain'].wall, diff.wall)
            # a capped plain time is a lower bound: so is the ratio
            out.append({'row': name, 'target': f'plain / {name} >= '
                        f'{PLAIN_TARGET:g}', 'ratio': r,
                        'lower_bound': rows['plain'].capped,
                        'met': r >= PLAIN_TARGET})
        if 'grep' in rows:
            r = ratio(diff.wall, rows['grep'].wall)
            out.append({'row': name, 'target': f'{name} / grep <= '
                        f'{GREP_TARGET:g}', 'ratio': r,
                        'met': r <= GREP_TARGET})
    return out


def table(rows: dict[str, Row], judged: list[dict], head: str) -> str:
    base = rows.get('grep')
    lines = [head,
             f'{"what":<13} {"runs":>4} {"wall s":>8} {"cpu s":>8} '
             f'{"rss MiB":>8} {"x grep":>7}  command']
    for row in rows.values():
        x = f'{ratio(row.wall, base.wall):7.2f}' if base else f'{"-":>7}'
        flag = '' if row.ok else '  (FAILED: non-zero exit)'
        ge = '>=' if row.capped else ''
        lines.append(f'{row.name:<13} {len(row.samples):>4} '
                     f'{ge + format(row.wall, ".2f"):>8} '
                     f'{ge + format(row.cpu, ".2f"):>8} {row.rss_mib:8.0f} '
                     f'{x}  {row.command}{flag}')
        if row.note:
            lines.append(f'{"":<13} {"":>4} {row.note}')
    for t in judged:
        ge = '>=' if t.get('lower_bound') else ''
        lines.append(f'target {t["target"]}: {ge}{t["ratio"]:.2f} '
                     f'{"met" if t["met"] else "NOT met"}')
    return '\n'.join(lines)


def report(rows: dict[str, Row], meta: dict) -> dict:
    judged = targets(rows)
    return {'meta': meta, 'targets': judged,
            'rows': {name: {'command': r.command, 'wall': r.wall,
                            'cpu': r.cpu, 'rss_mib': r.rss_mib, 'ok': r.ok,
                            'lower_bound': r.capped,
                            'note': r.note,
                            'samples': [asdict(s) for s in r.samples]}
                     for name, r in rows.items()}}


def checker_rows(checker: Path, kernel: Path, jobs: int,
                 work: Path) -> list[Row]:
    """kbuild-check on a cp -al copy rewritten by `iommu-dma apply`."""
    copy = work / 'linux'
    shutil.rmtree(copy, ignore_errors=True)
    subprocess.run(['cp', '-al', str(kernel), str(copy)], check=True)
    env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'))
    subprocess.run([sys.executable, '-m', 'iommu_dma', 'apply', '-j',
                    str(jobs), str(copy)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    out = work / 'checker-out'
    shutil.rmtree(out, ignore_errors=True)
    cmd = [str(checker), '-O', str(out), '-j', str(jobs), '--json',
           str(copy)]
    shown = f'{checker.name} -O <fresh dir> -j {jobs} --json <rewritten copy>'
    cold = Row('checker-cold', shown, [measure(cmd)])
    warm = Row('checker-warm', shown.replace('<fresh dir>', '<same dir>'),
               [measure(cmd)])
    return [cold, warm]


def boot_rows(kernel: Path, jobs: int, work: Path) -> list[Row]:
    """`iommu-dma boot` on x86_64 in a work dir of the bench's own: cold
    (pristine and rewritten built from scratch) and cached (the pristine
    image reused, the rewrite rebuilt in place), all IOMMUs and modes."""
    root = work / 'boot'
    shutil.rmtree(root, ignore_errors=True)
    cmd = [sys.executable, '-m', 'iommu_dma', 'boot', '-j', str(jobs),
           '--work', str(root), str(kernel)]
    env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'))
    shown = f'iommu-dma boot -j {jobs} --work <dir> {kernel}'
    cold = Row('boot-cold', shown + '  (<dir> empty)',
               [measure(cmd, env=env)])
    cached = Row('boot-cached', shown + '  (pristine image cached)',
                 [measure(cmd, env=env)])
    return [cold, cached]


def run_bench(kernel: Path, reps: int, plain_reps: int, jobs: int,
              checker: Path | None, work: Path, plain_cap: float = 120,
              log=print, boot: bool = False) -> tuple[dict[str, Row], dict]:
    tree = KernelTree.open(kernel)
    rows: dict[str, Row] = {}
    env = dict(os.environ)

    log(f'bench: {kernel}: make diff, {reps} runs, empty result cache')
    rows['diff'] = Row('diff', ' '.join(make_diff(kernel, jobs)) +
                       f'  ({CACHE_ENV}=<empty dir>)')
    for _ in range(reps):
        cache = Path(tempfile.mkdtemp(prefix='cache-', dir=work))
        rows['diff'].samples.append(measure(
            make_diff(kernel, jobs), env=dict(env, **{CACHE_ENV: str(cache)})))
        shutil.rmtree(cache)

    log(f'bench: make diff, {reps} runs, warm result cache')
    cache = work / 'cache-warm'
    shutil.rmtree(cache, ignore_errors=True)
    warm_env = dict(env, **{CACHE_ENV: str(cache)})
    measure(make_diff(kernel, jobs), env=warm_env)     # fills the cache
    rows['diff-warm'] = Row('diff-warm', ' '.join(make_diff(kernel, jobs)) +
                            f'  ({CACHE_ENV}=<warm dir>)')
    for _ in range(reps):
        rows['diff-warm'].samples.append(measure(make_diff(kernel, jobs),
                                                 env=warm_env))

    log(f'bench: grep floor, {reps} runs')
    grep = ['grep', '-rl', GREP_TOKEN, str(kernel)]
    rows['grep'] = Row('grep', ' '.join(grep),
                       [measure(grep) for _ in range(reps)])

    rules = series_rules(tree)
    if plain_reps:
        log(f'bench: plain spatch --dir, {len(rules)} rules, {plain_reps} '
            f'runs, at most {plain_cap:g} s per rule (slow)')
        cmds = [plain_command(c, m, kernel, jobs) for c, m in rules]
        per_rule: dict[str, list[Sample]] = {c: [] for c, _ in rules}
        samples = []
        for _ in range(plain_reps):
            one = []
            for (cocci, _), cmd in zip(rules, cmds):
                # Outside the tree: its .cocciconfig wants git grep.
                one.append(measure(cmd, cwd=work, cap=plain_cap))
                per_rule[cocci].append(one[-1])
                log(f'bench:   {cocci}: {one[-1].wall:.1f} s'
                    f'{" (capped)" if one[-1].capped else ""}')
            samples.append(add(one))
        rows['plain'] = Row(
            'plain', f'spatch --sp-file <rule> --dir {kernel} -j {jobs} '
            f'... > /dev/null, summed over {len(rules)} rules', samples,
            note='per rule (median s): ' + ', '.join(
                f'{c} {"" if not any(s.capped for s in v) else ">="}'
                f'{statistics.median(s.wall for s in v):.1f}'
                for c, v in per_rule.items()))

    if checker:
        log('bench: checker cold and warm (1 run each)')
        for row in checker_rows(checker, kernel, jobs, work):
            rows[row.name] = row

    if boot:
        log('bench: boot check cold and cached, x86_64 (1 run each, slow)')
        for row in boot_rows(kernel, jobs, work):
            rows[row.name] = row

    meta = {'kernel': str(kernel), 'version': tree.version(),
            'jobs': jobs, 'reps': reps, 'plain_reps': plain_reps,
            'plain_cap': plain_cap,
            'cores': os.cpu_count(),
            'loadavg_after': os.getloadavg()[0],
            'date': time.strftime('%Y-%m-%d %H:%M:%S')}
    return rows, meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog='iommu-dma bench',
                                description=__doc__.splitlines()[0])
    p.add_argument('kernel', metavar='KERNEL')
    p.add_argument('--reps', type=int, default=5)
    p.add_argument('--plain-reps', type=int, default=1,
                   help='runs of the slow plain spatch (0: skip)')
    p.add_argument('--plain-cap', type=float, default=120,
                   help='seconds after which one plain rule is stopped '
                        '(its time then counts as a lower bound)')
    p.add_argument('-j', '--jobs', type=int, default=2)
    p.add_argument('--checker', help='kbuild-check binary (default: skip)')
    p.add_argument('--boot', action='store_true',
                   help='also time the boot check, cold and cached')
    p.add_argument('--json', default=str(TOP / 'build' / 'bench.json'))
    p.add_argument('--work', help='scratch directory (default: a temp dir)')
    args = p.parse_args(argv)
    kernel = Path(args.kernel).resolve()
    work = Path(args.work or tempfile.mkdtemp(prefix='iommu-dma-bench-'))
    work.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    try:
        rows, meta = run_bench(kernel, max(1, args.reps), args.plain_reps,
                               args.jobs,
                               Path(args.checker) if args.checker else None,
                               work, args.plain_cap,
                               log=lambda m: print(m, file=sys.stderr),
                               boot=args.boot)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    meta['loadavg_before'] = load
    data = report(rows, meta)
    head = (f'bench: linux {meta["version"]} ({kernel}), {meta["cores"]} '
            f'cores, -j{args.jobs}, median of {meta["reps"]} runs (plain: '
            f'{args.plain_reps}), load {load:.1f} -> '
            f'{meta["loadavg_after"]:.1f}')
    print(table(rows, data['targets'], head))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(data, indent=1) + '\n')
    print(f'bench: wrote {args.json}')
    return 0 if all(r.ok for r in rows.values()) else 1


if __name__ == '__main__':
    sys.exit(main())
