"""The one on-disk cache: results keyed by everything they depend on.

$IOMMU_DMA_CACHE (make: $(O)/cache) holds one JSON file per key; unset,
nothing is kept and everything is computed. A key is a SHA-256 over
length-prefixed parts, the first naming what is kept and its format, so
no two inputs share a key and a format change is a new key. spatch's
per-file results (spatch.run) and the proof programs' outcomes
(proof.outcomes) are kept here.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

ENV = 'IOMMU_DMA_CACHE'


def key(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode(errors='surrogateescape') \
            if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, 'little'))
        h.update(data)
    return h.hexdigest()


class Cache:
    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def from_env(cls) -> Cache | None:
        root = os.environ.get(ENV)
        return cls(Path(root)) if root else None

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f'{key}.json'

    def get(self, key: str) -> object | None:
        try:
            return json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: object) -> None:
        """Written whole or not at all: a reader never sees half a file."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.tmp-')
        with os.fdopen(fd, 'w') as f:
            json.dump(value, f)
        os.replace(tmp, path)
