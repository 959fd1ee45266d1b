"""Run one semantic patch with spatch and collect the events it records."""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .errors import ToolError

EVENT_PREFIX = 'IOMMU-DMA '
MIN_VERSION = (1, 1, 1)
TIMEOUT = 200  # seconds per file, as the kernel's .cocciconfig
# A directory for per-file results (see ResultCache); unset: no cache.
CACHE_ENV = cache.ENV
CACHE_FORMAT = b'iommu-dma spatch result 1'


@dataclass(frozen=True)
class SemanticPatch:
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def options(self) -> list[str]:
        """The `// Options:` line of the header, as coccicheck reads it."""
        m = re.search(r'^// Options:(.*)$', self.path.read_text(), re.M)
        return m.group(1).split() if m else []

    def virtuals(self) -> set[str]:
        return set(re.findall(r'^virtual (\w+)', self.path.read_text(),
                              re.M))


def check_spatch() -> str:
    """Return the spatch path, refusing a missing or too old one."""
    spatch = shutil.which('spatch')
    if not spatch:
        raise ToolError('spatch not found: run `make deps` '
                        '(Debian package coccinelle)')
    out = subprocess.run([spatch, '--version'], capture_output=True,
                         text=True).stdout
    m = re.search(r'spatch version (\d+)\.(\d+)\.(\d+)', out)
    if not m or tuple(map(int, m.groups())) < MIN_VERSION:
        want = '.'.join(map(str, MIN_VERSION))
        raise ToolError(f'spatch {want} or newer required, found: '
                        f'{out.splitlines()[0] if out else "nothing"}')
    return spatch


@functools.lru_cache(maxsize=None)
def spatch_version() -> str:
    """`spatch --version`, first line: part of every cache key."""
    out = subprocess.run(['spatch', '--version'], capture_output=True,
                         text=True).stdout
    return out.splitlines()[0] if out else ''


# In place and silent. Without --no-show-diff spatch still diffs every
# changed file against its original (an external diff, and both files
# parsed again to compare them) and throws the diff away: ~40% of the
# CPU of a changing rule.
QUIET = ['--very-quiet', '--in-place', '--no-show-diff']

# spatch finds its libpython by running the `python3` it finds on PATH
# (`python3 --version`, `ldd`); where that is a wrapper (a pyenv shim: a
# dozen bash processes) every spatch start costs ~0.3 s. --python names
# the interpreter instead: the distribution's, which the Debian package
# is built against; IOMMU_DMA_SPATCH_PYTHON= (empty) leaves it to spatch.
PYTHON_ENV = 'IOMMU_DMA_SPATCH_PYTHON'
DEFAULT_PYTHON = '/usr/bin/python3'


def python_option() -> list[str]:
    python = os.environ.get(PYTHON_ENV, DEFAULT_PYTHON)
    if not python or not os.access(python, os.X_OK):
        return []
    return ['--python', python]


class ResultCache:
    """What one semantic patch did to one file, keyed by everything it read.

    Every run gives spatch one group per file, so a file's result (its new
    text and the events naming it) depends only on the spatch version, the
    semantic patch, the command line, the file's path and its content. A
    rerun on a tree whose candidate files did not change (the next rc, the
    next CI job) then costs no spatch at all; any change to any of those
    inputs is a different key. Only clean runs are stored (in cache.Cache).
    """

    def __init__(self, store: cache.Cache):
        self.store = store

    @classmethod
    def from_env(cls) -> 'ResultCache | None':
        store = cache.Cache.from_env()
        return cls(store) if store else None

    @staticmethod
    def key(sp: SemanticPatch, cmd: list[str], rel: str,
            data: bytes) -> str:
        return cache.key(CACHE_FORMAT, spatch_version(), sp.name,
                         sp.path.read_bytes(), '\0'.join(cmd), rel, data)

    def get(self, key: str) -> tuple[list[dict], bytes | None] | None:
        entry = self.store.get(key)
        if not isinstance(entry, dict):
            return None
        after = entry['after']
        return entry['events'], (None if after is None else
                                 bytes.fromhex(after))

    def put(self, key: str, events: list[dict], after: bytes | None) -> None:
        self.store.put(key, {'events': events,
                             'after': None if after is None else after.hex()})


# Results computed ahead in this process (combine.prime: one spatch pass
# for several rules), under the key their own run would have in the
# ResultCache: a run finds them by the same key, so only the exact input
# (rule text, command line, file path and content, spatch version) hits.
# compute() empties it when it starts.
MEMO: dict[str, tuple[list[dict], bytes | None]] = {}


def command(sp: SemanticPatch, modes: list[str]) -> list[str]:
    """The spatch command line run() uses for sp in these modes."""
    wanted = [m for m in modes if m in sp.virtuals()]
    cmd = ['spatch', *python_option(), '--sp-file', str(sp.path),
           *QUIET, '--timeout', str(TIMEOUT)] + sp.options()
    for mode in wanted:
        cmd += ['-D', mode]
    return cmd


