"""The narrow interface every backend keeps, so that a cluster engine is one more class.

All methods are async and keyed by the job id, which doubles as an idempotent submission id:
submitting the same spec twice starts one job; a restarted controller `poll`s the ids in its
ledger to reattach. States: running | ok | failed | cancelled | lost | unknown.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from tac.records import JobSpec

FINAL_STATES = ("ok", "failed", "cancelled", "lost")


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str
    wall_s: float = 0.0  # from start to end (or to now while running)
    exit_code: int | None = None
    log_bytes: int = 0
    detail: str = ""  # why a job is lost or failed, when known

    @classmethod
    def from_info(cls, info: dict) -> JobStatus:
        """From a host's answer (`tac.jobs.worker`'s status dict, or its JSON over ssh)."""
        return cls(
            job_id=info["job_id"], state=info["state"], wall_s=info.get("wall_s", 0.0),
            exit_code=info.get("exit_code"), log_bytes=info.get("log_bytes", 0),
            detail=info.get("detail") or "",
        )  # fmt: skip

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Fetched:
    """A finished job's result.json and what its archive is, as seen on the job's host."""

    result: dict
    archive_sha256: str | None
    archive_bytes: int | None


class BackendError(Exception):
    """The backend could not be reached or refused (a host down, a key unknown)."""


class Backend(ABC):
    name: str
    concurrency: int  # jobs it runs at once
    price_per_hour: float  # metered cost = wall time × this
    runner_axis: str  # the axis its results land on
    device: str | None = None  # what its jobs train on ("cpu", "cuda"; None: the host's own)
    threads_per_job: int | None = None  # CPU threads each job may use (None: the host's all)

    @property
    def cost_device(self) -> str:
        """The device its jobs are priced on: the one it names, else its runner axis's."""
        return self.device or self.runner_axis

    @abstractmethod
    def out_dir(self, job_id: str) -> str:
        """Where the job writes on its host (JobSpec.out_dir)."""

    @abstractmethod
    async def submit(self, spec: JobSpec) -> JobStatus: ...

    @abstractmethod
    async def poll(self, job_id: str) -> JobStatus: ...

    @abstractmethod
    async def logs(self, job_id: str, offset: int = 0) -> str: ...

    @abstractmethod
    async def fetch(self, job_id: str) -> Fetched: ...

    @abstractmethod
    async def cancel(self, job_id: str) -> JobStatus: ...

    @abstractmethod
    async def extend(self, job_id: str, max_wall_s: float) -> JobStatus:
        """Let a running job run until `max_wall_s` of wall time (its budget lease)."""

    async def get_file(self, job_id: str, path: str) -> bytes:
        """A file from the job's output directory on its host (a checkpoint)."""
        raise BackendError(f"{self.name}: this backend cannot fetch a job's files")

    async def put_file(self, job_id: str, path: str, data: bytes) -> None:
        """Place a file in a job's output directory on its host before the job is submitted."""
        raise BackendError(f"{self.name}: this backend cannot carry files to a job")

    async def close(self) -> None:  # release connections
        return None
