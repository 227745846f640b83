"""Jobs whose directories this machine can read: detached subprocesses here, or cluster jobs
(Slurm, Ray) whose job directories are on storage this machine shares with the cluster.

The host protocol (`tac.jobs.worker`) runs in-process, in a thread so the event loop never
blocks on the file system; the jobs themselves are separate processes (or cluster jobs) that
outlive the controller and are found again through their files and their engine.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tac.control.backends.base import Backend, BackendError, Fetched, JobStatus
from tac.errors import TacError
from tac.jobs import worker
from tac.jobs.engines import Engine, EngineUnavailable
from tac.records import JobSpec

T = TypeVar("T")


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
        engine: Engine | None = None,
    ):
        self.workdir = Path(workdir).resolve()
        self.concurrency = concurrency
        self.price_per_hour = price_per_hour
        self.runner_axis = runner_axis
        self.device = device
        self.name = name
        self.command = command  # instead of `tac job run` (benchmarks of the controller itself)
        self.engine = engine  # what starts jobs: None, a detached process here
        if engine is None:  # jobs share this machine's cores instead of fighting over them
            self.threads_per_job = max(1, (os.cpu_count() or 1) // concurrency)

    async def _call(self, fn: Callable[..., T], *args) -> T:
        """`fn(workdir, *args)` in a thread; an engine that cannot be asked is a BackendError
        (the controller then waits, and settles the job as lost only after --lost-after)."""
        try:
            return await asyncio.to_thread(fn, self.workdir, *args)
        except EngineUnavailable as exc:
            raise BackendError(f"{self.name}: {exc}") from None

    def out_dir(self, job_id: str) -> str:
        return str(worker.job_dir(self.workdir, job_id) / "out")

    def free_bytes(self) -> int:
        """Free space where jobs will be written: the workdir, or its nearest existing parent."""
        path = self.workdir
        while not path.exists() and path != path.parent:
            path = path.parent
        return shutil.disk_usage(path).free

    async def submit(self, spec: JobSpec) -> JobStatus:
        submit = functools.partial(worker.submit, command=self.command, engine=self.engine)
        return JobStatus.from_info(await self._call(submit, spec.model_dump_json()))

    async def poll(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await self._call(worker.status, job_id))

    async def logs(self, job_id: str, offset: int = 0) -> str:
        return await self._call(worker.logs, job_id, offset)

    async def fetch(self, job_id: str) -> Fetched:
        return Fetched(**await self._call(worker.result, job_id))

    async def get_file(self, job_id: str, path: str) -> bytes:
        return await self._files(worker.get_file, job_id, path)

    async def put_file(self, job_id: str, path: str, data: bytes) -> None:
        await self._files(worker.put_file, job_id, path, data)

    async def _files(self, fn: Callable[..., T], *args) -> T:
        try:
            return await self._call(fn, *args)
        except (TacError, OSError) as exc:
            raise BackendError(f"{self.name}: {exc}") from None

    async def cancel(self, job_id: str) -> JobStatus:
        return JobStatus.from_info(await self._call(worker.cancel, job_id))

    async def extend(self, job_id: str, max_wall_s: float) -> JobStatus:
        return JobStatus.from_info(await self._call(worker.extend, job_id, max_wall_s))
