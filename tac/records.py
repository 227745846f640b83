"""Every record that is written to disk or crosses a process boundary.

Records are versioned (`v`), validated on read, and reject unknown fields: what one step writes,
the next step must be able to read back exactly, and a typo must not pass silently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, model_validator

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


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TacError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TacError(f"{path}: not valid JSON ({exc})") from None


def first_error(exc: ValidationError) -> str:
    """A validation error's first problem in words for a person: `where: what`."""
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"unknown key {where!r}"
    if err["type"] == "missing":
        return f"missing {where!r}"
    return f"{where}: {err['msg'].removeprefix('Value error, ')}"


def _validate(cls: type[R], data, where: str) -> R:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise TacError(f"{where}: invalid {cls.__name__}: {first_error(exc)}") from None


def load_record(cls: type[R], path: str | os.PathLike) -> R:
    """Read and validate a record; any problem is one line naming the file."""
    return _validate(cls, _read_json(Path(path)), str(path))


# --- search records -------------------------------------------------------------------------

RefusalCode = Literal[
    "insufficient_anchors",  # fewer anchors than the configured minimum (or than coverage needs)
    "extrapolation",  # outside the calibrated range of a feature, with margin
    "lossy_better_than_lossless_incoherent",  # predicts (or measured) lossy seeing better than lossless
    "missing_distortion_model",  # no anchor measures this codec / filter family's distortion
    "non_monotone_fit",  # the fit says quality knobs work backwards: the data or model is wrong
    "axis_mismatch",  # runner axis or scorer weights differ from the anchors'
    "invalid_params",  # the lane or encoder cannot run this setting
    "over_bytes_cap",
    "over_inflate_time_cap",
    "over_cost_cap",
]


class Refusal(Record):
    """Why a candidate may not be dispatched: a stable code, the gate that said so, one sentence."""

    code: RefusalCode
    gate: str
    message: str


class LaneParams(Record):
    """One lane's setting as the search sees it. Each lane subclasses it once, with
    `lane: Literal["<name>"]`; the subclass registers itself here under that name, which is how
    a record that carries params (Candidate, Anchor) finds the type to validate them with.

    Validity for the lane is a gate's job, so an impossible setting can still be written down
    and refused with a reason. `id()` sorts like the lane's parameter tuple; `short()` is the
    few characters tables show."""

    lane: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kw) -> None:
        default = cls.model_fields["lane"].default
        if isinstance(default, str):
            known = _PARAMS.get(default)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise ValueError(
                    f"lane {default!r} already has a params record ({known.__qualname__})"
                )
            _PARAMS[default] = cls

    def id(self) -> str:
        raise NotImplementedError

    def short(self) -> str:
        raise NotImplementedError

    def warm_from(self) -> str | None:
        """The candidate id whose trained checkpoint this setting continues from (a warm start),
        or None. Lanes that warm-start override it; the loop ships that checkpoint to the job."""
        return None


_PARAMS: dict[str, type[LaneParams]] = {}


def params_type(lane: str) -> type[LaneParams]:
    """The params record of `lane`. Lanes register on import; the first lookup of an unknown
    name loads the lane registry (`tac.lanes`: the built-in lanes, then plug-ins from
    $TAC_PLUGINS and entry points) by name, the way a plug-in host is found: records import
    nothing above themselves."""
    if lane not in _PARAMS:
        import importlib

        importlib.import_module("tac.lanes").LANES.names()  # registers built-ins and plug-ins
    if lane not in _PARAMS:
        raise ValueError(f"unknown lane {lane!r}; registered lanes: {', '.join(sorted(_PARAMS))}")
    return _PARAMS[lane]


def _lane_params(data, v: int):
    """Params as their lane's record: a dict is validated by the type registered for its
    `lane`. v1 params (written before lanes were plug-ins) had no `lane`: they are the codec
    lane's, the only lane there was."""
    if not isinstance(data, dict):
        return data
    if v == 1 and "lane" not in data:
        data = {"lane": "codec", **data}
    lane = data.get("lane")
    if not isinstance(lane, str):
        raise ValueError("params need a 'lane' naming the lane they belong to")
    return params_type(lane).model_validate(data)


