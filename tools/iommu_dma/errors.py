"""The one exception type the command line turns into a one-line error,
and the front door that turns it (and Ctrl-C, and OSError) into exit
codes."""

from __future__ import annotations

import argparse
import sys


class ToolError(Exception):
    """Bad input or a failed step: printed as one line, exit status 2."""


def run(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse argv, run the command it names (args.func) and return its exit
    status; what stops it is one line on stderr: 2 for an error (with
    --json, the refusal on stdout too, so a script reading it gets it),
    130 for Ctrl-C at any moment. Every scratch copy is removed by the
    finally blocks on the way out; an apply's journal is completed or
    rolled back next time."""
    from . import PROG, jsonout
    args = None
    try:
        args = parser.parse_args(argv)
        return args.func(args)
    except ToolError as e:
        print(f'{PROG}: error: {e}', file=sys.stderr)
        if getattr(args, 'json', False):
            first, *rest = str(e).split('\n')
            sys.stdout.write(jsonout.document(
                args.func.__name__.removeprefix('cmd_'), 'refused',
                str(getattr(args, 'kernel', '')),
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
