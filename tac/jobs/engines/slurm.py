"""Slurm: the supervisor as an sbatch job; squeue (then sacct) says whether it still runs.

The job directory must be on a filesystem the login node and the compute nodes share (home or
scratch, as on every cluster). Every Slurm command runs from an argv list; the batch script is a
fixed two-line file that execs its arguments, so nothing a user wrote is parsed by a shell.

`--time` is the job's hard ceiling (its JobLimits.timeout_s plus a margin): Slurm ends the job
then even if tac's supervisor and controller are both gone. The budget lease is finer and grows
while the controller tops it up; the supervisor on the compute node enforces it from the `lease`
file, as on an SSH host, because on most clusters a user may shorten a running job's time limit
but not extend it (`scontrol update TimeLimit` is for operators).
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

from tac import atomic
from tac.jobs.engines import Engine, EngineUnavailable, EngineView, engine_name

SLURM_JOB_FILE = "slurm_job_id"
SCRIPT = (
    '#!/bin/sh\n# tac\'s batch script: runs its arguments as given (no shell parsing)\nexec "$@"\n'
)
CEILING_MARGIN_S = 120.0
CALL_TIMEOUT_S = 30.0
# squeue %T states after which a job runs no more (the rest: queued, running or on the way out)
ENDED = {
    "BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED", "NODE_FAIL",
    "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "TIMEOUT",
}  # fmt: skip


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=CALL_TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise EngineUnavailable(f"{argv[0]} is not installed here (is this a Slurm login node?)") from None  # fmt: skip
    except subprocess.TimeoutExpired:
        raise EngineUnavailable(f"{argv[0]} gave no answer within {CALL_TIMEOUT_S:.0f} s") from None  # fmt: skip


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


class SlurmEngine(Engine):
    kind = "slurm"

    def __init__(self, sbatch_args: list[str] | None = None):
        self.sbatch_args = list(sbatch_args or [])  # validated where configured (tac.control.hosts)

    def settings(self) -> dict:
        return {"sbatch_args": self.sbatch_args}

    def slurm_id(self, job: Path) -> str | None:
        """The recorded Slurm job id; else the one Slurm lists under the job's name (a submitter
        killed between sbatch and recording the id must not leave a job nobody can stop)."""
        try:
            return (job / SLURM_JOB_FILE).read_text().strip() or None
        except FileNotFoundError:
            pass
        done = _run(["squeue", "--noheader", "--states=all", f"--name={engine_name(job)}", "--format=%i"])  # fmt: skip
        if done.returncode != 0:
            raise EngineUnavailable(f"squeue failed: {_last_line(done.stderr) or done.returncode}")
        found = _last_line(done.stdout)
        if found.isdigit():
            atomic.write_text(job / SLURM_JOB_FILE, found + "\n")
            return found
        return None

    def sbatch_argv(self, job: Path, argv: list[str]) -> list[str]:
        words = ["sbatch", "--parsable", "--no-requeue", f"--job-name={engine_name(job)}",
                 f"--chdir={job}", f"--output={job / 'slurm.out'}"]  # fmt: skip
        timeout_s = json.loads((job / "spec.json").read_text())["limits"]["timeout_s"]
        words.append(f"--time={math.ceil((timeout_s + CEILING_MARGIN_S) / 60)}")
        return [*words, *self.sbatch_args, str(job / "sbatch.sh"), *argv]

    def start(self, job: Path, argv: list[str]) -> None:
        atomic.write_text(job / "sbatch.sh", SCRIPT)
        (job / "sbatch.sh").chmod(0o755)
        done = _run(self.sbatch_argv(job, argv))
        slurm_id = _last_line(done.stdout).split(";")[0]  # --parsable: "ID" or "ID;cluster"
        if done.returncode != 0 or not slurm_id.isdigit():
            why = _last_line(done.stderr) or f"exit code {done.returncode}"
            # nothing was queued: leave no spec behind, so submitting again starts it
            (job / "spec.json").unlink(missing_ok=True)
            raise EngineUnavailable(f"sbatch refused job {job.name}: {why}")
        atomic.write_text(job / SLURM_JOB_FILE, slurm_id + "\n")

    def state(self, slurm_id: str) -> str | None:
        """The job's Slurm state (squeue, then sacct once squeue has forgotten it), or None."""
        done = _run(["squeue", "--noheader", "--states=all", f"--jobs={slurm_id}", "--format=%T"])
        if done.returncode == 0 and _last_line(done.stdout):
            return _last_line(done.stdout)
        if done.returncode != 0 and "invalid job id" not in done.stderr.lower():
            raise EngineUnavailable(f"squeue failed: {_last_line(done.stderr) or done.returncode}")
        # squeue forgets finished jobs after MinJobAge; accounting, where there is one, does not
        done = _run(["sacct", "--noheader", "--parsable2", "--allocations", f"--jobs={slurm_id}", "--format=State"])  # fmt: skip
        words = _last_line(done.stdout).split() if done.returncode == 0 else []
        return words[0] if words else None

    def view(self, job: Path) -> EngineView:
        slurm_id = self.slurm_id(job)
        if slurm_id is None:
            return EngineView(False, "it never reached Slurm (no job id recorded)")
        state = self.state(slurm_id)
        if state is None:
            return EngineView(False, f"Slurm no longer knows job {slurm_id}")
        if state in ENDED:
            return EngineView(False, f"Slurm job {slurm_id} ended {state} without tac's exit record")  # fmt: skip
        return EngineView(True, f"Slurm job {slurm_id} {state}")

    def probe(self) -> dict:
        """Does slurmctld answer (sinfo), which GRES it has, and would sbatch take a job with
        these options (`sbatch --test-only`, which queues nothing)?"""
        try:
            info = _run(["sinfo", "--noheader", "--format=%P %a %D %G"])
        except EngineUnavailable as exc:
            return {"reachable": False, "gpu": None, "error": str(exc)}
        if info.returncode != 0:
            return {"reachable": False, "gpu": None, "error": f"sinfo: {_last_line(info.stderr) or info.returncode}"}  # fmt: skip
        gres = sorted({w for line in info.stdout.splitlines() for w in line.split()[3:] if w != "(null)"})  # fmt: skip
        # --wrap only here: a fixed word for a probe that never runs, not a job
        test = _run(["sbatch", "--test-only", *self.sbatch_args, "--time=1", "--wrap=true"])
        error = None if test.returncode == 0 else f"sbatch --test-only refused: {_last_line(test.stderr)}"  # fmt: skip
        return {"reachable": True, "gpu": ", ".join(gres) or "none", "error": error}

    def stop(self, job: Path, grace_s: float) -> None:
        slurm_id = self.slurm_id(job)
        if slurm_id is None:
            return
        # scancel signals every process of the job (SIGTERM, then SIGKILL after KillWait)
        done = _run(["scancel", "--quiet", slurm_id])
        if done.returncode != 0:
            raise EngineUnavailable(f"scancel {slurm_id} failed: {_last_line(done.stderr) or done.returncode}")  # fmt: skip
        deadline = time.time() + 2 * grace_s
        while time.time() < deadline and (self.state(slurm_id) or "COMPLETED") not in ENDED:
            time.sleep(0.2)