Params = SerializeAsAny[LaneParams]  # dumped as the lane's own record, every field kept


class ScoreBand(Record):
    """A predicted score interval. Always an estimate: never shown as a measurement."""

    lo: float
    mid: float
    hi: float
    coverage: float = Field(gt=0, lt=1)
    method: Literal["split-conformal"] = "split-conformal"
    n_calibration: int = Field(ge=1)
    pose: float = Field(ge=0)  # predicted terms behind `mid`
    seg: float = Field(ge=0)
    rate: float = Field(ge=0)
    estimate: Literal[True] = True


class Candidate(Record):
    """A setting of one lane, ranked. v2: the lane is the params' own (`params.lane`); v1
    records (`lane` beside codec-only params) are migrated on read."""

    v: Literal[2] = 2
    id: str
    params: Params
    runner_axis: RunnerAxis
    weights: str
    predicted_bytes: int | None = None
    bytes_exact: bool = False  # True once the candidate was encoded and its bytes are known
    band: ScoreBand | None = None
    refusal: Refusal | None = None
    rank_key: float | None = None  # risk-adjusted Lagrangian; lower is better
    ready: bool = False  # passed every gate: may be dispatched
    # "explore": picked to calibrate the predictor where it refuses (no band, by design); only
    # the params and caps gates apply to it
    purpose: Literal["exploit", "explore"] = "exploit"

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data):
        if isinstance(data, dict) and data.get("v", 1) == 1:
            data = {**data, "v": 2}
            lane = data.pop("lane", "codec")
            if isinstance(data.get("params"), dict):
                data["params"] = {"lane": lane, **data["params"]}
        if isinstance(data, dict) and "params" in data:
            data = {**data, "params": _lane_params(data["params"], 2)}
        return data

    @property
    def lane(self) -> str:
        return self.params.lane


class Anchor(Record):
    """What calibration keeps from one authoritative evaluation: the setting and its measured
    terms. v2: params carry their lane; v1 anchors (codec params without it) migrate on read."""

    v: Literal[2] = 2
    id: str
    kind: Literal["lossy", "lossless"]  # lossless/identity anchors set the distortion floor
    params: Params | None = None  # None for lossless/identity anchors
    runner_axis: RunnerAxis
    weights: str
    archive_bytes: int = Field(ge=0)
    archive_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    original_bytes: int = Field(gt=0)
    pose: float = Field(ge=0)
    seg: float = Field(ge=0, le=1)
    score: float = Field(ge=0)
    wall_s: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _migrate(cls, data):
        if isinstance(data, dict):
            v = data.get("v", 1)
            data = {**data, "v": 2 if v == 1 else v}
            if "params" in data:
                data["params"] = _lane_params(data["params"], v)
        return data

    @property
    def lane(self) -> str | None:
        return self.params.lane if self.params else None

    @classmethod
    def from_result(
        cls, result: EvalResult, params: LaneParams | None, id: str | None = None
    ) -> Anchor:
        """Only an exact, full-sample evaluation may calibrate the search."""
        if not result.authoritative:
            raise TacError(
                f"result {result.archive_sha256[:12]}… is an estimate "
                f"({result.n_samples}/{result.n_samples_total} samples): it cannot become an anchor"
            )
        return cls(
            id=id or (params.id() if params else f"lossless-{result.archive_sha256[:12]}"),
            kind="lossy" if params else "lossless",
            params=params,
            runner_axis=result.runner_axis,
            weights=result.weights,
            archive_bytes=result.archive_bytes,
            archive_sha256=result.archive_sha256,
            original_bytes=result.original_bytes,
            pose=result.pose,
            seg=result.seg,
            score=result.score,
            wall_s=result.wall_s,
        )


def save_records(records: list[Record], path: str | os.PathLike) -> Path:
    """A JSON list of records, written atomically."""
    data = [json.loads(r.model_dump_json()) for r in records]
    return atomic.write_text(path, json.dumps(data, indent=1) + "\n")


