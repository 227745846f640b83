"""The detached supervisor of one job: runs `tac job run`, records its exit code.

Started by `tac.jobs.worker.submit` as the leader of a new session, so the job survives the
controller that started it and a cancel can kill the supervisor and the job as one group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tac import atomic


def main(job: Path) -> int:
    atomic.write_text(job / "pid", f"{os.getpid()}\n")
    argv = [sys.executable, "-m", "tac.cli", "job", "run", str(job / "spec.json"), "--out", str(job / "out")]  # fmt: skip
    if (job / "command.json").is_file():
        argv = json.loads((job / "command.json").read_text())
    with open(job / "log.txt", "ab", buffering=0) as log:
        code = subprocess.call(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=job
        )
    atomic.write_text(job / "exit_code", f"{code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
