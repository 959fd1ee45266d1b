"""Run one semantic patch with spatch and collect the events it records."""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .errors import ToolError

EVENT_PREFIX = 'IOMMU-DMA '
MIN_VERSION = (1, 1, 1)
TIMEOUT = 200  # seconds per file, as the kernel's .cocciconfig
# A directory for per-file results (see run()); unset: no cache.
CACHE_ENV = cache.ENV
CACHE_FORMAT = b'iommu-dma spatch result 1'


@dataclass(frozen=True)
class SemanticPatch:
    """One rule file of cocci/, or several that spatch runs as one.

    Several: a generated file that only #includes them, so spatch parses
    each C file once for all of them. That is correct by construction
    only because the rule files keep to one namespace (rule names and the
    Python globals of their initialize blocks are unique across cocci/,
    test_passes.py checks it), print only events in record mode, and
    only the last one may change a file: every other one then matches
    the file as it is on disk, as its own run would.
    """
    paths: tuple[Path, ...]

    def __init__(self, *paths: Path):
        object.__setattr__(self, 'paths', tuple(paths))

    @property
    def name(self) -> str:
        return '+'.join(p.stem for p in self.paths)

    @property
    def path(self) -> Path:
        (path,) = self.paths
        return path

    def text(self) -> bytes:
        return b'\0'.join(p.read_bytes() for p in self.paths)

    def options(self) -> list[str]:
        """The `// Options:` line of the header, as coccicheck reads it."""
        found = []
        for path in self.paths:
            m = re.search(r'^// Options:(.*)$', path.read_text(), re.M)
            found.append(m.group(1).split() if m else [])
        if any(o != found[0] for o in found):
            raise ToolError(f'{self.name}: rules with different Options: '
                            f'cannot run as one')
        return found[0]

    def virtuals(self) -> set[str]:
        return {v for path in self.paths for v in
                re.findall(r'^virtual (\w+)', path.read_text(), re.M)}

    def sp_file(self, tmp: Path) -> Path:
        """The file to give spatch: the rule, or one that includes all.

        spatch 1.1.1 runs included files last first (test_passes.py
        checks it): they are included in reverse, so they run in order.
        """
        if len(self.paths) == 1:
            return self.path
        both = tmp / f'{self.name}.cocci'
        # spatch wants a rule after the includes: a script that does nothing
        both.write_text(''.join(f'#include "{p.resolve()}"\n'
                                for p in reversed(self.paths)) +
                        '@script:python@\n@@\npass\n')
        return both


def check_spatch() -> None:
    """Refuse a missing or too old spatch."""
    if not shutil.which('spatch'):
        raise ToolError('spatch not found: run `make deps` '
                        '(Debian package coccinelle)')
    found = spatch_version()
    m = re.search(r'spatch version (\d+)\.(\d+)\.(\d+)', found)
    if not m or tuple(map(int, m.groups())) < MIN_VERSION:
        want = '.'.join(map(str, MIN_VERSION))
        raise ToolError(f'spatch {want} or newer required, found: '
                        f'{found or "nothing"}')


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


def command(sp: SemanticPatch, modes: list[str]) -> list[str]:
    """The spatch command line run() uses for sp in these modes, but for
    --sp-file (a generated file's name is not part of what it reads)."""
    return ['spatch', *python_option(), *QUIET, '--timeout', str(TIMEOUT),
            *sp.options()] + [x for mode in modes if mode in sp.virtuals()
                              for x in ('-D', mode)]


def run(sp: SemanticPatch, cwd: Path, files: list[str],
        modes: list[str], jobs: int = 1) -> list[dict]:
    """Run sp in place on files (relative to cwd); return its events, in
    file order, each naming its file relative to cwd (Pending.finish)."""
    with Pending(sp, cwd, modes, jobs) as pending:
        return pending.finish(files)


