"""Order: tests that need no Debian kernel tree first, so a broken rule or
module fails within a minute, before the kernel builds and boots."""

from __future__ import annotations

import inspect

import pytest

KERNEL = ('linux_tree(', 'git_6_1')


def _needs_kernel(item: pytest.Item) -> bool:
    sources = [getattr(item, 'function', None)]
    info = getattr(item, '_fixtureinfo', None)
    if info is not None:
        for defs in info.name2fixturedefs.values():
            sources += [d.func for d in defs]
    for fn in sources:
        try:
            text = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        if any(k in text for k in KERNEL):
            return True
    return False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # sort is stable: each group keeps the files' own order
    items.sort(key=_needs_kernel)
