"""The series as b4 expects it: a b4 prep branch, made by b4 itself.

In the run's throw-away repository the series' commits become a branch
that Debian's b4 enrolls (`b4 prep -e BASE`); the cover letter goes in
through `b4 prep --edit-cover` with an editor that writes ours, and `b4
send --dry-run -o DIR` must turn the branch into the mails. With B4=1 the
branch is then fetched into the user's repository, beside its branches
(the current one is never touched), for `b4 prep --edit-cover` and `b4
send` there. Nothing of b4's own format is written here.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from .. import gitcmd
from ..errors import ToolError
from ..tree import KernelTree


def available() -> bool:
    return shutil.which('b4') is not None


def b4(repo: Path, env: dict[str, str], *args: str) -> str:
    res = subprocess.run(['b4', *args], cwd=repo, capture_output=True,
                         text=True, env={**os.environ, **env})
    if res.returncode != 0:
        last = (res.stderr.strip() or res.stdout.strip()).splitlines()
        raise ToolError(f'b4 {" ".join(args)} failed in {repo}: '
                        f'{last[-1] if last else res.returncode}')
    return res.stdout


def prep(repo: Path, start: str, branch: str, cover: str,
         ident: tuple[str, str], env: dict[str, str], stage: Path) -> int:
    """Enroll HEAD's commits after start as branch, with cover as its
    cover letter; return how many mails `b4 send --dry-run` makes."""
    gitcmd.run(repo, 'config', 'user.name', ident[0])
    gitcmd.run(repo, 'config', 'user.email', ident[1])
    gitcmd.run(repo, 'checkout', '-q', '-B', branch)
    b4(repo, env, 'prep', '-e', start)
    text = stage / 'b4-cover.txt'
    text.write_text(cover)
    editor = stage / 'b4-editor'
    editor.write_text(f'#!/bin/sh\ncat {shlex.quote(str(text))} > "$1"\n')
    editor.chmod(0o755)
    b4(repo, {**env, 'EDITOR': str(editor), 'GIT_EDITOR': str(editor)},
       'prep', '--edit-cover')
    out = stage / 'b4-send'
    # As a user with an SMTP server sends (b4 would take a kernel tree to
    # its web endpoint, which needs a patatt key); dry: nothing is sent.
    smtp = {'GIT_CONFIG_COUNT': '1',
            'GIT_CONFIG_KEY_0': 'sendemail.smtpserver',
            'GIT_CONFIG_VALUE_0': 'localhost'}
    b4(repo, {**env, **smtp}, 'send', '--dry-run', '--no-sign', '-o',
       str(out))
    return len([p for p in out.iterdir() if p.is_file()])


def check(kernel: KernelTree, branch: str) -> None:
    """B4=1 needs b4, a git KERNEL, and no branch of that name in it."""
    if not available():
        raise ToolError('B4=1: b4 is not installed (Debian package b4)')
    if not kernel.is_git():
        raise ToolError(f'B4=1: {kernel.path} is not a git repository')
    if gitcmd.run(kernel.path, 'rev-parse', '--verify', '-q',
                  f'refs/heads/{branch}', check=False).strip():
        raise ToolError(f'{kernel.path}: branch {branch} exists already: '
                        f'delete or rename it to make it again')


def publish(kernel: Path, repo: Path, branch: str) -> None:
    """The branch into the user's repository, beside its own."""
    gitcmd.run(kernel, 'fetch', '-q', str(repo), f'{branch}:{branch}')