class Pending:
    """One spatch run of sp in cwd, whose files are named later.

    start() starts spatch before its files are known: it compiles its
    rules and starts Python while the step before it runs, then waits on
    its list of files, a FIFO that finish() writes once that step is
    done. spatch cannot read a file before it is named, so it reads each
    as the step before left it. Not started, finish() starts it; not
    finished, leaving the `with` stops it.
    """

    def __init__(self, sp: SemanticPatch, cwd: Path, modes: list[str],
                 jobs: int = 1):
        self.sp, self.cwd, self.jobs = sp, cwd, jobs
        self.cmd = command(sp, modes)
        self.tmp = Path(tempfile.mkdtemp(prefix='iommu-dma-sp-'))
        self.groups = self.tmp / 'groups'
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> 'Pending':
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stop(self) -> None:
        """Stop a started spatch that has nothing to run, or is
        interrupted: its whole process group, which also holds the spatch
        a wrapper script started without exec, and spatch's workers."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.communicate()

    def start(self) -> None:
        os.mkfifo(self.groups)
        cmd = self.cmd + ['--sp-file', str(self.sp.sp_file(self.tmp)),
                          '--file-groups', str(self.groups)] + (
            ['-j', str(self.jobs)] if self.jobs > 1 else [])
        echo(cmd, self.cwd)
        # A group of its own, for stop(); Ctrl-C then reaches this
        # process, whose `with` stops it.
        self.proc = subprocess.Popen(cmd, cwd=self.cwd,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     errors='surrogateescape',
                                     start_new_session=True)

    def finish(self, files: list[str]) -> list[dict]:
        """Run on files; their events, in file order.

        cwd is always a scratch copy: spatch never writes into a user's
        tree. Any exception spatch reports for any file fails the whole
        run. With $IOMMU_DMA_CACHE set, files whose result is in the
        result cache are not run again; the events and files are the same
        either way.

        The result cache: every run gives spatch one group per file, so a
        file's result (its new text, hex, or None, and the events naming
        it) depends only on the spatch version, the rule files, the
        command line, the file's path and its content. A rerun on a tree
        whose candidate files did not change (the next rc, the next CI
        job) then costs no spatch at all; any change to any of those
        inputs is a different key. Only clean runs are stored (in
        cache.Cache).
        """
        sp, cwd, cmd = self.sp, self.cwd, self.cmd
        store = cache.Cache.from_env()
        before = {rel: (cwd / rel).read_bytes() for rel in files}
        keys = {rel: cache.key(CACHE_FORMAT, spatch_version(), sp.name,
                               sp.text(), '\0'.join(cmd), rel, data)
                for rel, data in before.items()} if store else {}
        events: dict[str, list[dict]] = {}
        missing = []
        for rel in files:
            hit = store.get(keys[rel]) if store else None
            if not isinstance(hit, dict):
                missing.append(rel)
                continue
            events[rel] = hit['events']
            if hit['after'] is not None:
                replace_file(cwd / rel, bytes.fromhex(hit['after']))
        if not missing:
            self.stop()
        new = self._run(missing) if missing else []
        events.update(split_by_file(new, missing, sp.name))
        for rel in missing:
            if store:
                after = (cwd / rel).read_bytes()
                store.put(keys[rel], {'events': events[rel], 'after': None
                                      if after == before[rel] else
                                      after.hex()})
        return [e for rel in files for e in events[rel]]

    def _run(self, files: list[str]) -> list[dict]:
        """Name files to spatch, one group per file (matches never cross
        files), and judge its exit."""
        if not self.proc:
            self.start()
        assert self.proc
        # Biggest first: spatch deals files to its workers in list order,
        # so a big file named last would run alone at the end.
        order = sorted(files, key=lambda rel: (self.cwd / rel).stat().st_size,
                       reverse=True)
        self._name(('\n\n'.join(order) + '\n').encode(
            errors='surrogateescape'))
        out, err = self.proc.communicate()
        if self.proc.returncode < 0 or 'UnixExit(-1)' in err:
            # Killed by a signal, or its workers were: an interruption,
            # not a failed rule.
            raise KeyboardInterrupt
        errors = [line for line in err.splitlines()
                  if line.startswith('EXN') or 'error' in line.lower()]
        if self.proc.returncode != 0 or errors:
            detail = errors[0] if errors else err.strip()[-300:]
            raise ToolError(f'{self.sp.name}: spatch failed: {detail}')
        return [json.loads(line[len(EVENT_PREFIX):])
                for line in out.splitlines()
                if line.startswith(EVENT_PREFIX)]

    def _name(self, data: bytes) -> None:
        """Write the list into the FIFO once spatch has opened it; if
        spatch exits first, its exit status says why."""
        assert self.proc
        while True:
            try:
                fd = os.open(self.groups, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:    # ENXIO: not opened for reading yet
                if e.errno != errno.ENXIO:
                    raise
                if self.proc.poll() is not None:
                    return
                time.sleep(0.002)
        try:
            os.set_blocking(fd, True)
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
        except BrokenPipeError:
            pass


def split_by_file(events: list[dict], files: list[str],
                  name: str) -> dict[str, list[dict]]:
    """Events per file of the run, in order, each naming its file as the
    run did (spatch may say ./x for x); an event for a file outside the
    run is a failed rule."""
    by_file: dict[str, list[dict]] = {rel: [] for rel in files}
    for e in events:
        rel = os.path.normpath(str(e.get('file', '')))
        if rel not in by_file:
            raise ToolError(f'{name}: an event for {rel}, which '
                            f'is not a file of the run')
        by_file[rel].append(dict(e, file=rel))
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
