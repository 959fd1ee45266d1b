"""`iommu-dma series`: the rewrite as a mailable, bisectable series.

  workdir   a run directory of its own: a hard-linked copy of the tree and
            a throw-away git repository (based on the user's HEAD through
            alternates, or on the pristine files of a tarball tree)
  patches   the rewrite cut into patches (SPLIT=stage, driver, 0)
  messages  commit messages and the cover letter, pure functions
  prefixes  subject prefixes from git history or the prefix table
  checks    build check per patch, checkpatch, kernel-doc, git am, boot
  mail      format-patch, maintainers, versions, range-diff, OUT

The user's tree is only read: no worktree, branch or index change there.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import PROG, gitcmd, pipeline
from ..errors import ToolError
from ..record import Record
from ..rewrite import Rewrite, discard
from ..spatch import replace_file
from ..tree import STATE_DIR, KernelTree, kernel_cache
from . import b4prep, checks, mail, messages
from .patches import SPLITS, Patch, plan
from .prefixes import TABLE, Prefixes, load_table
from .workdir import Base, RunDir, copy_tree, git_base, tarball_base

TOP = Path(__file__).resolve().parents[3]


@dataclass
class Options:
    out: Path
    split: str = 'stage'             # stage, driver or 0 (one patch)
    signoff: str | None = None
    prefixes: Path | None = None
    checkpatch: Path | None = None   # for trees without scripts/checkpatch.pl
    checker: Path | None = None      # kbuild-check
    work_root: Path | None = None    # run directories
    jobs: int = 2
    boot: bool = False               # boot check of the final tree
    reroll: int | None = None        # -v N (default: the previous one + 1)
    rfc: bool = False
    subject_prefix: str = 'PATCH'
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    maintainers: bool = True         # To/Cc from get_maintainer.pl
    suggested_by: str | None = None
    link: str | None = None
    force: bool = False              # uncommitted target files are used
    b4: bool = False                 # the b4 prep branch into KERNEL's repo


@dataclass
class Result:
    out: Path
    files: list[Path]
    subjects: list[str]
    checks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    number: int = 1                  # the series version, v<N>
    change_id: str = ''
    verified: list[str] = field(default_factory=list)  # cover's "Checked"


@dataclass
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f'{self.name} <{self.email}>'

    def env(self) -> dict[str, str]:
        return {'GIT_AUTHOR_NAME': self.name, 'GIT_AUTHOR_EMAIL': self.email,
                'GIT_COMMITTER_NAME': self.name,
                'GIT_COMMITTER_EMAIL': self.email}


ADDRESS = re.compile(r'\s*([^<>]*?)\s*<([^<>\s@]+@[^<>\s]+)>\s*')


def address(what: str, value: str) -> Identity:
    m = ADDRESS.fullmatch(value)
    if not m or not m.group(1):
        raise ToolError(f"{what}='{value}': expected "
                        f"'Full Name <user@example.org>'")
    return Identity(m.group(1), m.group(2))


def identity(kernel: KernelTree, signoff: str | None) -> Identity:
    """For From: and Signed-off-by:, SIGNOFF= or git config."""
    if signoff:
        return address('SIGNOFF', signoff)
    where = kernel.path if kernel.is_git() else Path.cwd()
    name, email = (gitcmd.config(where, k) for k in ('user.name',
                                                     'user.email'))
    if not name or not email:
        raise ToolError("no Signed-off-by identity: set SIGNOFF='Full Name "
                        "<user@example.org>' or git config user.name and "
                        "user.email")
    return Identity(name, email)


@dataclass
class Checkpatch:
    script: Path
    tree_mode: bool              # the tree's own: no --no-tree


@dataclass
class SeriesRun:
    """Everything one run needs, instead of long parameter lists."""
    kernel: KernelTree
    opts: Options
    ident: Identity
    prefix: Prefixes
    checker: Path
    checkpatch: Checkpatch | None
    out: Path
    run: RunDir
    notes: list[str] = field(default_factory=list)

    def say(self, msg: str) -> None:
        print(f'{PROG} series: {msg}', file=sys.stderr, flush=True)


def default_root() -> Path:
    return Path(os.environ.get('IOMMU_DMA_OUT') or TOP / 'build')


def find_checker(opts: Options) -> Path:
    checker = opts.checker or default_root() / 'checker' / 'kbuild-check'
    if not os.access(checker, os.X_OK):
        raise ToolError(f'{checker}: no build checker; run `make checker`')
    return checker


def find_checkpatch(kernel: KernelTree, opts: Options) -> Checkpatch | None:
    if opts.checkpatch:
        if not Path(opts.checkpatch).is_file():
            raise ToolError(f'{opts.checkpatch}: no such checkpatch.pl')
        return Checkpatch(Path(opts.checkpatch).resolve(), False)
    own = kernel.path / 'scripts' / 'checkpatch.pl'
    return Checkpatch(own, True) if own.is_file() else None


def validate(opts: Options, kernel: KernelTree) -> Path:
    if opts.split not in SPLITS:
        raise ToolError(f'SPLIT={opts.split}: expected one of '
                        f'{", ".join(SPLITS)}')
    if opts.reroll is not None and opts.reroll < 1:
        raise ToolError(f'REROLL={opts.reroll}: expected a version >= 1')
    if not re.fullmatch(r'[\w.+/ -]+', opts.subject_prefix):
        raise ToolError(f"SUBJECT_PREFIX='{opts.subject_prefix}': letters, "
                        f"digits, spaces and ._+/- only")
    for what, values in (('TO', opts.to), ('CC', opts.cc)):
        for v in values:
            if '@' not in v or '\n' in v:
                raise ToolError(f"{what}='{v}': not a mail address")
    if opts.suggested_by:
        address('SUGGESTED_BY', opts.suggested_by)
    if opts.link and not re.fullmatch(r'https?://\S+', opts.link):
        raise ToolError(f"LINK='{opts.link}': expected a http(s) URL")
    out = Path(opts.out).resolve()
    if out == kernel.path or kernel.path in out.parents:
        raise ToolError(f'OUT={opts.out}: inside the kernel tree')
    if out.exists() and not out.is_dir():
        raise ToolError(f'OUT={opts.out}: not a directory')
    return out


def generate(kernel_path: str | os.PathLike, opts: Options) -> Result:
    kernel = KernelTree.open(kernel_path)
    out = validate(opts, kernel)
    ctx = SeriesRun(kernel, opts, identity(kernel, opts.signoff),
                    Prefixes(kernel, load_table(opts.prefixes or TABLE)),
                    find_checker(opts), find_checkpatch(kernel, opts), out,
                    # under KCACHE: a later clone re-uses its build dirs
                    RunDir.create((opts.work_root or kernel_cache())
                                  .resolve() / 'series', kernel.series_name()))
    for name in ctx.run.removed:
        ctx.say(f'removed {ctx.run.root / name}, left by an interrupted run')
    rewrite = None
    failed = True
    reusable = True     # build/: no object left half made
    try:
        copy_tree(kernel, ctx.run.tree)
        # The same guarantee as apply: no driver whose proof failed.
        rewrite = pipeline.prepare(KernelTree.open(ctx.run.tree), 'all',
                                   opts.jobs, refuse=True).rewrite
        result = make(ctx, rewrite)
        failed = False
        return result
    except KeyboardInterrupt:
        reusable = False
        raise
    finally:
        if rewrite is not None:
            discard(rewrite)
        kept = ctx.run.close(failed, reusable)
        if kept:
            ctx.say(f'logs of the failed run kept in {kept}')


def make(ctx: SeriesRun, rewrite: Rewrite) -> Result:
    record = rewrite.record
    if record.core_shape == 'rewritten' or not record.files:
        raise ToolError(f'{ctx.kernel.path}: nothing to change (already '
                        f'rewritten, or a core that needs no rewrite)')
    base = git_base(ctx.kernel, record.files, ctx.opts.force) \
        if ctx.kernel.is_git() else tarball_base(ctx.kernel)
    if base.dirty:
        ctx.notes.append(f'Made from uncommitted changes to '
                         f'{messages.joined(base.dirty)} (FORCE=1): the '
                         f'patches apply to the base commit plus those '
                         f'changes.')
    patches = plan(rewrite, ctx.opts.split, ctx.prefix)
    current, kept = mail.versions(ctx.out)
    number = ctx.opts.reroll or (current.number + 1 if current else 1)
    branch = f'b4/iommu-dma-v{number}'
    if ctx.opts.b4:
        b4prep.check(ctx.kernel, branch)    # before any build
    repo = ctx.run.tree
    kdoc = repo / 'scripts' / 'kernel-doc'     # cheap: before any build
    after = {f: rewrite.after(f) for f in record.files}
    kdoc_line = checks.kernel_doc(kdoc, rewrite.before, after) \
        if kdoc.is_file() else \
        'kernel-doc: not run (the tree has no scripts/kernel-doc)'
    start = init_repo(ctx, base, record.files)
    keep_originals(repo, rewrite)
    built = commit_and_build(ctx, patches, record.files)
    top = gitcmd.run(repo, 'rev-parse', 'HEAD').strip()
    booted = checks.boot_check(ctx.kernel.path, ctx.opts.jobs,
                               {f: (repo / f).read_bytes()
                                for f in record.files}, ctx.run.path) \
        if ctx.opts.boot else None

    previous = max((v for v in (current, *kept.values())
                    if v and v.number < number),
                   key=lambda v: v.number, default=None)
    change_id = next((v.change_id for v in (current, *kept.values())
                      if v and v.change_id), None) or mail.new_change_id()
    range_diff = previous_range(ctx, repo, start, top, previous)
    files, to, cc = format_series(ctx, repo, base, start, top, number,
                                  range_diff, len(patches))
    numbered = files[1:]
    done = [f'build: kbuild-check after each of the '
            f'{messages.plural(len(built), "patch", "patches")} that touch '
            f'C: every touched file built, no new warnings '
            f'({sum(t for t, _ in built):.0f} s)']
    if ctx.checkpatch:
        checks.checkpatch(ctx.checkpatch.script, ctx.checkpatch.tree_mode,
                          repo, numbered)
        done.append(('scripts/checkpatch.pl --strict' if
                     ctx.checkpatch.tree_mode else
                     f'{ctx.checkpatch.script} --strict --no-tree') +
                    ': no errors, warnings or checks')
    else:
        done.append('checkpatch: not run (the tree has no '
                    'scripts/checkpatch.pl and none was given)')
    done.append(kdoc_line)
    done.append(checks.git_am(repo, start, numbered, after, ctx.ident.env()))
    done.append('boot: the final tree and pristine built for x86_64 and '
                'booted under QEMU behind every IOMMU it emulates, lazy, '
                'strict and passthrough: every pair as pristine (table '
                'below)' if booted else 'boot: not run (BOOT=0)')
    if range_diff is None and previous:
        done.append(f'range-diff: v{previous.number} does not apply to '
                    f'this base; none included')
    blurb = messages.cover_blurb(
        record, [p.phase for p in patches], ctx.opts.split, done,
        base.describe, lambda rel: (repo / rel).exists(), ctx.notes)
    if booted:
        blurb += ('\n\n' + messages.fill(
            'Boot check (default domain type per group, and a virtio-blk '
            'disk read through the IOMMU):') + '\n\n' +
            booted)
    title = messages.SEED_SUBJECT if ctx.opts.split != '0' else \
        'iommu: Remove IOMMU_DOMAIN_DMA from drivers (one patch)'
    mail.fill_cover(files[0], title, blurb, [f'change-id: {change_id}'])
    if range_diff and previous and previous.number != number - 1:
        # format-patch names the previous version N-1 whatever it was.
        mail.relabel_range_diff(files[0], number - 1, previous.number)
    if b4prep.available() and (to or cc):
        cover = f'{title}\n\n{blurb}\n\n' + ''.join(
            f'{k}: {a}\n' for k, addrs in (('To', to), ('Cc', cc))
            for a in addrs)
        try:
            mails = b4prep.prep(repo, start, branch, cover,
                                (ctx.ident.name, ctx.ident.email),
                                ctx.ident.env(), ctx.run.stage)
        except ToolError as e:
            if ctx.opts.b4:
                raise
            # Asked for the mails, not for b4: say it, keep the series.
            ctx.notes.append(f'b4: the prep branch did not take ({e})')
        else:
            ctx.say(f'b4 prep branch checked: b4 send --dry-run makes '
                    f'{mails} mails')
            if ctx.opts.b4:
                b4prep.publish(ctx.kernel.path, repo, branch)
                ctx.notes.append(f'b4: branch {branch} in '
                                 f'{ctx.kernel.path} (b4 prep '
                                 f'--edit-cover, b4 send there)')
    elif ctx.opts.b4:
        raise ToolError('B4=1: no To: or Cc: address for b4 send (MAIL_TO=)')
    written = mail.publish(files, ctx.out, current)
    return Result(ctx.out, written, [p.subject for p in patches],
                  [line for _, line in built], ctx.notes, number, change_id,
                  done)


def init_repo(ctx: SeriesRun, base: Base, files: list[str]) -> str:
    """The throw-away repository in the copy; returns the commit the
    series starts from."""
    repo = ctx.run.tree
    env = ctx.ident.env()
    gitcmd.run(repo, 'init', '-q')
    if base.commit:
        common = gitcmd.run(ctx.kernel.path, 'rev-parse',
                            '--path-format=absolute',
                            '--git-common-dir').strip()
        alternates = repo / '.git' / 'objects' / 'info' / 'alternates'
        alternates.write_text(str(Path(common) / 'objects') + '\n')
        gitcmd.run(repo, 'update-ref', 'HEAD', base.commit)
        gitcmd.run(repo, 'read-tree', 'HEAD')
        # Stat data for every file once (about 5 s on 6.1), so that no
        # later git command hashes the whole tree again.
        gitcmd.run(repo, 'update-index', '-q', '--refresh', check=False)
        if base.dirty:
            gitcmd.run(repo, 'add', '-f', '--', *base.dirty)
            gitcmd.run(repo, 'commit', '-q', '--no-verify', '-m',
                       'Uncommitted changes (FORCE=1)', env=env)
    else:
        gitcmd.run(repo, 'add', '-f', '--', *files)
        gitcmd.run(repo, 'commit', '-q', '--no-verify', '-m',
                   f'Linux {ctx.kernel.version()} (pristine files of '
                   f'{ctx.kernel.path})', env=env)
    return gitcmd.run(repo, 'rev-parse', 'HEAD').strip()


def keep_originals(repo: Path, rewrite: Rewrite) -> None:
    """The build checker compares warnings with .iommu-dma/orig/."""
    for rel in rewrite.record.files:
        keep = repo / STATE_DIR / 'orig' / rel
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_bytes(rewrite.before[rel])
    (repo / '.git' / 'info' / 'exclude').write_text(f'/{STATE_DIR}/\n')


def trailers(ctx: SeriesRun) -> str:
    lines = []
    if ctx.opts.suggested_by:
        lines.append(f'Suggested-by: '
                     f'{address("SUGGESTED_BY", ctx.opts.suggested_by)}')
    if ctx.opts.link:
        lines.append(f'Link: {ctx.opts.link}')
    lines.append(f'Signed-off-by: {ctx.ident}')
    return '\n'.join(lines)


def commit(ctx: SeriesRun, patch: Patch) -> None:
    repo = ctx.run.tree
    for rel, data in patch.contents.items():
        replace_file(repo / rel, data)     # a hard link: never edit
    gitcmd.run(repo, 'add', '-f', '--', *patch.files)
    msg = ctx.run.path / 'message'
    msg.write_text(f'{patch.subject}\n\n{patch.body}\n\n{trailers(ctx)}\n')
    gitcmd.run(repo, 'commit', '-q', '--no-verify', '--cleanup=verbatim',
               '-F', str(msg), env=ctx.ident.env())


def commit_and_build(ctx: SeriesRun, patches: list[Patch],
                     series_files: list[str]) -> list[tuple[float, str]]:
    built = []
    for n, patch in enumerate(patches, 1):
        commit(ctx, patch)
        if not patch.c_files:
            continue
        t0 = time.monotonic()
        line = checks.build_check(ctx.checker, ctx.run.tree, ctx.run.build,
                                  ctx.opts.jobs, patch, n, len(patches),
                                  series_files,
                                  ctx.run.logs / f'{n:04d}-build.log')
        built.append((time.monotonic() - t0, line))
        ctx.say(f'build check {line}')
    return built


def previous_range(ctx: SeriesRun, repo: Path, start: str, top: str,
                   previous: mail.Version | None) -> str | None:
    """start..<previous version applied>, for format-patch --range-diff."""
    if previous is None:
        return None
    numbered = [f for f in previous.files if not re.search(
        r'(^|-)0000-cover-letter\.patch$', f.name)]
    try:
        gitcmd.run(repo, 'checkout', '-q', '--detach', start)
        gitcmd.run(repo, 'am', '-q', '--no-3way', *map(str, numbered),
                   env=ctx.ident.env())
        prev_top = gitcmd.run(repo, 'rev-parse', 'HEAD').strip()
    except ToolError:
        gitcmd.run(repo, 'am', '--abort', check=False)
        prev_top = None
    gitcmd.run(repo, 'checkout', '-q', '--detach', top)
    return f'{start}..{prev_top}' if prev_top else None


def format_series(ctx: SeriesRun, repo: Path, base: Base, start: str,
                  top: str, number: int, range_diff: str | None,
                  count: int) -> tuple[list[Path], list[str], list[str]]:
    """The mails, and their To: and Cc: addresses."""
    prefix = ('RFC ' if ctx.opts.rfc else '') + ctx.opts.subject_prefix
    fmt = mail.Format(number, prefix, base=base.commit,
                      range_diff=range_diff)
    commits = f'{start}..{top}'
    files = mail.format_patch(repo, ctx.run.stage, fmt, commits,
                              ctx.ident.env(), count)
    to, cc = [], []
    getm = repo / 'scripts' / 'get_maintainer.pl'
    if ctx.opts.maintainers and getm.is_file():
        to, cc = mail.maintainers(getm, repo, files[1:])
    elif ctx.opts.maintainers:
        ctx.notes.append('No To:/Cc: from get_maintainer.pl: the tree has '
                         'no scripts/get_maintainer.pl.')
    to = list(dict.fromkeys(to + list(ctx.opts.to)))
    cc = [a for a in dict.fromkeys(cc + list(ctx.opts.cc)) if a not in to]
    fmt = replace(fmt, to=tuple(to), cc=tuple(cc))
    return mail.format_patch(repo, ctx.run.stage, fmt, commits,
                             ctx.ident.env(), count), to, cc


__all__ = ['Options', 'Result', 'generate', 'Record']
