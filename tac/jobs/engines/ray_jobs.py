"""Ray: the supervisor as a Ray job, through the Jobs API (needs `tac[ray]`).

A Ray job is detached from whoever submitted it: it runs under the cluster's job supervisor and
outlives the controller. Its submission id is `engines.engine_name` of the job directory (the
same id on every resume, different for two runs that reuse job names), so a restarted controller
reattaches to it by id. The entrypoint is `python -m tac.jobs.supervise DIR`: the supervisor runs
`tac job run` and enforces the budget lease on the cluster node, from the shared job directory,
as on an SSH host.

The Jobs API takes the entrypoint as one shell command line: it is built here with shlex from
the interpreter path and the job directory, both checked, never from free text.
"""

from __future__ import annotations

import functools
import re
import shlex
import time
from pathlib import Path
from typing import Any

from tac.errors import TacError
from tac.jobs.engines import Engine, EngineUnavailable, EngineView, engine_name

_PLAIN_WORD = re.compile(r"^[A-Za-z0-9._/+@=:,-]+$")


submission_id = engine_name  # the Ray job's submission id


@functools.lru_cache(maxsize=8)
def client_for(address: str):
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise TacError("the ray backend needs Ray's job client: pip install 'tac[ray]'") from None
    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # ConnectionError, or Ray's own RuntimeError for a wrong address
        raise EngineUnavailable(f"Ray at {address} unreachable: {exc}") from None


def short_error(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:300]


class RayEngine(Engine):
    kind = "ray"

    def __init__(
        self,
        address: str,
        num_cpus: float = 1.0,
        num_gpus: float = 0.0,
        memory_bytes: int | None = None,
        runtime_env: dict[str, Any] | None = None,
        python: str | None = None,
    ):
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.memory_bytes = memory_bytes
        self.runtime_env = runtime_env or {}
        self.python = python  # the interpreter with tac on the cluster; default: this one

    def settings(self) -> dict:
        return {"address": self.address, "num_cpus": self.num_cpus, "num_gpus": self.num_gpus,
                "memory_bytes": self.memory_bytes, "runtime_env": self.runtime_env, "python": self.python}  # fmt: skip

    def entrypoint(self, argv: list[str]) -> str:
        """`argv` (with this engine's interpreter first) as the one command line Ray runs."""
        argv = [self.python or argv[0], *argv[1:]]
        for word in argv:  # paths and module names only: nothing a shell could read otherwise
            if not _PLAIN_WORD.match(word):
                raise TacError(f"ray backend: {word!r} is not a plain word or path")
        return shlex.join(argv)

    def start(self, job: Path, argv: list[str]) -> None:
        client = client_for(self.address)
        try:
            client.submit_job(
                entrypoint=self.entrypoint(argv),
                submission_id=submission_id(job),
                entrypoint_num_cpus=self.num_cpus,
                entrypoint_num_gpus=self.num_gpus,
                entrypoint_memory=self.memory_bytes,
                runtime_env=self.runtime_env or None,
                metadata={"tac_job": job.name},
            )
        except Exception as exc:
            if "already exists" in str(exc):  # submitted before a crash: it is that job
                return
            (job / "spec.json").unlink(missing_ok=True)  # nothing queued: a resubmit starts it
            raise EngineUnavailable(f"Ray refused job {job.name}: {short_error(exc)}") from None

    def ray_status(self, job: Path) -> tuple[str, str] | None:
        """(PENDING|RUNNING|STOPPED|SUCCEEDED|FAILED, Ray's message), or None for an unknown id."""
        client = client_for(self.address)
        try:
            info = client.get_job_info(submission_id(job))
        except Exception as exc:
            if "does not exist" in str(exc):
                return None
            raise EngineUnavailable(f"Ray at {self.address}: {short_error(exc)}") from None
        return str(info.status.value), (info.message or "").strip()

    def view(self, job: Path) -> EngineView:
        found = self.ray_status(job)
        if found is None:
            return EngineView(False, f"Ray does not know job {submission_id(job)}")
        state, message = found
        if state in ("PENDING", "RUNNING"):
            return EngineView(True, f"Ray job {submission_id(job)} {state}")
        # Ray's message says why when the supervisor never started (a runtime env that failed
        # to build, an interpreter missing on the node): the job's own log is empty then
        why = f": {message[:300]}" if message else ""
        return EngineView(False, f"Ray job {submission_id(job)} ended {state} without tac's exit record{why}")  # fmt: skip

    def stop(self, job: Path, grace_s: float) -> None:
        # Ray sends SIGTERM to the entrypoint's process group, then SIGKILL a few seconds later
        try:
            client_for(self.address).stop_job(submission_id(job))
        except Exception as exc:
            if "does not exist" not in str(exc):
                raise EngineUnavailable(f"Ray could not stop {submission_id(job)}: {short_error(exc)}") from None  # fmt: skip
        deadline = time.time() + 2 * grace_s
        while time.time() < deadline and (self.ray_status(job) or ("",))[0] in (
            "PENDING",
            "RUNNING",
        ):
            time.sleep(0.2)
