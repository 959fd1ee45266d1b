"""The one exception type the command line turns into a one-line error,
and the guard that turns it (and Ctrl-C, and OSError) into exit codes."""

from __future__ import annotations

import sys
from typing import Callable


class ToolError(Exception):
    """Bad input or a failed step: printed as one line, exit status 2."""


def guarded(run: Callable[[], int], command: str, tree: str,
            json: bool) -> int:
    """run()'s exit status; what stops it is one line on stderr: 2 for an
    error (with JSON, the refusal on stdout too, so a script reading it
    gets it), 130 for Ctrl-C. Every scratch copy is removed by the finally
    blocks on the way out; an apply's journal is completed or rolled back
    next time."""
    from . import PROG, jsonout
    try:
        return run()
    except ToolError as e:
        print(f'{PROG}: error: {e}', file=sys.stderr)
        if json:
            first, *rest = str(e).split('\n')
            sys.stdout.write(jsonout.document(
                command, 'refused', tree,
                {'error': first, 'details': [x.strip() for x in rest]}))
        return 2
    except KeyboardInterrupt:
        print(f'{PROG}: interrupted', file=sys.stderr)
        return 130
    except OSError as e:
        # Disk full, permissions, a vanished file: one line, not a trace.
        where = f'{e.filename}: ' if e.filename else ''
        print(f'{PROG}: error: {where}{e.strerror or e}', file=sys.stderr)
        return 2
