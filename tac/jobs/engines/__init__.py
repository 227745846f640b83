"""What starts a job's supervisor and knows whether it still runs: the job's *engine*.

    process  a detached process on this host (the default; SSH hosts too)
    slurm    an sbatch job on a Slurm cluster whose nodes share the job directory
    ray      a Ray job (the Jobs API) on a Ray cluster whose nodes share the job directory

Whatever the engine, the job directory protocol of `tac.jobs.worker` is the same: the supervisor
writes `started`, `log.txt`, `exit_code` and `out/` there and enforces the `lease` file, so the
files say how a job ended and the engine is asked only while they do not (pending or running, or
gone without a word: lost). A job's engine settings are kept beside its spec (`engine.json`), so
any later `tac job status|cancel|extend` finds the same engine without being told.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tac import atomic
from tac.errors import TacError

ENGINE_FILE = "engine.json"


class EngineUnavailable(TacError):
    """The engine could not be asked (slurmctld down, the Ray dashboard unreachable): the job's
    state is unknown, not lost."""


@dataclass(frozen=True)
class EngineView:
    """What the engine says of a job whose files do not yet say how it ended."""

    alive: bool  # queued or running
    detail: str = ""  # the engine's own words for the state (shown when a job is lost)


def engine_name(job: Path) -> str:
    """`tac-<8 hex of the job directory>-<job id>`: what a cluster calls the job (a Slurm job
    name, a Ray submission id). Stable for the job, so a restarted controller finds it again even
    if it died before recording the engine's own id; different for two runs reusing job ids."""
    digest = hashlib.sha256(str(job.resolve()).encode()).hexdigest()[:8]
    return f"tac-{digest}-{job.name}"


class Engine(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def start(self, job: Path, argv: list[str]) -> None:
        """Start `argv` (the job's supervisor) for job directory `job`, detached from the caller."""

    @abstractmethod
    def view(self, job: Path) -> EngineView:
        """Is the job queued or running? Raises EngineUnavailable when that cannot be known."""

    @abstractmethod
    def stop(self, job: Path, grace_s: float) -> None:
        """Stop the job (SIGTERM first, so `tac job run` cleans up), waiting up to ~2×grace_s."""

    def probe(self) -> dict[str, Any]:
        """Can this engine take jobs from here? {"reachable", "gpu", "error"} (`tac hosts check`)."""
        return {"reachable": True, "gpu": None, "error": None}

    def settings(self) -> dict[str, Any]:
        """What `engine.json` keeps to rebuild this engine in another process."""
        return {}


def from_settings(settings: dict[str, Any] | None) -> Engine:
    """The engine `settings` describe ({"kind": …, …}); None: the detached process."""
    settings = dict(settings or {"kind": "process"})
    kind = settings.pop("kind", None)
    if kind == "process":
        from tac.jobs.engines.process import ProcessEngine as engine_class
    elif kind == "slurm":
        from tac.jobs.engines.slurm import SlurmEngine as engine_class
    elif kind == "ray":
        from tac.jobs.engines.ray_jobs import RayEngine as engine_class
    else:
        raise TacError(f"unknown job engine {kind!r}; known: process, slurm, ray")
    try:
        return engine_class(**settings)
    except TypeError as exc:
        raise TacError(f"{kind} engine settings: {exc}") from None


def save(job: Path, engine: Engine) -> None:
    if engine.kind != "process":  # no file: the default, as every job before engines existed
        atomic.write_json(job / ENGINE_FILE, {"kind": engine.kind, **engine.settings()})


def load(job: Path) -> Engine:
    try:
        return from_settings(json.loads((job / ENGINE_FILE).read_text()))
    except FileNotFoundError:
        return from_settings(None)
