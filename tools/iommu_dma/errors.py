"""The one exception type the command line turns into a one-line error."""


class ToolError(Exception):
    """Bad input or a failed step: printed as one line, exit status 2."""
