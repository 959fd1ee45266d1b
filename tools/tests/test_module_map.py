"""The Python modules import each other without a cycle: each can be read,
tested and replaced on its own (the map is in the README's Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / 'iommu_dma'


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(['iommu_dma', *parts])


def imports() -> dict[str, set[str]]:
    """module -> the modules of the package it imports (any scope)."""
    mods = {module_name(p): p for p in PKG.rglob('*.py')}
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == '__init__.py' else \
            name.rpartition('.')[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = package.split('.')
            base = base[:len(base) - node.level + 1]
            mod = '.'.join(base + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f'{mod}.{alias.name}'
                deps.add(sub if sub in mods else mod)
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> list[str] | None:
        state[n] = 1
        for d in sorted(graph[n]):
            if state.get(d) == 1:
                return path[path.index(d):] + [d]
            if d not in state:
                found = visit(d, path + [d])
                if found:
                    return found
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n, [n])
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    graph = imports()
    assert 'iommu_dma.series.mail' in graph
    assert 'iommu_dma.events' in graph['iommu_dma.record']
    assert cycle(graph) is None, ' -> '.join(cycle(graph))


def test_cycle_finder_finds_one() -> None:
    assert cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c',
                                                           'a']
    assert cycle({'a': {'b'}, 'b': set()}) is None


TOOLS = PKG.parent
README = TOOLS.parent / 'README.md'


def test_product_never_imports_the_lab() -> None:
    """apply, diff, report, drift and series run without boot, fuzz or
    bench: the lab runs as commands (python3 -m lab.boot), never imported."""
    for path in PKG.rglob('*.py'):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or '']
            else:
                continue
            for name in names:
                assert name.split('.')[0] != 'lab', (path, name)


def test_readme_module_map_names_every_module() -> None:
    """One line per module in the README's module map, and no line for a
    module that is gone."""
    text = README.read_text()
    block = text.split('Module map', 1)[1].split('```', 2)[1]
    mapped = [ln.split()[0] for ln in block.splitlines() if ln.strip()]
    modules = sorted(str(p.relative_to(TOOLS))
                     for pkg in (PKG, TOOLS / 'lab')
                     for p in pkg.rglob('*.py'))
    assert sorted(mapped) == modules
    assert len(mapped) == len(set(mapped))
