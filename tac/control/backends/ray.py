"""A Ray cluster: each job is a Ray job (the Jobs API) on storage this machine shares with it.

Results come back through that storage, not through Ray: the job directory (spec, log, lease,
exit code, archive) lives under `storage`, which this machine and every Ray node mount. So the
archive outlives the job, the lease file is enforced on the node by the supervisor, and fetching
is the local backend's file read. See the README ("Ray") for why.
"""

from __future__ import annotations

import asyncio
import sys
import time

from tac.control.backends.local import LocalBackend
from tac.control.hosts import RayCluster
from tac.jobs.engines import EngineUnavailable
from tac.jobs.engines.ray_jobs import RayEngine, client_for, short_error

CHECK_TIMEOUT_S = 120.0


class RayBackend(LocalBackend):
    def __init__(self, cluster: RayCluster):
        engine = RayEngine(
            address=cluster.address, num_cpus=cluster.cpus_per_job, num_gpus=cluster.gpus_per_job,
            memory_bytes=int(cluster.memory_gb * 2**30) if cluster.memory_gb else None,
            runtime_env=cluster.runtime_env, python=cluster.python,
        )  # fmt: skip
        super().__init__(workdir=cluster.storage, engine=engine, **cluster.backend_settings())
        self.cluster = cluster

    async def check(self) -> dict:
        """Is the Jobs API up, and does a Ray job on the cluster run this tac? (a real job)"""
        return await asyncio.to_thread(self._check)

    def _check(self) -> dict:
        report = {"name": self.name, "destination": self.cluster.address, "reachable": False,
                  "tac": False, "tac_version": None, "gpu": None, "free_bytes": None, "error": None}  # fmt: skip
        engine: RayEngine = self.engine
        try:
            client = client_for(engine.address)
            report["reachable"] = True
            probe = client.submit_job(
                entrypoint=engine.entrypoint([sys.executable, "-m", "tac.cli", "--version"]),
                entrypoint_num_cpus=0, runtime_env=engine.runtime_env or None,
                metadata={"tac_check": self.name},
            )  # fmt: skip
            deadline = time.time() + CHECK_TIMEOUT_S
            while not client.get_job_status(probe).is_terminal() and time.time() < deadline:
                time.sleep(0.5)
            lines = [line for line in client.get_job_logs(probe).splitlines() if line.strip()]
            if str(client.get_job_status(probe).value) == "SUCCEEDED" and lines:
                report.update(tac=True, tac_version=lines[-1].strip())
            else:
                report["error"] = f"a Ray job could not run tac there: {lines[-1] if lines else 'no output'}"  # fmt: skip
        except EngineUnavailable as exc:
            report["error"] = str(exc)
            return report
        except Exception as exc:
            report["error"] = f"Ray: {short_error(exc)}"
        report["gpu"] = f"{self.cluster.gpus_per_job:g} per job" if self.cluster.gpus_per_job else "none asked"  # fmt: skip
        report["free_bytes"] = self.free_bytes()
        return report
