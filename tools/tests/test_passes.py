"""Rule files that run as one spatch pass (spatch.SemanticPatch).

The pipeline runs several rule files in one spatch process (each driver
parsed once) by #including them. That gives what each rule gives on its
own only because the files keep to a convention; these tests hold them
to it, and hold spatch to the order it runs included files in.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from toolrun import FIXTURES, linux_tree  # noqa: E402
from iommu_dma import events, rewrite, spatch  # noqa: E402
from iommu_dma.rewrite import (READ, READ_MODES, REREAD,  # noqa: E402
                               semantic_patch)
from iommu_dma.spatch import SemanticPatch  # noqa: E402
from iommu_dma.tree import KernelTree, copy_files  # noqa: E402

RULES = sorted(rewrite.COCCI_DIR.glob('*.cocci'))
HEADER = re.compile(r'^@\s*(\w+)(?=[\s@])', re.M)
BLOCK = re.compile(r'^@initialize:python@\s*\n@@\n(.*?)(?=^@|^//)',
                   re.M | re.S)
FLAGS_MODES = ['patch', 'record', 'dma_fq']
# The same in every file (emit() prints one event line)
SHARED = {'emit', 'json', 're'}


def rule_names(path: Path) -> set[str]:
    return set(HEADER.findall(path.read_text())) - {
        'script', 'initialize', 'finalize', 'depends'}


def initialize_globals(path: Path) -> dict[str, str]:
    """Name -> source of what the file's initialize blocks define."""
    found = {}
    for block in BLOCK.findall(path.read_text()):
        tree = ast.parse(block.expandtabs(4))
        for node in tree.body:
            names = []
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [(a.asname or a.name).split('.')[0]
                         for a in node.names]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) \
                    else [node.target]
                names = [n.id for t in targets for n in ast.walk(t)
                         if isinstance(n, ast.Name)]
            for name in names:
                found[name] = ast.unparse(node)
    return found


def test_rule_names_are_unique_across_cocci():
    seen: dict[str, str] = {}
    for path in RULES:
        for name in rule_names(path):
            assert name not in seen, \
                f'rule {name} in {path.name} and {seen[name]}'
            seen[name] = path.name


def test_python_globals_are_unique_across_cocci():
    seen: dict[str, tuple[str, str]] = {}
    for path in RULES:
        for name, source in initialize_globals(path).items():
            if name in seen and name in SHARED:
                assert source == seen[name][1], \
                    f'{name} differs in {path.name} and {seen[name][0]}'
            else:
                assert name not in seen, \
                    f'{name} defined in {path.name} and {seen[name][0]}'
            seen[name] = (path.name, source)
    assert 'emit' in seen


def test_the_convention_checks_catch_a_clash(tmp_path):
    clash = tmp_path / 'clash.cocci'
    clash.write_text('@initialize:python@\n@@\nrelevant = set()\n'
                     '@audit_ops@\nidentifier I;\n@@\nstruct iommu_ops I;\n')
    assert 'relevant' in initialize_globals(clash)
    assert 'relevant' in initialize_globals(
        rewrite.COCCI_DIR / 'domain_alloc_gate.cocci')
    assert 'audit_ops' in rule_names(clash) & rule_names(
        rewrite.COCCI_DIR / 'domain_alloc_audit.cocci')


def order_rule(path: Path, name: str) -> Path:
    path.write_text(f"""virtual record
@initialize:python@
@@
import json
def emit(event, **fields):
\tprint('IOMMU-DMA ' + json.dumps(dict(event=event, **fields)))
@{name}_r@
identifier f;
position p;
@@
f@p(...) {{ ... }}
@script:python depends on record@
f << {name}_r.f;
p << {name}_r.p;
@@
emit('{name}', file=p[0].file, function=f)
""")
    return path


def test_included_files_run_in_the_order_given(tmp_path):
    """spatch runs #included files last first; sp_file() makes up for it."""
    rules = [order_rule(tmp_path / f'{n}.cocci', n) for n in 'abc']
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'f.c').write_text('int g(void)\n{\n\treturn 0;\n}\n')
    for order in (rules, rules[::-1]):
        found = spatch.run(SemanticPatch(*order), src, ['f.c'], ['record'])
        assert [e['event'] for e in found] == [p.stem for p in order]
        assert {e['file'] for e in found} == {'f.c'}


def drivers_of(tree: Path) -> list[str]:
    return KernelTree.open(tree).candidates()


