"""SIGTERM stops tac exactly as Ctrl-C does: as a KeyboardInterrupt raised in the main thread.

So every `finally` and every cleanup that a Ctrl-C runs (temp files removed, an inflate's whole
session killed) also runs when a scheduler, a supervisor or `kill` asks tac to stop; the CLI then
exits with the conventional 128 + signal number. Without this, SIGTERM ends Python on the spot.
"""

from __future__ import annotations

import signal

STOPPING = (signal.SIGINT, signal.SIGTERM)
_received: int | None = None


def install() -> None:
    """Route SIGINT and SIGTERM to KeyboardInterrupt, unless someone chose otherwise for them
    (an ignored signal stays ignored, as Python itself does for SIGINT)."""
    for sig in STOPPING:
        if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(sig, _interrupt)


def received() -> int | None:
    """The last stopping signal that arrived, if any."""
    return _received


def _interrupt(signum: int, frame) -> None:
    global _received
    _received = signum
    raise KeyboardInterrupt
