"""Helpers shared by the tool's tests: run the command line, copy trees."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TOP = Path(__file__).resolve().parents[2]
FIXTURES = TOP / 'linux-fixtures'
EXPECTED = TOP / 'expected'
SEED = TOP.parent / 'shared' / 'seed' / 'remove-iommu-domain-dma.eml.txt'
CHECKER = Path(os.environ.get('IOMMU_DMA_OUT', TOP / 'build')) / \
    'checker' / 'kbuild-check'
sys.path.insert(0, str(TOP / 'tools'))
from iommu_dma.tree import kernel_cache  # noqa: E402  (KCACHE, as make)
from iommu_dma import events, gate, spatch  # noqa: E402
from iommu_dma.rewrite import semantic_patch  # noqa: E402


def tool(*args: str, check: bool = True, module: str = 'iommu_dma',
         env: dict | None = None) -> subprocess.CompletedProcess:
    """python3 -m module *args (the product, or lab.boot ...); env is
    added to ours."""
    run_env = dict(os.environ, PYTHONPATH=str(TOP / 'tools'), **(env or {}))
    res = subprocess.run([sys.executable, '-m', module, *args],
                         capture_output=True, text=True, env=run_env)
    if check and res.returncode != 0:
        raise AssertionError(f'{module} {" ".join(args)} failed '
                             f'({res.returncode}): {res.stderr}')
    return res


def fixture_copy(dst: Path) -> Path:
    shutil.copytree(FIXTURES, dst)
    return dst


def linux_tree(version: str) -> Path:
    """An unpacked Debian tree, as `make linux KVER=...` leaves it."""
    var = 'IOMMU_DMA_LINUX_' + version.replace('.', '_')
    path = Path(os.environ.get(var, kernel_cache() /
                               f'linux-source-{version}'))
    assert (path / 'Makefile').exists(), \
        f'{path}: no kernel tree; run `make linux KVER={version}` or set {var}'
    return path


def linked_copy(src: Path, dst: Path) -> Path:
    """A cp -al copy: cheap, and safe because the tool replaces files."""
    subprocess.run(['cp', '-al', str(src), str(dst)], check=True)
    return dst


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob('*')):
        if path.is_file():
            h.update(os.fsencode(path.relative_to(root)))
            h.update(path.read_bytes())
    return h.hexdigest()


def json_keys(obj: dict, section: str) -> set[str]:
    """The keys of obj that tools/json-schema.md does not document for its
    envelope or for section ('## diff, apply' is found by 'diff')."""
    doc = (TOP / 'tools' / 'json-schema.md').read_text()
    documented: set[str] = set()
    for part in doc.split('\n## ')[1:]:
        title = part.split('\n', 1)[0]
        if title == 'Every object' or section in title.split(', ') or \
                title.startswith(section + ' '):
            for row in part.splitlines():
                if row.startswith('| `'):
                    documented |= set(re.findall(r'`(\w+)`',
                                                 row.split('|')[1]))
    return set(obj) - documented


def gate_of(body: str, param: str = 'type') -> gate.Gate:
    """The gate of a function f() with this body, used as .domain_alloc,
    as the proof sees it: from what domain_alloc_gate.cocci matched."""
    text = (f'static void *f(unsigned int {param})\n{{\n{body}\n}}\n'
            'static const struct iommu_ops o = { .domain_alloc = f, };\n')
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / 'f.c').write_text(text)
        facts = gate.Facts([events.parse(e) for e in spatch.run(
            semantic_patch(gate.RULE), Path(tmp), ['f.c'], ['record'])])
    return facts.definitions('f.c', 'f')[0].gate(param)
