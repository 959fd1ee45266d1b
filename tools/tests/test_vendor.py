"""Vendor-shaped drivers (linux-fixtures/vendor/), each alone on the
corpus's GKI-flavoured v6.1 core, end to end: diff, apply and the
whole-path proofs.

Every file's header says what the tool must do with it: `Expect:
rewritten` (applied, every proof holds, diff previews apply), or `Expect:
refused: WHY` (diff and apply refuse with the same lines, naming the file
and WHY, and write nothing); `Finding: TEXT` lines must be among the
findings. No finding may name a line the rewrite removed: each one's line
in the rewritten file holds the code or constant it cites.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from toolrun import FIXTURES, tool, tree_digest

VENDOR = FIXTURES / 'vendor'
CASES = sorted(p.name for p in (VENDOR / 'drivers/iommu').glob('*.c')
               if p.name != 'iommu.c')


def header(name: str) -> tuple[str, list[str]]:
    text = (VENDOR / 'drivers/iommu' / name).read_text()
    expect = re.search(r'^ \* Expect: (.*)$', text, re.M)
    assert expect, f'{name}: no Expect: line'
    return expect.group(1), re.findall(r'^ \* Finding: (.*)$', text, re.M)


def vendor_tree(dst: Path, keep: list[str]) -> Path:
    """The vendor tree with its links resolved and only the named drivers."""
    shutil.copytree(VENDOR, dst, symlinks=False)
    for p in (dst / 'drivers/iommu').glob('*.c'):
        if p.name != 'iommu.c' and p.name not in keep:
            p.unlink()
    return dst


def refusal(res: subprocess.CompletedProcess) -> list[str]:
    return [x for x in res.stderr.splitlines()
            if not x.startswith('iommu-dma: linux ')]


@pytest.mark.parametrize('name', CASES)
def test_vendor_case(name: str, tmp_path: Path) -> None:
    expect, findings = header(name)
    tree = vendor_tree(tmp_path / 'linux', [name])
    pristine = tree_digest(tree)
    diff = tool('diff', str(tree), check=False)
    if expect.startswith('refused'):
        why = expect.split(':', 1)[1].strip()
        apply = tool('apply', str(tree), check=False)
        assert diff.returncode == apply.returncode == 2, apply.stderr
        assert diff.stdout == apply.stdout == ''
        assert refusal(diff) == refusal(apply)
        lines = refusal(apply)
        assert lines[0].startswith('iommu-dma: error: refused: ')
        named = [x for x in lines if f'drivers/iommu/{name}: ' in x]
        assert len(named) == 1 and why in named[0], apply.stderr
        assert tree_digest(tree) == pristine
        return
    assert expect == 'rewritten', f'{name}: unknown Expect: {expect}'
    assert diff.returncode == 0, diff.stderr
    rep = tool('report', str(tree))
    row = [x for x in rep.stdout.splitlines()
           if x.startswith(f'drivers/iommu/{name} ')]
    assert row and all(x.endswith(' proved') for x in row), rep.stdout
    out = tool('apply', str(tree))
    # the same summary and findings; apply says "rewritten" at the end
    assert out.stdout.splitlines()[:-1] == diff.stderr.splitlines()[:-1]
    for want in findings:
        assert f'drivers/iommu/{name}: ' in out.stdout and want in \
            out.stdout, out.stdout
    record = json.loads((tree / '.iommu-dma/record.json').read_text())
    text = (tree / 'drivers/iommu' / name).read_text().split('\n')
    for f in record['findings']:
        if f.get('line') and f['file'] == f'drivers/iommu/{name}':
            cited = f.get('code') or f.get('constant')
            assert cited and cited in text[f['line'] - 1], \
                f'finding on a line that does not hold it: {f}'


def test_every_refusal_in_one_run(tmp_path: Path) -> None:
    """The whole corpus at once: one run names every refused case, and
    only those."""
    tree = vendor_tree(tmp_path / 'linux', CASES)
    res = tool('apply', str(tree), check=False)
    assert res.returncode == 2
    lines = refusal(res)
    refused = {name for name in CASES
               if header(name)[0].startswith('refused')}
    named = {name for name in CASES
             if any(f'drivers/iommu/{name}: ' in x for x in lines)}
    assert named == refused, res.stderr
    assert refused and refused != set(CASES)
