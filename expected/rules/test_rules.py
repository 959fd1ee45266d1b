"""Rule tests in Coccinelle's style: <rule>/<case>.c in, <case>.res out.

Each directory is named for the semantic patch in cocci/ it tests; every
case is run through that patch alone (-D patch, and -D dma_fq where the
patch has that mode, unless the case's first line says `// modes: ...`)
and the result must equal the .res file byte for byte. A case whose .res equals its .c is a must-not-touch case.

IOMMU_DMA_REGEN=1 rewrites the .res files from the current rules; review
the diff before committing it.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
COCCI = HERE.parents[1] / 'cocci'
CASES = sorted(HERE.glob('*/*.c'))


def modes(cocci: Path) -> list[str]:
    virtuals = set(re.findall(r'^virtual (\w+)', cocci.read_text(), re.M))
    return [m for m in ('patch', 'dma_fq') if m in virtuals]


@pytest.mark.parametrize('case', CASES, ids=lambda c: f'{c.parent.name}/{c.stem}')
def test_rule(case: Path, tmp_path: Path) -> None:
    cocci = COCCI / f'{case.parent.name}.cocci'
    assert cocci.exists(), f'no semantic patch {cocci.name} for {case}'
    work = tmp_path / case.name
    shutil.copy(case, work)
    cmd = ['spatch', '--sp-file', str(cocci), '--very-quiet', '--in-place',
           str(work)]
    first = re.match(r'// modes: ([\w ]+)\n', case.read_text())
    for mode in first.group(1).split() if first else modes(cocci):
        cmd += ['-D', mode]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0 and 'EXN' not in res.stderr, res.stderr
    expected = case.with_suffix('.res')
    if os.environ.get('IOMMU_DMA_REGEN') == '1':
        shutil.copy(work, expected)
    assert expected.exists(), f'{expected.name} missing: IOMMU_DMA_REGEN=1'
    assert work.read_text() == expected.read_text()


def test_every_rule_has_cases() -> None:
    tested = {c.parent.name for c in CASES}
    # Every rule declares `virtual patch` (coccicheck); the ones that
    # rewrite have SmPL lines added (+) or removed (-).
    rewriting = {p.stem for p in COCCI.glob('*.cocci')
                 if re.search(r'^[-+][ \t]*\S', p.read_text(), re.M)}
    assert rewriting <= tested, f'untested: {sorted(rewriting - tested)}'
