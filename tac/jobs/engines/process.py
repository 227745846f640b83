"""The default engine: the supervisor as a detached process on this host, in its own session.

Its pid (= its process group and session) is the handle; a recycled pid is told apart by its
command line. Used by the local backend and, through `tac job …` over SSH, by every SSH host.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tac import atomic
from tac.jobs.engines import Engine, EngineView
from tac.sessions import session_members

STARTUP_GRACE_S = 5.0


def read_pid(job: Path) -> int | None:
    try:
        return int((job / "pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # a recycled pid would be some other program
        try:
            return b"tac.jobs.supervise" in cmdline.read_bytes()
        except OSError:
            return False
    return True


class ProcessEngine(Engine):
    kind = "process"

    def start(self, job: Path, argv: list[str]) -> None:
        proc = subprocess.Popen(
            argv,
            start_new_session=True,  # its own session and process group: survives us, killable as one
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=job,
        )  # fmt: skip
        atomic.write_text(job / "pid", f"{proc.pid}\n")

    def view(self, job: Path) -> EngineView:
        pid = read_pid(job)
        if pid is not None and alive(pid):
            return EngineView(True)
        if time.time() - (job / "spec.json").stat().st_mtime < STARTUP_GRACE_S:
            # just submitted: the pid file may not exist yet, or the process may not have exec'd
            # (its cmdline is still its parent's), so absence is not yet evidence of loss
            return EngineView(True)
        return EngineView(False, "its supervisor process is gone")

    def stop(self, job: Path, grace_s: float) -> None:
        pid = read_pid(job)
        if not pid:
            return

        # the job's session outlives its supervisor while `tac job run` cleans up after SIGTERM
        # (temp files, an inflate's session): wait for all of it, then SIGKILL what is left
        def running() -> bool:
            return alive(pid) or bool(session_members(pid))

        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.time() + grace_s
            while time.time() < deadline and running():
                time.sleep(0.05)
            if not running():
                break
