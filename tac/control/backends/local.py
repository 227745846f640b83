"""Jobs on this machine: detached subprocesses in their own process groups.

The host protocol (`tac.jobs.worker`) runs in-process, in a thread so the event loop never
blocks on the file system; the jobs themselves are separate processes that outlive the
controller and are found again through their pid and exit-code files.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tac.control.backends.base import Backend, Fetched, JobStatus
from tac.jobs import worker
from tac.records import JobSpec


class LocalBackend(Backend):
    def __init__(
        self,
        workdir: str | os.PathLike,
        concurrency: int = 1,
        price_per_hour: float = 0.0,
        runner_axis: str = "cpu",
        device: str | None = None,
        name: str = "local",
        command: list[str] | None = None,
    ):
        self.workdir = Path(workdir).resolve()
        self.concurrency = concurrency
        self.price_per_hour = price_per_hour
        self.runner_axis = runner_axis
        self.device = device
        self.name = name
        self.command = command  # instead of `tac job run` (benchmarks of the controller itself)

    def out_dir(self, job_id: str) -> str:
        return str(worker.job_dir(self.workdir, job_id) / "out")

    async def submit(self, spec: JobSpec) -> JobStatus:
        return JobStatus.from_info(
            await asyncio.to_thread(
                worker.submit, self.workdir, spec.model_dump_json(), self.command
            )
        )

    async def poll(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await asyncio.to_thread(worker.status, self.workdir, job_id))

    async def logs(self, job_id: str, offset: int = 0) -> str:
        return await asyncio.to_thread(worker.logs, self.workdir, job_id, offset)

    async def fetch(self, job_id: str) -> Fetched:
        return Fetched(**await asyncio.to_thread(worker.result, self.workdir, job_id))

    async def cancel(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await asyncio.to_thread(worker.cancel, self.workdir, job_id))

    async def extend(self, job_id: str, max_wall_s: float) -> JobStatus:
        return JobStatus.from_info(
            await asyncio.to_thread(worker.extend, self.workdir, job_id, max_wall_s)
        )
