"""Run one semantic patch with spatch and collect the events it records."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError

EVENT_PREFIX = 'IOMMU-DMA '
MIN_VERSION = (1, 1, 1)
TIMEOUT = 200  # seconds per file, as the kernel's .cocciconfig


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


def run(sp: SemanticPatch, cwd: Path, files: list[str],
        modes: list[str], jobs: int = 1) -> list[dict]:
    """Run sp in place on files (relative to cwd); return its events.

    cwd is always a scratch copy: spatch never writes into a user's tree.
    Any exception spatch reports for any file fails the whole run.
    """
    if not files:
        return []
    wanted = [m for m in modes if m in sp.virtuals()]
    cmd = ['spatch', '--sp-file', str(sp.path), '--very-quiet',
           '--in-place', '--timeout', str(TIMEOUT)] + sp.options()
    for mode in wanted:
        cmd += ['-D', mode]
    if jobs > 1 and len(files) > 1:
        cmd += ['-j', str(jobs)]
    # One group per file: matches never cross files.
    groups = cwd / f'.{sp.name}.groups'
    groups.write_text('\n\n'.join(files) + '\n')
    try:
        res = subprocess.run(cmd + ['--file-groups', str(groups)], cwd=cwd,
                             capture_output=True, text=True)
    finally:
        groups.unlink()
    errors = [line for line in res.stderr.splitlines()
              if line.startswith('EXN') or 'error' in line.lower()]
    if res.returncode != 0 or errors:
        detail = errors[0] if errors else res.stderr.strip()[-300:]
        raise ToolError(f'{sp.path.name}: spatch failed: {detail}')
    events = []
    for line in res.stdout.splitlines():
        if line.startswith(EVENT_PREFIX):
            event = json.loads(line[len(EVENT_PREFIX):])
            event['rule'] = sp.name
            events.append(event)
    return events
