"""One exception type for every problem a user can fix.

A `TacError` carries one line that says which file, what is wrong and what to do; the CLI prints
it without a traceback and exits non-zero. Anything else escaping is a bug in tac.
"""

from __future__ import annotations


class TacError(Exception):
    """A user-facing failure with a one-line, actionable message."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(message.split()))  # always one line
