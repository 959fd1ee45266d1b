"""Every git command of the tool goes through run(): one place that keeps
the user's configuration from changing what we read or write.

The -c options stop git from taking, from the user's config, what would
change the patches (prefixes, renames, sign-offs, cover letters), run the
user's hooks or signers, or colour the output; GIT_OPTIONAL_LOCKS=0 keeps
read-only commands such as `git status` from refreshing the user's index.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import ToolError

HARDENED = ['-c', 'diff.noprefix=false', '-c', 'diff.mnemonicPrefix=false',
            '-c', 'format.signOff=false', '-c', 'commit.gpgSign=false',
            '-c', 'core.hooksPath=/dev/null', '-c', 'color.ui=false',
            '-c', 'format.coverLetter=false', '-c', 'format.numbered=auto',
            '-c', 'diff.renames=false', '-c', 'format.useAutoBase=false',
            '-c', 'am.threeWay=false', '-c', 'core.quotePath=false',
            '-c', 'advice.detachedHead=false']


def _git(cwd: Path, args: tuple[str, ...], env: dict[str, str] | None = None,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(['git', *HARDENED, *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True,
                          errors='surrogateescape',
                          env=dict(os.environ, GIT_OPTIONAL_LOCKS='0',
                                   **(env or {})))


def run(cwd: Path, *args: str, env: dict[str, str] | None = None,
        check: bool = True, stdin: str | None = None,
        codes: tuple[int, ...] = (0,)) -> str:
    """stdout of `git args` in cwd; a failure (an exit status not in codes)
    is a one-line ToolError."""
    res = _git(cwd, args, env, stdin)
    if check and res.returncode not in codes:
        why = (res.stderr or res.stdout).strip().splitlines()
        raise ToolError(f'git {args[0]} failed in {cwd}: '
                        f'{why[-1] if why else "exit " + str(res.returncode)}')
    return res.stdout


def grep(cwd: Path, *args: str) -> str:
    """`git grep args`: '' when nothing matches (exit 1), else its output."""
    return run(cwd, 'grep', *args, codes=(0, 1))


def ok(cwd: Path, *args: str) -> bool:
    """Whether `git args` succeeds (a question, not a step)."""
    return _git(cwd, args).returncode == 0


def config(cwd: Path, key: str) -> str:
    """The user's value of key, '' when unset."""
    res = subprocess.run(['git', 'config', key], cwd=cwd,
                         capture_output=True, text=True)
    return res.stdout.strip()
