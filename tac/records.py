"""Every record that is written to disk or crosses a process boundary.

Records are versioned (`v`), validated on read, and reject unknown fields: what one step writes,
the next step must be able to read back exactly, and a typo must not pass silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tac import atomic
from tac.errors import TacError

RunnerAxis = Literal["cpu", "cuda"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1


R = TypeVar("R", bound=Record)


class EvalResult(Record):
    """One evaluation of one submission. Only `authoritative` results may become anchors."""

    archive_bytes: int = Field(ge=0)
    archive_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    original_bytes: int = Field(gt=0)
    rate: float = Field(ge=0)
    pose: float = Field(ge=0)
    seg: float = Field(ge=0, le=1)
    score: float = Field(ge=0)
    n_samples: int = Field(ge=1)
    n_samples_total: int = Field(ge=1)
    estimate: bool  # True when scored on a subset: never an anchor, never reported as measured
    runner_axis: RunnerAxis  # how the original was decoded: cpu = PyAV (the only decode tac has)
    device: str  # where the networks ran
    weights: str  # "official", "custom:<sha>", or "stand-in:<seed>:<sha>"
    videos: list[str]
    per_sample_file: str | None = None
    wall_s: float = Field(ge=0)
    tac_version: str
    torch_version: str

    @property
    def official_weights(self) -> bool:
        return self.weights == "official"

    @property
    def authoritative(self) -> bool:
        return not self.estimate and self.n_samples == self.n_samples_total

    def provenance(self) -> str:
        """One line: where this score came from."""
        scope = (
            f"ESTIMATE on {self.n_samples}/{self.n_samples_total} samples"
            if self.estimate
            else f"all {self.n_samples} samples"
        )
        return f"runner axis {self.runner_axis} (networks on {self.device}), weights {self.weights}, {scope}, archive sha256 {self.archive_sha256[:16]}…"


def save_record(record: Record, path: str | os.PathLike) -> Path:
    return atomic.write_text(path, record.model_dump_json(indent=2) + "\n")


def load_record(cls: type[R], path: str | os.PathLike) -> R:
    """Read and validate a record; any problem is one line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TacError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TacError(f"{path}: not valid JSON ({exc})") from None
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise TacError(f"{path}: invalid {cls.__name__}: {where}: {err['msg']}") from None
