"""JSON=1: one object per command on stdout, laid out as
tools/json-schema.md says (its version is SCHEMA)."""

from __future__ import annotations

import json

SCHEMA = 1


def document(command: str, status: str, tree: str, body: dict) -> str:
    """The object a command prints: the envelope every command shares,
    then its own fields."""
    return json.dumps({'schema': SCHEMA, 'command': command,
                       'status': status, 'tree': tree, **body},
                      indent=1) + '\n'
