"""The checks a maintainer's tools would run on the series.

Each raises ToolError with one line when the series must not be written,
and returns the line the cover letter shows when it passes:
  - the build checker after every patch that touches C (one build dir per
    run, so each step rebuilds only what it changed);
  - scripts/checkpatch.pl --strict on every patch;
  - scripts/kernel-doc on every touched header: no new warning;
  - `git am` of the mailed files onto the base gives `make apply`'s tree;
  - the boot check of the final tree against pristine (BOOT=1).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import gitcmd
from ..errors import ToolError
from ..spatch import echo
from .patches import Patch

TOOLS = Path(__file__).resolve().parents[2]     # tools/: iommu_dma, lab


def build_check(checker: Path, tree: Path, build: Path, jobs: int,
                patch: Patch, n: int, total: int, series_files: list[str],
                log: Path) -> str:
    files = list(patch.c_files)
    if any(f.endswith('.h') for f in files):
        # A header change reaches every file the series touches.
        files += [f for f in series_files if f.endswith('.c')
                  and f not in files]
    t0 = time.monotonic()
    res = subprocess.run([str(checker), '-O', str(build), '-j', str(jobs),
                          str(tree), *files], capture_output=True, text=True)
    log.write_text(res.stderr + res.stdout)
    took = time.monotonic() - t0
    if res.returncode < 0:
        raise KeyboardInterrupt      # the checker was killed by a signal
    if res.returncode != 0:
        last = [ln for ln in res.stdout.splitlines() if ln.strip()]
        raise ToolError(f'build check failed after patch {n}/{total} '
                        f'({patch.subject}): '
                        f'{last[-1] if last else "kbuild-check failed"}; '
                        f'see {log}; nothing written')
    return f'{n}/{total}: {len(files)} file(s) built ({took:.0f} s)'


CHECKPATCH_TOTAL = re.compile(r'total: (\d+) errors, (\d+) warnings, '
                              r'(?:(\d+) checks, )?\d+ lines checked')


def checkpatch(script: Path, tree_mode: bool, cwd: Path,
               patches: list[Path]) -> None:
    for patch in patches:
        cmd = ['perl', str(script), '--strict'] + \
            ([] if tree_mode else ['--no-tree']) + [str(patch)]
        res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        m = CHECKPATCH_TOTAL.search(res.stdout)
        if not m:
            raise ToolError(f'checkpatch.pl gave no verdict on {patch.name}:'
                            f' {(res.stderr or res.stdout).strip()[-200:]}')
        counts = [int(x or 0) for x in m.groups()]
        if any(counts) or res.returncode != 0:
            first = next((ln for ln in res.stdout.splitlines()
                          if re.match(r'(ERROR|WARNING|CHECK):', ln)), '')
            raise ToolError(f'checkpatch --strict: {patch.name}: {first} '
                            f'({counts[0]} errors, {counts[1]} warnings, '
                            f'{counts[2]} checks); nothing written')


def kernel_doc_warnings(script: Path, rel: str, text: bytes) -> set[str]:
    """kernel-doc's warnings on text as rel, without line numbers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / rel
        path.parent.mkdir(parents=True)
        path.write_bytes(text)
        res = subprocess.run(['perl', str(script), '-none', rel],
                             cwd=tmp, capture_output=True, text=True)
    if res.returncode not in (0, 1) and 'warning' not in res.stderr:
        raise ToolError(f'scripts/kernel-doc failed on {rel}: '
                        f'{res.stderr.strip()[-200:]}')
    return {re.sub(r':\d+:', ':', ln) for ln in res.stderr.splitlines()
            if 'warning' in ln or 'error' in ln}


def kernel_doc(script: Path, before: dict[str, bytes],
               after: dict[str, bytes]) -> str:
    headers = sorted(f for f in after if f.endswith('.h'))
    for rel in headers:
        new = kernel_doc_warnings(script, rel, after[rel]) - \
            kernel_doc_warnings(script, rel, before[rel])
        if new:
            raise ToolError(f'scripts/kernel-doc: {sorted(new)[0]}; '
                            f'nothing written')
    return (f'scripts/kernel-doc -none on {", ".join(headers)}: no new '
            f'warnings' if headers else 'scripts/kernel-doc: no header '
            'touched')


def git_am(repo: Path, base: str, mailed: list[Path],
           want: dict[str, bytes], env: dict[str, str]) -> str:
    """Apply the mailed patches onto base in repo; the files must be
    exactly the one-shot rewrite's."""
    top = gitcmd.run(repo, 'rev-parse', 'HEAD').strip()
    try:
        gitcmd.run(repo, 'checkout', '-q', '--detach', base)
        gitcmd.run(repo, 'am', '-q', '--no-3way', *map(str, mailed),
                   env=env)
        for rel, data in sorted(want.items()):
            if (repo / rel).read_bytes() != data:
                raise ToolError(f'git am of the series gives a different '
                                f'{rel} than apply; nothing written')
    finally:
        gitcmd.run(repo, 'am', '--abort', check=False)
        gitcmd.run(repo, 'checkout', '-q', '--detach', top, check=False)
    return (f'git am of the {len(mailed)} mailed patches onto the base '
            f'gives the same files as a one-shot rewrite')


def boot_check(kernel: Path, jobs: int, final: dict[str, bytes],
               scratch: Path) -> str:
    """The final tree (final: the files as the last patch leaves them)
    booted against pristine by the lab's boot check, run as a command
    (its pristine kernel is `make boot`'s, kept in KCACHE); returns its
    table for the cover letter, indented."""
    top = scratch / 'boot-rewritten'
    shutil.rmtree(top, ignore_errors=True)      # a previous run's
    for rel, data in final.items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(data)
    cmd = [sys.executable, '-m', 'lab.boot', '-j', str(jobs), '--rewritten',
           str(top), str(kernel)]
    echo(cmd)
    res = subprocess.run(cmd, stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ, PYTHONPATH=str(TOOLS)))
    if res.returncode < 0 or res.returncode == 130:
        raise KeyboardInterrupt
    lines = res.stdout.splitlines()
    table = _table(lines)
    if res.returncode == 1:
        bad = [ln for ln in table[1:] if 'differs' in ln or 'failed' in ln]
        raise ToolError(f'boot check: {len(bad)} of {len(table) - 1} '
                        f'(iommu, mode) pairs differ from pristine, first: '
                        f'{" ".join(bad[0].split()) if bad else "?"}; '
                        f'nothing written (make boot KERNEL={kernel} shows '
                        f'why)')
    if res.returncode != 0 or not table:
        raise ToolError(f'boot check failed (exit {res.returncode}); '
                        f'nothing written (make boot KERNEL={kernel} shows '
                        f'why)')
    return '\n'.join('  ' + ln.rstrip() for ln in table)


def _table(lines: list[str]) -> list[str]:
    """The table of a boot report: from its head row to the first blank
    line after it."""
    start = next((k for k, ln in enumerate(lines)
                  if ln.split()[:2] == ['iommu', 'mode']), None)
    if start is None:
        return []
    end = next((k for k in range(start, len(lines)) if not lines[k].strip()),
               len(lines))
    return lines[start:end]