def load_records(cls: type[R], path: str | os.PathLike) -> list[R]:
    """A JSON list of records (or one record); any problem is one line naming the file and item."""
    data = _read_json(Path(path))
    items = data if isinstance(data, list) else [data]
    return [_validate(cls, item, f"{path}: item {i}") for i, item in enumerate(items)]


class JobLimits(Record):
    timeout_s: float = Field(gt=0)
    max_cost: float = Field(ge=0)  # in the backend's price unit (0 = free, e.g. this machine)
    # the job's budget lease: its host stops it at this wall time unless the controller extends
    # it (`tac job extend`), so a priced job cannot outspend its reservation even if the
    # controller is slow, unreachable or dead. None: no lease (a free host).
    max_wall_s: float | None = Field(None, gt=0)


class WarmStart(Record):
    """The checkpoint a job starts from: an earlier job's, carried to this job's host, where
    it waits as `WARM_START_FILE` in the job's output directory (checked against `sha256`)."""

    parent_job: str
    candidate: str  # the parent's candidate id
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=1)
    card_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")  # its card, when it has one


WARM_START_FILE = "warm-start.safetensors"  # and its card beside it, as tac.checkpoints keeps them


class JobSpec(Record):
    """One dispatched train/eval job: what to build, on which data, scored how, within what."""

    job_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # also the submission id
    candidate: Candidate
    data: Literal["demo", "challenge"]
    challenge_dir: str | None = None
    demo_frames: int | None = Field(None, ge=2)  # a shorter demo clip (tests)
    weights: str
    runner_axis: RunnerAxis
    limits: JobLimits
    predicted_cost: float | None = None
    train_profile: str = "smoke"  # for lanes with a train step (post-filters, nerv)
    train_device: Literal["cpu", "cuda"] | None = None  # None: the host's (CUDA if torch sees it)
    host: str = "local"  # where it runs; out_dir is a path on that host
    out_dir: str
    warm_start: WarmStart | None = None  # continue from an earlier job's checkpoint
    # CPU threads the job may use: its host's cores shared among the jobs it runs at once
    # (None: all of them). Two jobs of two threads each on two cores run several times slower.
    cpu_threads: int | None = Field(None, ge=1)


class Rung(Record):
    """An exact evaluation a training job made of its current archive (the real round trip, on
    the job's scorers) at a checkpoint it keeps on its host. The job prints it on a log line of
    its own (`rung_line`); the loop records it as an `intermediate` event and may prune on it.
    `final` marks the checkpoint the job's submission is built from."""

    step: int = Field(ge=0)
    steps: int = Field(ge=1)  # the job's whole training
    score: float = Field(ge=0, allow_inf_nan=False)
    seg: float = Field(ge=0, le=1)
    pose: float = Field(ge=0, allow_inf_nan=False)
    archive_bytes: int = Field(ge=0)
    checkpoint: str = Field(
        pattern=r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$"
    )  # in its out dir
    checkpoint_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # the checkpoint's card (tac.checkpoints: the same path with .json), when it has one
    card_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    final: bool = False

    @property
    def card(self) -> str | None:
        return None if self.card_sha256 is None else str(PurePosixPath(self.checkpoint).with_suffix(".json"))  # fmt: skip

    @property
    def fidelity(self) -> float:
        """How much of its training the job had done: step / steps."""
        return min(1.0, self.step / self.steps)


RUNG_PREFIX = "tac-rung "


def rung_line(rung: Rung) -> str:
    return RUNG_PREFIX + rung.model_dump_json()


def rungs_in(text: str) -> list[Rung]:
    """The rung lines of a job's log (a line that does not validate is not a rung)."""
    found = []
    for line in text.splitlines():
        if line.startswith(RUNG_PREFIX):
            try:
                found.append(Rung.model_validate_json(line[len(RUNG_PREFIX) :]))
            except ValidationError:
                continue
    return found
