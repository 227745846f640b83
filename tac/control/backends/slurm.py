"""A Slurm cluster: jobs are sbatch jobs keeping tac's job-directory protocol on shared storage.

From a login node, the job directories are read in-process (as the local backend does) and
sbatch/squeue/scancel run here; from elsewhere (`login = "me@login"`), every verb is `tac job …`
on the login node over SSH, as for an SSH host, with the Slurm engine named at submit.
"""

from __future__ import annotations

import asyncio
import subprocess

import tac
from tac.control.backends.base import Backend
from tac.control.backends.local import LocalBackend
from tac.control.hosts import SlurmCluster
from tac.jobs.engines.slurm import SlurmEngine


def SlurmBackend(cluster: SlurmCluster) -> Backend:  # noqa: N802 (a class to the registry's eye)
    """The backend for `cluster`: sbatch here, or on its login node over SSH."""
    engine = SlurmEngine(sbatch_args=cluster.sbatch_options())
    if cluster.login is not None:
        from tac.control.backends.ssh import SSHBackend

        return SSHBackend(cluster.login_host(), engine={"kind": "slurm", **engine.settings()})
    return SlurmHere(cluster, engine)


class SlurmHere(LocalBackend):
    """sbatch from this machine: a login node whose filesystem holds the job directories."""

    def __init__(self, cluster: SlurmCluster, engine: SlurmEngine):
        super().__init__(
            workdir=cluster.workdir, concurrency=cluster.concurrency,
            price_per_hour=cluster.job_price_per_hour, runner_axis=cluster.runner_axis,
            device=cluster.device, name=cluster.name, engine=engine,
        )  # fmt: skip
        self.cluster = cluster

    async def check(self) -> dict:
        """Does slurmctld answer, would sbatch accept a job with these options, how much disk."""
        return await asyncio.to_thread(self._check)

    def _check(self) -> dict:
        report = {"name": self.name, "destination": "slurm (this machine)", "reachable": False,
                  "tac": True, "tac_version": tac.__version__, "gpu": None, "free_bytes": None, "error": None}  # fmt: skip

        def run(argv: list[str]) -> subprocess.CompletedProcess:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip

        try:
            info = run(["sinfo", "--noheader", "--format=%P %a %D %G"])
        except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
            report["error"] = f"sinfo: {exc}"
            return report
        if info.returncode != 0:
            report["error"] = (info.stderr.strip().splitlines() or ["sinfo failed"])[-1]
            return report
        report["reachable"] = True
        gres = sorted({w for line in info.stdout.splitlines() for w in line.split()[3:] if w != "(null)"})  # fmt: skip
        report["gpu"] = ", ".join(gres) or "none"
        probe = run(["sbatch", "--test-only", *self.engine.sbatch_args, "--time=1", "--wrap=true"])
        if probe.returncode != 0:  # --wrap only here: a probe that never runs, not a job
            report["error"] = "sbatch --test-only refused: " + (probe.stderr.strip().splitlines() or ["?"])[-1]  # fmt: skip
        report["free_bytes"] = self.free_bytes()
        return report
