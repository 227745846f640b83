"""A Slurm cluster: jobs are sbatch jobs keeping tac's job-directory protocol on shared storage.

From a login node, the job directories are read in-process (as the local backend does) and
sbatch/squeue/scancel run here; from elsewhere (`login = "me@login"`), every verb is `tac job …`
on the login node over SSH, as for an SSH host, with the Slurm engine named at submit.
"""

from __future__ import annotations

import asyncio

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
        super().__init__(workdir=cluster.workdir, engine=engine, **cluster.backend_settings())
        self.cluster = cluster

    async def check(self) -> dict:
        """Does slurmctld answer, would sbatch accept a job with these options, how much disk."""
        probe = await asyncio.to_thread(self.engine.probe)
        return {"name": self.name, "destination": "slurm (this machine)", "tac": True,
                "tac_version": tac.__version__, "free_bytes": self.free_bytes(), **probe}  # fmt: skip
