"""The detached supervisor of one job: runs `tac job run`, records its exit code.

Started by `tac.jobs.worker.submit` through the job's engine — as the leader of a new session on
this host, or as a Slurm or Ray job — so the job survives the controller that started it and a
cancel can stop the supervisor and the job as one.
It also enforces the job's budget lease (the `lease` file): when the job has run that many
wall seconds without the controller extending it, it is stopped here, on the host, so spend
never depends on the controller polling in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tac import atomic

CHECK_S = 0.1  # how often the lease is read: the job overruns it by at most this
STOP_GRACE_S = 1.0  # a job stopped at its lease may clean up this long (its cost is fixed already)
JOB_NICENESS = 10
LEASE = "lease"
STARTED = "started"  # its mtime is the origin of the job's wall time and of its lease
# Only the standard library and tac.atomic here: on a busy host every import delays the moment
# the lease starts being enforced.


def lease(job: Path) -> float | None:
    """The wall seconds a job may run, or None (no lease, or one being rewritten)."""
    try:
        return float((job / LEASE).read_text())
    except (OSError, ValueError):
        return None


def main(job: Path) -> int:
    if (job / STARTED).exists():  # a cluster that requeued the job, or a second start: never twice
        return 0
    atomic.write_text(job / STARTED, f"{socket.gethostname()} {os.getpid()}\n")
    atomic.write_text(job / "pid", f"{os.getpid()}\n")
    argv = [sys.executable, "-m", "tac.cli", "job", "run", str(job / "spec.json"), "--out", str(job / "out")]  # fmt: skip
    if (job / "command.json").is_file():
        argv = json.loads((job / "command.json").read_text())
    started = (job / STARTED).stat().st_mtime  # the same origin `worker.status` measures from
    with open(job / "log.txt", "ab", buffering=0) as log:

        def enforce_lease(proc: subprocess.Popen | None = None) -> None:
            limit = lease(job)
            if limit is not None and time.time() - started >= limit:
                log.write(
                    f"\nstopped by the host: budget lease of {limit:.1f} s ran out\n".encode()
                )
                atomic.write_text(job / "cancelled", "budget lease ran out\n")
                # SIGTERM first: `tac job run` cleans up as on Ctrl-C (an inflate it runs is a
                # session of its own, which no signal to this group reaches); then the rest
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                os.killpg(os.getpgrp(), signal.SIGTERM)
                if proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=STOP_GRACE_S)
                os.killpg(os.getpgrp(), signal.SIGKILL)  # the job, its children and us

        enforce_lease()  # a supervisor that started late must not start a job already over
        # the job runs niced: on a busy host the supervisor must still wake on time to enforce
        # the lease (GPU work is not slowed by a CPU nice value)
        proc = subprocess.Popen(["nice", "-n", str(JOB_NICENESS), *argv], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=job)  # fmt: skip
        while True:
            try:
                code = proc.wait(timeout=CHECK_S)
                break
            except subprocess.TimeoutExpired:
                enforce_lease(proc)
    atomic.write_text(job / "exit_code", f"{code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
