"""From commits to files ready for `git send-email OUT`.

git format-patch writes the files (version, RFC, subject prefix, base-commit,
range-diff against the previous version); scripts/get_maintainer.pl, run
once over the whole series as b4 does, gives one To/Cc list that every
patch and the cover letter carry, so everyone who reviews one part sees the
whole. A series already in OUT is the previous version: it moves to
OUT/v<N>/ and the new cover letter carries the range-diff against it, and
its change-id.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .. import gitcmd
from ..errors import ToolError

PATCH_NAME = re.compile(r'^(?:v(\d+)-)?\d{4}-.*\.patch$')
ROLE_TO = ('maintainer', 'supporter', 'odd fixer', 'chief penguin')


@dataclass(frozen=True)
class Version:
    """A series already written: its number, files and change-id."""
    number: int
    files: tuple[Path, ...]
    change_id: str | None


def read_version(where: Path) -> Version | None:
    files, numbers = [], set()
    for f in sorted(where.glob('*.patch')):
        m = PATCH_NAME.match(f.name)
        if m:
            files.append(f)
            numbers.add(int(m.group(1) or 1))
    if not files:
        return None
    if len(numbers) > 1:
        raise ToolError(f'{where}: patches of versions '
                        f'{", ".join(map(str, sorted(numbers)))} side by '
                        f'side; keep one')
    ids = [m.group(1) for f in files if (m := re.search(
        r'^change-id: (\S+)$', f.read_text(errors='replace'), re.M))]
    return Version(numbers.pop(), tuple(files), ids[-1] if ids else None)


def versions(out: Path) -> tuple[Version | None, dict[int, Version]]:
    """The series at the top of OUT, and those kept in OUT/v<N>/."""
    kept = {}
    if out.is_dir():
        for d in out.glob('v[0-9]*'):
            v = read_version(d) if d.is_dir() else None
            if v and d.name == f'v{v.number}':
                kept[v.number] = v
    return (read_version(out) if out.is_dir() else None), kept


def new_change_id() -> str:
    """b4's form: <date>-<slug>-<12 hex>."""
    return (f'{time.strftime("%Y%m%d")}-remove-iommu-domain-dma-'
            f'{secrets.token_hex(6)}')


def maintainers(script: Path, cwd: Path,
                patches: list[Path]) -> tuple[list[str], list[str]]:
    """(To, Cc) for the whole series, as the script lists them (the caller
    merges them with TO= and CC=, without duplicates)."""
    res = subprocess.run(['perl', str(script), '--no-git',
                          '--no-git-fallback', '--rolestats',
                          *map(str, patches)],
                         cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise ToolError(f'get_maintainer.pl failed: '
                        f'{res.stderr.strip()[-200:]}')
    to: list[str] = []
    cc: list[str] = []
    for line in res.stdout.splitlines():
        m = re.match(r'(.*?)\s*\(([^)]*(?:\([^)]*\))?[^)]*)\)\s*$', line)
        addr, role = (m.group(1), m.group(2)) if m else (line.strip(), '')
        if '@' not in addr:
            continue
        (to if role.startswith(ROLE_TO) else cc).append(addr)
    return to, cc


@dataclass(frozen=True)
class Format:
    """How git format-patch names and addresses the series."""
    number: int
    subject_prefix: str          # 'PATCH', 'RFC PATCH', 'PATCH iommu-next'
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    base: str | None = None      # base-commit
    range_diff: str | None = None    # start..previous top

    def args(self) -> list[str]:
        args = ['format-patch', '-q', '--cover-letter', '--no-to',
                '--no-cc', '--no-signature', '--thread=shallow',
                f'--subject-prefix={self.subject_prefix}']
        if self.number > 1:
            args.append(f'-v{self.number}')
        if self.base:
            args.append(f'--base={self.base}')
        if self.range_diff:
            args.append(f'--range-diff={self.range_diff}')
        args += [f'--to={a}' for a in self.to]
        args += [f'--cc={a}' for a in self.cc]
        return args


def format_patch(repo: Path, stage: Path, fmt: Format, commits: str,
                 env: dict[str, str], count: int) -> list[Path]:
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    gitcmd.run(repo, *fmt.args(), '-o', str(stage), commits, env=env)
    files = sorted(stage.glob('*.patch'))
    if len(files) != count + 1:
        raise ToolError(f'git format-patch wrote {len(files)} files for '
                        f'{count} patches')
    return files


def fill_cover(cover: Path, title: str, blurb: str,
               trailer: list[str]) -> None:
    """The blurb into git's cover letter; change-id after base-commit."""
    text = cover.read_text()
    if '*** SUBJECT HERE ***' not in text or '*** BLURB HERE ***' not in text:
        raise ToolError(f'{cover}: not a git format-patch cover letter')
    text = text.replace('*** SUBJECT HERE ***', title, 1) \
        .replace('*** BLURB HERE ***', blurb, 1)
    cover.write_text(text.rstrip('\n') + '\n' + ''.join(
        f'{line}\n' for line in trailer))


def relabel_range_diff(cover: Path, said: int, was: int) -> None:
    text = cover.read_text()
    cover.write_text(text.replace(f'\nRange-diff against v{said}:\n',
                                  f'\nRange-diff against v{was}:\n', 1))


def publish(stage: list[Path], out: Path, previous: Version | None
            ) -> list[Path]:
    """OUT gets the new files; a previous version moves to OUT/v<N>/ (an
    older copy of the same version there is replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    if previous:
        keep = out / f'v{previous.number}'
        if keep.exists():
            shutil.rmtree(keep)
        keep.mkdir()
        for f in previous.files:
            f.rename(keep / f.name)
    return [Path(shutil.move(f, out / f.name)) for f in stage]