def run(sp: SemanticPatch, cwd: Path, files: list[str],
        modes: list[str], jobs: int = 1) -> list[dict]:
    """Run sp in place on files (relative to cwd); return its events.

    cwd is always a scratch copy: spatch never writes into a user's tree.
    Any exception spatch reports for any file fails the whole run. Files
    whose result is in MEMO or, with $IOMMU_DMA_CACHE set, in the result
    cache are not run again.
    """
    if not files:
        return []
    cmd = command(sp, modes)
    cache = ResultCache.from_env()
    if cache is None and not MEMO:
        # in file order, as from the cache: -j workers print as they go
        new = _run(sp, cwd, files, cmd, jobs)
        by_file = split_by_file(new, files)
        return new if by_file is None else \
            [e for rel in files for e in by_file[rel]]
    before = {rel: (cwd / rel).read_bytes() for rel in files}
    keys = {rel: ResultCache.key(sp, cmd, rel, data)
            for rel, data in before.items()}
    events: dict[str, list[dict]] = {}
    missing = []
    for rel in files:
        hit = MEMO.get(keys[rel])
        if hit is None and cache is not None:
            hit = cache.get(keys[rel])
        if hit is None:
            missing.append(rel)
            continue
        events[rel], after = hit
        events[rel] = [dict(e, rule=sp.name) for e in events[rel]]
        if after is not None:
            replace_file(cwd / rel, after)
    new = _run(sp, cwd, missing, cmd, jobs)
    by_file = split_by_file(new, missing)
    if by_file is None:     # an event naming no file of the run: no caching
        return [e for rel in files if rel not in missing
                for e in events[rel]] + new
    for rel in missing:
        after = (cwd / rel).read_bytes()
        events[rel] = by_file[rel]
        result = (by_file[rel], None if after == before[rel] else after)
        MEMO[keys[rel]] = result    # a later run of the same input
        if cache is not None:
            cache.put(keys[rel], *result)
    return [e for rel in files for e in events[rel]]


def split_by_file(events: list[dict],
                  files: list[str]) -> dict[str, list[dict]] | None:
    """Events per file of the run, in order; None if one names no such file."""
    by_file: dict[str, list[dict]] = {rel: [] for rel in files}
    for e in events:
        rel = os.path.normpath(str(e.get('file', '')))
        if rel not in by_file:
            return None
        by_file[rel].append(e)
    return by_file


def replace_file(path: Path, data: bytes) -> None:
    """Replace, never write through: scratch files may be hard links."""
    tmp = path.with_name(f'.{path.name}.cache-tmp')
    tmp.write_bytes(data)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


VERBOSE_ENV = 'IOMMU_DMA_VERBOSE'


def echo(cmd: list[str], cwd: Path | None = None) -> None:
    """V=1: every spatch, gcc and make command, as a shell would run it."""
    if os.environ.get(VERBOSE_ENV) == '1':
        where = f'cd {shlex.quote(str(cwd))} && ' if cwd else ''
        print(f'  {where}{shlex.join(cmd)}', file=sys.stderr, flush=True)


def run_file_groups(cmd: list[str], cwd: Path, files: list[str], jobs: int,
                    name: str) -> subprocess.CompletedProcess:
    """spatch cmd over files, one group per file: matches never cross
    files. The group list is a file of our own, so runs can share cwd."""
    cmd = list(cmd)
    if jobs > 1 and len(files) > 1:
        cmd += ['-j', str(jobs)]
    fd, groups = tempfile.mkstemp(dir=cwd, prefix=f'.{name}.',
                                  suffix='.groups')
    with os.fdopen(fd, 'w', errors='surrogateescape') as f:
        f.write('\n\n'.join(files) + '\n')
    echo(cmd + ['--file-groups', groups], cwd)
    try:
        return subprocess.run(cmd + ['--file-groups', groups], cwd=cwd,
                              capture_output=True, text=True,
                              errors='surrogateescape')
    finally:
        os.unlink(groups)


def _run(sp: SemanticPatch, cwd: Path, files: list[str], cmd: list[str],
         jobs: int) -> list[dict]:
    if not files:
        return []
    res = run_file_groups(cmd, cwd, files, jobs, sp.name)
    interrupted_or_failed(res, sp.path.name)
    events = []
    for line in res.stdout.splitlines():
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            event['rule'] = sp.name
            events.append(event)
    return events


def interrupted_or_failed(res: subprocess.CompletedProcess,
                          name: str) -> None:
    """Ctrl-C (KeyboardInterrupt) or a failed rule (ToolError)."""
    if res.returncode < 0 or 'UnixExit(-1)' in res.stderr:
        # Killed by a signal, or its workers were (Ctrl-C reaches the
        # whole process group): an interruption, not a failed rule.
        raise KeyboardInterrupt
    errors = [line for line in res.stderr.splitlines()
              if line.startswith('EXN') or 'error' in line.lower()]
    if res.returncode != 0 or errors:
        detail = errors[0] if errors else res.stderr.strip()[-300:]
        raise ToolError(f'{name}: spatch failed: {detail}')