def one_by_one(tree: Path, names: tuple[str, ...],
               tmp: Path) -> tuple[list[dict], dict[str, bytes]]:
    """Each rule in its own modes, as the kernel's coccicheck runs it."""
    files = drivers_of(tree)
    copy_files(tree, tmp, files)
    found = []
    for name in names:
        modes = FLAGS_MODES if name == 'iommu_ops_dma_flags' else READ_MODES
        found += spatch.run(semantic_patch(name), tmp, files, modes, 2)
    return found, {f: (tmp / f).read_bytes() for f in files}


def as_one(tree: Path, names: tuple[str, ...], modes: list[str],
           tmp: Path) -> tuple[list[dict], dict[str, bytes]]:
    files = drivers_of(tree)
    copy_files(tree, tmp, files)
    found = spatch.run(semantic_patch(*names), tmp, files, modes, 2)
    return found, {f: (tmp / f).read_bytes() for f in files}


def key(e: dict) -> str:
    return repr(sorted((k, v) for k, v in e.items() if k != 'rule'))


@pytest.mark.parametrize('tree', ['fixtures', '6.1'])
@pytest.mark.parametrize('names', [READ + ('iommu_ops_dma_flags',), REREAD],
                         ids=['read+flags', 'reread'])
def test_a_pass_gives_what_its_rules_give_one_by_one(tree, names, tmp_path,
                                                      monkeypatch):
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    root = FIXTURES if tree == 'fixtures' else linux_tree(tree)
    alone, texts = one_by_one(root, names, tmp_path / 'alone')
    together, texts_one = as_one(root, names, READ_MODES + FLAGS_MODES,
                                 tmp_path / 'one')
    assert sorted(map(key, together)) == sorted(map(key, alone))
    assert texts_one == texts
    assert any(e['event'] == 'flag' for e in alone) == \
        ('iommu_ops_dma_flags' in names)


def test_an_event_of_a_pass_names_the_rule_that_printed_it():
    """run_rules() names the rule of an event from a pass of several by
    its kind (events.*.RULE): only that rule file may print the kind."""
    printed = {path.stem: set(re.findall(r"\bemit\('([\w-]+)'",
                                         path.read_text()))
               for path in RULES}
    passed = set(READ + REREAD + ('iommu_ops_dma_flags',))
    for kind, cls in events.KINDS.items():
        by = {rule for rule, kinds in printed.items() if kind in kinds}
        if by & passed:
            assert cls.RULE and by == {cls.RULE}, (kind, by)


def test_a_pass_names_each_event_s_rule(tmp_path, monkeypatch):
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    files = drivers_of(FIXTURES)
    copy_files(FIXTURES, tmp_path, files)
    found = rewrite.run_rules(READ, tmp_path, files, READ_MODES)
    assert {e.rule for e in found} == set(READ)


def test_spatch_is_named_the_biggest_file_first(tmp_path, monkeypatch):
    """spatch deals files to its workers in list order: the biggest go
    first, so none is left to run alone at the end; the events still
    come in the caller's order."""
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    files = drivers_of(FIXTURES)
    copy_files(FIXTURES, tmp_path, files)
    named = []
    real = spatch.Pending._name

    def naming(self, data):
        named.extend(data.decode().split())
        real(self, data)
    monkeypatch.setattr(spatch.Pending, '_name', naming)
    found = spatch.run(semantic_patch(READ[0]), tmp_path, files,
                       READ_MODES, 2)
    sizes = [(tmp_path / f).stat().st_size for f in named]
    assert sorted(named) == sorted(files) and named != sorted(files)
    assert sizes == sorted(sizes, reverse=True)
    order = [files.index(e['file']) for e in found]
    assert order == sorted(order)


def test_the_first_read_starts_while_the_drivers_are_found(monkeypatch):
    """The drivers' first pass compiles its rules during the scan."""
    monkeypatch.delenv(spatch.CACHE_ENV, raising=False)
    seen = []
    start, scan = spatch.Pending.start, KernelTree.candidates

    def starting(self):
        seen.append(self.sp.name)
        start(self)

    def scanning(self, jobs=2):
        found = scan(self, jobs)
        seen.append('scanned')
        return found
    monkeypatch.setattr(spatch.Pending, 'start', starting)
    monkeypatch.setattr(KernelTree, 'candidates', scanning)
    rw = rewrite.compute(KernelTree.open(FIXTURES), 'all', 2)
    rewrite.discard(rw)
    read = semantic_patch(*rewrite.read_pass('all', rw.record.dma_fq)[0])
    assert seen.index(read.name) < seen.index('scanned')
    assert rw.read_before and rw.record.files
