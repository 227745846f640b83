"""A child process session that ends whole: nothing of it outlives its leader's wait.

Submission code (inflate.sh) may leave background children behind, move some into process groups
of their own, or keep running when tac is stopped. tac starts it as the leader of a new session
and, however the wait ends (exit, timeout, Ctrl-C, SIGTERM), kills every process in that session.
The leader is waited for without being reaped until then, so its pid, which names the group and
the session, cannot be reused by an unrelated process while the rest is being killed.
A child that calls setsid() itself leaves the session and is beyond this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

_KILL_ROUNDS_S = 2.0  # members forking while they are killed: scan again until none is left


def wait_unreaped(proc: subprocess.Popen, timeout_s: float | None = None) -> None:
    """Block until `proc` exits, leaving it a zombie; raise TimeoutExpired after `timeout_s`."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delay = 0.0005
    while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise subprocess.TimeoutExpired(proc.args, timeout_s)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)  # as Popen.wait polls: quick for short children, cheap after


def end_session(proc: subprocess.Popen) -> None:
    """SIGKILL everything in the session `proc` leads, then reap `proc` itself."""
    sid = proc.pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(sid, signal.SIGKILL)  # the common case, in one call
    deadline = time.monotonic() + _KILL_ROUNDS_S
    while (members := [pid for pid in session_members(sid) if pid != sid]) and (
        time.monotonic() < deadline
    ):
        for pid in members:  # ones that moved to a process group of their own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    proc.wait()


def session_members(sid: int) -> list[int]:
    """Live (not zombie) processes in session `sid`, from /proc; none where there is no /proc."""
    return [pid for pid, session, state in _proc_table() if session == sid and state not in "ZX"]


def _proc_table() -> Iterator[tuple[int, int, str]]:
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        yield int(entry.name), int(fields[3]), fields[0]
